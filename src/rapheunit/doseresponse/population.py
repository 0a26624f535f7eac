"""Population dose-response: mean +/- SEM per dose, pooled fit, ED50 spread, statistics.

Units are pooled per drug and cumulative dose. Which units enter is the
caller's choice (:mod:`rapheunit.doseresponse.selection`: by default the
putative 5-HT units, without lost and QC-failed units); the ``recording`` and
``unit`` columns of ``unit_ids`` restrict every function here.

Statistics (:mod:`rapheunit.doseresponse.dose_tests`): units are the
replicates. Each dose is tested against baseline with a paired t test on the
units' % of baseline (Holm-corrected across the drug's doses), and the
omnibus test is a t test of each unit's mean change over its doses; both
hold their level with 3-6 cells. The ED50 summaries
(:mod:`rapheunit.doseresponse.ed50_summary`) keep units whose ED50 lies beyond
the top dose as censored, and the pooled fit's CI resamples cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rapheunit.core.errors import BadDoseTableError, BadParameterError, validate_type
from rapheunit.core.markers import is_full_agonist_at_drn
from rapheunit.doseresponse.dose_tests import OMNIBUS_TEST, POST_HOC_TEST, dose_statistics
from rapheunit.doseresponse.ed50_summary import (
    BOOTSTRAP_RESAMPLES,
    cluster_bootstrap_ci,
    ed50_distribution,
)
from rapheunit.doseresponse.fits import (
    DEFAULT_FIT_PARAMS,
    HILL_FIT_COLUMNS,
    NON_DOSE_RESPONSE_ROLES,
    UNIT_KEY,
    FitParams,
    fit_hill_batch,
    hill_response,
)
from rapheunit.doseresponse.selection import select_units, selected_doses

__all__ = [
    "OMNIBUS_TEST",
    "POST_HOC_TEST",
    "dose_statistics",
    "ed50_distribution",
    "pooled_fit",
    "population_dose_response",
    "select_units",
    "summarize",
]

DOSE_KEY = ("drug", "role", "dose_unit", "cumulative_dose")
_GROUP = "_group_number"  # the group of a row while every group is summarised at once


def population_dose_response(
    doses: pd.DataFrame,
    unit_ids: pd.DataFrame | None = None,
    params: FitParams = DEFAULT_FIT_PARAMS,
    pooled: pd.DataFrame | None = None,
    *,
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Mean +/- SEM across units per drug and cumulative dose, with the pooled fit.

    Parameters
    ----------
    doses : pandas.DataFrame
        Per unit and injection (see :func:`rapheunit.doseresponse.dose_responses`).
    unit_ids : pandas.DataFrame, optional
        Units to include (``recording`` and ``unit`` columns); None keeps all.
    params : FitParams
        Choices of the pooled fit whose curve is given as ``fitted_pct_baseline``.
    pooled : pandas.DataFrame, optional
        :func:`pooled_fit` of the same units, ``params`` and ``by``, when the caller has
        it already (its curve is the same with or without a CI); None fits here.
    by : sequence of str
        Columns of ``doses`` (never empty) whose groups are summarised each on its own;
        they lead the rows.

    Returns
    -------
    pandas.DataFrame
        Per drug and cumulative dose: ``drug, role, dose_unit,
        cumulative_dose, n_units, mean_pct_baseline, sem_pct_baseline,
        mean_inhibition_pct, mean_rate_hz, sem_rate_hz, fitted_pct_baseline``
        (NaN where there is no usable pooled fit). SEMs need two units.

    Examples
    --------
    >>> table = pd.DataFrame({"recording": "r", "unit": ["a", "b"], "drug": "ipsapirone",
    ...     "dose_unit": "ug/kg", "cumulative_dose": 10.0, "injection_time_s": 0.0,
    ...     "rate_hz": [1.0, 2.0], "pct_baseline": [40.0, 60.0]})
    >>> row = population_dose_response(table).iloc[0]
    >>> int(row["n_units"]), float(row["mean_pct_baseline"]), float(row["sem_pct_baseline"])
    (2, 50.0, 10.0)
    """
    table = selected_doses(doses, unit_ids)
    finite = table[np.isfinite(table["pct_baseline"].to_numpy(dtype=np.float64))]
    # a unit counts once per dose, with the mean of any repeated windows
    per_unit = finite.groupby([*by, *DOSE_KEY, *UNIT_KEY], sort=True)[
        ["pct_baseline", "inhibition_pct", "rate_hz"]
    ].mean()
    per_dose = (
        per_unit.groupby([*by, *DOSE_KEY], sort=True)
        .agg(
            n_units=("pct_baseline", "size"),
            mean_pct_baseline=("pct_baseline", "mean"),
            sem_pct_baseline=("pct_baseline", "sem"),
            mean_inhibition_pct=("inhibition_pct", "mean"),
            mean_rate_hz=("rate_hz", "mean"),
            sem_rate_hz=("rate_hz", "sem"),
        )
        .reset_index()
    )
    if pooled is None:
        pooled = pooled_fit(table, params=params, interval=False, by=by)
    per_dose["fitted_pct_baseline"] = _fitted_curve(per_dose, pooled, [*by, "drug"])
    return per_dose


