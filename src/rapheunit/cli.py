"""Command-line interface: ``rapheunit analyze``, ``rapheunit simulate``.

Exit status: 0 when every input was analysed, 1 when any failed, 2 for usage
errors. No traceback reaches the terminal unless ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

from rapheunit.core.epochs import EpochParams
from rapheunit.core.errors import BadDoseTableError, BadParameterError, RapheUnitError
from rapheunit.core.markers import checked_marker_map
from rapheunit.core.version import VERSION
from rapheunit.detection.detect import POLARITIES, DetectParams
from rapheunit.io.load import LoadOptions
from rapheunit.io.readers.signals import DetectOptions
from rapheunit.measures.classify import DEFAULT_RULE_SET, RULE_SETS, get_rule_set, load_rule_config
from rapheunit.measures.results import BatchResult
from rapheunit.measures.timecourse import TimecourseParams
from rapheunit.run.options import (
    DEFAULT_POPULATION_QUERY,
    AnalysisOptions,
    ClassificationOptions,
    PopulationOptions,
)
from rapheunit.run.pipeline import TABLE_FORMATS, analyze

EXIT_OK, EXIT_FAILED_INPUT, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to generate the CLI reference)."""
    parser = argparse.ArgumentParser(
        prog="rapheunit",
        description="Identify 5-HT units in dorsal raphe recordings and quantify 5-HT1A "
        "agonist dose-response.",
    )
    parser.add_argument("--version", action="version", version=f"rapheunit {VERSION}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_analyze(
        commands.add_parser(
            "analyze",
            help="analyse recordings; write the tables and an HTML report per recording",
            description="Analyse recordings (files or folders, searched recursively) and write "
            "recordings.csv, units.csv, doses.csv, summary.csv, population.csv, "
            "timecourse.csv, params.json and reports/ into --out.",
        )
    )
    _add_analyze(
        commands.add_parser(
            "report",
            help="write only the HTML reports (reports/<recording>.html and reports/index.html)",
            description="Analyse recordings exactly as 'analyze' does, with the same options, "
            "and write only the reports into --out/reports.",
        )
    )
    _add_simulate(commands)
    rules_parser = commands.add_parser(
        "rules",
        help="list the classification rule sets with thresholds and sources",
        description="List the registered rule sets (after --rules FILE, when given).",
    )
    rules_parser.add_argument(
        "--rules", type=Path, metavar="FILE", help="TOML file of thresholds and rule sets"
    )
    rules_parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def _add_analyze(analyze_parser: argparse.ArgumentParser) -> None:
    analyze_parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        type=Path,
        help="recording files or folders (folders are searched recursively)",
    )
    analyze_parser.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="output folder"
    )
    reading = analyze_parser.add_argument_group("reading")
    reading.add_argument(
        "--io", metavar="CLASS", help="neo IO class to use instead of choosing by extension"
    )
    reading.add_argument(
        "--spike-channel",
        action="append",
        default=[],
        metavar="NAME",
        help="event channel holding spikes (window discriminator); repeatable",
    )
    reading.add_argument(
        "--t-stop", type=float, metavar="SECONDS", help="recording end for spike tables"
    )
    _add_detection(analyze_parser)
    dosing = analyze_parser.add_argument_group("dose schedule")
    dosing.add_argument(
        "--doses", type=Path, metavar="FILE", help="dose table with columns time_s,drug,dose,unit"
    )
    dosing.add_argument(
        "--marker-map",
        type=Path,
        metavar="FILE",
        help='TOML file mapping marker codes to labels, e.g. 1 = "ipsapirone 5 ug/kg"',
    )
    dosing.add_argument(
        "--labels-cumulative",
        action="store_true",
        help="marker labels give cumulative totals, not the amount injected",
    )
    windows = analyze_parser.add_argument_group("epochs")
    defaults = EpochParams()
    windows.add_argument(
        "--baseline-s",
        type=float,
        default=defaults.baseline_s,
        metavar="SECONDS",
        help="baseline length before the first injection (default: %(default)s)",
    )
    windows.add_argument(
        "--min-baseline-s",
        type=float,
        default=defaults.min_baseline_s,
        metavar="SECONDS",
        help="shorter baselines are flagged (default: %(default)s)",
    )
    windows.add_argument(
        "--response-s",
        type=float,
        default=defaults.response_s,
        metavar="SECONDS",
        help="response = this long before the next injection (default: %(default)s)",
    )
    classifying = analyze_parser.add_argument_group("classification")
    classifying.add_argument(
        "--rule-set",
        default=DEFAULT_RULE_SET,
        help="rule set naming putative 5-HT units (default: the classic set, or the "
        "firing-only set for units without waveforms); see 'rapheunit rules'",
    )
    classifying.add_argument(
        "--rules", type=Path, metavar="FILE", help="TOML file of thresholds and rule sets"
    )
    classifying.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one threshold, e.g. max_rate_hz=3.0; repeatable",
    )
    population = analyze_parser.add_argument_group("population")
    population.add_argument(
        "--select",
        default=DEFAULT_POPULATION_QUERY,
        metavar="QUERY",
        help="pandas query on units.csv columns choosing the units of summary.csv and "
        f"population.csv (default: {DEFAULT_POPULATION_QUERY})",
    )
    population.add_argument(
        "--metadata",
        type=Path,
        metavar="FILE",
        help="table of recordings (recording, animal, group, ...) joined onto every output",
    )
    population.add_argument(
        "--group-by",
        metavar="COLUMN",
        help="split the population tables by this column; with --metadata also write groups.csv",
    )
    timing = analyze_parser.add_argument_group("time course after single doses")
    course = TimecourseParams()
    timing.add_argument(
        "--timecourse-bin-s",
        type=float,
        default=course.bin_s,
        metavar="SECONDS",
        help="bin width (default: %(default)s)",
    )
    timing.add_argument(
        "--timecourse-pre-s",
        type=float,
        default=course.pre_s,
        metavar="SECONDS",
        help="time before the injection (default: %(default)s)",
    )
    timing.add_argument(
        "--timecourse-post-s",
        type=float,
        default=course.post_s,
        metavar="SECONDS",
        help="time after the injection (default: %(default)s)",
    )
    timing.add_argument(
        "--timecourse-injections",
        choices=("single_dose", "all"),
        default=course.injections,
        help="follow only injections that are the sole dose of their drug, or all",
    )
    running = analyze_parser.add_argument_group("running")
    running.add_argument(
        "--jobs", type=int, default=None, metavar="N", help="local processes (default: all cores)"
    )
    running.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on this Dask distributed scheduler"
    )
    running.add_argument(
        "--resume",
        action="store_true",
        help="skip inputs whose sha256 and parameters match what --out already holds",
    )
    running.add_argument(
        "--format",
        action="append",
        choices=TABLE_FORMATS,
        default=[],
        help="also write this table format (CSV is always written); repeatable",
    )
    running.add_argument("--no-report", action="store_true", help="do not write the HTML reports")
    analyze_parser.add_argument("--quiet", action="store_true", help="print only errors")
    analyze_parser.add_argument("--debug", action="store_true", help="show tracebacks")


