"""Batch throughput of ``rapheunit analyze`` (run by hand; not a test).

Simulates N recordings (default 200, one hour each, 1-3 units firing 0.5-20 Hz),
then runs the analysis with ``--jobs 1`` and ``--jobs 2``, with and without
reports, and prints wall time per recording, recordings/min, spikes/s and the
parallel speed-up. Every configuration runs in a fresh subprocess so that
imports and caches are counted the same way for each.

    .venv/bin/python benchmarks/bench_batch.py                 # 200 x 1 h, CSV inputs
    .venv/bin/python benchmarks/bench_batch.py --n 40 --format nix   # with waveforms
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rapheunit.simulate import CELL_TYPES, simulate_recording, write_recording

HOUR_S = 3600.0


def simulate_batch(folder: Path, n_recordings: int, fmt: str, seed: int) -> int:
    """Write ``n_recordings`` one-hour recordings; return the total number of spikes."""
    rng = np.random.default_rng(seed)
    names = sorted(CELL_TYPES)
    total_spikes = 0
    for index in range(n_recordings):
        cell_types = list(rng.choice(names, size=int(rng.integers(1, 4))))
        # Six doses every 180 s after a 300 s baseline leave ~45 min of tail: one hour in all.
        recording, truth = simulate_recording(
            f"bench{index:04d}",
            cell_types,
            seed=seed + index,
            dose_interval_s=180.0,
            with_waveforms=fmt == "nix",
        )
        write_recording(recording, truth, folder, fmt)
        total_spikes += sum(unit.n_spikes for unit in recording.units)
    return total_spikes


def run_analyze(inputs: Path, out: Path, jobs: int, reports: bool) -> float:
    """Wall time of one ``rapheunit analyze`` run in a fresh process."""
    command = [
        sys.executable,
        "-m",
        "rapheunit",
        "analyze",
        str(inputs),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        "--quiet",
    ]
    if not reports:
        command.append("--no-report")
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="recordings to simulate")
    parser.add_argument("--format", choices=("csv", "nix", "nwb"), default="csv")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-reports", action="store_true", help="only the runs without reports")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "inputs"
        folder.mkdir()
        started = time.perf_counter()
        n_spikes = simulate_batch(folder, args.n, args.format, args.seed)
        print(
            f"simulated {args.n} one-hour {args.format} recordings, {n_spikes:,} spikes "
            f"in {time.perf_counter() - started:.1f} s"
        )
        print(
            f"{'jobs':>4} {'reports':>7} {'wall s':>8} {'s/rec':>7} {'rec/s':>7} {'rec/min':>8} "
            f"{'spikes/s':>11}"
        )
        timings: dict[tuple[int, bool], float] = {}
        for reports in (False,) if args.skip_reports else (False, True):
            for jobs in (1, 2):
                wall = run_analyze(folder, Path(tmp) / f"out_{jobs}_{reports}", jobs, reports)
                timings[jobs, reports] = wall
                print(
                    f"{jobs:>4} {reports!s:>7} {wall:8.2f} {wall / args.n:7.3f} "
                    f"{args.n / wall:7.2f} {60 * args.n / wall:8.1f} {n_spikes / wall:11,.0f}"
                )
        for reports in sorted({r for _, r in timings}):
            speedup = timings[1, reports] / timings[2, reports]
            print(
                f"speed-up on 2 cores ({'with' if reports else 'without'} reports): {speedup:.2f}x"
            )


if __name__ == "__main__":
    main()
