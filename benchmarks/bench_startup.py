"""Start-up of the command line: ``rapheunit --help`` vs ``python -c "import numpy"``.

Run by hand (not a test). The two commands alternate, fresh processes each
time; the target of issue #17 is a ratio <= 3 (aim 1.5). ``rapheunit rules``
is timed in the same loop, against the same peer.

    .venv/bin/python benchmarks/bench_startup.py --repeats 9
"""

from __future__ import annotations

import argparse

from whole_process import PYTHON, RAPHEUNIT, paired, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="paired runs (>= 5)")
    args = parser.parse_args()
    numpy = [PYTHON, "-c", "import numpy"]
    for command in ("--help", "rules"):
        ours, peer = paired([*RAPHEUNIT, command], numpy, args.repeats)
        report(f"rapheunit {command}", ours, 'python -c "import numpy"', peer)


if __name__ == "__main__":
    main()
