"""Parameters of the quality-control metrics: every limit with its source, and :class:`QCParams`.

The metrics that use them are in :mod:`rapheunit.measures.qc_metrics`, their
declarations in :mod:`rapheunit.measures.qc_registry`, the verdict and tables in
:mod:`rapheunit.measures.qc`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from rapheunit.core.epochs import EpochParams
from rapheunit.core.errors import BadParameterError, check_positive
from rapheunit.core.params import param

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
# Presence ratio bins (see the docstring of rapheunit.measures.qc) and limits.
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
# Any injection without its full window, and any marker not read as a dose, is worth a look.
WARN_INJECTIONS_OUTSIDE = 0
WARN_UNPARSED_MARKERS = 0


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

    refractory_s: float = param(
        REFRACTORY_S,
        'ISIs shorter than this violate the refractory period',
        metavar="VALUE",
    )
    censored_s: float = param(
        0.0,
        'detector dead time after each spike (0 when unknown)',
        metavar="VALUE",
    )
    warn_isi_violation_fraction: float = param(
        WARN_ISI_VIOLATION_FRACTION,
        'QC warn: share of baseline ISIs under the refractory period',
        metavar="VALUE",
    )
    fail_isi_violation_fraction: float = param(
        FAIL_ISI_VIOLATION_FRACTION,
        'QC fail: share of baseline ISIs under the refractory period',
        metavar="VALUE",
    )
    fail_baseline_s: float = param(
        FAIL_BASELINE_S,
        'QC fail: baseline shorter than this',
        metavar="VALUE",
    )
    warn_baseline_spikes: float = param(
        WARN_BASELINE_SPIKES,
        'QC warn: fewer baseline spikes than this',
        metavar="VALUE",
    )
    fail_baseline_spikes: float = param(
        FAIL_BASELINE_SPIKES,
        'QC fail: fewer baseline spikes than this',
        metavar="VALUE",
    )
    stability_bin_s: float = param(
        STABILITY_BIN_S,
        'bin width of the baseline stability and trend',
        metavar="VALUE",
    )
    trend_alpha: float = param(
        TREND_ALPHA,
        'a baseline trend counts when its slope is significant at this level',
        metavar="VALUE",
    )
    warn_trend_pct_per_min: float = param(
        WARN_TREND_PCT_PER_MIN,
        'QC warn: |baseline trend| in % of the rate per minute',
        metavar="VALUE",
    )
    fail_trend_pct_per_min: float = param(
        FAIL_TREND_PCT_PER_MIN,
        'QC fail: |baseline trend| in % of the rate per minute',
        metavar="VALUE",
    )
    warn_rate_cv: float = param(
        WARN_RATE_CV,
        'QC warn: CV of the binned baseline rate',
        metavar="VALUE",
    )
    fail_rate_cv: float = param(
        FAIL_RATE_CV,
        'QC fail: CV of the binned baseline rate',
        metavar="VALUE",
    )
    presence_bin_s: float = param(PRESENCE_BIN_S, 'presence-ratio bin width', metavar="VALUE")
    slow_presence_bin_s: float = param(
        SLOW_PRESENCE_BIN_S,
        'presence-ratio bin width for slow cells',
        metavar="VALUE",
    )
    slow_rate_hz: float = param(
        SLOW_RATE_HZ,
        'cells slower than this use the slow presence bins',
        metavar="VALUE",
    )
    warn_presence_ratio: float = param(
        WARN_PRESENCE_RATIO,
        'QC warn: presence ratio below this',
        metavar="VALUE",
    )
    fail_presence_ratio: float = param(
        FAIL_PRESENCE_RATIO,
        'QC fail: presence ratio below this',
        metavar="VALUE",
    )
    warn_snr: float = param(WARN_SNR, 'QC warn: waveform SNR below this', metavar="VALUE")
    fail_snr: float = param(FAIL_SNR, 'QC fail: waveform SNR below this', metavar="VALUE")
    warn_amplitude_drift_pct: float = param(
        WARN_AMPLITUDE_DRIFT_PCT,
        'QC warn: amplitude change across the recording (%)',
        metavar="VALUE",
    )
    fail_amplitude_drift_pct: float = param(
        FAIL_AMPLITUDE_DRIFT_PCT,
        'QC fail: amplitude change across the recording (%)',
        metavar="VALUE",
    )
    silence_min_s: float = param(
        SILENCE_MIN_S,
        'a final silence counts from this long',
        metavar="VALUE",
    )
    silence_isi_multiple: float = param(
        SILENCE_ISI_MULTIPLE,
        '... and from this many mean baseline ISIs',
        metavar="VALUE",
    )
    warn_injections_outside: float = param(
        WARN_INJECTIONS_OUTSIDE,
        'QC warn: more injections than this without a full window',
        metavar="VALUE",
    )
    warn_unparsed_markers: float = param(
        WARN_UNPARSED_MARKERS,
        'QC warn: more markers than this not read as doses',
        metavar="VALUE",
    )

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


# The defaults, built once: functions take it as their default ``params``.
DEFAULT_QC_PARAMS = QCParams()


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

