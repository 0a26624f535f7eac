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

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from rapheunit.core.errors import (
    BadDoseTableError,
    BadParameterError,
    RapheUnitError,
    validate_type,
)
from rapheunit.core.markers import (
    CONCENTRATION,
    DRUGS,
    KNOWN_UNITS,
    canonical_drug,
    checked_marker_map,
    decode_marker,
    dose_like_drug,
    names_a_drug,
    parse_label,
    unit_system,
    unknown_dose_unit,
)
from rapheunit.core.model import Annotation, Injection
from rapheunit.io.dose_table import DOSE_TABLE_COLUMNS as DOSE_TABLE_COLUMNS
from rapheunit.io.dose_table import OBJECT_TABLE_SOURCE as OBJECT_TABLE_SOURCE
from rapheunit.io.dose_table import TABLE_DELIMITERS as TABLE_DELIMITERS
from rapheunit.io.dose_table import (
    Dose,
    check_dose_rows,
    dose_rows_from_file,
    dose_rows_from_object,
    injection_problem,
)
from rapheunit.io.dose_table import coerce_dose_table as coerce_dose_table
from rapheunit.io.dose_table import read_dose_table as read_dose_table

SCHEDULE_SOURCES = ("table", "sidecar", "markers", "none")
SIDECAR_SUFFIX = ".doses.csv"
FOLDER_SIDECAR_NAME = "doses.csv"
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
        rows = dose_rows_from_file(Path(doses))
        return _table_schedule(rows, "table", str(doses), events, labels_are_cumulative)
    if doses is not None:
        rows = dose_rows_from_object(doses)
        return _table_schedule(rows, "table", OBJECT_TABLE_SOURCE, events, labels_are_cumulative)
    sidecar = None if recording_path is None else find_sidecar(Path(recording_path))
    if sidecar is not None:
        rows = dose_rows_from_file(sidecar)
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
    rows: list[Dose],
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
    injections = _accumulate(rows, False, kind, source)
    return Schedule(injections, annotations, warnings + _unknown_drug_warnings(injections), kind)


def _unknown_drug_warnings(injections: list[Injection]) -> list[str]:
    """A drug the drug table does not know is analysed, and said to be, as role "other"."""
    unknown = dict.fromkeys(i.drug for i in injections if canonical_drug(i.drug) not in DRUGS)
    return [
        f"drug {drug!r} is not in the drug table: analysed with role 'other' (not a 5-HT1A "
        "agonist or antagonist)"
        for drug in unknown
    ]


def _marker_schedule(
    events: list[tuple[float, str]], source: str, labels_are_cumulative: bool
) -> Schedule:
    items = [_marker_item(time_s, text) for time_s, text in events]
    rows = [item for item in items if isinstance(item, Dose)]
    annotations = [item for item in items if isinstance(item, Annotation)]
    check_dose_rows(rows, source)
    _check_no_dose_left_out(annotations, rows, source)
    injections = _accumulate(rows, labels_are_cumulative, "markers", source)
    typo = next((note for note in annotations if note.reason.startswith("unknown drug")), None)
    if typo is not None:
        raise BadDoseTableError(
            f"marker {typo.text!r} at {typo.time_s} s: {typo.reason}; correct it with a "
            "--marker-map or give the doses in a dose table",
            source,
        )
    warnings = [
        f"marker {note.text!r} at {note.time_s} s kept as an annotation: {note.reason}"
        for note in annotations
    ]
    warnings += _unknown_drug_warnings(injections)
    if not injections:
        warnings += _drug_without_dose_warnings(annotations)
    return Schedule(injections, annotations, warnings, "markers" if injections else "none")


def _drug_without_dose_warnings(annotations: list[Annotation]) -> list[str]:
    """A marker speaks of a drug but no dose was read: say that everything became baseline."""
    named = [note for note in annotations if names_a_drug(note.text)]
    if not named:
        return []
    first = named[0]
    return [
        f"marker {first.text!r} at {first.time_s} s says a drug was given, but no dose was "
        "read: the whole recording is treated as baseline (give the doses in a "
        "<stem>.doses.csv table, --doses or a --marker-map)"
    ]


def _marker_item(time_s: float, text: str) -> Dose | Annotation:
    """An injection dose for a valid label, else an annotation saying why not."""
    parsed = parse_label(text)
    if parsed is None:
        return Annotation(time_s, text, _not_an_injection_reason(text))
    problem = injection_problem(parsed.drug, parsed.amount, parsed.unit)
    if problem is not None:
        return Annotation(time_s, text, problem)
    where = f"marker {text!r} at {time_s} s"
    return Dose(time_s, parsed.drug, parsed.amount, parsed.unit, text, where)


def _not_an_injection_reason(text: str) -> str:
    if not text.strip():
        return "empty marker label"
    if re.search(r"\b\d+,\d{1,3}\s*(?:[gmunµμ]g|[gmunµμ]?[lM]\b)", text):
        return "decimal comma in the amount: write it with a decimal point (0.32, not 0,32)"
    unit = unknown_dose_unit(text)
    if unit is not None:
        return f"unknown dose unit {unit!r} (known: {', '.join(KNOWN_UNITS)})"
    return NOT_AN_INJECTION


def _check_no_dose_left_out(annotations: list[Annotation], rows: list[Dose], source: str) -> None:
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


def _accumulate(
    rows: list[Dose], labels_are_cumulative: bool, kind: str, source: str
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


def read_marker_map(path: str | Path) -> dict[str, str]:
    """Read a TOML marker map (marker code -> label) and check it.

    Examples
    --------
    >>> import tempfile
    >>> file = Path(tempfile.mkdtemp()) / "keys.toml"
    >>> _ = file.write_text('1 = "ipsapirone 5 ug/kg"')
    >>> read_marker_map(file)
    {'1': 'ipsapirone 5 ug/kg'}
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise RapheUnitError(f"marker map is not a readable TOML file: {error}", path) from error
    try:
        return checked_marker_map(data)
    except RapheUnitError as error:
        raise BadDoseTableError(error.reason, path) from error
