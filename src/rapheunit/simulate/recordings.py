"""Simulated DRN single-unit recordings with known ground truth.

A simulated experiment is a 300 s baseline, ipsapirone i.v. in cumulative
doubling doses (one injection per dose window), then WAY-100635 to reverse the
inhibition, then a tail. Each unit is one of the cell types of
:mod:`rapheunit.simulate.celltypes`; its parameters are drawn from that table and
returned as a truth dictionary next to the :class:`~rapheunit.core.model.Recording`.

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

Waveform definitions
--------------------
Spike templates are sums of contiguous half-sine phases (see
:func:`spike_template`); the durations a measurement should find are known
exactly. They follow the definitions below, shared with
:mod:`rapheunit.measures.waveform`:

- total duration: from onset, the first point where ``|w|`` exceeds
  :data:`ONSET_FRACTION` of the peak absolute amplitude before the first phase,
  to return to baseline, the last point where ``|w|`` exceeds that level after
  the last phase;
- first-phase duration: from onset to the end of the first phase (the first
  zero crossing);
- half-width: width of the largest phase at :data:`HALF_AMPLITUDE_FRACTION` of
  its amplitude;
- peak-to-trough: time from the largest negative extremum to the following
  positive maximum.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import lfilter

from rapheunit.core.errors import BadParameterError, check_option, check_positive, validate_type
from rapheunit.core.model import Injection, Recording, Unit
from rapheunit.simulate.celltypes import (
    AMPLITUDE_UV,
    CELL_TYPES,
    DOUBLET_GAP_MS,
    ED50_UG_KG,
    HILL_SLOPE,
    MAX_INHIBITION,
    RECOVERY_FRACTION,
    SNR,
    WAVEFORM_SHAPES,
    CellType,
    Phase,
    Range,
)

__all__ = [
    "CELL_TYPES",
    "DEFAULT_DATASET",
    "HALF_AMPLITUDE_FRACTION",
    "ONSET_FRACTION",
    "PEAK_MS",
    "WAVEFORM_SAMPLING_RATE_HZ",
    "CellType",
    "WaveformDurations",
    "simulate_recording",
    "spike_template",
    "template_durations",
    "write_dataset",
    "write_recording",
]

# Waveform snippets: 4 ms at 25 kHz with the trough 1 ms after the snippet start
# (neo's left_sweep), as stored by common spike-sorting rigs.
WAVEFORM_SAMPLING_RATE_HZ = 25_000.0
SNIPPET_SAMPLES = 100
PEAK_MS = 1.0
# Onset / return to baseline: |w| above 5 % of the peak absolute amplitude.
ONSET_FRACTION = 0.05
# Half-width is measured at half the amplitude of the largest phase.
HALF_AMPLITUDE_FRACTION = 0.5
# Per-spike amplitude jitter (relative SD) on top of the additive noise.
AMPLITUDE_JITTER_SD = 0.05

AGONIST = "ipsapirone"
ANTAGONIST = "WAY-100635"
# WAY-100635 0.1 mg/kg i.v. fully reverses 5-HT1A agonist inhibition (Forster et al. 1995).
ANTAGONIST_DOSE_UG_KG = 100.0
DOSE_UNIT = "ug/kg"
# Recording continues this long after the last dose window (antagonist given at its start).
TAIL_S = 300.0
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

# Fixed, documented start time so simulated NWB files do not depend on the clock.
SIMULATED_SESSION_START = datetime(2000, 1, 1, tzinfo=UTC)
# Name of the marker channel in NIX and NWB files.
MARKER_CHANNEL = "Markers"

# (name, cell types, format) of the example data set in recordings/.
DEFAULT_DATASET: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("drn01_5ht_clock", ("5ht_clock",), "nix"),
    ("drn02_mixed", ("5ht_burst", "slow_irregular"), "nix"),
    ("drn03_mixed", ("5ht_clock", "fast_irregular", "fast_regular"), "nwb"),
    ("drn04_slow_irregular", ("slow_irregular",), "csv"),
    ("drn05_burst_fast", ("5ht_burst", "fast_irregular"), "csv"),
)


@dataclass(frozen=True)
class WaveformDurations:
    """Exact durations (ms) of a noiseless template, per the module's definitions."""

    total_ms: float
    first_phase_ms: float
    peak_to_trough_ms: float
    half_width_ms: float


