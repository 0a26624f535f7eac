"""Which units are fitted: the rules applied before any Hill fit, and their statuses.

A unit is fitted only when its data can carry a dose-response curve. In the
order they are applied (a later rule wins, so a lost unit is reported as lost
whatever else holds):

``no_response``
    No dose inhibited firing by ``min_inhibition_pct`` (a floor on the effect
    size, whatever the noise).
``no_significant_response``
    Firing at the highest dose is not below baseline by more than its own
    noise: the one-sided test of :func:`response_test` at ``response_alpha``.
``too_few_doses``
    Fewer distinct doses than ``min_doses``.
``unit_lost``
    Silent at the highest dose and not recovered after the antagonist: the
    silence may be a lost unit rather than a drug effect.
"""

from __future__ import annotations

import numpy as np

from rapheunit.core.distributions import norm_sf
from rapheunit.doseresponse.hill import BASELINE_PCT, FitParams
from rapheunit.doseresponse.profile import FitData


def n_distinct_doses(dose: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Distinct finite doses per row of a NaN-padded ``(n_units, max_doses)`` array."""
    ordered = np.sort(np.where(valid, dose, np.nan), axis=1)  # NaN sorts last
    changed = ordered[:, 1:] != ordered[:, :-1]
    new_value = np.concatenate([np.ones((dose.shape[0], 1), bool), changed], axis=1)
    return (new_value & np.isfinite(ordered)).sum(axis=1)


def observed_max_inhibition(response: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``100 - lowest % of baseline`` per row; NaN for a row without data."""
    lowest = np.where(valid, response, np.inf).min(axis=1)
    return np.where(np.isfinite(lowest), BASELINE_PCT - lowest, np.nan)


def at_highest_dose(dose: np.ndarray, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per row, ``values`` at the highest valid dose (NaN for a row without data).

    Examples
    --------
    >>> dose = np.array([[10.0, 20.0, np.nan]])
    >>> at_highest_dose(dose, np.array([[80.0, 30.0, np.nan]]), np.isfinite(dose)).tolist()
    [30.0]
    """
    top_index = np.where(valid, dose, -np.inf).argmax(axis=1)
    at_top = values[np.arange(dose.shape[0]), top_index]
    return np.where(valid.any(axis=1), at_top, np.nan)


def response_test(pct_at_top: np.ndarray, noise_sd_at_top: np.ndarray) -> tuple[np.ndarray, ...]:
    """One-sided z test that firing at the highest dose is below baseline.

    ``z = (100 - pct) / sd`` where ``sd`` is the SD the % of baseline would have
    with no drug effect (from the baseline's own spike-count variability; see
    :func:`rapheunit.core.epochs.dose_rates`, column ``noise_sd_pct``).

    Returns
    -------
    z, p : numpy.ndarray
        NaN where the noise is unknown (then the test is not applied).

    Examples
    --------
    >>> z, p = response_test(np.array([80.0, 95.0]), np.array([5.0, 5.0]))
    >>> z.tolist(), (p < 0.01).tolist()
    ([4.0, 1.0], [True, False])
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(noise_sd_at_top > 0, (BASELINE_PCT - pct_at_top) / noise_sd_at_top, np.nan)
    return z, norm_sf(z)


def prefit_status(
    data: FitData,
    recovered: np.ndarray,
    response_p: np.ndarray,
    params: FitParams,
) -> np.ndarray:
    """The status of each unit before fitting: a rule's name, or ``"ok"`` to fit it."""
    valid = data.weight > 0
    observed = observed_max_inhibition(data.response, valid)
    silent_at_top_dose = at_highest_dose(data.log_dose, data.response, valid) <= 0
    status = np.full(valid.shape[0], "ok", dtype=object)
    status[~(observed >= params.min_inhibition_pct)] = "no_response"
    status[(status == "ok") & (response_p >= params.response_alpha)] = "no_significant_response"
    status[n_distinct_doses(data.log_dose, valid) < params.min_doses] = "too_few_doses"
    status[~recovered & silent_at_top_dose] = "unit_lost"
    return status
