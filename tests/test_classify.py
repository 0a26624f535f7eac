"""Rule sets, criteria at their boundaries, verdicts, configs and pharmacological confirmation."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rapheunit.core.errors import BadParameterError, UnreadableFileError
from rapheunit.core.model import Recording, Unit
from rapheunit.measures.classify import (
    ROW_COLUMNS,
    RULE_SETS,
    RuleSet,
    UnitClassification,
    classify_recording,
    classify_unit,
    get_rule_set,
    load_rule_config,
    pharmacological_confirmation,
    register_rule_set,
)
from rapheunit.measures.features import FiringFeatures
from rapheunit.measures.waveform import WaveformFeatures
from rapheunit.simulate import simulate_recording

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
SPIKE2_FILE = REALDATA / "spike2" / "Extracellular_Spikes.smr"
CLASSIC = get_rule_set("aghajanian_classic").thresholds
CELL_TYPES = ("5ht_clock", "5ht_burst", "fast_irregular", "fast_regular", "slow_irregular")
ISSUE_COLUMNS = (
    "classification",
    "subtype",
    "rule_set",
    "rate_criterion",
    "regularity_criterion",
    "waveform_criterion",
    "cv_isi",
    "cv_isi_nonburst",
    "cv2",
    "lv",
    "lvr",
    "burst_fraction",
    "waveform_duration_ms",
    "peak_to_trough_ms",
    "half_width_ms",
    "waveform_snr",
    "pharmacological_confirmation",
)


def firing(**changes: float) -> FiringFeatures:
    """Features of a slow clock-like unit, with ``changes`` applied."""
    clock = FiringFeatures(
        start_s=0.0,
        stop_s=300.0,
        rate_hz=1.2,
        n_spikes=360,
        n_isis=359,
        n_nonburst_isis=359,
        cv_isi=0.2,
        cv_isi_nonburst=0.2,
        cv2=0.25,
        lv=0.1,
        lvr=0.12,
        burst_fraction=0.0,
        mean_spikes_per_burst=math.nan,
        n_bursts=0,
    )
    return replace(clock, **changes)


def waveform(duration_ms: float = 2.2) -> WaveformFeatures:
    return WaveformFeatures(
        waveform_duration_ms=duration_ms,
        half_width_ms=0.5,
        peak_to_trough_ms=0.9,
        first_phase_ms=0.3,
    )


@pytest.fixture
def restore_registry() -> Iterator[None]:
    saved = dict(RULE_SETS)
    yield
    RULE_SETS.clear()
    RULE_SETS.update(saved)


def test_classic_thresholds_follow_the_literature() -> None:
    assert (CLASSIC["min_rate_hz"], CLASSIC["max_rate_hz"]) == (0.5, 2.5)
    assert CLASSIC["max_regularity"] == 0.5 and CLASSIC["min_waveform_ms"] == 1.5
    classic = RULE_SETS["aghajanian_classic"]
    assert classic.requires_waveform and classic.regularity_measure == "cv_isi_nonburst"
    assert classic.waveform_measure == "waveform_duration_ms"
    assert any("Aghajanian" in source for source in classic.sources)
    assert not RULE_SETS["firing_only"].requires_waveform
    assert "min_waveform_ms = 1.5 ms" in classic.describe()
    assert "min_waveform_ms" not in RULE_SETS["firing_only"].describe()


@pytest.mark.parametrize(
    ("rate_hz", "status"),
    [
        (CLASSIC["min_rate_hz"], "pass"),
        (CLASSIC["max_rate_hz"], "pass"),
        (np.nextafter(CLASSIC["min_rate_hz"], 0.0), "fail"),
        (np.nextafter(CLASSIC["max_rate_hz"], np.inf), "fail"),
    ],
)
def test_rate_criterion_boundaries(rate_hz: float, status: str) -> None:
    result = classify_unit(firing(rate_hz=rate_hz), waveform())
    assert result.criterion("rate").status == status
    assert result.classification == ("putative_5ht" if status == "pass" else "non_5ht")
    assert result.criterion("rate").threshold == "0.5-2.5 Hz"


@pytest.mark.parametrize(
    ("cv", "status"),
    [(CLASSIC["max_regularity"], "fail"), (np.nextafter(CLASSIC["max_regularity"], 0.0), "pass")],
)
def test_regularity_criterion_boundary_is_strict(cv: float, status: str) -> None:
    result = classify_unit(firing(cv_isi_nonburst=cv), waveform())
    assert result.criterion("regularity").status == status
    assert result.criterion("regularity").measure == "cv_isi_nonburst"


def test_regularity_uses_the_burst_removed_cv() -> None:
    doublets = firing(cv_isi=0.9, cv_isi_nonburst=0.2, burst_fraction=0.4)
    result = classify_unit(doublets, waveform())
    assert (result.classification, result.subtype) == ("putative_5ht", "burst_firing")


@pytest.mark.parametrize(
    ("duration_ms", "status"),
    [(CLASSIC["min_waveform_ms"], "pass"), (np.nextafter(CLASSIC["min_waveform_ms"], 0), "fail")],
)
def test_waveform_criterion_boundary(duration_ms: float, status: str) -> None:
    result = classify_unit(firing(), waveform(duration_ms))
    assert result.criterion("waveform").status == status
    assert result.rule_set == "aghajanian_classic"


@pytest.mark.parametrize(
    ("n_spikes", "classification"),
    [
        (int(CLASSIC["min_spikes"]), "putative_5ht"),
        (int(CLASSIC["min_spikes"]) - 1, "unclassified"),
    ],
)
def test_spike_count_boundary(n_spikes: int, classification: str) -> None:
    result = classify_unit(firing(n_spikes=n_spikes), waveform())
    assert result.classification == classification
    if classification == "unclassified":
        assert result.subtype == "na" and "too few" in result.reasons


def test_burst_fraction_boundary_sets_subtype() -> None:
    at = classify_unit(firing(burst_fraction=CLASSIC["min_burst_fraction"]), waveform())
    below = classify_unit(
        firing(burst_fraction=np.nextafter(CLASSIC["min_burst_fraction"], 0.0)), waveform()
    )
    assert (at.subtype, below.subtype) == ("burst_firing", "clock_like")


@pytest.mark.parametrize(
    ("changes", "duration_ms", "subtype"),
    [
        ({"rate_hz": 12.0, "cv_isi_nonburst": 0.3}, 1.0, "fast_firing"),
        ({"rate_hz": 12.0, "cv_isi_nonburst": 0.9}, 1.0, "fast_firing"),
        ({"cv_isi_nonburst": 0.9}, 1.1, "slow_irregular"),
        ({"rate_hz": 0.2, "cv_isi_nonburst": 0.9}, 2.2, "slow_irregular"),
        ({}, 1.0, "other"),
    ],
)
def test_non_5ht_subtypes(changes: dict[str, float], duration_ms: float, subtype: str) -> None:
    result = classify_unit(firing(**changes), waveform(duration_ms))
    assert (result.classification, result.subtype) == ("non_5ht", subtype)


def test_default_dispatches_on_waveform_presence() -> None:
    assert classify_unit(firing(), waveform()).rule_set == "aghajanian_classic"
    assert classify_unit(firing(), None).rule_set == "firing_only"
    unmeasured = WaveformFeatures(reasons={"waveform_duration_ms": "no waveforms"})
    without = classify_unit(firing(), unmeasured)
    assert without.rule_set == "firing_only"
    assert without.criterion("waveform").status == "na"
    assert without.classification == "putative_5ht"


def test_explicit_waveform_rules_without_waveform() -> None:
    missing = classify_unit(firing(), None, rule_set="aghajanian_classic")
    assert missing.classification == "unclassified"
    assert missing.criterion("waveform").status == "na"
    fast = classify_unit(firing(rate_hz=10.0), None, rule_set="aghajanian_classic")
    assert fast.classification == "non_5ht"  # one failed rule settles it


def test_nan_regularity_is_unclassified_with_reason() -> None:
    features = firing(cv_isi_nonburst=math.nan, reasons={"cv_isi_nonburst": "needs >= 2 ISIs"})
    result = classify_unit(features, waveform())
    assert result.classification == "unclassified"
    assert "needs >= 2 ISIs" in result.criterion("regularity").reason


def test_overrides_change_the_verdict() -> None:
    fast_ish = firing(rate_hz=2.8)
    assert classify_unit(fast_ish, waveform()).classification == "non_5ht"
    relaxed = classify_unit(
        fast_ish, waveform(), rule_set="aghajanian_classic", overrides={"max_rate_hz": 3.0}
    )
    assert relaxed.classification == "putative_5ht"
    assert relaxed.criterion("rate").threshold == "0.5-3 Hz"
    assert get_rule_set("aghajanian_classic").thresholds["max_rate_hz"] == 2.5  # not mutated


def test_overrides_can_switch_the_measure() -> None:
    narrow_half_width = classify_unit(
        firing(),
        waveform(2.2),
        overrides={"waveform_measure": "half_width_ms", "min_waveform_ms": 0.6},
    )
    assert narrow_half_width.criterion("waveform").measure == "half_width_ms"
    assert narrow_half_width.classification == "non_5ht"


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"max_rate": 3.0}, "max_rate"),
        ({"max_rate_hz": -1.0}, "max_rate_hz"),
        ({"max_rate_hz": "fast"}, "max_rate_hz"),
        ({"max_rate_hz": True}, "max_rate_hz"),
        ({"max_regularity": math.nan}, "max_regularity"),
        ({"min_spikes": 10.5}, "min_spikes"),
        ({"min_burst_fraction": 1.5}, "min_burst_fraction"),
        ({"min_rate_hz": 3.0}, "min_rate_hz"),
        ({"regularity_measure": "entropy"}, "regularity_measure"),
    ],
)
def test_bad_overrides_name_the_key(overrides: dict[str, object], key: str) -> None:
    with pytest.raises(BadParameterError, match=key):
        get_rule_set("aghajanian_classic", overrides=overrides)
    with pytest.raises(BadParameterError, match=key):
        classify_unit(firing(), waveform(), overrides=overrides)


def test_waveform_threshold_is_not_a_firing_only_key() -> None:
    with pytest.raises(BadParameterError, match="min_waveform_ms"):
        get_rule_set("firing_only", overrides={"min_waveform_ms": 1.0})
    # The dispatcher accepts it and applies it where it exists.
    assert classify_unit(firing(), None, overrides={"min_waveform_ms": 1.0}).rule_set == (
        "firing_only"
    )


def test_unknown_rule_set_and_default_lookup() -> None:
    with pytest.raises(BadParameterError, match="unknown rule set 'nope'"):
        classify_unit(firing(), waveform(), rule_set="nope")
    with pytest.raises(BadParameterError, match="default"):
        get_rule_set("default")


def test_register_custom_rule_set(restore_registry: None) -> None:
    custom = RuleSet(
        name="lvr_rules",
        description="LvR-based regularity",
        sources=("test",),
        thresholds={
            "min_spikes": 10,
            "min_rate_hz": 0.1,
            "max_rate_hz": 5.0,
            "max_regularity": 0.5,
            "min_burst_fraction": 0.1,
        },
        requires_waveform=False,
        regularity_measure="lvr",
    )
    register_rule_set(custom)
    result = classify_unit(firing(rate_hz=4.0, lvr=0.7), None, rule_set="lvr_rules")
    assert result.rule_set == "lvr_rules"
    assert result.criterion("regularity").measure == "lvr"
    assert result.classification == "non_5ht" and result.subtype == "slow_irregular"
    with pytest.raises(BadParameterError, match="already exists"):
        register_rule_set(custom)
    with pytest.raises(BadParameterError, match="reserved"):
        register_rule_set(replace(custom, name="default"))


def test_rule_set_definition_is_validated() -> None:
    with pytest.raises(BadParameterError, match="missing threshold 'min_waveform_ms'"):
        replace(RULE_SETS["firing_only"], requires_waveform=True)
    with pytest.raises(BadParameterError, match="needs requires_waveform"):
        replace(RULE_SETS["aghajanian_classic"], requires_waveform=False)


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_toml_config_overrides_and_new_rule_set(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
rule_set = "lab"

[thresholds]
max_rate_hz = 3.0

[rule_sets.lab]
base = "aghajanian_classic"
description = "lab rules"
sources = ["lab notebook"]
thresholds = { min_waveform_ms = 1.0 }
""",
    )
    config = load_rule_config(path)
    lab = get_rule_set("lab", config=config)
    assert lab.thresholds["min_waveform_ms"] == 1.0 and lab.thresholds["max_rate_hz"] == 3.0
    assert lab.sources == ("lab notebook",)
    result = classify_unit(firing(rate_hz=2.8), waveform(1.2), config=config)
    assert (result.rule_set, result.classification) == ("lab", "putative_5ht")
    # Global thresholds reach firing_only too; min_waveform_ms would not apply there.
    assert get_rule_set("firing_only", config=config).thresholds["max_rate_hz"] == 3.0


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[thresholds]\nmax_rate = 3.0\n", "max_rate"),
        ("[thresholds]\nmax_rate_hz = -3.0\n", "max_rate_hz"),
        ("colour = 'blue'\n", "colour"),
        ("rule_set = 'nope'\n", "nope"),
        ("[rule_sets.x]\nbase = 'nope'\n", "nope"),
        ("[rule_sets.x]\ndescription = 'no base'\n", "requires_waveform"),
        ("[thresholds]\nwaveform_measure = 'width'\n", "waveform_measure"),
    ],
)
def test_bad_toml_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(BadParameterError, match=key) as raised:
        load_rule_config(path)
    assert raised.value.path == path


