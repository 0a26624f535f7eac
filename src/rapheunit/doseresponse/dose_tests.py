"""Tests of firing against baseline that keep their level with the 3-6 cells of a raphe study.

Each unit is its own control: its change from baseline at a dose
(``pct_baseline - 100``) is one number, and units are the independent
replicates. So every test here is a one-sample t test across units, with
``n_units - 1`` degrees of freedom, and assumes nothing about how the
within-unit noise or its variance changes with dose:

- **per dose** (``paired_t``): the mean change at the dose against 0 (the
  paired t test of firing at the dose against baseline, in % of baseline),
  Holm-corrected across the drug's doses (Holm 1979), which holds the
  family-wise rate whatever the correlation between doses;
- **omnibus** (``summary_measure_t``): each unit's mean change over the doses
  it received, against 0 (the summary-measure approach to serial
  measurements; Matthews, Altman, Campbell & Royston 1990, BMJ 300:230).
  Under the null hypothesis that no dose changes firing it is exact for
  normal units that share their doses, with any number of doses and of cells
  >= 2; units that miss doses make the unit means unequally variable, and
  the test approximate.

A mixed model's Wald tests with one residual variance across doses were
anticonservative here: with four units, null false-positive rates at 5 % of
0.11-0.20 (omnibus) and 0.10-0.18 (Holm family). The calibration test runs
null simulations through this module.

The functions work on arrays of shape ``(..., n_units, n_doses)`` with NaN
for a missing dose, so many data sets are tested in one call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rapheunit.core.distributions import t_sf
from rapheunit.doseresponse.fits import BASELINE_PCT, NON_DOSE_RESPONSE_ROLES, UNIT_KEY
from rapheunit.doseresponse.selection import selected_doses

OMNIBUS_TEST = "summary_measure_t"
POST_HOC_TEST = "paired_t"
# A t test needs two units for a standard deviation.
MIN_UNITS = 2
STATISTICS_COLUMNS = (
    "drug",
    "test",
    "term",
    "cumulative_dose",
    "estimate",
    "statistic",
    "df",
    "p",
    "p_holm",
    "n_units",
    "n_observations",
    "note",
)


@dataclass(frozen=True)
class OneSampleT:
    """One-sample t tests of a mean against 0 along the units axis.

    Attributes
    ----------
    estimate : numpy.ndarray
        The mean.
    statistic : numpy.ndarray
        ``mean / (sd / sqrt(n))``; +-inf when the units do not differ and
        the mean is not 0, NaN with fewer than :data:`MIN_UNITS` units.
    df : numpy.ndarray
        ``n - 1`` (NaN with fewer than two units).
    p : numpy.ndarray
        Two-sided p.
    n : numpy.ndarray
        Units with a finite value.
    """

    estimate: np.ndarray
    statistic: np.ndarray
    df: np.ndarray
    p: np.ndarray
    n: np.ndarray


def one_sample_t(values: np.ndarray, axis: int = -1) -> OneSampleT:
    """Two-sided one-sample t tests against 0 along ``axis``, ignoring NaN.

    Examples
    --------
    >>> result = one_sample_t(np.array([-20.0, -40.0, -30.0]))
    >>> float(result.estimate), float(result.df), round(float(result.p), 4)
    (-30.0, 2.0, 0.0351)
    """
    finite = np.isfinite(values)
    n = finite.sum(axis=axis)
    filled = np.where(finite, values, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = filled.sum(axis=axis) / n
        squares = np.where(finite, (values - np.expand_dims(mean, axis)) ** 2, 0.0)
        sd = np.sqrt(squares.sum(axis=axis) / (n - 1))
        statistic = mean / (sd / np.sqrt(n))
    statistic = np.where((sd == 0) & (mean == 0), 0.0, statistic)
    enough = n >= MIN_UNITS
    df = np.where(enough, n - 1.0, np.nan)
    statistic = np.where(enough, statistic, np.nan)
    p = np.where(enough, 2.0 * t_sf(np.abs(statistic), np.where(enough, df, 1.0)), np.nan)
    return OneSampleT(np.where(n > 0, mean, np.nan), statistic, df, p, n)


def holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p along the last axis; NaN entries are left out of the family.

    Examples
    --------
    >>> holm(np.array([0.01, 0.04, np.nan, 0.03])).round(3).tolist()
    [0.03, 0.06, nan, 0.06]
    """
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p, axis=-1)  # NaN sort last
    ordered = np.take_along_axis(p, order, axis=-1)
    family = np.isfinite(p).sum(axis=-1, keepdims=True)
    rank = np.arange(p.shape[-1])
    scaled = np.minimum(1.0, (family - rank) * ordered)
    adjusted_ordered = np.fmax.accumulate(scaled, axis=-1)
    adjusted_ordered[~np.isfinite(ordered)] = np.nan
    adjusted = np.empty_like(p)
    np.put_along_axis(adjusted, order, adjusted_ordered, axis=-1)
    return adjusted


