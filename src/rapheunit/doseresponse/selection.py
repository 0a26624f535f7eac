"""Which units enter the population: a query on the unit table, then the exclusion rules.

The query (``--select``, by default the putative 5-HT units) says which cells
the population is about. The exclusion rules then drop cells whose numbers
cannot be trusted, whatever the query: a unit lost during the recording
reads as complete inhibition and would pull the population towards the drug
(one unit silent from 40 ug/kg onward moves a four-unit mean at 40 ug/kg from
62.5 % to 41.7 % of baseline). ``--exclude RULE`` (repeatable) replaces the
default list of rules; ``--exclude none`` keeps every unit the query picked.
Each rule's count of excluded units goes to ``summary.csv``, and each unit's
reasons to ``units.csv`` (``population_exclusion``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rapheunit.core.errors import BadParameterError, validate_type
from rapheunit.doseresponse.fits import UNIT_KEY, dose_responses

# Rule name -> query on units.csv columns naming the units it excludes. A unit
# matching a rule on any of its rows (one per drug) is excluded as a whole.
EXCLUSION_RULES = {
    # the fit found the unit silent at the top dose and after the antagonist
    "unit_lost": "fit_status == 'unit_lost'",
    # QC: a final silence that the agonist does not explain
    "possible_unit_loss": "possible_unit_loss == True",
    # QC verdict fail (refractory violations, unstable baseline, unit loss, ...)
    "qc_fail": "qc_status == 'fail'",
}
# Every rule by default: a lost unit reads as complete inhibition, and a QC fail
# means its numbers are not to be trusted (rapheunit.measures.qc).
DEFAULT_EXCLUSIONS = tuple(EXCLUSION_RULES)
# Given alone to --exclude, keeps every unit the query picked.
NO_EXCLUSION = "none"
# What --exclude accepts.
EXCLUSION_CHOICES = (*EXCLUSION_RULES, NO_EXCLUSION)
# Doses are grouped after rounding to this many significant digits, so that
# cumulative totals summed in a different order still meet.
DOSE_SIGNIFICANT_DIGITS = 10
EXCLUSION_COLUMN = "population_exclusion"
IN_POPULATION_COLUMN = "in_population"


def parse_exclusions(names: Sequence[str] | str) -> tuple[str, ...]:
    """``--exclude`` texts as rule names (``none`` gives no rule); unknown names are refused.

    Examples
    --------
    >>> parse_exclusions(["qc_fail"]), parse_exclusions(["none"]), parse_exclusions("unit_lost")
    (('qc_fail',), (), ('unit_lost',))
    """
    given = (names,) if isinstance(names, str) else tuple(names)
    rules = tuple(name for name in given if name != NO_EXCLUSION)
    unknown = [name for name in rules if name not in EXCLUSION_RULES]
    if unknown:
        known = ", ".join(EXCLUSION_CHOICES)
        raise BadParameterError(f"unknown exclusion rule {unknown[0]!r}; choose from {known}")
    return rules


def select_units(units_df: pd.DataFrame, query: str | None = None) -> pd.DataFrame:
    """Rows of a unit table selected by a pandas query on any of its columns.

    Parameters
    ----------
    units_df : pandas.DataFrame
        One row per unit (e.g. the classification table).
    query : str, optional
        A :meth:`pandas.DataFrame.query` expression; None keeps every row.

    Returns
    -------
    pandas.DataFrame
        The selected rows (a copy).

    Examples
    --------
    >>> units = pd.DataFrame({"recording": "r", "unit": ["a", "b"], "is_5ht": [True, False]})
    >>> select_units(units, "is_5ht")["unit"].tolist()
    ['a']
    """
    validate_type(units_df, pd.DataFrame, "units_df")
    if query is None:
        return units_df.copy()
    validate_type(query, str, "query")
    try:
        return units_df.query(query).copy()
    except Exception as error:  # pandas raises many types for a bad expression
        raise BadParameterError(f"unit query {query!r} failed: {error}") from error


@dataclass(frozen=True)
class PopulationSelection:
    """The units a query picked, each with the exclusion rules it met.

    Attributes
    ----------
    picked : pandas.DataFrame
        The rows of the unit table the query selected, with
        ``population_exclusion`` (the rules the unit met, joined by ";";
        empty for a unit in the population).
    rules : tuple of str
        The exclusion rules applied.
    """

    picked: pd.DataFrame
    rules: tuple[str, ...]

    @property
    def included(self) -> pd.DataFrame:
        """Rows of the units in the population."""
        return self.picked[self.picked[EXCLUSION_COLUMN] == ""]

    def counts(self, group_col: str | None = None) -> pd.DataFrame:
        """Units picked and excluded per group (one row; ``group="all"`` without groups).

        Columns: the group column, ``n_selected`` (units the query picked),
        ``n_excluded`` (by any rule) and ``n_excluded_<rule>`` for every rule
        of :data:`EXCLUSION_RULES` (0 for a rule not applied). A unit meeting
        two rules counts under both.

        Examples
        --------
        >>> units = pd.DataFrame({"recording": "r", "unit": ["a", "b", "c"],
        ...     "fit_status": ["ok", "unit_lost", "ok"], "qc_status": ["pass", "fail", "fail"],
        ...     "possible_unit_loss": False})
        >>> row = select_population(units).counts().iloc[0]
        >>> int(row["n_selected"]), int(row["n_excluded"]), int(row["n_excluded_qc_fail"])
        (3, 2, 2)
        """
        group_name = group_col or "group"
        picked = self.picked if group_col is not None else self.picked.assign(group="all")
        per_unit = picked.drop_duplicates([*UNIT_KEY, group_name])
        reasons = per_unit[EXCLUSION_COLUMN].str.split(";")
        table = pd.DataFrame({group_name: per_unit[group_name], "n_selected": 1})
        table["n_excluded"] = (per_unit[EXCLUSION_COLUMN] != "").astype(int)
        for rule in EXCLUSION_RULES:
            table[f"n_excluded_{rule}"] = reasons.map(lambda met, rule=rule: rule in met)
        return table.groupby(group_name, sort=True, dropna=False).sum().astype(int).reset_index()


def select_population(
    units_df: pd.DataFrame,
    query: str | None = None,
    exclude: Sequence[str] = DEFAULT_EXCLUSIONS,
) -> PopulationSelection:
    """The units ``query`` picks, with the exclusion rules of ``exclude`` applied.

    Parameters
    ----------
    units_df : pandas.DataFrame
        ``units.csv``: one row per unit (and dose-response drug), with the
        columns the rules read (``fit_status``, ``possible_unit_loss``,
        ``qc_status``).
    query : str, optional
        Pandas query choosing the units (see :func:`select_units`).
    exclude : sequence of str
        Names of :data:`EXCLUSION_RULES`; empty keeps every picked unit.

    Returns
    -------
    PopulationSelection

    Examples
    --------
    >>> units = pd.DataFrame({"recording": "r", "unit": ["a", "b"], "fit_status": "ok",
    ...     "qc_status": ["pass", "fail"], "possible_unit_loss": [False, True]})
    >>> select_population(units).picked["population_exclusion"].tolist()
    ['', 'possible_unit_loss;qc_fail']
    >>> select_population(units, exclude=["qc_fail"]).included["unit"].tolist()
    ['a']
    """
    rules = parse_exclusions(exclude)
    picked = select_units(units_df, query)
    reasons = pd.Series("", index=picked.index, dtype=object)
    for rule in rules:
        reasons = reasons.where(~_unit_meets(picked, rule), reasons + ";" + rule)
    picked[EXCLUSION_COLUMN] = reasons.str.lstrip(";")
    return PopulationSelection(picked, rules)


def _unit_meets(picked: pd.DataFrame, rule: str) -> pd.Series:
    """True on every row of a unit that meets ``rule`` on any of its rows."""
    query = EXCLUSION_RULES[rule]
    try:
        matching = picked.query(query)
    except Exception as error:  # a missing column: the rule cannot be judged
        raise BadParameterError(
            f"exclusion rule {rule!r} ({query}) cannot be applied to the unit table: {error}; "
            "give --exclude without it"
        ) from error
    lost = matching[list(UNIT_KEY)].drop_duplicates()
    flagged = picked[list(UNIT_KEY)].merge(lost.assign(met=True), on=list(UNIT_KEY), how="left")
    return pd.Series(flagged["met"].fillna(False).to_numpy(dtype=bool), index=picked.index)


def mark_population(units_df: pd.DataFrame, selection: PopulationSelection) -> pd.DataFrame:
    """``units_df`` with ``in_population`` and ``population_exclusion`` per unit.

    ``population_exclusion`` holds the rules that excluded a unit the query
    picked; units the query did not pick are ``in_population == False`` with
    an empty reason.

    Examples
    --------
    >>> units = pd.DataFrame({"recording": "r", "unit": ["a", "b", "c"], "is_5ht": [1, 1, 0],
    ...     "fit_status": "ok", "qc_status": ["pass", "fail", "pass"], "possible_unit_loss": False})
    >>> marked = mark_population(units, select_population(units, "is_5ht == 1"))
    >>> marked[["in_population", "population_exclusion"]].to_numpy().tolist()
    [[True, ''], [False, 'qc_fail'], [False, '']]
    """
    reasons = selection.picked[[*UNIT_KEY, EXCLUSION_COLUMN]].drop_duplicates(list(UNIT_KEY))
    marked = units_df.drop(columns=[EXCLUSION_COLUMN, IN_POPULATION_COLUMN], errors="ignore")
    marked = marked.merge(reasons, on=list(UNIT_KEY), how="left")
    marked[IN_POPULATION_COLUMN] = (marked[EXCLUSION_COLUMN] == "").to_numpy(dtype=bool)
    marked[EXCLUSION_COLUMN] = marked[EXCLUSION_COLUMN].fillna("")
    return marked


def selected_doses(doses: pd.DataFrame, unit_ids: pd.DataFrame | None) -> pd.DataFrame:
    """Validated dose table restricted to ``unit_ids``, with rounded dose keys."""
    table = dose_responses(doses)
    table["cumulative_dose"] = _rounded(table["cumulative_dose"].to_numpy(dtype=np.float64))
    if unit_ids is None:
        return table
    validate_type(unit_ids, pd.DataFrame, "unit_ids")
    missing = [column for column in UNIT_KEY if column not in unit_ids.columns]
    if missing:
        raise BadParameterError(f"unit_ids lacks column(s) {', '.join(missing)}")
    wanted = unit_ids[list(UNIT_KEY)].drop_duplicates()
    return table.merge(wanted, on=list(UNIT_KEY), how="inner")


def _rounded(values: np.ndarray) -> np.ndarray:
    """Round to DOSE_SIGNIFICANT_DIGITS significant digits (zeros and NaN unchanged)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(values)))
    decimals = np.where(np.isfinite(magnitude), DOSE_SIGNIFICANT_DIGITS - 1 - magnitude, 0)
    scale = 10.0**decimals
    return np.round(values * scale) / scale
