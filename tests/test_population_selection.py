"""Which units enter the population: lost and QC-failed units are left out, and counted.

The recording is written by the test: regular spike trains whose rate in each
epoch is set by the test, so each unit's % of baseline is counted here from
the spike times with the documented windows (baseline: the 180 s before the
first injection; a dose's response: the last 60 s before the next injection).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rapheunit
from rapheunit.cli import build_parser, options_from_args
from rapheunit.core.errors import BadParameterError
from rapheunit.doseresponse.selection import mark_population, select_population

BASELINE_HZ = 1.5
BASELINE_S, RESPONSE_S = 180.0, 60.0
# ipsapirone amounts (ug/kg) at 300, 480, ... s: cumulative 10, 20, 40, 80, 160
AMOUNTS = (10.0, 10.0, 20.0, 40.0, 80.0)
INJECTION_TIMES = 300.0 + 180.0 * np.arange(len(AMOUNTS))
WAY_TIME_S = INJECTION_TIMES[-1] + 180.0
END_S = WAY_TIME_S + 300.0
# % of baseline per dose, then after WAY-100635; "lost" falls silent at the
# third injection (cumulative 40 ug/kg) and never fires again.
FRACTIONS = {
    "a": (90.0, 75.0, 60.0, 40.0, 20.0, 95.0),
    "b": (85.0, 70.0, 50.0, 30.0, 10.0, 90.0),
    "c": (95.0, 80.0, 65.0, 45.0, 25.0, 100.0),
    "lost": (80.0, 60.0, 0.0, 0.0, 0.0, 0.0),
}


def regular_train(rng: np.random.Generator, fractions: tuple[float, ...]) -> np.ndarray:
    """Nearly regular spikes (CV ~0.05) at BASELINE_HZ x fraction in each epoch."""
    edges = np.array([0.0, *INJECTION_TIMES, WAY_TIME_S, END_S])
    rates = BASELINE_HZ * np.array([100.0, *fractions]) / 100.0
    spikes = []
    for start, stop, rate in zip(edges[:-1], edges[1:], rates, strict=True):
        if rate <= 0:
            continue
        period = 1.0 / rate
        times = np.arange(start + period / 2, stop, period)
        spikes.append(times + rng.normal(0.0, 0.05 * period, times.size))
    return np.sort(np.concatenate(spikes))


def write_experiment(folder: Path) -> dict[str, np.ndarray]:
    """One CSV recording with the four units and its dose table; returns the spike times."""
    rng = np.random.default_rng(7)
    trains = {unit: regular_train(rng, fractions) for unit, fractions in FRACTIONS.items()}
    rows = [pd.DataFrame({"unit": unit, "time_s": times}) for unit, times in trains.items()]
    pd.concat(rows).to_csv(folder / "exp.csv", index=False)
    schedule = pd.DataFrame(
        {
            "time_s": [*INJECTION_TIMES, WAY_TIME_S],
            "drug": ["ipsapirone"] * len(AMOUNTS) + ["WAY-100635"],
            "dose": [*AMOUNTS, 0.1],
            "unit": ["ug/kg"] * len(AMOUNTS) + ["mg/kg"],
        }
    )
    schedule.to_csv(folder / "exp.doses.csv", index=False)
    return trains


def pct_baseline(times: np.ndarray, dose_index: int) -> float:
    """% of baseline at a dose, counted from the spike times."""
    first = INJECTION_TIMES[0]
    baseline = np.count_nonzero((times >= first - BASELINE_S) & (times < first)) / BASELINE_S
    stop = ([*INJECTION_TIMES, WAY_TIME_S])[dose_index + 1]
    response = np.count_nonzero((times >= stop - RESPONSE_S) & (times < stop)) / RESPONSE_S
    return 100.0 * response / baseline


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    folder = tmp_path_factory.mktemp("lost_unit")
    return folder, write_experiment(folder)


def mean_at_40(batch: rapheunit.BatchResult) -> pd.Series:
    population = batch.population
    return population[
        (population["drug"] == "ipsapirone") & np.isclose(population["cumulative_dose"], 40.0)
    ].iloc[0]


def test_a_lost_unit_does_not_move_the_population_mean(experiment) -> None:
    folder, trains = experiment
    batch = rapheunit.analyze(folder, report=False)
    units = batch.units.set_index("unit")
    assert (units["classification"] == "putative_5ht").all(), "every unit must be picked"
    trusted = [pct_baseline(trains[unit], 2) for unit in ("a", "b", "c")]
    row = mean_at_40(batch)
    assert row["n_units"] == 3
    assert row["mean_pct_baseline"] == pytest.approx(np.mean(trusted), abs=1e-6)
    summary = batch.summary.iloc[0]
    counts = ["n_selected", "n_excluded", "n_excluded_unit_lost"]
    assert summary[counts].tolist() == [4, 1, 1]
    assert summary["n_excluded_possible_unit_loss"] == 1 and summary["n_excluded_qc_fail"] == 1
    assert summary["n_units"] == 3
    assert not units.loc["lost", "in_population"]
    assert set(units.loc["lost", "population_exclusion"].split(";")) >= {"unit_lost"}
    assert units.loc[["a", "b", "c"], "in_population"].all()
    assert (units.loc[["a", "b", "c"], "population_exclusion"] == "").all()


def test_the_pooled_fit_is_that_of_the_trusted_units_alone(experiment) -> None:
    folder, _ = experiment
    default = rapheunit.analyze(folder, report=False).summary.iloc[0]
    trusted_only = rapheunit.analyze(
        folder, report=False, select="unit != 'lost'", exclude=["none"]
    ).summary.iloc[0]
    assert default["pooled_ed50"] == pytest.approx(trusted_only["pooled_ed50"])
    assert default["ed50_median"] == pytest.approx(trusted_only["ed50_median"])


def test_exclude_none_keeps_every_selected_unit(experiment) -> None:
    folder, trains = experiment
    batch = rapheunit.analyze(folder, report=False, exclude=["none"])
    everyone = [pct_baseline(trains[unit], 2) for unit in FRACTIONS]
    row = mean_at_40(batch)
    assert row["n_units"] == 4
    assert row["mean_pct_baseline"] == pytest.approx(np.mean(everyone), abs=1e-6)
    assert batch.summary.iloc[0]["n_excluded"] == 0


def test_select_still_chooses_and_the_exclusions_stay(experiment) -> None:
    folder, _ = experiment
    batch = rapheunit.analyze(folder, report=False, select="unit != 'a'")
    summary = batch.summary.iloc[0]
    assert summary["n_selected"] == 3 and summary["n_excluded_unit_lost"] == 1
    assert summary["n_units"] == 2


def test_exclude_on_the_command_line_replaces_the_default_list() -> None:
    parser = build_parser()

    def exclusions(*flags: str) -> tuple[str, ...]:
        args = parser.parse_args(["analyze", "x", "--out", "o", *flags])
        return options_from_args(args).population.exclude

    assert exclusions("--exclude", "qc_fail") == ("qc_fail",)
    assert exclusions("--exclude", "none") == ()
    assert set(exclusions()) == {"unit_lost", "possible_unit_loss", "qc_fail"}
    with pytest.raises(SystemExit):
        parser.parse_args(["analyze", "x", "--out", "o", "--exclude", "bad_rule"])
    with pytest.raises(BadParameterError, match="bad_rule"):
        rapheunit.analyze([], exclude=["bad_rule"])


def test_rules_are_judged_per_unit_across_its_drug_rows() -> None:
    units = pd.DataFrame(
        {
            "recording": "r",
            "unit": ["a", "a", "b"],
            "drug": ["ipsapirone", "8-OH-DPAT", "ipsapirone"],
            "fit_status": ["ok", "unit_lost", "ok"],
            "qc_status": "pass",
            "possible_unit_loss": False,
        }
    )
    selection = select_population(units)
    assert selection.included["unit"].tolist() == ["b"]
    marked = mark_population(units, selection)
    assert marked["population_exclusion"].tolist() == ["unit_lost", "unit_lost", ""]


def test_a_rule_whose_column_is_missing_is_a_clear_error() -> None:
    units = pd.DataFrame({"recording": "r", "unit": ["a"], "fit_status": ["ok"]})
    with pytest.raises(BadParameterError, match="qc_fail"):
        select_population(units, exclude=["qc_fail"])
    assert select_population(units, exclude=["unit_lost"]).included["unit"].tolist() == ["a"]
