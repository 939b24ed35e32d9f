"""Imports flow one way, as docs/architecture.md draws the layers: each part of the package
imports only from itself and from the parts listed for it here."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "sporadic"

BOTTOM = {"records", "errors", "units", "version"}
ALLOWED = {
    "records": set(),
    "errors": set(),
    "units": set(),
    "version": set(),
    "scheduler": BOTTOM,
    "kernel": BOTTOM | {"scheduler"},
    "description": BOTTOM,
    "traces": BOTTOM,
    "microkit": BOTTOM | {"description"},
    "analysis": BOTTOM | {"description"},
    "wasm": BOTTOM | {"kernel", "scheduler"},
    "system": BOTTOM | {"kernel", "scheduler", "description", "wasm"},
    "agent": BOTTOM | {"kernel", "scheduler", "description", "wasm", "system"},
    "simulation": BOTTOM | {"agent", "description", "microkit", "system", "traces"},
    "live": BOTTOM | {"agent", "description", "simulation", "traces", "wasm"},
    "report": BOTTOM | {"traces"},
    "experiments": BOTTOM | {"analysis", "description", "simulation"},
    "pytest_plugin": BOTTOM | {"simulation", "traces"},
    "validation": BOTTOM | {"description", "simulation", "records"},
    "commands": BOTTOM | {"analysis", "simulation", "system", "traces", "validation"},
    "cli": BOTTOM
    | {
        "agent",
        "commands",
        "analysis",
        "description",
        "experiments",
        "live",
        "report",
        "simulation",
        "traces",
        "validation",
    },
    "__main__": {"cli"},
}
# the public API, on top
ALLOWED["__init__"] = set(ALLOWED) - {"__main__", "cli", "commands", "pytest_plugin"}


def _part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> set[str]:
    """The parts of sporadic that ``path`` imports, at any depth (TYPE_CHECKING included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sporadic"):
            names = node.module.split(".")
            if len(names) > 1:
                found.add(names[1])
            else:  # from sporadic import records
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sporadic."):
                    found.add(alias.name.split(".")[1])
    return found


def test_every_part_is_listed() -> None:
    parts = {_part(p) for p in PACKAGE.rglob("*.py")}
    assert parts == set(ALLOWED)


def test_imports_flow_down() -> None:
    upward = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        part = _part(path)
        wrong = _imports(path) - ALLOWED[part] - {part}
        if wrong:
            upward[str(path.relative_to(PACKAGE))] = sorted(wrong)
    assert upward == {}


def test_no_module_over_500_lines_and_no_class_over_300() -> None:
    too_long = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > 500:
            too_long[str(path.relative_to(PACKAGE))] = len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 300:
                too_long[f"{path.relative_to(PACKAGE)}:{node.name}"] = (
                    node.end_lineno - node.lineno + 1
                )
    assert too_long == {}