@dataclass(frozen=True)
class _Layout:
    """Phases of a template in ms from the start of its support."""

    starts_ms: np.ndarray
    durations_ms: np.ndarray
    amplitudes: np.ndarray

    @property
    def largest(self) -> int:
        return int(np.argmin(self.amplitudes))

    def center_ms(self, phase: int) -> float:
        return float(self.starts_ms[phase] + self.durations_ms[phase] / 2.0)


@dataclass(frozen=True)
class _UnitTruth:
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


def _threshold_offset(phase: Phase, duration_ms: float) -> float:
    """Time from a half-sine phase's zero to where it crosses the onset threshold."""
    return duration_ms * float(np.arcsin(ONSET_FRACTION / abs(phase.amplitude))) / np.pi


def _layout(total_ms: float, shape: str) -> _Layout:
    phases = WAVEFORM_SHAPES[check_option(shape, WAVEFORM_SHAPES, "shape")]
    check_positive(total_ms, "total_ms")
    # Total duration is the support minus the sub-threshold rise and decay, both
    # proportional to the support, so the support follows in closed form.
    first, last = phases[0], phases[-1]
    support_ms = total_ms / (
        1.0 - _threshold_offset(first, first.fraction) - _threshold_offset(last, last.fraction)
    )
    durations = support_ms * np.array([phase.fraction for phase in phases])
    starts = np.concatenate(([0.0], np.cumsum(durations)[:-1]))
    return _Layout(starts, durations, np.array([phase.amplitude for phase in phases]))


def template_durations(total_ms: float, shape: str = "triphasic") -> WaveformDurations:
    """Durations a measurement must find on the noiseless :func:`spike_template`.

    Parameters
    ----------
    total_ms : float
        Requested total duration (onset to return to baseline), ms.
    shape : str
        ``"triphasic"`` or ``"biphasic"`` (see ``celltypes.WAVEFORM_SHAPES``).

    Returns
    -------
    WaveformDurations
        Total, first-phase, peak-to-trough and half-width durations in ms.

    Examples
    --------
    >>> durations = template_durations(2.2, "triphasic")
    >>> round(durations.total_ms, 6)
    2.2
    >>> durations.half_width_ms < durations.peak_to_trough_ms < durations.total_ms
    True
    """
    layout = _layout(total_ms, shape)
    phases = WAVEFORM_SHAPES[shape]
    trough = layout.largest
    following = trough + 1 + int(np.argmax(layout.amplitudes[trough + 1 :]))
    # Width of a half-sine above a fraction q of its peak is d * (1 - 2 asin(q) / pi).
    half_width = layout.durations_ms[trough] * (
        1.0 - 2.0 * np.arcsin(HALF_AMPLITUDE_FRACTION) / np.pi
    )
    first_duration = float(layout.durations_ms[0])
    return WaveformDurations(
        total_ms=float(total_ms),
        first_phase_ms=first_duration - _threshold_offset(phases[0], first_duration),
        peak_to_trough_ms=layout.center_ms(following) - layout.center_ms(trough),
        half_width_ms=float(half_width),
    )