@dataclass(frozen=True)
class DoseTests:
    """Per-dose tests with their Holm correction and the omnibus test of one or many data sets.

    Attributes
    ----------
    per_dose : OneSampleT
        Arrays of shape ``(..., n_doses)``: the change from baseline at each dose.
    p_holm : numpy.ndarray
        ``per_dose.p`` Holm-corrected across the doses of a data set.
    omnibus : OneSampleT
        Arrays of shape ``(...)``: the units' mean change over their doses.
    """

    per_dose: OneSampleT
    p_holm: np.ndarray
    omnibus: OneSampleT


def dose_tests(change: np.ndarray) -> DoseTests:
    """Test the change from baseline of units at doses, per dose and overall.

    Parameters
    ----------
    change : numpy.ndarray
        Shape ``(..., n_units, n_doses)``: each unit's ``pct_baseline - 100``
        at each dose, NaN where a unit lacks the dose (or a data set has
        fewer units or doses than the array holds).

    Returns
    -------
    DoseTests

    Examples
    --------
    >>> change = np.array([[-10.0, -50.0], [-20.0, -70.0], [0.0, -60.0]])
    >>> result = dose_tests(change)
    >>> result.per_dose.estimate.tolist(), result.omnibus.df.item(), result.omnibus.n.item()
    ([-10.0, -60.0], 2.0, 3)
    """
    change = np.asarray(change, dtype=np.float64)
    per_dose = one_sample_t(change, axis=-2)
    finite = np.isfinite(change)
    with np.errstate(invalid="ignore"):
        unit_means = np.where(finite, change, 0.0).sum(axis=-1) / finite.sum(axis=-1)
    return DoseTests(per_dose, holm(per_dose.p), one_sample_t(unit_means, axis=-1))


