# Over 400 lines: the steps of one recording and of a batch, in the order they run; each
# step is a short function that calls into the layers below.
"""The analysis of one recording and of a batch: load -> features -> doses -> tables.

The CLI and the Python API both call :func:`analyze`; each recording is
analysed by :func:`analyze_recording`, which never raises for bad input: a
failure becomes a ``failed`` row with a one-line reason.

Over 400 lines because it is the one place where the stages meet (loading,
curation, measures, fits, population, outputs); each function stays small.
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rapheunit.core.curation import (
    Decision,
    apply_to_recording,
    apply_to_units,
    for_recording,
    read_run_curation,
    recording_columns,
    unknown_recordings,
)
from rapheunit.core.epochs import DOSE_COLUMNS
from rapheunit.core.errors import (
    BadParameterError,
    RapheUnitError,
    UnreadableFileError,
    check_option,
)
from rapheunit.core.messages import condensed
from rapheunit.core.model import Recording
from rapheunit.core.version import VERSION
from rapheunit.doseresponse.fits import unit_dose_response
from rapheunit.doseresponse.groups import compare_groups, join_metadata, read_metadata
from rapheunit.doseresponse.population import summarize
from rapheunit.doseresponse.selection import (
    PopulationSelection,
    mark_population,
    select_population,
)
from rapheunit.io.discovery import find_inputs, plain_name, unique_names
from rapheunit.io.load import load_with_options, sha256_of
from rapheunit.io.output import write_csv, write_json, write_parquet
from rapheunit.measures.analysis import (
    UNIT_COLUMNS,
    MeasureSettings,
    RecordingAnalysis,
    measure_recording,
)
from rapheunit.measures.results import BatchResult, RecordingResult
from rapheunit.measures.timecourse import TIMECOURSE_COLUMNS
from rapheunit.run.batch import (
    RunOptions,
    cached_worker,
    parameters_key,
    run_all,
)
from rapheunit.run.options import AnalysisOptions, options_with
from rapheunit.run.schema import typed
from rapheunit.run.select_check import check_select

TABLE_FORMATS = ("csv", "parquet")
RECORDING_COLUMNS = ("recording", "path", "status", "error", "n_units", "duration_s", "reader")


def analyze_recording(
    path: Path,
    options: AnalysisOptions,
    *,
    keep_recording: bool = True,
    name: str | None = None,
    report_out: Path | None = None,
    curation: Sequence[Decision] = (),
) -> RecordingResult:
    """Analyse one input; bad input gives a ``failed`` result, never an exception.

    With ``keep_recording=False`` the loaded recording (spike times and
    waveforms) is dropped once its tables are made, to keep batch memory low.
    ``name`` replaces the file stem as the recording's name (see :func:`unique_names`).
    With ``report_out``, the recording's HTML report is written into ``report_out/reports``.
    ``curation`` holds the analyst's decisions (see :mod:`rapheunit.core.curation`).
    """
    try:
        recording = load_with_options(path, options.load)
        if name is not None:
            recording = replace(recording, name=name)
        result = _analyze_loaded(recording, options, curation)
        if report_out is not None:
            write_report(result, report_out, options)
        if not keep_recording:
            result.analysis = None
        return result
    except RapheUnitError as error:
        return _failed(path, name, str(error))
    except Exception as error:  # a bug must not stop the batch; --debug shows it
        message = f"{path}: internal error ({type(error).__name__}: {error})"
        return _failed(path, name, " ".join(message.split()), traceback.format_exc())


def _analyze_named(
    path: Path,
    *,
    options: AnalysisOptions,
    keep_recording: bool,
    names: dict[Path, str],
    report_out: Path | None,
    ends: dict[str, float],
    curation: Sequence[Decision] = (),
) -> RecordingResult:
    name = names[path]
    if name in ends:  # the metadata table gives this recording's end
        options = replace(options, load=replace(options.load, t_stop=ends[name]))
    return analyze_recording(
        path,
        options,
        keep_recording=keep_recording,
        name=name,
        report_out=report_out,
        curation=curation,
    )


def _call_for_path(workers: dict[Path, Any], path: Path) -> RecordingResult:
    return workers[path](path)


# Metadata column giving a recording's end, for spike tables that stop at their last spike.
END_COLUMN = "t_stop_s"


def recording_ends(metadata: pd.DataFrame | None) -> dict[str, float]:
    """Recording name -> end (s) from the metadata's ``t_stop_s`` column, where given.

    Examples
    --------
    >>> recording_ends(pd.DataFrame({"recording": ["a", "b"], "t_stop_s": [900.0, None]}))
    {'a': 900.0}
    """
    if metadata is None or END_COLUMN not in metadata.columns:
        return {}
    given = metadata.dropna(subset=[END_COLUMN])
    return dict(zip(given["recording"].astype(str), given[END_COLUMN].astype(float), strict=True))


def _report_exists(out: Path, names: dict[Path, str], path: Path) -> bool:
    from rapheunit.viz.html import report_path  # the figure stack loads only for reports

    return report_path(out, names[path]).exists()


def _failed(path: Path, name: str | None, message: str, trace: str = "") -> RecordingResult:
    row = {
        "recording": name or plain_name(path),
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


def measure_settings(options: AnalysisOptions) -> MeasureSettings:
    """The part of ``options`` that the per-recording measures read."""
    return MeasureSettings(options.epochs, options.qc, options.timecourse, options.classification)


def measure(recording: Recording, options: AnalysisOptions | None = None) -> RecordingAnalysis:
    """Measure a loaded recording (baseline, features, QC, verdicts, dose rates, time course).

    Examples
    --------
    >>> import numpy as np
    >>> from rapheunit.core.model import Unit
    >>> rec = Recording("r", Path("r.csv"), 0.0, 400.0, [Unit("u", np.arange(0.0, 400.0, 1.0))])
    >>> measure(rec).units[["unit", "classification"]].values.tolist()
    [['u', 'putative_5ht']]
    """
    return measure_recording(recording, measure_settings(options or AnalysisOptions()))


def _analyze_loaded(
    recording: Recording, options: AnalysisOptions, curation: Sequence[Decision] = ()
) -> RecordingResult:
    recording, applied, stale = apply_to_recording(recording, curation)
    analysis = measure(recording, options)
    analysis.units = apply_to_units(analysis.units, applied)
    analysis.warnings.extend(stale)
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
        "warnings": " | ".join(condensed(analysis.warnings)),
        **recording_columns(applied, stale),
    }
    return RecordingResult.from_analysis(row, analysis)


def fit_doses(doses: pd.DataFrame, options: AnalysisOptions | None = None) -> pd.DataFrame:
    """Dose-response fits of every unit in ``doses`` (one vectorised call; empty without doses)."""
    options = options or AnalysisOptions()
    if not len(doses):
        return pd.DataFrame()
    return unit_dose_response(doses, options.fit, recovery_pct=options.epochs.recovery_pct)


def with_fits(units: pd.DataFrame, fits: pd.DataFrame) -> pd.DataFrame:
    """``units`` with the fit columns: one row per unit and dose-response drug."""
    if fits.empty:
        return units
    return units.merge(fits, on=["recording", "unit"], how="left")


def write_report(result: RecordingResult, out: Path, options: AnalysisOptions) -> None:
    """Fit the recording's units and write its HTML report while the recording is loaded."""
    result.fits = fit_doses(result.doses, options)
    from rapheunit.viz.report import write_recording_report  # only when reports are written

    units = _with_population(with_fits(result.units, result.fits), options)
    params = {"rapheunit_version": VERSION, "parameters": options.as_dict()}
    write_recording_report(result, out, units_table=units, params=params)
    from rapheunit.viz.export import write_recording_extras

    extras = options.report
    write_recording_extras(result, units, out, figures=extras.figures,
                           figure_format=extras.figure_format, pdf=extras.pdf, params=params)