def spike_template(
    total_ms: float,
    *,
    shape: str = "triphasic",
    amplitude_uv: float = 100.0,
    sampling_rate_hz: float = WAVEFORM_SAMPLING_RATE_HZ,
    n_samples: int = SNIPPET_SAMPLES,
    peak_ms: float = PEAK_MS,
) -> np.ndarray:
    """Noiseless extracellular spike template with an exactly known total duration.

    The template is a run of contiguous half-sine phases with alternating sign
    (``celltypes.WAVEFORM_SHAPES``): phase ``j`` spans ``d_j`` ms and equals
    ``a_j * amplitude_uv * sin(pi * (t - start_j) / d_j)``. The largest phase is
    negative with depth ``amplitude_uv`` and its trough sits at ``peak_ms``.
    Phase lengths are scaled so that the total duration (module docstring)
    equals ``total_ms``; :func:`template_durations` gives the other durations.

    Parameters
    ----------
    total_ms : float
        Total duration: onset to return to baseline at 5 % of the peak, ms.
    shape : str
        ``"triphasic"`` (broad 5-HT-like) or ``"biphasic"`` (narrow).
    amplitude_uv : float
        Depth of the trough, uV.
    sampling_rate_hz : float
        Sampling rate of the returned samples.
    n_samples : int
        Snippet length in samples.
    peak_ms : float
        Time of the trough from the first sample, ms.

    Returns
    -------
    numpy.ndarray
        ``(n_samples,)`` template in uV; sample ``k`` is at ``k / sampling_rate_hz``.

    Examples
    --------
    >>> template = spike_template(2.2, amplitude_uv=100.0)
    >>> template.shape, int(np.argmin(template)), float(round(template.min(), 1))
    ((100,), 25, -100.0)
    """
    check_positive(amplitude_uv, "amplitude_uv")
    check_positive(sampling_rate_hz, "sampling_rate_hz")
    check_positive(peak_ms, "peak_ms")
    validate_type(n_samples, int, "n_samples")
    layout = _layout(total_ms, shape)
    support_start_ms = peak_ms - layout.center_ms(layout.largest)
    support_end_ms = support_start_ms + float(layout.durations_ms.sum())
    snippet_ms = 1000.0 * n_samples / sampling_rate_hz
    if support_start_ms < 0 or support_end_ms > snippet_ms:
        raise BadParameterError(
            f"a {shape} spike of {total_ms} ms with its trough at {peak_ms} ms does not fit "
            f"in a {snippet_ms:g} ms snippet"
        )
    times_ms = 1000.0 * np.arange(n_samples) / sampling_rate_hz - support_start_ms
    template = np.zeros(n_samples)
    for start, duration, amplitude in zip(
        layout.starts_ms, layout.durations_ms, layout.amplitudes, strict=True
    ):
        inside = (times_ms >= start) & (times_ms < start + duration)
        template[inside] = amplitude * np.sin(np.pi * (times_ms[inside] - start) / duration)
    return amplitude_uv * template


def _dose_label(drug: str, dose_ug_kg: float) -> str:
    # Labels follow the rig's marker grammar; the antagonist is noted in mg/kg.
    if drug == ANTAGONIST:
        return f"{drug} {dose_ug_kg / 1000.0:g} mg/kg i.v."
    return f"{drug} {dose_ug_kg:g} {DOSE_UNIT} i.v."


def _schedule(
    n_doses: int,
    first_dose_ug_kg: float,
    dose_interval_s: float,
    baseline_s: float,
    with_antagonist: bool,
) -> tuple[list[Injection], float]:
    """Injections (agonist doubling the cumulative dose, then antagonist) and t_stop."""
    cumulative = first_dose_ug_kg * 2.0 ** np.arange(n_doses)
    increments = np.diff(cumulative, prepend=0.0)
    injections = [
        Injection(
            time_s=baseline_s + index * dose_interval_s,
            drug=AGONIST,
            dose=float(dose),
            dose_unit=DOSE_UNIT,
            cumulative_dose=float(total),
            label=_dose_label(AGONIST, float(dose)),
            source="simulator",
        )
        for index, (dose, total) in enumerate(zip(increments, cumulative, strict=True))
    ]
    antagonist_time_s = baseline_s + n_doses * dose_interval_s
    if with_antagonist:
        injections.append(
            Injection(
                time_s=antagonist_time_s,
                drug=ANTAGONIST,
                dose=ANTAGONIST_DOSE_UG_KG,
                dose_unit=DOSE_UNIT,
                cumulative_dose=ANTAGONIST_DOSE_UG_KG,
                label=_dose_label(ANTAGONIST, ANTAGONIST_DOSE_UG_KG),
                source="simulator",
            )
        )
    return injections, antagonist_time_s + TAIL_S


def _uniform(rng: np.random.Generator, bounds: Range) -> float:
    return float(rng.uniform(*bounds))


