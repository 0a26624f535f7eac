"""160 small recordings in 40 groups (``--metadata --group-by``) vs the same batch without groups.

Run by hand (not a test). Each recording (28 min, CSV with a dose sidecar)
holds one or two 5-HT units that ipsapirone inhibits with an ED50 that
differs between groups; each group has two animals of two recordings. Every
pair of the 40 groups is compared (780 pairs). Target of issue #17: ratio
<= 1.5.

    .venv/bin/python benchmarks/bench_groups.py --repeats 5 [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np
from whole_process import analyze_command, emptied, keep_tables, paired, report

from rapheunit.simulate import simulate_recording, write_recording

N_GROUPS = 40
ANIMALS_PER_GROUP = 2
RECORDINGS_PER_ANIMAL = 2
FIVE_HT = ("5ht_clock", "5ht_burst")


def simulate_groups(folder: Path, n_groups: int, seed: int) -> Path:
    """Write the recordings and their metadata table; the table's path."""
    rng = np.random.default_rng(seed)
    rows = []
    for group in range(n_groups):
        ed50 = 20.0 * 1.05**group  # a small, steady shift of potency across groups
        for animal in range(ANIMALS_PER_GROUP):
            for session in range(RECORDINGS_PER_ANIMAL):
                name = f"g{group:02d}a{animal}r{session}"
                cell_types = list(rng.choice(FIVE_HT, size=int(rng.integers(1, 3))))
                recording, truth = simulate_recording(
                    name,
                    cell_types,
                    seed=seed + len(rows),
                    with_waveforms=False,
                    ed50_ug_kg=[ed50] * len(cell_types),
                )
                write_recording(recording, truth, folder, "csv")
                rows.append({"recording": name, "animal": f"g{group:02d}a{animal}",
                             "group": f"G{group:02d}"})
    metadata = folder.parent / "metadata.csv"
    with metadata.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return metadata


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="paired runs (>= 5)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--groups", type=int, default=N_GROUPS, help="number of groups")
    parser.add_argument("--keep", type=Path, help="copy the tables of both runs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "inputs"
        inputs.mkdir()
        metadata = simulate_groups(inputs, args.groups, args.seed)
        outs = {"groups": Path(tmp) / "grouped", "plain": Path(tmp) / "plain"}
        common = ("--no-report", "--jobs", str(args.jobs))
        grouped = analyze_command(
            [inputs], outs["groups"], *common, "--metadata", str(metadata), "--group-by", "group"
        )
        plain = analyze_command([inputs], outs["plain"], *common)

        def empty_outputs() -> None:
            for out in outs.values():
                emptied(out)

        a, b = paired(grouped, plain, args.repeats, before_each=empty_outputs)
        n_pairs = args.groups * (args.groups - 1) // 2
        report(f"{args.groups} groups ({n_pairs} pairs)", a, "no groups", b)
        for label, out in outs.items():
            keep_tables(out, args.keep / label if args.keep else None)


if __name__ == "__main__":
    main()
