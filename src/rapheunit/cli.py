"""Command-line interface: ``rapheunit analyze``, ``rapheunit simulate``, ``rapheunit curate``.

Exit status: 0 when every input was analysed, 1 when any failed, 2 for usage
errors. No traceback reaches the terminal unless ``--debug``.

Start-up is kept to the interpreter and numpy: each command's flags (the option tree
imports the analysis modules and pandas) are added only to the parser of the command
named on the command line, so ``rapheunit --help`` and ``--version`` load nothing else.
"""

from __future__ import annotations

import argparse
import sys
import time
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapheunit.core.errors import RapheUnitError
from rapheunit.core.params import Leaf, leaves
from rapheunit.core.version import VERSION

if TYPE_CHECKING:
    from rapheunit.measures.results import BatchResult
    from rapheunit.run.options import AnalysisOptions

EXIT_OK, EXIT_FAILED_INPUT, EXIT_USAGE = 0, 1, 2
# Aliases share the parser of their command.
COMMAND_ALIASES = {"analyse": "analyze"}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser (also used to generate the CLI reference).

    Every command is listed, but only ``command``'s arguments are added (all of
    them when None; none when ``""``): see the module docstring.
    """
    def wanted(name: str) -> bool:
        return command is None or COMMAND_ALIASES.get(command, command) == name

    parser = argparse.ArgumentParser(
        prog="rapheunit",
        allow_abbrev=False,  # "--baseline 120" must not silently mean --baseline-s
        description="Identify 5-HT units in dorsal raphe recordings and quantify 5-HT1A "
        "agonist dose-response.",
    )
    parser.add_argument("--version", action="version", version=f"rapheunit {VERSION}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    analyze_parser = commands.add_parser(
        "analyze",
        aliases=["analyse"],
        allow_abbrev=False,
        help="analyse recordings; write the tables and an HTML report per recording",
        description="Analyse recordings (files or folders, searched recursively) and write "
        "recordings.csv, units.csv, doses.csv, summary.csv, population.csv, "
        "timecourse.csv, params.json and reports/ into --out.",
    )
    report_parser = commands.add_parser(
        "report",
        allow_abbrev=False,
        help="write only the HTML reports (reports/<recording>.html and reports/index.html)",
        description="Analyse recordings exactly as 'analyze' does, with the same options, "
        "and write only the reports into --out/reports.",
    )
    for name, sub in (("analyze", analyze_parser), ("report", report_parser)):
        if wanted(name):
            _add_analyze(sub)
    simulate_parser = commands.add_parser(
        "simulate",
        allow_abbrev=False,
        help="write simulated DRN recordings with known ground truth",
        description="Write simulated recordings (NIX, NWB, CSV + sidecar) and truth.json.",
    )
    if wanted("simulate"):
        _add_simulate(simulate_parser)
    inspect_parser = commands.add_parser(
        "inspect",
        allow_abbrev=False,
        help="show what a file holds: reader, span, units, event channels, signals",
        description="Show what a recording file holds before any analysis: its reader, "
        "segments, units with their spike counts, event channels with their first labels (as "
        "read and as decoded), and analog signals. Use it to choose --spike-channel and to "
        "write a marker map.",
    )
    if wanted("inspect"):
        _add_inspect(inspect_parser)
    rules_parser = commands.add_parser(
        "rules",
        allow_abbrev=False,
        help="list the classification rule sets with thresholds and sources",
        description="List the registered rule sets (after --rules FILE, when given).",
    )
    if wanted("rules"):
        rules_parser.add_argument(
            "--rules", type=Path, metavar="FILE", help="TOML file of thresholds and rule sets"
        )
        rules_parser.add_argument("--debug", action="store_true", help="show tracebacks")
    curate_parser = commands.add_parser(
        "curate",
        allow_abbrev=False,
        help="record an analyst's decision about a recording or unit in RESULTS/curation.toml",
        description="Check that the recording (and unit) exist in RESULTS' tables, then append "
        "the decision with its reason, author and date; the next 'analyze' honours it.",
    )
    if wanted("curate"):
        _add_curate(curate_parser)
    return parser


def _add_inspect(inspect_parser: argparse.ArgumentParser) -> None:
    inspect_parser.add_argument("file", type=Path, metavar="FILE", help="a recording file")
    inspect_parser.add_argument("--json", action="store_true", help="print JSON, for scripts")
    inspect_parser.add_argument("--io", metavar="NEO_CLASS", help="neo reader class to use")
    inspect_parser.add_argument("--debug", action="store_true", help="show tracebacks")


def _add_curate(curate: argparse.ArgumentParser) -> None:
    from rapheunit.core.curation import VERDICTS

    curate.add_argument("results", type=Path, metavar="RESULTS", help="output folder of a run")
    curate.add_argument("target", metavar="RECORDING[/UNIT]", help="e.g. drn01/unit1")
    what = curate.add_mutually_exclusive_group(required=True)
    what.add_argument("--exclude", action="store_true", help="drop the unit from every table")
    what.add_argument(
        "--exclude-population", action="store_true", help="keep the unit out of population tables"
    )
    what.add_argument("--verdict", choices=VERDICTS, help="override the unit's verdict")
    what.add_argument("--baseline", nargs=2, type=float, metavar=("START", "STOP"),
                      help="set the baseline window (s)")
    what.add_argument("--move-injection", nargs=2, metavar=("N", "TIME"),
                      help="move injection N (1-based) to TIME s")
    what.add_argument("--add-injection", nargs=4, metavar=("TIME", "DRUG", "DOSE", "UNIT"),
                      help="add an injection")
    what.add_argument("--end", type=float, metavar="TIME", help="set the recording's end (s)")
    what.add_argument("--span", nargs=2, type=float, metavar=("START", "STOP"),
                      help="keep only the unit's spikes in [START, STOP) s")
    curate.add_argument("--reason", required=True, help="why (the evidence)")
    curate.add_argument("--author", help="who decided (default: the login name)")
    curate.add_argument("--file", type=Path, help="curation file (default: RESULTS/curation.toml)")
    curate.add_argument("--debug", action="store_true", help="show tracebacks")


def curate_values(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The action and its values from ``rapheunit curate`` arguments."""
    if args.exclude:
        return "exclude", {}
    if args.exclude_population:
        return "exclude_population", {}
    if args.verdict:
        return "verdict", {"verdict": args.verdict}
    if args.baseline:
        return "baseline", dict(zip(("start_s", "stop_s"), args.baseline, strict=True))
    if args.span:
        return "span", dict(zip(("start_s", "stop_s"), args.span, strict=True))
    if args.end is not None:
        return "end", {"time_s": args.end}
    try:
        if args.move_injection:
            number, time_s = args.move_injection
            return "move_injection", {"injection": int(number), "time_s": float(time_s)}
        time_s, drug, dose, unit = args.add_injection
        values = {"time_s": float(time_s), "drug": drug, "dose": float(dose), "dose_unit": unit}
        return "add_injection", values
    except ValueError as error:
        raise RapheUnitError(f"curate: {error}") from None


