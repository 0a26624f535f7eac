"""24 simulated recordings, no reports, 1 job: ``rapheunit analyze`` vs a plain neo + scipy script.

Run by hand (not a test). The recordings (NIX, NWB, CSV) are written by
``rapheunit simulate`` (seeds 0-4, five files each, one CSV left out: 24).
The peer is ``benchmarks/reference_script.py``, what a careful analyst
writes by hand. Target of issue #17: ratio <= 1.0.

    .venv/bin/python benchmarks/bench_reference.py --repeats 5 [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from whole_process import (
    PYTHON,
    analyze_command,
    emptied,
    keep_tables,
    paired,
    report,
    simulate_folders,
)

REFERENCE = Path(__file__).with_name("reference_script.py")


def simulated_24(folder: Path) -> Path:
    """Five ``rapheunit simulate`` folders less one CSV recording: 24 recordings."""
    simulate_folders(folder, range(5))
    last = folder / "seed4"
    for path in last.glob("drn05_burst_fast*"):
        path.unlink()
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="paired runs (>= 5)")
    parser.add_argument("--keep", type=Path, help="copy rapheunit's tables here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = simulated_24(Path(tmp) / "inputs")
        out = Path(tmp) / "out"
        ours = analyze_command([inputs], out, "--no-report", "--jobs", "1")
        peer = [PYTHON, str(REFERENCE), str(inputs), "--out", str(Path(tmp) / "reference.csv")]
        a, b = paired(ours, peer, args.repeats, before_each=lambda: emptied(out))
        report("rapheunit analyze (24 recordings, 1 job)", a, "reference_script.py", b)
        keep_tables(out, args.keep)


if __name__ == "__main__":
    main()
