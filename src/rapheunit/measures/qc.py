"""Quality control of each unit: one registry of metrics, thresholds and verdicts.

Every metric is declared once in :data:`QC_METRICS` (name, description, the
:class:`QCParams` fields it uses, its output columns and its warn/fail
thresholds); tables, the HTML report and the documentation are all generated
from that registry (see :func:`metrics_table`).

Firing metrics are computed on the **baseline** epoch, because the agonist
silences cells on purpose; amplitude drift, injection windows, markers and
unit loss look at the whole recording. A metric that lacks the data it needs
(no waveforms, too few spikes) is NaN, with the reason in
``QCResult.nan_reasons``; a NaN never triggers a threshold.

A unit's status is the worst severity among the thresholds it crosses:
``pass`` (none), ``warn`` (keep, but look) or ``fail`` (do not trust its
numbers). ``flags`` name the crossed checks and ``reasons`` say why.

Presence ratio
--------------
The share of baseline bins holding at least one spike. Bins are
``presence_bin_s`` (10 s) long, except for slow cells (baseline rate below
``slow_rate_hz``, 1 Hz) whose bins are ``slow_presence_bin_s`` (60 s) long:
a regular 0.5 Hz cell may skip a 10 s bin without being lost, while a 60 s
bin holds ~30 of its spikes. Bins are aligned on the end of the baseline (the
first injection) and only whole bins are used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from rapheunit.core.epochs import (
    EpochParams,
    Window,
    baseline_window,
    percent_of,
    rate_in_window,
    response_windows,
)
from rapheunit.core.errors import BadParameterError, check_option, check_positive
from rapheunit.core.markers import AGONIST, ANTAGONIST, drug_role
from rapheunit.core.model import Recording, Unit
from rapheunit.measures.waveform import unit_waveform_features

PASS, WARN, FAIL = "pass", "warn", "fail"
QC_STATUSES = (PASS, WARN, FAIL)
ABOVE, BELOW, ABS_ABOVE, IS_TRUE, IS_FALSE = "above", "below", "abs_above", "is_true", "is_false"
THRESHOLD_TESTS = (ABOVE, BELOW, ABS_ABOVE, IS_TRUE, IS_FALSE)
TABLE_COLUMNS = ("recording", "unit", "qc_status", "qc_flags", "qc_reasons")

# ISIs shorter than this violate the refractory period; 1.5 ms is the usual
# choice for extracellular single units (Hill et al. 2011, J Neurosci 31:8699;
# Allen Brain Observatory Neuropixels QC).
REFRACTORY_S = 0.0015
# Share of baseline ISIs under REFRACTORY_S tolerated in a single unit: 0.5-1 %
# are common inclusion limits (1 % leaves room for fast irregular cells, whose
# true refractory period is nearer 1 ms); above 3 % the train is clearly
# multi-unit. Judgement calls, not from one source: adjust with QCParams.
WARN_ISI_VIOLATION_FRACTION = 0.01
FAIL_ISI_VIOLATION_FRACTION = 0.03
# A baseline shorter than this cannot describe the cell (the warn level is
# EpochParams.min_baseline_s).
FAIL_BASELINE_S = 30.0
# Spikes needed for stable ISI statistics: CV estimates from < 50 ISIs have a
# relative SE above ~10 %; under 10 spikes nothing is measurable.
WARN_BASELINE_SPIKES = 50
FAIL_BASELINE_SPIKES = 10
# Stability and trend are computed on 10 s bins (as the rate histogram).
STABILITY_BIN_S = 10.0
# A baseline trend only counts when the regression slope is significant at this level,
# so that the counting noise of slow cells does not raise false alarms.
TREND_ALPHA = 0.05
# |trend| in % of the mean baseline rate per minute: 15 %/min changes the rate by
# ~45 % over a 3 min baseline, 30 %/min nearly doubles it. Judgement calls.
WARN_TREND_PCT_PER_MIN = 15.0
FAIL_TREND_PCT_PER_MIN = 30.0
# CV of 10 s bin rates: Poisson counting alone gives ~0.45 at 0.5 Hz, so only
# clearly larger values mean unstable firing. Judgement calls.
WARN_RATE_CV = 0.75
FAIL_RATE_CV = 1.5
# Presence ratio bins (see the module docstring) and limits.
PRESENCE_BIN_S = 10.0
SLOW_PRESENCE_BIN_S = 60.0
SLOW_RATE_HZ = 1.0
# 0.9 is the SpikeInterface / Allen Brain Observatory default presence limit.
WARN_PRESENCE_RATIO = 0.9
FAIL_PRESENCE_RATIO = 0.5
# Waveform SNR (peak-to-peak over twice the noise SD, Kelly et al. 2007): below
# ~2.5 spikes barely clear the noise, below 1.5 they cannot be sorted reliably.
WARN_SNR = 2.5
FAIL_SNR = 1.5
# Amplitude change across the recording (% of the mean amplitude) that suggests
# electrode drift or loss. Judgement calls.
WARN_AMPLITUDE_DRIFT_PCT = 20.0
FAIL_AMPLITUDE_DRIFT_PCT = 50.0
# A final silence counts when it lasts at least this long and at least this many
# mean baseline ISIs (so a 0.1 Hz cell is not "silent" after 60 s without a spike).
SILENCE_MIN_S = 60.0
SILENCE_ISI_MULTIPLE = 10.0
# Firing after WAY-100635 of at least this % of baseline counts as recovery:
# full reversal brings firing back to ~80-110 % (Forster et al. 1995, Eur J
# Pharmacol 281:81), a lost unit stays at 0.
RECOVERY_MIN_PCT = 25.0
# Any injection without its full window, and any marker not read as a dose, is worth a look.
WARN_INJECTIONS_OUTSIDE = 0
WARN_UNPARSED_MARKERS = 0
# Fewer per-spike amplitudes than this give no drift estimate.
MIN_SPIKES_FOR_DRIFT = 20
# The trend and CV need at least this many whole bins.
MIN_STABILITY_BINS = 3


_MAY_BE_ZERO = ("censored_s", "warn_injections_outside", "warn_unparsed_markers")


@dataclass(frozen=True)
class QCParams:
    """Parameters and warn/fail levels of the QC metrics (see the constants for sources).

    Each field is used by the metrics of :data:`QC_METRICS` that list it.
    ``censored_s`` is the detector's dead time after each spike (0 when unknown).

    Examples
    --------
    >>> QCParams(refractory_s=0.002).refractory_s
    0.002
    >>> QCParams(censored_s=0.002)
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: censored_s (0.002) must be shorter than ...
    """

    refractory_s: float = REFRACTORY_S
    censored_s: float = 0.0
    warn_isi_violation_fraction: float = WARN_ISI_VIOLATION_FRACTION
    fail_isi_violation_fraction: float = FAIL_ISI_VIOLATION_FRACTION
    fail_baseline_s: float = FAIL_BASELINE_S
    warn_baseline_spikes: float = WARN_BASELINE_SPIKES
    fail_baseline_spikes: float = FAIL_BASELINE_SPIKES
    stability_bin_s: float = STABILITY_BIN_S
    trend_alpha: float = TREND_ALPHA
    warn_trend_pct_per_min: float = WARN_TREND_PCT_PER_MIN
    fail_trend_pct_per_min: float = FAIL_TREND_PCT_PER_MIN
    warn_rate_cv: float = WARN_RATE_CV
    fail_rate_cv: float = FAIL_RATE_CV
    presence_bin_s: float = PRESENCE_BIN_S
    slow_presence_bin_s: float = SLOW_PRESENCE_BIN_S
    slow_rate_hz: float = SLOW_RATE_HZ
    warn_presence_ratio: float = WARN_PRESENCE_RATIO
    fail_presence_ratio: float = FAIL_PRESENCE_RATIO
    warn_snr: float = WARN_SNR
    fail_snr: float = FAIL_SNR
    warn_amplitude_drift_pct: float = WARN_AMPLITUDE_DRIFT_PCT
    fail_amplitude_drift_pct: float = FAIL_AMPLITUDE_DRIFT_PCT
    silence_min_s: float = SILENCE_MIN_S
    silence_isi_multiple: float = SILENCE_ISI_MULTIPLE
    recovery_min_pct: float = RECOVERY_MIN_PCT
    warn_injections_outside: float = WARN_INJECTIONS_OUTSIDE
    warn_unparsed_markers: float = WARN_UNPARSED_MARKERS

    def __post_init__(self) -> None:
        for spec in fields(self):
            allow_zero = spec.name in _MAY_BE_ZERO
            value = check_positive(getattr(self, spec.name), spec.name, allow_zero=allow_zero)
            object.__setattr__(self, spec.name, value)
        if self.censored_s >= self.refractory_s:
            raise BadParameterError(
                f"censored_s ({self.censored_s}) must be shorter than "
                f"refractory_s ({self.refractory_s})"
            )
        if not self.trend_alpha < 1:
            raise BadParameterError(f"trend_alpha must be in (0, 1), got {self.trend_alpha}")


@dataclass(frozen=True)
class Threshold:
    """One warn or fail check on one output column.

    ``level`` names the :class:`QCParams` field (or, failing that, the
    :class:`~rapheunit.core.epochs.EpochParams` field) holding the limit; the
    boolean tests ``is_true``/``is_false`` need none. ``requires`` names a
    boolean column that must be True for the check to apply.
    """

    column: str
    test: str
    severity: str
    flag: str
    level: str | None = None
    requires: str | None = None

    def __post_init__(self) -> None:
        check_option(self.test, THRESHOLD_TESTS, "test")
        check_option(self.severity, (WARN, FAIL), "severity")
        if (self.level is None) != (self.test in (IS_TRUE, IS_FALSE)):
            raise BadParameterError(f"threshold on {self.column}: level must be given "
                                    f"exactly for the numeric tests")

    def limit(self, params: QCParams, epochs: EpochParams) -> float | None:
        """The numeric limit under ``params`` and ``epochs`` (None for boolean tests)."""
        return None if self.level is None else float(parameter_value(self.level, params, epochs))

    def is_crossed(self, values: Mapping[str, Any], params: QCParams, epochs: EpochParams) -> bool:
        """True when the unit's ``values`` fail this check (NaN never does)."""
        if self.requires is not None and values.get(self.requires) is not True:
            return False
        value = values.get(self.column)
        if self.test == IS_TRUE:
            return value is True
        if self.test == IS_FALSE:
            return value is False
        if value is None or not np.isfinite(value):
            return False
        limit = self.limit(params, epochs)
        if self.test == ABOVE:
            return value > limit
        if self.test == BELOW:
            return value < limit
        return abs(value) > limit

    def describe(self, params: QCParams, epochs: EpochParams) -> str:
        """Human-readable rule, e.g. ``"isi_violation_fraction > 0.01"``.

        Examples
        --------
        >>> rule = Threshold("presence_ratio", "below", "warn", "low_presence",
        ...                  "warn_presence_ratio")
        >>> rule.describe(QCParams(), EpochParams())
        'presence_ratio < 0.9'
        """
        symbols = {ABOVE: ">", BELOW: "<", ABS_ABOVE: ">"}
        if self.test == IS_TRUE:
            rule = f"{self.column} is true"
        elif self.test == IS_FALSE:
            rule = f"{self.column} is false"
        else:
            column = f"|{self.column}|" if self.test == ABS_ABOVE else self.column
            rule = f"{column} {symbols[self.test]} {self.limit(params, epochs):g}"
        return rule if self.requires is None else f"{rule} and {self.requires}"


