"""A tiny DevTools-protocol client for Debian's headless chromium, over ``--remote-debugging-pipe``.

Strategy: chromium reads protocol commands from fd 3 and writes replies and
events to fd 4, one JSON message per NUL-terminated chunk. We start it with
two pipes on those descriptors (``bash -c 'exec ... 3<&R 4>&W'``, so no code
runs between fork and exec), send a command, and read until its reply comes,
keeping the events that arrive meanwhile. Every read waits with a deadline,
so a wedged browser fails a test instead of hanging it. One browser serves a
whole test module; each page gets its own target (tab) in a flat session.
No dependency beyond orjson.
"""

from __future__ import annotations

import base64
import os
import select
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

CHROMIUM: Final[str | None] = shutil.which("chromium")
REPLY_TIMEOUT_S: Final[float] = 20.0
READ_CHUNK_BYTES: Final[int] = 1 << 20
#: Root in a container: no sandbox; a small /dev/shm: use /tmp; no display: headless.
FLAGS: Final[tuple[str, ...]] = ("--headless", "--no-sandbox", "--disable-gpu",
                                 "--disable-dev-shm-usage", "--hide-scrollbars")


class BrowserError(RuntimeError):
    """The browser answered a command with an error, or not in time."""


@dataclass
class Page:
    """One tab: its session, and the errors it logged."""

    browser: Browser
    session: str
    target: str
    errors: list[str] = field(default_factory=list)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def evaluate(self, expression: str) -> Any:
        """The value of a JS expression (returned by value); a thrown error raises."""
        r = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            raise BrowserError(f"{expression[:80]!r} threw: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self) -> bytes:
        """A PNG of the viewport."""
        return base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])


class Browser:
    """A headless chromium process driven over the pipe transport."""

    def __init__(self, executable: str) -> None:
        self._profile = tempfile.mkdtemp(prefix="gyre-chromium-")
        to_r, self._to_w = os.pipe()
        self._from_r, from_w = os.pipe()
        args = [executable, *FLAGS, "--no-first-run", "--no-default-browser-check",
                "--remote-debugging-pipe", f"--user-data-dir={self._profile}", "about:blank"]
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_r} 4>&{from_w}', *args], pass_fds=(to_r, from_w),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        os.close(to_r)
        os.close(from_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_r], [], [], left)[0]:
                raise BrowserError("chromium did not answer in time")
            chunk = os.read(self._from_r, READ_CHUNK_BYTES)
            if not chunk:
                raise BrowserError(f"chromium closed the pipe (exit {self.proc.poll()})")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return orjson.loads(raw)

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        """Send one command and return its result (events read meanwhile go to `events`)."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            msg["sessionId"] = session
        os.write(self._to_w, orjson.dumps(msg) + b"\0")
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._next_id:
                if "error" in m:
                    raise BrowserError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method: str, session: str, start: int) -> dict[str, Any]:
        """The first event ``method`` of ``session`` from position ``start`` of `events` on."""
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        i = start
        while True:
            while i < len(self.events):
                e = self.events[i]
                i += 1
                if e.get("method") == method and e.get("sessionId") == session:
                    return e
            self.events.append(self._read_message(deadline))

    @contextmanager
    def page(self, url: str, width: int, height: int) -> Iterator[Page]:
        """Open ``url`` in a new tab with a ``width`` x ``height`` viewport, loaded and settled."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target,
                                                      "flatten": True})["sessionId"]
        page = Page(self, session, target)
        try:
            for domain in ("Runtime", "Log", "Page"):
                page.send(f"{domain}.enable")
            page.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
            start = len(self.events)
            page.send("Page.navigate", url=url)
            self.wait_event("Page.loadEventFired", session, start)
            page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            page.errors = [_error_text(e) for e in self.events[start:]
                           if e.get("sessionId") == session and _is_error(e)]
            yield page
        finally:
            self.send("Target.closeTarget", {"targetId": target})

    def close(self) -> None:
        """End the browser (its whole process group) and remove its profile."""
        try:
            try:
                self.send("Browser.close")
            except (BrowserError, OSError):
                pass  # already gone: the wait below says how
            os.close(self._to_w)
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        finally:
            os.close(self._from_r)
            shutil.rmtree(self._profile, ignore_errors=True)


def _is_error(e: dict[str, Any]) -> bool:
    m, p = e.get("method"), e.get("params", {})
    return (m == "Runtime.exceptionThrown"
            or (m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"))
            or (m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error"))


def _error_text(e: dict[str, Any]) -> str:
    return orjson.dumps(e.get("params", {})).decode()[:500]


def screenshot_cli(executable: str, url: str, width: int, height: int, out: str) -> None:
    """``chromium --headless --screenshot``: the plain command line, as a person would run it."""
    with tempfile.TemporaryDirectory(prefix="gyre-chromium-") as profile:
        subprocess.run([executable, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={out}",
                        f"--window-size={width},{height}", url],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       timeout=REPLY_TIMEOUT_S * 2)


def png_pixels(png: bytes, rows_max: int | None = None) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows (the first ``rows_max``) of an 8-bit RGB(A) PNG.

    Pure Python unfiltering costs about a second a megapixel, hence ``rows_max``.
    """
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        data = png[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += data
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(min(height, rows_max if rows_max is not None else height)):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def ink(rows: list[bytes], channels: int) -> float:
    """The fraction of pixels in ``rows`` that are not near-white."""
    dark = total = 0
    for row in rows:
        for i in range(0, len(row), channels):
            total += 1
            if row[i] < 200 or row[i + 1] < 200 or row[i + 2] < 200:
                dark += 1
    return dark / total if total else 0.0
