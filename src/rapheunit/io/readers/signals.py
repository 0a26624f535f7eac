"""Units found in continuous signals: raw binary files and neo analog channels.

Both paths hand a bounded-memory :class:`~rapheunit.detection.detect.SignalSource` to
:func:`~rapheunit.detection.detect.detect_units`, which reads it chunk by chunk: a raw
file through positioned reads, a neo file through its lazy
``AnalogSignalProxy`` objects (a NIX file through NixIOFr: NixIO would load every
signal whole). The :class:`~rapheunit.detection.detect.DetectionResult`
travels with the content so that the report can show the threshold and a
stretch of filtered signal.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rapheunit.core.errors import NoUnitsError, RapheUnitError, UnreadableFileError
from rapheunit.core.model import Unit
from rapheunit.core.params import param
from rapheunit.detection.align import copy_lag
from rapheunit.detection.detect import (
    ArraySource,
    DetectionResult,
    DetectParams,
    NeoSignalSource,
    detect_units,
)
from rapheunit.detection.rawfile import open_raw, read_layout, sidecar_path
from rapheunit.io.readers.content import RawContent, one_line

RAW_SUFFIXES = (".raw", ".bin", ".dat")
# neo readers that load every signal whole, and the rawio-based reader of the same files that
# reads them lazily, chunk by chunk (a 10-min 20 kHz channel is ~100 MB as float64).
LAZY_READERS = {"NixIO": "NixIOFr"}


@dataclass(frozen=True)
class DetectOptions:
    """How units are found in continuous signals (see :mod:`rapheunit.detection.detect`).

    Parameters
    ----------
    detect : bool
        Detect even when the file holds spike trains (they are then replaced).
    channel : int or None
        Only this channel of each signal; None: every channel.
    raw_dtype, raw_sampling_rate_hz, raw_channels
        Layout of raw binary files, over the ``<stem>.raw.json`` sidecar.
    params : DetectParams
        Band, threshold, polarity, dead time and snippet settings.
    """

    detect: bool = param(False, "detect units even when the file has spike trains")
    channel: int | None = param(
        None, "only this channel (default: all)", name="detect_channel", metavar="N"
    )
    raw_dtype: str | None = param(
        None, "sample type of raw binary files, e.g. int16", metavar="DTYPE"
    )
    raw_sampling_rate_hz: float | None = param(
        None, "sampling rate of raw binary files", name="raw_sampling_rate", metavar="HZ"
    )
    raw_channels: int | None = param(
        None, "interleaved channels in raw binary files", metavar="N"
    )
    params: DetectParams = field(default_factory=DetectParams)

    @property
    def raw_layout(self) -> dict[str, Any]:
        """The raw-file layout given here (None where the sidecar decides)."""
        return {
            "dtype": self.raw_dtype,
            "sampling_rate_hz": self.raw_sampling_rate_hz,
            "n_channels": self.raw_channels,
        }


def is_raw_recording(path: Path) -> bool:
    """True for a raw binary file that a folder search should pick up (it has a sidecar).

    Examples
    --------
    >>> is_raw_recording(Path("nowhere/cell.raw"))
    False
    """
    return path.suffix.lower() in RAW_SUFFIXES and sidecar_path(path).exists()


def read_raw(path: Path, options: DetectOptions) -> RawContent:
    """Detect units in a raw binary file laid out by its sidecar and ``options.raw_layout``."""
    overrides = {k: v for k, v in (options.raw_layout or {}).items() if v is not None}
    source = open_raw(path, read_layout(path, overrides))
    result = _detected(source, options, path, "det")
    return RawContent(
        units=result.units,
        marker_events=[],
        t_start=source.t_start_s,
        t_stop=source.t_start_s + source.n_samples / source.sampling_rate_hz,
        reader="raw",
        warnings=list(result.warnings),
        detections=[result],
    )


def has_spike_trains(path: Path, lazy_reader: str) -> bool:
    """Whether the header of ``path``, as the rawio-based ``lazy_reader`` sees it, has spike trains.

    Only the header is parsed; a file it cannot parse counts as having spike trains, so that
    its own reader reads it (and explains what is wrong).

    Examples
    --------
    >>> has_spike_trains(Path("missing.nix"), "NixIOFr")
    True
    """
    import neo.io

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with getattr(neo.io, lazy_reader)(str(path)) as reader_io:
                return bool(reader_io.header["spike_channels"].size)
    except Exception:  # neo raises anything on a corrupt file
        return True


def detect_in_neo(path: Path, reader_io: Any, options: DetectOptions) -> RawContent:
    """Detect units in every analog signal of a neo file, read lazily.

    Units are named ``<signal>#ch<channel>#<cluster>``. In an episodic file
    (sweeps as segments) each sweep is detected on its own and the units of one
    signal and channel are joined across sweeps (:func:`join_sweeps`), with the
    gaps between sweeps kept on the time axis. A reader that would load every
    signal whole (NixIO) is replaced by its lazy counterpart (:data:`LAZY_READERS`);
    the content keeps the name of the reader given.
    """
    reader = type(reader_io).__name__
    reader_io = _lazy_io(path, reader_io)
    lazy = bool(getattr(reader_io, "support_lazy", False))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            block = reader_io.read_block(lazy=lazy)
    except Exception as error:  # neo raises anything on a corrupt file
        raise UnreadableFileError(
            f"could not read its signals ({one_line(error)})", path
        ) from error
    results = []
    for segment in block.segments:
        for sig_index, proxy in enumerate(segment.analogsignals):
            name = str(proxy.name or _shared_channel_name(proxy) or f"signal{sig_index}")
            name = name.replace("#", "_")
            source = NeoSignalSource(proxy) if lazy else _loaded_source(proxy)
            results.append(_detected(source, options, path, name))
    if not results:
        raise NoUnitsError(
            "no spike trains and no analog signal to detect spikes in (for an event "
            "channel holding spikes, pass --spike-channel NAME)",
            path,
        )
    starts = [float(s.t_start.rescale("s").magnitude) for s in block.segments]
    stops = [float(s.t_stop.rescale("s").magnitude) for s in block.segments]
    return RawContent(
        units=join_sweeps([unit for result in results for unit in result.units]),
        marker_events=[],
        t_start=min(starts),
        t_stop=max(stops),
        reader=reader,
        warnings=[w for result in results for w in result.warnings],
        detections=results,
    )


def join_sweeps(units: list[Unit]) -> list[Unit]:
    """Join the units that several sweeps of one signal and channel found for one neuron.

    Units of the same ``<signal>#ch<channel>`` are one neuron when their mean
    waveforms are copies of each other (same shape and size at some lag,
    :func:`rapheunit.detection.align.copy_lag`); their spike times and
    waveforms are concatenated in time order. Ids are then renumbered.

    Examples
    --------
    >>> shape = np.r_[np.zeros(5), -np.hanning(8), 0.4 * np.hanning(8), np.zeros(5)]
    >>> sweep = lambda start: Unit("s#ch0#0", np.array([start + 0.5, start + 1.5]),
    ...                            np.tile(shape, (2, 1)), 20_000.0, "uV")
    >>> [(u.id, u.spike_times.tolist()) for u in join_sweeps([sweep(0.0), sweep(10.0)])]
    [('s#ch0#0', [0.5, 1.5, 10.5, 11.5])]
    """
    joined: dict[str, list[list[Unit]]] = {}
    for unit in units:
        channel = unit.id.rsplit("#", 1)[0]
        groups = joined.setdefault(channel, [])
        template = _template(unit)
        same = next((g for g in groups if _same_neuron(_template(g[0]), template)), None)
        if same is None:
            groups.append([unit])
        else:
            same.append(unit)
    return [
        _joined_unit(f"{channel}#{index}", group)
        for channel, groups in joined.items()
        for index, group in enumerate(groups)
    ]


def _template(unit: Unit) -> np.ndarray | None:
    return None if unit.waveforms is None else np.asarray(unit.waveforms).mean(axis=0)


def _same_neuron(first: np.ndarray | None, second: np.ndarray | None) -> bool:
    if first is None or second is None or first.shape != second.shape:
        return False
    return copy_lag(first, second, max_lag=first.size // 4) is not None


def _joined_unit(unit_id: str, group: list[Unit]) -> Unit:
    if len(group) == 1:
        return replace(group[0], id=unit_id)
    order = np.argsort(np.concatenate([unit.spike_times for unit in group]), kind="stable")
    times = np.concatenate([unit.spike_times for unit in group])[order]
    waveforms = np.concatenate([np.asarray(unit.waveforms) for unit in group])[order]
    first = group[0]
    return replace(first, id=unit_id, spike_times=times, waveforms=waveforms)


def _lazy_io(path: Path, reader_io: Any) -> Any:
    """A reader of ``path`` that reads signals lazily, where ``reader_io`` would load them whole."""
    lazy_name = LAZY_READERS.get(type(reader_io).__name__)
    if lazy_name is None:
        return reader_io
    import neo.io

    reader_io.close()
    return getattr(neo.io, lazy_name)(str(path))


def _shared_channel_name(proxy: Any) -> str:
    """The signal's name where a rawio reader (NixIOFr) gives it only as every channel's name."""
    names = set(getattr(proxy, "array_annotations", {}).get("channel_names", []))
    return str(names.pop()) if len(names) == 1 else ""


def _loaded_source(signal: Any) -> ArraySource:
    """A signal a non-lazy reader without a lazy counterpart already loaded; its size was
    checked against ``MAX_SIGNAL_BYTES`` before reading."""
    try:
        values, units = signal.rescale("uV").magnitude, "uV"
    except ValueError:  # not a voltage: keep the file's own unit
        values, units = signal.magnitude, signal.units.dimensionality.string
    return ArraySource(
        np.asarray(values, dtype=np.float32),
        float(signal.sampling_rate.rescale("Hz").magnitude),
        t_start_s=float(signal.t_start.rescale("s").magnitude),
        units=units,
    )


def _detected(source: Any, options: DetectOptions, path: Path, prefix: str) -> DetectionResult:
    try:
        return detect_units(
            source, channel=options.channel, params=options.params, unit_prefix=prefix
        )
    except RapheUnitError as error:
        raise type(error)(error.reason, path) from error
