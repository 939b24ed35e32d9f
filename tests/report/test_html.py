"""The HTML report: its table's exact rows, its two inline pictures, nothing fetched, hostile
names escaped; and, when Chromium is installed, the page as a browser renders it."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib", reason="the report extra (matplotlib) is not installed")

from matplotlib.image import imread  # noqa: E402 - after the importorskip

from sporadic.records import JOB_END, JOB_RELEASE, JOB_START  # noqa: E402
from sporadic.report.html import html_report, render_page  # noqa: E402
from tests.report.test_pictures import HEADER, MS, RECORDS, US, write_trace  # noqa: E402

BROWSER_TIMEOUT = 60  # s for one headless Chromium run
CTL_ROW = (
    '<tr><td>ctl</td><td>2</td><td class="miss">1</td><td>0ns</td><td>0ns</td><td>0ns</td>'
    "<td>400us</td><td>400us</td><td>400us</td><td>600us</td></tr>"
)
HOSTILE = '<script>alert("bg")</script>'


def hostile_trace(path: Path) -> Path:
    """The demo trace with names and a path that are markup, and a job for bg."""
    threads = [dict(t) for t in HEADER["threads"]]
    threads[3]["name"] = HOSTILE
    header: dict[str, Any] = {
        **HEADER,
        "threads": threads,
        "system": {"name": "<b>demo</b> & co", "path": '"><img src="https://evil.example/x">'},
    }
    records = [
        *RECORDS[:7],
        (JOB_RELEASE, 400 * US, 3, 1, 2 * MS),
        (JOB_START, 400 * US, 3, 1),
        (JOB_END, 450_123, 3, 1),
        *RECORDS[7:],
    ]
    return write_trace(path, records, header)


class Links(HTMLParser):
    """The tags of a page, and every (tag, URL) of its attributes that can fetch or link."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "poster", "data"):
                self.links.append((tag, value or ""))


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the demo trace of test_pictures (made once: drawing takes a second)."""
    where = tmp_path_factory.mktemp("demo")
    return html_report(write_trace(where / "demo.trace"), where / "demo.html")


@pytest.fixture(scope="module")
def hostile_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("hostile")
    return html_report(hostile_trace(where / "hostile.trace"), where / "hostile.html")


def images(page: str) -> list[bytes]:
    """The PNGs of the page's data-URI images, decoded."""
    found = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    return [base64.b64decode(data, validate=True) for data in found]


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_html_report_returns_the_path_it_wrote(tmp_path: Path) -> None:
    out = html_report(write_trace(tmp_path / "demo.trace"), tmp_path / "demo.html")
    assert out == tmp_path / "demo.html"
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>\n")


def test_page_has_one_table_row_per_task_with_exact_values(demo_page: Path) -> None:
    page = demo_page.read_text(encoding="utf-8")
    assert re.findall(r"<tr><td>.*</tr>", page) == [CTL_ROW]
    assert (
        "<thead><tr><th>task</th><th>jobs</th><th>misses</th><th>latency p50</th>"
        "<th>latency p99</th><th>latency max</th><th>response p50</th><th>response p99</th>"
        "<th>response max</th><th>cpu</th></tr></thead>"
    ) in page


def test_page_shows_the_runs_header(demo_page: Path) -> None:
    page = demo_page.read_text(encoding="utf-8")
    assert "<h1>demo</h1>" in page
    assert "<dt>description</dt><dd>demo.toml</dd>" in page
    assert "<dt>duration</dt><dd>3ms</dd>" in page
    assert "<dt>simulated</dt><dd>3ms</dd>" in page
    assert "<dt>seed</dt><dd>7</dd>" in page
    assert "Truncated" not in page


def test_page_inlines_the_gantt_and_the_distributions_as_png_data(demo_page: Path) -> None:
    page = demo_page.read_text(encoding="utf-8")
    assert page.count('<img alt="') == 2
    assert [png_size(png) for png in images(page)] == [(1200, 420), (1200, 320)]