def test_unparseable_or_missing_toml(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError):
        load_rule_config(write_config(tmp_path, "max_rate_hz = = 3\n"))
    with pytest.raises(BadParameterError, match="not found"):
        load_rule_config(tmp_path / "absent.toml")


def dose_rows(pct: list[float], drugs: list[str] | None = None) -> pd.DataFrame:
    if drugs is None:
        drugs = ["ipsapirone"] * (len(pct) - 1) + ["WAY-100635"]
    return pd.DataFrame(
        {
            "drug": drugs,
            "cumulative_dose": np.arange(1.0, len(pct) + 1),
            "rate_hz": np.asarray(pct) / 100.0,
            "pct_baseline": pct,
            "injection_time_s": 300.0 + 180.0 * np.arange(len(pct)),
            "window_start_s": 360.0 + 180.0 * np.arange(len(pct)),
            "window_stop_s": 480.0 + 180.0 * np.arange(len(pct)),
        }
    )


# The documented definition of recovery: firing back to half of baseline (Forster et al. 1995).
RECOVERED_PCT = 50.0
# The documented response to the agonist: >= 80 % inhibition (Sprouse & Aghajanian 1987).
AGONIST_RESPONSE_INHIBITION_PCT = 80.0


@pytest.mark.parametrize(
    ("pct", "expected"),
    [
        ([60.0, 100.0 - AGONIST_RESPONSE_INHIBITION_PCT, RECOVERED_PCT], "confirmed"),
        ([60.0, 100.0 - AGONIST_RESPONSE_INHIBITION_PCT + 0.1, 95.0], "not_confirmed"),
        ([40.0, 0.0, RECOVERED_PCT - 0.1], "not_confirmed"),
    ],
)
def test_pharmacological_confirmation_thresholds(pct: list[float], expected: str) -> None:
    assert pharmacological_confirmation(dose_rows(pct)) == expected


