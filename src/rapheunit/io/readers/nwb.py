"""NWB files: the pynwb ``Units`` table first, neo's NWBIO as the fallback.

pynwb keeps unit names, mean waveforms and observation intervals, and reads
nothing else (raw signals stay on disk, per-spike waveforms are never loaded);
neo's NWBIO loads every acquisition series, so it is used only when pynwb
finds no units, or to read event channels as spike channels. Unit names come
from the first name column of :data:`NAME_COLUMNS` that the table has (neo's
NWBIO writes ``_name``); names that repeat get the row id appended.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rapheunit.core.errors import UnreadableFileError
from rapheunit.core.model import Unit
from rapheunit.io.readers import limits
from rapheunit.io.readers.content import RawContent, one_line
from rapheunit.io.readers.neo_files import read_neo

# NWB stores waveform_mean in volts by default.
NWB_TO_MICROVOLT = {
    "volts": 1e6,
    "V": 1e6,
    "millivolts": 1e3,
    "mV": 1e3,
    "microvolts": 1.0,
    "uV": 1.0,
}


def read_nwb(path: Path, spike_channels: Sequence[str]) -> RawContent:
    """pynwb's Units table first; neo's NWBIO for ``spike_channels`` or when there is no table."""
    limits.check_spike_count(limits.hdf5_size_estimate(path).n_spikes, path)
    pynwb_error = ""
    if not spike_channels:
        try:
            content = read_nwb_units(path)
            if content.units:
                return content
        except Exception as error:  # pynwb rejects some files other tools wrote; neo may not
            pynwb_error = one_line(error)
    try:
        return read_neo(path, "NWBIO", spike_channels)
    except UnreadableFileError as error:
        detail = f" (pynwb: {pynwb_error})" if pynwb_error else ""
        raise UnreadableFileError(
            f"not a readable NWB file: {error.reason}{detail}", path
        ) from error


def read_nwb_units(path: Path) -> RawContent:
    """Read the ``Units`` table (and ``AnnotationSeries`` markers) with pynwb."""
    from pynwb import NWBHDF5IO
    from pynwb.misc import AnnotationSeries

    with warnings.catch_warnings(), NWBHDF5IO(str(path), "r") as nwb_io:
        warnings.simplefilter("ignore")
        nwbfile = nwb_io.read()
        units = _nwb_units(nwbfile.units) if nwbfile.units is not None else []
        markers = [
            (float(t), str(label).strip())
            for series in nwbfile.objects.values()
            if isinstance(series, AnnotationSeries)
            for t, label in zip(series.timestamps[:], series.data[:], strict=False)
            if str(label).strip()
        ]
        t_start, t_stop = _nwb_bounds(nwbfile.units)
    return RawContent(
        units=units, marker_events=sorted(markers), t_start=t_start, t_stop=t_stop, reader="pynwb"
    )


def _nwb_bounds(table: Any) -> tuple[float, float | None]:
    """The span of the units' observation intervals, else from 0 to the last spike."""
    if table is None or "obs_intervals" not in table.colnames:
        return 0.0, None
    intervals = [np.asarray(i, dtype=np.float64).reshape(-1, 2) for i in table["obs_intervals"][:]]
    stacked = np.concatenate(intervals) if intervals else np.empty((0, 2))
    if stacked.size == 0 or not np.all(np.isfinite(stacked)):
        return 0.0, None
    return float(stacked[:, 0].min()), float(stacked[:, 1].max())


# Columns of a Units table that hold unit names: pynwb writers' and neo NWBIO's.
NAME_COLUMNS = ("unit_name", "name", "label", "_name")


def _nwb_units(table: Any) -> list[Unit]:
    # Per-spike waveforms can be huge; only the mean waveform is used.
    frame = table.to_dataframe(exclude={"waveforms"} & set(table.colnames))
    name_column = next((c for c in NAME_COLUMNS if c in frame.columns), None)
    names = [str(n) for n in frame[name_column]] if name_column else [str(i) for i in frame.index]
    repeated = {name for name in names if names.count(name) > 1}
    units = []
    for (row_id, row), name in zip(frame.iterrows(), names, strict=True):
        unit_id = f"{name}#{row_id}" if name in repeated else name
        mean = row.get("waveform_mean") if "waveform_mean" in frame.columns else None
        waveform, rate_hz = _nwb_mean_waveform(table, mean)
        units.append(
            Unit(
                unit_id,
                np.asarray(row["spike_times"], dtype=np.float64),
                waveforms=waveform,
                sampling_rate_hz=rate_hz,
                waveform_units="uV" if waveform is not None else "",
                waveforms_are_mean=waveform is not None,
            )
        )
    return units


def _nwb_mean_waveform(table: Any, mean: Any) -> tuple[np.ndarray | None, float | None]:
    rate_hz = getattr(table, "waveform_rate", None)
    if mean is None or rate_hz is None:
        return None, None
    samples = np.asarray(mean, dtype=np.float64)
    if samples.ndim == 2:  # (n_samples, n_electrodes): keep the largest
        samples = samples[:, int(np.argmax(np.ptp(samples, axis=0)))]
    scale = NWB_TO_MICROVOLT.get(str(getattr(table, "waveform_unit", "volts")), 1.0)
    return samples[None, :] * scale, float(rate_hz)
