"""The distribution functions equal scipy.stats', which they replace to start faster."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rapheunit.core import distributions


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_t_and_normal_tails_and_quantiles(rng: np.random.Generator) -> None:
    statistic = rng.normal(0.0, 3.0, 500)
    df = rng.integers(1, 60, 500).astype(float)
    probability = rng.uniform(0.001, 0.999, 500)
    np.testing.assert_allclose(distributions.t_sf(statistic, df), stats.t.sf(statistic, df),
                               rtol=1e-12)
    np.testing.assert_allclose(distributions.t_ppf(probability, df),
                               stats.t.ppf(probability, df), rtol=1e-12)
    np.testing.assert_allclose(distributions.f_ppf(probability, 1, df),
                               stats.f.ppf(probability, 1, df), rtol=1e-12)
    np.testing.assert_allclose(distributions.norm_sf(statistic), stats.norm.sf(statistic),
                               rtol=1e-12)


def test_poisson_cdf_including_a_zero_mean_and_missing_counts(rng: np.random.Generator) -> None:
    counts = rng.integers(-1, 40, 500).astype(float)
    means = rng.uniform(0.0, 25.0, 500)
    means[:40] = 0.0
    counts[:5] = np.nan
    np.testing.assert_allclose(distributions.poisson_cdf(counts, means),
                               stats.poisson.cdf(counts, means), rtol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 5, 30])
def test_linear_trend_is_linregress(rng: np.random.Generator, n: int) -> None:
    x = np.arange(n) * 0.5
    for y in (rng.normal(size=n), 2.0 * x + 1.0):
        expected = stats.linregress(x, y)
        slope, p = distributions.linear_trend(x, y)
        assert slope == pytest.approx(expected.slope, rel=1e-12, abs=1e-15)
        assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15)
    # a flat series has no trend (scipy leaves p undefined beyond two points)
    assert distributions.linear_trend(x, np.full(n, 3.0)) == (0.0, 1.0)
