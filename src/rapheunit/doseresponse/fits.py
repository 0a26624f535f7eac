"""Per-unit dose-response tables: one Hill fit per unit and drug, and reversal.

This is the established import path of the whole fitting API: the model
(:mod:`rapheunit.doseresponse.hill`) and the fitter
(:mod:`rapheunit.doseresponse.fitter`) are re-exported here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rapheunit.core.epochs import RECOVERY_PCT_BASELINE
from rapheunit.core.errors import BadDoseTableError, validate_type
from rapheunit.core.markers import (
    AGONIST,
    ANTAGONIST,
    VEHICLE,
    drug_role,
    is_full_agonist_at_drn,
)
from rapheunit.doseresponse.fitter import fit_hill, fit_hill_batch
from rapheunit.doseresponse.gates import at_highest_dose
from rapheunit.doseresponse.hill import (
    BASELINE_PCT,
    CI_METHOD,
    DEFAULT_FIT_PARAMS,
    FIT_STATUSES,
    HILL_FIT_COLUMNS,
    HILL_SLOPE_RANGE,
    MIN_INHIBITION_PCT,
    N_FREE_PARAMETERS,
    FitParams,
    HillFit,
    hill_response,
)

__all__ = [
    "BASELINE_PCT",
    "CI_METHOD",
    "DEFAULT_FIT_PARAMS",
    "FIT_STATUSES",
    "HILL_FIT_COLUMNS",
    "HILL_SLOPE_RANGE",
    "MIN_INHIBITION_PCT",
    "N_FREE_PARAMETERS",
    "OUTPUT_COLUMNS",
    "FitParams",
    "HillFit",
    "dose_responses",
    "fit_hill",
    "fit_hill_batch",
    "hill_response",
    "unit_dose_response",
]

# Drugs that never get a dose-response row of their own.
NON_DOSE_RESPONSE_ROLES = (ANTAGONIST, VEHICLE)
UNIT_KEY = ("recording", "unit")
REQUIRED_COLUMNS = (
    "recording",
    "unit",
    "drug",
    "dose_unit",
    "cumulative_dose",
    "injection_time_s",
    "rate_hz",
    "pct_baseline",
)


def dose_responses(doses: pd.DataFrame) -> pd.DataFrame:
    """Validated per-injection responses with the drug ``role`` and ``inhibition_pct``.

    Parameters
    ----------
    doses : pandas.DataFrame
        Per unit and injection, as :func:`rapheunit.core.epochs.dose_rates` returns.

    Returns
    -------
    pandas.DataFrame
        A copy sorted by recording, unit and injection time, with ``role``
        (:func:`rapheunit.core.markers.drug_role`) and ``inhibition_pct``
        (``100 - pct_baseline``) added.

    Examples
    --------
    >>> table = pd.DataFrame({"recording": "r", "unit": "u", "drug": ["ipsapirone", "WAY"],
    ...     "dose_unit": "ug/kg", "cumulative_dose": [10.0, 100.0],
    ...     "injection_time_s": [0.0, 60.0], "rate_hz": [0.5, 1.0], "pct_baseline": [50.0, 100.0]})
    >>> dose_responses(table)[["role", "inhibition_pct"]].to_numpy().tolist()
    [['5ht1a_agonist', 50.0], ['5ht1a_antagonist', 0.0]]
    """
    validate_type(doses, pd.DataFrame, "doses")
    missing = [column for column in REQUIRED_COLUMNS if column not in doses.columns]
    if missing:
        raise BadDoseTableError(f"dose table lacks column(s) {', '.join(missing)}")
    table = doses.sort_values([*UNIT_KEY, "injection_time_s"], kind="stable").reset_index(drop=True)
    roles = {drug: drug_role(drug) for drug in table["drug"].unique()}
    table["role"] = table["drug"].map(roles)
    table["inhibition_pct"] = BASELINE_PCT - table["pct_baseline"]
    return table


def unit_dose_response(
    doses: pd.DataFrame,
    params: FitParams = DEFAULT_FIT_PARAMS,
    *,
    recovery_pct: float = RECOVERY_PCT_BASELINE,
) -> pd.DataFrame:
    """Hill fit and reversal per recording, unit and dose-response drug.

    Every drug that is neither a 5-HT1A antagonist nor a vehicle gets a row.
    The model describes inhibition: a drug that raises firing (bicuculline)
    gets ``fit_status="no_response"`` and a negative
    ``observed_max_inhibition_pct``.
    Reversal is computed for 5-HT1A agonists only. Each antagonist injection
    belongs to the agonist series of the same unit that ended last before it;
    the last such window gives ``reversal_pct_baseline`` and ``reversal_pct``
    is the share of the inhibition at the highest agonist dose that it undid,
    ``100 * (after - at_max) / (100 - at_max)``, NaN when the inhibition at
    the highest dose is below ``params.min_inhibition_pct`` (nothing to undo).
    A unit silent at the highest dose that did not recover after the
    antagonist (below ``recovery_pct`` % of baseline) is
    ``fit_status="unit_lost"``. Drugs that the drug table marks as full
    agonists at the DRN autoreceptor get a bottom fixed at 0 % (unless
    ``params.free_bottom``). With a ``noise_sd_pct`` column (as
    :func:`rapheunit.core.epochs.dose_rates` gives) the response at the highest
    dose is tested against its noise (:mod:`rapheunit.doseresponse.gates`).

    Parameters
    ----------
    doses : pandas.DataFrame
        Per unit and injection (see :func:`dose_responses`).
    params : FitParams
        Fit choices.
    recovery_pct : float
        Firing after the antagonist that counts as recovered
        (:data:`rapheunit.core.epochs.RECOVERY_PCT_BASELINE`).

    Returns
    -------
    pandas.DataFrame
        One row per recording, unit and drug: ``recording, unit, drug, role,
        ed50, ed50_unit``, the :class:`HillFit` fields, ``pct_at_max_dose``,
        ``reversal_pct_baseline`` and ``reversal_pct``.

    Examples
    --------
    >>> cumulative = [10.0, 20.0, 40.0, 80.0, 160.0]
    >>> table = pd.DataFrame({"recording": "r", "unit": "u",
    ...     "drug": ["ipsapirone"] * 5 + ["WAY-100635"], "dose_unit": "ug/kg",
    ...     "cumulative_dose": [*cumulative, 100.0], "injection_time_s": np.arange(6.0) * 180,
    ...     "rate_hz": 1.0, "pct_baseline": [90.0, 70.0, 45.0, 25.0, 15.0, 83.0]})
    >>> row = unit_dose_response(table).iloc[0]
    >>> row["fit_status"], round(float(row["reversal_pct"]), 1)
    ('ok', 80.0)
    """
    table = dose_responses(doses)
    responses = table[~table["role"].isin(NON_DOSE_RESPONSE_ROLES)].sort_values(
        [*UNIT_KEY, "drug", "cumulative_dose", "injection_time_s"], kind="stable"
    )
    keys = _series_keys(responses)
    grouped = responses.groupby([*UNIT_KEY, "drug"], sort=False)
    group, position = grouped.ngroup().to_numpy(), grouped.cumcount().to_numpy()
    dose, response, noise = (
        _padded(responses, column, group, position, len(keys))
        for column in ("cumulative_dose", "pct_baseline", "noise_sd_pct")
    )
    keys["pct_at_max_dose"] = at_highest_dose(dose, response, np.isfinite(dose * response))
    reversal = _reversal(table, responses, keys, params.min_inhibition_pct)
    fits = fit_hill_batch(
        dose,
        response,
        params,
        recovered=~(reversal["reversal_pct_baseline"] < recovery_pct),
        full_agonist=keys["drug"].map(is_full_agonist_at_drn).to_numpy(bool),
        noise_sd_pct=noise,
    )
    result = pd.concat([keys, fits, reversal], axis=1)
    return result[[*OUTPUT_COLUMNS, *(c for c in result.columns if c not in OUTPUT_COLUMNS)]]


OUTPUT_COLUMNS = (
    "recording",
    "unit",
    "drug",
    "role",
    "ed50",
    "ed50_unit",
    "ed50_ci_low",
    "ed50_ci_high",
    "ed50_is_lower_bound",
    "ed50_absolute",
    "ed50_absolute_is_lower_bound",
    "hill_slope",
    "max_inhibition_pct",
    "fit_status",
    "fit_r2",
    "n_doses",
    "reversal_pct",
)


def _series_keys(responses: pd.DataFrame) -> pd.DataFrame:
    """One row per (recording, unit, drug) in group order, with its role and dose unit."""
    keys = responses.groupby([*UNIT_KEY, "drug"], sort=False).agg(
        role=("role", "first"),
        ed50_unit=("dose_unit", "first"),
        n_dose_units=("dose_unit", "nunique"),
    )
    mixed = keys[keys["n_dose_units"] > 1]
    if len(mixed):
        recording, unit, drug = mixed.index[0]
        raise BadDoseTableError(
            f"{recording}/{unit}: {drug} doses mix dose units; cumulative doses need one unit"
        )
    return keys.drop(columns="n_dose_units").reset_index()


def _padded(
    responses: pd.DataFrame, column: str, group: np.ndarray, position: np.ndarray, n_groups: int
) -> np.ndarray:
    """(n_groups, max_doses) values of ``column``, NaN-padded (all NaN when it is absent)."""
    width = int(position.max()) + 1 if position.size else 1
    padded = np.full((n_groups, width), np.nan)
    if column in responses.columns:
        padded[group, position] = responses[column].to_numpy(dtype=np.float64)
    return padded


def _reversal(
    table: pd.DataFrame, responses: pd.DataFrame, keys: pd.DataFrame, min_inhibition_pct: float
) -> pd.DataFrame:
    """Per series: firing after the antagonist and the share of inhibition it undid."""
    agonist_ends = (
        responses[responses["role"] == AGONIST]
        .groupby([*UNIT_KEY, "drug"], sort=False)["injection_time_s"]
        .max()
        .rename("series_end_s")
        .reset_index()
        .sort_values("series_end_s", kind="stable")
    )
    antagonists = table.loc[
        table["role"] == ANTAGONIST, [*UNIT_KEY, "injection_time_s", "pct_baseline"]
    ].sort_values("injection_time_s", kind="stable")
    assigned = pd.merge_asof(
        antagonists,
        agonist_ends,
        left_on="injection_time_s",
        right_on="series_end_s",
        by=list(UNIT_KEY),
        direction="backward",
        allow_exact_matches=False,
    ).dropna(subset=["series_end_s"])
    after = (
        assigned.sort_values("injection_time_s", kind="stable")
        .groupby([*UNIT_KEY, "drug"], sort=False)["pct_baseline"]
        .last()
        .rename("reversal_pct_baseline")
    )
    merged = keys.merge(after, on=[*UNIT_KEY, "drug"], how="left")
    at_max = merged["pct_at_max_dose"].to_numpy(dtype=np.float64)
    after_pct = merged["reversal_pct_baseline"].to_numpy(dtype=np.float64)
    inhibition = BASELINE_PCT - at_max
    with np.errstate(divide="ignore", invalid="ignore"):
        undone = 100.0 * (after_pct - at_max) / inhibition
    undone[~((inhibition > 0) & (inhibition >= min_inhibition_pct))] = np.nan
    return pd.DataFrame(
        {"reversal_pct_baseline": after_pct, "reversal_pct": undone}, index=keys.index
    )

