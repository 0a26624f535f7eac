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
    """Recording names for a batch: the file stem, prefixed by parent folders where stems clash.

    Examples
    --------
    >>> paths = [Path("day1/cell.smr"), Path("day2/cell.smr"), Path("day2/x.csv")]
    >>> list(unique_names(paths).values())
    ['day1_cell', 'day2_cell', 'x']
    """
    names = {path: plain_name(path) for path in paths}
    for depth in range(1, max((len(p.resolve().parts) for p in paths), default=0)):
        counts = Counter(names.values())
        clashing = [path for path in paths if counts[names[path]] > 1]
        if not clashing:
            break
        for path in clashing:
            parents = path.resolve().parent.parts[-depth:]
            names[path] = "_".join([*parents, plain_name(path)])
    return names


def plain_name(path: Path) -> str:
    return path.resolve().name if path.is_dir() else path.stem
