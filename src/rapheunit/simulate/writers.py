"""Files of simulated recordings: NIX, NWB and CSV, and the example data set with its truth."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from rapheunit.core.errors import BadParameterError, check_option, validate_type
from rapheunit.core.model import Recording
from rapheunit.simulate.recordings import simulate_recording
from rapheunit.simulate.waveforms import PEAK_MS, WAVEFORM_SAMPLING_RATE_HZ

# Fixed, documented start time so simulated NWB files do not depend on the clock.
SIMULATED_SESSION_START = datetime(2000, 1, 1, tzinfo=UTC)
# Name of the marker channel in NIX and NWB files.
MARKER_CHANNEL = "Markers"

# (name, cell types, format) of the example data set in recordings/.
DEFAULT_DATASET: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("drn01_5ht_clock", ("5ht_clock",), "nix"),
    ("drn02_mixed", ("5ht_burst", "slow_irregular"), "nix"),
    ("drn03_mixed", ("5ht_clock", "fast_irregular", "fast_regular"), "nwb"),
    ("drn04_slow_irregular", ("slow_irregular",), "csv"),
    ("drn05_burst_fast", ("5ht_burst", "fast_irregular"), "csv"),
)


def _markers(recording: Recording) -> tuple[np.ndarray, np.ndarray]:
    """Times and labels of every marker (injections and annotations), time-sorted."""
    pairs = sorted(
        [(injection.time_s, injection.label) for injection in recording.injections]
        + [(annotation.time_s, annotation.text) for annotation in recording.annotations]
    )
    return np.array([time for time, _ in pairs], dtype=float), np.array(
        [label for _, label in pairs], dtype=str
    )


def _write_nix(recording: Recording, path: Path) -> list[Path]:
    import neo
    import quantities as pq

    segment = neo.Segment(name=recording.name)
    for unit in recording.units:
        train = neo.SpikeTrain(
            unit.spike_times * pq.s,
            t_start=recording.t_start * pq.s,
            t_stop=recording.t_stop * pq.s,
            name=unit.id,
        )
        if unit.has_waveforms:
            # float32 halves the file; far finer than any recording's noise.
            snippets = unit.waveforms[:, None, :].astype(np.float32)
            train.waveforms = pq.Quantity(snippets, unit.waveform_units)
            train.sampling_rate = unit.sampling_rate_hz * pq.Hz
            # NixIO reads left_sweep back in the sampling period's unit: write seconds.
            train.left_sweep = (PEAK_MS / 1000.0) * pq.s
        segment.spiketrains.append(train)
    times, labels = _markers(recording)
    if times.size:
        segment.events.append(neo.Event(times * pq.s, labels=labels, name=MARKER_CHANNEL))
    block = neo.Block(name=recording.name)
    block.segments.append(segment)
    with neo.io.NixIO(str(path), mode="ow") as nix_file:
        nix_file.write_block(block)
    return [path]


def _write_nwb(recording: Recording, path: Path) -> list[Path]:
    import quantities as pq
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.misc import AnnotationSeries, Units

    with_waveforms = {unit.has_waveforms for unit in recording.units}
    rates = {unit.sampling_rate_hz for unit in recording.units}
    if len(with_waveforms) > 1 or len(rates) > 1:
        raise BadParameterError(
            f"{recording.name}: NWB needs waveforms at one sampling rate on all units or none"
        )
    nwbfile = NWBFile(
        session_description=f"simulated DRN recording {recording.name}",
        identifier=recording.name,
        session_start_time=SIMULATED_SESSION_START,
        file_create_date=SIMULATED_SESSION_START,
    )
    nwbfile.units = Units(
        name="units",
        description="simulated single units",
        waveform_rate=rates.pop(),
        waveform_time_before_peak_in_ms=PEAK_MS,
        resolution=1.0 / WAVEFORM_SAMPLING_RATE_HZ,
    )
    nwbfile.add_unit_column("unit_name", "unit id in the recording")
    for unit in recording.units:
        extra = {}
        if unit.has_waveforms:
            # NWB stores waveform_mean in volts.
            mean = pq.Quantity(unit.waveforms.mean(axis=0), unit.waveform_units)
            extra["waveform_mean"] = mean.rescale(pq.V).magnitude
        nwbfile.add_unit(
            spike_times=unit.spike_times,
            obs_intervals=[[recording.t_start, recording.t_stop]],
            unit_name=unit.id,
            **extra,
        )
    times, labels = _markers(recording)
    if times.size:
        # pynwb 4 deprecates AnnotationSeries for EventsTable; it is kept on purpose
        # because every pynwb version (and rapheunit's loader) reads it.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="AnnotationSeries is deprecated")
            markers = AnnotationSeries(
                name=MARKER_CHANNEL,
                data=labels.tolist(),
                timestamps=times,
                description="drug injection markers",
            )
        nwbfile.add_acquisition(markers)
    with NWBHDF5IO(str(path), mode="w") as io:
        io.write(nwbfile)
    return [path]


def _write_csv(recording: Recording, path: Path) -> list[Path]:
    import pandas as pd

    spikes = pd.DataFrame(
        {
            "unit": np.repeat(
                [unit.id for unit in recording.units], [unit.n_spikes for unit in recording.units]
            ),
            "time_s": np.concatenate([unit.spike_times for unit in recording.units]),
        }
    )
    spikes.to_csv(path, index=False)
    doses = pd.DataFrame(
        [
            (injection.time_s, injection.drug, injection.dose, injection.dose_unit)
            for injection in recording.injections
        ],
        columns=["time_s", "drug", "dose", "unit"],
    )
    doses_path = path.with_name(f"{path.stem}.doses.csv")
    doses.to_csv(doses_path, index=False)
    return [path, doses_path]


_WRITERS: dict[str, Callable[[Recording, Path], list[Path]]] = {
    "nix": _write_nix,
    "nwb": _write_nwb,
    "csv": _write_csv,
}


def write_recording(
    recording: Recording, truth: dict[str, Any], out_dir: Path, fmt: str
) -> list[Path]:
    """Write a (simulated) recording to ``out_dir/<name>.<fmt>``.

    Formats: ``"nix"`` (neo NixIO: one Block > Segment, one SpikeTrain per unit
    named by unit id with waveforms ``(n, 1, n_samples)`` in uV, and an Event
    ``"Markers"`` with the injection labels); ``"nwb"`` (pynwb: Units table
    with ``spike_times``, ``obs_intervals``, ``waveform_mean`` in volts and a
    ``unit_name`` column; AnnotationSeries ``"Markers"`` in acquisition);
    ``"csv"`` (``unit,time_s`` long format plus ``<name>.doses.csv`` with
    ``time_s,drug,dose,unit``). Existing files are overwritten.

    Parameters
    ----------
    recording : Recording
        What to write.
    truth : dict
        Its ground truth; only checked to belong to ``recording`` (no truth is
        written into the recording file).
    out_dir : Path
        Output folder, created if missing.
    fmt : str
        ``"nix"``, ``"nwb"`` or ``"csv"``.

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> import tempfile
    >>> recording, truth = simulate_recording("demo", ["slow_irregular"], seed=3)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     [path.name for path in write_recording(recording, truth, Path(folder), "csv")]
    ['demo.csv', 'demo.doses.csv']
    """
    check_option(fmt, _WRITERS, "fmt")
    if truth.get("name") != recording.name:
        raise BadParameterError(
            f"truth is for {truth.get('name')!r}, not recording {recording.name!r}"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return _WRITERS[fmt](recording, out_dir / f"{recording.name}.{fmt}")


def _check_specs(specs: Sequence[tuple[str, Sequence[str], str]]) -> None:
    names = [spec[0] for spec in specs]
    if len(set(names)) != len(names):
        raise BadParameterError(f"recording names must be unique, got {names}")
    for _, _, fmt in specs:
        check_option(fmt, _WRITERS, "fmt")


def write_dataset(
    out_dir: Path,
    specs: Sequence[tuple[str, Sequence[str], str]] | None = None,
    *,
    seed: int = 0,
) -> Path:
    """Simulate and write several recordings plus one ``truth.json``.

    Parameters
    ----------
    out_dir : Path
        Output folder, created if missing.
    specs : sequence of (name, cell_types, fmt), optional
        One entry per recording; default :data:`DEFAULT_DATASET` (the
        example data set in ``recordings/``). Other settings are the defaults
        of :func:`simulate_recording`.
    seed : int
        Master seed; recording ``i`` is simulated with a seed derived from
        ``(seed, i)`` and recorded in the truth.

    Returns
    -------
    Path
        ``out_dir/truth.json``: truth dictionaries keyed by recording name, each
        with ``format`` and ``files`` (names relative to ``out_dir``) added.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     truth_path = write_dataset(Path(folder), [("r1", ["fast_regular"], "csv")], seed=2)
    ...     sorted(json.loads(truth_path.read_text())["r1"]["files"])
    ['r1.csv', 'r1.doses.csv']
    """
    specs = DEFAULT_DATASET if specs is None else specs
    _check_specs(specs)
    validate_type(seed, (int, np.integer), "seed")
    out_dir = Path(out_dir)
    dataset = {}
    for index, (name, cell_types, fmt) in enumerate(specs):
        recording_seed = int(np.random.SeedSequence([int(seed), index]).generate_state(1)[0])
        recording, truth = simulate_recording(name, cell_types, seed=recording_seed)
        paths = write_recording(recording, truth, out_dir, fmt)
        dataset[name] = truth | {"format": fmt, "files": [path.name for path in paths]}
    truth_path = out_dir / "truth.json"
    truth_path.write_text(json.dumps(dataset, indent=2) + "\n")
    return truth_path
