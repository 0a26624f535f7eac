"""A neo ``Block`` turned into rapheunit units and raw marker events on one time axis.

Whatever neo reader produced the block, its spike trains become
:class:`~rapheunit.core.model.Unit` objects in float seconds (waveforms in
microvolts), its labelled events become (time, label) markers for the dose
schedule, and event channels named as spike channels become units. This is
where quantities stop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rapheunit.core.errors import NoUnitsError
from rapheunit.core.model import Unit
from rapheunit.io.readers.content import RawContent


def block_content(
    block: Any,
    reader: str,
    spike_channels: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> RawContent:
    """Turn a neo ``Block`` into units and marker events on one time axis.

    Segments (Spike2 pauses) are concatenated: a segment that starts before the
    previous one ended is shifted to begin where it ended.

    Examples
    --------
    >>> import neo, quantities as pq
    >>> seg = neo.Segment()
    >>> seg.spiketrains.append(neo.SpikeTrain([1, 2] * pq.s, t_stop=5 * pq.s, name="u"))
    >>> block = neo.Block(); block.segments.append(seg)
    >>> content = block_content(block, "memory")
    >>> content.units[0].spike_times.tolist(), content.t_stop
    ([1.0, 2.0], 5.0)
    """
    pieces: dict[str, list[Any]] = {}
    events: list[tuple[float, str]] = []
    offset_s = 0.0
    previous_stop_s: float | None = None
    t_start_s: float | None = None
    wanted_events = {name.casefold() for name in spike_channels}
    for segment in block.segments:
        seg_start = float(segment.t_start.rescale("s").magnitude)
        seg_stop = float(segment.t_stop.rescale("s").magnitude)
        offset_s = (
            0.0
            if previous_stop_s is None or seg_start >= previous_stop_s
            else (previous_stop_s - seg_start)
        )
        t_start_s = seg_start + offset_s if t_start_s is None else t_start_s
        previous_stop_s = seg_stop + offset_s
        for key, train in _segment_trains(segment, wanted_events):
            pieces.setdefault(key, []).append((train, offset_s))
        events.extend(_segment_markers(segment, wanted_events, offset_s))
    units = _units_from_pieces(pieces)
    return RawContent(
        units=units,
        marker_events=sorted(events),
        t_start=t_start_s if t_start_s is not None else 0.0,
        t_stop=previous_stop_s,
        reader=reader,
        warnings=[
            *notes,
            *_spike_channel_notes(block, spike_channels, bool(units)),
            *(
                f"unit {unit.id}: the file's waveforms have no voltage unit; kept in arbitrary "
                "units (durations hold, amplitudes have no unit)"
                for unit in units
                if unit.waveform_units == ARBITRARY_UNITS
            ),
        ],
    )


def _spike_channel_notes(block: Any, spike_channels: Sequence[str], has_units: bool) -> list[str]:
    """Check the ``--spike-channel`` names against the file's event channels.

    A name no event channel has is an error when the file has no units of its
    own, and a warning when it has (a batch may mix files with and without
    that channel). A marker channel (text labels) is never a unit channel.
    """
    events = [e for segment in block.segments for e in segment.events]
    available = sorted({str(event.name) for event in events})
    notes = []
    for wanted in spike_channels:
        matching = [e for e in events if str(e.name).casefold() == wanted.casefold()]
        if any(str(label).strip() for event in matching for label in event.labels):
            raise NoUnitsError(
                f"event channel {wanted!r} holds marker labels, not spikes; "
                "give a channel of spike times to --spike-channel"
            )
        if matching:
            continue
        listed = ", ".join(map(repr, available)) or "none"
        if not has_units:
            raise NoUnitsError(f"no event channel named {wanted!r} (event channels: {listed})")
        notes.append(
            f"no event channel named {wanted!r} (event channels: {listed}); "
            "the file's own units are analysed"
        )
    return notes


def _segment_trains(segment: Any, wanted_events: set[str]) -> list[tuple[str, Any]]:
    keys = [_train_key(train) for train in segment.spiketrains]
    # Trains a reader leaves without distinct names (NWBIO) keep their position, never merge.
    trains = [
        (key if keys.count(key) == 1 else f"{key}#{index}", train)
        for index, (key, train) in enumerate(zip(keys, segment.spiketrains, strict=True))
    ]
    trains += [
        (f"{event.name}", event)
        for event in segment.events
        if str(event.name).casefold() in wanted_events
    ]
    return trains


def _train_key(train: Any) -> str:
    name = str(train.name) if train.name else "unit"
    channel_id = train.annotations.get("id")
    return f"{name}#{channel_id}" if channel_id is not None else name


def _segment_markers(
    segment: Any,
    wanted_events: set[str],
    offset_s: float,
) -> list[tuple[float, str]]:
    """Labelled events as (time, raw label); decoding is the schedule builder's job."""
    markers = []
    for event in segment.events:
        if str(event.name).casefold() in wanted_events:
            continue
        times = event.times.rescale("s").magnitude + offset_s
        for time_s, label in zip(times, event.labels, strict=False):
            text = str(label).strip()
            if text:  # unlabelled events are TTL pulses, not markers
                markers.append((float(time_s), text))
    return markers


