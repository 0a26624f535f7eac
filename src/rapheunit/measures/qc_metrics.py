"""The quality-control computations: one function per metric, reading a :class:`UnitContext`.

Each function returns its output columns; a value that cannot be computed is NaN
and the context records why. The metrics are declared (columns, parameters,
thresholds) in :mod:`rapheunit.measures.qc_registry`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rapheunit.core.distributions import linear_trend
from rapheunit.core.epochs import (
    EpochParams,
    Window,
    percent_of,
    rate_in_window,
    response_windows,
)
from rapheunit.core.markers import AGONIST, ANTAGONIST, drug_role
from rapheunit.core.model import Recording, Unit
from rapheunit.measures.qc_params import DEFAULT_QC_PARAMS, REFRACTORY_S, QCParams
from rapheunit.measures.waveform import WaveformFeatures, unit_waveform_features

# Fewer per-spike amplitudes than this give no drift estimate.
MIN_SPIKES_FOR_DRIFT = 20
# The trend and CV need at least this many whole bins.
MIN_STABILITY_BINS = 3


@dataclass
class UnitContext:
    """What every metric may look at for one unit; metrics add NaN reasons."""

    recording: Recording
    unit: Unit
    epochs: EpochParams
    baseline: Window
    baseline_spikes: np.ndarray
    nan_reasons: dict[str, str] = field(default_factory=dict)
    # The unit's waveform features over the baseline, when already measured.
    waveform: WaveformFeatures | None = None

    @property
    def baseline_rate_hz(self) -> float:
        return rate_in_window(self.unit.spike_times, self.baseline)

    def waveform_features(self) -> WaveformFeatures:
        """The unit's waveform features over the baseline, measured once."""
        if self.waveform is None:
            self.waveform = unit_waveform_features(
                self.unit, self.baseline.start_s, self.baseline.stop_s
            )
        return self.waveform

    def missing(self, columns: tuple[str, ...], reason: str) -> dict[str, float]:
        """NaN for ``columns``, recording why."""
        self.nan_reasons.update(dict.fromkeys(columns, reason))
        return dict.fromkeys(columns, float("nan"))


MetricFunction = Callable[[UnitContext, QCParams], dict[str, Any]]


def hill_contamination(
    n_violations: int,
    n_spikes: int,
    duration_s: float,
    refractory_s: float = REFRACTORY_S,
    censored_s: float = 0.0,
) -> float:
    """False-positive fraction implied by refractory violations (Hill et al. 2011).

    Solves ``r = 2 (tau_r - tau_c) N**2 f (1 - f) / T`` for the contamination
    ``f`` (smaller root), with ``r`` violations among ``N`` spikes in ``T``
    seconds. When the violations exceed what even 50 % contamination would
    produce the quadratic has no real root and the result is 1.0 (saturated).
    NaN when there are no spikes or no time.

    Examples
    --------
    >>> hill_contamination(0, 1000, 100.0)
    0.0
    >>> round(hill_contamination(3, 1000, 100.0, refractory_s=0.002), 4)
    0.0817
    >>> hill_contamination(5, 100, 100.0)
    1.0
    """
    if n_spikes == 0 or duration_s <= 0:
        return float("nan")
    scaled = n_violations * duration_s / (2.0 * (refractory_s - censored_s) * n_spikes**2)
    if scaled > 0.25:
        return 1.0
    return float((1.0 - np.sqrt(1.0 - 4.0 * scaled)) / 2.0)


def refractory_violations(context: UnitContext, params: QCParams) -> dict[str, Any]:
    isis = np.diff(context.baseline_spikes)
    n_violations = int(np.count_nonzero(isis < params.refractory_s))
    values: dict[str, Any] = {
        "isi_violation_count": n_violations,
        "contamination_hill": hill_contamination(
            n_violations,
            context.baseline_spikes.size,
            context.baseline.length_s,
            params.refractory_s,
            params.censored_s,
        ),
    }
    if isis.size == 0:
        values |= context.missing(("isi_violation_fraction",), "needs >= 2 baseline spikes")
    else:
        values["isi_violation_fraction"] = n_violations / isis.size
    if context.baseline_spikes.size == 0:
        context.nan_reasons["contamination_hill"] = "no baseline spikes"
    return values


