"""Population dose-response: mean +/- SEM per dose, pooled fit, ED50 spread, statistics.

Units are pooled per drug and cumulative dose. Which units enter is the
caller's choice (by default the putative 5-HT units): :func:`select_units`
filters a unit table with a pandas query, and its ``recording`` and ``unit``
columns restrict every function here through ``unit_ids``.

Statistics: the change from baseline (``pct_baseline - 100``) is modelled
with a linear mixed model, one fixed effect per dose and a random intercept
per unit (statsmodels ``MixedLM``, REML), so units that miss doses still
count. The omnibus test is the Wald chi-square that every dose effect is zero;
the post hoc tests are the per-dose Wald z tests against baseline (100 %),
Holm-corrected across the doses of the drug.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from rapheunit.core.errors import BadDoseTableError, BadParameterError, validate_type
from rapheunit.doseresponse.fits import (
    BASELINE_PCT,
    DEFAULT_FIT_PARAMS,
    HILL_FIT_COLUMNS,
    NON_DOSE_RESPONSE_ROLES,
    UNIT_KEY,
    FitParams,
    dose_responses,
    fit_hill_batch,
    hill_response,
)

# Doses are grouped after rounding to this many significant digits, so that
# cumulative totals summed in a different order still meet.
DOSE_SIGNIFICANT_DIGITS = 10
DOSE_KEY = ("drug", "role", "dose_unit", "cumulative_dose")
OMNIBUS_TEST = "mixedlm_wald_chi2"
POST_HOC_TEST = "mixedlm_wald_z"
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


def population_dose_response(
    doses: pd.DataFrame,
    unit_ids: pd.DataFrame | None = None,
    params: FitParams = DEFAULT_FIT_PARAMS,
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
    table = _selected(doses, unit_ids)
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
    fits = pooled_fit(table, params=params).set_index("drug")
    per_dose["fitted_pct_baseline"] = _fitted_curve(per_dose, fits)
    return per_dose


def _selected(doses: pd.DataFrame, unit_ids: pd.DataFrame | None) -> pd.DataFrame:
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
) -> pd.DataFrame:
    """One Hill fit per dose-response drug to every unit's points together.

    The points of all units are fitted as one sample, so the CI ignores that
    points of the same unit are correlated and is narrower than the spread
    of units warrants; :func:`ed50_distribution` describes that spread.

    Parameters
    ----------
    doses : pandas.DataFrame
        Per unit and injection (see :func:`rapheunit.doseresponse.dose_responses`).
    unit_ids : pandas.DataFrame, optional
        Units to include (``recording`` and ``unit`` columns); None keeps all.
    params : FitParams
        Fit choices.

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
    table = _selected(doses, unit_ids)
    responses = table[~table["role"].isin(NON_DOSE_RESPONSE_ROLES)]
    grouped = responses.groupby("drug", sort=True)
    drugs = grouped.agg(ed50_unit=("dose_unit", "first"), n_dose_units=("dose_unit", "nunique"))
    if (drugs["n_dose_units"] > 1).any():
        drug = drugs.index[drugs["n_dose_units"] > 1][0]
        raise BadDoseTableError(f"{drug}: units use different dose units; cannot pool them")
    drugs["n_units"] = responses.drop_duplicates([*UNIT_KEY, "drug"]).groupby("drug").size()
    drugs = drugs.drop(columns="n_dose_units").reset_index()
    position = grouped.cumcount().to_numpy()
    width = int(position.max()) + 1 if position.size else 1
    dose = np.full((len(drugs), width), np.nan)
    response = np.full((len(drugs), width), np.nan)
    row = grouped.ngroup().to_numpy()
    dose[row, position] = responses["cumulative_dose"].to_numpy(dtype=np.float64)
    response[row, position] = responses["pct_baseline"].to_numpy(dtype=np.float64)
    fits = fit_hill_batch(dose, response, params)
    drugs["top_pct"] = params.top_pct
    return pd.concat([drugs, fits], axis=1)