def test_pharmacological_confirmation_needs_agonist_then_antagonist() -> None:
    assert pharmacological_confirmation(dose_rows([50.0, 5.0], ["ipsa", "ipsa"])) == "na"
    # An agonist that fails to inhibit settles it without an antagonist.
    assert pharmacological_confirmation(dose_rows([90.0, 60.0], ["ipsa", "ipsa"])) == (
        "not_confirmed"
    )
    assert pharmacological_confirmation(dose_rows([100.0, 90.0], ["saline", "WAY"])) == "na"
    antagonist_first = dose_rows([100.0, 5.0], ["WAY-100635", "8-OH-DPAT"])  # then nothing
    assert pharmacological_confirmation(antagonist_first) == "na"
    assert pharmacological_confirmation(dose_rows([], [])) == "na"
    with pytest.raises(BadParameterError, match="pct_baseline"):
        pharmacological_confirmation(dose_rows([5.0, 90.0]).drop(columns="pct_baseline"))


def test_as_row_has_the_issue_columns() -> None:
    row = classify_unit(firing(), waveform()).as_row()
    assert set(ISSUE_COLUMNS) <= set(row) and tuple(row) == ROW_COLUMNS
    assert row["classification_reasons"].startswith("360 spikes >= 30")
    assert "rate 1.2 Hz in 0.5-2.5 Hz" in row["classification_reasons"]
    assert row["pharmacological_confirmation"] == "na"


