"""docs/trace-format.md lists exactly the record kinds, thread kinds and thread states the code
writes, with the same codes."""

import re
from pathlib import Path

from sporadic import records
from sporadic.scheduler.states import STATE_NAMES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "trace-format.md").read_text()


def _rows(first_cell: str) -> list[list[str]]:
    """The rows of the doc's table whose header starts with ``first_cell``, cells stripped."""
    lines = DOC.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"\|\s*{first_cell}\s*\|", line))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
    return rows


def test_record_kind_table_matches_records_names_and_codes() -> None:
    table = [(int(code), name) for code, name, *_ in _rows("code")]
    assert table == list(enumerate(records.NAMES))


def test_record_kind_table_fields_match_the_comments_in_records_py() -> None:
    source = (Path(records.__file__)).read_text()
    for _, name, fields, _ in _rows("code"):
        comment = re.search(rf"^{name.upper()} = \d+  # \(([^)]*)\)", source, re.M)
        assert comment is not None, name
        in_code = [f.strip() for f in comment.group(1).split(",") if f.strip()]
        assert in_code == [f.strip() for f in fields.split(",")], name


def test_thread_kind_table_matches_records_thread_kinds() -> None:
    assert tuple(kind for kind, _ in _rows("kind")) == records.THREAD_KINDS


def test_thread_state_list_matches_scheduler_states() -> None:
    text = DOC[DOC.index("Thread states in `block` records:") :].split("(seL4")[0]
    listed = re.findall(r"(\d+) (\w+)", text)
    assert [(int(code), name) for code, name in listed] == list(enumerate(STATE_NAMES))
