"""Files read through a neo IO class: Spike2, Plexon, NeuroExplorer, NIX, Axon, Open Ephys.

Readers built on neo's rawio layer are used lazily: the block comes back as
proxies, so the spike and waveform counts are checked against the resource
limits before anything is loaded, and raw signals are never loaded at all.
Non-lazy readers (NixIO, NWBIO) load everything, so their HDF5 file is sized
first. Whatever neo raises on a corrupt file becomes an
:class:`~rapheunit.core.errors.UnreadableFileError` naming the reader.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rapheunit.core.errors import RapheUnitError, UnreadableFileError, UnsupportedFormatError
from rapheunit.io.readers import limits
from rapheunit.io.readers.content import RawContent, one_line
from rapheunit.io.readers.filecheck import TRUNCATED_ADVICE, check_plexon_counts
from rapheunit.io.readers.neo_block import block_content


def read_neo(path: Path, reader: str, spike_channels: Sequence[str]) -> RawContent:
    """Read ``path`` with the neo IO class named ``reader``; ``spike_channels`` become units."""
    try:
        if reader == "OpenEphysIO":
            block, notes = _open_ephys_legacy_block(path), []
            return block_content(block, reader, spike_channels, notes)
        io = open_neo_io(path, reader)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if _reads_lazily(io):
                block, notes = _read_block_lazily(io, path, spike_channels)
            else:
                limits.check_hdf5_sizes(path, reader)
                block, notes = _read_block(io)
    except RapheUnitError:
        raise
    except Exception as error:  # neo raises anything on a corrupt file
        raise UnreadableFileError(
            f"{reader} could not read it ({one_line(error)}); the file is truncated or "
            "corrupt: copy or export it again",
            path,
        ) from error
    content = block_content(block, reader, spike_channels, notes)
    if reader == "PlexonIO":
        check_plexon_counts(path, content.units)
    return content


# An explicit time span wider than any recording (about 30 years either side of 0).
_WHOLE_SPAN_S = 1e9


def _open_ephys_legacy_block(path: Path) -> Any:
    """A block of the spike trains of a legacy Open Ephys folder, read through its rawio.

    neo 0.14's ``OpenEphysIO`` returns every spike train empty: its header
    counts no spikes, although the rawio returns them when asked for an
    explicit time span. Spikes may be timestamped before the continuous
    signal starts, so the segment spans the signal and every spike.
    """
    import neo
    import quantities as pq
    from neo.rawio import OpenEphysRawIO

    rawio = OpenEphysRawIO(str(path))
    rawio.parse_header()
    block = neo.Block()
    for seg_index in range(rawio.segment_count(0)):
        trains = [
            _open_ephys_train(rawio, seg_index, channel)
            for channel in range(rawio.spike_channels_count())
        ]
        starts = [rawio.segment_t_start(0, seg_index), *(t[0] for t, *_ in trains if t.size)]
        stops = [rawio.segment_t_stop(0, seg_index), *(t[-1] for t, *_ in trains if t.size)]
        segment = neo.Segment()
        for times, waveforms, name, units, rate_hz in trains:
            train = neo.SpikeTrain(
                times * pq.s,
                t_start=min(starts) * pq.s,
                t_stop=max(stops) * pq.s,
                waveforms=waveforms * pq.Quantity(1.0, units),
                sampling_rate=rate_hz * pq.Hz,
                name=name,
            )
            segment.spiketrains.append(train)
        block.segments.append(segment)
    return block


def _open_ephys_train(rawio: Any, seg_index: int, channel: int) -> tuple[Any, ...]:
    """Times (s), scaled waveforms, name, units and waveform rate of one spike channel."""
    everything = (-_WHOLE_SPAN_S, _WHOLE_SPAN_S)  # an explicit span: the reader's workaround
    ticks = rawio.get_spike_timestamps(0, seg_index, channel, *everything)
    times = rawio.rescale_spike_timestamp(ticks, dtype="float64")
    raw = rawio.get_spike_raw_waveforms(0, seg_index, channel, *everything)
    info = rawio.header["spike_channels"][channel]
    waveforms = raw.astype("float64") * info["wf_gain"] + info["wf_offset"]
    rate_hz = float(info["wf_sampling_rate"])
    return times, waveforms, str(info["name"]), str(info["wf_units"]), rate_hz


def open_neo_io(path: Path, reader: str) -> Any:
    """The neo IO object named ``reader`` for ``path`` (Plexon without progress bars)."""
    import neo.io

    io_class = getattr(neo.io, reader, None)
    if io_class is None or not isinstance(io_class, type):
        raise UnsupportedFormatError(f"neo has no reader named {reader!r}", path)
    if reader == "PlexonIO":
        return _quiet_plexon_io(path)
    if reader == "NixIO":
        return io_class(str(path), mode="ro")
    if reader == "CedIO":
        warnings.warn(
            f"{path}: .smrx is read with CedIO, which gives neither markers nor waveforms",
            stacklevel=3,
        )
    return io_class(str(path))


def _quiet_plexon_io(path: Path) -> Any:
    """PlexonIO without its progress bars (they would flood batch output)."""
    from neo.io import PlexonIO
    from neo.io.basefromrawio import BaseFromRaw
    from neo.rawio.plexonrawio import PlexonRawIO

    class QuietPlexonIO(PlexonIO):
        def __init__(self, filename: str) -> None:
            PlexonRawIO.__init__(self, filename, progress_bar=False)
            BaseFromRaw.__init__(self, filename)

    return QuietPlexonIO(str(path))


def _read_block(io: Any) -> tuple[Any, list[str]]:
    """``read_block`` with waveforms, retrying without where neo refuses them."""
    try:
        return io.read_block(load_waveforms=True), []
    except TypeError:  # reader without a load_waveforms argument
        return io.read_block(), []
    except ValueError as error:
        if "waveform" not in str(error).lower():
            raise
        return io.read_block(), [f"{one_line(error)}; read without waveforms"]


def _reads_lazily(io: Any) -> bool:
    """True for rawio-based readers: their lazy proxies give counts and never load signals."""
    from neo.io.basefromrawio import BaseFromRaw

    return isinstance(io, BaseFromRaw) and bool(getattr(io, "support_lazy", False))


def _read_block_lazily(io: Any, path: Path, spike_channels: Sequence[str]) -> tuple[Any, list[str]]:
    """A block whose spike trains and events are loaded and whose signals stay unloaded proxies.

    The spike count is checked against ``limits.MAX_SPIKES_PER_RECORDING`` and
    the waveform size against ``limits.MAX_WAVEFORM_BYTES`` before anything is loaded.
    """
    block = io.read_block(lazy=True)
    wanted = {name.casefold() for name in spike_channels}
    trains = [train for segment in block.segments for train in segment.spiketrains]
    spike_events = [e for s in block.segments for e in s.events if str(e.name).casefold() in wanted]
    limits.check_spike_count(sum(int(proxy.shape[0]) for proxy in [*trains, *spike_events]), path)
    waveform_bytes = sum(_waveform_bytes(io, proxy, path) for proxy in trains)
    with_waveforms = waveform_bytes <= limits.MAX_WAVEFORM_BYTES
    notes = [] if with_waveforms else [_waveforms_dropped(waveform_bytes)]
    n_without = sum(proxy.sampling_rate is None for proxy in trains)
    if n_without:
        notes.append(f"{n_without} spike train(s) have no waveforms in the file")
    for segment in block.segments:
        segment.spiketrains = [
            _load_train(proxy, with_waveforms, path) for proxy in segment.spiketrains
        ]
        segment.events = [proxy.load() for proxy in segment.events]
    return block, notes


def _load_train(proxy: Any, with_waveforms: bool, path: Path) -> Any:
    """Load one spike-train proxy; fewer spikes than its header counts means a cut file."""
    train = proxy.load(load_waveforms=with_waveforms and proxy.sampling_rate is not None)
    if len(train) < int(proxy.shape[0]):
        raise UnreadableFileError(
            f"truncated file: the header counts {int(proxy.shape[0]):,} spikes in "
            f"{proxy.name!r} but only {len(train):,} could be read; {TRUNCATED_ADVICE}",
            path,
        )
    return train


def _waveforms_dropped(waveform_bytes: int) -> str:
    return (
        f"waveforms not loaded: {limits.format_gib(waveform_bytes)} is more than "
        f"MAX_WAVEFORM_BYTES = {limits.format_gib(limits.MAX_WAVEFORM_BYTES)}; "
        "waveform features are NaN"
    )


def _waveform_bytes(io: Any, proxy: Any, path: Path) -> int:
    """Bytes of a spike train's waveforms as float64, from one probed waveform."""
    n_spikes = int(proxy.shape[0])
    if proxy.sampling_rate is None or n_spikes == 0:
        return 0
    try:
        samples = _samples_per_waveform(io, proxy)
    except Exception:  # a reader that cannot slice: bound by the file (int16 -> float64)
        return limits.disk_bytes(path) * 4
    return n_spikes * samples * limits.FLOAT64_BYTES


def _samples_per_waveform(io: Any, proxy: Any) -> int:
    """Samples (channels x points) of one waveform, read for the first one or two spikes."""
    # neo's proxies keep their rawio indices privately; neo is pinned below 0.15.
    where = {
        "block_index": proxy._block_index,
        "seg_index": proxy._seg_index,
        "spike_channel_index": proxy._spike_channel_index,
    }
    ticks = io.get_spike_timestamps(**where, t_start=None, t_stop=None)
    first_two = io.rescale_spike_timestamp(ticks[:2], dtype="float64")
    stop = first_two[-1] if first_two.size > 1 else proxy.t_stop.rescale("s").magnitude
    raw = io.get_spike_raw_waveforms(**where, t_start=float(first_two[0]), t_stop=float(stop))
    return int(np.prod(raw.shape[1:]))
