"""The analysis of one recording and of a batch: load -> features -> doses -> tables.

The CLI and the Python API both call :func:`analyze`; each recording is
analysed by :func:`analyze_recording`, which never raises for bad input: a
failure becomes a ``failed`` row with a one-line reason.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rapheunit import __version__
from rapheunit.epochs import (
    DOSE_COLUMNS,
    EpochParams,
    baseline_is_short,
    baseline_window,
    dose_rates,
    rate_in_window,
)
from rapheunit.errors import RapheUnitError
from rapheunit.load import LoadOptions, is_recording_candidate, load_with_options, sha256_of
from rapheunit.model import Recording
from rapheunit.output import write_csv, write_json

RECORDING_COLUMNS = ("recording", "path", "status", "error", "n_units", "duration_s", "reader")
UNIT_COLUMNS = (
    "recording",
    "unit",
    "n_spikes",
    "duration_s",
    "baseline_rate_hz",
    "baseline_start_s",
    "baseline_stop_s",
    "baseline_short",
)


@dataclass(frozen=True)
class AnalysisOptions:
    """Every parameter of an analysis run (written to ``params.json``)."""

    load: LoadOptions = field(default_factory=LoadOptions)
    epochs: EpochParams = field(default_factory=EpochParams)

    def as_dict(self) -> dict[str, Any]:
        """Parameters as plain JSON-ready data."""
        params = asdict(self)
        doses = params["load"]["doses"]
        if doses is not None and not isinstance(doses, str | Path):
            params["load"]["doses"] = "table given in Python"
        return params


@dataclass
class RecordingResult:
    """Tables from one input: its ``recordings.csv`` row, units and per-dose rows."""

    recording_row: dict[str, Any]
    units: pd.DataFrame
    doses: pd.DataFrame
    recording: Recording | None = None
    traceback: str = ""

    @property
    def ok(self) -> bool:
        """True when the input was analysed."""
        return self.recording_row["status"] == "ok"


@dataclass
class BatchResult:
    """Tables of a whole run, as written to the output folder."""

    recordings: pd.DataFrame
    units: pd.DataFrame
    doses: pd.DataFrame
    params: dict[str, Any]
    results: list[RecordingResult] = field(default_factory=list, repr=False)

    @property
    def n_failed(self) -> int:
        """Number of inputs that could not be analysed."""
        return int((self.recordings["status"] != "ok").sum()) if len(self.recordings) else 0


def find_recordings(inputs: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (recursively) into the recordings to analyse.

    Folders are searched for readable recordings; companions such as
    ``*.doses.csv`` sidecars are skipped. A named file is always kept, so that
    an unreadable one is reported rather than silently ignored.
    """
    found: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir() and not is_recording_candidate(item):
            found.extend(_search_folder(item))
        else:
            found.append(item)
    return list(dict.fromkeys(found))