def _add_detection(analyze_parser: argparse.ArgumentParser) -> None:
    detecting = analyze_parser.add_argument_group(
        "spike detection in continuous signals (files without spike trains, raw binary files)"
    )
    defaults = DetectParams()
    detecting.add_argument(
        "--detect", action="store_true", help="detect units even when the file has spike trains"
    )
    detecting.add_argument(
        "--detect-channel", type=int, metavar="N", help="only this channel (default: all)"
    )
    detecting.add_argument(
        "--band",
        type=float,
        nargs=2,
        default=defaults.band_hz,
        metavar=("LOW_HZ", "HIGH_HZ"),
        help="band-pass edges (default: %(default)s)",
    )
    detecting.add_argument(
        "--threshold-mad",
        type=float,
        default=defaults.threshold_mad,
        metavar="K",
        help="threshold = K x the MAD noise estimate (default: %(default)s)",
    )
    detecting.add_argument(
        "--polarity",
        choices=POLARITIES,
        default=defaults.polarity,
        help="spike sign to detect (default: %(default)s)",
    )
    detecting.add_argument(
        "--raw-dtype", metavar="DTYPE", help="sample type of raw binary files, e.g. int16"
    )
    detecting.add_argument(
        "--raw-sampling-rate", type=float, metavar="HZ", help="sampling rate of raw binary files"
    )
    detecting.add_argument(
        "--raw-channels", type=int, metavar="N", help="interleaved channels in raw binary files"
    )


def _detect_options(args: argparse.Namespace) -> DetectOptions:
    return DetectOptions(
        detect=args.detect,
        channel=args.detect_channel,
        raw_layout={
            "dtype": args.raw_dtype,
            "sampling_rate_hz": args.raw_sampling_rate,
            "n_channels": args.raw_channels,
        },
        params=DetectParams(
            band_hz=tuple(args.band), threshold_mad=args.threshold_mad, polarity=args.polarity
        ),
    )


