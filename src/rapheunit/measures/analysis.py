"""One recording measured once: baseline, features, QC, verdicts, dose rates and time courses.

:func:`measure_recording` is the single place where a loaded recording's
measures are derived. The tables it makes go to the batch; the arrays behind
them (baseline spikes, waveform features) stay on the
:class:`RecordingAnalysis` for the report, which only reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from rapheunit.core.epochs import (
    EpochParams,
    Window,
    baseline_is_short,
    baseline_window,
    dose_rates,
    rate_in_window,
    response_windows,
    spikes_in_window,
)
from rapheunit.core.model import Injection, Recording, Unit
from rapheunit.measures.classify import classify_recording
from rapheunit.measures.qc import QCParams, metrics_table, qc_table
from rapheunit.measures.timecourse import TimecourseParams, timecourse_metrics, timecourse_table
from rapheunit.measures.waveform import (
    WaveformFeatures,
    amplitude_warning,
    unit_waveform_features,
)

# Unit annotation set by spike detection -> units.csv column.
DETECTION_COLUMNS = {
    "channel": "channel",
    "dominant": "dominant",
    "l_ratio": "l_ratio",
    "isolation_confidence": "isolation_confidence",
    "threshold": "detection_threshold",
    "noise_mad": "noise_mad",
}
UNIT_COLUMNS = (
    "recording",
    "unit",
    "n_spikes",
    "duration_s",
    "baseline_rate_hz",
    "baseline_start_s",
    "baseline_stop_s",
    "baseline_short",
)


class ClassificationChoice(Protocol):
    """What the classifier is told: the rule set, its changes and the burst ISI limit."""

    rule_set: str
    overrides: Mapping[str, Any] | None
    config: Mapping[str, Any] | None
    burst_isi_s: float


@dataclass(frozen=True)
class MeasureSettings:
    """The settings every measure of a recording reads, typed, from one options tree."""

    epochs: EpochParams
    qc: QCParams
    timecourse: TimecourseParams
    classification: ClassificationChoice

    @property
    def qc_rules(self) -> pd.DataFrame:
        """The QC rules as applied under these settings (one row per metric column)."""
        return metrics_table(self.qc, self.epochs)


@dataclass
class RecordingAnalysis:
    """Everything measured on one recording, derived once by :func:`measure_recording`."""

    recording: Recording
    settings: MeasureSettings
    baseline: Window
    windows: list[tuple[Injection, Window]]
    doses: pd.DataFrame
    units: pd.DataFrame
    waveforms: dict[str, WaveformFeatures]
    timecourse: pd.DataFrame
    timecourse_metrics: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def baseline_spikes(self, unit: Unit) -> np.ndarray:
        """The unit's spike times inside the baseline window."""
        return spikes_in_window(unit.spike_times, self.baseline)


def measure_recording(recording: Recording, settings: MeasureSettings) -> RecordingAnalysis:
    """Measure every unit of ``recording`` under ``settings``.

    :func:`rapheunit.run.pipeline.measure` does the same from the run's options.

    Examples
    --------
    >>> from pathlib import Path
    >>> from types import SimpleNamespace
    >>> from rapheunit.core.model import Unit
    >>> choice = SimpleNamespace(rule_set="default", overrides=None, config=None,
    ...                          burst_isi_s=0.02)
    >>> settings = MeasureSettings(EpochParams(), QCParams(), TimecourseParams(), choice)
    >>> rec = Recording("r", Path("r.csv"), 0.0, 400.0, [Unit("u", np.arange(0.0, 400.0, 1.0))])
    >>> analysis = measure_recording(rec, settings)
    >>> analysis.units[["unit", "baseline_rate_hz", "classification", "qc_status"]].values.tolist()
    [['u', 1.0, 'putative_5ht', 'pass']]
    """
    epochs = settings.epochs
    baseline = baseline_window(recording, epochs)
    # Measured once, read by the verdicts, QC and the report.
    waveforms = {unit.id: unit_waveform_features(unit, baseline.start_s, baseline.stop_s)
                 for unit in recording.units}
    doses = dose_rates(recording, epochs)
    choice = settings.classification
    verdicts = classify_recording(
        recording,
        baseline=(baseline.start_s, baseline.stop_s),
        rule_set=choice.rule_set,
        overrides=choice.overrides,
        config=choice.config,
        dose_rows=doses,
        burst_isi_s=choice.burst_isi_s,
        recovery_pct=epochs.recovery_pct,
        waveforms=waveforms,
    ).table
    quality = qc_table(recording, epochs, settings.qc, waveforms).drop(columns="recording")
    units = (
        unit_table(recording, baseline, epochs)
        .merge(verdicts, on="unit", how="left")
        .merge(quality, on="unit", how="left")
    )
    timecourse = timecourse_table(recording, params=settings.timecourse, epochs=epochs)
    implausible = [text for unit_id, features in waveforms.items()
                   for text in amplitude_warning(unit_id, features)]
    return RecordingAnalysis(
        recording=recording,
        settings=settings,
        baseline=baseline,
        windows=response_windows(recording, epochs),
        doses=doses,
        units=units,
        waveforms=waveforms,
        timecourse=timecourse,
        timecourse_metrics=timecourse_metrics(
            timecourse, settings.timecourse, epochs.recovery_pct
        ),
        warnings=[*recording.warnings, *_baseline_warning(baseline, epochs), *implausible],
    )


def _baseline_warning(baseline: Window, epochs: EpochParams) -> list[str]:
    if not baseline_is_short(baseline, epochs):
        return []
    return [
        f"baseline is {baseline.length_s:g} s, shorter than the "
        f"{epochs.min_baseline_s:g} s required (baseline_short)"
    ]


def unit_table(recording: Recording, baseline: Window, epochs: EpochParams) -> pd.DataFrame:
    """One row per unit: spike count, duration and baseline rate.

    Examples
    --------
    >>> from pathlib import Path
    >>> from rapheunit.core.model import Unit
    >>> rec = Recording("r", Path("r.csv"), 0.0, 100.0, [Unit("u", np.arange(0, 100, 0.5))])
    >>> row = unit_table(rec, Window(0.0, 100.0), EpochParams()).iloc[0]
    >>> int(row["n_spikes"]), float(row["baseline_rate_hz"])
    (200, 2.0)
    """
    rows = [
        {
            "recording": recording.name,
            "unit": unit.id,
            "n_spikes": unit.n_spikes,
            "duration_s": recording.duration_s,
            "baseline_rate_hz": rate_in_window(unit.spike_times, baseline),
            "baseline_start_s": baseline.start_s,
            "baseline_stop_s": baseline.stop_s,
            "baseline_short": baseline_is_short(baseline, epochs),
            **detection_columns(unit),
        }
        for unit in recording.units
    ]
    extra = [c for c in DETECTION_COLUMNS.values() if any(c in row for row in rows)]
    return pd.DataFrame(rows, columns=[*UNIT_COLUMNS, *extra])


def detection_columns(unit: Unit) -> dict[str, Any]:
    """``units.csv`` columns of a unit found by spike detection (empty for sorted units).

    Examples
    --------
    >>> detection_columns(Unit("u", np.array([1.0]), annotations={"dominant": True}))
    {'dominant': True}
    """
    return {
        column: unit.annotations[key]
        for key, column in DETECTION_COLUMNS.items()
        if key in unit.annotations
    }
