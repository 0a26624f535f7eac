"""The recording model: everything past the loader is plain float seconds.

A :class:`Recording` holds :class:`Unit` objects (sorted spike times, optional
waveforms), the dose schedule as :class:`Injection` objects, and the marker
labels that were not injections as :class:`Annotation` objects. No
``quantities`` object crosses this boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rapheunit.errors import BadParameterError


@dataclass(eq=False)
class Unit:
    """One sorted unit (or discriminated event channel).

    Parameters
    ----------
    id : str
        Unique, stable identifier within the recording (e.g. ``"Spikes#ch0#1"``).
    spike_times : numpy.ndarray
        Spike times in seconds; stored as a sorted float64 array.
    waveforms : numpy.ndarray or None
        ``(n_waveforms, n_samples)`` snippets in ``waveform_units``; one row
        per spike, or a single row when the file only stores the mean.
    sampling_rate_hz : float or None
        Sampling rate of the waveform samples.
    waveform_units : str
        Physical unit of the waveform values (``"mV"``, ``"uV"``, ...).
    waveforms_are_mean : bool
        True when ``waveforms`` holds only the file's mean waveform.
    annotations : dict
        Free metadata copied from the file (channel, sort code, ...).

    Examples
    --------
    >>> unit = Unit("u1", np.array([0.5, 0.1, 1.2]))
    >>> unit.spike_times
    array([0.1, 0.5, 1.2])
    >>> unit.n_spikes
    3
    """

    id: str
    spike_times: np.ndarray
    waveforms: np.ndarray | None = None
    sampling_rate_hz: float | None = None
    waveform_units: str = ""
    waveforms_are_mean: bool = False
    annotations: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        times = np.asarray(self.spike_times, dtype=np.float64).ravel()
        if times.size and not np.all(np.isfinite(times)):
            raise BadParameterError(f"unit {self.id!r}: spike times contain NaN or infinite values")
        if times.size > 1 and np.any(np.diff(times) < 0):
            order = np.argsort(times, kind="stable")
            times = times[order]
            if self.waveforms is not None and not self.waveforms_are_mean:
                self.waveforms = np.asarray(self.waveforms)[order]
        self.spike_times = times
        if self.waveforms is not None:
            self.waveforms = np.atleast_2d(np.asarray(self.waveforms, dtype=np.float64))

    @property
    def n_spikes(self) -> int:
        """Number of spikes."""
        return int(self.spike_times.size)

    @property
    def has_waveforms(self) -> bool:
        """True when waveform samples and their sampling rate are known."""
        return self.waveforms is not None and bool(self.sampling_rate_hz)


@dataclass(frozen=True)
class Injection:
    """One drug administration on the recording's time axis.

    ``dose`` is the amount given at this injection; ``cumulative_dose`` the
    running total of that drug up to and including it. Body-weight doses are
    in ``ug/kg``; concentrations keep their own unit and are not summed.
    """

    time_s: float
    drug: str
    dose: float
    dose_unit: str
    cumulative_dose: float
    label: str = ""
    source: str = ""


@dataclass(frozen=True)
class Annotation:
    """A marker that is not an injection (comment, dose-less note)."""

    time_s: float
    text: str
    reason: str = ""


@dataclass(eq=False)
class Recording:
    """One recording: units, dose schedule, annotations and provenance.

    Examples
    --------
    >>> rec = Recording("demo", Path("demo.csv"), 0.0, 10.0, [Unit("u1", np.arange(10.0))])
    >>> rec.duration_s
    10.0
    >>> rec.unit("u1").n_spikes
    10
    """

    name: str
    path: Path
    t_start: float
    t_stop: float
    units: list[Unit]
    injections: list[Injection] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Length of the recording in seconds."""
        return float(self.t_stop - self.t_start)

    @property
    def reader(self) -> str:
        """Name of the reader that produced this recording."""
        return str(self.provenance.get("reader", ""))

    def unit(self, unit_id: str) -> Unit:
        """Return the unit with id ``unit_id``."""
        for unit in self.units:
            if unit.id == unit_id:
                return unit
        known = ", ".join(u.id for u in self.units)
        raise KeyError(f"{self.name}: no unit {unit_id!r} (units: {known})")