# Argument groups of ``analyze --help``: option-tree branch -> title.
OPTION_GROUPS = {
    "load": "reading",
    "load.detection": "spike detection in continuous signals (files without spike trains, raw "
    "binary files)",
    "epochs": "epochs",
    "classification": "classification",
    "fit": "dose-response fit",
    "qc": "quality control",
    "population": "population",
    "timecourse": "time course after single doses",
    "groups": "group comparisons",
    "report": "figures and PDF (with the reports)",
}


def _add_analyze(analyze_parser: argparse.ArgumentParser) -> None:
    from rapheunit.run.pipeline import TABLE_FORMATS

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
    _add_option_tree(analyze_parser)
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
    curation = running.add_mutually_exclusive_group()
    curation.add_argument(
        "--curation",
        type=Path,
        metavar="FILE",
        help="the analyst's decisions (TOML; default: --out/curation.toml when present)",
    )
    curation.add_argument("--no-curation", action="store_true", help="ignore every curation file")
    analyze_parser.add_argument("--quiet", action="store_true", help="print only errors")
    analyze_parser.add_argument("--debug", action="store_true", help="show tracebacks")


def _add_option_tree(parser: argparse.ArgumentParser) -> None:
    """One flag per leaf of :class:`AnalysisOptions`, in a help group per branch.

    Flags left out of the command line are absent from the namespace
    (``argparse.SUPPRESS``), so the options are the defaults changed by
    exactly what was given.
    """
    from rapheunit.run.options import AnalysisOptions

    groups: dict[str, argparse._ArgumentGroup] = {}
    for leaf in leaves(AnalysisOptions()):
        branch = _branch(leaf.path)
        if branch not in groups:
            groups[branch] = parser.add_argument_group(OPTION_GROUPS[branch])
        groups[branch].add_argument(leaf.flag, dest=leaf.name, **_flag_form(leaf))


