"""Simulated DRN recordings with known ground truth; imports only :mod:`rapheunit.core`."""

from rapheunit.simulate.recordings import (
    WaveformDurations,
    simulate_recording,
    spike_template,
    template_durations,
    write_dataset,
    write_recording,
)

__all__ = [
    "WaveformDurations",
    "simulate_recording",
    "spike_template",
    "template_durations",
    "write_dataset",
    "write_recording",
]