def _with_population(units: pd.DataFrame, options: AnalysisOptions) -> pd.DataFrame:
    """Units marked in or out of the population, and why, as the batch will mark them.

    A query on columns that only the batch adds (metadata) cannot be judged
    per recording: the report then leaves the population columns out.
    """
    choice = options.population
    if units.empty:
        return units
    try:
        return mark_population(units, select_population(units, choice.select, choice.exclude))
    except BadParameterError:
        return units


def analyze(
    paths: Sequence[str | Path] | str | Path,
    *,
    out: str | Path | None = None,
    options: AnalysisOptions | None = None,
    jobs: int | None = 1,
    scheduler: Any = None,
    resume: bool = False,
    progress: bool = False,
    formats: Sequence[str] = ("csv",),
    report: bool = True,
    tables: bool = True,
    curation: str | Path | bool | None = None,
    **settings: Any,
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
        All analysis parameters; or give them one by one as keywords
        (``baseline_s=120``, ``spike_channels=["Spikes"]``, ...).
    jobs : int or None
        Local processes (None: one per core). Results do not depend on it.
    scheduler : str or distributed.Client, optional
        Run on an existing Dask cluster instead.
    resume : bool
        Skip inputs whose sha256 and parameters match what ``out`` holds.
    progress : bool
        Show a progress bar.
    formats : sequence of {"csv", "parquet"}
        Table formats to write; CSV is always written.
    report : bool
        With ``out``, also write ``reports/<recording>.html`` and ``reports/index.html``.
    tables : bool
        With ``out``, write the tables and ``params.json`` (``rapheunit report`` does not).
    curation : path or bool, optional
        The analyst's decisions (TOML, see ``docs/curation.md``); by default
        ``out/curation.toml`` when it exists; False ignores every curation.

    Returns
    -------
    BatchResult
        The tables as pandas DataFrames.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "c.csv").write_text("unit,time_s\\nu,1\\nu,3\\n")
    >>> analyze(folder, baseline_s=120).units[["unit", "n_spikes"]].to_numpy().tolist()
    [['u', 2]]
    """
    options = options_with(options or AnalysisOptions(), **settings)
    # Read (and so checked) before the batch runs: a bad table fails at once.
    source = options.population.metadata
    metadata = None if source is None else read_metadata(source)
    check_select(options.population.select, metadata)
    for table_format in formats:
        check_option(table_format, TABLE_FORMATS, "format")
    run = RunOptions(jobs=jobs, scheduler=scheduler, resume=resume, progress=progress)
    inputs = [paths] if isinstance(paths, str | Path) else list(paths)
    missing = next((Path(item) for item in inputs if not Path(item).exists()), None)
    if missing is not None:
        raise UnreadableFileError("no such file or folder; check the path", missing)
    found, skipped = find_inputs(inputs)
    out_path = None if out is None else Path(out)
    report_out = out_path if report else None
    names = unique_names(found)
    ends = recording_ends(metadata)
    decisions = read_run_curation(curation, out_path)
    for message in unknown_recordings(decisions, names.values()):
        warnings.warn(message, stacklevel=2)
    base_key = options.as_dict() | {"version": VERSION, "recording_ends": ends}
    workers = {}
    for path in found:
        mine = for_recording(decisions, names[path])
        # A recording's cached result is redone only when its own decisions change.
        key = base_key | ({"curation": [repr(d) for d in mine]} if mine else {})
        workers[path] = cached_worker(
            partial(
                _analyze_named,
                options=options,
                keep_recording=out is None and jobs == 1,
                names=names,
                report_out=report_out,
                ends=ends,
                curation=mine,
            ),
            out_path,
            parameters_key(key),
            resume,
            restore=partial(RecordingResult.from_part, settings=measure_settings(options)),
            # A resumed input is redone when its report is wanted but missing.
            needs=None if report_out is None else partial(_report_exists, report_out, names),
        )
    worker = partial(_call_for_path, workers)
    results = list(_with_progress(run_all(worker, found, run), len(found), run.progress))
    for result in results:
        stale = str(result.recording_row.get("curation_stale", "") or "")
        for message in filter(None, stale.split(" | ")):
            warnings.warn(f"{result.recording_row['recording']}: {message}", stacklevel=2)
    batch = combine(results, options, metadata)
    batch.skipped = [str(path) for path in skipped]
    if out_path is not None:
        if tables:
            write_outputs(batch, out_path, formats)
        if report_out is not None:
            from rapheunit.viz.report import write_index  # only when reports are written

            write_index(batch.recordings, batch.units, report_out, summary=batch.summary,
                        population=batch.population, groups=batch.groups,
                        params=batch.params)
            from rapheunit.viz.export import write_batch_extras

            extras = options.report
            write_batch_extras(batch, report_out,
                               figures=extras.figures, figure_format=extras.figure_format,
                               pdf=extras.pdf, group_by=options.population.group_by)
    return batch


def _with_progress(
    results: Iterator[RecordingResult], total: int, show: bool
) -> Iterator[RecordingResult]:
    if not show:
        yield from results
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, unit="recording", desc="rapheunit") as bar:
        for result in results:
            bar.update(1)
            yield result


def combine(
    results: Sequence[RecordingResult],
    options: AnalysisOptions,
    metadata: pd.DataFrame | None = None,
) -> BatchResult:
    """Stack per-recording tables into the batch tables, joining ``metadata`` when given."""
    recordings = pd.DataFrame([r.recording_row for r in results])
    if recordings.empty:
        recordings = pd.DataFrame(columns=list(RECORDING_COLUMNS))
    params = {
        "rapheunit_version": VERSION,
        "parameters": options.as_dict(),
        "inputs": {
            r.recording_row["path"]: r.recording_row.get("sha256") or _sha256_or_empty(r)
            for r in results
        },
    }
    choice = options.population
    fits = _batch_fits(results, options)
    tables = {
        "recordings": recordings,
        "units": with_fits(_stack([r.units for r in results], UNIT_COLUMNS), fits),
        "doses": _stack([r.doses for r in results], (*DOSE_COLUMNS, "baseline_rate_hz")),
        "fits": fits,
        "timecourse": _stack([r.timecourse for r in results], TIMECOURSE_COLUMNS),
        "timecourse_metrics": _stack([r.timecourse_metrics for r in results], ()),
    }
    groups = pd.DataFrame()
    if metadata is not None:
        if choice.group_by is not None:  # compare_groups joins the metadata itself
            groups = compare_groups(
                tables["units"],
                tables["doses"],
                metadata,
                group_by=choice.group_by,
                params=options.groups,
                fit=options.fit,
            )
        tables = {name: _joined(table, metadata) for name, table in tables.items()}
    units, doses, timecourse = tables["units"], tables["doses"], tables["timecourse"]
    summary, population = pd.DataFrame(), pd.DataFrame()
    if not (units.empty or doses.empty or tables["fits"].empty):
        # units the analyst took out of the population (curation) are never picked
        analyst_out = (
            ~units["in_population"].fillna(True).astype(bool).to_numpy()
            if "in_population" in units.columns
            else np.zeros(len(units), dtype=bool)
        )
        selection = select_population(units[~analyst_out], choice.select, choice.exclude)
        units = mark_population(units, selection)
        units.loc[analyst_out, "population_exclusion"] = "curation"
        summary, population = population_tables(doses, tables["fits"], selection, options)
    return BatchResult(
        recordings=tables["recordings"],
        units=units,
        doses=doses,
        summary=summary,
        population=population,
        timecourse=timecourse,
        timecourse_metrics=tables["timecourse_metrics"],
        groups=groups,
        params=params,
        results=list(results),
    )


def _batch_fits(results: Sequence[RecordingResult], options: AnalysisOptions) -> pd.DataFrame:
    """Fits made with the reports, and one vectorised fit for every other recording."""
    unfitted = _stack([r.doses for r in results if r.fits.empty], ())
    return _stack([*(r.fits for r in results), fit_doses(unfitted, options)], ())


def _joined(table: pd.DataFrame, metadata: pd.DataFrame) -> pd.DataFrame:
    return join_metadata(table, metadata) if "recording" in table.columns else table


def population_tables(
    doses: pd.DataFrame,
    fits: pd.DataFrame,
    selection: PopulationSelection,
    options: AnalysisOptions,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``summary.csv`` and ``population.csv`` for the units ``selection`` keeps.

    ``summary.csv`` also counts, per group, the units the query picked and
    those each exclusion rule removed (``n_selected``, ``n_excluded``,
    ``n_excluded_<rule>``); a group whose units were all excluded keeps a
    row with these counts only. Empty tables when no unit was picked.
    """
    choice = options.population
    key = ["recording", "unit"]
    if choice.group_by is not None and choice.group_by not in doses.columns:
        key.append(choice.group_by)  # a unit column such as subtype; metadata is already joined
    chosen = selection.included[key].drop_duplicates()
    chosen_doses = doses.merge(chosen, on=["recording", "unit"])
    chosen_fits = fits.merge(chosen, on=["recording", "unit"])
    summary, population = pd.DataFrame(), pd.DataFrame()
    if not (chosen_doses.empty or chosen_fits.empty):
        summary, population = summarize(
            chosen_doses,
            chosen_fits,
            group_col=choice.group_by,
            params=options.fit,
            resamples=choice.pooled_ci_resamples,
        )
    if selection.picked.empty:
        return summary, population
    counts = selection.counts(choice.group_by)
    if summary.empty:
        return counts, population
    return summary.merge(counts, on=choice.group_by or "group", how="outer"), population


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


def write_outputs(batch: BatchResult, out: Path, formats: Sequence[str] = ("csv",)) -> None:
    """Write the batch tables and ``params.json`` into ``out`` atomically."""
    for name, table in batch.tables().items():
        if table.columns.empty:  # e.g. groups.csv when no --group-by was asked for
            continue
        table = typed(table)
        write_csv(table, out / f"{name}.csv")
        if "parquet" in formats:
            write_parquet(table, out / f"{name}.parquet")
    write_json(batch.params, out / "params.json")
    from rapheunit.viz.prism import write_prism_tables  # pandas only, no figure stack

    group_by = batch.params.get("parameters", {}).get("population", {}).get("group_by")
    write_prism_tables(batch.doses, out, group_by)