def clock_unit(unit_id: str, n_spikes: int, start: float = 0.0) -> Unit:
    return Unit(unit_id, start + np.arange(n_spikes, dtype=float))


def test_classify_recording_with_short_units_and_dose_rows() -> None:
    units = [
        clock_unit("u0", 0),
        clock_unit("u1", 1),
        clock_unit("u2", 2),
        clock_unit("clock", 600),
    ]
    recording = Recording("r", Path("r.csv"), 0.0, 600.0, units)
    rows = dose_rows([20.0, 2.0, 90.0]).assign(unit="clock")
    result = classify_recording(recording, baseline=(0.0, 300.0), dose_rows=rows)
    table = result.table.set_index("unit")
    assert list(result.table.columns) == ["unit", *ROW_COLUMNS]
    assert list(table.loc[["u0", "u1", "u2"], "classification"]) == ["unclassified"] * 3
    assert np.isnan(table.loc["u1", "cv_isi"])
    assert table.loc["clock", "classification"] == "putative_5ht"
    assert table.loc["clock", "baseline_n_spikes"] == 300
    assert table.loc["clock", "pharmacological_confirmation"] == "confirmed"
    assert table.loc["u0", "pharmacological_confirmation"] == "na"
    assert isinstance(result.units["clock"], UnitClassification)


