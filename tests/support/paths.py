"""Where the repository and the shared inputs beside it are (CI clones elsewhere)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
