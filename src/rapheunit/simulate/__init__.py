"""Simulated DRN recordings with known ground truth; imports only :mod:`rapheunit.core`."""

from rapheunit.simulate.celltypes import CELL_TYPES, CellType
from rapheunit.simulate.recordings import simulate_recording
from rapheunit.simulate.waveforms import (
    HALF_AMPLITUDE_FRACTION,
    PEAK_MS,
    WAVEFORM_SAMPLING_RATE_HZ,
    WaveformDurations,
    spike_template,
    template_durations,
)
from rapheunit.simulate.writers import DEFAULT_DATASET, write_dataset, write_recording

__all__ = [
    "CELL_TYPES",
    "DEFAULT_DATASET",
    "HALF_AMPLITUDE_FRACTION",
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
