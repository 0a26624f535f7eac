"""Spike trains of the simulated units: drug effect, drift and a time-rescaled renewal rhythm.

Firing model
------------
Rhythm events form a renewal process with gamma intervals (shape
``1 / cv**2``, mean 1) in *operational time*, mapped to real time through the
inverse of the cumulative intensity (time rescaling). A time-varying rate thus
keeps the cell's regularity, and a rate of zero produces no spikes. Burst-firing
cells add a second spike to a share of the events. The rate is

``baseline * drift(t) * drug(t)``, with
``drug(t) = 1 - max_inhibition * D(t)**h / (D(t)**h + ED50**h)`` for
responding cells, where ``D(t)`` is the cumulative ipsapirone dose in effect,
approaching each new level exponentially after each injection. After
WAY-100635 the drug term relaxes exponentially to ``recovery_fraction``.
``drift`` is a slow log-normal Ornstein-Uhlenbeck fluctuation of a few percent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from rapheunit.core.model import Injection
from rapheunit.simulate.celltypes import DOUBLET_GAP_MS, Range
from rapheunit.simulate.schedule import AGONIST, ANTAGONIST
from rapheunit.simulate.waveforms import WAVEFORM_SAMPLING_RATE_HZ

# After an i.v. bolus the effective dose reaches its new level within ~1-2 min (3 tau).
AGONIST_TAU_S: Range = (20.0, 40.0)
# Firing recovers within ~1-2 min of WAY-100635 (Forster et al. 1995).
ANTAGONIST_TAU_S: Range = (20.0, 40.0)
# Slow baseline drift: relative SD and correlation time of the log-rate fluctuation.
DRIFT_SD: Range = (0.02, 0.05)
DRIFT_TAU_S = 120.0
# Step of the piecewise-constant rate; far shorter than every time constant above.
RATE_STEP_S = 0.1
# Absolute refractory period (also a window discriminator's dead time).
REFRACTORY_S = 0.001


@dataclass(frozen=True)
class UnitTruth:
    """Drawn parameters of one simulated unit; field names are the truth keys."""

    cell_type: str
    expected_class: str
    subtype: str
    baseline_rate_hz: float
    cv_isi: float
    doublet_fraction: float
    responds: bool
    ed50_ug_kg: float | None
    hill_slope: float | None
    max_inhibition: float
    recovery_fraction: float | None
    drift_sd: float
    waveform_shape: str
    waveform_total_ms: float
    waveform_first_phase_ms: float
    peak_to_trough_ms: float
    half_width_ms: float
    amplitude_uv: float
    snr: float


def _agonist_level(
    times_s: np.ndarray, injections: Sequence[Injection], tau_s: float
) -> np.ndarray:
    """Cumulative agonist dose in effect, each increment approached with time constant tau."""
    agonist = [injection for injection in injections if injection.drug == AGONIST]
    injection_times = np.array([injection.time_s for injection in agonist])
    doses = np.array([injection.dose for injection in agonist])
    elapsed = np.clip(times_s[:, None] - injection_times[None, :], 0.0, None)
    return (-np.expm1(-elapsed / tau_s) * doses).sum(axis=1)


def _drug_factor(
    times_s: np.ndarray, truth: UnitTruth, injections: Sequence[Injection], taus: dict[str, float]
) -> np.ndarray:
    """Fraction of baseline rate under the drugs (Hill inhibition, antagonist recovery)."""
    if not truth.responds:
        return np.ones_like(times_s)
    dose = _agonist_level(times_s, injections, taus["agonist_tau_s"]) ** truth.hill_slope
    occupancy = dose / (dose + truth.ed50_ug_kg**truth.hill_slope)
    factor = 1.0 - truth.max_inhibition * occupancy
    for injection in injections:
        if injection.drug == ANTAGONIST:
            since = np.clip(times_s - injection.time_s, 0.0, None)
            blocked = -np.expm1(-since / taus["antagonist_tau_s"])
            factor = factor * (1.0 - blocked) + truth.recovery_fraction * blocked
    return factor


def _drift(n_steps: int, drift_sd: float, rng: np.random.Generator) -> np.ndarray:
    """Slow multiplicative drift: exp of a stationary Ornstein-Uhlenbeck process."""
    decay = np.exp(-RATE_STEP_S / DRIFT_TAU_S)
    shocks = rng.standard_normal(n_steps) * drift_sd * np.sqrt(1.0 - decay**2)
    shocks[0] /= np.sqrt(1.0 - decay**2)  # stationary start
    return np.exp(lfilter([1.0], [1.0, -decay], shocks))


def _operational_events(total: float, shape: float, rng: np.random.Generator) -> np.ndarray:
    """Gamma renewal events of unit mean interval on [0, total), started in equilibrium."""
    # Equilibrium start: a uniform point inside a length-biased interval, Gamma(k + 1).
    chunks = [np.array([rng.gamma(shape + 1.0, 1.0 / shape) * rng.uniform()])]
    while chunks[-1][-1] < total:
        remaining = total - chunks[-1][-1]
        count = int(remaining + 5.0 * np.sqrt(remaining / shape)) + 16
        chunks.append(chunks[-1][-1] + np.cumsum(rng.gamma(shape, 1.0 / shape, size=count)))
    events = np.concatenate(chunks)
    return events[events < total]


def _time_rescaled_events(rate_hz: np.ndarray, cv: float, rng: np.random.Generator) -> np.ndarray:
    """Map operational-time renewal events through the inverse cumulative intensity."""
    cumulative = np.concatenate(([0.0], np.cumsum(rate_hz * RATE_STEP_S)))
    events = _operational_events(float(cumulative[-1]), 1.0 / cv**2, rng)
    # side="right" never lands in a zero-rate step, whose cumulative values are equal.
    steps = np.searchsorted(cumulative, events, side="right") - 1
    return (steps + (events - cumulative[steps]) / (rate_hz[steps] * RATE_STEP_S)) * RATE_STEP_S


def spike_times(
    truth: UnitTruth,
    injections: Sequence[Injection],
    taus: dict[str, float],
    t_stop: float,
    rng: np.random.Generator,
) -> np.ndarray:
    n_steps = int(np.ceil(t_stop / RATE_STEP_S))
    step_centers = (np.arange(n_steps) + 0.5) * RATE_STEP_S
    event_rate_hz = truth.baseline_rate_hz / (1.0 + truth.doublet_fraction)
    rate_hz = (
        event_rate_hz
        * _drift(n_steps, truth.drift_sd, rng)
        * _drug_factor(step_centers, truth, injections, taus)
    )
    events = _time_rescaled_events(rate_hz, truth.cv_isi, rng)
    is_doublet = rng.random(events.size) < truth.doublet_fraction
    gaps_s = rng.uniform(*DOUBLET_GAP_MS, size=events.size) / 1000.0
    times = np.sort(np.concatenate((events, events[is_doublet] + gaps_s[is_doublet])))
    # Deleting spikes closer than the refractory period to their predecessor
    # leaves every kept interval >= REFRACTORY_S (the predecessor is never later).
    times = times[np.concatenate(([True], np.diff(times) >= REFRACTORY_S))]
    # Spike times on the 25 kHz sample grid, as a digitiser reports them.
    times = np.round(times * WAVEFORM_SAMPLING_RATE_HZ) / WAVEFORM_SAMPLING_RATE_HZ
    return times[times < t_stop]