def test_page_fetches_nothing(hostile_page: Path) -> None:
    page = hostile_page.read_text(encoding="utf-8")
    parser = Links()
    parser.feed(page)
    assert [tag for tag, _ in parser.links] == ["img", "img"]
    assert all(link.startswith("data:image/png;base64,") for _, link in parser.links)
    assert parser.tags == {"html", "head", "meta", "title", "style", "body", "h1", "dl", "dt", "dd",
                           "h2", "table", "thead", "tbody", "tr", "th", "td", "img"}  # fmt: skip
    assert "@import" not in page and "url(" not in page
    assert "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\"" in page


def test_page_escapes_names_and_paths_from_the_trace(hostile_page: Path) -> None:
    page = hostile_page.read_text(encoding="utf-8")
    assert "<title>&lt;b&gt;demo&lt;/b&gt; &amp; co: sporadic report</title>" in page
    assert "<dd>&quot;&gt;&lt;img src=&quot;https://evil.example/x&quot;&gt;</dd>" in page
    row = (
        "<tr><td>&lt;script&gt;alert(&quot;bg&quot;)&lt;/script&gt;</td><td>1</td><td>0</td>"
        "<td>0ns</td><td>0ns</td><td>0ns</td><td>50123ns</td><td>50123ns</td><td>50123ns</td>"
        "<td>1100us</td></tr>"
    )
    assert re.findall(r"<tr><td>.*</tr>", page) == [CTL_ROW, row]
    assert HOSTILE not in page and "<b>" not in page


def test_page_of_a_truncated_trace_says_so(tmp_path: Path) -> None:
    cut = write_trace(tmp_path / "cut.trace", RECORDS[:18], end=None)
    page = html_report(cut, tmp_path / "p.html").read_text()
    assert "Truncated trace: the run did not finish" in page
    assert "at 1400us.</p>" in page
    assert len(images(page)) == 2


def test_page_of_a_trace_without_jobs_has_no_table(tmp_path: Path) -> None:
    page = render_page(HEADER, {"tasks": {}, "duration": 0, "truncated": False}, b"", b"")
    assert "<p>No task released a job in this trace.</p>" in page
    assert "<table" not in page


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run, bounded by ``BROWSER_TIMEOUT``."""
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium is not installed: apt-get install chromium")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT, check=True
    )


def test_chromium_renders_the_table_and_decodes_both_images(
    hostile_page: Path, tmp_path: Path
) -> None:
    profile = f"--user-data-dir={tmp_path / 'profile'}"
    # The page has (and its policy allows) no script, so a copy without the policy gets one
    # that records, once loaded, whether each image decoded and to what size.
    probe = tmp_path / "probe.html"
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", hostile_page.read_text())
    script = (
        '<script>addEventListener("load", () => { document.body.dataset.decoded = '
        '[...document.images].map(i => i.complete + ":" + i.naturalWidth + "x" + '
        'i.naturalHeight).join(" "); });</script></body>'
    )
    probe.write_text(text.replace("</body>", script))
    dom = chromium(profile, "--dump-dom", probe.as_uri()).stdout
    assert 'data-decoded="true:1200x420 true:1200x540"' in dom
    assert "<td>ctl</td>" in dom
    assert '<td>&lt;script&gt;alert("bg")&lt;/script&gt;</td>' in dom  # the name stayed text

    # The page itself, under its policy: the bars of both pictures are on the screen.
    shot = tmp_path / "shot.png"
    chromium(profile, f"--screenshot={shot}", "--window-size=1200,2000", hostile_page.as_uri())
    rgb = imread(shot)[:, :, :3]
    assert rgb.shape == (2000, 1200, 3)
    colourful = (rgb.max(axis=-1) - rgb.min(axis=-1)) > 0.3  # the bars, not black text
    assert colourful.sum() > 5000
