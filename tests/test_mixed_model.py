"""The random-intercept model of cells nested in animals, against textbook results.

Balanced designs have closed forms: the group effect's standard error is that of a two-sample
t test on the animal means, and the animal variance is (MSA - MSE) / n, truncated at 0. In
unbalanced designs the estimates are checked against an independent fit (statsmodels'
MixedLM) and the GLS formulas written out with dense matrices.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm

from rapheunit.doseresponse.mixed_model import (
    MIXED_MODEL_TEST,
    OLS_TEST,
    linear_model,
    linear_models,
)


def _balanced(rng: np.random.Generator, animal_sd: float, per_group: int = 3, cells: int = 4):
    animals = np.repeat(np.arange(2 * per_group), cells)
    group = (animals >= per_group).astype(float)
    values = (2.0 + 1.0 * group + rng.normal(0.0, animal_sd, 2 * per_group)[animals]
              + rng.normal(0.0, 1.0, animals.size))
    return values, np.column_stack([np.ones(values.size), group]), animals


@pytest.mark.parametrize("seed", range(8))
def test_balanced_design_matches_the_t_test_on_animal_means(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values, design, animals = _balanced(rng, animal_sd=1.5)
    means = np.array([values[animals == k].mean() for k in range(6)])
    pooled_var = (means[:3].var(ddof=1) + means[3:].var(ddof=1)) / 2.0
    fitted = linear_model(values, design, animals)
    assert fitted.test == MIXED_MODEL_TEST
    assert fitted.coefficients[1] == pytest.approx(means[3:].mean() - means[:3].mean())
    assert fitted.standard_error == pytest.approx(np.sqrt(pooled_var * 2.0 / 3.0), rel=1e-6)


@pytest.mark.parametrize("seed", range(12))
def test_animal_variance_is_zero_exactly_when_the_anova_estimate_is(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    values, design, animals = _balanced(rng, animal_sd=rng.choice([0.0, 0.4]))
    cells = 4
    means = np.array([values[animals == k].mean() for k in range(6)])
    group_means = np.repeat([means[:3].mean(), means[3:].mean()], 3)
    msa = cells * np.sum((means - group_means) ** 2) / (6 - 2)
    mse = np.sum((values - means[animals]) ** 2) / (values.size - 6)
    fitted = linear_model(values, design, animals)
    assert (fitted.note == "between-animal variance estimated at 0") == (msa <= mse)
    if msa <= mse:  # the model is ordinary least squares then
        residual = values - design @ fitted.coefficients
        sigma2 = residual @ residual / (values.size - 2)
        ols_se = np.sqrt(sigma2 * np.linalg.inv(design.T @ design)[1, 1])
        assert fitted.standard_error == pytest.approx(ols_se, rel=1e-9)


def _unbalanced(rng: np.random.Generator):
    n_animals = int(rng.integers(4, 9))
    counts = rng.integers(1, 7, n_animals)
    counts[0] = max(counts[0], 2)
    animals = np.repeat(np.arange(n_animals), counts)
    group = (np.arange(n_animals) >= n_animals // 2).astype(float)[animals]
    values = (1.0 + 0.5 * group + rng.normal(0.0, 2.5, n_animals)[animals]
              + rng.normal(0.0, 1.0, animals.size))
    return values, np.column_stack([np.ones(values.size), group]), animals


@pytest.mark.parametrize("seed", range(20))
def test_unbalanced_design_agrees_with_statsmodels_and_the_gls_formulas(seed: int) -> None:
    values, design, animals = _unbalanced(np.random.default_rng(200 + seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = sm.MixedLM(values, design, groups=animals).fit(reml=True,
                                                                   method=["powell", "lbfgs"])
    animal_var = float(np.asarray(reference.cov_re).ravel()[0])
    fitted = linear_model(values, design, animals)
    assert animal_var > 1e-6  # away from the 0 bound (the balanced tests cover it)
    # statsmodels stops at its optimiser's tolerance
    np.testing.assert_allclose(fitted.coefficients, reference.fe_params, rtol=1e-3, atol=1e-4)
    # GLS with V = scale (I + ratio Z Z') from statsmodels' variance estimates, written out
    membership = (animals[:, None] == np.unique(animals)[None, :]).astype(float)
    covariance = reference.scale * np.eye(values.size) + animal_var * membership @ membership.T
    precision = np.linalg.inv(covariance)
    information = design.T @ precision @ design
    gls = np.linalg.solve(information, design.T @ precision @ values)
    np.testing.assert_allclose(fitted.coefficients, gls, rtol=1e-3, atol=1e-4)
    assert fitted.standard_error == pytest.approx(np.sqrt(np.linalg.inv(information)[1, 1]),
                                                  rel=2e-3)


def test_one_value_per_animal_is_ordinary_least_squares() -> None:
    rng = np.random.default_rng(9)
    group = np.repeat([0.0, 1.0], 5)
    values = 3.0 + 2.0 * group + rng.normal(0.0, 1.0, 10)
    design = np.column_stack([np.ones(10), group])
    fitted = linear_model(values, design, np.arange(10))
    a, b = values[group == 0], values[group == 1]
    pooled_var = (a.var(ddof=1) + b.var(ddof=1)) / 2.0
    assert fitted.test == OLS_TEST
    assert fitted.coefficients.tolist() == pytest.approx([a.mean(), b.mean() - a.mean()])
    assert fitted.standard_error == pytest.approx(np.sqrt(pooled_var * (1 / 5 + 1 / 5)))


def test_too_few_values_or_a_singular_design_give_no_fit() -> None:
    design = np.column_stack([np.ones(3), np.ones(3)])  # the group is confounded
    assert linear_model(np.array([1.0, 2.0, 3.0]), design, np.arange(3)) is None
    assert linear_model(np.array([1.0, 2.0]), design[:2] * [1, 0] + [0, 1], np.arange(2)) is None


def test_problems_fitted_together_equal_each_fitted_alone() -> None:
    # padding to the largest problem's animals must not leak into the others; the answers
    # agree to the search's tolerance (rounding of the padded sums may move a comparison)
    rng = np.random.default_rng(5)
    problems = [_unbalanced(rng) for _ in range(6)]
    problems.insert(2, _balanced(rng, animal_sd=0.0))
    group = np.repeat([0.0, 1.0], 4)
    problems.insert(4, (rng.normal(size=8), np.column_stack([np.ones(8), group]), np.arange(8)))
    problems.append((np.array([1.0, 2.0]), np.ones((2, 2)), np.arange(2)))  # no fit
    together = linear_models(problems)
    for problem, joint in zip(problems, together, strict=True):
        alone = linear_models([problem])[0]
        if alone is None:
            assert joint is None
            continue
        assert (joint.test, joint.note) == (alone.test, alone.note)
        np.testing.assert_allclose(joint.coefficients, alone.coefficients, rtol=1e-7)
        assert joint.standard_error == pytest.approx(alone.standard_error, rel=1e-7)
