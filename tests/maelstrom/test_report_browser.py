"""report.html in a real browser: Debian's chromium, headless, driven over the DevTools pipe.

Four report kinds, each from a short ``gyre test`` run against the test node
programs: a valid lin-kv run, an invalid one (a node that serves stale reads),
a lin-kv run with partitions, and a broadcast run with partitions. (Whether
the nemesis draws ``minority-third``, which cuts nothing on three nodes,
depends on timing; tests/maelstrom/test_report.py pins that case down.) For
each page: a screenshot of the expected size with ink on it, no console
errors, a legend on every chart, round tick labels, the partition spans equal
to the grudges recorded in the run's history (read here from history.jsonl,
independently of the report's own code), the summary's counts equal to the
history's, Lamport labels that do not overlap, and for the failing run the
failing operation inside the first viewport (800 or 1,600 px wide, 1,200
high), with every index the reason names on a bar. Skipped, saying why, when
chromium is not installed (``make test`` installs it as root).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from maelstrom import test_cli as cli_module
from tests.maelstrom.chromium import CHROMIUM, Browser, Page, ink, png_pixels, screenshot_cli

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(make test installs Debian's chromium as root)")

NODES = Path(__file__).parent / "nodes"
CORRECT, FAULTY = str(NODES / "correct.py"), str(NODES / "faulty.py")
VIEW_H = 1200
#: Rows of a screenshot decoded to look for ink (pure-Python PNG decoding is slow).
INK_ROWS = 200

RUNS: dict[str, list[str]] = {
    "valid": ["--bin", CORRECT, "--node-count", "1", "--concurrency", "2n", "--time-limit", "1.5",
              "--rate", "40", "--seed", "7", "lin-kv-local"],
    "invalid": ["--bin", FAULTY, "--node-count", "1", "--concurrency", "2n", "--time-limit", "2",
                "--rate", "50", "--seed", "7", "stale-read"],
    "partitions": ["--bin", CORRECT, "--node-count", "3", "--concurrency", "2n", "--time-limit",
                   "1.5", "--rate", "30", "--latency", "5", "--nemesis", "partition",
                   "--nemesis-interval", "0.3", "--seed", "3", "lin-kv"],
    "broadcast": ["-w", "broadcast", "--bin", CORRECT, "--node-count", "3", "--time-limit", "1.5",
                  "--rate", "30", "--latency", "5", "--nemesis", "partition",
                  "--nemesis-interval", "0.4", "--recovery-wait", "0.3", "--seed", "3",
                  "broadcast"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Run directory of each report kind."""
    out = {}
    for kind, args in RUNS.items():
        store = tmp_path_factory.mktemp(kind)
        r = CliRunner().invoke(cli_module.test_command, ["--store", str(store), *args],
                               catch_exceptions=False)
        # The verdicts of the runs with partitions depend on timing; the pages are what is tested.
        expected = {"valid": (0,), "invalid": (1,)}.get(kind, (0, 1))
        assert r.exit_code in expected, r.output + r.stderr
        out[kind] = (store / "latest").resolve()
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None
    b = Browser(CHROMIUM)
    yield b
    b.close()


def history(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]


def effective_grudges(run: Path) -> list[tuple[float, dict[str, list[str]]]]:
    """(start ms, grudge) of every start-partition whose grudge dropped some link."""
    out = []
    for e in history(run):
        if e["process"] == "nemesis" and e["f"] == "start-partition" and e["type"] == "info":
            grudge = {d: s for d, s in e["value"][1].items() if s}
            if grudge:
                out.append((e["time"] / 1e6, grudge))
    return out


def check_ticks(values: list[str]) -> None:
    """Tick labels are round: evenly spaced at a 1-2-5 step, or 1-2-5 per decade (log)."""
    nums = [float(v) for v in values]
    assert len(nums) >= 3, values
    steps = {round(b - a, 9) for a, b in zip(nums, nums[1:])}
    if len(steps) == 1:
        step = steps.pop()
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert round(mantissa, 6) in (1, 2, 5), values
        assert all(len(v.split(".")[-1]) <= 3 for v in values if "." in v), values
    else:
        for v in nums:
            mantissa = v / 10 ** math.floor(math.log10(v))
            assert round(mantissa, 6) in (1, 2, 5), values


