"""The QC registry: each metric declared once with its columns, parameters and warn/fail rules.

Tables, the HTML report and the documentation are generated from
:data:`QC_METRICS`; the computations are in :mod:`rapheunit.measures.qc_metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rapheunit.core.epochs import EpochParams
from rapheunit.core.errors import BadParameterError, check_option
from rapheunit.measures import qc_metrics
from rapheunit.measures.qc_metrics import MetricFunction
from rapheunit.measures.qc_params import QCParams, parameter_value

PASS, WARN, FAIL = "pass", "warn", "fail"
QC_STATUSES = (PASS, WARN, FAIL)
ABOVE, BELOW, ABS_ABOVE, IS_TRUE, IS_FALSE = "above", "below", "abs_above", "is_true", "is_false"
THRESHOLD_TESTS = (ABOVE, BELOW, ABS_ABOVE, IS_TRUE, IS_FALSE)


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
        compute=qc_metrics.refractory_violations,
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
        compute=qc_metrics.baseline_size,
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
        compute=qc_metrics.baseline_stability,
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
        compute=qc_metrics.presence,
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
        compute=qc_metrics.waveform_quality,
    ),
    QCMetric(
        name="injection_windows",
        description="Injections outside the recording, or too close to its end for a full "
        "response window (EpochParams.response_s).",
        columns={"n_injections_outside": "injections without a full window in the recording"},
        parameters=("response_s",),
        thresholds=(Threshold("n_injections_outside", ABOVE, WARN, "injection_outside_recording",
                              "warn_injections_outside"),),
        compute=qc_metrics.injection_windows,
    ),
    QCMetric(
        name="unparsed_markers",
        description="Markers that were not read as injections (recording annotations): a "
        "dose may be missing from the schedule.",
        columns={"n_unparsed_markers": "markers kept as annotations"},
        parameters=(),
        thresholds=(Threshold("n_unparsed_markers", ABOVE, WARN, "unparsed_markers",
                              "warn_unparsed_markers"),),
        compute=qc_metrics.unparsed_markers,
    ),
    QCMetric(
        name="unit_loss",
        description="Silence from the last spike to the end of the recording (longer than "
        "silence_min_s and silence_isi_multiple baseline ISIs) that is not explained by the "
        "agonist: it began before any agonist, or firing did not recover to "
        "recovery_pct of baseline in the antagonist's response window.",
        columns={
            "final_silence_s": "time from the last spike to the end (s)",
            "silent_from_s": "start of a final silence (NaN when none)",
            "recovery_pct_baseline": "firing after the antagonist, % of baseline",
            "recovered_after_antagonist": "recovery_pct_baseline >= recovery_pct",
            "possible_unit_loss": "final silence not explained by the agonist",
            "silent_to_end_no_antagonist": "silent to the end after the agonist, no antagonist",
        },
        parameters=("silence_min_s", "silence_isi_multiple", "recovery_pct", "response_s"),
        thresholds=(
            Threshold("possible_unit_loss", IS_TRUE, FAIL, "possible_unit_loss"),
            Threshold("recovered_after_antagonist", IS_FALSE, WARN,
                      "no_recovery_after_antagonist"),
            Threshold("silent_to_end_no_antagonist", IS_TRUE, WARN, "silent_to_end"),
        ),
        compute=qc_metrics.unit_loss,
    ),
)

#: The registry: metric name -> :class:`QCMetric`, in evaluation order.
QC_METRICS: dict[str, QCMetric] = {metric.name: metric for metric in _METRICS}
#: Every metric column, in registry order.
QC_COLUMNS: tuple[str, ...] = tuple(column for m in _METRICS for column in m.columns)
