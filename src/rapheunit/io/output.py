"""Atomic writing of output tables: a crash never leaves a half-written file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from rapheunit.core.errors import BadParameterError


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``.

    The rename is atomic on POSIX file systems, so readers see either the old
    file or the complete new one.

    Examples
    --------
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_atomic(folder / "a.txt", lambda tmp: tmp.write_text("done"))
    >>> (folder / "a.txt").read_text(), sorted(p.name for p in folder.iterdir())
    ('done', ['a.txt'])
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp_path = Path(tmp_name)
    try:
        write(tmp_path)
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        # (0644 under umask 022), so the lab can read the results on a shared server.
        tmp_path.chmod(0o666 & ~_current_umask())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)
    return path


def _current_umask() -> int:
    """The process umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_csv(table: pd.DataFrame, path: Path) -> Path:
    """Write ``table`` to CSV atomically, without the index."""
    return write_atomic(path, lambda tmp: table.to_csv(tmp, index=False))


def write_json(data: Any, path: Path, *, indent: int | None = 2) -> Path:
    """Write ``data`` as JSON atomically (``indent=None``: compact, for machine-read files)."""
    text = json.dumps(data, indent=indent, sort_keys=indent is not None, default=str)
    return write_atomic(path, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))


def write_parquet(table: pd.DataFrame, path: Path) -> Path:
    """Write ``table`` to Parquet atomically (needs pyarrow: ``rapheunit[parquet]``)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError as error:
        raise BadParameterError(
            "--format parquet needs pyarrow: pip install 'rapheunit[parquet]'"
        ) from error
    return write_atomic(path, lambda tmp: table.to_parquet(tmp, index=False))


def frames_to_records(frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Tables as JSON-ready column lists (``tolist`` keeps every float exactly).

    Examples
    --------
    >>> table = pd.DataFrame({"unit": ["a"], "rate_hz": [0.1 + 0.2]})
    >>> records_to_frames(frames_to_records({"t": table}))["t"].equals(table)
    True
    """
    return {
        name: {"columns": list(frame.columns), "data": [frame[c].tolist() for c in frame.columns]}
        for name, frame in frames.items()
    }


def records_to_frames(tables: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Inverse of :func:`frames_to_records`."""
    return {
        name: pd.DataFrame(
            dict(zip(table["columns"], table["data"], strict=True)), columns=table["columns"]
        )
        for name, table in tables.items()
    }