def _branch(path: tuple[str, ...]) -> str:
    """The longest prefix of ``path`` that names a help group."""
    for length in range(len(path) - 1, 0, -1):
        prefix = ".".join(path[:length])
        if prefix in OPTION_GROUPS:
            return prefix
    raise KeyError(f"no help group for {'.'.join(path)}")


def _flag_form(leaf: Leaf) -> dict[str, Any]:
    """argparse settings of one leaf, from its declaration and its type."""
    described = leaf.param
    form: dict[str, Any] = {"default": argparse.SUPPRESS, "help": _help(leaf)}
    if described.metavar is not None:
        form["metavar"] = described.metavar
    if described.choices is not None:
        form["choices"] = described.choices
    if described.repeatable:
        return form | {"action": "append"}
    if described.parse is not None:
        return form
    if leaf.kind is bool:
        return form | {"action": "store_false" if leaf.default else "store_true"}
    if isinstance(leaf.default, tuple):
        return form | {"nargs": len(leaf.default), "type": type(leaf.default[0])}
    return form | {"type": _scalar_type(leaf.kind)}


def _scalar_type(kind: Any) -> Callable[[str], Any]:
    """``float`` for ``float | None`` and the like."""
    options = [member for member in typing.get_args(kind) if member is not type(None)] or [kind]
    return next((t for t in (int, float, str) if t in options), str)


def _help(leaf: Leaf) -> str:
    shown = leaf.default
    if shown is None or shown == () or isinstance(shown, bool):
        return leaf.param.help
    if isinstance(shown, tuple):
        shown = " ".join(map(str, shown))
    return f"{leaf.param.help} (default: {shown})".replace("%", "%%")


def options_from_args(args: argparse.Namespace) -> AnalysisOptions:
    """The analysis options a parsed command line gives (every other leaf at its default)."""
    from rapheunit.run.options import AnalysisOptions, options_with

    settings = {}
    for leaf in leaves(AnalysisOptions()):
        if leaf.name not in vars(args):
            continue
        value = getattr(args, leaf.name)
        parse = leaf.param.parse
        settings[leaf.name] = parse(value) if parse is not None else value
    return options_with(AnalysisOptions(), **settings)


def _add_simulate(simulate_parser: argparse.ArgumentParser) -> None:
    simulate_parser.add_argument("out", type=Path, metavar="DIR", help="output folder")
    simulate_parser.add_argument(
        "--seed", type=int, default=0, help="random seed; the same seed gives the same files"
    )
    simulate_parser.add_argument("--debug", action="store_true", help="show tracebacks")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rapheunit`` console script."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_named_command(arguments)).parse_args(arguments)
    try:
        runners = {
            "analyze": _run_analyze,
            "analyse": _run_analyze,
            "report": _run_analyze,
            "simulate": _run_simulate,
            "inspect": _run_inspect,
            "rules": _run_rules,
            "curate": _run_curate,
        }
        return runners[args.command](args)
    except RapheUnitError as error:
        if args.debug:
            raise
        print(f"rapheunit: error: {error}", file=sys.stderr)
        return EXIT_USAGE