def _draw_unit(
    cell: CellType,
    rng: np.random.Generator,
    ed50_ug_kg: float | None,
    hill_slope: float | None,
) -> _UnitTruth:
    """Draw one unit's parameters; every draw happens whatever the overrides."""
    low, high = np.log(ED50_UG_KG)
    drawn_ed50 = float(np.exp(rng.uniform(low, high)))
    drawn_hill = _uniform(rng, HILL_SLOPE)
    max_inhibition = _uniform(rng, MAX_INHIBITION)
    recovery_fraction = _uniform(rng, RECOVERY_FRACTION)
    total_ms = _uniform(rng, cell.waveform_total_ms)
    durations = template_durations(total_ms, cell.waveform_shape)
    return _UnitTruth(
        cell_type=cell.name,
        expected_class=cell.expected_class,
        subtype=cell.subtype,
        baseline_rate_hz=_uniform(rng, cell.baseline_rate_hz),
        cv_isi=_uniform(rng, cell.cv_isi),
        doublet_fraction=_uniform(rng, cell.doublet_fraction),
        responds=cell.responds,
        ed50_ug_kg=(drawn_ed50 if ed50_ug_kg is None else ed50_ug_kg) if cell.responds else None,
        hill_slope=(drawn_hill if hill_slope is None else hill_slope) if cell.responds else None,
        max_inhibition=max_inhibition if cell.responds else 0.0,
        recovery_fraction=recovery_fraction if cell.responds else None,
        drift_sd=_uniform(rng, DRIFT_SD),
        waveform_shape=cell.waveform_shape,
        waveform_total_ms=total_ms,
        waveform_first_phase_ms=durations.first_phase_ms,
        peak_to_trough_ms=durations.peak_to_trough_ms,
        half_width_ms=durations.half_width_ms,
        amplitude_uv=_uniform(rng, AMPLITUDE_UV),
        snr=_uniform(rng, SNR),
    )


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
    times_s: np.ndarray, truth: _UnitTruth, injections: Sequence[Injection], taus: dict[str, float]
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