@dataclass
class _UnitContext:
    """What every metric may look at for one unit; metrics add NaN reasons."""

    recording: Recording
    unit: Unit
    epochs: EpochParams
    baseline: Window
    baseline_spikes: np.ndarray
    nan_reasons: dict[str, str] = field(default_factory=dict)

    @property
    def baseline_rate_hz(self) -> float:
        return rate_in_window(self.unit.spike_times, self.baseline)

    def missing(self, columns: tuple[str, ...], reason: str) -> dict[str, float]:
        """NaN for ``columns``, recording why."""
        self.nan_reasons.update(dict.fromkeys(columns, reason))
        return dict.fromkeys(columns, float("nan"))


MetricFunction = Callable[[_UnitContext, QCParams], dict[str, Any]]


@dataclass(frozen=True)
class QCMetric:
    """One QC metric: what it measures, what it needs, what it outputs, when it flags."""

    name: str
    description: str
    columns: Mapping[str, str]
    parameters: tuple[str, ...]
    thresholds: tuple[Threshold, ...]
    compute: MetricFunction = field(repr=False)

    def defaults(self) -> dict[str, float]:
        """Default value of each parameter the metric uses.

        Examples
        --------
        >>> QC_METRICS["refractory_violations"].defaults()["refractory_s"]
        0.0015
        """
        return {name: parameter_value(name, QCParams(), EpochParams()) for name in self.parameters}


