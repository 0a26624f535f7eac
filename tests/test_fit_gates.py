"""The science of the per-unit fits on cells the fitter does not assume (issue: signable numbers).

Every expected value is computed here from the generating curve or the spike times:
non-responders (irregular slow cells with no drug effect), partial responders whose true
ED50 lies near or beyond the top dose, lost units and antagonists after a series.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rapheunit.core.epochs import dose_rates
from rapheunit.core.model import Injection, Recording, Unit
from rapheunit.doseresponse.fits import fit_hill, unit_dose_response
from rapheunit.measures.timecourse import timecourse_metrics, timecourse_table

BASELINE_S = 180.0
INTERVAL_S = 180.0
FIRST_DOSE = 5.0


def gamma_renewal(
    rate_hz: np.ndarray, step_s: float, cv: float, rng: np.random.Generator
) -> np.ndarray:
    """Spike times of a gamma renewal process with a piecewise-constant rate (time rescaling)."""
    intensity = np.concatenate(([0.0], np.cumsum(rate_hz * step_s)))
    grid = np.arange(intensity.size) * step_s
    shape = 1.0 / cv**2
    operational = np.cumsum(rng.gamma(shape, 1.0 / shape, int(intensity[-1] * 1.3) + 50))
    return np.interp(operational[operational < intensity[-1]], intensity, grid)


def doubling_series(n_doses: int) -> tuple[np.ndarray, np.ndarray]:
    """Injection times and cumulative doses of a doubling i.v. series (5, 10, 20, ... ug/kg)."""
    cumulative = FIRST_DOSE * 2.0 ** np.arange(n_doses)
    return BASELINE_S + INTERVAL_S * np.arange(n_doses), cumulative


def series_recording(
    name: str,
    fractions: np.ndarray,
    n_doses: int,
    *,
    base_hz: float,
    cv: float,
    rng: np.random.Generator,
    after_antagonist: float | None = None,
) -> Recording:
    """One unit: ``fractions[k]`` of ``base_hz`` after the k-th dose, then WAY-100635."""
    times, cumulative = doubling_series(n_doses)
    amounts = np.diff(np.concatenate(([0.0], cumulative)))
    injections = [
        Injection(float(t), "ipsapirone", float(a), "ug/kg", float(c))
        for t, a, c in zip(times, amounts, cumulative, strict=True)
    ]
    t_stop = times[-1] + INTERVAL_S
    if after_antagonist is not None:
        injections.append(Injection(float(t_stop), "WAY-100635", 100.0, "ug/kg", 100.0))
        t_stop += INTERVAL_S
    step_s = 0.05
    grid = np.arange(0.0, t_stop, step_s)
    level = np.ones_like(grid)
    for start, fraction in zip(times, fractions, strict=True):
        level[grid >= start] = fraction
    if after_antagonist is not None:
        level[grid >= times[-1] + INTERVAL_S] = after_antagonist
    spikes = gamma_renewal(base_hz * level, step_s, cv, rng)
    return Recording(name, Path(f"{name}.csv"), 0.0, float(t_stop), [Unit("u", spikes)],
                     injections)


def hill_fraction(cumulative: np.ndarray, ed50: float, slope: float, max_inh: float) -> np.ndarray:
    return 1.0 - max_inh * cumulative**slope / (cumulative**slope + ed50**slope)


def half_rate_dose(ed50: float, slope: float, max_inh: float) -> float:
    """Dose at which 1 - m D^h / (D^h + E^h) = 1/2: D = E (0.5 / (m - 0.5))^(1/h)."""
    return ed50 * (0.5 / (max_inh - 0.5)) ** (1.0 / slope)


def fitted(recordings: list[Recording]) -> pd.DataFrame:
    doses = pd.concat([dose_rates(r) for r in recordings], ignore_index=True)
    return unit_dose_response(doses)


@pytest.mark.slow
def test_non_responders_rarely_get_an_ed50() -> None:
    rng = np.random.default_rng(7)
    recordings = [
        series_recording(f"nr{k}", np.ones(6), 6, base_hz=0.6, cv=0.8, rng=rng)
        for k in range(200)
    ]
    fits = fitted(recordings)
    point_ed50 = (fits["fit_status"] == "ok") & ~fits["ed50_is_lower_bound"]
    assert point_ed50.mean() <= 0.05
    assert set(fits["fit_status"]) <= {"no_response", "no_significant_response", "ok"}


@pytest.mark.slow
def test_responders_ed50_is_right_or_a_correct_lower_bound() -> None:
    rng = np.random.default_rng(11)
    recordings, truth, top = [], {}, {}
    for k in range(120):
        n_doses = 6 if k % 2 else 7  # top cumulative doses 160 and 320 ug/kg
        ed50 = float(np.exp(rng.uniform(np.log(40.0), np.log(250.0))))
        slope = rng.uniform(1.0, 2.5)
        max_inh = rng.uniform(0.9, 1.0)
        _, cumulative = doubling_series(n_doses)
        fractions = hill_fraction(cumulative, ed50, slope, max_inh)
        recordings.append(
            series_recording(f"r{k}", fractions, n_doses, base_hz=rng.uniform(0.8, 2.0),
                             cv=rng.uniform(0.15, 0.4), rng=rng)
        )
        truth[f"r{k}"] = half_rate_dose(ed50, slope, max_inh)
        top[f"r{k}"] = cumulative[-1]
    fits = fitted(recordings)
    true_ed50 = fits["recording"].map(truth).to_numpy()
    top_dose = fits["recording"].map(top).to_numpy()
    reported = fits["ed50_absolute"].to_numpy()
    lower = fits["ed50_absolute_is_lower_bound"].to_numpy(bool)
    ok = (fits["fit_status"] == "ok").to_numpy()
    within = ok & ~lower & (np.abs(np.log(reported / true_ed50)) < np.log(1.5))
    right_bound = ok & lower & (true_ed50 >= reported) & np.isclose(reported, top_dose)
    assert (within | right_bound).mean() >= 0.90


def test_a_partial_responder_near_the_top_dose_is_fitted_with_the_bottom_at_zero() -> None:
    # The drn02 unit1: ED50 125 ug/kg, Hill 1.93, 91 % maximal inhibition, top 160.
    _, cumulative = doubling_series(6)
    pct = 100.0 * hill_fraction(cumulative, 125.0, 1.93, 0.91)
    fit = fit_hill(cumulative, pct, full_agonist=True)
    truth = half_rate_dose(125.0, 1.93, 0.91)
    assert fit.bottom_fixed and fit.bottom_pct == 0.0
    assert abs(np.log(fit.ed50_absolute / truth)) < np.log(1.2)
    assert not fit.hill_slope_at_bound


def test_a_slope_on_its_bound_is_flagged() -> None:
    _, cumulative = doubling_series(6)
    step = np.where(cumulative < 30.0, 100.0, 20.0)  # a step: the slope runs to its upper bound
    fit = fit_hill(cumulative, step)
    assert fit.fit_status == "ok"
    assert fit.hill_slope_at_bound
    smooth = fit_hill(cumulative, 100.0 * hill_fraction(cumulative, 30.0, 1.5, 0.8))
    assert not smooth.hill_slope_at_bound and not smooth.bottom_pct_at_bound


def test_absolute_ed50_is_the_dose_that_halves_firing() -> None:
    _, cumulative = doubling_series(7)
    ed50, slope, bottom = 40.0, 1.5, 30.0
    fraction = 1.0 / (1.0 + (ed50 / cumulative) ** slope)
    pct = 100.0 - (100.0 - bottom) * fraction
    fit = fit_hill(cumulative, pct)
    # 100 - 70 f = 50 -> f = 5/7; f / (1 - f) = (D / ED50)^h
    expected = ed50 * (5.0 / 2.0) ** (1.0 / slope)
    assert fit.ed50_absolute == pytest.approx(expected, rel=1e-4)
    never_half = fit_hill(cumulative, 100.0 - 40.0 * fraction)  # bottom 60 %: never at 50 %
    assert never_half.ed50_absolute_is_lower_bound
    assert never_half.ed50_absolute == pytest.approx(cumulative[-1])


def test_a_unit_that_fires_once_after_the_antagonist_is_still_lost() -> None:
    rng = np.random.default_rng(3)
    fractions = np.array([0.8, 0.5, 0.2, 0.0, 0.0, 0.0])
    recording = series_recording("lost", fractions, 6, base_hz=1.5, cv=0.2, rng=rng,
                                 after_antagonist=0.0)
    unit = recording.units[0]
    way_start = recording.injections[-1].time_s
    one_spike = np.sort(np.append(unit.spike_times, recording.t_stop - 10.0))
    assert one_spike[one_spike >= way_start].size == 1
    recording.units[0] = Unit("u", one_spike)
    fits = fitted([recording])
    assert fits.loc[0, "reversal_pct_baseline"] > 0  # it did fire ...
    assert fits.loc[0, "fit_status"] == "unit_lost"  # ... but far below half of baseline


def test_an_antagonist_after_a_series_is_measured_against_the_level_before_it() -> None:
    rng = np.random.default_rng(5)
    fractions = np.array([0.9, 0.7, 0.4, 0.2])
    recording = series_recording("rev", fractions, 4, base_hz=1.5, cv=0.2, rng=rng,
                                 after_antagonist=0.95)
    table = timecourse_table(recording)
    assert set(table["drug"]) == {"WAY-100635"}
    way = recording.injections[-1].time_s
    spikes = recording.units[0].spike_times
    before = np.count_nonzero((spikes >= way - 60.0) & (spikes < way)) / 60.0
    first_bin = table[table["bin_start_s"] == 0.0].iloc[0]
    assert (table["reference"] == "pre_injection").all()
    assert first_bin["pct_reference"] == pytest.approx(100.0 * first_bin["rate_hz"] / before)
    metrics = timecourse_metrics(table)
    assert np.isnan(metrics.loc[0, "max_effect_pct"])
    assert "before it" in metrics.loc[0, "note"]
