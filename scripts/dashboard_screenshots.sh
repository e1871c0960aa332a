#!/usr/bin/env bash
# Regenerate docs/images/dashboard/: the dashboard's browser tests, run against a real
# gateway with traffic from the openai SDK, save their screenshots there instead of in a
# temporary folder. Needs Debian's chromium (/usr/bin/chromium) and the test extra
# (Playwright's Python package); PYTHON defaults to .venv/bin/python.
set -euo pipefail
cd "$(dirname "$0")/.."
export LITERLLM_DASHBOARD_SCREENSHOTS="$PWD/docs/images/dashboard"
mkdir -p "$LITERLLM_DASHBOARD_SCREENSHOTS"
exec "${PYTHON:-.venv/bin/python}" -m pytest -q -p no:cacheprovider tests/e2e/test_dashboard_browser.py