@dataclass
class QCResult:
    """QC of one unit: metric values, ``pass``/``warn``/``fail`` and the reasons."""

    unit: str
    values: dict[str, Any]
    status: str
    flags: list[str]
    reasons: dict[str, str]
    nan_reasons: dict[str, str]

    def as_row(self) -> dict[str, Any]:
        """``unit``, ``qc_status``, ``qc_flags`` (joined by ";"), ``qc_reasons`` and the values."""
        return {
            "unit": self.unit,
            "qc_status": self.status,
            "qc_flags": ";".join(self.flags),
            "qc_reasons": "; ".join(self.reasons[flag] for flag in self.flags),
            **self.values,
        }


def parameter_value(name: str, params: QCParams, epochs: EpochParams) -> float:
    """Value of a :class:`QCParams` field, or else of an :class:`EpochParams` field.

    Examples
    --------
    >>> parameter_value("min_baseline_s", QCParams(), EpochParams(min_baseline_s=90))
    90.0
    """
    for holder in (params, epochs):
        if hasattr(holder, name):
            return getattr(holder, name)
    raise BadParameterError(f"unknown QC parameter {name!r}")


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


def _refractory_violations(context: _UnitContext, params: QCParams) -> dict[str, Any]:
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


def _baseline_size(context: _UnitContext, params: QCParams) -> dict[str, Any]:
    return {
        "baseline_duration_s": context.baseline.length_s,
        "baseline_spike_count": int(context.baseline_spikes.size),
    }


