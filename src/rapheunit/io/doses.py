"""The dose schedule of a recording, from a dose table, a sidecar or marker labels.

Precedence: an explicit table (``doses=`` / ``--doses FILE``) beats a sidecar
next to the recording (``<stem>.doses.csv``; for a folder ``<folder>.doses.csv``
beside it or ``doses.csv`` inside it), which beats the recording's marker
labels (grammar in :mod:`rapheunit.core.markers`). When a table or sidecar is used,
the markers are kept as annotations only.

A dose table has the columns ``time_s,drug,dose,unit`` (comma, tab or
semicolon separated; other columns are ignored; rows are numbered from 1 after
the header in error messages). Its ``dose`` is the amount given at that time.

Dose arithmetic, per drug:

* body-weight doses are normalised to ``ug/kg``; ``dose`` is the amount given
  and ``cumulative_dose`` the running total. With ``labels_are_cumulative``
  the *marker labels* carry running totals instead, and ``dose`` is the rise
  from the previous total (a total that does not rise is an error);
* concentrations (``nM``, ``uM``, ``mM``, bath application) are not summed:
  ``dose`` and ``cumulative_dose`` are both the bath concentration given;
* saline/vehicle volumes are in ``ml/kg`` and may be 0 (a bare ``saline``
  label); they are summed like doses and always read as per-injection volumes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd

from rapheunit.core.errors import BadDoseTableError, BadParameterError, validate_type
from rapheunit.core.markers import (
    CONCENTRATION,
    KNOWN_UNITS,
    VEHICLE,
    VOLUME,
    ParsedLabel,
    canonical_drug,
    checked_marker_map,
    decode_marker,
    dose_like_drug,
    drug_role,
    format_label,
    normalise_amount,
    parse_label,
    unit_system,
    unknown_dose_unit,
)
from rapheunit.core.model import Annotation, Injection

DOSE_TABLE_COLUMNS = ("time_s", "drug", "dose", "unit")
SCHEDULE_SOURCES = ("table", "sidecar", "markers", "none")
SIDECAR_SUFFIX = ".doses.csv"
FOLDER_SIDECAR_NAME = "doses.csv"
TABLE_DELIMITERS = (",", "\t", ";")
OBJECT_TABLE_SOURCE = "<doses table given in Python>"
NOT_AN_INJECTION = (
    "not an injection label (expected '<drug> <amount> <unit> [route]', "
    "e.g. 'ipsapirone 10 ug/kg'; map keyboard codes with marker_map)"
)


@dataclass
class Schedule:
    """Injections, leftover marker annotations, warnings and where the doses came from.

    ``source`` is one of ``"table"``, ``"sidecar"``, ``"markers"`` or ``"none"``.
    """

    injections: list[Injection]
    annotations: list[Annotation]
    warnings: list[str]
    source: str


@dataclass(frozen=True)
class _Dose:
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
    return _rows_to_frame(_file_rows(Path(path)))


def coerce_dose_table(obj: Any, source: str = OBJECT_TABLE_SOURCE) -> pd.DataFrame:
    """Validate a dose table given as a DataFrame or a list of dicts, like :func:`read_dose_table`.

    Examples
    --------
    >>> rows = [{"time_s": 120, "drug": "WAY", "dose": 0.1, "unit": "mg/kg"}]
    >>> coerce_dose_table(rows).to_dict("records")
    [{'time_s': 120.0, 'drug': 'WAY-100635', 'dose': 100.0, 'unit': 'ug/kg'}]
    """
    return _rows_to_frame(_object_rows(obj, source))


def find_sidecar(recording_path: Path) -> Path | None:
    """The dose sidecar of a recording, or None.

    ``<stem>.doses.csv`` beside a file; ``<folder>.doses.csv`` beside a
    folder or ``doses.csv`` inside it (both at once is an error).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "cell.doses.csv").write_text("time_s,drug,dose,unit\\n")
    >>> find_sidecar(folder / "cell.smr").name
    'cell.doses.csv'
    >>> find_sidecar(folder / "other.smr") is None
    True
    """
    path = Path(recording_path)
    if path.is_dir():
        candidates = [path.parent / f"{path.name}{SIDECAR_SUFFIX}", path / FOLDER_SIDECAR_NAME]
    else:
        candidates = [path.with_name(f"{path.stem}{SIDECAR_SUFFIX}")]
    found = [candidate for candidate in candidates if candidate.is_file()]
    if len(found) > 1:
        raise BadDoseTableError(f"two dose sidecars, {found[0]} and {found[1]}; keep one", path)
    return found[0] if found else None


def build_schedule(
    marker_events: Sequence[tuple[float, str]],
    *,
    doses: str | Path | pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
    recording_path: Path | None = None,
    marker_map: Mapping[str, str] | None = None,
    labels_are_cumulative: bool = False,
) -> Schedule:
    """Build the dose schedule: explicit table, else sidecar, else marker labels.

    Parameters
    ----------
    marker_events : sequence of (float, str)
        Marker times in seconds and their labels (Spike2 key codes are decoded).
    doses : path, DataFrame or list of dicts, optional
        Explicit dose table; beats the sidecar and the markers.
    recording_path : Path, optional
        Recording file or folder, to find its sidecar and to name it in errors.
    marker_map : mapping, optional
        Marker code (key character or raw code) to label.
    labels_are_cumulative : bool
        Marker labels give running totals per drug rather than the amount given.

    Returns
    -------
    Schedule
        Injections sorted by time, annotations for the other markers, one-line
        warnings and the source (``"table"``, ``"sidecar"``, ``"markers"``, ``"none"``).

    Examples
    --------
    >>> events = [(60.0, "ipsa 5 ug/kg"), (240.0, "ipsa 5 ug/kg"), (420.0, "ipsa 10 ug/kg")]
    >>> schedule = build_schedule(events)
    >>> schedule.source, [i.cumulative_dose for i in schedule.injections]
    ('markers', [5.0, 10.0, 20.0])
    >>> build_schedule([(0.0, "Drug added")]).annotations[0].text
    'Drug added'
    """
    validate_type(labels_are_cumulative, bool, "labels_are_cumulative")
    events = _decoded_events(marker_events, marker_map)
    if isinstance(doses, str | Path):
        rows = _file_rows(Path(doses))
        return _table_schedule(rows, "table", str(doses), events, labels_are_cumulative)
    if doses is not None:
        rows = _object_rows(doses)
        return _table_schedule(rows, "table", OBJECT_TABLE_SOURCE, events, labels_are_cumulative)
    sidecar = None if recording_path is None else find_sidecar(Path(recording_path))
    if sidecar is not None:
        rows = _file_rows(sidecar)
        return _table_schedule(rows, "sidecar", str(sidecar), events, labels_are_cumulative)
    source = "recording" if recording_path is None else str(recording_path)
    return _marker_schedule(events, source, labels_are_cumulative)


def _decoded_events(
    marker_events: Sequence[tuple[float, str]], marker_map: Mapping[str, str] | None
) -> list[tuple[float, str]]:
    mapping = checked_marker_map(marker_map)
    events = []
    for event in marker_events:
        if not (isinstance(event, Sequence) and len(event) == 2 and isinstance(event[1], str)):
            raise BadParameterError(f"marker events must be (time_s, label) pairs, got {event!r}")
        time_s = float(validate_type(event[0], (int, float), "marker time"))
        if not math.isfinite(time_s):
            raise BadParameterError(f"marker {event[1]!r} has a non-finite time {time_s}")
        events.append((time_s, decode_marker(str(event[1]), mapping)))
    return sorted(events, key=lambda event: event[0])


def _table_schedule(
    rows: list[_Dose],
    kind: str,
    source: str,
    events: list[tuple[float, str]],
    labels_are_cumulative: bool,
) -> Schedule:
    reason = f"marker only: doses come from the {kind} {source}"
    annotations = [Annotation(time_s, text, reason) for time_s, text in events]
    warnings = []
    n_dose_like = sum(parse_label(text) is not None for _, text in events)
    if n_dose_like:
        warnings.append(
            f"{n_dose_like} marker label(s) look like injections but doses come from the "
            f"{kind} {source}; they are kept as annotations"
        )
    if labels_are_cumulative:
        warnings.append(
            f"labels_are_cumulative ignored: the dose column of {source} is the amount given"
        )
    return Schedule(_accumulate(rows, False, kind, source), annotations, warnings, kind)


def _marker_schedule(
    events: list[tuple[float, str]], source: str, labels_are_cumulative: bool
) -> Schedule:
    items = [_marker_item(time_s, text) for time_s, text in events]
    rows = [item for item in items if isinstance(item, _Dose)]
    annotations = [item for item in items if isinstance(item, Annotation)]
    _check_schedule(rows, source)
    _check_no_dose_left_out(annotations, rows, source)
    injections = _accumulate(rows, labels_are_cumulative, "markers", source)
    warnings = [
        f"marker {note.text!r} at {note.time_s} s kept as an annotation: {note.reason}"
        for note in annotations
    ]
    return Schedule(injections, annotations, warnings, "markers" if injections else "none")


def _marker_item(time_s: float, text: str) -> _Dose | Annotation:
    """An injection dose for a valid label, else an annotation saying why not."""
    parsed = parse_label(text)
    if parsed is None:
        return Annotation(time_s, text, _not_an_injection_reason(text))
    problem = _injection_problem(parsed.drug, parsed.amount, parsed.unit)
    if problem is not None:
        return Annotation(time_s, text, problem)
    where = f"marker {text!r} at {time_s} s"
    return _Dose(time_s, parsed.drug, parsed.amount, parsed.unit, text, where)


def _not_an_injection_reason(text: str) -> str:
    if not text.strip():
        return "empty marker label"
    unit = unknown_dose_unit(text)
    if unit is not None:
        return f"unknown dose unit {unit!r} (known: {', '.join(KNOWN_UNITS)})"
    return NOT_AN_INJECTION


def _check_no_dose_left_out(annotations: list[Annotation], rows: list[_Dose], source: str) -> None:
    """Refuse a dose-like marker that was not read when its drug has injections.

    Leaving it out would make every later cumulative total of that drug wrong
    while looking right, so the schedule is refused instead of warned about.
    """
    injected = {row.drug for row in rows}
    for note in annotations:
        drug = dose_like_drug(note.text)
        if drug in injected:
            raise BadDoseTableError(
                f"marker {note.text!r} at {note.time_s} s looks like a dose of {drug} but is not "
                f"one ({note.reason}), so the later {drug} totals would be wrong; correct the "
                "label (marker_map can map this exact text to a label) or give a dose table",
                source,
            )


def _injection_problem(drug: str, amount: float, unit: str) -> str | None:
    """Why one normalised dose cannot be an injection, or None when it can."""
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


def _check_schedule(rows: list[_Dose], source: str) -> None:
    """Checks across rows: one injection per time, one unit system per drug."""
    ordered = sorted(rows, key=lambda row: row.time_s)
    for earlier, later in pairwise(ordered):
        if earlier.time_s == later.time_s:
            raise BadDoseTableError(
                f"two injections at t = {later.time_s} s ({earlier.where} and {later.where})",
                source,
            )
    first_by_drug: dict[str, _Dose] = {}
    for row in ordered:
        first = first_by_drug.setdefault(row.drug, row)
        if unit_system(first.unit) != unit_system(row.unit):
            raise BadDoseTableError(
                f"{row.drug} is given in {first.unit} ({first.where}) and in {row.unit} "
                f"({row.where}); use one unit system per drug",
                source,
            )


def _accumulate(
    rows: list[_Dose], labels_are_cumulative: bool, kind: str, source: str
) -> list[Injection]:
    """Doses and running totals per drug, in decimal so 0.1 + 0.2 stays 0.3."""
    totals: dict[str, Decimal] = {}
    injections = []
    for row in sorted(rows, key=lambda row: row.time_s):
        value = Decimal(repr(row.amount))
        previous = totals.get(row.drug, Decimal(0))
        if unit_system(row.unit) == CONCENTRATION:
            dose, total = value, value  # a bath concentration, not an amount: never summed
        elif labels_are_cumulative and row.unit == "ug/kg":
            if value <= previous:
                raise BadDoseTableError(
                    f"{row.where}: cumulative {row.drug} total {value} ug/kg does not rise "
                    f"above the previous total {previous} ug/kg",
                    source,
                )
            dose, total = value - previous, value
        else:
            dose, total = value, previous + value
        totals[row.drug] = total
        injections.append(
            Injection(row.time_s, row.drug, float(dose), row.unit, float(total), row.label, kind)
        )
    return injections


def _file_rows(path: Path) -> list[_Dose]:
    return _validated_rows(_read_text_table(path), str(path))


def _object_rows(obj: Any, source: str = OBJECT_TABLE_SOURCE) -> list[_Dose]:
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


def _validated_rows(frame: pd.DataFrame, source: str) -> list[_Dose]:
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
    _check_schedule(rows, source)
    return sorted(rows, key=lambda row: row.time_s)


def _table_row(record: tuple[Any, ...], where: str, source: str) -> _Dose:
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
    problem = _injection_problem(drug, amount, unit)
    if problem is not None:
        raise BadDoseTableError(f"{where}: {problem}", source)
    label = format_label(ParsedLabel(drug, amount, unit, None))
    return _Dose(time_s, drug, amount, unit, label, where)


def _number(cell: Any, column: str, where: str, source: str) -> float:
    try:
        if isinstance(cell, bool):
            raise TypeError(column)
        number = float(cell.strip() if isinstance(cell, str) else cell)
    except (TypeError, ValueError) as error:
        raise BadDoseTableError(f"{where}: {column} {cell!r} is not a number", source) from error
    if not math.isfinite(number):
        raise BadDoseTableError(f"{where}: {column} is {cell!r}, need a finite number", source)
    return number


def _rows_to_frame(rows: list[_Dose]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [(row.time_s, row.drug, row.amount, row.unit) for row in rows],
        columns=list(DOSE_TABLE_COLUMNS),
    )
    return frame.astype({"time_s": float, "dose": float, "drug": str, "unit": str})
