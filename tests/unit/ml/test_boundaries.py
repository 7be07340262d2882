"""ml/ runs inside the containers: it must not import the control plane or AWS SDKs."""

from __future__ import annotations

import ast
from pathlib import Path

ML = Path(__file__).resolve().parents[3] / "ml"
FORBIDDEN = {"boto3", "botocore", "sagemaker", "deploy"}


def _imported_roots(source: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_ml_never_imports_aws_or_control_plane() -> None:
    sources = sorted(ML.rglob("*.py"))
    assert len(sources) > 5
    offenders = {str(s.relative_to(ML)): sorted(_imported_roots(s) & FORBIDDEN) for s in sources}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_every_module_has_a_docstring() -> None:
    missing = [s.name for s in ML.rglob("*.py") if not ast.get_docstring(ast.parse(s.read_text()))]
    assert missing == []
