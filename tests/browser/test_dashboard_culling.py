"""Idle kernels are shut down: page requests that never open their websocket do not pile up kernels.

Every GET of a dashboard page starts a kernel. A client that fetches pages without running their
JavaScript never connects to those kernels, so nothing would ever release them; the server's culling
policy (:class:`atmp_hta.serve.Culling`) must shut them down. Here a server with a short idle timeout
receives a bounded burst of plain HTTP requests over the loopback interface.
"""

from __future__ import annotations

import concurrent.futures
import re
import threading
import time

import pytest
from voila_helpers import fetch_kernel_id, request, running_voila

from atmp_hta.serve import Culling

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

CULLING = Culling(idle_timeout_s=5, interval_s=1)
N_REQUESTS = 12
N_CLIENTS = 4
CULL_DEADLINE_S = 60.0


@pytest.fixture(scope="module")
def culling_server(tmp_path_factory):
    """A server of its own, whose kernels are culled after 5 s of inactivity."""
    with running_voila(tmp_path_factory.mktemp("voila-culling"), CULLING) as server:
        yield server


class KernelCounter(threading.Thread):
    """Samples the number of kernel processes of a server every ``period_s`` seconds."""

    def __init__(self, server, period_s: float = 0.2):
        super().__init__(daemon=True)
        self.server, self.period_s = server, period_s
        self.samples: list[tuple[float, int]] = []
        self._stop_event = threading.Event()

    def run(self):
        start = time.monotonic()
        while not self._stop_event.is_set():
            self.samples.append((time.monotonic() - start, len(self.server.kernel_pids())))
            self._stop_event.wait(self.period_s)

    def stop(self):
        self._stop_event.set()
        self.join()

    @property
    def peak(self) -> int:
        return max(count for _, count in self.samples)


def test_idle_kernels_are_culled_and_the_server_keeps_answering(culling_server, record_property):
    assert culling_server.kernel_pids() == []
    counter = KernelCounter(culling_server)
    counter.start()
    try:
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=N_CLIENTS) as pool:
            kernel_ids = list(pool.map(fetch_kernel_id, [culling_server.url] * N_REQUESTS))
        burst_s = time.monotonic() - start
        assert len(set(kernel_ids)) == N_REQUESTS, "every page request started a kernel of its own"

        while culling_server.kernel_pids() and time.monotonic() - start < CULL_DEADLINE_S:
            time.sleep(0.25)
        drained_s = time.monotonic() - start
    finally:
        counter.stop()

    record_property("burst_s", round(burst_s, 2))
    record_property("peak_kernels", counter.peak)
    record_property("all_culled_after_s", round(drained_s, 2))
    print(f"{N_REQUESTS} requests in {burst_s:.1f} s, peak {counter.peak} kernels,", end=" ")
    print(f"all culled {drained_s:.1f} s after the first request")

    # Kernels rose with the requests, then every one of them was shut down by the culler.
    assert counter.peak >= N_CLIENTS
    assert culling_server.kernel_pids() == [], f"kernels still running after {CULL_DEADLINE_S} s"
    log = culling_server.log_text()
    assert f"Culling kernels with idle durations > {CULLING.idle_timeout_s} seconds" in log
    culled = set(re.findall(r"Culling 'idle' kernel 'python3' \(([0-9a-f-]{36})\)", log))
    assert culled == set(kernel_ids)

    # The server still answers: the folder listing, and a new page with a new kernel.
    assert request(culling_server.url, path="/")[0] == 200
    assert fetch_kernel_id(culling_server.url) not in kernel_ids
