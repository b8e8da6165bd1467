"""``atmp_hta.serve.serve`` as an operator runs it: prints its address, serves, stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from voila_helpers import REPO_ROOT, fetch_kernel_id, free_port, wait_for_port

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

psutil = pytest.importorskip("psutil")


def _serve_in_subprocess(port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_")}
    code = f"from atmp_hta.serve import serve; raise SystemExit(serve(port={port}))"
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", code], env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT
        )


@pytest.mark.parametrize("stop_signal", ["SIGTERM", "SIGINT"])
def test_serve_stops_with_its_server_and_kernels(tmp_path, stop_signal):
    port = free_port()
    log = tmp_path / "serve.log"
    process = _serve_in_subprocess(port, log)
    try:
        wait_for_port("127.0.0.1", port, process, 60, log)
        url = f"http://127.0.0.1:{port}"
        fetch_kernel_id(url)  # one kernel running
        tree = psutil.Process(process.pid).children(recursive=True)
        voila = next(p for p in tree if "voila" in " ".join(p.cmdline()))
        scratch = Path(voila.environ()["JUPYTER_DATA_DIR"]).parent
        assert scratch.name.startswith("atmp-hta-voila-") and scratch.is_dir()
        assert len(tree) >= 2, "Voilà and one kernel"

        if stop_signal == "SIGINT":  # Ctrl+C in a terminal reaches every process of the group
            for proc in [psutil.Process(process.pid), *tree]:
                proc.send_signal(signal.SIGINT)
        else:
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    _, alive = psutil.wait_procs(tree, timeout=10)
    for proc in alive:
        proc.kill()
    assert alive == [], "no Voilà server or kernel outlives serve()"
    assert not scratch.exists(), "the private Jupyter directories are removed"
    first_line = log.read_text().splitlines()[0]
    assert first_line == f"Dashboards at http://127.0.0.1:{port}/voila/render/index.ipynb"


def test_port_in_use_fails_instead_of_moving(tmp_path):
    """Voilà would silently try 50 other ports; serve() must fail on the one it was given."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        log = tmp_path / "serve.log"
        process = _serve_in_subprocess(port, log)
        start = time.monotonic()
        status = process.wait(timeout=60)
    assert status != 0
    assert "could not be started" in log.read_text() or "in use" in log.read_text()
    print(f"port-in-use failure reported after {time.monotonic() - start:.1f} s")