def baseline_size(context: UnitContext, params: QCParams) -> dict[str, Any]:
    return {
        "baseline_duration_s": context.baseline.length_s,
        "baseline_spike_count": int(context.baseline_spikes.size),
    }


def _bin_rates(spike_times: np.ndarray, window: Window, bin_s: float) -> np.ndarray:
    """Rates in the whole ``bin_s`` bins of ``window``, aligned on its end (half-open bins)."""
    n_bins = int(np.floor(window.length_s / bin_s + 1e-9))
    edges = window.stop_s - bin_s * np.arange(n_bins, -1, -1)
    return np.diff(np.searchsorted(spike_times, edges, side="left")) / bin_s


def baseline_stability(context: UnitContext, params: QCParams) -> dict[str, Any]:
    columns = (
        "baseline_trend_pct_per_min",
        "baseline_trend_p",
        "baseline_trend_significant",
        "baseline_rate_cv",
    )
    rates = _bin_rates(context.baseline_spikes, context.baseline, params.stability_bin_s)
    if rates.size < MIN_STABILITY_BINS:
        reason = f"needs >= {MIN_STABILITY_BINS} baseline bins of {params.stability_bin_s:g} s"
        return context.missing(columns, reason)
    mean_rate_hz = rates.mean()
    if mean_rate_hz == 0:
        return context.missing(columns, "no baseline spikes")
    bin_minutes = np.arange(rates.size) * params.stability_bin_s / 60.0
    if np.all(rates == rates[0]):  # a perfectly steady rate has no trend to test
        slope_hz_per_min, p_value = 0.0, 1.0
    else:
        slope_hz_per_min, p_value = linear_trend(bin_minutes, rates)
    return {
        "baseline_trend_pct_per_min": 100.0 * slope_hz_per_min / mean_rate_hz,
        "baseline_trend_p": p_value,
        "baseline_trend_significant": bool(p_value < params.trend_alpha),
        "baseline_rate_cv": float(rates.std(ddof=1) / mean_rate_hz),
    }


def presence_bin_s(baseline_rate_hz: float, params: QCParams = DEFAULT_QC_PARAMS) -> float:
    """Bin length of the presence ratio: longer bins for slow cells (:mod:`~rapheunit.measures.qc`).

    Examples
    --------
    >>> presence_bin_s(2.0), presence_bin_s(0.5)
    (10.0, 60.0)
    """
    return params.presence_bin_s if baseline_rate_hz >= params.slow_rate_hz else (
        params.slow_presence_bin_s
    )


def presence(context: UnitContext, params: QCParams) -> dict[str, Any]:
    bin_s = presence_bin_s(context.baseline_rate_hz, params)
    rates = _bin_rates(context.baseline_spikes, context.baseline, bin_s)
    if rates.size == 0:
        values = context.missing(("presence_ratio",), f"baseline shorter than one {bin_s:g} s bin")
    else:
        values = {"presence_ratio": float(np.mean(rates > 0))}
    return values | {"presence_bin_s": bin_s}


def spike_amplitudes(waveforms: np.ndarray) -> np.ndarray:
    """Relative amplitude of each snippet: its projection on the mean waveform.

    Offsets are removed first, so the result is 1.0 on average and scales with
    each spike's size whatever its polarity.

    Examples
    --------
    >>> template = np.array([0.0, -1.0, 0.5, 0.0])
    >>> spike_amplitudes(np.vstack([template, 2 * template + 3.0])).round(3).tolist()
    [0.667, 1.333]
    """
    mean_waveform = waveforms.mean(axis=0)
    template = mean_waveform - mean_waveform.mean()
    # The template sums to zero, so each snippet's offset drops out of the projection.
    return waveforms @ template / float(template @ template)


