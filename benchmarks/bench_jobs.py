"""60 one-hour spike tables without reports: ``--jobs 2`` vs ``--jobs 1`` (parallel speed-up).

Run by hand (not a test) on a machine with 2 cores. The recordings (1-3
units of 0.5-20 Hz, CSV spike-time tables with dose sidecars) are simulated
as in ``bench_batch.py``. Target of issue #17: speed-up >= 1.7.

    .venv/bin/python benchmarks/bench_jobs.py --repeats 5 [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench_batch import simulate_batch
from whole_process import analyze_command, cores, emptied, keep_tables, paired, report


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
        for jobs, out in outs.items():
            keep_tables(out, args.keep / f"jobs{jobs}" if args.keep else None)


if __name__ == "__main__":
    main()
