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


def population_dose_response(
    doses: pd.DataFrame,
    unit_ids: pd.DataFrame | None = None,
    params: FitParams = DEFAULT_FIT_PARAMS,
    pooled: pd.DataFrame | None = None,
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
        :func:`pooled_fit` of the same units and ``params``, when the caller has it
        already (its curve is the same with or without a CI); None fits here.

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
    per_unit = finite.groupby([*DOSE_KEY, *UNIT_KEY], sort=True)[
        ["pct_baseline", "inhibition_pct", "rate_hz"]
    ].mean()
    per_dose = (
        per_unit.groupby(list(DOSE_KEY), sort=True)
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
        pooled = pooled_fit(table, params=params, interval=False)
    fits = pooled.set_index("drug")
    per_dose["fitted_pct_baseline"] = _fitted_curve(per_dose, fits)
    return per_dose


def _fitted_curve(per_dose: pd.DataFrame, fits: pd.DataFrame) -> np.ndarray:
    """Pooled-fit % baseline at each row's dose; NaN unless the fit is ok with an ED50 estimate."""
    usable = fits[(fits["fit_status"] == "ok") & fits["hill_slope"].notna()]
    fit = usable.reindex(per_dose["drug"])
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
    grouped = responses.groupby("drug", sort=True)
    drugs = grouped.agg(ed50_unit=("dose_unit", "first"), n_dose_units=("dose_unit", "nunique"))
    if (drugs["n_dose_units"] > 1).any():
        drug = drugs.index[drugs["n_dose_units"] > 1][0]
        raise BadDoseTableError(f"{drug}: units use different dose units; cannot pool them")
    drugs["n_units"] = responses.drop_duplicates([*UNIT_KEY, "drug"]).groupby("drug").size()
    drugs = drugs.drop(columns="n_dose_units").reset_index()
    dose, response = _unit_cube(responses, grouped.ngroup().to_numpy(), len(drugs))
    full_agonist = drugs["drug"].map(is_full_agonist_at_drn).to_numpy(dtype=bool)
    fits = fit_hill_batch(
        dose.reshape(len(drugs), -1),
        response.reshape(len(drugs), -1),
        params,
        full_agonist=full_agonist,
        interval=interval and not resamples,  # the bootstrap gives the CI of every fit
    )
    if resamples and interval:
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
    drugs["top_pct"] = params.top_pct
    return pd.concat([drugs, fits], axis=1)


def _bounded(fit: pd.Series) -> bool:
    return bool(fit["ed50_is_lower_bound"] or fit["ed50_is_upper_bound"])


def _unit_cube(
    responses: pd.DataFrame, drug_row: np.ndarray, n_drugs: int
) -> tuple[np.ndarray, np.ndarray]:
    """(drug, unit of the drug, point of the unit) doses and % baseline, NaN-padded."""
    unit_code = pd.Series(responses.groupby(["drug", *UNIT_KEY], sort=True).ngroup().to_numpy())
    # units of one drug have consecutive codes, as the drug leads the sort
    unit_in_drug = (unit_code - unit_code.groupby(drug_row).transform("min")).to_numpy()
    point = responses.groupby(["drug", *UNIT_KEY], sort=True).cumcount().to_numpy()
    shape = (
        n_drugs,
        int(unit_in_drug.max()) + 1 if unit_in_drug.size else 1,
        int(point.max()) + 1 if point.size else 1,
    )
    dose, response = np.full(shape, np.nan), np.full(shape, np.nan)
    dose[drug_row, unit_in_drug, point] = responses["cumulative_dose"].to_numpy(dtype=np.float64)
    response[drug_row, unit_in_drug, point] = responses["pct_baseline"].to_numpy(dtype=np.float64)
    return dose, response


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
    summaries, populations = [], []
    for group, group_doses in grouped_doses.groupby(group_name, sort=True, dropna=False):
        group_fits = unit_fits.merge(
            group_doses[list(UNIT_KEY)].drop_duplicates(), on=list(UNIT_KEY), how="inner"
        )
        summary, population = _summarize_group(group_doses, group_fits, params, resamples)
        summaries.append(summary.assign(**{group_name: group}))
        populations.append(population.assign(**{group_name: group}))
    summary = pd.concat(summaries, ignore_index=True) if summaries else pd.DataFrame()
    population = pd.concat(populations, ignore_index=True) if populations else pd.DataFrame()
    return summary, population


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


def _summarize_group(
    doses: pd.DataFrame, unit_fits: pd.DataFrame, params: FitParams, resamples: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    pooled = pooled_fit(doses, params=params, resamples=resamples)
    population = population_dose_response(doses, params=params, pooled=pooled)
    statistics = dose_statistics(doses)
    post_hoc = statistics.loc[
        statistics["test"] == POST_HOC_TEST,
        ["drug", "cumulative_dose", "test", "statistic", "df", "p", "p_holm"],
    ]
    population = population.merge(post_hoc, on=["drug", "cumulative_dose"], how="left")
    omnibus = statistics.loc[
        statistics["test"] == OMNIBUS_TEST, ["drug", "test", "statistic", "df", "p", "note"]
    ]
    unit_fits = _with_censoring_doses(unit_fits, doses)
    rows = [_drug_summary(drug, unit_fits, pooled) for drug in pooled["drug"]]
    summary = pd.DataFrame(rows) if rows else pd.DataFrame(columns=["drug"])
    return summary.merge(omnibus, on="drug", how="left"), population


def _with_censoring_doses(unit_fits: pd.DataFrame, doses: pd.DataFrame) -> pd.DataFrame:
    """Fits whose ED50 is a bound but has no value get the unit's highest (lowest) dose."""
    fits = unit_fits.copy()
    for flag, extreme in (("ed50_is_lower_bound", "max"), ("ed50_is_upper_bound", "min")):
        if flag not in fits.columns:
            continue
        key = [*UNIT_KEY, "drug"]
        bound = doses.groupby(key, as_index=False)["cumulative_dose"].agg(extreme)
        at = fits[key].merge(bound, on=key, how="left")["cumulative_dose"].to_numpy()
        flagged = fits[flag].astype("boolean").fillna(False).to_numpy(dtype=bool)
        missing = flagged & fits["ed50"].isna().to_numpy()
        fits.loc[missing, "ed50"] = at[missing]
    return fits


def _drug_summary(drug: str, unit_fits: pd.DataFrame, pooled: pd.DataFrame) -> dict[str, Any]:
    fits = unit_fits[unit_fits["drug"] == drug]
    pooled_row = pooled[pooled["drug"] == drug].iloc[0]
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