def _search_folder(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir() and not is_recording_candidate(path):
            found.extend(_search_folder(path))
        elif is_recording_candidate(path):
            found.append(path)
    return found


def analyze_recording(path: Path, options: AnalysisOptions) -> RecordingResult:
    """Analyse one input; bad input gives a ``failed`` result, never an exception."""
    try:
        recording = load_with_options(path, options.load)
        return _analyze_loaded(recording, options)
    except RapheUnitError as error:
        return _failed(path, str(error))
    except Exception as error:  # a bug must not stop the batch; --debug shows it
        message = f"{path}: internal error ({type(error).__name__}: {error})"
        return _failed(path, " ".join(message.split()), traceback.format_exc())


def _failed(path: Path, message: str, trace: str = "") -> RecordingResult:
    row = {
        "recording": path.stem if path.suffix else path.name,
        "path": str(path),
        "status": "failed",
        "error": message,
        "n_units": 0,
        "duration_s": float("nan"),
        "reader": "",
    }
    empty_units = pd.DataFrame(columns=list(UNIT_COLUMNS))
    empty_doses = pd.DataFrame(columns=list(DOSE_COLUMNS))
    return RecordingResult(row, empty_units, empty_doses, traceback=trace)


def _analyze_loaded(recording: Recording, options: AnalysisOptions) -> RecordingResult:
    units = unit_table(recording, options.epochs)
    doses = dose_rates(recording, options.epochs)
    row = {
        "recording": recording.name,
        "path": str(recording.path),
        "status": "ok",
        "error": "",
        "n_units": len(recording.units),
        "duration_s": recording.duration_s,
        "reader": recording.reader,
        "n_injections": len(recording.injections),
        "dose_source": recording.provenance.get("dose_source", ""),
        "sha256": recording.provenance.get("sha256", ""),
        "warnings": " | ".join(recording.warnings),
    }
    return RecordingResult(row, units, doses, recording=recording)


def unit_table(recording: Recording, epochs: EpochParams) -> pd.DataFrame:
    """One row per unit: spike count, duration and baseline rate.

    Examples
    --------
    >>> import numpy as np
    >>> from rapheunit.model import Unit
    >>> rec = Recording("r", Path("r.csv"), 0.0, 100.0, [Unit("u", np.arange(0, 100, 0.5))])
    >>> unit_table(rec, EpochParams()).loc[0, ["n_spikes", "baseline_rate_hz"]].tolist()
    [200, 2.0]
    """
    baseline = baseline_window(recording, epochs)
    rows = [
        {
            "recording": recording.name,
            "unit": unit.id,
            "n_spikes": unit.n_spikes,
            "duration_s": recording.duration_s,
            "baseline_rate_hz": rate_in_window(unit.spike_times, baseline),
            "baseline_start_s": baseline.start_s,
            "baseline_stop_s": baseline.stop_s,
            "baseline_short": baseline_is_short(baseline, epochs),
        }
        for unit in recording.units
    ]
    return pd.DataFrame(rows, columns=list(UNIT_COLUMNS))


def analyze(
    paths: Sequence[str | Path] | str | Path,
    *,
    out: str | Path | None = None,
    options: AnalysisOptions | None = None,
) -> BatchResult:
    """Analyse recordings and (with ``out``) write the tables.

    Parameters
    ----------
    paths : path or sequence of paths
        Files or folders (searched recursively).
    out : path, optional
        Output folder for ``recordings.csv``, ``units.csv``, ``doses.csv``
        and ``params.json``.
    options : AnalysisOptions, optional
        Loading and epoch parameters.

    Returns
    -------
    BatchResult
        The tables as pandas DataFrames.
    """
    options = options or AnalysisOptions()
    inputs = [paths] if isinstance(paths, str | Path) else list(paths)
    results = [analyze_recording(path, options) for path in find_recordings(inputs)]
    batch = combine(results, options)
    if out is not None:
        write_outputs(batch, Path(out))
    return batch


def combine(results: Sequence[RecordingResult], options: AnalysisOptions) -> BatchResult:
    """Stack per-recording tables into the batch tables."""
    recordings = pd.DataFrame([r.recording_row for r in results])
    if recordings.empty:
        recordings = pd.DataFrame(columns=list(RECORDING_COLUMNS))
    params = {
        "rapheunit_version": __version__,
        "parameters": options.as_dict(),
        "inputs": {
            r.recording_row["path"]: r.recording_row.get("sha256") or _sha256_or_empty(r)
            for r in results
        },
    }
    return BatchResult(
        recordings=recordings,
        units=_stack([r.units for r in results], UNIT_COLUMNS),
        doses=_stack([r.doses for r in results], (*DOSE_COLUMNS, "baseline_rate_hz")),
        params=params,
        results=list(results),
    )


def _sha256_or_empty(result: RecordingResult) -> str:
    path = Path(result.recording_row["path"])
    try:
        return sha256_of(path) if path.exists() else ""
    except OSError:
        return ""


def _stack(tables: Sequence[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    non_empty = [t for t in tables if not t.empty]
    if not non_empty:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(non_empty, ignore_index=True)


def write_outputs(batch: BatchResult, out: Path) -> None:
    """Write the batch tables and ``params.json`` into ``out`` atomically."""
    write_csv(batch.recordings, out / "recordings.csv")
    write_csv(batch.units, out / "units.csv")
    write_csv(batch.doses, out / "doses.csv")
    write_json(batch.params, out / "params.json")
