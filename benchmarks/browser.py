"""Headless Chromium over the DevTools pipe: open a page offline, evaluate, screenshot.

No driver package: Chromium's own ``--remote-debugging-pipe`` (JSON messages separated by
NUL bytes on file descriptors 3 and 4), so nothing listens on a port. The network is cut
off: every host name resolves to nothing and every proxied request goes to a dead local
port. Console messages, uncaught exceptions, dialogs (``alert``) and every request the page
makes are recorded.

Used by ``benchmarks/map.py`` (load time of a 100,000-parcel map) and by the browser tests.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["CHROMIUM", "Chromium", "PageError"]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-quic",
    "--mute-audio",
    "--hide-scrollbars",
    # network cut off: no name resolves, anything proxied goes to a closed local port
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)


class PageError(RuntimeError):
    """A DevTools command failed or the page did not become ready in time."""


class Chromium:
    """One headless Chromium with one page; use as a context manager.

    Parameters
    ----------
    width, height
        Window size in CSS pixels.
    """

    def __init__(self, *, width: int = 1280, height: int = 860) -> None:
        if CHROMIUM is None:
            msg = "chromium is not installed (apt-get install chromium)"
            raise PageError(msg)
        self._profile = tempfile.mkdtemp(prefix="siting-chromium-")
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        def child_fds() -> None:  # Chromium reads commands on fd 3 and answers on fd 4
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self._proc = subprocess.Popen(
            [
                CHROMIUM,
                *_FLAGS,
                f"--user-data-dir={self._profile}",
                f"--window-size={width},{height}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=child_fds,  # noqa: PLW1509 - single-threaded test and benchmark use
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []
        target = self._send("Target.createTarget", {"url": "about:blank"})
        self._session = self._send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    # --- protocol ---------------------------------------------------------------------------
    def _read(self, timeout: float) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._r], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                msg = f"no answer from chromium within {timeout} s"
                raise PageError(msg)
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                msg = "chromium closed the DevTools pipe"
                raise PageError(msg)
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return dict(json.loads(raw))

    def _send(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
        timeout: float = 120.0,
    ) -> dict[str, Any]:  # fmt: skip
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        while True:
            answer = self._read(timeout)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise PageError(f"{method}: {answer['error']}")
                return dict(answer.get("result", {}))
            self.events.append(answer)

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float = 120.0
    ) -> dict[str, Any]:
        """Send a DevTools command to the page and return its result."""
        return self._send(method, params, session=self._session, timeout=timeout)

    def pump(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                self.events.append(self._read(left))
            except PageError:
                return

    # --- page -------------------------------------------------------------------------------
    def open(self, url: str, *, ready: str = "true", timeout: float = 120.0) -> float:
        """Navigate and wait until the JS expression ``ready`` is true; return the seconds."""
        t0 = time.perf_counter()
        self.send("Page.navigate", {"url": url})
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            left = max(1.0, end - time.monotonic())  # a busy page answers only when idle
            try:
                state = self.evaluate(
                    f"document.readyState === 'complete' && !!({ready})", timeout=left
                )
            except PageError:
                break
            if state:
                return time.perf_counter() - t0
            self.pump(0.02)
        msg = f"{url} not ready ({ready}) within {timeout} s; errors: {self.errors()}"
        raise PageError(msg)

    def evaluate(self, expression: str, *, timeout: float = 120.0) -> Any:
        """Evaluate a JS expression in the page and return its JSON value."""
        res = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            timeout=timeout,
        )
        if "exceptionDetails" in res:
            raise PageError(f"{expression[:80]}: {res['exceptionDetails']}")
        return res.get("result", {}).get("value")

    def screenshot(self, path: str | Path) -> Path:
        """Save a PNG of the viewport."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        out = Path(path)
        out.write_bytes(base64.b64decode(data))
        return out

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed log entries seen so far."""
        out = []
        for ev in self.events:
            method, p = ev.get("method"), ev.get("params", {})
            if method == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append(f"exception: {d.get('exception', {}).get('description', d['text'])}")
            elif method == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value")) for a in p["args"]))
            elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append(f"log: {p['entry']['text']} {p['entry'].get('url', '')}")
        return out

    def requests(self) -> list[str]:
        """URL of every request the page started (``data:`` URLs left out)."""
        return [
            ev["params"]["request"]["url"]
            for ev in self.events
            if ev.get("method") == "Network.requestWillBeSent"
            and not ev["params"]["request"]["url"].startswith("data:")
        ]

    def dialogs(self) -> list[str]:
        """Messages of every ``alert``/``confirm``/``prompt`` the page opened."""
        return [
            ev["params"].get("message", "")
            for ev in self.events
            if ev.get("method") == "Page.javascriptDialogOpening"
        ]

    def close(self) -> None:
        """Close the browser and remove its profile."""
        with contextlib.suppress(PageError, OSError):
            self._send("Browser.close", timeout=10)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for fd in (self._r, self._w):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
