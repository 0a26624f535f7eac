"""The recording model: everything past the loader is plain float seconds.

A :class:`Recording` holds :class:`Unit` objects (sorted spike times, optional
waveforms), the dose schedule as :class:`Injection` objects, and the marker
labels that were not injections as :class:`Annotation` objects. No
``quantities`` object crosses this boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rapheunit.core.errors import BadParameterError


@dataclass(eq=False, repr=False)
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

    Spike times that are not in time order are sorted (with their waveform
    rows) and a one-line note is added to ``warnings``; NaN or infinite times
    raise :class:`~rapheunit.core.errors.BadParameterError`.

    Examples
    --------
    >>> unit = Unit("u1", np.array([0.5, 0.1, 1.2]))
    >>> unit.spike_times
    array([0.1, 0.5, 1.2])
    >>> unit.n_spikes
    3
    >>> unit.warnings
    ["unit 'u1': 1 spike time(s) out of time order; sorted"]
    """

    id: str
    spike_times: np.ndarray
    waveforms: np.ndarray | None = None
    sampling_rate_hz: float | None = None
    waveform_units: str = ""
    waveforms_are_mean: bool = False
    annotations: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        times = np.asarray(self.spike_times, dtype=np.float64).ravel()
        n_bad = int(np.count_nonzero(~np.isfinite(times)))
        if n_bad:
            raise BadParameterError(
                f"unit {self.id!r}: {n_bad} of {times.size} spike times are NaN or infinite"
            )
        if self.waveforms is not None:
            self.waveforms = np.atleast_2d(np.asarray(self.waveforms, dtype=np.float64))
        n_backwards = int(np.count_nonzero(np.diff(times) < 0))
        if n_backwards:
            order = np.argsort(times, kind="stable")
            times = times[order]
            if self._has_spike_waveforms(times.size):
                self.waveforms = self.waveforms[order]
            self.warnings.append(
                f"unit {self.id!r}: {n_backwards} spike time(s) out of time order; sorted"
            )
        self.spike_times = times

    @property
    def n_spikes(self) -> int:
        """Number of spikes."""
        return int(self.spike_times.size)

    def __repr__(self) -> str:
        from rapheunit.core.display import unit_text

        return unit_text(self)

    def _repr_html_(self) -> str:
        from rapheunit.core.display import unit_html

        return unit_html(self)

    @property
    def has_waveforms(self) -> bool:
        """True when waveform samples and their sampling rate are known."""
        return self.waveforms is not None and bool(self.sampling_rate_hz)

    def _has_spike_waveforms(self, n_spikes: int) -> bool:
        """True when ``waveforms`` holds one row per spike (so rows follow the spikes)."""
        return (
            self.waveforms is not None
            and not self.waveforms_are_mean
            and len(self.waveforms) == n_spikes
        )

    def without_spikes(self, drop: np.ndarray) -> Unit:
        """A copy without the spikes where ``drop`` is True (and their waveform rows).

        Examples
        --------
        >>> unit = Unit("u1", np.array([0.1, 0.5, 1.2]), np.eye(3), 1000.0, "uV")
        >>> short = unit.without_spikes(np.array([False, True, False]))
        >>> short.spike_times.tolist(), short.waveforms.shape
        ([0.1, 1.2], (2, 3))
        """
        keep = ~np.asarray(drop, dtype=bool)
        waveforms = self.waveforms
        if self._has_spike_waveforms(keep.size):
            waveforms = waveforms[keep]
        copy = replace(self, spike_times=self.spike_times[keep], waveforms=waveforms)
        copy.warnings = list(self.warnings)
        return copy


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


# Characters that would let a recording name act as a path when it names an output file.
_NAME_FORBIDDEN = frozenset("/\\\0")


def check_recording_name(name: str) -> str:
    """Return ``name`` if it is safe as a file-name stem, else raise :class:`BadParameterError`.

    Recording names come from file stems; anything that could climb out of an
    output folder (a path separator, NUL, ``.`` or ``..``) or is empty is refused.

    Examples
    --------
    >>> check_recording_name("rat7_cell2")
    'rat7_cell2'
    """
    if not isinstance(name, str) or name.strip() in {"", ".", ".."} or _NAME_FORBIDDEN & set(name):
        raise BadParameterError(
            f"recording name {name!r} is not a plain file-name stem "
            "(no '/', '\\', NUL, '.' or '..'); rename the file"
        )
    return name


@dataclass(eq=False, repr=False)
class Recording:
    """One recording: units, dose schedule, annotations and provenance.

    ``name`` must be a plain file-name stem (see :func:`check_recording_name`)
    and ``t_start <= t_stop``, both finite.

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
    # rapheunit.detection.detect.DetectionResult objects when units were detected in signals.
    detections: list[Any] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        check_recording_name(self.name)
        bounds = np.array([self.t_start, self.t_stop], dtype=np.float64)
        if not np.all(np.isfinite(bounds)) or bounds[1] < bounds[0]:
            raise BadParameterError(
                f"recording {self.name!r}: need finite t_start <= t_stop, "
                f"got [{self.t_start}, {self.t_stop}]"
            )

    def __repr__(self) -> str:
        from rapheunit.core.display import recording_text

        return recording_text(self)

    def _repr_html_(self) -> str:
        from rapheunit.core.display import recording_html

        return recording_html(self)

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