def run() -> None:
    """The console script: :func:`main`, then an exit without the interpreter's teardown.

    Once a command has finished, Python would spend 0.1-0.2 s tearing down the ~2,000
    modules the analysis imported (pandas, scipy, neo ...) and freeing every object one by
    one; the operating system reclaims the memory at once. Output is flushed first. A
    normal exit is kept while a thread that is not a daemon still runs (it may have work
    to finish) and when coverage must save its data.

    The garbage collector is off outside a batch's recordings: the imports and the
    combining of tables make few reference cycles, and every full collection would walk
    the whole analysis stack again (~50 ms each). The recordings, where cycles do pile
    up, are analysed with it on (:func:`rapheunit.run.batch.frozen_heap`).
    """
    import gc

    gc.disable()
    try:
        code = main()
    except SystemExit as done:  # --help, --version and argparse's usage errors
        if not isinstance(done.code, int):
            raise
        code = done.code
    import threading

    working = [thread for thread in threading.enumerate()
               if thread is not threading.main_thread() and not thread.daemon]
    if working or "coverage" in sys.modules:
        raise SystemExit(code)
    import contextlib
    import logging
    import os

    logging.shutdown()
    with contextlib.suppress(OSError):  # a reader that closed the pipe early
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _named_command(arguments: Sequence[str]) -> str:
    """The command on a command line: its first word that is not an option ("" if none)."""
    return next((word for word in arguments if not word.startswith("-")), "")


def _run_analyze(args: argparse.Namespace) -> int:
    from rapheunit.run.pipeline import analyze

    options = options_from_args(args)
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
        tables=args.command != "report",
        curation=False if args.no_curation else args.curation,
    )
    _report_failures(batch, debug=args.debug)
    if not args.quiet and not batch.units.empty and batch.summary.empty:
        print(
            f"rapheunit: note: --select {options.population.select!r} (with the exclusion "
            "rules) selected no unit: summary.csv and population.csv were not written",
            file=sys.stderr,
        )
    if not args.quiet:
        if batch.skipped:
            print(f"skipped {len(batch.skipped)} table(s) that are not spike tables: "
                  + ", ".join(Path(path).name for path in batch.skipped))
        if warnings := warnings_text(batch):
            print(warnings)
        print(summary_text(batch, args.out, time.perf_counter() - started))
    if batch.recordings.empty:
        print("rapheunit: error: no readable recording found in the inputs", file=sys.stderr)
        return EXIT_FAILED_INPUT
    return EXIT_FAILED_INPUT if batch.n_failed else EXIT_OK


def _report_failures(batch: BatchResult, *, debug: bool) -> None:
    for result in batch.results:
        if result.ok:
            continue
        print(f"rapheunit: failed: {result.recording_row['error']}", file=sys.stderr)
        if debug and result.traceback:
            print(result.traceback, file=sys.stderr)


def warnings_text(batch: BatchResult) -> str:
    """The warnings of each recording that has any, one line per kind (as in recordings.csv).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"recording": ["a", "b"], "warnings": [
    ...     "marker '1' at 1 s kept (and 25 more like it) | baseline is 30 s", ""]})
    >>> print(warnings_text(SimpleNamespace(recordings=rows)))
    warnings in a:
      marker '1' at 1 s kept (and 25 more like it)
      baseline is 30 s
    """
    lines = []
    for row in batch.recordings.itertuples():
        text = getattr(row, "warnings", "")
        warnings = [w for w in text.split(" | ") if w] if isinstance(text, str) else []
        if warnings:
            lines.append(f"warnings in {row.recording}:")
            lines.extend(f"  {warning}" for warning in warnings)
    return "\n".join(lines)


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


def _run_inspect(args: argparse.Namespace) -> int:
    import json

    from rapheunit.io.inspect import inspect_file, inspect_text

    info = inspect_file(args.file, args.io)
    print(json.dumps(info, indent=2, default=str) if args.json else inspect_text(info))
    return EXIT_OK


def _run_rules(args: argparse.Namespace) -> int:
    from rapheunit.measures.classify import RULE_SETS, get_rule_set, load_rule_config

    config = load_rule_config(args.rules) if args.rules else {}
    names = [*RULE_SETS, *config.get("rule_sets", {})]
    print("\n\n".join(get_rule_set(name, config=config).describe() for name in names))
    return EXIT_OK


def _run_curate(args: argparse.Namespace) -> int:
    from rapheunit.core.curation import add_decision

    action, values = curate_values(args)
    decision = add_decision(
        args.results, args.target, action, args.reason,
        author=args.author, curation=args.file, **values,
    )
    print(f"curation recorded: {decision.note} ({decision.author}, {decision.date})")
    return EXIT_OK
