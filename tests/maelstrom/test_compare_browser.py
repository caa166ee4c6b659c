"""compare.html in a real browser: Debian's chromium, headless, over the DevTools pipe.

One small grid (lin-kv and g-set, every mode, 3 nodes, partitions, one
seed) through ``gyre compare``; the page must load without console errors
and draw every chart: each SVG laid out with a size, a legend naming the
modes, and every bar of a positive value drawn with a positive height that
grows with the value. The table has a row per cell and the page fits a
1,600 px window. Skipped when chromium is not installed (``make test``
installs it as root).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from maelstrom.compare.cli import compare_command
from tests.maelstrom.chromium import CHROMIUM, Browser, ink, png_pixels

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(make test installs Debian's chromium as root)")

GRID = ["--seeds", "1..1", "--workloads", "lin-kv,g-set", "--node-counts", "3", "--faults",
        "partition", "--time-limit", "3", "--rate", "40", "--nemesis-interval", "1",
        "--recovery-wait", "1"]
WIDTH, HEIGHT = 1600, 1200

FACTS = """(() => {
  const charts = [...document.querySelectorAll('svg.compare-chart')].map(svg => {
    const r = svg.getBoundingClientRect();
    return {w: r.width, h: r.height,
            legend: [...svg.querySelectorAll('.legend-item text')].map(t => t.textContent),
            bars: [...svg.querySelectorAll('rect.bar')].map(b =>
              [+b.dataset.value, b.getBoundingClientRect().height])};
  });
  return {charts, rows: document.querySelectorAll('table.compare tbody tr').length,
          width: document.documentElement.scrollWidth};
})()"""


@pytest.fixture(scope="module")
def page_facts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    out = tmp_path_factory.mktemp("compare-browser")
    r = CliRunner().invoke(compare_command, [*GRID, "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert CHROMIUM is not None
    b = Browser(CHROMIUM)
    try:
        with b.page((out / "compare.html").as_uri(), WIDTH, HEIGHT) as page:
            facts = page.evaluate(FACTS)
            facts["errors"] = page.errors
            facts["png"] = page.screenshot()
            facts["rows_expected"] = len(json.loads((out / "compare.json").read_text())["rows"])
            yield facts
    finally:
        b.close()


def test_compare_html_loads_without_errors_and_fits_the_window(page_facts: dict[str, Any]) -> None:
    assert page_facts["errors"] == []
    assert page_facts["rows"] == page_facts["rows_expected"] == 6
    assert page_facts["width"] <= WIDTH
    width, height, rows = png_pixels(page_facts["png"], rows_max=200)
    assert (width, height) == (WIDTH, HEIGHT)
    assert ink(rows, len(rows[0]) // width) > 0.01  # the title and the table are drawn


def test_every_chart_is_drawn_with_its_bars(page_facts: dict[str, Any]) -> None:
    charts = page_facts["charts"]
    assert len(charts) >= 6
    for c in charts:
        assert c["w"] > 300 and c["h"] > 150
        assert c["legend"] == ["eventual", "causal", "strong"]
        assert c["bars"], c
        for value, height in c["bars"]:
            assert (height > 0) == (value > 0), c
        ordered = sorted(c["bars"])
        for (v1, h1), (v2, h2) in zip(ordered, ordered[1:]):
            assert h1 <= h2 + 0.5  # a larger value never draws a shorter bar