def _bin_rates(spike_times: np.ndarray, window: Window, bin_s: float) -> np.ndarray:
    """Rates in the whole ``bin_s`` bins of ``window``, aligned on its end (half-open bins)."""
    n_bins = int(np.floor(window.length_s / bin_s + 1e-9))
    edges = window.stop_s - bin_s * np.arange(n_bins, -1, -1)
    return np.diff(np.searchsorted(spike_times, edges, side="left")) / bin_s


def _baseline_stability(context: _UnitContext, params: QCParams) -> dict[str, Any]:
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
        regression = stats.linregress(bin_minutes, rates)
        slope_hz_per_min, p_value = float(regression.slope), float(regression.pvalue)
    return {
        "baseline_trend_pct_per_min": 100.0 * slope_hz_per_min / mean_rate_hz,
        "baseline_trend_p": p_value,
        "baseline_trend_significant": bool(p_value < params.trend_alpha),
        "baseline_rate_cv": float(rates.std(ddof=1) / mean_rate_hz),
    }


def presence_bin_s(baseline_rate_hz: float, params: QCParams = QCParams()) -> float:
    """Bin length of the presence ratio: longer bins for slow cells (module docstring).

    Examples
    --------
    >>> presence_bin_s(2.0), presence_bin_s(0.5)
    (10.0, 60.0)
    """
    return params.presence_bin_s if baseline_rate_hz >= params.slow_rate_hz else (
        params.slow_presence_bin_s
    )


def _presence(context: _UnitContext, params: QCParams) -> dict[str, Any]:
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


def _waveform_quality(context: _UnitContext, params: QCParams) -> dict[str, Any]:
    unit = context.unit
    if not unit.has_waveforms:
        return context.missing(("baseline_snr", "amplitude_drift_pct"), "no waveforms")
    features = unit_waveform_features(unit, context.baseline.start_s, context.baseline.stop_s)
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


def _injection_windows(context: _UnitContext, params: QCParams) -> dict[str, Any]:
    recording = context.recording
    outside = sum(
        not recording.t_start <= injection.time_s < recording.t_stop
        or recording.t_stop - injection.time_s < context.epochs.response_s
        for injection in recording.injections
    )
    return {"n_injections_outside": int(outside)}


def _unparsed_markers(context: _UnitContext, params: QCParams) -> dict[str, Any]:
    return {"n_unparsed_markers": len(context.recording.annotations)}


def _recovery_pct(context: _UnitContext) -> float:
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


