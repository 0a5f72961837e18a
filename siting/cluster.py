"""Cluster: connect to dask, run a stage's partitions, report the failed ones.

Private helpers of :mod:`siting.distributed`: :func:`connect` opens (or reuses) a client;
:func:`run_stage` submits one task per partition, at most a few at once, records each
finished partition in the run's manifest as it arrives, and collects the failures, which
:func:`failure` turns into one :class:`PartitionError` naming every failed partition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from siting import checkpoint
from siting._errors import ConfigError, SitingError

__all__ = ["PartitionError", "connect", "failure", "run_stage"]

log = logging.getLogger(__name__)


class PartitionError(SitingError, RuntimeError):
    """One or more partitions failed; ``failures`` maps partition id -> error text."""

    def __init__(self, message: str, failures: Mapping[int, str]) -> None:
        super().__init__(message)
        self.failures = dict(failures)


def connect(
    cluster: object = None, *, n_workers: int = 2, allowed_failures: int = 0
) -> tuple[Any, Callable[[], None]]:
    """Open a dask client for ``cluster``; return it and a function closing what was opened.

    Parameters
    ----------
    cluster
        ``None`` or ``"local"`` (a LocalCluster of ``n_workers`` processes, one thread each),
        a scheduler address (``"tcp://host:8786"``) or a :class:`distributed.Client`.
    n_workers
        Workers of a local cluster.
    allowed_failures
        Local cluster only: times a task may be on a worker that dies before it is reported
        as failed (dask's ``distributed.scheduler.allowed-failures``); 0 reports at once.

    Raises
    ------
    ConfigError
        If dask.distributed is not installed (``pip install siting[scale]``).
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - the scale extra is part of dev
        msg = f"the partitioned study needs dask: pip install 'siting[scale]' ({exc})"
        raise ConfigError(msg) from exc
    if isinstance(cluster, Client):
        return cluster, lambda: None
    if cluster is None or cluster == "local":
        with dask.config.set({"distributed.scheduler.allowed-failures": int(allowed_failures)}):
            lc = LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True,
                dashboard_address=":0", memory_limit=0,
            )  # fmt: skip
            client = Client(lc)

        def close() -> None:
            client.close()
            lc.close()

        return client, close
    if isinstance(cluster, str):
        client = Client(cluster)
        return client, client.close
    msg = f"cluster must be None, 'local', a scheduler address or a Client, got {cluster!r}"
    raise ConfigError(msg)


def run_stage(
    stage: str,
    todo: list[int],
    submit: Callable[[int], Any],
    *,
    out_dir: Path,
    manifest: dict[str, Any],
    in_flight: int,
    progress: bool,
) -> dict[int, str]:
    """Run ``submit(part)`` for each partition, at most ``in_flight`` at once; record results.

    Returns the failed partitions (id -> error text); the others are in the manifest.
    """
    from distributed import as_completed

    failures: dict[int, str] = {}
    queue = list(todo)
    running: dict[Any, int] = {}
    done = 0
    pool = as_completed()

    def launch() -> None:
        while queue and len(running) < in_flight:
            part = queue.pop(0)
            fut = submit(part)
            running[fut] = part
            pool.add(fut)

    launch()
    for fut in pool:
        part = running.pop(fut)
        if fut.status == "error":
            exc = fut.exception()
            failures[part] = f"{type(exc).__name__}: {exc}"
            log.error("%s: partition %d failed: %s", stage, part, failures[part])
        elif fut.status != "finished":
            failures[part] = f"task {fut.status}"
            log.error("%s: partition %d failed: %s", stage, part, failures[part])
        else:
            entry = fut.result()
            checkpoint.record(manifest, stage, part, entry)
            checkpoint.save_manifest(out_dir, manifest)
        fut.release()
        done += 1  # noqa: SIM113 (futures arrive as they finish, not in order)
        if progress:
            print(f"    {stage}: {done}/{len(todo)} partitions", flush=True)
        launch()
    return failures


def failure(stage: str, failures: Mapping[int, str], n: int, out_dir: Path) -> PartitionError:
    """Build the error that names every failed partition of ``stage`` and what to do."""
    lines = "\n".join(f"  partition {p}: {e}" for p, e in sorted(failures.items()))
    msg = (
        f"{len(failures)} of {n} partitions failed in stage {stage!r}:\n{lines}\n"
        f"the partitions that finished are saved in {out_dir}; fix the cause and run again "
        "with the same out_dir to compute only the failed ones"
    )
    return PartitionError(msg, failures)
