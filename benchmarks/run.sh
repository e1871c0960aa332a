#!/bin/sh
# One command for the whole suite; flags are those of benchmarks/run.py (--full, --long, ...).
set -eu
cd "$(dirname "$0")/.."
exec .venv/bin/python -m benchmarks.run "$@"
