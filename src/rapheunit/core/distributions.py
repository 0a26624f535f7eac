"""The few distribution functions the analysis needs, from :mod:`scipy.special`.

``scipy.stats`` builds ~100 distribution objects and their docstrings when imported
(about 0.5 s of CPU, more than the analysis of a recording); these functions are the same
special functions that ``scipy.stats`` evaluates underneath, without that start-up cost.
tests/test_distributions.py checks each against ``scipy.stats``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

_TINY = 1e-20


def t_sf(statistic: ArrayLike, df: ArrayLike) -> np.ndarray:
    """Upper tail of Student's t: ``scipy.stats.t.sf(statistic, df)``.

    Examples
    --------
    >>> round(float(t_sf(2.0, 10)), 6)
    0.036694
    """
    from scipy import special

    return special.stdtr(df, -np.asarray(statistic, dtype=np.float64))


def t_ppf(probability: ArrayLike, df: ArrayLike) -> np.ndarray:
    """Quantile of Student's t: ``scipy.stats.t.ppf(probability, df)``.

    Examples
    --------
    >>> round(float(t_ppf(0.975, 10)), 6)
    2.228139
    """
    from scipy import special

    return special.stdtrit(df, probability)


def f_ppf(probability: ArrayLike, dfn: ArrayLike, dfd: ArrayLike) -> np.ndarray:
    """Quantile of the F distribution: ``scipy.stats.f.ppf(probability, dfn, dfd)``.

    Examples
    --------
    >>> round(float(f_ppf(0.95, 1, 10)), 6)
    4.964603
    """
    from scipy import special

    return special.fdtri(dfn, dfd, probability)


def norm_sf(z: ArrayLike) -> np.ndarray:
    """Upper tail of the standard normal: ``scipy.stats.norm.sf(z)``.

    Examples
    --------
    >>> round(float(norm_sf(1.96)), 6)
    0.024998
    """
    from scipy import special

    return special.ndtr(-np.asarray(z, dtype=np.float64))


def poisson_cdf(count: ArrayLike, mean: ArrayLike) -> np.ndarray:
    """P(X <= count) for X ~ Poisson(mean): ``scipy.stats.poisson.cdf(count, mean)``.

    Examples
    --------
    >>> round(float(poisson_cdf(2, 5.0)), 6)
    0.124652
    """
    from scipy import special

    count = np.floor(np.asarray(count, dtype=np.float64))
    mean = np.asarray(mean, dtype=np.float64)
    # pdtr is the regularised upper incomplete gamma Q(count + 1, mean); a mean of 0 puts
    # all the mass at 0, and a negative count has none.
    with np.errstate(invalid="ignore"):
        cdf = special.pdtr(np.maximum(count, 0.0), mean)
    cdf = np.where(mean == 0, np.where(count >= 0, 1.0, 0.0), cdf)
    return np.where(np.isnan(count) | np.isnan(mean), np.nan, np.where(count < 0, 0.0, cdf))


def linear_trend(x: ArrayLike, y: ArrayLike) -> tuple[float, float]:
    """Least-squares slope of ``y`` on ``x`` and the two-sided p of the t test that it is 0.

    As ``scipy.stats.linregress`` gives them (``slope``, ``pvalue``); needs 2 or more
    distinct ``x``. A flat ``y`` has no trend: p is 1. With two points the line fits
    exactly: p is 0.

    Examples
    --------
    >>> slope, p = linear_trend([0.0, 1.0, 2.0, 3.0], [1.0, 2.1, 2.9, 4.0])
    >>> round(slope, 6), p < 0.01
    (0.98, True)
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    sxx, sxy, _, syy = np.cov(x, y, bias=True).flat
    slope = float(sxy / sxx)
    if syy == 0:
        return slope, 1.0
    if x.size == 2:
        return slope, 0.0
    r = min(max(sxy / np.sqrt(sxx * syy), -1.0), 1.0)
    df = x.size - 2
    # a perfect fit (|r| = 1) gives an infinite t: the small constant keeps it finite
    statistic = r * np.sqrt(df / ((1.0 - r + _TINY) * (1.0 + r + _TINY)))
    return slope, float(2.0 * t_sf(abs(statistic), df))
