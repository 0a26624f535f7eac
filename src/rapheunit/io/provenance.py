"""Provenance of a loaded recording: where it came from, its SHA-256 and the package versions."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from rapheunit.io.readers import limits

PACKAGES_IN_PROVENANCE = ("rapheunit", "neo", "numpy", "scipy", "quantities")


def provenance(path: Path, reader: str, dose_source: str) -> dict[str, Any]:
    """What a recording's provenance records: file, reader, size, digest, dose source, versions."""
    return {
        "path": str(path),
        "reader": reader,
        "size_bytes": limits.disk_bytes(path),
        "sha256": sha256_of(path),
        "dose_source": dose_source,
        "versions": package_versions(),
    }


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, or of every file in a folder in path order.

    A batch asks twice per input (resume key, then provenance): the digest is
    remembered for the same path, size and modification time, so a large file is
    read once.

    Examples
    --------
    >>> import tempfile
    >>> file = Path(tempfile.mkdtemp()) / "x"
    >>> _ = file.write_bytes(b"abc")
    >>> sha256_of(file)[:12]
    'ba7816bf8f01'
    >>> _ = file.write_bytes(b"abcd")  # new size: hashed again
    >>> sha256_of(file)[:12]
    '88d4266fd4e6'
    """
    if path.is_dir():  # a folder's mtime does not follow its files' contents: no memo
        return _sha256_uncached(path)
    stat = path.stat()
    return _sha256_of_file(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256_of_file(path: Path, size_bytes: int, mtime_ns: int) -> str:
    del size_bytes, mtime_ns  # part of the cache key only
    return _sha256_uncached(path)


def _sha256_uncached(path: Path, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(chunk_bytes), b""):
                digest.update(chunk)
    return digest.hexdigest()


def package_versions(names: Sequence[str] = PACKAGES_IN_PROVENANCE) -> dict[str, str]:
    """Installed versions of the packages that shape the results.

    Examples
    --------
    >>> import numpy as np
    >>> package_versions(("numpy",))["numpy"] == np.__version__
    True
    """
    return {name: _version(name) for name in names}


@functools.cache  # reading package metadata costs ~4 ms a package, once per process is enough
def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
