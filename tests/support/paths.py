"""Where the repository is (CI clones it anywhere; nothing outside it is read)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
