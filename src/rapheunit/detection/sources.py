"""Continuous signals that detection reads by sample range: arrays and neo signals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rapheunit.core.errors import BadParameterError, UnreadableFileError, check_positive


@runtime_checkable
class SignalSource(Protocol):
    """A continuous multichannel signal that can be read by sample range.

    ``read(start, stop, channels)`` returns samples ``start:stop`` of the
    given channels as a float32 ``(stop - start, len(channels))`` array in
    ``units``; the first sample is at ``t_start_s`` seconds.
    """

    n_samples: int
    sampling_rate_hz: float
    n_channels: int
    t_start_s: float
    units: str

    def read(self, start: int, stop: int, channels: Sequence[int]) -> np.ndarray:
        """Samples ``start:stop`` of ``channels``, float32, shape ``(n, n_channels)``."""
        ...


class ArraySource:
    """A numpy array or memmap, ``(n_samples,)`` or ``(n_samples, n_channels)``, as a source.

    Examples
    --------
    >>> source = ArraySource(np.arange(10), 1000.0, units="uV")
    >>> source.n_samples, source.n_channels, source.read(2, 4, [0]).ravel().tolist()
    (10, 1, [2.0, 3.0])
    """

    def __init__(
        self, data: np.ndarray, sampling_rate_hz: float, *, t_start_s: float = 0.0, units: str = ""
    ) -> None:
        data = np.asanyarray(data)  # keeps a memmap a memmap: nothing is loaded here
        if data.ndim not in (1, 2):
            raise BadParameterError(f"signal array must be 1-D or 2-D, got shape {data.shape}")
        self.data = data.reshape(-1, 1) if data.ndim == 1 else data
        self.n_samples, self.n_channels = (int(size) for size in self.data.shape)
        self.sampling_rate_hz = check_positive(sampling_rate_hz, "sampling_rate_hz")
        self.t_start_s = float(t_start_s)
        self.units = units

    def read(self, start: int, stop: int, channels: Sequence[int]) -> np.ndarray:
        """Samples ``start:stop`` of ``channels`` as float32 ``(n, len(channels))``."""
        return np.asarray(self.data[start:stop, list(channels)], dtype=np.float32)


class NeoSignalSource:
    """A neo lazy ``AnalogSignalProxy`` read by sample index, values in uV when they are voltages.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import neo
    >>> path = Path(tempfile.mkdtemp()) / "rec.raw"
    >>> np.arange(8, dtype=np.int16).tofile(path)
    >>> io = neo.io.RawBinarySignalIO(str(path), dtype="int16", sampling_rate=1000.0, nb_channel=2)
    >>> proxy = io.read_block(lazy=True).segments[0].analogsignals[0]
    >>> source = NeoSignalSource(proxy)
    >>> source.n_samples, source.units, source.read(1, 3, [1]).ravel().tolist()
    (4, 'dimensionless', [3.0, 5.0])
    """

    def __init__(self, proxy: Any) -> None:
        import quantities as pq  # imported when a signal is first read, not at start-up

        self.proxy = proxy
        self.n_samples, self.n_channels = (int(size) for size in proxy.shape)
        self.sampling_rate_hz = float(proxy.sampling_rate.rescale(pq.Hz).magnitude)
        self.t_start_s = float(proxy.t_start.rescale(pq.s).magnitude)
        units = pq.Quantity(1.0, proxy.units)
        try:
            self._scale = np.float32(units.rescale(pq.uV).magnitude)
            self.units = "uV"
        except ValueError:  # not a voltage: keep the file's own unit
            self._scale = np.float32(1.0)
            self.units = units.dimensionality.string

    def read(self, start: int, stop: int, channels: Sequence[int]) -> np.ndarray:
        """Samples ``start:stop`` of ``channels`` as float32 ``(n, len(channels))``."""
        import quantities as pq

        # The proxy rounds times to the nearest sample, so sample-exact times give exact indices.
        window = (
            (self.t_start_s + start / self.sampling_rate_hz) * pq.s,
            (self.t_start_s + stop / self.sampling_rate_hz) * pq.s,
        )
        signal = self.proxy.load(
            time_slice=window, strict_slicing=False, channel_indexes=list(channels)
        )
        values = np.asarray(signal.magnitude, dtype=np.float32) * self._scale
        if values.shape[0] != stop - start:
            raise UnreadableFileError(
                f"neo returned {values.shape[0]} samples for the range {start}:{stop}"
            )
        return values