def ed50_distribution(unit_fits: pd.DataFrame, confidence: float = 0.95) -> dict[str, Any]:
    """Geometric mean and CI of the per-unit ED50s of one drug.

    Only ``fit_status == "ok"`` rows with an estimated ED50 count; ED50s
    reported as bounds (beyond the highest or below the lowest dose) are
    excluded and counted. The CI is the t interval of the mean log10 ED50,
    back-transformed.

    Returns
    -------
    dict
        ``geometric_mean, ci_low, ci_high, n, n_lower_bound, n_upper_bound``
        (NaN CI with fewer than two ED50s, NaN mean with none).

    Examples
    --------
    >>> fits = pd.DataFrame({"drug": "ipsapirone", "fit_status": "ok",
    ...     "ed50": [10.0, 100.0, 320.0], "ed50_is_lower_bound": [False, False, True]})
    >>> result = ed50_distribution(fits)
    >>> round(result["geometric_mean"], 6), result["n"], result["n_lower_bound"]
    (31.622777, 2, 1)
    """
    validate_type(unit_fits, pd.DataFrame, "unit_fits")
    if not 0 < validate_type(confidence, float, "confidence") < 1:
        raise BadParameterError(f"confidence must be in (0, 1), got {confidence}")
    drugs = unit_fits["drug"].unique() if "drug" in unit_fits.columns else []
    if len(drugs) > 1:
        raise BadParameterError(f"ed50_distribution takes one drug's fits, got {len(drugs)}")
    ok = unit_fits[unit_fits["fit_status"] == "ok"]
    lower = _flag(ok, "ed50_is_lower_bound")
    upper = _flag(ok, "ed50_is_upper_bound")
    log_ed50 = np.log10(ok.loc[~lower & ~upper, "ed50"].to_numpy(dtype=np.float64))
    n = int(log_ed50.size)
    mean = log_ed50.mean() if n else np.nan
    if n > 1:
        from scipy import stats

        half_width = stats.t.ppf(0.5 + confidence / 2, n - 1) * log_ed50.std(ddof=1) / np.sqrt(n)
    else:
        half_width = np.nan
    return {
        "geometric_mean": float(10.0**mean),
        "ci_low": float(10.0 ** (mean - half_width)),
        "ci_high": float(10.0 ** (mean + half_width)),
        "n": n,
        "n_lower_bound": int(lower.sum()),
        "n_upper_bound": int(upper.sum()),
    }


def _flag(table: pd.DataFrame, column: str) -> pd.Series:
    if column not in table.columns:
        return pd.Series(False, index=table.index)
    return table[column].fillna(False).astype(bool)


def dose_statistics(doses: pd.DataFrame, unit_ids: pd.DataFrame | None = None) -> pd.DataFrame:
    """Mixed-model tests of firing against baseline across doses, per drug.

    Per dose-response drug, ``pct_baseline - 100 ~ 0 + dose`` (one
    coefficient per cumulative dose) with a random intercept per unit. Rows:
    one omnibus Wald chi-square (``test="mixedlm_wald_chi2"``, df = number of
    doses) and one Wald z test per dose (``test="mixedlm_wald_z"``, no df;
    ``estimate`` is the modelled change from baseline in % points) with
    Holm-corrected ``p_holm``. Too little data gives NaN and a ``note``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> table = pd.DataFrame({"recording": "r", "unit": np.repeat(list("abcdef"), 3),
    ...     "drug": "ipsapirone", "dose_unit": "ug/kg",
    ...     "cumulative_dose": np.tile([10.0, 20.0, 40.0], 6), "injection_time_s": 0.0,
    ...     "rate_hz": 1.0, "pct_baseline": np.tile([90.0, 60.0, 20.0], 6) + rng.normal(0, 5, 18)})
    >>> result = dose_statistics(table)
    >>> result["test"].tolist()[:2], bool(result["p"].iloc[0] < 0.001)
    (['mixedlm_wald_chi2', 'mixedlm_wald_z'], True)
    """
    table = _selected(doses, unit_ids)
    responses = table[
        ~table["role"].isin(NON_DOSE_RESPONSE_ROLES)
        & np.isfinite(table["pct_baseline"].to_numpy(dtype=np.float64))
    ]
    frames = [_drug_statistics(drug, rows) for drug, rows in responses.groupby("drug", sort=True)]
    if not frames:
        return pd.DataFrame(columns=list(STATISTICS_COLUMNS))
    return pd.concat(frames, ignore_index=True).reindex(columns=list(STATISTICS_COLUMNS))


