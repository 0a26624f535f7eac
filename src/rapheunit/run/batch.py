"""Running many recordings: serially, in local processes, or on a Dask cluster; resumable.

Each recording's tables are saved as a *part* (``DIR/.parts/<key>.json``) as
soon as it is analysed, keyed by the input's sha256 and a hash of the
parameters. ``resume`` reuses parts whose key still matches, so an interrupted
batch continues where it stopped. Parts are plain JSON, never pickles.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import json
import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from rapheunit.core.errors import BadParameterError
from rapheunit.io.load import sha256_of
from rapheunit.io.output import write_json

PARTS_FOLDER = ".parts"
Worker = Callable[[Path], Any]
# Libraries that analysing a recording imports on first use (the package imports them
# lazily so that the command line starts fast). A batch imports them before it freezes
# the heap and forks its workers: paid once, shared by the workers, and out of the full
# collections nixio makes for every file it closes.
ANALYSIS_IMPORTS = ("scipy.special",)
# Spike-time tables are read with pandas and carry no waveforms; every other input goes
# through neo (NIX files through nixio, NWB files through pynwb), whose waveforms are
# measured with scipy's spline and smoothing.
TABLE_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
READER_IMPORTS = {
    "neo": ("neo.io", "scipy.interpolate", "scipy.ndimage"),
    ".nix": ("nixio",),
    ".nwb": ("pynwb", "pynwb.misc"),
}


@dataclass(frozen=True)
class RunOptions:
    """How a batch is executed (not what is computed).

    Parameters
    ----------
    jobs : int or None
        Local worker processes; None means one per core.
    scheduler : str or None
        Address of a running Dask distributed scheduler (``tcp://host:8786``)
        or a ``distributed.Client``; overrides ``jobs``.
    resume : bool
        Reuse saved parts whose input hash and parameters match.
    progress : bool
        Show a progress bar over recordings.
    """

    jobs: int | None = None
    scheduler: Any = None
    resume: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.jobs is not None and (not isinstance(self.jobs, int) or self.jobs < 1):
            raise BadParameterError(f"jobs must be a whole number >= 1, got {self.jobs!r}")

    @property
    def n_workers(self) -> int:
        """Local processes to use."""
        return self.jobs or os.cpu_count() or 1


def parameters_key(parameters: dict[str, Any]) -> str:
    """A stable hash of the analysis parameters.

    Examples
    --------
    >>> parameters_key({"a": 1}) == parameters_key({"a": 1}) != parameters_key({"a": 2})
    True
    """
    text = json.dumps(parameters, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def part_path(out: Path, input_path: Path) -> Path:
    """Where the part of one input is kept."""
    name = hashlib.sha256(str(input_path.resolve()).encode()).hexdigest()[:24]
    return out / PARTS_FOLDER / f"{name}.json"


def save_part(path: Path, input_sha256: str, params_key: str, tables: dict[str, Any]) -> None:
    """Write one recording's tables with the keys they were computed for (compact JSON)."""
    part = {"input_sha256": input_sha256, "params_key": params_key, "tables": tables}
    write_json(part, path, indent=None)


def load_part(path: Path, input_sha256: str, params_key: str) -> dict[str, Any] | None:
    """The saved tables when their keys match, else None (missing or stale part)."""
    try:
        part = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if part.get("input_sha256") != input_sha256 or part.get("params_key") != params_key:
        return None
    return part["tables"]


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the objects that exist now out of the garbage collector's full collections.

    nixio calls ``gc.collect()`` every time it closes a file; each such full
    collection walks every object the imports built (pandas, scipy, neo ...),
    which costs far more than reading a small file. Frozen objects are not
    examined (nor freed) until the block ends; freezing before worker
    processes fork also keeps their pages shared. There is no collection
    first: it would walk that whole heap (~50 ms) to free a few hundred
    objects, which the block merely keeps a little longer. The collector runs
    inside the block even where the caller had switched it off (the console
    script does, while it imports), and is left as it was found.
    """
    collecting = gc.isenabled()
    gc.freeze()
    gc.enable()
    try:
        yield
    finally:
        gc.unfreeze()
        if not collecting:
            gc.disable()


def first_use_imports(paths: Sequence[Path]) -> list[str]:
    """The modules that analysing ``paths`` will import on first use.

    Examples
    --------
    >>> first_use_imports([Path("a.csv")]), "neo.io" in first_use_imports([Path("b.smr")])
    (['scipy.special'], True)
    """
    suffixes = {path.suffix.lower() for path in paths}
    modules = list(ANALYSIS_IMPORTS)
    if suffixes - TABLE_SUFFIXES:
        modules += READER_IMPORTS["neo"]
    for suffix in sorted(suffixes & READER_IMPORTS.keys()):
        modules += READER_IMPORTS[suffix]
    return modules


def run_all(worker: Worker, paths: Sequence[Path], run: RunOptions) -> Iterator[Any]:
    """Yield ``worker(path)`` for every path, in the order of ``paths``."""
    if run.scheduler is None:  # Dask workers are other processes: importing here is no help
        for module in first_use_imports(paths):
            importlib.import_module(module)
    with frozen_heap():
        yield from _run_all(worker, paths, run)


def _run_all(worker: Worker, paths: Sequence[Path], run: RunOptions) -> Iterator[Any]:
    if run.scheduler is not None:
        yield from _run_dask(worker, paths, run.scheduler)
        return
    n_workers = min(run.n_workers, len(paths))
    if n_workers <= 1:
        yield from map(worker, paths)
        return
    chunk = max(1, math.ceil(len(paths) / (n_workers * 8)))
    with ProcessPoolExecutor(max_workers=n_workers) as pool:
        yield from pool.map(worker, paths, chunksize=chunk)


def _run_dask(worker: Worker, paths: Sequence[Path], scheduler: Any) -> Iterator[Any]:
    try:
        from distributed import Client, as_completed
    except ImportError as error:  # optional dependency
        raise BadParameterError(
            "--scheduler needs dask.distributed: pip install 'rapheunit[parallel]'"
        ) from error
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = client.map(worker, list(paths), pure=False)
        done: dict[int, Any] = {}
        index_of = {future.key: index for index, future in enumerate(futures)}
        next_index = 0
        # Yield in input order while results arrive in any order.
        for future in as_completed(futures):
            done[index_of[future.key]] = future.result()
            while next_index in done:
                yield done.pop(next_index)
                next_index += 1
    finally:
        if client is not scheduler:
            client.close()


def input_sha256(path: Path) -> str:
    """sha256 of an input, or "" when it cannot be read."""
    try:
        return sha256_of(path)
    except OSError:
        return ""


def cached_worker(
    worker: Worker,
    out: Path | None,
    params_key: str,
    resume: bool,
    restore: Callable[[dict[str, Any]], Any],
    needs: Callable[[Path], bool] | None = None,
) -> Worker:
    """Wrap ``worker`` so that its result is saved as a part and reused on resume.

    A result has ``ok`` and ``to_part()``; ``restore(part)`` rebuilds it. A part
    is reused only when ``needs(path)`` also holds (e.g. its report exists).
    """
    if out is None:
        return worker
    return partial(_cached_call, worker, out, params_key, resume, restore, needs)


def _cached_call(
    worker: Worker,
    out: Path,
    params_key: str,
    resume: bool,
    restore: Callable[[dict[str, Any]], Any],
    needs: Callable[[Path], bool] | None,
    path: Path,
) -> Any:
    sha = input_sha256(path)
    target = part_path(out, path)
    if resume and sha and (needs is None or needs(path)):
        tables = load_part(target, sha, params_key)
        if tables is not None:
            return restore(tables)
    result = worker(path)
    if sha and result.ok:  # failures are retried on resume: the cause may be gone
        save_part(target, sha, params_key, result.to_part())
    return result
