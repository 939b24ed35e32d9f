"""Every ``module.py:name`` that docs/mcs-semantics.md cites as sporadic's implementation of a
rule exists in that module, so the document cannot point at code that moved."""

import ast
import re
from pathlib import Path

from tests.helpers import ROOT

DOC = (ROOT / "docs" / "mcs-semantics.md").read_text()
PACKAGE = ROOT / "src" / "sporadic"
CITATION = re.compile(r"`((?:scheduler|kernel)/\w+\.py):([\w.]+)`")


def _defined(path: Path) -> set[str]:
    """Top-level names of a module, and ``Class.method`` for its classes."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            methods = [item for item in node.body if isinstance(item, ast.FunctionDef)]
            names.update(f"{node.name}.{item.name}" for item in methods)
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_the_document_cites_sporadic_code() -> None:
    assert len(CITATION.findall(DOC)) >= 40


def test_every_cited_name_is_defined_where_the_document_says() -> None:
    missing = []
    for module, name in CITATION.findall(DOC):
        path = PACKAGE / module
        if not path.exists() or name not in _defined(path):
            missing.append(f"{module}:{name}")
    assert missing == []
