"""Experimental metadata, and the units, points and pairs that group comparisons use.

An optional table with one row per recording and free columns, e.g.
``recording, animal, group, treatment, days``. ``recording`` must match the
recording names of the output tables (the file stem) and be unique.
:func:`join_metadata` adds its columns to any table with a ``recording``
column; :func:`group_units` picks the units that group comparisons use,
:func:`group_dose_points` their dose-response points and :func:`group_pairs`
the pairs of groups compared. A
recording without an ``animal`` (no column, or an empty cell) is its own
animal.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rapheunit.core.errors import BadParameterError, UnreadableFileError, validate_type
from rapheunit.doseresponse.fits import (
    BASELINE_PCT,
    NON_DOSE_RESPONSE_ROLES,
    UNIT_KEY,
    dose_responses,
)
from rapheunit.measures.classify import PUTATIVE_5HT

RECORDING = "recording"
ANIMAL = "animal"
MAX_INHIBITION = "max_inhibition_pct"
TAB_SEPARATED_SUFFIXES = (".tsv", ".tab")


def read_metadata(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Read and validate a metadata table (CSV, or TSV for ``.tsv``/``.tab``).

    Parameters
    ----------
    source : path or pandas.DataFrame
        A file, or a table given in Python.

    Returns
    -------
    pandas.DataFrame
        A copy with stripped column names and ``recording`` (and ``animal``)
        as text.

    Raises
    ------
    UnreadableFileError
        The file cannot be read as a table.
    BadParameterError
        No ``recording`` column, an empty or a repeated recording name.

    Examples
    --------
    >>> table = read_metadata(pd.DataFrame({"recording": ["r1", "r2"], "group": ["A", "B"]}))
    >>> table["group"].tolist()
    ['A', 'B']
    >>> read_metadata(pd.DataFrame({"recording": ["r1", "r1"]}))
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: recording 'r1' appears 2 times in the metadata
    """
    if isinstance(source, pd.DataFrame):
        return _validated(source.copy(), None)
    validate_type(source, (str, Path), "metadata")
    path = Path(source)
    separator = "\t" if path.suffix.lower() in TAB_SEPARATED_SUFFIXES else ","
    try:
        header = pd.read_csv(path, sep=separator, nrows=0).columns
        # names stay text ("001" is not 1) whatever spaces surround the column name
        text = {column: str for column in header if str(column).strip() in (RECORDING, ANIMAL)}
        table = pd.read_csv(path, sep=separator, dtype=text)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        reason = " ".join(str(error).split())
        raise UnreadableFileError(f"metadata is not a readable table ({reason})", path) from error
    return _validated(table, path)


def _validated(table: pd.DataFrame, path: Path | None) -> pd.DataFrame:
    table.columns = [str(column).strip() for column in table.columns]
    if RECORDING not in table.columns:
        found = ", ".join(table.columns) or "none"
        raise BadParameterError(f"metadata needs a 'recording' column (found: {found})", path)
    if table.empty:
        raise BadParameterError("metadata has no rows", path)
    names = table[RECORDING].astype("string").str.strip()
    empty = names.isna() | (names == "")
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0]) + 1
        raise BadParameterError(f"metadata row {row} has no recording name", path)
    counts = names.value_counts(sort=False)
    repeated = counts[counts > 1]
    if len(repeated):
        name, count = repeated.index[0], int(repeated.iloc[0])
        raise BadParameterError(f"recording {name!r} appears {count} times in the metadata", path)
    table[RECORDING] = names.astype(object)
    if ANIMAL in table.columns:
        animals = table[ANIMAL].astype("string").str.strip()
        table[ANIMAL] = animals.where(animals != "").astype(object)
    return table


def join_metadata(table: pd.DataFrame, metadata: pd.DataFrame | str | Path) -> pd.DataFrame:
    """``table`` with the metadata columns of its recording added (left join on ``recording``).

    Rows of recordings not in the metadata get missing values. A metadata
    column that the table already has is an error rather than a silent rename.

    Examples
    --------
    >>> units = pd.DataFrame({"recording": ["r1", "r1", "r2"], "unit": ["a", "b", "a"]})
    >>> meta = pd.DataFrame({"recording": ["r1"], "group": ["SSRI"]})
    >>> join_metadata(units, meta)["group"].tolist()
    ['SSRI', 'SSRI', nan]
    """
    validate_type(table, pd.DataFrame, "table")
    metadata = read_metadata(metadata)
    if RECORDING not in table.columns:
        raise BadParameterError("table has no 'recording' column to join metadata on")
    overlap = [c for c in metadata.columns if c != RECORDING and c in table.columns]
    if overlap:
        raise BadParameterError(
            f"metadata column(s) {', '.join(overlap)} already in the table; rename them"
        )
    keyed = table.assign(**{RECORDING: table[RECORDING].astype(str).astype(object)})
    return keyed.merge(metadata, on=RECORDING, how="left", validate="many_to_one")


