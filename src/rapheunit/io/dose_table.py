"""Dose tables (``time_s,drug,dose,unit``): read, validate and normalise them.

The format, and how a table beats a sidecar and the marker labels, is in
:mod:`rapheunit.io.doses`, which turns the validated rows into the schedule.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd

from rapheunit.core.errors import BadDoseTableError, BadParameterError
from rapheunit.core.markers import (
    VEHICLE,
    VOLUME,
    ParsedLabel,
    canonical_drug,
    drug_role,
    format_label,
    misspelled_drug,
    normalise_amount,
    unit_system,
)

DOSE_TABLE_COLUMNS = ("time_s", "drug", "dose", "unit")
TABLE_DELIMITERS = (",", "\t", ";")
OBJECT_TABLE_SOURCE = "<doses table given in Python>"


@dataclass(frozen=True)
class Dose:
    """One validated dose before accumulation; ``where`` locates it in messages."""

    time_s: float
    drug: str
    amount: float
    unit: str
    label: str
    where: str


def read_dose_table(path: str | Path) -> pd.DataFrame:
    """Read and validate a dose table (CSV, TSV or semicolon separated).

    Returns a DataFrame with :data:`DOSE_TABLE_COLUMNS`, sorted by time, with
    canonical drug names and normalised doses and units. Any problem raises
    :class:`~rapheunit.core.errors.BadDoseTableError` naming the file.

    Examples
    --------
    >>> import tempfile
    >>> table = Path(tempfile.mkdtemp()) / "cell.doses.csv"
    >>> _ = table.write_text("time_s\\tdrug\\tdose\\tunit\\n60\\tIPS\\t0.01\\tmg/kg\\n")
    >>> read_dose_table(table).to_dict("records")
    [{'time_s': 60.0, 'drug': 'ipsapirone', 'dose': 10.0, 'unit': 'ug/kg'}]
    """
    return _rows_to_frame(dose_rows_from_file(Path(path)))


def coerce_dose_table(obj: Any, source: str = OBJECT_TABLE_SOURCE) -> pd.DataFrame:
    """Validate a dose table given as a DataFrame or a list of dicts, like :func:`read_dose_table`.

    Examples
    --------
    >>> rows = [{"time_s": 120, "drug": "WAY", "dose": 0.1, "unit": "mg/kg"}]
    >>> coerce_dose_table(rows).to_dict("records")
    [{'time_s': 120.0, 'drug': 'WAY-100635', 'dose': 100.0, 'unit': 'ug/kg'}]
    """
    return _rows_to_frame(dose_rows_from_object(obj, source))


def dose_rows_from_file(path: Path) -> list[Dose]:
    """The validated rows of the dose table file ``path``, sorted by time."""
    return _validated_rows(_read_text_table(path), str(path))


def dose_rows_from_object(obj: Any, source: str = OBJECT_TABLE_SOURCE) -> list[Dose]:
    """The validated rows of a dose table given as a DataFrame or a list of dicts."""
    if isinstance(obj, pd.DataFrame):
        return _validated_rows(obj, source)
    if isinstance(obj, list | tuple):
        if not all(isinstance(row, Mapping) for row in obj):
            raise BadDoseTableError(
                f"each row must be a mapping with keys {', '.join(DOSE_TABLE_COLUMNS)}", source
            )
        frame = pd.DataFrame(list(obj)) if obj else pd.DataFrame(columns=DOSE_TABLE_COLUMNS)
        return _validated_rows(frame, source)
    raise BadParameterError(
        f"doses must be a file path, a DataFrame or a list of dicts, got {type(obj).__name__}"
    )


def injection_problem(drug: str, amount: float, unit: str) -> str | None:
    """Why one normalised dose cannot be an injection, or None when it can."""
    known = misspelled_drug(drug)
    if known is not None:
        return (
            f"unknown drug {drug!r}: did you mean {known!r}? (a misspelled drug would start "
            "a cumulative series of its own)"
        )
    system = unit_system(unit)
    if drug_role(drug) == VEHICLE:
        if system != VOLUME:
            return f"{drug} is a vehicle: give its volume in ml/kg, not {unit}"
        return f"negative volume {amount:g} ml/kg of {drug}" if amount < 0 else None
    if system == VOLUME:
        return f"{unit} is a volume, not a dose of {drug} (only saline/vehicle take ml/kg)"
    if amount <= 0:
        return f"dose {amount:g} {unit} of {drug} must be > 0 (only saline/vehicle may be 0)"
    return None


def check_dose_rows(rows: list[Dose], source: str) -> None:
    """Checks across rows: one injection per time, one unit system per drug."""
    ordered = sorted(rows, key=lambda row: row.time_s)
    for earlier, later in pairwise(ordered):
        if earlier.time_s == later.time_s:
            raise BadDoseTableError(
                f"two injections at t = {later.time_s} s ({earlier.where} and {later.where})",
                source,
            )
    first_by_drug: dict[str, Dose] = {}
    for row in ordered:
        first = first_by_drug.setdefault(row.drug, row)
        if unit_system(first.unit) != unit_system(row.unit):
            raise BadDoseTableError(
                f"{row.drug} is given in {first.unit} ({first.where}) and in {row.unit} "
                f"({row.where}); use one unit system per drug",
                source,
            )


def _read_text_table(path: Path) -> pd.DataFrame:
    """The table as text cells (validation converts them, so messages can quote them)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise BadDoseTableError("dose table not found", path) from error
    except (OSError, UnicodeDecodeError) as error:
        raise BadDoseTableError(f"cannot read dose table ({type(error).__name__})", path) from error
    if not text.strip():
        raise BadDoseTableError(f"empty dose table (need {','.join(DOSE_TABLE_COLUMNS)})", path)
    header = text.strip().splitlines()[0]
    delimiter = max(TABLE_DELIMITERS, key=header.count)
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0]
        raise BadDoseTableError(f"not a readable table: {first_line}", path) from error


