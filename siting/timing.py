"""Timing: how long each stage of a run took, and the process's peak memory.

:class:`Stages` times the stages of :func:`siting.run_study` and of the partitioned run
(:mod:`siting.distributed`), printing each as it starts when asked to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Stages", "peak_rss_mb"]

log = logging.getLogger("siting")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB.

    Linux's ``VmHWM`` (the peak of this process's own address space); ``ru_maxrss`` would
    also count the parent's memory at the moment a spawned worker was forked.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:  # pragma: no cover - not Linux
        pass
    import resource  # pragma: no cover

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)  # pragma: no cover


class Stages:
    """Seconds of each client-side stage, printed as they start when ``progress``."""

    def __init__(self, progress: bool) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}  # the client's peak memory after each stage
        self.progress = progress

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as stage ``name`` and note the client's peak memory after it."""
        if self.progress:
            print(f"  · {name} …", flush=True)
        t0 = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - t0, 3)
        self.peak_mb[name] = peak_rss_mb()
        log.info("%s: %.2f s", name, self.seconds[name])
