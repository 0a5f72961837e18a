"""Checkpoint: files written whole or not at all, and a manifest of what is finished.

A partitioned run (:mod:`siting.distributed`) writes every output file under a temporary
name in the same folder and renames it into place only when it is complete
(:func:`write_atomic`), so a killed worker leaves at worst a ``*.tmp-*`` file, which the
next run deletes (:func:`remove_partial`). A partition counts as finished only when the
manifest says so *and* each of its files is there with the size recorded
(:func:`finished`): a file on disk without a manifest entry is never taken as a result.
Only the driver writes the manifest, itself atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from siting._errors import ConfigError, OutputError

__all__ = [
    "MANIFEST",
    "fingerprint",
    "finished",
    "load_manifest",
    "record",
    "remove_partial",
    "save_manifest",
    "write_atomic",
]

#: Manifest file name inside the run folder.
MANIFEST = "manifest.json"
_TMP = ".tmp-"


def write_atomic(path: Path, write: Callable[[Path], object]) -> int:
    """Write ``path`` through ``write(tmp_path)`` then rename it into place.

    Parameters
    ----------
    path
        Final file name.
    write
        Writes the whole file at the path it is given.

    Returns
    -------
    int
        Size of the finished file, bytes.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> write_atomic(d / "a.txt", lambda p: p.write_text("abc"))
    3
    >>> sorted(x.name for x in d.iterdir())
    ['a.txt']
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}{_TMP}{uuid.uuid4().hex}")
    try:
        write(tmp)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.stat().st_size


def remove_partial(folder: Path) -> list[Path]:
    """Delete files left half-written by an interrupted run; return what was removed."""
    gone = []
    if folder.exists():
        for p in folder.rglob(f"*{_TMP}*"):
            if p.is_file():
                p.unlink(missing_ok=True)
                gone.append(p)
    return gone


def fingerprint(parts: Mapping[str, bytes | str | Iterable[bytes]]) -> str:
    """SHA-256 over named pieces (inputs and options), stable across runs.

    A piece is text, bytes, or an iterable of byte chunks (hashed as they come, so a large
    input is never held whole).

    Examples
    --------
    >>> fingerprint({"a": "1"}) == fingerprint({"a": b"1"}) == fingerprint({"a": [b"1"]})
    True
    """
    h = hashlib.sha256()
    for name in sorted(parts):
        value = parts[name]
        chunks = [value.encode()] if isinstance(value, str) else (
            [value] if isinstance(value, bytes | bytearray) else value
        )  # fmt: skip
        h.update(name.encode() + b"\0")
        size = 0
        for chunk in chunks:
            h.update(chunk)
            size += len(chunk)
        h.update(b"\0" + str(size).encode() + b"\0")
    return h.hexdigest()


def load_manifest(folder: Path, fp: str) -> dict[str, Any]:
    """Read the manifest of the run in ``folder`` (a new one if there is none).

    Raises
    ------
    ConfigError
        If the folder holds a run of other inputs or options.
    OutputError
        If the manifest cannot be read.
    """
    path = folder / MANIFEST
    if not path.exists():
        return {"version": 1, "fingerprint": fp, "stages": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"cannot read the run manifest {path}: {exc}; delete the folder to start over"
        raise OutputError(msg) from exc
    if manifest.get("fingerprint") != fp:
        msg = (
            f"{folder} holds a run of other inputs or options (fingerprint "
            f"{str(manifest.get('fingerprint'))[:12]}, this run {fp[:12]}); give a new out_dir, "
            "or delete that folder to start over"
        )
        raise ConfigError(msg)
    return manifest


def save_manifest(folder: Path, manifest: Mapping[str, Any]) -> None:
    """Write the manifest atomically."""
    text = json.dumps(manifest, indent=1, sort_keys=True, allow_nan=True)
    write_atomic(folder / MANIFEST, lambda p: p.write_text(text, encoding="utf-8"))


def record(manifest: dict[str, Any], stage: str, part: int, entry: Mapping[str, Any]) -> None:
    """Note partition ``part`` of ``stage`` as finished (``entry`` has ``files``: name -> bytes)."""
    manifest["stages"].setdefault(stage, {})[str(part)] = dict(entry)


def finished(folder: Path, manifest: Mapping[str, Any], stage: str, part: int) -> bool:
    """Whether ``part`` of ``stage`` is recorded and every file it wrote is whole."""
    entry = manifest.get("stages", {}).get(stage, {}).get(str(part))
    if not entry:
        return False
    for name, size in entry.get("files", {}).items():
        p = folder / name
        if not p.is_file() or p.stat().st_size != size:
            return False
    return True
