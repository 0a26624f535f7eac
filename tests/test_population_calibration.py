"""Null calibration of the population tests with the few cells of a raphe study.

Data sets are simulated by the test with no drug effect: each unit's % of
baseline scatters around 100 with a unit-specific offset shared by its doses
(as a mis-estimated baseline gives), noise whose spread grows with dose (with
or without units that miss the top doses), or the ratio of Poisson spike
counts. Every data set goes through the public ``dose_statistics`` at once
(each is its own "drug"), and the rate at which the omnibus test, and the
Holm-corrected per-dose family, reject at 5 % must be 0.05 within three
binomial standard errors. The old mixed-model Wald tests rejected 0.11-0.20
of such nulls with four units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rapheunit.doseresponse.population import dose_statistics

ALPHA = 0.05
REPLICATES = 2000
CUMULATIVE = np.array([5.0, 10.0, 20.0, 40.0, 80.0, 160.0])
# Binomial standard error of a rejection rate of ALPHA over the replicates.
SE = np.sqrt(ALPHA * (1 - ALPHA) / REPLICATES)


def null_change(kind: str, n_units: int, rng: np.random.Generator) -> np.ndarray:
    """(replicates, units, doses) % of baseline - 100 with no drug effect."""
    shape = (REPLICATES, n_units, CUMULATIVE.size)
    if kind == "poisson":
        # rates of 0.5-2.5 Hz; 180 s of baseline and 60 s windows, counted as Poisson
        rate = rng.uniform(0.5, 2.5, (REPLICATES, n_units, 1))
        baseline = rng.poisson(rate * 180.0) / 180.0
        response = rng.poisson(np.broadcast_to(rate * 60.0, shape)) / 60.0
        return 100.0 * response / baseline - 100.0
    spread = np.full(CUMULATIVE.size, 10.0) if kind == "equal" else np.linspace(5, 30, 6)
    unit_offset = rng.normal(0.0, 8.0, (REPLICATES, n_units, 1))
    change = unit_offset + rng.normal(0.0, 1.0, shape) * spread
    if kind == "missing":  # growing spread, and 30 % of the units lack the two top doses
        change[rng.random((REPLICATES, n_units)) < 0.3, -2:] = np.nan
    return change


def as_dose_table(change: np.ndarray) -> pd.DataFrame:
    """One long dose table; each replicate is a drug of its own."""
    index = np.indices(change.shape).reshape(3, -1)
    return pd.DataFrame(
        {
            "recording": "sim",
            "unit": [f"u{unit}" for unit in index[1]],
            "drug": [f"null{replicate:05d}" for replicate in index[0]],
            "dose_unit": "ug/kg",
            "cumulative_dose": CUMULATIVE[index[2]],
            "injection_time_s": 300.0 + 180.0 * index[2],
            "rate_hz": 1.0,
            "pct_baseline": 100.0 + change.ravel(),
        }
    )


@pytest.mark.parametrize("n_units", [4, 8])
@pytest.mark.parametrize("kind", ["equal", "growing", "missing", "poisson"])
def test_null_false_positive_rate_is_nominal(kind: str, n_units: int) -> None:
    rng = np.random.default_rng(1000 * n_units + len(kind))
    table = as_dose_table(null_change(kind, n_units, rng)).dropna(subset=["pct_baseline"])
    result = dose_statistics(table)
    omnibus = result[result["test"] == "summary_measure_t"]
    per_dose = result[result["test"] == "paired_t"]
    assert len(omnibus) == REPLICATES
    omnibus_rate = np.mean(omnibus["p"] < ALPHA)
    family_rate = per_dose.groupby("drug")["p_holm"].min().lt(ALPHA).mean()
    print(f"{kind}, {n_units} units: omnibus {omnibus_rate:.4f}, Holm family {family_rate:.4f}")
    assert abs(omnibus_rate - ALPHA) <= 3 * SE
    # Holm holds the family-wise rate at or below ALPHA (below when doses correlate)
    assert family_rate <= ALPHA + 3 * SE


def test_tests_equal_textbook_t_tests_with_missing_doses() -> None:
    rng = np.random.default_rng(3)
    change = rng.normal(-20.0, 15.0, (1, 5, CUMULATIVE.size))
    change[0, 0, 4:] = np.nan  # a unit that missed the two top doses
    change[0, 3, 0] = np.nan
    table = as_dose_table(change).dropna(subset=["pct_baseline"])
    result = dose_statistics(table)
    per_dose = result[result["test"] == "paired_t"]
    values = change[0]
    for column, row in enumerate(per_dose.itertuples()):
        at_dose = values[:, column][np.isfinite(values[:, column])]
        expected = stats.ttest_1samp(at_dose, 0.0)
        assert row.statistic == pytest.approx(expected.statistic)
        assert row.p == pytest.approx(expected.pvalue)
        assert row.df == at_dose.size - 1 and row.n_units == at_dose.size
        assert row.estimate == pytest.approx(at_dose.mean())
    omnibus = result[result["test"] == "summary_measure_t"].iloc[0]
    expected = stats.ttest_1samp(np.nanmean(values, axis=1), 0.0)
    assert omnibus["statistic"] == pytest.approx(expected.statistic)
    assert omnibus["p"] == pytest.approx(expected.pvalue)
    assert omnibus["df"] == 4


def test_four_cells_give_the_t_test_p_not_a_wald_p() -> None:
    # the case: four cells whose values at one dose give p = 0.070 with t(3)
    pct = np.array([[80.0, 41.0], [95.0, 70.0], [90.0, 88.0], [85.0, 55.0]])
    change = (pct - 100.0)[None, :, :]
    table = as_dose_table(np.pad(change, ((0, 0), (0, 0), (0, 4)), constant_values=np.nan))
    result = dose_statistics(table.dropna(subset=["pct_baseline"]))
    row = result[(result["test"] == "paired_t") & (result["cumulative_dose"] == 10.0)].iloc[0]
    expected = stats.ttest_1samp(pct[:, 1] - 100.0, 0.0)
    assert row["p"] == pytest.approx(expected.pvalue) and row["df"] == 3
    assert row["p"] > 0.01
