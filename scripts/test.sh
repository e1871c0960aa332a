#!/usr/bin/env bash
# Install liter-llm with its test dependencies into .venv and run the test suite.
# Tests that need Redis start their own redis-server when the binary is installed
# (Debian: apt-get install redis-server); the S3 tests start moto in-process.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
exec .venv/bin/python -m pytest -q "$@"