def _unit_loss(context: _UnitContext, params: QCParams) -> dict[str, Any]:
    recording, spikes = context.recording, context.unit.spike_times
    last_spike_s = float(spikes[-1]) if spikes.size else recording.t_start
    final_silence_s = recording.t_stop - last_spike_s
    baseline_rate_hz = context.baseline_rate_hz
    needed_s = params.silence_min_s
    if baseline_rate_hz > 0:
        needed_s = max(needed_s, params.silence_isi_multiple / baseline_rate_hz)
    silent_at_end = final_silence_s >= needed_s
    recovery_pct = _recovery_pct(context)
    recovered = bool(recovery_pct >= params.recovery_min_pct) if np.isfinite(recovery_pct) else None
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


def _warn_fail(
    column: str, test: str, flag: str, warn_level: str, fail_level: str, **extra: Any
) -> tuple[Threshold, Threshold]:
    return (
        Threshold(column, test, WARN, flag, warn_level, **extra),
        Threshold(column, test, FAIL, flag, fail_level, **extra),
    )


_METRICS = (
    QCMetric(
        name="refractory_violations",
        description="Baseline ISIs shorter than the refractory period, and the contamination "
        "by other cells' spikes they imply (Hill et al. 2011). contamination_hill is shown "
        "but not thresholded: for slow cells a single violation saturates it.",
        columns={
            "isi_violation_count": "baseline ISIs < refractory_s",
            "isi_violation_fraction": "share of baseline ISIs < refractory_s",
            "contamination_hill": "estimated false-positive spike fraction (0-1)",
        },
        parameters=("refractory_s", "censored_s"),
        thresholds=_warn_fail(
            "isi_violation_fraction", ABOVE, "refractory_violations",
            "warn_isi_violation_fraction", "fail_isi_violation_fraction",
        ),
        compute=_refractory_violations,
    ),
    QCMetric(
        name="baseline_size",
        description="Length of the baseline epoch and the number of spikes in it.",
        columns={
            "baseline_duration_s": "baseline length (s)",
            "baseline_spike_count": "spikes in the baseline",
        },
        parameters=(),
        thresholds=(
            *_warn_fail("baseline_duration_s", BELOW, "short_baseline",
                        "min_baseline_s", "fail_baseline_s"),
            *_warn_fail("baseline_spike_count", BELOW, "few_baseline_spikes",
                        "warn_baseline_spikes", "fail_baseline_spikes"),
        ),
        compute=_baseline_size,
    ),
    QCMetric(
        name="baseline_stability",
        description="Linear trend of the baseline rate in stability_bin_s bins (% of the mean "
        "rate per minute, flagged only when significant at trend_alpha) and the CV of the "
        "bin rates.",
        columns={
            "baseline_trend_pct_per_min": "slope of bin rates, % of mean rate per minute",
            "baseline_trend_p": "p-value of the slope (linear regression)",
            "baseline_trend_significant": "baseline_trend_p < trend_alpha",
            "baseline_rate_cv": "CV of the bin rates",
        },
        parameters=("stability_bin_s", "trend_alpha"),
        thresholds=(
            *_warn_fail("baseline_trend_pct_per_min", ABS_ABOVE, "unstable_baseline_trend",
                        "warn_trend_pct_per_min", "fail_trend_pct_per_min",
                        requires="baseline_trend_significant"),
            *_warn_fail("baseline_rate_cv", ABOVE, "variable_baseline_rate",
                        "warn_rate_cv", "fail_rate_cv"),
        ),
        compute=_baseline_stability,
    ),
    QCMetric(
        name="presence_ratio",
        description="Share of baseline bins with at least one spike (60 s bins for cells "
        "slower than slow_rate_hz, else 10 s).",
        columns={
            "presence_ratio": "share of baseline bins with >= 1 spike",
            "presence_bin_s": "bin length used (s)",
        },
        parameters=("presence_bin_s", "slow_presence_bin_s", "slow_rate_hz"),
        thresholds=_warn_fail("presence_ratio", BELOW, "low_presence",
                              "warn_presence_ratio", "fail_presence_ratio"),
        compute=_presence,
    ),
    QCMetric(
        name="waveform_quality",
        description="SNR of the baseline spike waveforms (peak-to-peak / 2 noise SD) and the "
        "change of spike amplitude across the recording (linear trend, % of mean).",
        columns={
            "baseline_snr": "waveform SNR in the baseline",
            "amplitude_drift_pct": "amplitude change from first to last spike (%)",
        },
        parameters=(),
        thresholds=(
            *_warn_fail("baseline_snr", BELOW, "low_snr", "warn_snr", "fail_snr"),
            *_warn_fail("amplitude_drift_pct", ABS_ABOVE, "amplitude_drift",
                        "warn_amplitude_drift_pct", "fail_amplitude_drift_pct"),
        ),
        compute=_waveform_quality,
    ),
    QCMetric(
        name="injection_windows",
        description="Injections outside the recording, or too close to its end for a full "
        "response window (EpochParams.response_s).",
        columns={"n_injections_outside": "injections without a full window in the recording"},
        parameters=("response_s",),
        thresholds=(Threshold("n_injections_outside", ABOVE, WARN, "injection_outside_recording",
                              "warn_injections_outside"),),
        compute=_injection_windows,
    ),
    QCMetric(
        name="unparsed_markers",
        description="Markers that were not read as injections (recording annotations): a "
        "dose may be missing from the schedule.",
        columns={"n_unparsed_markers": "markers kept as annotations"},
        parameters=(),
        thresholds=(Threshold("n_unparsed_markers", ABOVE, WARN, "unparsed_markers",
                              "warn_unparsed_markers"),),
        compute=_unparsed_markers,
    ),
    QCMetric(
        name="unit_loss",
        description="Silence from the last spike to the end of the recording (longer than "
        "silence_min_s and silence_isi_multiple baseline ISIs) that is not explained by the "
        "agonist: it began before any agonist, or firing did not recover to "
        "recovery_min_pct of baseline in the antagonist's response window.",
        columns={
            "final_silence_s": "time from the last spike to the end (s)",
            "silent_from_s": "start of a final silence (NaN when none)",
            "recovery_pct_baseline": "firing after the antagonist, % of baseline",
            "recovered_after_antagonist": "recovery_pct_baseline >= recovery_min_pct",
            "possible_unit_loss": "final silence not explained by the agonist",
            "silent_to_end_no_antagonist": "silent to the end after the agonist, no antagonist",
        },
        parameters=("silence_min_s", "silence_isi_multiple", "recovery_min_pct", "response_s"),
        thresholds=(
            Threshold("possible_unit_loss", IS_TRUE, FAIL, "possible_unit_loss"),
            Threshold("recovered_after_antagonist", IS_FALSE, WARN,
                      "no_recovery_after_antagonist"),
            Threshold("silent_to_end_no_antagonist", IS_TRUE, WARN, "silent_to_end"),
        ),
        compute=_unit_loss,
    ),
)