def waveform_quality(context: UnitContext, params: QCParams) -> dict[str, Any]:
    unit = context.unit
    if not unit.has_waveforms:
        return context.missing(("baseline_snr", "amplitude_drift_pct"), "no waveforms")
    features = context.waveform_features()
    values = {"baseline_snr": features.waveform_snr}
    if not np.isfinite(features.waveform_snr):
        context.nan_reasons["baseline_snr"] = features.reasons.get("waveform_snr", "not measured")
    if unit.waveforms_are_mean:
        reason = "the file stores only a mean waveform"
        return values | context.missing(("amplitude_drift_pct",), reason)
    if unit.n_spikes < MIN_SPIKES_FOR_DRIFT:
        reason = f"needs >= {MIN_SPIKES_FOR_DRIFT} spike waveforms"
        return values | context.missing(("amplitude_drift_pct",), reason)
    amplitudes = spike_amplitudes(np.asarray(unit.waveforms))
    times = unit.spike_times
    slope_per_s = np.polyfit(times - times[0], amplitudes, 1)[0]
    drift = 100.0 * slope_per_s * (times[-1] - times[0]) / amplitudes.mean()
    return values | {"amplitude_drift_pct": float(drift)}


def injection_windows(context: UnitContext, params: QCParams) -> dict[str, Any]:
    recording = context.recording
    outside = sum(
        not recording.t_start <= injection.time_s < recording.t_stop
        or recording.t_stop - injection.time_s < context.epochs.response_s
        for injection in recording.injections
    )
    return {"n_injections_outside": int(outside)}


def unparsed_markers(context: UnitContext, params: QCParams) -> dict[str, Any]:
    return {"n_unparsed_markers": len(context.recording.annotations)}


def _recovery_pct(context: UnitContext) -> float:
    """Firing in the last antagonist's response window, % of baseline (NaN without one)."""
    antagonist_windows = [
        window
        for injection, window in response_windows(context.recording, context.epochs)
        if drug_role(injection.drug) == ANTAGONIST
    ]
    if not antagonist_windows:
        context.nan_reasons["recovery_pct_baseline"] = "no antagonist given"
        return float("nan")
    rate_hz = rate_in_window(context.unit.spike_times, antagonist_windows[-1])
    pct = percent_of(rate_hz, context.baseline_rate_hz)
    if not np.isfinite(pct):
        context.nan_reasons["recovery_pct_baseline"] = "no baseline firing or empty window"
    return pct


def unit_loss(context: UnitContext, params: QCParams) -> dict[str, Any]:
    recording, spikes = context.recording, context.unit.spike_times
    last_spike_s = float(spikes[-1]) if spikes.size else recording.t_start
    final_silence_s = recording.t_stop - last_spike_s
    baseline_rate_hz = context.baseline_rate_hz
    needed_s = params.silence_min_s
    if baseline_rate_hz > 0:
        needed_s = max(needed_s, params.silence_isi_multiple / baseline_rate_hz)
    silent_at_end = final_silence_s >= needed_s
    recovery_pct = _recovery_pct(context)
    recovered = (
        bool(recovery_pct >= context.epochs.recovery_pct) if np.isfinite(recovery_pct) else None
    )
    agonist_before_silence = any(
        drug_role(injection.drug) == AGONIST and injection.time_s <= last_spike_s
        for injection in recording.injections
    )
    return {
        "final_silence_s": final_silence_s,
        "silent_from_s": last_spike_s if silent_at_end else float("nan"),
        "recovery_pct_baseline": recovery_pct,
        "recovered_after_antagonist": float("nan") if recovered is None else recovered,
        "possible_unit_loss": bool(
            silent_at_end and (not agonist_before_silence or recovered is False)
        ),
        "silent_to_end_no_antagonist": bool(
            silent_at_end and agonist_before_silence and recovered is None
        ),
    }

