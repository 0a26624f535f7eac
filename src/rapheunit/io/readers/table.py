"""Spike tables: long-format ``unit,time_s`` CSV or TSV files, read with pandas.

The simplest export any sorter or spreadsheet can write, and the format
rapheunit's own examples use. A table carries no recording bounds (the loader
ends the recording at the last spike unless given ``t_stop``), so every cell
is checked here: a time that is not a finite number >= 0, or a row without a
unit name, refuses the file with the line that holds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rapheunit.core.errors import RecordingTooLargeError, UnreadableFileError
from rapheunit.core.model import Unit
from rapheunit.io.readers import limits
from rapheunit.io.readers.content import RawContent, one_line

SPIKE_TABLE_COLUMNS = ("unit", "time_s")


def read_spike_table(path: Path) -> RawContent:
    """Read a long-format ``unit,time_s`` table (CSV or TSV).

    A table larger than :data:`~rapheunit.io.readers.limits.MAX_SPIKE_TABLE_BYTES`
    is refused before it is read. A last line without a line break is read,
    with a warning: the file may have been cut short.

    Examples
    --------
    >>> import tempfile
    >>> table = Path(tempfile.mkdtemp()) / "t.tsv"
    >>> _ = table.write_text("unit\\ttime_s\\n7\\t0.25\\n7\\t0.5\\n")
    >>> content = read_spike_table(table)
    >>> content.units[0].id, content.units[0].spike_times.tolist()
    ('7', [0.25, 0.5])
    """
    size = path.stat().st_size
    if size > limits.MAX_SPIKE_TABLE_BYTES:
        raise RecordingTooLargeError(
            f"spike table of {limits.format_gib(size)} is larger than MAX_SPIKE_TABLE_BYTES = "
            f"{limits.format_gib(limits.MAX_SPIKE_TABLE_BYTES)}; split it, or raise "
            "rapheunit.io.readers.limits.MAX_SPIKE_TABLE_BYTES on a machine with the memory for it",
            path,
        )
    table = _read_table_file(path)
    missing = [c for c in SPIKE_TABLE_COLUMNS if c not in table.columns]
    if missing:
        found = ", ".join(map(str, table.columns)) or "nothing"
        raise UnreadableFileError(
            f"spike table needs columns unit,time_s; missing {', '.join(missing)} (found {found})",
            path,
        )
    limits.check_spike_count(len(table), path)
    times = pd.to_numeric(table["time_s"], errors="coerce").to_numpy(dtype=np.float64)
    _check_table_cells(table, times, path)
    unit_names = table["unit"].astype(str).str.strip().to_numpy()
    units = [Unit(str(name), times[unit_names == name]) for name in pd.unique(unit_names)]
    notes = [] if _ends_with_line_break(path) else [_no_final_line_break(times)]
    return RawContent(
        units=units,
        marker_events=[],
        t_start=0.0,
        t_stop=None,
        reader="spike_table",
        warnings=notes,
    )


def _check_table_cells(table: pd.DataFrame, times: np.ndarray, path: Path) -> None:
    bad_rows = np.flatnonzero(~np.isfinite(times) | (times < 0))
    if bad_rows.size:
        row = int(bad_rows[0])
        raise UnreadableFileError(
            f"time_s must be a finite number >= 0; line {row + 2} has "
            f"{_cell_text(table['time_s'].iloc[row])} ({bad_rows.size} bad rows)",
            path,
        )
    no_unit = np.flatnonzero((table["unit"].fillna("").astype(str).str.strip() == "").to_numpy())
    if no_unit.size:
        raise UnreadableFileError(
            f"every row needs a unit name; line {int(no_unit[0]) + 2} has none "
            f"({no_unit.size} rows without one)",
            path,
        )


def _cell_text(value: Any) -> str:
    """A table cell as the user typed it (pandas reads an empty cell as NaN)."""
    if isinstance(value, float) and np.isnan(value):
        return "an empty cell"
    return repr(str(value))


def _ends_with_line_break(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) in (b"\n", b"\r")


def _no_final_line_break(times: np.ndarray) -> str:
    return (
        "the last line has no line break: if the file was cut short, its last time may be "
        f"incomplete and spikes after {times.max():g} s are missing"
    )


def _read_table_file(path: Path) -> pd.DataFrame:
    try:
        with path.open("r", encoding="utf-8-sig") as handle:
            header = handle.readline()
        separator = "\t" if "\t" in header else ","
        # Only an empty time cell is missing: "NaN" or "NA" stay as typed, for the message
        # (and "NA" is a valid unit name).
        table = pd.read_csv(
            path,
            sep=separator,
            dtype={"unit": str},
            encoding="utf-8-sig",
            keep_default_na=False,
            na_values={"time_s": [""]},
        )
    except UnicodeDecodeError as error:
        raise UnreadableFileError(
            f"not a readable CSV/TSV table: not UTF-8 text (byte {error.object[error.start]:#04x} "
            f"at offset {error.start}); save it as UTF-8",
            path,
        ) from error
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise UnreadableFileError(
            f"not a readable CSV/TSV table: {one_line(error)}", path
        ) from error
    table.columns = [str(c).strip() for c in table.columns]
    return table
