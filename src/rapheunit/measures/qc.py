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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rapheunit.core.epochs import EpochParams, baseline_window, spikes_in_window
from rapheunit.core.model import Recording, Unit
from rapheunit.measures.qc_metrics import (
    MIN_SPIKES_FOR_DRIFT,
    MIN_STABILITY_BINS,
    MetricFunction,
    UnitContext,
    hill_contamination,
    presence_bin_s,
    spike_amplitudes,
)
from rapheunit.measures.qc_params import (
    DEFAULT_QC_PARAMS,
    FAIL_AMPLITUDE_DRIFT_PCT,
    FAIL_BASELINE_S,
    FAIL_BASELINE_SPIKES,
    FAIL_ISI_VIOLATION_FRACTION,
    FAIL_PRESENCE_RATIO,
    FAIL_RATE_CV,
    FAIL_SNR,
    FAIL_TREND_PCT_PER_MIN,
    PRESENCE_BIN_S,
    REFRACTORY_S,
    SILENCE_ISI_MULTIPLE,
    SILENCE_MIN_S,
    SLOW_PRESENCE_BIN_S,
    SLOW_RATE_HZ,
    STABILITY_BIN_S,
    TREND_ALPHA,
    WARN_AMPLITUDE_DRIFT_PCT,
    WARN_BASELINE_SPIKES,
    WARN_INJECTIONS_OUTSIDE,
    WARN_ISI_VIOLATION_FRACTION,
    WARN_PRESENCE_RATIO,
    WARN_RATE_CV,
    WARN_SNR,
    WARN_TREND_PCT_PER_MIN,
    WARN_UNPARSED_MARKERS,
    QCParams,
    parameter_value,
)
from rapheunit.measures.qc_registry import (
    ABOVE,
    ABS_ABOVE,
    BELOW,
    FAIL,
    IS_FALSE,
    IS_TRUE,
    PASS,
    QC_COLUMNS,
    QC_METRICS,
    QC_STATUSES,
    THRESHOLD_TESTS,
    WARN,
    QCMetric,
    Threshold,
)
from rapheunit.measures.waveform import WaveformFeatures

# The QC API. The parameters (qc_params), the computations (qc_metrics) and the
# registry (qc_registry) live in their own modules and are imported from here as well.
__all__ = [
    "ABOVE", "ABS_ABOVE", "BELOW", "DEFAULT_QC_PARAMS", "FAIL", "FAIL_AMPLITUDE_DRIFT_PCT",
    "FAIL_BASELINE_S", "FAIL_BASELINE_SPIKES", "FAIL_ISI_VIOLATION_FRACTION", "FAIL_PRESENCE_RATIO",
    "FAIL_RATE_CV", "FAIL_SNR", "FAIL_TREND_PCT_PER_MIN", "IS_FALSE", "IS_TRUE",
    "MIN_SPIKES_FOR_DRIFT", "MIN_STABILITY_BINS", "PASS", "PRESENCE_BIN_S", "QC_COLUMNS",
    "QC_METRICS", "QC_STATUSES", "REFRACTORY_S", "SILENCE_ISI_MULTIPLE",
    "SILENCE_MIN_S", "SLOW_PRESENCE_BIN_S", "SLOW_RATE_HZ", "STABILITY_BIN_S", "TABLE_COLUMNS",
    "THRESHOLD_TESTS", "TREND_ALPHA", "WARN", "WARN_AMPLITUDE_DRIFT_PCT", "WARN_BASELINE_SPIKES",
    "WARN_INJECTIONS_OUTSIDE", "WARN_ISI_VIOLATION_FRACTION", "WARN_PRESENCE_RATIO", "WARN_RATE_CV",
    "WARN_SNR", "WARN_TREND_PCT_PER_MIN", "WARN_UNPARSED_MARKERS", "MetricFunction", "QCMetric",
    "QCParams", "QCResult", "Threshold", "hill_contamination", "judge", "metrics_table",
    "parameter_value", "presence_bin_s", "qc_table", "qc_unit", "spike_amplitudes",
]  # fmt: skip

TABLE_COLUMNS = ("recording", "unit", "qc_status", "qc_flags", "qc_reasons")


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


def qc_unit(
    recording: Recording,
    unit: Unit | str,
    *,
    params: QCParams = DEFAULT_QC_PARAMS,
    epochs: EpochParams | None = None,
    waveform: WaveformFeatures | None = None,
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
    >>> import numpy as np
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
    context = UnitContext(
        recording, unit, epochs, baseline, spikes_in_window(unit.spike_times, baseline),
        waveform=waveform,
    )
    values: dict[str, Any] = {}
    for metric in QC_METRICS.values():
        values |= metric.compute(context, params)
    status, flags, reasons = judge(values, params, epochs)
    return QCResult(unit.id, values, status, flags, reasons, context.nan_reasons)


def judge(
    values: Mapping[str, Any],
    params: QCParams = DEFAULT_QC_PARAMS,
    epochs: EpochParams | None = None,
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
    waveforms: Mapping[str, WaveformFeatures] | None = None,
) -> pd.DataFrame:
    """One row per unit: ``recording``, ``unit``, ``qc_status``, ``qc_flags``, ``qc_reasons``
    and every metric column of :data:`QC_COLUMNS`.

    Examples
    --------
    Unit ``b`` stops firing after the agonist and never comes back after
    WAY-100635:

    >>> from pathlib import Path
    >>> from rapheunit.core.model import Injection
    >>> import numpy as np
    >>> units = [Unit("a", np.arange(0, 420, 0.5)), Unit("b", np.arange(0, 250, 0.5))]
    >>> doses = [Injection(180.0, "ipsapirone", 10.0, "ug/kg", 10.0),
    ...          Injection(300.0, "WAY-100635", 100.0, "ug/kg", 100.0)]
    >>> table = qc_table(Recording("r", Path("r"), 0.0, 420.0, units, doses))
    >>> table[["unit", "qc_status", "qc_flags"]].to_numpy().tolist()
    [['a', 'pass', ''], ['b', 'fail', 'possible_unit_loss;no_recovery_after_antagonist']]
    """
    params = params or QCParams()
    waveforms = waveforms or {}
    rows = [
        {"recording": recording.name} | qc_unit(recording, unit, params=params, epochs=epochs,
                                                 waveform=waveforms.get(unit.id)).as_row()
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

