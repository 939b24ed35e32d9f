"""SDF XML read with expat, keeping each element's position for ``PATH:LINE:COL`` messages."""

from __future__ import annotations

from dataclasses import dataclass
from xml.parsers import expat

from sporadic.errors import MicrokitError


@dataclass
class Node:
    """An element with its attributes, children and the position of its ``<`` for messages."""

    tag: str
    attrs: dict[str, str]
    line: int
    column: int
    children: list[Node]


def read_xml(text: str, path: str) -> Node:
    """Parse with expat, keeping each element's line and 1-based column (of its ``<``)."""
    parser = expat.ParserCreate()
    stack: list[Node] = []
    roots: list[Node] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = Node(tag, attrs, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1, [])
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def text_data(data: str) -> None:
        stripped = data.lstrip()
        if not stripped or not stack:
            return
        i = len(data) - len(stripped)
        line = parser.CurrentLineNumber + data.count("\n", 0, i)
        nl = data.rfind("\n", 0, i)
        column = i - nl if nl >= 0 else parser.CurrentColumnNumber + i + 1
        parent = stack[-1]
        if parent.children:
            msg = f"unexpected text found after element '{parent.children[-1].tag}'"
        else:
            msg = f"unexpected text found in element '{parent.tag}'"
        raise MicrokitError(path, line, column, msg)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text_data
    try:
        parser.Parse(text, True)
    except expat.ExpatError as e:
        msg = f"could not parse XML: {expat.ErrorString(e.code)}"
        raise MicrokitError(path, e.lineno, e.offset + 1, msg) from None
    return roots[0]
