"""The batch fitter's point estimates do not depend on whether the ED50 interval is computed."""

from __future__ import annotations

import numpy as np
import pandas as pd


def test_point_estimates_without_the_interval_are_the_same() -> None:
    from rapheunit.doseresponse.fitter import fit_hill_batch

    rng = np.random.default_rng(3)
    dose = np.tile([5.0, 10.0, 20.0, 40.0, 80.0, 160.0], (40, 1))
    ed50 = rng.uniform(10.0, 150.0, (40, 1))
    pct = 100.0 / (1.0 + (dose / ed50) ** 1.5) + rng.normal(0.0, 5.0, dose.shape)
    full = fit_hill_batch(dose, pct)
    points = fit_hill_batch(dose, pct, interval=False)
    assert points["ed50_ci_low"].isna().all() and points["ed50_ci_high"].isna().all()
    assert full["ed50_ci_low"].notna().any()
    kept = [c for c in full.columns if c not in ("ed50_ci_low", "ed50_ci_high")]
    pd.testing.assert_frame_equal(points[kept], full[kept])


def test_rows_sharing_one_dose_schedule_are_fitted_as_each_alone() -> None:
    # bootstrap resamples of one schedule take a shortcut through the grid (one curve for all
    # rows); each row must get what it gets when fitted alone
    from rapheunit.doseresponse.fitter import fit_hill_batch

    rng = np.random.default_rng(8)
    dose = np.tile([5.0, 10.0, 20.0, 40.0, 80.0, 160.0, np.nan], (30, 1))
    ed50 = rng.uniform(3.0, 400.0, (30, 1))  # some beyond the doses: bounds
    pct = 100.0 / (1.0 + (dose / ed50) ** rng.uniform(0.7, 3.0, (30, 1)))
    pct = np.clip(pct + rng.normal(0.0, 6.0, dose.shape), 0.0, None)
    full_agonist = rng.random(30) < 0.5
    together = fit_hill_batch(dose, pct, full_agonist=full_agonist)
    alone = pd.concat([
        fit_hill_batch(dose[[row]], pct[[row]], full_agonist=full_agonist[[row]])
        for row in range(30)
    ], ignore_index=True)
    pd.testing.assert_frame_equal(together, alone, rtol=1e-9)
