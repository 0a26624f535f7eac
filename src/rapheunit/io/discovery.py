"""Which files of the user's inputs are recordings, and the unique name each one gets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from rapheunit.io.load import is_recording_candidate


def find_recordings(inputs: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (recursively) into the recordings to analyse.

    Folders are searched for readable recordings; companions such as
    ``*.doses.csv`` sidecars are skipped. A named file is always kept, so that
    an unreadable one is reported rather than silently ignored.
    """
    found: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir() and not is_recording_candidate(item):
            found.extend(_search_folder(item))
        else:
            found.append(item)
    return list(dict.fromkeys(found))


def _search_folder(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir() and not is_recording_candidate(path):
            found.extend(_search_folder(path))
        elif is_recording_candidate(path):
            found.append(path)
    return found


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
