"""Raw binary recordings: the layout a headerless file needs, and chunked access to it.

A raw file holds bare samples, so its layout comes from outside: CLI flags
(``--raw-dtype``, ``--raw-sampling-rate``, ``--raw-channels``) or a JSON
sidecar ``<stem>.raw.json`` beside the file, for example::

    {"dtype": "int16", "sampling_rate_hz": 15000.0, "n_channels": 4,
     "layout": "interleaved", "gain_uv": 0.195}

``layout`` is ``"interleaved"`` (one frame of all channels per sample, as
Intan, Open Ephys and most DAQ dumps write) or ``"planar"`` (all samples of
channel 0, then channel 1, ...). ``gain_uv`` (optional) converts ADC counts to
microvolts. Every problem with a layout raises a one-line error that names the
file.

Samples are read with positioned reads into a fresh buffer per chunk rather
than through ``numpy.memmap``: pages of a memory map stay resident once
touched, so a full pass over a memmap grows resident memory to the file size,
while chunked reads keep it bounded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from rapheunit.core.errors import (
    BadParameterError,
    UnreadableFileError,
    check_option,
    check_positive,
    validate_type,
)

RAW_LAYOUTS = ("interleaved", "planar")
SIDECAR_SUFFIX = ".raw.json"
_NUMERIC_KINDS = "iuf"  # signed, unsigned integer and floating samples; no complex, bool, object


@dataclass(frozen=True)
class RawLayout:
    """How samples are laid out in a headerless binary file.

    Parameters
    ----------
    dtype : str
        numpy dtype of one sample (``"int16"``, ``"<i2"``, ``"float32"``, ...).
    sampling_rate_hz : float
        Samples per second and per channel.
    n_channels : int
        Number of channels stored in the file.
    layout : str
        ``"interleaved"`` (frames of all channels) or ``"planar"`` (channel blocks).
    gain_uv : float or None
        Microvolts per ADC unit; None keeps the file's own units.

    Examples
    --------
    >>> RawLayout("int16", 15000.0, n_channels=4).frame_bytes
    8
    >>> RawLayout("int17", 15000.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: raw dtype 'int17' is not a numeric numpy dtype ...
    """

    dtype: str
    sampling_rate_hz: float
    n_channels: int = 1
    layout: str = "interleaved"
    gain_uv: float | None = None

    def __post_init__(self) -> None:
        _sample_dtype(self.dtype)
        check_positive(self.sampling_rate_hz, "raw sampling rate (Hz)")
        validate_type(self.n_channels, int, "raw channel count")
        if self.n_channels < 1:
            raise BadParameterError(f"raw channel count must be >= 1, got {self.n_channels}")
        check_option(self.layout, RAW_LAYOUTS, "raw layout")
        if self.gain_uv is not None:
            check_positive(self.gain_uv, "raw gain (uV per ADC unit)")

    @property
    def sample_dtype(self) -> np.dtype:
        """The numpy dtype of one sample."""
        return _sample_dtype(self.dtype)

    @property
    def frame_bytes(self) -> int:
        """Bytes taken by one sample of every channel."""
        return self.sample_dtype.itemsize * self.n_channels

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], path: str | Path | None = None) -> RawLayout:
        """Build a layout from a mapping (sidecar JSON or CLI flags); errors name ``path``.

        Examples
        --------
        >>> layout = {"dtype": "int16", "sampling_rate_hz": 20000, "n_channels": 4}
        >>> RawLayout.from_mapping(layout).n_channels
        4
        >>> RawLayout.from_mapping({"dtype": "int16"}, "rec.raw")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        rapheunit.core.errors.BadParameterError: rec.raw: missing raw layout field ...
        """
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise BadParameterError(
                f"unknown raw layout field(s) {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(sorted(known))})",
                path,
            )
        # No silent default: a 4-channel file read as one channel looks like a
        # recording four times as long.
        for required, flag in (
            ("dtype", "--raw-dtype"),
            ("sampling_rate_hz", "--raw-sampling-rate"),
            ("n_channels", "--raw-channels"),
        ):
            if values.get(required) is None:
                where = "" if path is None else f" or put it in {sidecar_path(path).name}"
                raise BadParameterError(
                    f"missing raw layout field {required!r} (give {flag}{where})", path
                )
        try:
            return cls(**values)
        except BadParameterError as error:
            raise BadParameterError(error.reason, path) from None


def sidecar_path(path: str | Path) -> Path:
    """Path of the layout sidecar of a raw file: ``<stem>.raw.json`` beside it.

    Examples
    --------
    >>> sidecar_path("data/locust_trial_01.raw").name
    'locust_trial_01.raw.json'
    """
    path = Path(path)
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def read_layout(path: str | Path, overrides: Mapping[str, Any] | None = None) -> RawLayout:
    """Layout of raw file ``path``: its sidecar (if any), with ``overrides`` on top.

    Override values that are None are ignored, so CLI flags can be passed as
    they come (``{"dtype": args.raw_dtype, ...}``).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "rec.raw.json").write_text('{"dtype": "int16", "sampling_rate_hz": 20000}')
    >>> layout = read_layout(folder / "rec.raw", {"n_channels": 2, "dtype": None})
    >>> layout.dtype, layout.sampling_rate_hz, layout.n_channels
    ('int16', 20000, 2)
    """
    values = _read_sidecar(sidecar_path(path))
    values.update({key: value for key, value in (overrides or {}).items() if value is not None})
    return RawLayout.from_mapping(values, path)


def open_raw(path: str | Path, layout: RawLayout | None = None) -> RawFileSource:
    """Open a raw binary recording as a chunk-readable signal source.

    Parameters
    ----------
    path : str or Path
        The raw file.
    layout : RawLayout or None
        Its layout; None reads it from the sidecar ``<stem>.raw.json``.

    Returns
    -------
    RawFileSource
        Reads float32 chunks of any sample range and channels.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "rec.raw"
    >>> np.arange(12, dtype=np.int16).tofile(path)
    >>> source = open_raw(path, RawLayout("int16", 1000.0, n_channels=3))
    >>> source.n_samples, source.read(1, 3, [0, 2]).tolist()
    (4, [[3.0, 5.0], [6.0, 8.0]])
    """
    return RawFileSource(Path(path), read_layout(path) if layout is None else layout)


class RawFileSource:
    """A raw binary file read chunk by chunk (a ``detect.SignalSource``).

    Values are float32 in microvolts when the layout has ``gain_uv``, else in
    the file's own units (``units == "adc"``).
    """

    t_start_s = 0.0

    def __init__(self, path: Path, layout: RawLayout) -> None:
        self.path = path
        self.layout = layout
        self.n_samples = _sample_count(path, layout)
        self.sampling_rate_hz = float(layout.sampling_rate_hz)
        self.n_channels = layout.n_channels
        self.units = "adc" if layout.gain_uv is None else "uV"

    def read(self, start: int, stop: int, channels: Sequence[int]) -> np.ndarray:
        """Samples ``start:stop`` of ``channels`` as a float32 ``(n, n_channels)`` array."""
        channels = list(channels)
        if not 0 <= start <= stop <= self.n_samples:
            raise BadParameterError(
                f"sample range {start}:{stop} is outside 0:{self.n_samples}", self.path
            )
        if any(not 0 <= channel < self.n_channels for channel in channels):
            raise BadParameterError(
                f"channels {channels} are not all in 0..{self.n_channels - 1}", self.path
            )
        count = stop - start
        with self.path.open("rb") as handle:
            if self.layout.layout == "interleaved":
                frames = self._read_values(handle, start * self.n_channels, count * self.n_channels)
                samples = frames.reshape(count, self.n_channels)[:, channels]
            else:
                blocks = [
                    self._read_values(handle, channel * self.n_samples + start, count)
                    for channel in channels
                ]
                samples = np.stack(blocks, axis=1)
        values = samples.astype(np.float32)
        if self.layout.gain_uv is not None:
            values *= np.float32(self.layout.gain_uv)
        return values

    def _read_values(self, handle: BinaryIO, first: int, count: int) -> np.ndarray:
        dtype = self.layout.sample_dtype
        handle.seek(first * dtype.itemsize)
        values = np.fromfile(handle, dtype=dtype, count=count)
        if values.size != count:
            raise UnreadableFileError("file ended early (was it truncated while open?)", self.path)
        return values


def _sample_dtype(name: Any) -> np.dtype:
    validate_type(name, str, "raw dtype")
    try:
        dtype = np.dtype(name)
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in _NUMERIC_KINDS:
        raise BadParameterError(
            f"raw dtype {name!r} is not a numeric numpy dtype (e.g. int16, uint16, float32)"
        )
    return dtype


def _read_sidecar(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnreadableFileError(f"raw layout sidecar is not valid JSON ({error})", path) from None
    if not isinstance(values, dict):
        raise UnreadableFileError(
            f"raw layout sidecar must hold a JSON object, got {type(values).__name__}", path
        )
    return values


def _sample_count(path: Path, layout: RawLayout) -> int:
    try:
        size = path.stat().st_size
    except OSError as error:
        raise UnreadableFileError(f"cannot open raw file ({error.strerror})", path) from None
    if size == 0:
        raise UnreadableFileError("raw file is empty", path)
    if size % layout.frame_bytes:
        raise UnreadableFileError(
            f"file size {size} bytes is not a whole number of {layout.n_channels}-channel "
            f"{layout.dtype} frames ({layout.frame_bytes} bytes each): check the raw layout",
            path,
        )
    return size // layout.frame_bytes
