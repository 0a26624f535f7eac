"""Cost of the reports: the 24 simulated recordings with reports vs without, one job.

Run by hand (not a test). The reports' cost per recording is the difference
of the median CPU times divided by the number of recordings (1-3 units
each). Target of issue #17: <= 0.5 s of one core per recording.

    .venv/bin/python benchmarks/bench_reports.py --repeats 5
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench_reference import simulated_24
from whole_process import analyze_command, emptied, median_cpu, paired, report

N_RECORDINGS = 24


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="paired runs (>= 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = simulated_24(Path(tmp) / "inputs")
        outs = {"reports": Path(tmp) / "reports", "plain": Path(tmp) / "plain"}
        with_reports = analyze_command([inputs], outs["reports"], "--jobs", "1")
        without = analyze_command([inputs], outs["plain"], "--no-report", "--jobs", "1")

        def empty_outputs() -> None:
            for out in outs.values():
                emptied(out)

        a, b = paired(with_reports, without, args.repeats, before_each=empty_outputs)
        report("with reports (24 recordings)", a, "without reports", b)
        per_recording = (median_cpu(a) - median_cpu(b)) / N_RECORDINGS
        print(f"reports: {per_recording:.3f} s of CPU per recording")


if __name__ == "__main__":
    main()
