"""The population query checked against the columns of ``units.csv`` before any file is read.

A misspelled column or a syntax error in ``--select`` would otherwise fail
only after the whole analysis; the columns a query may name are known from
the tables' declarations (and the metadata table's header).
"""

from __future__ import annotations

import pandas as pd

from rapheunit.core.errors import BadParameterError
from rapheunit.doseresponse.fits import HILL_FIT_COLUMNS, OUTPUT_COLUMNS
from rapheunit.doseresponse.selection import EXCLUSION_COLUMN, IN_POPULATION_COLUMN
from rapheunit.measures.analysis import DETECTION_COLUMNS, UNIT_COLUMNS
from rapheunit.measures.classify import ROW_COLUMNS
from rapheunit.measures.qc import QC_COLUMNS, TABLE_COLUMNS

# Columns of the per-unit dose-response table beyond the Hill fit's own.
FIT_TABLE_COLUMNS = ("pct_at_max_dose", "reversal_pct_baseline", "reversal_pct")


def unit_columns(metadata: pd.DataFrame | None = None) -> list[str]:
    """Every column ``units.csv`` can have (with ``metadata`` joined when given).

    Examples
    --------
    >>> {"classification", "qc_status", "ed50", "fit_status"} <= set(unit_columns())
    True
    """
    columns = [
        *UNIT_COLUMNS,
        *DETECTION_COLUMNS.values(),
        *ROW_COLUMNS,
        *TABLE_COLUMNS,
        *QC_COLUMNS,
        *OUTPUT_COLUMNS,
        *HILL_FIT_COLUMNS,
        *FIT_TABLE_COLUMNS,
        EXCLUSION_COLUMN,
        IN_POPULATION_COLUMN,
        *([] if metadata is None else metadata.columns),
    ]
    return list(dict.fromkeys(map(str, columns)))


def check_select(query: str, metadata: pd.DataFrame | None = None) -> None:
    """Raise a one-line error when ``query`` is not a valid query on ``units.csv``.

    Examples
    --------
    >>> check_select("classification == 'putative_5ht' and qc_status != 'fail'")
    >>> check_select("clasification == 'putative_5ht'")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: --select ...: 'clasification' is not a column ...
    """
    empty = pd.DataFrame(columns=unit_columns(metadata))
    try:
        empty.query(query)
    except pd.errors.UndefinedVariableError as error:
        name = str(error).split("'")[1] if "'" in str(error) else str(error)
        raise BadParameterError(
            f"--select {query!r}: {name!r} is not a column of units.csv "
            f"(see docs/outputs.md for the columns)"
        ) from None
    except Exception as error:  # pandas raises many types for a malformed expression
        message = " ".join(str(error).split())
        raise BadParameterError(f"--select {query!r} is not a valid query: {message}") from None