def _units_from_pieces(pieces: dict[str, list[Any]]) -> list[Unit]:
    names = [key.split("#", 1)[0] for key in pieces]
    units = []
    for key, parts in pieces.items():
        name = key.split("#", 1)[0]
        # Unique names stay readable; shared ones (Spike2 WaveMark sort codes) keep the neo id.
        unit_id = name if names.count(name) == 1 else key
        units.append(_unit_from_parts(unit_id, parts))
    return units


def _unit_from_parts(unit_id: str, parts: list[tuple[Any, float]]) -> Unit:
    times = np.concatenate([_times_s(obj) + offset for obj, offset in parts])
    first = parts[0][0]
    waveforms, rate_hz, waveform_units = _waveforms_uv(parts)
    annotations = {k: _plain(v) for k, v in getattr(first, "annotations", {}).items()}
    return Unit(
        unit_id,
        times,
        waveforms=waveforms,
        sampling_rate_hz=rate_hz,
        waveform_units=waveform_units,
        annotations=annotations,
    )


def _times_s(obj: Any) -> np.ndarray:
    return np.asarray(obj.times.rescale("s").magnitude, dtype=np.float64).ravel()


# Waveforms whose unit is not a voltage (neo gives some Plexon files' as dimensionless) are
# kept as they are: their shape and durations hold, only their amplitude has no unit.
ARBITRARY_UNITS = "a.u."


def _waveforms_uv(
    parts: list[tuple[Any, float]],
) -> tuple[np.ndarray | None, float | None, str]:
    """Waveforms of the channel with the largest mean deflection, in microvolts where possible.

    Returns the waveforms, their sampling rate and their unit (``"uV"``, or
    :data:`ARBITRARY_UNITS` when the file's unit is not a voltage: a problem
    with the waveforms never costs the spike times).
    """
    blocks = [getattr(obj, "waveforms", None) for obj, _ in parts]
    if any(w is None or np.size(w) == 0 for w in blocks):
        return None, None, ""
    first = parts[0][0]
    rate = getattr(first, "sampling_rate", None)
    if rate is None:
        return None, None, ""
    try:
        stacked = np.concatenate([w.rescale("uV").magnitude for w in blocks], axis=0)
        units = "uV"
    except ValueError:
        stacked = np.concatenate([np.asarray(w.magnitude) for w in blocks], axis=0)
        units = ARBITRARY_UNITS
    if stacked.ndim == 3:
        mean = stacked.mean(axis=0)
        best_channel = int(np.argmax(np.ptp(mean, axis=-1)))
        stacked = stacked[:, best_channel, :]
    return stacked.astype(np.float64), float(rate.rescale("Hz").magnitude), units


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