PAGE_FACTS = """(() => {
  const box = el => { const r = el.getBoundingClientRect();
                      return [r.left, r.top, r.right, r.bottom]; };
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => ({
    legend: svg.querySelectorAll('.legend .legend-item').length,
    xticks: [...svg.querySelectorAll('.x-axis text.tick')].map(t => t.textContent),
    yticks: [...svg.querySelectorAll('.y-axis text.tick')].map(t => t.textContent),
    spans: [...svg.querySelectorAll('rect.partition')].map(r => [+r.dataset.startMs,
                                                                  +r.dataset.endMs]),
  }));
  const lamport = [...document.querySelectorAll('svg.lamport')].map(svg =>
    [...svg.querySelectorAll('text.label')].filter(t => t.textContent).map(box));
  const visible = el => el.getBoundingClientRect().width > 0;
  const failing = [...document.querySelectorAll('svg.failing-key')].filter(visible)
    .map(svg => ({
      svg: box(svg),
      bad: svg.querySelector('rect.failing') && box(svg.querySelector('rect.failing')),
      labels: [...svg.querySelectorAll('text.op-label')].map(t => [t.textContent, box(t)]),
      ticks: [...svg.querySelectorAll('text.tick')].map(t => t.textContent),
      reason: svg.closest('section').querySelector('.reason').textContent,
    }));
  const cells = Object.fromEntries([...document.querySelectorAll('table.summary td')]
    .map(td => [td.className, td.textContent]));
  return {charts, lamport, failing, cells,
          partitionRows: document.querySelectorAll('tr.partition-row').length,
          heading: [...document.querySelectorAll('h2')].map(h => h.textContent),
          width: document.documentElement.scrollWidth};
})()"""


def overlaps(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


def look(page: Page, run: Path, width: int) -> dict[str, Any]:
    """The checks every report kind passes at ``width``; returns the page's facts."""
    assert page.errors == [], page.errors
    w, h, rows = png_pixels(page.screenshot(), INK_ROWS)
    assert (w, h) == (width, VIEW_H)
    assert ink(rows, len(rows[0]) // w) > 0.01  # the title and the summary are drawn
    facts = page.evaluate(PAGE_FACTS)
    assert facts["width"] <= width  # nothing sticks out sideways (the Lamport box scrolls)
    assert len(facts["charts"]) == 2
    grudges = effective_grudges(run)
    for chart in facts["charts"]:
        assert chart["legend"] >= 3
        check_ticks(chart["xticks"])
        check_ticks(chart["yticks"])
        spans = chart["spans"]
        assert len(spans) == len(grudges)
        for (start, _), (s0, s1) in zip(grudges, spans):
            assert abs(s0 - start) < 0.05 and s1 >= s0
    assert facts["partitionRows"] == len(grudges)
    ops = [e for e in history(run) if isinstance(e["process"], int) and e["type"] != "invoke"]
    counts = {t: sum(1 for e in ops if e["type"] == t) for t in ("ok", "fail", "info")}
    assert facts["cells"]["operations"].startswith(
        f"{len(ops)}: {counts['ok']} ok · {counts['fail']} fail · {counts['info']} info")
    for labels in facts["lamport"]:
        assert labels
        for i, a in enumerate(labels):
            for b in labels[i + 1:]:
                assert not overlaps(a, b), (a, b)
    return facts


@pytest.mark.parametrize("kind", list(RUNS))
@pytest.mark.parametrize("width", [800, 1600])
def test_report_renders_and_reads(browser: Browser, runs: dict[str, Path], kind: str,
                                  width: int) -> None:
    run = runs[kind]
    with browser.page((run / "report.html").as_uri(), width, VIEW_H) as page:
        facts = look(page, run, width)
    if kind in ("partitions", "broadcast"):
        assert effective_grudges(run)  # something was cut, so the span check above checked
    if kind != "invalid":
        assert facts["failing"] == []
        return
    (fail,) = facts["failing"]
    left, top, right, bottom = fail["bad"]
    assert 0 <= left < right <= width and 0 <= top < bottom <= VIEW_H  # in the first viewport
    check_ticks(fail["ticks"])
    sx0, _, sx1, _ = fail["svg"]
    labels = fail["labels"]
    for i, (_, a) in enumerate(labels):
        assert sx0 <= a[0] and a[2] <= sx1 + 0.5  # no label runs off the picture
        for _, b in labels[i + 1:]:
            assert not overlaps(a, b), (a, b)
    texts = " ".join(t for t, _ in labels)
    named = re.findall(r"index (\d+)", fail["reason"])
    assert named and all(f"#{i} " in texts for i in named)


def test_screenshot_from_the_command_line(runs: dict[str, Path], tmp_path: Path) -> None:
    """``chromium --headless --screenshot`` as a person runs it: a PNG of the window's size."""
    assert CHROMIUM is not None
    out = tmp_path / "shot.png"
    screenshot_cli(CHROMIUM, (runs["invalid"] / "report.html").as_uri(), 800, VIEW_H, str(out))
    w, h, rows = png_pixels(out.read_bytes(), INK_ROWS)
    assert (w, h) == (800, VIEW_H) and ink(rows, len(rows[0]) // w) > 0.01