def group_units(
    units: pd.DataFrame,
    metadata: pd.DataFrame | str | Path,
    group_by: str = "group",
    cell_class: str | None = PUTATIVE_5HT,
) -> pd.DataFrame:
    """The units to compare, with their group (as text) and ``animal``.

    Metadata columns already in ``units`` (joined earlier) are replaced by
    those of ``metadata``. Units whose recording has no group are dropped.

    Examples
    --------
    >>> units = pd.DataFrame({"recording": ["r1", "r2", "r3"], "unit": "a",
    ...     "classification": ["putative_5ht", "putative_5ht", "non_5ht"]})
    >>> meta = pd.DataFrame({"recording": ["r1", "r2", "r3"], "group": ["A", "B", "B"]})
    >>> group_units(units, meta)[["recording", "group", "animal"]].to_numpy().tolist()
    [['r1', 'A', 'r1'], ['r2', 'B', 'r2']]
    """
    validate_type(units, pd.DataFrame, "units")
    validate_type(group_by, str, "group_by")
    metadata = read_metadata(metadata)
    if group_by not in metadata.columns or group_by == RECORDING:
        raise BadParameterError(f"group_by {group_by!r} is not a metadata column")
    selected = units
    if cell_class is not None and "classification" in units.columns:
        selected = units[units["classification"] == cell_class]
    earlier = [c for c in metadata.columns if c != RECORDING and c in selected.columns]
    joined = join_metadata(selected.drop(columns=earlier), metadata)
    recordings = joined[RECORDING]
    animals = joined[ANIMAL] if ANIMAL in joined.columns else recordings
    joined[ANIMAL] = animals.where(animals.notna(), recordings).astype(str)
    joined = joined[joined[group_by].notna()].reset_index(drop=True)
    joined[group_by] = [_group_label(value) for value in joined[group_by]]
    return joined


def _group_label(value: object) -> str:
    """Text label of a group value; 14.0 read from a column with gaps becomes '14'."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return f"{value:g}"
    return str(value)


def group_dose_points(
    doses: pd.DataFrame, grouped_units: pd.DataFrame, group_by: str
) -> pd.DataFrame:
    """Dose-response points of the grouped units, with ``max_inhibition_pct`` per unit and drug.

    Points are the rows of dose-response drugs (not antagonists or vehicles)
    with a positive cumulative dose and a finite % of baseline.

    Examples
    --------
    >>> doses = pd.DataFrame({"recording": "r1", "unit": "a", "drug": "ipsapirone",
    ...     "dose_unit": "ug/kg", "cumulative_dose": [10.0, 20.0], "injection_time_s": [0.0, 60],
    ...     "rate_hz": 1.0, "pct_baseline": [70.0, 30.0]})
    >>> units = pd.DataFrame({"recording": ["r1"], "unit": ["a"], "group": ["A"], "animal": "r1"})
    >>> group_dose_points(doses, units, "group")["max_inhibition_pct"].tolist()
    [70.0, 70.0]
    """
    table = dose_responses(doses)
    pct = table["pct_baseline"].to_numpy(dtype=np.float64)
    dose = table["cumulative_dose"].to_numpy(dtype=np.float64)
    usable = ~table["role"].isin(NON_DOSE_RESPONSE_ROLES) & np.isfinite(pct) & (dose > 0)
    labels = grouped_units[[*UNIT_KEY, group_by, ANIMAL]].drop_duplicates(subset=list(UNIT_KEY))
    points = table[usable].merge(labels, on=list(UNIT_KEY), how="inner")
    lowest = points.groupby([*UNIT_KEY, "drug"])["pct_baseline"].transform("min")
    points[MAX_INHIBITION] = BASELINE_PCT - lowest
    return points


def group_pairs(labels: Sequence[str], reference: str | None = None) -> list[tuple[str, str]]:
    """(group_a, group_b) pairs: every sorted pair, or each group against ``reference``.

    Examples
    --------
    >>> group_pairs(["vehicle", "SSRI", "vehicle", "ipsapirone"], reference="vehicle")
    [('vehicle', 'SSRI'), ('vehicle', 'ipsapirone')]
    >>> group_pairs(["B", "A"])
    [('A', 'B')]
    """
    groups = sorted(set(labels))
    if reference is None:
        return list(itertools.combinations(groups, 2))
    if reference not in groups:
        raise BadParameterError(f"reference group {reference!r} is not among {groups}")
    return [(reference, group) for group in groups if group != reference]
