"""The public API is exactly `literllm.__all__` (plus `literllm.config` and
`literllm.testing`), and the server uses nothing else."""

from __future__ import annotations

import ast
import types

import literllm
import literllm.config
import literllm.testing
from tests.support.paths import REPO

PUBLIC_MODULES = {"literllm": literllm, "literllm.config": literllm.config}
PUBLIC_MODULES["literllm.testing"] = literllm.testing


def exported(module: types.ModuleType) -> set[str]:
    """Names the module binds that are not submodules and not private."""
    return {
        name
        for name, value in vars(module).items()
        if not isinstance(value, types.ModuleType)
        and (not name.startswith("_") or name == "__version__")
        and name != "annotations"
    }


def test_all_is_exactly_what_the_package_exports() -> None:
    assert sorted(literllm.__all__) == sorted(exported(literllm))
    assert len(set(literllm.__all__)) == len(literllm.__all__)


def test_every_public_name_resolves() -> None:
    for module in PUBLIC_MODULES.values():
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_the_server_imports_only_public_names() -> None:
    offenders = []
    for path in sorted((REPO / "literllm_server").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if not node.module.startswith("literllm") or node.module.startswith(
                    "literllm_server"
                ):
                    continue
                module = PUBLIC_MODULES.get(node.module)
                for alias in node.names:
                    if module is None or alias.name not in module.__all__:
                        offenders.append(f"{path.name}: from {node.module} import {alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("literllm.") and alias.name not in PUBLIC_MODULES:
                        offenders.append(f"{path.name}: import {alias.name}")
    assert offenders == []