def dose_statistics(
    doses: pd.DataFrame, unit_ids: pd.DataFrame | None = None, *, by: Sequence[str] = ()
) -> pd.DataFrame:
    """Small-sample tests of firing against baseline, per dose-response drug.

    A unit with repeated windows at one dose counts once, with their mean.
    Rows per drug: the omnibus test (``test="summary_measure_t"``: a
    one-sample t of each unit's mean ``pct_baseline - 100`` over its doses,
    ``df = n_units - 1``), then one paired t test per dose
    (``test="paired_t"``: a one-sample t of the units' ``pct_baseline - 100``
    at that dose, ``df = n_units - 1``) with the Holm-corrected ``p_holm``
    across the drug's doses. ``estimate`` is the mean change from baseline
    in % points. Fewer than two units give NaN and a ``note``. With ``by`` (columns of
    ``doses``, never empty), every group of those columns is tested on its own, as if
    alone, and the columns lead the rows.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> table = pd.DataFrame({"recording": "r", "unit": np.repeat(list("abcdef"), 3),
    ...     "drug": "ipsapirone", "dose_unit": "ug/kg",
    ...     "cumulative_dose": np.tile([10.0, 20.0, 40.0], 6), "injection_time_s": 0.0,
    ...     "rate_hz": 1.0, "pct_baseline": np.tile([90.0, 60.0, 20.0], 6) + rng.normal(0, 5, 18)})
    >>> result = dose_statistics(table)
    >>> result["test"].tolist()[:2], result["df"].tolist()[:2], bool(result["p"].iloc[0] < 0.001)
    (['summary_measure_t', 'paired_t'], [5.0, 5.0], True)
    """
    table = selected_doses(doses, unit_ids)
    responses = table[
        ~table["role"].isin(NON_DOSE_RESPONSE_ROLES)
        & np.isfinite(table["pct_baseline"].to_numpy(dtype=np.float64))
    ]
    keys = [*by, "drug"]
    if responses.empty:
        return pd.DataFrame(columns=[*by, *STATISTICS_COLUMNS])
    per_unit = (
        responses.groupby([*keys, "cumulative_dose", *UNIT_KEY], sort=True)["pct_baseline"]
        .mean()
        .reset_index()
    )
    drug_code = per_unit.groupby(keys, sort=True).ngroup().to_numpy()
    drugs = per_unit.drop_duplicates(keys)[keys].reset_index(drop=True)
    unit_in_drug = _code_in_drug(per_unit, [*keys, *UNIT_KEY], drug_code)
    dose_in_drug = _code_in_drug(per_unit, [*keys, "cumulative_dose"], drug_code)
    change = np.full((len(drugs), unit_in_drug.max() + 1, dose_in_drug.max() + 1), np.nan)
    change[drug_code, unit_in_drug, dose_in_drug] = per_unit["pct_baseline"] - BASELINE_PCT
    blocks = drugs.groupby(list(by), sort=False).indices.values() if by else [None]
    tests = _blockwise(change, blocks)
    omnibus = drugs.assign(
        **{
            "test": OMNIBUS_TEST,
            "term": "mean change over the doses",
            "estimate": tests.omnibus.estimate,
            "statistic": tests.omnibus.statistic,
            "df": tests.omnibus.df,
            "p": tests.omnibus.p,
            "n_units": tests.omnibus.n,
            "n_observations": np.bincount(drug_code, minlength=len(drugs)),
            "note": np.where(tests.omnibus.n < 2, "too few units", ""),
        }
    )
    levels = per_unit.drop_duplicates([*keys, "cumulative_dose"])
    at = (drug_code[levels.index], dose_in_drug[levels.index])
    n_at_dose = tests.per_dose.n[at]
    dose_unit = responses.groupby("drug")["dose_unit"].first()
    post_hoc = levels[keys].reset_index(drop=True).assign(
        **{
            "test": POST_HOC_TEST,
            "term": [
                f"{dose:g} {dose_unit[drug]} vs baseline"
                for drug, dose in zip(levels["drug"], levels["cumulative_dose"], strict=True)
            ],
            "cumulative_dose": levels["cumulative_dose"].to_numpy(),
            "estimate": tests.per_dose.estimate[at],
            "statistic": tests.per_dose.statistic[at],
            "df": tests.per_dose.df[at],
            "p": tests.per_dose.p[at],
            "p_holm": tests.p_holm[at],
            "n_units": n_at_dose,
            "n_observations": n_at_dose,
            "note": _post_hoc_notes(n_at_dose, tests.per_dose.statistic[at]),
        }
    )
    result = pd.concat([omnibus, post_hoc], ignore_index=True)
    result = result.sort_values([*keys, "cumulative_dose"], na_position="first", kind="stable")
    return result.reset_index(drop=True).reindex(columns=[*by, *STATISTICS_COLUMNS])


def _blockwise(change: np.ndarray, blocks: Iterable[np.ndarray | None]) -> DoseTests:
    """:func:`dose_tests` of each block of rows (None: all), cut to its own units and doses.

    A group tested with others gets the numbers it gets alone: the sums run over the
    same values in the same order.
    """
    finite = np.isfinite(change)
    per_dose = {name: np.full(change.shape[::2], np.nan) for name in OneSampleT.__annotations__}
    omnibus = {name: np.full(change.shape[0], np.nan) for name in OneSampleT.__annotations__}
    p_holm = np.full(change.shape[::2], np.nan)
    for rows in blocks:
        rows = np.arange(change.shape[0]) if rows is None else rows
        n_units = int(finite[rows].any(axis=(0, 2)).nonzero()[0].max(initial=-1)) + 1
        n_doses = int(finite[rows].any(axis=(0, 1)).nonzero()[0].max(initial=-1)) + 1
        tests = dose_tests(change[rows, : max(n_units, 1), : max(n_doses, 1)])
        for name in per_dose:
            per_dose[name][rows, : tests.p_holm.shape[1]] = getattr(tests.per_dose, name)
            omnibus[name][rows] = getattr(tests.omnibus, name)
        p_holm[rows, : tests.p_holm.shape[1]] = tests.p_holm
    return DoseTests(OneSampleT(**per_dose), p_holm, OneSampleT(**omnibus))


def _code_in_drug(table: pd.DataFrame, keys: list[str], drug_code: np.ndarray) -> np.ndarray:
    """0, 1, ... numbering of the groups of ``keys`` within each drug (keys start with the
    drug's own keys)."""
    code = pd.Series(table.groupby(keys, sort=True).ngroup().to_numpy())
    return (code - code.groupby(drug_code).transform("min")).to_numpy()


def _post_hoc_notes(n_units: np.ndarray, statistic: np.ndarray) -> np.ndarray:
    notes = np.full(n_units.shape, "", dtype=object)
    notes[np.isinf(statistic)] = "units do not differ at this dose: t is infinite"
    notes[n_units < 2] = "fewer than two units at this dose"
    return notes