def _validated_rows(frame: pd.DataFrame, source: str) -> list[Dose]:
    columns = {str(column).strip().lower(): column for column in frame.columns}
    missing = [name for name in DOSE_TABLE_COLUMNS if name not in columns]
    if missing:
        raise BadDoseTableError(
            f"missing column(s) {', '.join(missing)} (need {', '.join(DOSE_TABLE_COLUMNS)})",
            source,
        )
    records = frame[[columns[name] for name in DOSE_TABLE_COLUMNS]].itertuples(
        index=False, name=None
    )
    rows = [_table_row(record, f"row {n}", source) for n, record in enumerate(records, start=1)]
    check_dose_rows(rows, source)
    return sorted(rows, key=lambda row: row.time_s)


def _table_row(record: tuple[Any, ...], where: str, source: str) -> Dose:
    time_cell, drug_cell, dose_cell, unit_cell = record
    time_s = _number(time_cell, "time_s", where, source)
    if time_s < 0:
        raise BadDoseTableError(f"{where}: negative time_s {time_s}", source)
    if not isinstance(drug_cell, str) or not drug_cell.strip():
        raise BadDoseTableError(f"{where}: empty drug name", source)
    if not isinstance(unit_cell, str):
        raise BadDoseTableError(f"{where}: unit {unit_cell!r} is not text", source)
    try:
        amount, unit = normalise_amount(_number(dose_cell, "dose", where, source), unit_cell)
    except BadParameterError as error:
        raise BadDoseTableError(f"{where}: {error.reason}", source) from error
    drug = canonical_drug(drug_cell)
    problem = injection_problem(drug, amount, unit)
    if problem is not None:
        raise BadDoseTableError(f"{where}: {problem}", source)
    label = format_label(ParsedLabel(drug, amount, unit, None))
    return Dose(time_s, drug, amount, unit, label, where)


def _number(cell: Any, column: str, where: str, source: str) -> float:
    try:
        if isinstance(cell, bool):
            raise TypeError(column)
        number = float(cell.strip() if isinstance(cell, str) else cell)
    except (TypeError, ValueError) as error:
        hint = " (a decimal comma: use a decimal point)" if _has_decimal_comma(cell) else ""
        raise BadDoseTableError(
            f"{where}: {column} {cell!r} is not a number{hint}", source
        ) from error
    if not math.isfinite(number):
        raise BadDoseTableError(f"{where}: {column} is {cell!r}, need a finite number", source)
    return number


def _rows_to_frame(rows: list[Dose]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [(row.time_s, row.drug, row.amount, row.unit) for row in rows],
        columns=list(DOSE_TABLE_COLUMNS),
    )
    return frame.astype({"time_s": float, "dose": float, "drug": str, "unit": str})


def _has_decimal_comma(cell: Any) -> bool:
    """True for a number written with a decimal comma, such as ``"0,32"``."""
    return isinstance(cell, str) and re.fullmatch(r"\s*\d+,\d+\s*", cell) is not None