#: The registry: metric name -> :class:`QCMetric`, in evaluation order.
QC_METRICS: dict[str, QCMetric] = {metric.name: metric for metric in _METRICS}
#: Every metric column, in registry order.
QC_COLUMNS: tuple[str, ...] = tuple(column for m in _METRICS for column in m.columns)


def qc_unit(
    recording: Recording,
    unit: Unit | str,
    *,
    params: QCParams = QCParams(),
    epochs: EpochParams | None = None,
) -> QCResult:
    """Compute every QC metric of one unit and its ``pass``/``warn``/``fail`` status.

    Parameters
    ----------
    recording : Recording
        The recording the unit belongs to (for the baseline and injections).
    unit : Unit or str
        The unit, or its id.
    params : QCParams
        Metric parameters and thresholds.
    epochs : EpochParams, optional
        Baseline and response window lengths.

    Returns
    -------
    QCResult

    Examples
    --------
    >>> from pathlib import Path
    >>> from rapheunit.core.model import Injection
    >>> spikes = np.arange(0.0, 600.0, 0.8)  # perfectly regular 1.25 Hz
    >>> rec = Recording("r", Path("r"), 0.0, 600.0, [Unit("u", spikes)],
    ...                 [Injection(300.0, "ipsapirone", 5.0, "ug/kg", 5.0)])
    >>> result = qc_unit(rec, "u")
    >>> result.status, result.flags, result.values["presence_ratio"]
    ('pass', [], 1.0)
    >>> result.values["baseline_spike_count"], result.values["isi_violation_count"]
    (225, 0)
    """
    epochs = epochs or EpochParams()
    if isinstance(unit, str):
        unit = recording.unit(unit)
    baseline = baseline_window(recording, epochs)
    first, last = np.searchsorted(unit.spike_times, [baseline.start_s, baseline.stop_s], "left")
    context = _UnitContext(recording, unit, epochs, baseline, unit.spike_times[first:last])
    values: dict[str, Any] = {}
    for metric in QC_METRICS.values():
        values |= metric.compute(context, params)
    status, flags, reasons = judge(values, params, epochs)
    return QCResult(unit.id, values, status, flags, reasons, context.nan_reasons)


