"""The loader's resource limits (see "Resource limits" in :mod:`rapheunit.io.load`) and checks.

Each limit lives here and only here. Readers look it up at call time as
``limits.MAX_...``, so changing it on this module takes effect on the next
file read. :func:`hdf5_size_estimate` sizes a NIX or NWB
file from its dataset shapes, for the readers that cannot read lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapheunit.core.errors import RecordingTooLargeError
from rapheunit.io.readers.filecheck import is_hdf5

# 50 million spikes are 400 MB of float64 times, far beyond a long multi-unit DRN session.
MAX_SPIKES_PER_RECORDING = 50_000_000
# Waveforms above this size (as float64) are dropped with a warning rather than loaded.
MAX_WAVEFORM_BYTES = 2 * 1024**3
# Raw signal a non-lazy reader (NixIO, NWBIO) would load together with the spikes.
MAX_SIGNAL_BYTES = 2 * 1024**3
# A spike table above this size is refused before reading (~45 million "unit,time_s" rows).
MAX_SPIKE_TABLE_BYTES = 1024**3
FLOAT64_BYTES = 8


def format_gib(n_bytes: int) -> str:
    """A byte count in GiB, for messages about the limits.

    Examples
    --------
    >>> format_gib(3 * 1024**3 // 2)
    '1.50 GiB'
    """
    return f"{n_bytes / 1024**3:.2f} GiB"


def disk_bytes(path: Path) -> int:
    """Size of a file, or of every file in a folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in sorted(path.rglob("*")) if p.is_file())


def check_spike_count(n_spikes: int, path: Path) -> None:
    """Refuse a recording with more than :data:`MAX_SPIKES_PER_RECORDING` spikes."""
    if n_spikes > MAX_SPIKES_PER_RECORDING:
        raise RecordingTooLargeError(
            f"{n_spikes:,} spikes, more than MAX_SPIKES_PER_RECORDING = "
            f"{MAX_SPIKES_PER_RECORDING:,}; split the recording, or raise "
            "rapheunit.io.readers.limits.MAX_SPIKES_PER_RECORDING on a machine with the "
            "memory for it",
            path,
        )


@dataclass(frozen=True)
class SizeEstimate:
    """What reading an HDF5 recording would load: spikes, waveform and signal bytes (float64)."""

    n_spikes: int = 0
    waveform_bytes: int = 0
    signal_bytes: int = 0


# Roles of HDF5 datasets: NIX marks neo objects with a "type" attribute on the
# dataset's group; NWB has fixed paths.
NIX_ROLES = {
    "neo.spiketrain.times": "spikes",
    "neo.waveforms": "waveforms",
    "neo.analogsignal": "signals",
    "neo.irregularlysampledsignal": "signals",
    "neo.imagesequence": "signals",
}


def hdf5_size_estimate(path: Path) -> SizeEstimate:
    """Count spikes and waveform and signal bytes in a NIX or NWB file without loading them.

    Examples
    --------
    >>> import tempfile, neo, quantities as pq
    >>> path = Path(tempfile.mkdtemp()) / "two.nix"
    >>> segment = neo.Segment()
    >>> segment.spiketrains.append(neo.SpikeTrain([1, 2] * pq.s, t_stop=5 * pq.s))
    >>> block = neo.Block(); block.segments.append(segment)
    >>> with neo.io.NixIO(str(path), mode="ow") as nix:
    ...     nix.write_block(block)
    >>> hdf5_size_estimate(path).n_spikes
    2
    """
    import h5py

    totals = {"spikes": 0, "waveforms": 0, "signals": 0}

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            role = _hdf5_role(name, obj)
            if role == "spikes":
                totals["spikes"] += int(obj.shape[0]) if obj.ndim else 0
            elif role is not None:
                totals[role] += int(obj.size) * FLOAT64_BYTES

    with h5py.File(path, "r") as handle:
        handle.visititems(visit)
    return SizeEstimate(totals["spikes"], totals["waveforms"], totals["signals"])


def _hdf5_role(name: str, dataset: Any) -> str | None:
    if name == "units/spike_times":
        return "spikes"
    if name == "units/waveforms":
        return "waveforms"
    if name.startswith("acquisition/") and name.endswith("/data"):
        return "signals"
    if name.endswith("/data"):
        group_type = dataset.parent.attrs.get("type", "")
        group_type = group_type.decode() if isinstance(group_type, bytes) else str(group_type)
        return NIX_ROLES.get(group_type)
    return None


def check_hdf5_sizes(path: Path, reader: str) -> None:
    """Refuse what a non-lazy reader (NixIO, NWBIO) would load beyond the limits."""
    if not is_hdf5(path):
        return
    estimate = hdf5_size_estimate(path)
    check_spike_count(estimate.n_spikes, path)
    for label, found, limit, name in (
        ("raw signal", estimate.signal_bytes, MAX_SIGNAL_BYTES, "MAX_SIGNAL_BYTES"),
        ("waveforms", estimate.waveform_bytes, MAX_WAVEFORM_BYTES, "MAX_WAVEFORM_BYTES"),
    ):
        if found > limit:
            raise RecordingTooLargeError(
                f"{format_gib(found)} of {label}, which {reader} loads together with the "
                f"spikes, is more than {name} = {format_gib(limit)}; export the spike trains "
                "without it",
                path,
            )
