"""Compare the result tables of two runs: identical bytes, or how far each column moved.

Used before and after an optimisation (run by hand; not a test): the tables
of ``--keep DIR`` of a benchmark, or two ``--out`` folders. ``params.json``
(package versions) and the reports (a timestamp) are not compared.

    .venv/bin/python benchmarks/compare_tables.py BEFORE_DIR AFTER_DIR
"""

from __future__ import annotations

import argparse
import filecmp
from pathlib import Path

import numpy as np
import pandas as pd


def column_changes(before: pd.DataFrame, after: pd.DataFrame) -> list[str]:
    """One line per column that differs: largest relative change, or rows of changed text."""
    lines = []
    for column in before.columns:
        old, new = before[column], after[column]
        if old.dtype.kind == "f" and new.dtype.kind == "f":
            scale = np.maximum(np.abs(old.to_numpy()), np.finfo(float).tiny)
            relative = np.abs(new.to_numpy() - old.to_numpy()) / scale
            same_gaps = bool((old.isna() == new.isna()).all())
            largest = float(np.nanmax(relative, initial=0.0))
            if largest > 0 or not same_gaps:
                lines.append(f"  {column}: largest relative change {largest:.2e}, "
                             f"same missing values: {same_gaps}")
        elif not old.equals(new):
            lines.append(f"  {column}: {int((old != new).sum())} rows differ")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    for path in sorted(args.before.glob("*.csv")):
        other = args.after / path.name
        if not other.exists():
            print(f"{path.name}: missing after")
        elif filecmp.cmp(path, other, shallow=False):
            print(f"{path.name}: identical bytes")
        else:
            before, after = pd.read_csv(path), pd.read_csv(other)
            if list(before.columns) != list(after.columns) or len(before) != len(after):
                print(f"{path.name}: different columns or rows")
                continue
            print(f"{path.name}: differs")
            print("\n".join(column_changes(before, after)))


if __name__ == "__main__":
    main()
