#!/usr/bin/env bash
# Install liter-llm with its test dependencies into .venv-test and run the test suite.
# A virtual environment of its own: reinstalling the package here never touches a gateway
# started from .venv by the README's first command.
# Tests that need Redis start their own redis-server when the binary is installed
# (Debian: apt-get install redis-server); the S3 tests start moto in-process.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-test
.venv-test/bin/python -m pip install -q --upgrade pip
.venv-test/bin/python -m pip install -q -e '.[test]'
exec .venv-test/bin/python -m pytest -q "$@"
