"""Helpers of the dashboard tests: start and stop a Voilà server, raw HTTP, console and screenshots.

The server is started exactly as ``atmp-hta dashboard`` starts it (:func:`atmp_hta.serve.voila_command`),
on a free loopback port, with private Jupyter data and runtime directories. Readiness is detected by
connecting to the port, never by a GET (every page GET starts a kernel).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from atmp_hta.report import CHROMIUM_ARGS
from atmp_hta.serve import DASHBOARDS_DIR, Culling, voila_command, voila_environment

__all__ = [
    "CHROMIUM_FLAGS",
    "KERNEL_ID",
    "NOT_LOCAL",
    "REPO_ROOT",
    "SCREENSHOT_DIR",
    "ConsoleLog",
    "VoilaServer",
    "fetch_kernel_id",
    "free_port",
    "kernel_pids",
    "request",
    "running_voila",
    "save_screenshot",
    "wait_for_port",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = list(CHROMIUM_ARGS)  # the flags the report printer uses too (see STACK.md)
NOT_LOCAL = re.compile(r"^(https?|wss?)://(?!(127\.0\.0\.1|localhost|\[::1\])[:/])")
SERVER_START_TIMEOUT_S = 60.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for_port(host: str, port: int, process: subprocess.Popen, timeout_s: float, log: Path) -> float:
    """Wait until ``host:port`` accepts a connection; return the seconds waited."""
    start = time.monotonic()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"Voilà exited with status {process.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return time.monotonic() - start
        except OSError:
            pass
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"Voilà did not open port {port} within {timeout_s} s:\n{log.read_text()}")
        time.sleep(0.1)


@dataclass
class VoilaServer:
    """A running Voilà process."""

    process: subprocess.Popen
    url: str
    port: int
    log: Path
    startup_s: float

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def kernel_pids(self) -> list[int]:
        """Process ids of the kernels this server runs (its live ipykernel children)."""
        return kernel_pids(self.process.pid)


def kernel_pids(parent_pid: int) -> list[int]:
    """Live ``ipykernel`` child processes of ``parent_pid``, read from ``/proc`` (or psutil)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with jupyter_server's dependencies
        psutil = None
    pids = []
    if psutil is not None:
        try:
            children = psutil.Process(parent_pid).children()
        except psutil.NoSuchProcess:
            return []
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                if child.status() != psutil.STATUS_ZOMBIE and "ipykernel" in " ".join(child.cmdline()):
                    pids.append(child.pid)
        return pids
    for stat in Path("/proc").glob("[0-9]*/stat"):  # pragma: no cover
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[1]) == parent_pid:
                cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
                if b"ipykernel" in cmdline:
                    pids.append(int(stat.parent.name))
    return pids


@contextlib.contextmanager
def running_voila(scratch: Path, culling: Culling, dashboards_dir: Path = DASHBOARDS_DIR, preheat: bool = False):
    """Start Voilà on a free port, yield a :class:`VoilaServer`, then stop it and its kernels."""
    scratch.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = scratch / "voila.log"
    env = voila_environment(
        {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_")}, scratch_dir=scratch
    )
    argv = voila_command(dashboards_dir, port=port, host="127.0.0.1", culling=culling, preheat=preheat)
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=scratch)
    try:
        startup_s = wait_for_port("127.0.0.1", port, process, SERVER_START_TIMEOUT_S, log)
        yield VoilaServer(process, f"http://127.0.0.1:{port}", port, log, startup_s)
    finally:
        kernels = kernel_pids(process.pid)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        _stop_orphans(kernels)


def _stop_orphans(pids: list[int], timeout_s: float = 10.0) -> None:
    """Kernels exit by themselves when their server dies; stop any that did not."""
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return
    procs = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            procs.append(psutil.Process(pid))
    _, alive = psutil.wait_procs(procs, timeout=timeout_s)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


@dataclass
class ConsoleLog:
    """Console messages and uncaught page errors of one page."""

    messages: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)

    def attach(self, page) -> ConsoleLog:
        page.on(
            "console", lambda msg: self.messages.append((msg.type, msg.text, msg.location.get("url", "")))
        )
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        return self

    @property
    def errors(self) -> list[str]:
        """Console errors and page errors, leaving out the requests this test setup aborted on purpose."""
        found = list(self.page_errors)
        for kind, text, url in self.messages:
            if kind != "error":
                continue
            if "net::ERR_FAILED" in text and NOT_LOCAL.match(url):
                continue  # a CDN request (e.g. Font Awesome) aborted by the context's route
            found.append(f"{text} ({url})")
        return found


#: The tallest element's scroll height: Voilà scrolls inside a container, so ``full_page`` alone would stop at the
#: window's height.
CONTENT_HEIGHT_JS = "() => Math.max(...Array.from(document.querySelectorAll('*'), e => e.scrollHeight))"
MAX_SCREENSHOT_HEIGHT = 8000


def save_screenshot(page, name: str) -> Path:
    """Save a PNG of the whole dashboard as ``test-artifacts/screenshots/<name>.png`` and return its path.

    The window is made as tall as the content for the shot (up to ``MAX_SCREENSHOT_HEIGHT``), then restored.
    """
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    size = page.viewport_size
    height = min(int(page.evaluate(CONTENT_HEIGHT_JS)) + 40, MAX_SCREENSHOT_HEIGHT)
    if size and height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": height})
        page.wait_for_timeout(500)  # let the charts lay out at the new size
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if size and height > size["height"]:
            page.set_viewport_size(size)
    return path


KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')


def request(url: str, method: str = "GET", path: str = "/", body: bytes | None = None):
    """One raw HTTP request to ``url`` (no redirect followed, ``path`` sent exactly as given).

    Returns ``(status, headers, text)``.
    """
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode(errors="replace")
    finally:
        conn.close()


def fetch_kernel_id(url: str, notebook: str = "index.ipynb") -> str:
    """GET a dashboard page (which starts a kernel) and return the id of that kernel."""
    status, _, page = request(url, path=f"/voila/render/{notebook}")
    assert status == 200, status
    match = KERNEL_ID.search(page)
    assert match, "the rendered page names its kernel"
    return match.group(1)