def _spike_times(
    truth: _UnitTruth,
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


def _waveforms(truth: _UnitTruth, n_spikes: int, rng: np.random.Generator) -> np.ndarray:
    """Template with per-spike amplitude jitter plus white noise of SD amplitude / SNR."""
    template = spike_template(
        truth.waveform_total_ms, shape=truth.waveform_shape, amplitude_uv=truth.amplitude_uv
    )
    scales = 1.0 + AMPLITUDE_JITTER_SD * rng.standard_normal(n_spikes)
    # One noise draw for all spikes, scaled and shifted in place to save memory.
    waveforms = rng.standard_normal((n_spikes, template.size))
    waveforms *= truth.amplitude_uv / truth.snr
    waveforms += scales[:, None] * template
    return waveforms


def _per_unit(values: Sequence[float] | None, n_units: int, name: str) -> list[float | None]:
    """Validate an optional per-unit override list."""
    if values is None:
        return [None] * n_units
    if len(values) != n_units:
        raise BadParameterError(
            f"{name} must give one value per cell type ({n_units}), got {len(values)}"
        )
    return [check_positive(value, name) for value in values]


def _check_schedule(
    n_doses: int, first_dose_ug_kg: float, dose_interval_s: float, baseline_s: float
) -> None:
    validate_type(n_doses, int, "n_doses")
    if n_doses < 1:
        raise BadParameterError(f"n_doses must be >= 1, got {n_doses}")
    check_positive(first_dose_ug_kg, "first_dose_ug_kg")
    check_positive(dose_interval_s, "dose_interval_s")
    check_positive(baseline_s, "baseline_s")


def simulate_recording(
    name: str,
    cell_types: Sequence[str],
    *,
    seed: int,
    n_doses: int = 6,
    first_dose_ug_kg: float = 5.0,
    dose_interval_s: float = 180.0,
    baseline_s: float = 300.0,
    with_waveforms: bool = True,
    with_antagonist: bool = True,
    ed50_ug_kg: Sequence[float] | None = None,
    hill_slope: Sequence[float] | None = None,
) -> tuple[Recording, dict[str, Any]]:
    """Simulate one DRN recording with cumulative ipsapirone and WAY-100635.

    Parameters
    ----------
    name : str
        Recording name (file stem when written).
    cell_types : sequence of str
        One key of :data:`CELL_TYPES` per unit; units are ``"unit1"``, ``"unit2"``, ...
    seed : int
        Seed; the same arguments and seed give the same recording. Unit ``k``
        has its own random stream, so adding units leaves earlier ones unchanged.
    n_doses : int
        Number of ipsapirone injections (5-7 in typical experiments).
    first_dose_ug_kg : float
        First injection; later injections double the cumulative dose
        (5, 5, 10, 20, ... gives cumulative 5, 10, 20, 40, ...).
    dose_interval_s : float
        Time between injections (length of each dose window).
    baseline_s : float
        Drug-free period before the first injection.
    with_waveforms : bool
        Attach per-spike waveforms (uV, 25 kHz, 4 ms, trough at 1 ms).
    with_antagonist : bool
        Give WAY-100635 0.1 mg/kg at the end of the last dose window.
    ed50_ug_kg, hill_slope : sequence of float, optional
        Per-unit overrides of the drawn ED50 and Hill slope (one value per
        cell type; entries of non-responding cell types are unused since those
        cells have no ED50).

    Returns
    -------
    recording : Recording
        In-memory recording, ``provenance={"reader": "simulator"}``.
    truth : dict
        ``name``, ``seed``, ``t_stop``, ``agonist_tau_s``, ``antagonist_tau_s``,
        ``injections`` (list of dicts) and ``units``: ``{unit_id: {...}}`` with
        ``cell_type``, ``expected_class``, ``subtype``, ``baseline_rate_hz``
        (spike rate including doublet second spikes), ``cv_isi`` (CV of the
        renewal rhythm, i.e. of the intervals between first spikes of events),
        ``doublet_fraction``, ``responds``, ``ed50_ug_kg``, ``hill_slope``,
        ``recovery_fraction`` (None for non-responders), ``max_inhibition``
        (0 for non-responders), ``drift_sd``, ``waveform_shape``,
        ``waveform_total_ms``, ``waveform_first_phase_ms``,
        ``peak_to_trough_ms``, ``half_width_ms``, ``amplitude_uv``, ``snr``
        (amplitude / noise SD) and ``n_spikes``.

    Examples
    --------
    >>> recording, truth = simulate_recording("demo", ["5ht_clock", "fast_regular"], seed=1)
    >>> [unit.id for unit in recording.units]
    ['unit1', 'unit2']
    >>> [injection.label for injection in recording.injections][:3]
    ['ipsapirone 5 ug/kg i.v.', 'ipsapirone 5 ug/kg i.v.', 'ipsapirone 10 ug/kg i.v.']
    >>> truth["units"]["unit2"]["expected_class"], recording.t_stop
    ('non_5ht', 1680.0)
    """
    validate_type(name, str, "name")
    validate_type(seed, (int, np.integer), "seed")
    _check_schedule(n_doses, first_dose_ug_kg, dose_interval_s, baseline_s)
    if isinstance(cell_types, str) or not cell_types:
        raise BadParameterError("cell_types must be a non-empty sequence of cell type names")
    cells = [CELL_TYPES[check_option(cell, CELL_TYPES, "cell type")] for cell in cell_types]
    ed50s = _per_unit(ed50_ug_kg, len(cells), "ed50_ug_kg")
    hills = _per_unit(hill_slope, len(cells), "hill_slope")
    injections, t_stop = _schedule(
        n_doses,
        float(first_dose_ug_kg),
        float(dose_interval_s),
        float(baseline_s),
        with_antagonist,
    )
    recording_stream, *unit_streams = np.random.SeedSequence(int(seed)).spawn(len(cells) + 1)
    recording_rng = np.random.default_rng(recording_stream)
    taus = {
        "agonist_tau_s": _uniform(recording_rng, AGONIST_TAU_S),
        "antagonist_tau_s": _uniform(recording_rng, ANTAGONIST_TAU_S),
    }
    units, unit_truths = [], {}
    for index, (cell, ed50, hill, stream) in enumerate(
        zip(cells, ed50s, hills, unit_streams, strict=True), start=1
    ):
        rng = np.random.default_rng(stream)
        truth = _draw_unit(cell, rng, ed50, hill)
        times = _spike_times(truth, injections, taus, t_stop, rng)
        waveforms = (
            {
                "waveforms": _waveforms(truth, times.size, rng),
                "sampling_rate_hz": WAVEFORM_SAMPLING_RATE_HZ,
                "waveform_units": "uV",
            }
            if with_waveforms
            else {}
        )
        unit = Unit(f"unit{index}", times, **waveforms)
        units.append(unit)
        unit_truths[unit.id] = asdict(truth) | {"n_spikes": int(times.size)}
    recording = Recording(
        name,
        Path(name),
        0.0,
        t_stop,
        units,
        injections=injections,
        provenance={"reader": "simulator", "seed": int(seed)},
    )
    truth = {
        "name": name,
        "seed": int(seed),
        "t_stop": t_stop,
        **taus,
        "injections": [asdict(injection) for injection in injections],
        "units": unit_truths,
    }
    return recording, truth


def _markers(recording: Recording) -> tuple[np.ndarray, np.ndarray]:
    """Times and labels of every marker (injections and annotations), time-sorted."""
    pairs = sorted(
        [(injection.time_s, injection.label) for injection in recording.injections]
        + [(annotation.time_s, annotation.text) for annotation in recording.annotations]
    )
    return np.array([time for time, _ in pairs], dtype=float), np.array(
        [label for _, label in pairs], dtype=str
    )


def _write_nix(recording: Recording, path: Path) -> list[Path]:
    import neo
    import quantities as pq

    segment = neo.Segment(name=recording.name)
    for unit in recording.units:
        train = neo.SpikeTrain(
            unit.spike_times * pq.s,
            t_start=recording.t_start * pq.s,
            t_stop=recording.t_stop * pq.s,
            name=unit.id,
        )
        if unit.has_waveforms:
            # float32 halves the file; far finer than any recording's noise.
            snippets = unit.waveforms[:, None, :].astype(np.float32)
            train.waveforms = pq.Quantity(snippets, unit.waveform_units)
            train.sampling_rate = unit.sampling_rate_hz * pq.Hz
            # NixIO reads left_sweep back in the sampling period's unit: write seconds.
            train.left_sweep = (PEAK_MS / 1000.0) * pq.s
        segment.spiketrains.append(train)
    times, labels = _markers(recording)
    if times.size:
        segment.events.append(neo.Event(times * pq.s, labels=labels, name=MARKER_CHANNEL))
    block = neo.Block(name=recording.name)
    block.segments.append(segment)
    with neo.io.NixIO(str(path), mode="ow") as nix_file:
        nix_file.write_block(block)
    return [path]


def _write_nwb(recording: Recording, path: Path) -> list[Path]:
    import quantities as pq
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.misc import AnnotationSeries, Units

    with_waveforms = {unit.has_waveforms for unit in recording.units}
    rates = {unit.sampling_rate_hz for unit in recording.units}
    if len(with_waveforms) > 1 or len(rates) > 1:
        raise BadParameterError(
            f"{recording.name}: NWB needs waveforms at one sampling rate on all units or none"
        )
    nwbfile = NWBFile(
        session_description=f"simulated DRN recording {recording.name}",
        identifier=recording.name,
        session_start_time=SIMULATED_SESSION_START,
        file_create_date=SIMULATED_SESSION_START,
    )
    nwbfile.units = Units(
        name="units",
        description="simulated single units",
        waveform_rate=rates.pop(),
        waveform_time_before_peak_in_ms=PEAK_MS,
        resolution=1.0 / WAVEFORM_SAMPLING_RATE_HZ,
    )
    nwbfile.add_unit_column("unit_name", "unit id in the recording")
    for unit in recording.units:
        extra = {}
        if unit.has_waveforms:
            # NWB stores waveform_mean in volts.
            mean = pq.Quantity(unit.waveforms.mean(axis=0), unit.waveform_units)
            extra["waveform_mean"] = mean.rescale(pq.V).magnitude
        nwbfile.add_unit(
            spike_times=unit.spike_times,
            obs_intervals=[[recording.t_start, recording.t_stop]],
            unit_name=unit.id,
            **extra,
        )
    times, labels = _markers(recording)
    if times.size:
        # pynwb 4 deprecates AnnotationSeries for EventsTable; it is kept on purpose
        # because every pynwb version (and rapheunit's loader) reads it.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="AnnotationSeries is deprecated")
            markers = AnnotationSeries(
                name=MARKER_CHANNEL,
                data=labels.tolist(),
                timestamps=times,
                description="drug injection markers",
            )
        nwbfile.add_acquisition(markers)
    with NWBHDF5IO(str(path), mode="w") as io:
        io.write(nwbfile)
    return [path]


def _write_csv(recording: Recording, path: Path) -> list[Path]:
    import pandas as pd

    spikes = pd.DataFrame(
        {
            "unit": np.repeat(
                [unit.id for unit in recording.units], [unit.n_spikes for unit in recording.units]
            ),
            "time_s": np.concatenate([unit.spike_times for unit in recording.units]),
        }
    )
    spikes.to_csv(path, index=False)
    doses = pd.DataFrame(
        [
            (injection.time_s, injection.drug, injection.dose, injection.dose_unit)
            for injection in recording.injections
        ],
        columns=["time_s", "drug", "dose", "unit"],
    )
    doses_path = path.with_name(f"{path.stem}.doses.csv")
    doses.to_csv(doses_path, index=False)
    return [path, doses_path]


_WRITERS: dict[str, Callable[[Recording, Path], list[Path]]] = {
    "nix": _write_nix,
    "nwb": _write_nwb,
    "csv": _write_csv,
}


def write_recording(
    recording: Recording, truth: dict[str, Any], out_dir: Path, fmt: str
) -> list[Path]:
    """Write a (simulated) recording to ``out_dir/<name>.<fmt>``.

    Formats: ``"nix"`` (neo NixIO: one Block > Segment, one SpikeTrain per unit
    named by unit id with waveforms ``(n, 1, n_samples)`` in uV, and an Event
    ``"Markers"`` with the injection labels); ``"nwb"`` (pynwb: Units table
    with ``spike_times``, ``obs_intervals``, ``waveform_mean`` in volts and a
    ``unit_name`` column; AnnotationSeries ``"Markers"`` in acquisition);
    ``"csv"`` (``unit,time_s`` long format plus ``<name>.doses.csv`` with
    ``time_s,drug,dose,unit``). Existing files are overwritten.

    Parameters
    ----------
    recording : Recording
        What to write.
    truth : dict
        Its ground truth; only checked to belong to ``recording`` (no truth is
        written into the recording file).
    out_dir : Path
        Output folder, created if missing.
    fmt : str
        ``"nix"``, ``"nwb"`` or ``"csv"``.

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> import tempfile
    >>> recording, truth = simulate_recording("demo", ["slow_irregular"], seed=3)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     [path.name for path in write_recording(recording, truth, Path(folder), "csv")]
    ['demo.csv', 'demo.doses.csv']
    """
    check_option(fmt, _WRITERS, "fmt")
    if truth.get("name") != recording.name:
        raise BadParameterError(
            f"truth is for {truth.get('name')!r}, not recording {recording.name!r}"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return _WRITERS[fmt](recording, out_dir / f"{recording.name}.{fmt}")


def _check_specs(specs: Sequence[tuple[str, Sequence[str], str]]) -> None:
    names = [spec[0] for spec in specs]
    if len(set(names)) != len(names):
        raise BadParameterError(f"recording names must be unique, got {names}")
    for _, _, fmt in specs:
        check_option(fmt, _WRITERS, "fmt")


def write_dataset(
    out_dir: Path,
    specs: Sequence[tuple[str, Sequence[str], str]] | None = None,
    *,
    seed: int = 0,
) -> Path:
    """Simulate and write several recordings plus one ``truth.json``.

    Parameters
    ----------
    out_dir : Path
        Output folder, created if missing.
    specs : sequence of (name, cell_types, fmt), optional
        One entry per recording; default :data:`DEFAULT_DATASET` (the
        example data set in ``recordings/``). Other settings are the defaults
        of :func:`simulate_recording`.
    seed : int
        Master seed; recording ``i`` is simulated with a seed derived from
        ``(seed, i)`` and recorded in the truth.

    Returns
    -------
    Path
        ``out_dir/truth.json``: truth dictionaries keyed by recording name, each
        with ``format`` and ``files`` (names relative to ``out_dir``) added.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     truth_path = write_dataset(Path(folder), [("r1", ["fast_regular"], "csv")], seed=2)
    ...     sorted(json.loads(truth_path.read_text())["r1"]["files"])
    ['r1.csv', 'r1.doses.csv']
    """
    specs = DEFAULT_DATASET if specs is None else specs
    _check_specs(specs)
    validate_type(seed, (int, np.integer), "seed")
    out_dir = Path(out_dir)
    dataset = {}
    for index, (name, cell_types, fmt) in enumerate(specs):
        recording_seed = int(np.random.SeedSequence([int(seed), index]).generate_state(1)[0])
        recording, truth = simulate_recording(name, cell_types, seed=recording_seed)
        paths = write_recording(recording, truth, out_dir, fmt)
        dataset[name] = truth | {"format": fmt, "files": [path.name for path in paths]}
    truth_path = out_dir / "truth.json"
    truth_path.write_text(json.dumps(dataset, indent=2) + "\n")
    return truth_path
