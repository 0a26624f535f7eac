"""Which files of the user's inputs are recordings, and the unique name each one gets."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from rapheunit.io.load import SPIKE_TABLE_SUFFIXES, is_recording_candidate
from rapheunit.io.readers.table import SPIKE_TABLE_COLUMNS


def find_recordings(inputs: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (recursively) into the recordings to analyse.

    Folders are searched for readable recordings; companions such as
    ``*.doses.csv`` sidecars, and tables that are not spike tables (a
    metadata table, notes), are skipped (:func:`find_inputs` lists those). A
    named file is always kept, so that an unreadable one is reported rather
    than silently ignored.
    """
    return find_inputs(inputs)[0]


def find_inputs(inputs: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """The recordings to analyse, and the tables in searched folders that are not recordings.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "cell.csv").write_text("unit,time_s\\nu,1\\n")
    >>> _ = (folder / "animals.csv").write_text("recording,animal\\ncell,rat1\\n")
    >>> found, skipped = find_inputs([folder])
    >>> [p.name for p in found], [p.name for p in skipped]
    (['cell.csv'], ['animals.csv'])
    """
    found: list[Path] = []
    skipped: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir() and not is_recording_candidate(item):
            _search_folder(item, found, skipped)
        else:
            found.append(item)
    return list(dict.fromkeys(found)), skipped


def _search_folder(folder: Path, found: list[Path], skipped: list[Path]) -> None:
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir() and not is_recording_candidate(path):
            _search_folder(path, found, skipped)
        elif is_recording_candidate(path):
            (found if _holds_recording(path) else skipped).append(path)


def _holds_recording(path: Path) -> bool:
    """False for a text table found in a folder that is plainly no spike table.

    That is a UTF-8 text file whose first line names neither spike-table
    column (a metadata table, notes). Anything else that looks wrong (empty,
    binary, a spike table with a misspelled column) is left to the loader,
    which says what is wrong with it.
    """
    if path.suffix.lower() not in SPIKE_TABLE_SUFFIXES:
        return True
    try:
        with path.open(encoding="utf-8") as handle:
            header = handle.readline()
    except (OSError, UnicodeDecodeError):
        return True
    line = header.rstrip("\r\n")
    if not line.strip() or not line.isprintable():
        return True
    columns = {column.strip().strip('"').casefold() for column in re.split(r"[,\t;]", header)}
    return bool(columns & set(SPIKE_TABLE_COLUMNS))


def unique_names(paths: Sequence[Path]) -> dict[Path, str]:
    """Recording names for a batch: unique, readable and free of path separators.

    The file stem; where stems clash, the stem and the extension; where those
    still clash, parent folders in front, as few as needed (never the root).

    Examples
    --------
    >>> paths = [Path("day1/cell.smr"), Path("day2/cell.smr"), Path("day2/x.csv")]
    >>> list(unique_names(paths).values())
    ['day1_cell_smr', 'day2_cell_smr', 'x']
    >>> list(unique_names([Path("a/empty.csv"), Path("a/empty.nix")]).values())
    ['empty_csv', 'empty_nix']
    """
    level = dict.fromkeys(paths, 0)
    names = {path: _name_at(path, 0) for path in paths}
    while True:
        counts = Counter(names.values())
        clashing = [p for p in paths if counts[names[p]] > 1 and _name_at(p, level[p] + 1)]
        if not clashing:
            return names
        for path in clashing:
            level[path] += 1
            names[path] = _name_at(path, level[path])


def _name_at(path: Path, level: int) -> str:
    """The name of ``path`` at a disambiguation level ('' when there is no such level)."""
    stem = plain_name(path)
    if level == 0:
        return stem
    with_extension = f"{stem}_{path.suffix.lstrip('.')}" if path.suffix else stem
    if level == 1:
        return with_extension
    folders = [part for part in path.resolve().parent.parts if part != path.anchor]
    if level - 1 > len(folders):
        return ""
    return "_".join([*folders[len(folders) - (level - 1) :], with_extension])


def plain_name(path: Path) -> str:
    return path.resolve().name if path.is_dir() else path.stem
