"""Peak-memory measurement shared by the benchmarks: each measures its work in a child process.

On Linux a child's ``ru_maxrss`` starts from its parent's high-water mark at fork time, so a child spawned by
a parent holding large arrays would report the parent's memory. A child therefore reports its own
``VmHWM`` (``/proc/self/status``), with ``ru_maxrss`` as the fallback where that is unavailable.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import tracemalloc

MIB = 1024 * 1024


def maxrss_bytes(usage) -> int:
    """``ru_maxrss`` in bytes (Linux reports kilobytes, macOS bytes)."""
    return usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def own_peak_rss_bytes() -> int | None:
    """High-water mark of this process's own address space (Linux ``VmHWM``), or None elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def report_child(mode: str, work, work_modes: tuple[str, ...]) -> None:
    """In a child process: run ``work()`` (returning a dict of extras) if ``mode`` is one of ``work_modes`` or
    ``"tracemalloc"`` (then under tracemalloc), and print one JSON line with this process's measurements."""
    out = {"mode": mode}
    if mode == "tracemalloc":
        tracemalloc.start()
    if mode in work_modes or mode == "tracemalloc":
        start = time.perf_counter()
        out.update(work())
        out["seconds"] = time.perf_counter() - start
    if mode == "tracemalloc":
        out["tracemalloc_peak_bytes"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    out["maxrss_bytes"] = maxrss_bytes(resource.getrusage(resource.RUSAGE_SELF))
    out["vmhwm_bytes"] = own_peak_rss_bytes()
    print(json.dumps(out))


def run_child(script, mode: str, *args: str) -> dict:
    """Run ``script --child MODE ARGS...`` in a fresh interpreter and return its JSON line."""
    done = subprocess.run([sys.executable, str(script), "--child", mode, *args],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{script}: the {mode} child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_bytes(child: dict) -> int:
    """A child's own peak: VmHWM where available, else ru_maxrss."""
    return child["vmhwm_bytes"] if child["vmhwm_bytes"] is not None else child["maxrss_bytes"]