def _fitted_curve(per_dose: pd.DataFrame, fits: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Pooled-fit % baseline at each row's dose; NaN unless the fit is ok with an ED50 estimate."""
    usable = fits[(fits["fit_status"] == "ok") & fits["hill_slope"].notna()]
    wanted = pd.MultiIndex.from_frame(per_dose[keys]) if len(keys) > 1 else per_dose[keys[0]]
    fit = usable.set_index(keys).reindex(wanted)
    return hill_response(
        np.log10(per_dose["cumulative_dose"].to_numpy(dtype=np.float64)),
        np.log10(fit["ed50"].to_numpy(dtype=np.float64)),
        fit["hill_slope"].to_numpy(dtype=np.float64),
        fit["bottom_pct"].to_numpy(dtype=np.float64),
        fit["top_pct"].to_numpy(dtype=np.float64),
    )


def pooled_fit(
    doses: pd.DataFrame,
    unit_ids: pd.DataFrame | None = None,
    params: FitParams = DEFAULT_FIT_PARAMS,
    resamples: int = 0,
    *,
    interval: bool = True,
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """One Hill fit per dose-response drug to every unit's points together.

    With ``resamples`` the ED50 CI is a cluster bootstrap: whole cells are
    drawn with replacement and the pooled fit is redone
    (:func:`~rapheunit.doseresponse.ed50_summary.cluster_bootstrap_ci`;
    ``ed50_ci_method == "cluster_bootstrap_percentile"``). With
    ``resamples=0`` the CI is the fit's profile likelihood, which treats
    every point as independent although the points of one cell are not, so
    it is too narrow (``ed50_ci_method == "profile_likelihood"``).

    Parameters
    ----------
    doses : pandas.DataFrame
        Per unit and injection (see :func:`rapheunit.doseresponse.dose_responses`).
    unit_ids : pandas.DataFrame, optional
        Units to include (``recording`` and ``unit`` columns); None keeps all.
    params : FitParams
        Fit choices.
    resamples : int
        Cluster-bootstrap resamples for the CI; 0 keeps the profile CI.
    interval : bool
        False leaves the ED50 CI out (NaN) for callers that need the curve only;
        the estimates are the same.
    by : sequence of str
        Columns of ``doses`` (never empty): one fit per group of them and drug, each
        as if its group were fitted alone; they lead the rows.

    Returns
    -------
    pandas.DataFrame
        One row per drug: ``drug, ed50_unit, n_units``, ``top_pct`` and the
        :class:`~rapheunit.doseresponse.HillFit` fields.

    Examples
    --------
    >>> cumulative = np.tile([10.0, 20.0, 40.0, 80.0], 2)
    >>> table = pd.DataFrame({"recording": "r", "unit": np.repeat(["a", "b"], 4),
    ...     "drug": "ipsapirone", "dose_unit": "ug/kg", "cumulative_dose": cumulative,
    ...     "injection_time_s": 0.0, "rate_hz": 1.0,
    ...     "pct_baseline": [85.0, 62, 35, 15, 80, 58, 30, 12]})
    >>> fit = pooled_fit(table).iloc[0]
    >>> fit["fit_status"], int(fit["n_units"]), bool(20 < fit["ed50"] < 40)
    ('ok', 2, True)
    """
    if validate_type(resamples, int, "resamples") < 0:
        raise BadParameterError(f"resamples must be >= 0, got {resamples}")
    table = selected_doses(doses, unit_ids)
    responses = table[~table["role"].isin(NON_DOSE_RESPONSE_ROLES)]
    keys = [*by, "drug"]
    grouped = responses.groupby(keys, sort=True)
    drugs = grouped.agg(ed50_unit=("dose_unit", "first"), n_dose_units=("dose_unit", "nunique"))
    if (drugs["n_dose_units"] > 1).any():
        drug = drugs.reset_index()["drug"][(drugs["n_dose_units"] > 1).to_numpy()].iloc[0]
        raise BadDoseTableError(f"{drug}: units use different dose units; cannot pool them")
    drugs["n_units"] = responses.drop_duplicates([*UNIT_KEY, *keys]).groupby(keys).size()
    drugs = drugs.drop(columns="n_dose_units").reset_index()
    cube = _UnitCube(responses, keys, grouped.ngroup().to_numpy(), len(drugs))
    full_agonist = drugs["drug"].map(is_full_agonist_at_drn).to_numpy(dtype=bool)
    blocks = (drugs.groupby(list(by), sort=False).indices.values() if by
              else [np.arange(len(drugs))])
    fits = pd.concat(
        [_fit_block(cube.block(rows), drugs.iloc[rows], full_agonist[rows], params, resamples,
                    interval=interval) for rows in blocks],
        ignore_index=True,
    ) if len(drugs) else fit_hill_batch(np.empty((0, 1)), np.empty((0, 1)), params)
    drugs["top_pct"] = params.top_pct
    return pd.concat([drugs, fits], axis=1)


def _fit_block(
    cube: tuple[np.ndarray, np.ndarray],
    drugs: pd.DataFrame,
    full_agonist: np.ndarray,
    params: FitParams,
    resamples: int,
    *,
    interval: bool,
) -> pd.DataFrame:
    """Pooled fits of one group's drugs (rows of ``drugs``) from its (drug, unit, point) cube."""
    dose, response = cube
    fits = fit_hill_batch(
        dose.reshape(len(drugs), -1),
        response.reshape(len(drugs), -1),
        params,
        full_agonist=full_agonist,
        interval=interval and not resamples,  # the bootstrap gives the CI of every fit
    )
    if not (resamples and interval):
        return fits
    for row, (drug, n_units) in enumerate(zip(drugs["drug"], drugs["n_units"], strict=True)):
        if fits.at[row, "fit_status"] != "ok" or _bounded(fits.loc[row]):
            continue
        low, high, method = cluster_bootstrap_ci(
            dose[row, :n_units],
            response[row, :n_units],
            drug,
            params,
            resamples=resamples,
            full_agonist=bool(full_agonist[row]),
        )
        fits.loc[row, ["ed50_ci_low", "ed50_ci_high", "ed50_ci_method"]] = low, high, method
    return fits


def _bounded(fit: pd.Series) -> bool:
    return bool(fit["ed50_is_lower_bound"] or fit["ed50_is_upper_bound"])


class _UnitCube:
    """(drug, unit of the drug, point of the unit) doses and % baseline, NaN-padded.

    Rows are the groups of ``keys`` (the drug and any grouping columns). A block of
    rows (one group's drugs) is cut to its own largest unit and point counts, the shape
    its fit would have if its group were fitted alone.
    """

    def __init__(self, responses: pd.DataFrame, keys: list[str], drug_row: np.ndarray,
                 n_drugs: int) -> None:
        unit_groups = responses.groupby([*keys, *UNIT_KEY], sort=True)
        unit_code = pd.Series(unit_groups.ngroup().to_numpy())
        # units of one drug have consecutive codes, as the drug's keys lead the sort
        unit_in_drug = (unit_code - unit_code.groupby(drug_row).transform("min")).to_numpy()
        point = unit_groups.cumcount().to_numpy()
        self.n_units = np.zeros(n_drugs, dtype=int)
        self.n_points = np.zeros(n_drugs, dtype=int)
        np.maximum.at(self.n_units, drug_row, unit_in_drug + 1)
        np.maximum.at(self.n_points, drug_row, point + 1)
        shape = (n_drugs, max(1, self.n_units.max(initial=0)),
                 max(1, self.n_points.max(initial=0)))
        self.dose, self.response = np.full(shape, np.nan), np.full(shape, np.nan)
        rows = (drug_row, unit_in_drug, point)
        self.dose[rows] = responses["cumulative_dose"].to_numpy(dtype=np.float64)
        self.response[rows] = responses["pct_baseline"].to_numpy(dtype=np.float64)

    def block(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        units = max(1, self.n_units[rows].max(initial=0))
        points = max(1, self.n_points[rows].max(initial=0))
        return self.dose[rows, :units, :points], self.response[rows, :units, :points]


def summarize(
    doses: pd.DataFrame,
    unit_fits: pd.DataFrame,
    group_col: str | None = None,
    params: FitParams = DEFAULT_FIT_PARAMS,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summary (per drug and group) and population (per dose) tables.

    Parameters
    ----------
    doses : pandas.DataFrame
        Per unit and injection, already restricted to the units to summarise.
    unit_fits : pandas.DataFrame
        :func:`rapheunit.doseresponse.unit_dose_response` output for those units.
    group_col : str, optional
        Column (of ``doses`` or, per unit, of ``unit_fits``) that splits the
        units into groups, e.g. a treatment or cell class; None: one group.
    params : FitParams
        Choices of the pooled fits.
    resamples : int
        Cluster-bootstrap resamples of the pooled ED50 CI (0: the profile CI,
        which treats points as independent).

    Returns
    -------
    summary : pandas.DataFrame
        One row per group and dose-response drug:

        - ``drug, ed50_unit``; ``n_units`` (units given the drug), ``n_fit_ok``;
        - ``ed50_median``: Kaplan-Meier median of the per-unit ED50s with
          units beyond the top dose censored there;
          ``ed50_median_is_lower_bound`` (the median lies above every
          estimate: it is at least this), ``ed50_median_is_upper_bound`` (it
          rests on a unit below the lowest dose);
        - ``ed50_geometric_mean, ed50_gm_ci_low, ed50_gm_ci_high``: geometric
          mean of the estimates and its t interval, NaN when any unit is
          censored; ``n_ed50`` (estimates), ``n_lower_bound`` (ED50 beyond the
          top dose), ``n_upper_bound`` (below the lowest dose);
        - ``pooled_*``: the pooled fit (:func:`pooled_fit`), its CI from the
          cluster bootstrap (``pooled_ed50_ci_method``);
        - ``mean_max_inhibition_pct``, ``mean_reversal_pct``,
          ``sem_reversal_pct``, ``n_reversal``;
        - ``test, statistic, df, p, note``: the omnibus test
          (``summary_measure_t``, see :func:`dose_statistics`).
    population : pandas.DataFrame
        :func:`population_dose_response` per group, with the paired t test of
        each dose against baseline (``test, statistic, df, p, p_holm``).

    Examples
    --------
    >>> from rapheunit.doseresponse.fits import unit_dose_response
    >>> rng = np.random.default_rng(1)
    >>> pct = np.clip(hill_response(np.log10([10.0, 20, 40, 80]), 1.5, 1.5, 5.0)
    ...     + rng.normal(0, 4, (5, 4)), 0, None)
    >>> table = pd.DataFrame({"recording": "r", "unit": np.repeat(list("abcde"), 4),
    ...     "drug": "ipsapirone", "dose_unit": "ug/kg",
    ...     "cumulative_dose": np.tile([10.0, 20, 40, 80], 5),
    ...     "injection_time_s": np.tile([0.0, 180, 360, 540], 5), "rate_hz": 1.0,
    ...     "pct_baseline": pct.ravel()})
    >>> summary, population = summarize(table, unit_dose_response(table))
    >>> int(summary["n_units"].iloc[0]), len(population)
    (5, 4)
    """
    grouped_doses = _with_group(doses, unit_fits, group_col)
    group_name = group_col or "group"
    if grouped_doses.empty:
        return pd.DataFrame(), pd.DataFrame()
    # every group is summarised as if alone, all in one pass: groups are numbered in the
    # order of their labels (a missing label last) and the labels put back at the end
    codes, labels = pd.factorize(grouped_doses[group_name], sort=True, use_na_sentinel=False)
    grouped_doses = grouped_doses.assign(**{_GROUP: codes})
    table = selected_doses(grouped_doses, None)
    by = (_GROUP,)
    pooled = pooled_fit(table, params=params, resamples=resamples, by=by)
    population = population_dose_response(table, params=params, pooled=pooled, by=by)
    statistics = dose_statistics(table, by=by)
    keys = [_GROUP, "drug"]
    post_hoc = statistics.loc[
        statistics["test"] == POST_HOC_TEST,
        [*keys, "cumulative_dose", "test", "statistic", "df", "p", "p_holm"],
    ]
    population = population.merge(post_hoc, on=[*keys, "cumulative_dose"], how="left")
    omnibus = statistics.loc[
        statistics["test"] == OMNIBUS_TEST, [*keys, "test", "statistic", "df", "p", "note"]
    ]
    unit_groups = grouped_doses[[*UNIT_KEY, _GROUP]].drop_duplicates()
    fits = _with_censoring_doses(
        unit_fits.merge(unit_groups, on=list(UNIT_KEY), how="inner"), grouped_doses
    )
    fits_of = dict(iter(fits.groupby(_GROUP, sort=False)))
    rows = [
        {_GROUP: pooled_row[_GROUP],
         **_drug_summary(fits_of.get(pooled_row[_GROUP], fits.iloc[:0]), pooled_row)}
        for _, pooled_row in pooled.iterrows()
    ]
    summary = pd.DataFrame(rows) if rows else pd.DataFrame(columns=keys)
    summary = summary.merge(omnibus, on=keys, how="left")
    return _labelled(summary, labels, group_name), _labelled(population, labels, group_name)


def _labelled(table: pd.DataFrame, labels: pd.Index, group_name: str) -> pd.DataFrame:
    """``table`` with its group numbers replaced by the labels, in a last column."""
    codes = table.pop(_GROUP).to_numpy(dtype=np.intp)
    table[group_name] = np.asarray(labels, dtype=object)[codes] if codes.size else []
    return table


def _with_group(
    doses: pd.DataFrame, unit_fits: pd.DataFrame, group_col: str | None
) -> pd.DataFrame:
    validate_type(doses, pd.DataFrame, "doses")
    validate_type(unit_fits, pd.DataFrame, "unit_fits")
    if group_col is None:
        return doses.assign(group="all")
    validate_type(group_col, str, "group_col")
    if group_col in doses.columns:
        return doses
    if group_col not in unit_fits.columns:
        raise BadParameterError(f"group column {group_col!r} is in neither doses nor unit_fits")
    labels = unit_fits[[*UNIT_KEY, group_col]].drop_duplicates(subset=list(UNIT_KEY))
    return doses.merge(labels, on=list(UNIT_KEY), how="left")


def _with_censoring_doses(unit_fits: pd.DataFrame, doses: pd.DataFrame) -> pd.DataFrame:
    """Fits whose ED50 is a bound but has no value get the unit's highest (lowest) dose
    in its group."""
    fits = unit_fits.copy()
    for flag, extreme in (("ed50_is_lower_bound", "max"), ("ed50_is_upper_bound", "min")):
        if flag not in fits.columns:
            continue
        key = [_GROUP, *UNIT_KEY, "drug"]
        bound = doses.groupby(key, as_index=False)["cumulative_dose"].agg(extreme)
        at = fits[key].merge(bound, on=key, how="left")["cumulative_dose"].to_numpy()
        flagged = fits[flag].astype("boolean").fillna(False).to_numpy(dtype=bool)
        missing = flagged & fits["ed50"].isna().to_numpy()
        fits.loc[missing, "ed50"] = at[missing]
    return fits


def _drug_summary(unit_fits: pd.DataFrame, pooled_row: pd.Series) -> dict[str, Any]:
    """One summary row: a group's units given the drug of its pooled fit ``pooled_row``."""
    drug = pooled_row["drug"]
    fits = unit_fits[unit_fits["drug"] == drug]
    distribution = ed50_distribution(fits)
    reversal = fits["reversal_pct"].dropna()
    ok = fits[fits["fit_status"] == "ok"]
    return {
        "drug": drug,
        "ed50_unit": pooled_row["ed50_unit"],
        "n_units": int(pooled_row["n_units"]),
        "n_fit_ok": len(ok),
        "ed50_median": distribution["median"],
        "ed50_median_is_lower_bound": distribution["median_is_lower_bound"],
        "ed50_median_is_upper_bound": distribution["median_is_upper_bound"],
        "ed50_geometric_mean": distribution["geometric_mean"],
        "ed50_gm_ci_low": distribution["ci_low"],
        "ed50_gm_ci_high": distribution["ci_high"],
        "n_ed50": distribution["n"],
        "n_lower_bound": distribution["n_lower_bound"],
        "n_upper_bound": distribution["n_upper_bound"],
        **{f"pooled_{name}": pooled_row[name] for name in HILL_FIT_COLUMNS},
        "mean_max_inhibition_pct": ok["max_inhibition_pct"].mean(),
        "mean_reversal_pct": reversal.mean(),
        "sem_reversal_pct": reversal.sem(),
        "n_reversal": int(reversal.size),
    }
