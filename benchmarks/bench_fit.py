"""Benchmark: per-unit Hill fits with profile-likelihood CIs for many units on one core.

Builds a per-injection table of synthetic units (ED50 15-150 ug/kg, Hill slope
1-2, 5-7 doubling doses from 10 ug/kg, 5 % points of noise, then WAY-100635),
times :func:`rapheunit.doseresponse.unit_dose_response` end to end and
:func:`rapheunit.doseresponse.fit_hill_batch` alone, and prints units/s.

Run::

    .venv/bin/python benchmarks/bench_fit.py --units 10000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from rapheunit.doseresponse.fits import fit_hill_batch, hill_response, unit_dose_response

FIRST_DOSE_UG_KG = 10.0
DOSE_INTERVAL_S = 180.0
NOISE_SD_PCT = 5.0


def synthetic_doses(n_units: int, seed: int) -> pd.DataFrame:
    """Per-injection table of ``n_units`` units in the epochs format."""
    rng = np.random.default_rng(seed)
    n_doses = rng.integers(5, 8, n_units)
    log_ed50 = rng.uniform(np.log10(15.0), np.log10(150.0), n_units)
    slope = rng.uniform(1.0, 2.0, n_units)
    unit_index = np.repeat(np.arange(n_units), n_doses)
    position = np.concatenate([np.arange(count) for count in n_doses])
    cumulative = FIRST_DOSE_UG_KG * 2.0**position
    pct = hill_response(np.log10(cumulative), log_ed50[unit_index], slope[unit_index], 5.0)
    pct = np.clip(pct + rng.normal(0.0, NOISE_SD_PCT, pct.size), 0.0, None)
    agonist = pd.DataFrame(
        {
            "recording": "bench",
            "unit": unit_index.astype(str),
            "drug": "ipsapirone",
            "dose_unit": "ug/kg",
            "cumulative_dose": cumulative,
            "injection_time_s": DOSE_INTERVAL_S * position,
            "pct_baseline": pct,
        }
    )
    antagonist = pd.DataFrame(
        {
            "recording": "bench",
            "unit": np.arange(n_units).astype(str),
            "drug": "WAY-100635",
            "dose_unit": "ug/kg",
            "cumulative_dose": 100.0,
            "injection_time_s": DOSE_INTERVAL_S * n_doses,
            "pct_baseline": rng.uniform(80.0, 110.0, n_units),
        }
    )
    table = pd.concat([agonist, antagonist], ignore_index=True)
    table["rate_hz"] = 1.5 * table["pct_baseline"] / 100.0
    return table


def padded(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The agonist rows as NaN-padded (units, doses) arrays."""
    agonist = table[table["drug"] == "ipsapirone"]
    grouped = agonist.groupby("unit", sort=False)
    row = grouped.ngroup().to_numpy()
    column = grouped.cumcount().to_numpy()
    dose = np.full((row.max() + 1, column.max() + 1), np.nan)
    response = np.full_like(dose, np.nan)
    dose[row, column] = agonist["cumulative_dose"].to_numpy()
    response[row, column] = agonist["pct_baseline"].to_numpy()
    return dose, response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    table = synthetic_doses(args.units, args.seed)

    start = time.perf_counter()
    result = unit_dose_response(table)
    end_to_end_s = time.perf_counter() - start

    dose, response = padded(table)
    start = time.perf_counter()
    fit_hill_batch(dose, response)
    batch_s = time.perf_counter() - start

    statuses = result["fit_status"].value_counts().to_dict()
    print(f"units: {args.units}  statuses: {statuses}")
    print(f"unit_dose_response: {end_to_end_s:.2f} s  ({args.units / end_to_end_s:,.0f} units/s)")
    print(f"fit_hill_batch:     {batch_s:.2f} s  ({args.units / batch_s:,.0f} units/s)")


if __name__ == "__main__":
    main()
