"""60 one-hour spike tables without reports: ``--jobs 2`` vs ``--jobs 1`` (parallel speed-up).

Run by hand (not a test) on a machine with 2 cores. The recordings (1-3
units of 0.5-20 Hz, CSV spike-time tables with dose sidecars) are simulated
as in ``bench_batch.py``. Target of issue #17: speed-up >= 1.7.

    .venv/bin/python benchmarks/bench_jobs.py --repeats 5 [--keep DIR]

It then measures the serial part S, what no number of jobs shortens, and
prints Amdahl's bound on the speed-up of two jobs, (S + P) / (S + P / 2),
where S + P is the ``--jobs 1`` run:

- the imports, as a whole process that only imports what the run imports
  before its first recording (the pipeline and the recordings' first-use
  modules), median of ``--repeats``;
- combining the recordings' results into the batch tables and writing them
  (``combine`` and ``write_outputs``, first-use imports included), each time
  in a fresh process after the recordings were analysed there, median of
  ``--repeats``.

S leaves out the smaller serial steps (finding the inputs, starting the pool,
receiving results), so the bound is, if anything, too generous.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench_batch import simulate_batch
from whole_process import (
    PYTHON,
    analyze_command,
    cores,
    emptied,
    keep_tables,
    median_wall,
    paired,
    report,
    run_timed,
)

# Run in a fresh process: analyse (untimed), then time combining and writing once.
COMBINE_AND_WRITE = """
import sys, tempfile, time
from pathlib import Path
from rapheunit.run.options import AnalysisOptions
from rapheunit.run.pipeline import analyze, combine, write_outputs
results = analyze(sys.argv[1], report=False, tables=False).results
for result in results:
    result.analysis = None  # as a batch with an output folder keeps them
import gc; gc.disable()  # as the console script, once the recordings are done
started = time.perf_counter()
batch = combine(results, AnalysisOptions())
write_outputs(batch, Path(tempfile.mkdtemp()))
print(time.perf_counter() - started)
"""


def import_command(inputs: Path) -> list[str]:
    """A process that imports what a run imports before its first recording, and stops."""
    from rapheunit.run.batch import first_use_imports

    modules = ["rapheunit.cli", "rapheunit.run.pipeline", *first_use_imports(sorted(
        inputs.iterdir()))]
    # As the console script: no garbage collection while importing, no interpreter teardown.
    imports = "import " + ", ".join(dict.fromkeys(modules))
    return [PYTHON, "-c", f"import gc; gc.disable(); {imports}; import os; os._exit(0)"]


def combine_and_write_s(inputs: Path) -> float:
    """Seconds of ``combine`` + ``write_outputs`` in a fresh process, imports on first use."""
    done = subprocess.run(
        [PYTHON, "-c", COMBINE_AND_WRITE, str(inputs)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def serial_part(inputs: Path, one_job_s: float, repeats: int) -> None:
    """Print the serial part of the ``--jobs 1`` run and Amdahl's bound for two jobs."""
    imports_s = median_wall([run_timed(import_command(inputs)) for _ in range(repeats)])
    combining_s = statistics.median(combine_and_write_s(inputs) for _ in range(repeats))
    serial_s = imports_s + combining_s
    parallel_s = one_job_s - serial_s
    bound = one_job_s / (serial_s + parallel_s / 2)
    print(
        f"serial part S = {serial_s:.2f} s: imports (whole process) {imports_s:.2f} s "
        f"+ combine and write {combining_s:.2f} s; P = {parallel_s:.2f} s"
    )
    print(f"Amdahl's bound for 2 jobs: (S + P) / (S + P/2) = {bound:.2f}; "
          f"1.7 needs S <= {0.3 * one_job_s / 1.7:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="recordings to simulate")
    parser.add_argument("--repeats", type=int, default=5, help="paired runs (>= 5)")
    parser.add_argument("--keep", type=Path, help="copy the tables of both runs here")
    args = parser.parse_args()
    print(f"{cores()} cores available")
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "inputs"
        inputs.mkdir()
        simulate_batch(inputs, args.n, "csv", seed=0)
        outs = {jobs: Path(tmp) / f"out{jobs}" for jobs in (1, 2)}
        commands = {
            jobs: analyze_command([inputs], out, "--no-report", "--jobs", str(jobs))
            for jobs, out in outs.items()
        }

        def empty_outputs() -> None:
            for out in outs.values():
                emptied(out)

        two, one = paired(commands[2], commands[1], args.repeats, before_each=empty_outputs)
        ratio = report("--jobs 2", two, "--jobs 1", one)
        print(f"speed-up of 2 jobs: {1.0 / ratio:.2f}")
        serial_part(inputs, median_wall(one), args.repeats)
        for jobs, out in outs.items():
            keep_tables(out, args.keep / f"jobs{jobs}" if args.keep else None)


if __name__ == "__main__":
    main()
