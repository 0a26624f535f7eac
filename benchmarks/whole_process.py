"""Shared tools of the whole-process benchmarks (run by hand; never in tests).

Each benchmark times two commands, rapheunit and its peer, in fresh
processes, alternating them (A B A B ...) so that a busy machine slows both
alike, and reports medians and their ratio. Wall time comes from
``time.perf_counter`` around ``subprocess.run``; CPU time of the child (user +
system) from ``resource.getrusage(RUSAGE_CHILDREN)`` before and after.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
RAPHEUNIT = [PYTHON, "-m", "rapheunit"]
# The tables compared before and after an optimisation; params.json holds versions and
# recordings.csv the analysis time of each input, so both are left out of the byte check.
TABLES = (
    "units.csv",
    "doses.csv",
    "summary.csv",
    "population.csv",
    "timecourse.csv",
    "timecourse_metrics.csv",
    "groups.csv",
)


@dataclass(frozen=True)
class Timing:
    """Wall and child CPU seconds of one process."""

    wall_s: float
    cpu_s: float


def run_timed(command: Sequence[str], cwd: Path | None = None) -> Timing:
    """Run ``command`` to completion (output discarded); its wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        list(command), cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(wall, cpu)


def paired(
    first: Sequence[str],
    second: Sequence[str],
    repeats: int,
    before_each: Callable[[], None] | None = None,
) -> tuple[list[Timing], list[Timing]]:
    """Time ``first`` and ``second`` alternately ``repeats`` times each (A B A B ...).

    ``before_each``, when given, is called before every pair (e.g. to empty
    the output folders so that no run resumes another's work); the outputs of
    the last pair are left in place.
    """
    timings: tuple[list[Timing], list[Timing]] = ([], [])
    for _ in range(repeats):
        if before_each is not None:
            before_each()
        for command, collected in zip((first, second), timings, strict=True):
            collected.append(run_timed(command))
    return timings


def median_wall(timings: Sequence[Timing]) -> float:
    """Median wall seconds."""
    return statistics.median(t.wall_s for t in timings)


def median_cpu(timings: Sequence[Timing]) -> float:
    """Median child CPU seconds."""
    return statistics.median(t.cpu_s for t in timings)


def report(label_a: str, a: Sequence[Timing], label_b: str, b: Sequence[Timing]) -> float:
    """Print the medians of both sides and return the ratio of median wall times a / b."""
    ratio = median_wall(a) / median_wall(b)
    for label, timings in ((label_a, a), (label_b, b)):
        walls = " ".join(f"{t.wall_s:.2f}" for t in timings)
        print(
            f"{label:<44} median wall {median_wall(timings):7.2f} s, "
            f"CPU {median_cpu(timings):7.2f} s  (runs: {walls})"
        )
    print(f"ratio {label_a} / {label_b}: {ratio:.2f}  (n = {len(a)} paired runs)")
    return ratio


def analyze_command(inputs: Sequence[Path | str], out: Path, *options: str) -> list[str]:
    """``rapheunit analyze INPUTS --out OUT --quiet OPTIONS``."""
    return [*RAPHEUNIT, "analyze", *map(str, inputs), "--out", str(out), "--quiet", *options]


def simulate_folders(folder: Path, seeds: Sequence[int]) -> list[Path]:
    """``rapheunit simulate`` once per seed into ``folder/seed<N>``; the folders made."""
    made = []
    for seed in seeds:
        target = folder / f"seed{seed}"
        subprocess.run(
            [*RAPHEUNIT, "simulate", str(target), "--seed", str(seed)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        made.append(target)
    return made


def emptied(folder: Path) -> None:
    """Remove ``folder`` and its content if it exists (no resume between runs)."""
    shutil.rmtree(folder, ignore_errors=True)


def keep_tables(out: Path, keep: Path | None) -> None:
    """Copy the result tables of ``out`` into ``keep`` (for byte-for-byte comparisons)."""
    if keep is None:
        return
    keep.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        if (out / name).exists():
            shutil.copyfile(out / name, keep / name)


def cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0))