def test_classify_recording_per_unit_baselines() -> None:
    units = [clock_unit("early", 100), clock_unit("late", 100, start=500.0)]
    recording = Recording("r", Path("r.csv"), 0.0, 600.0, units)
    result = classify_recording(recording, baseline={"early": (0.0, 100.0), "late": (500.0, 600.0)})
    assert set(result.table["classification"]) == {"putative_5ht"}
    with pytest.raises(BadParameterError, match="late"):
        classify_recording(recording, baseline={"early": (0.0, 100.0)})
    with pytest.raises(BadParameterError, match="start, stop"):
        classify_recording(recording, baseline=(0.0,))


def simulated_accuracy(with_waveforms: bool) -> tuple[float, float, set[str]]:
    correct_class, correct_subtype, rule_sets = [], [], set()
    for seed in range(20):
        recording, truth = simulate_recording(
            f"sim{seed}", CELL_TYPES, seed=seed, n_doses=1, with_waveforms=with_waveforms
        )
        first_injection = recording.injections[0].time_s
        result = classify_recording(recording, baseline=(first_injection - 300.0, first_injection))
        for unit_id, unit in result.units.items():
            expected = truth["units"][unit_id]
            correct_class.append(unit.classification == expected["expected_class"])
            correct_subtype.append(unit.subtype == expected["subtype"])
            rule_sets.add(unit.rule_set)
    return float(np.mean(correct_class)), float(np.mean(correct_subtype)), rule_sets


@pytest.mark.parametrize(
    ("with_waveforms", "rule_set"), [(True, "aghajanian_classic"), (False, "firing_only")]
)
def test_default_rules_on_simulated_recordings(with_waveforms: bool, rule_set: str) -> None:
    class_accuracy, subtype_accuracy, rule_sets = simulated_accuracy(with_waveforms)
    assert class_accuracy >= 0.95
    assert subtype_accuracy >= 0.95
    assert rule_sets == {rule_set}


@pytest.mark.realdata
@pytest.mark.skipif(not REALDATA.exists(), reason=f"real recordings not present at {REALDATA}")
def test_real_spike2_units_get_features_and_verdicts() -> None:
    import neo

    block = neo.io.Spike2IO(str(SPIKE2_FILE)).read_block(load_waveforms=True)
    units = []
    for train in block.segments[0].spiketrains:
        units.append(
            Unit(
                str(train.annotations["id"]),
                train.times.rescale("s").magnitude,
                train.waveforms.rescale("mV").magnitude[:, 0, :],
                float(train.sampling_rate.rescale("Hz").magnitude),
                "mV",
            )
        )
    recording = Recording("spikes", SPIKE2_FILE, 0.0, 119.95, units)
    result = classify_recording(recording, baseline=(0.0, 119.95))
    table = result.table.set_index("unit")
    assert len(table) == 5
    assert set(table["classification"]) <= {"putative_5ht", "non_5ht", "unclassified"}
    assert set(table["rule_set"]) == {"aghajanian_classic"}
    for unit in units:
        row = table.loc[unit.id]
        if unit.n_spikes < CLASSIC["min_spikes"]:
            assert row["classification"] == "unclassified"
        else:
            assert row["classification"] != "unclassified"
            assert np.isfinite(row["cv_isi_nonburst"])
        assert 0.5 < row["waveform_duration_ms"] < 5.0
        assert 0.0 < row["half_width_ms"] < row["waveform_duration_ms"]
        assert row["waveform_snr"] > 1.0
        assert result.units[unit.id].waveform.amplitude_units == "mV"
