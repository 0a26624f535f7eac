"""The type of every output column whose type pandas can lose.

A column of integers or booleans becomes float or object as soon as one row
of the batch lacks it (a unit without a fit, a failed recording): ``n_doses``
would be written ``3.0`` and a flag ``0.0``, and the same unit's row would
read differently alone and in a mixed batch. The types are taken from where
the columns are declared (the :class:`~rapheunit.doseresponse.hill.HillFit`
fields) or named here once, and applied to every table before it is written;
a missing value stays empty.
"""

from __future__ import annotations

import typing
from dataclasses import fields

import pandas as pd

from rapheunit.doseresponse.hill import HillFit

_NULLABLE = {int: "Int64", bool: "boolean", "int": "Int64", "bool": "boolean"}


def _declared(cls: type) -> dict[str, str]:
    hints = typing.get_type_hints(cls)
    return {f.name: _NULLABLE[hints[f.name]] for f in fields(cls) if hints[f.name] in _NULLABLE}


# Integer and boolean columns of the output tables (besides the Hill fit's own).
COLUMN_TYPES: dict[str, str] = {
    **_declared(HillFit),
    "n_units": "Int64",
    "n_injections": "Int64",
    "n_spikes": "Int64",
    "baseline_n_spikes": "Int64",
    "baseline_short": "boolean",
    "baseline_trend_significant": "boolean",
    "possible_unit_loss": "boolean",
    "silent_to_end_no_antagonist": "boolean",
    "in_population": "boolean",
}


def typed(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every column of :data:`COLUMN_TYPES` in its declared (nullable) type.

    Examples
    --------
    >>> table = pd.DataFrame({"n_doses": [3.0, None], "bottom_fixed": [True, None]})
    >>> print(typed(table).to_csv(index=False).strip())
    n_doses,bottom_fixed
    3,True
    ,
    """
    columns = {c: t for c, t in COLUMN_TYPES.items() if c in table.columns}
    return table.astype(columns) if columns else table
