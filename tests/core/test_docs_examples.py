"""The testing example in docs/library.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "library.md"


async def test_library_testing_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    example = next(b for b in blocks if "literllm.testing" in b)
    namespace: dict[str, object] = {}
    exec(compile(example, str(DOC), "exec"), namespace)
    test = namespace["test_primary_outage_falls_back_to_cheap_model"]
    await test()  # type: ignore[operator]