def _drug_statistics(drug: str, rows: pd.DataFrame) -> pd.DataFrame:
    # statsmodels is imported here, not at start-up (rapheunit --help does not need it)
    import statsmodels.api as sm
    from statsmodels.stats.multitest import multipletests
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    dose_levels = np.sort(rows["cumulative_dose"].unique())
    unit_labels = rows["recording"].astype(str) + "/" + rows["unit"].astype(str)
    n_units = unit_labels.nunique()
    counts = {"drug": drug, "n_units": n_units, "n_observations": len(rows)}
    # A random intercept needs at least two units and more observations than coefficients.
    if n_units < 2 or len(rows) <= dose_levels.size + 1:
        return pd.DataFrame([{**counts, "test": OMNIBUS_TEST, "note": "too few units or doses"}])
    design = (rows["cumulative_dose"].to_numpy()[:, None] == dose_levels[None, :]).astype(float)
    change = rows["pct_baseline"].to_numpy(dtype=np.float64) - BASELINE_PCT
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            warnings.simplefilter("always", RuntimeWarning)
            result = sm.MixedLM(change, design, groups=unit_labels.to_numpy()).fit(reml=True)
    except (np.linalg.LinAlgError, ValueError) as error:
        failed = {**counts, "test": OMNIBUS_TEST, "note": f"mixed model failed: {error}"}
        return pd.DataFrame([failed])
    note = "" if result.converged and not caught else "mixed model did not converge cleanly"
    k = dose_levels.size
    wald = result.wald_test(np.eye(k, len(result.params)), scalar=True)
    estimate = np.asarray(result.fe_params)[:k]
    z = np.asarray(result.tvalues)[:k]
    p = np.asarray(result.pvalues)[:k]
    p_holm = multipletests(p, method="holm")[1] if np.all(np.isfinite(p)) else np.full(k, np.nan)
    dose_unit = rows["dose_unit"].iloc[0]
    omnibus = {
        **counts,
        "test": OMNIBUS_TEST,
        "term": "dose",
        "statistic": float(wald.statistic),
        "df": float(wald.df_denom),
        "p": float(wald.pvalue),
        "note": note,
    }
    post_hoc = pd.DataFrame(
        {
            **counts,
            "test": POST_HOC_TEST,
            "term": [f"{dose:g} {dose_unit} vs baseline" for dose in dose_levels],
            "cumulative_dose": dose_levels,
            "estimate": estimate,
            "statistic": z,
            "df": np.nan,
            "p": p,
            "p_holm": p_holm,
            "note": note,
        }
    )
    return pd.concat([pd.DataFrame([omnibus]), post_hoc], ignore_index=True)


def summarize(
    doses: pd.DataFrame,
    unit_fits: pd.DataFrame,
    group_col: str | None = None,
    params: FitParams = DEFAULT_FIT_PARAMS,
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

    Returns
    -------
    summary : pandas.DataFrame
        One row per group and dose-response drug: counts, the per-unit ED50
        distribution (``ed50_geometric_mean`` ...), the pooled fit
        (``pooled_ed50`` ...), mean maximal inhibition and reversal, and the
        omnibus mixed-model test (``test, statistic, df, p``).
    population : pandas.DataFrame
        :func:`population_dose_response` per group, with the post hoc test of
        each dose against baseline (``statistic, p, p_holm``).

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
        summary, population = _summarize_group(group_doses, group_fits, params)
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
    doses: pd.DataFrame, unit_fits: pd.DataFrame, params: FitParams
) -> tuple[pd.DataFrame, pd.DataFrame]:
    population = population_dose_response(doses, params=params)
    statistics = dose_statistics(doses)
    post_hoc = statistics.loc[
        statistics["test"] == POST_HOC_TEST, ["drug", "cumulative_dose", "statistic", "p", "p_holm"]
    ]
    population = population.merge(post_hoc, on=["drug", "cumulative_dose"], how="left")
    omnibus = statistics.loc[
        statistics["test"] == OMNIBUS_TEST, ["drug", "test", "statistic", "df", "p", "note"]
    ]
    pooled = pooled_fit(doses, params=params)
    rows = [_drug_summary(drug, unit_fits, pooled) for drug in pooled["drug"]]
    summary = pd.DataFrame(rows) if rows else pd.DataFrame(columns=["drug"])
    return summary.merge(omnibus, on="drug", how="left"), population


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
