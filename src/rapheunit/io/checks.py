"""Checks on what a reader found, before it becomes a recording (see :mod:`rapheunit.io.load`).

Spikes outside the recording and duplicate spike times are dropped, waveforms that
do not match the spikes are not used, and injections outside the recording are
named; every change is a one-line warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from rapheunit.core.errors import NoUnitsError, UnreadableFileError
from rapheunit.core.model import Injection, Unit


def checked_units(
    units: Sequence[Unit], t_start: float, t_stop: float, path: Path | None = None
) -> tuple[list[Unit], list[str]]:
    """Drop duplicate spikes and spikes outside ``[t_start, t_stop]``; say what changed.

    Returns the units (every one kept, even when empty) and one-line warnings.
    Raises :class:`NoUnitsError` when no unit has a spike, and
    :class:`UnreadableFileError` when no spike lies inside the recording.

    Examples
    --------
    >>> units, notes = checked_units([Unit("u", np.array([1.0, 1.0, 2.0, 99.0]))], 0.0, 10.0)
    >>> units[0].spike_times.tolist()
    [1.0, 2.0]
    >>> notes[0]
    "unit 'u': 1 duplicate spike time(s) dropped (a unit cannot fire twice at one instant)"
    """
    checked, notes = [], []
    for unit in units:
        kept, unit_notes = _checked_unit(unit, t_start, t_stop)
        checked.append(kept)
        notes.extend(unit_notes)
    n_read = sum(unit.n_spikes for unit in units)
    if n_read == 0:
        raise NoUnitsError(f"all {len(units)} spike train(s) are empty: nothing to analyse", path)
    if not any(unit.n_spikes for unit in checked):
        raise UnreadableFileError(
            f"none of the {n_read:,} spikes lies inside the recording [{t_start:g}, {t_stop:g}] s; "
            "check that the times are in seconds and that t_stop is right",
            path,
        )
    return checked, notes


def _checked_unit(unit: Unit, t_start: float, t_stop: float) -> tuple[Unit, list[str]]:
    times = unit.spike_times
    notes = list(unit.warnings)
    n_waveforms = 0 if unit.waveforms is None or unit.waveforms_are_mean else len(unit.waveforms)
    if n_waveforms and n_waveforms != unit.n_spikes:
        notes.append(
            f"unit {unit.id!r}: {n_waveforms} waveforms for {unit.n_spikes} spikes; "
            "waveforms not used (which belongs to which spike is unknown)"
        )
        unit = replace(unit, waveforms=None, sampling_rate_hz=None, waveform_units="")
    duplicate = np.concatenate([[False], np.diff(times) == 0])
    outside = (times < t_start) | (times > t_stop)
    if duplicate.any():
        notes.append(
            f"unit {unit.id!r}: {int(duplicate.sum())} duplicate spike time(s) dropped "
            "(a unit cannot fire twice at one instant)"
        )
    if outside.any():
        notes.append(
            f"unit {unit.id!r}: {int(outside.sum())} spike(s) outside the recording "
            f"[{t_start:g}, {t_stop:g}] s dropped (first at {times[outside][0]:g} s)"
        )
    if duplicate.any() or outside.any():
        unit = unit.without_spikes(duplicate | outside)
    if unit.n_spikes == 0:
        notes.append(f"unit {unit.id!r} has no spikes: its rates are 0 Hz and its features NaN")
    return unit, notes


def injection_warnings(injections: Sequence[Injection], t_start: float, t_stop: float) -> list[str]:
    """One warning per injection that lies outside the recording.

    Examples
    --------
    >>> late = Injection(700.0, "ipsapirone", 5.0, "ug/kg", 5.0, "ipsapirone 5 ug/kg")
    >>> print(injection_warnings([late], 0.0, 600.0)[0].split(": ")[0])
    injection 'ipsapirone 5 ug/kg' at 700 s is at or after the recording end (600 s)
    """
    notes = []
    for injection in injections:
        what = f"injection {injection.label or injection.drug!r} at {injection.time_s:g} s"
        if injection.time_s < t_start:
            notes.append(
                f"{what} is before the recording start ({t_start:g} s): "
                "there is no drug-free baseline before it"
            )
        elif injection.time_s >= t_stop:
            notes.append(
                f"{what} is at or after the recording end ({t_stop:g} s): it has no response window"
            )
    return notes
