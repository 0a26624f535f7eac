"""One option tree: every leaf is a CLI flag and an ``analyze()`` keyword of the same name."""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest

from rapheunit import analyze
from rapheunit.cli import build_parser, main, options_from_args
from rapheunit.core.errors import BadParameterError
from rapheunit.core.params import Leaf, leaves
from rapheunit.run.options import AnalysisOptions, options_with

# Flags of `analyze` that run the batch rather than set an analysis parameter.
RUNNING_FLAGS = {
    "--out", "--jobs", "--scheduler", "--resume", "--format", "--no-report", "--quiet",
    "--curation", "--no-curation",
    "--debug", "--help", "-h",
}
# A sensible non-default value for the leaves whose value cannot be made up from the type.
TEXT_VALUES = {
    "io": "NixIO",
    "rule_set": "firing_only",
    "select": "classification == 'non_5ht'",
    "group_by": "subtype",
    "raw_dtype": "int16",
    "group_reference": "control",
    "group_cell_class": "non_5ht",
}
ALL_LEAVES = list(leaves(AnalysisOptions()))


def _analyze_parser() -> argparse.ArgumentParser:
    commands = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    return commands.choices["analyze"]


def _cli_words(leaf: Leaf, tmp_path: Path) -> list[list[str]]:
    """Candidate command-line words for a non-default value of ``leaf``, best first."""
    default = leaf.default
    if leaf.name == "threshold":
        return [["max_rate_hz=3"]]
    if leaf.name == "rules":
        rules = tmp_path / "rules.toml"
        rules.write_text("[thresholds]\nmax_rate_hz = 3.0\n")
        return [[str(rules)]]
    if leaf.name == "marker_map":
        keys = tmp_path / "keys.toml"
        keys.write_text('1 = "ipsapirone 5 ug/kg"\n')
        return [[str(keys)]]
    if leaf.name in ("doses", "metadata"):
        return [[str(tmp_path / f"{leaf.name}.csv")]]
    if leaf.name == "spike_channel":
        return [["Spikes"]]
    if leaf.param.choices is not None:
        return [[str(next(c for c in leaf.param.choices if c != default))]]
    if isinstance(default, bool):
        return [[]]
    if isinstance(default, tuple):
        low, high = default
        return [[str(low), str(high * 0.9)], [str(low * 1.1 + 0.1), str(high)]]
    if leaf.name in TEXT_VALUES:
        return [[TEXT_VALUES[leaf.name]]]
    if default is None:
        return [["3"], ["0.5"]]
    if isinstance(default, int):
        return [[str(default + 1)], [str(max(default - 1, 1))]]
    candidates = (default * 0.9, default * 1.1, default * 2.0, default + 1.0, 0.001, 0.5)
    return [[repr(value)] for value in candidates if value != default]


def _python_value(leaf: Leaf, words: list[str]) -> Any:
    """What the same value is in Python: the field's own type."""
    if leaf.param.repeatable:
        return leaf.param.parse(words) if leaf.param.parse else tuple(words)
    if leaf.param.parse is not None:
        return leaf.param.parse(words[0])
    if isinstance(leaf.default, bool):
        return not leaf.default
    if isinstance(leaf.default, tuple):
        return tuple(float(word) for word in words)
    if isinstance(leaf.default, int) or (leaf.default is None and "int" in str(leaf.kind)):
        return int(words[0])
    if isinstance(leaf.default, float) or "float" in str(leaf.kind):
        return float(words[0])
    return words[0]


def _valid_words(leaf: Leaf, tmp_path: Path) -> tuple[list[str], AnalysisOptions]:
    for words in _cli_words(leaf, tmp_path):
        try:
            return words, options_with(AnalysisOptions(), **{leaf.name: _python_value(leaf, words)})
        except BadParameterError:
            continue
    raise AssertionError(f"no valid non-default value found for {leaf.name}")


def test_every_leaf_has_a_unique_public_name() -> None:
    names = [leaf.name for leaf in ALL_LEAVES]
    assert len(names) == len(set(names))
    assert len(names) > 60  # the tree reaches every stage's settings


def test_the_cli_offers_exactly_the_leaves() -> None:
    flags = {
        option
        for action in _analyze_parser()._actions
        for option in action.option_strings
    }
    assert flags - RUNNING_FLAGS == {leaf.flag for leaf in ALL_LEAVES}


@pytest.mark.parametrize("leaf", ALL_LEAVES, ids=[leaf.name for leaf in ALL_LEAVES])
def test_cli_flag_and_python_keyword_give_the_same_options(leaf: Leaf, tmp_path: Path) -> None:
    words, from_python = _valid_words(leaf, tmp_path)
    assert from_python != AnalysisOptions()  # the value really differs from the default
    args = build_parser().parse_args(["analyze", "in.csv", "--out", "o", leaf.flag, *words])
    assert options_from_args(args) == from_python


def test_an_empty_command_line_gives_the_defaults() -> None:
    args = build_parser().parse_args(["analyze", "in.csv", "--out", "o"])
    assert options_from_args(args) == AnalysisOptions()


def test_nested_settings_are_reached_from_python() -> None:
    options = options_with(AnalysisOptions(), threshold_mad=6.0, group_confidence=0.9)
    assert options.load.detection.params.threshold_mad == 6.0
    assert options.groups.confidence == 0.9
    assert options.fit.confidence == AnalysisOptions().fit.confidence


def test_analyze_accepts_every_cli_name(tmp_path: Path) -> None:
    table = tmp_path / "cell.csv"
    table.write_text("unit,time_s\nu,1\nu,3\n")
    batch = analyze(table, threshold_mad=6.0, timecourse_bin_s=30.0, warn_presence_ratio=0.95)
    parameters = batch.params["parameters"]
    assert parameters["load"]["detection"]["params"]["threshold_mad"] == 6.0
    assert parameters["timecourse"]["bin_s"] == 30.0
    assert parameters["qc"]["warn_presence_ratio"] == 0.95


def test_an_unknown_name_suggests_the_close_one() -> None:
    with pytest.raises(BadParameterError, match="did you mean 'threshold_mad'"):
        options_with(AnalysisOptions(), threshold_mads=6.0)


def test_a_bad_value_gets_one_message_from_the_cli_and_from_python(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(BadParameterError) as raised:
        options_with(AnalysisOptions(), baseline_s=-5.0)
    code = main(["analyze", str(tmp_path), "--out", str(tmp_path / "o"), "--baseline-s", "-5"])
    assert code == 2
    assert str(raised.value) in capsys.readouterr().err


def test_params_json_keeps_every_group() -> None:
    groups = {f.name for f in dataclasses.fields(AnalysisOptions())}
    assert set(AnalysisOptions().as_dict()) == groups
    assert math.isclose(AnalysisOptions().as_dict()["groups"]["confidence"], 0.95)