def _add_simulate(commands: argparse._SubParsersAction) -> None:
    simulate_parser = commands.add_parser(
        "simulate",
        help="write simulated DRN recordings with known ground truth",
        description="Write simulated recordings (NIX, NWB, CSV + sidecar) and truth.json.",
    )
    simulate_parser.add_argument("out", type=Path, metavar="DIR", help="output folder")
    simulate_parser.add_argument(
        "--seed", type=int, default=0, help="random seed; the same seed gives the same files"
    )
    simulate_parser.add_argument("--debug", action="store_true", help="show tracebacks")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rapheunit`` console script."""
    args = build_parser().parse_args(argv)
    try:
        runners = {
            "analyze": _run_analyze,
            "report": _run_analyze,
            "simulate": _run_simulate,
            "rules": _run_rules,
        }
        return runners[args.command](args)
    except RapheUnitError as error:
        if args.debug:
            raise
        print(f"rapheunit: error: {error}", file=sys.stderr)
        return EXIT_USAGE


def _run_analyze(args: argparse.Namespace) -> int:
    options = AnalysisOptions(
        load=LoadOptions(
            io=args.io,
            spike_channels=tuple(args.spike_channel),
            doses=args.doses,
            marker_map=_read_marker_map(args.marker_map),
            labels_are_cumulative=args.labels_cumulative,
            t_stop=args.t_stop,
            detection=_detect_options(args),
        ),
        epochs=EpochParams(
            baseline_s=args.baseline_s,
            min_baseline_s=args.min_baseline_s,
            response_s=args.response_s,
        ),
        classification=ClassificationOptions(
            rule_set=args.rule_set,
            overrides=_parse_thresholds(args.threshold),
            config=load_rule_config(args.rules) if args.rules else None,
        ),
        population=PopulationOptions(
            select=args.select, group_by=args.group_by, metadata=args.metadata
        ),
        timecourse=TimecourseParams(
            bin_s=args.timecourse_bin_s,
            pre_s=args.timecourse_pre_s,
            post_s=args.timecourse_post_s,
            injections=args.timecourse_injections,
        ),
    )
    started = time.perf_counter()
    batch = analyze(
        args.inputs,
        out=args.out,
        options=options,
        jobs=args.jobs,
        scheduler=args.scheduler,
        resume=args.resume,
        progress=not args.quiet,
        formats=["csv", *args.format],
        report=args.command == "report" or not args.no_report,
        tables=args.command == "analyze",
    )
    _report_failures(batch, debug=args.debug)
    if not args.quiet:
        print(summary_text(batch, args.out, time.perf_counter() - started))
    if batch.recordings.empty:
        print("rapheunit: error: no readable recording found in the inputs", file=sys.stderr)
        return EXIT_FAILED_INPUT
    return EXIT_FAILED_INPUT if batch.n_failed else EXIT_OK


def _parse_thresholds(items: Sequence[str]) -> dict[str, float] | None:
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            overrides[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise BadParameterError(f"--threshold takes NAME=NUMBER, got {item!r}")
    return overrides or None


def _read_marker_map(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise RapheUnitError(f"marker map is not a readable TOML file: {error}", path) from error
    try:
        return checked_marker_map(data)
    except RapheUnitError as error:
        raise BadDoseTableError(error.reason, path) from error


def _report_failures(batch: BatchResult, *, debug: bool) -> None:
    for result in batch.results:
        if result.ok:
            continue
        print(f"rapheunit: failed: {result.recording_row['error']}", file=sys.stderr)
        if debug and result.traceback:
            print(result.traceback, file=sys.stderr)


def summary_text(batch: BatchResult, out: Path, seconds: float) -> str:
    """The one-screen summary printed at the end of ``rapheunit analyze``."""
    n_ok = len(batch.recordings) - batch.n_failed
    lines = [
        f"{n_ok} recording(s) analysed, {batch.n_failed} failed, {len(batch.units)} unit(s)"
        f" in {seconds:.1f} s",
    ]
    if "classification" in batch.units.columns:
        n_5ht = int((batch.units["classification"] == "putative_5ht").sum())
        lines.append(f"putative 5-HT units: {n_5ht}")
    written = [
        f"tables in {out}/" if (out / "units.csv").exists() else "",
        f"reports in {out}/reports/index.html" if (out / "reports").exists() else "",
    ]
    lines.extend(line for line in written if line)
    return "\n".join(lines)


def _run_simulate(args: argparse.Namespace) -> int:
    from rapheunit.simulate import write_dataset

    truth_path = write_dataset(args.out, seed=args.seed)
    print(f"simulated recordings written to {args.out}/ (ground truth: {truth_path})")
    return EXIT_OK


def _run_rules(args: argparse.Namespace) -> int:
    config = load_rule_config(args.rules) if args.rules else {}
    names = [*RULE_SETS, *config.get("rule_sets", {})]
    print("\n\n".join(get_rule_set(name, config=config).describe() for name in names))
    return EXIT_OK