def judge(
    values: Mapping[str, Any], params: QCParams = QCParams(), epochs: EpochParams | None = None
) -> tuple[str, list[str], dict[str, str]]:
    """Status, flags and reasons of metric ``values`` under the registry's thresholds.

    A flag crossed at both levels is reported once, with the fail reason.

    Examples
    --------
    >>> status, flags, reasons = judge({"presence_ratio": 0.4, "isi_violation_fraction": 0.02})
    >>> status, flags
    ('fail', ['refractory_violations', 'low_presence'])
    >>> reasons["low_presence"]
    'fail: presence_ratio = 0.4 (presence_ratio < 0.5)'
    """
    epochs = epochs or EpochParams()
    worst: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for metric in QC_METRICS.values():
        for threshold in metric.thresholds:
            if not threshold.is_crossed(values, params, epochs):
                continue
            if worst.get(threshold.flag) == FAIL:
                continue
            worst[threshold.flag] = threshold.severity
            value = values.get(threshold.column)
            shown = f"{value:.3g}" if isinstance(value, float) else str(value)
            reasons[threshold.flag] = (
                f"{threshold.severity}: {threshold.column} = {shown} "
                f"({threshold.describe(params, epochs)})"
            )
    severities = set(worst.values())
    status = FAIL if FAIL in severities else WARN if WARN in severities else PASS
    return status, list(worst), reasons


def qc_table(
    recording: Recording,
    epochs: EpochParams | None = None,
    params: QCParams | None = None,
) -> pd.DataFrame:
    """One row per unit: ``recording``, ``unit``, ``qc_status``, ``qc_flags``, ``qc_reasons``
    and every metric column of :data:`QC_COLUMNS`.

    Examples
    --------
    Unit ``b`` stops firing after the agonist and never comes back after
    WAY-100635:

    >>> from pathlib import Path
    >>> from rapheunit.core.model import Injection
    >>> units = [Unit("a", np.arange(0, 420, 0.5)), Unit("b", np.arange(0, 250, 0.5))]
    >>> doses = [Injection(180.0, "ipsapirone", 10.0, "ug/kg", 10.0),
    ...          Injection(300.0, "WAY-100635", 100.0, "ug/kg", 100.0)]
    >>> table = qc_table(Recording("r", Path("r"), 0.0, 420.0, units, doses))
    >>> table[["unit", "qc_status", "qc_flags"]].to_numpy().tolist()
    [['a', 'pass', ''], ['b', 'fail', 'possible_unit_loss;no_recovery_after_antagonist']]
    """
    params = params or QCParams()
    rows = [
        {"recording": recording.name} | qc_unit(recording, unit, params=params,
                                                 epochs=epochs).as_row()
        for unit in recording.units
    ]
    return pd.DataFrame(rows, columns=[*TABLE_COLUMNS, *QC_COLUMNS])


def metrics_table(
    params: QCParams | None = None, epochs: EpochParams | None = None
) -> pd.DataFrame:
    """The registry as a table (for documentation and reports): one row per output column.

    Columns: ``metric``, ``column``, ``meaning``, ``parameters`` (``name=value``),
    ``warn`` and ``fail`` (the rules under ``params``/``epochs``).

    Examples
    --------
    >>> table = metrics_table()
    >>> table.set_index("column").loc["presence_ratio", ["warn", "fail"]].tolist()
    ['presence_ratio < 0.9', 'presence_ratio < 0.5']
    """
    params, epochs = params or QCParams(), epochs or EpochParams()
    rows = []
    for metric in QC_METRICS.values():
        used = ", ".join(
            f"{name}={parameter_value(name, params, epochs):g}" for name in metric.parameters
        )
        for column, meaning in metric.columns.items():
            rules = {
                severity: "; ".join(
                    t.describe(params, epochs)
                    for t in metric.thresholds
                    if t.column == column and t.severity == severity
                )
                for severity in (WARN, FAIL)
            }
            rows.append(
                {"metric": metric.name, "column": column, "meaning": meaning,
                 "parameters": used, **rules}
            )
    return pd.DataFrame(rows, columns=["metric", "column", "meaning", "parameters", WARN, FAIL])
