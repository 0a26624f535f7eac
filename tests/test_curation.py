"""The analyst's decisions: each kind changes exactly what it says, and nothing else."""

from __future__ import annotations

import getpass
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rapheunit.cli import main
from rapheunit.core.curation import Decision, read_curation, write_curation
from rapheunit.core.errors import BadParameterError
from rapheunit.run.pipeline import analyze


# Two slow regular units (1 Hz, 2 Hz at baseline) and one fast one (10 Hz), 0-1200 s,
# each slowed differently by three cumulative ipsapirone doses (sidecar), with jitter.
def _spikes(rate_hz: float, factors: tuple[float, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    edges = (0.0, 300.0, 600.0, 900.0, 1200.0)
    pieces = [np.arange(start, stop, 1.0 / (rate_hz * f))
              for start, stop, f in zip(edges[:-1], edges[1:], factors, strict=True)]
    times = np.concatenate(pieces) + rng.uniform(0.0, 0.02, sum(map(len, pieces)))
    return np.round(times, 3)


SPIKES = {"a": _spikes(1.0, (1.0, 0.8, 0.5, 0.2), 1), "b": _spikes(2.0, (1.0, 0.6, 0.4, 0.3), 2),
          "c": _spikes(10.0, (1.0, 1.0, 0.9, 0.9), 3)}
INJECTIONS_S = (300.0, 600.0, 900.0)
SIDECAR = "time_s,drug,dose,unit\n300,ipsapirone,5,ug/kg\n600,ipsapirone,5,ug/kg\n" \
          "900,ipsapirone,10,ug/kg\n"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    rows = "".join(f"{unit},{t:.3f}\n" for unit, times in SPIKES.items() for t in times)
    (folder / "drn01.csv").write_text("unit,time_s\n" + rows)
    (folder / "drn01.doses.csv").write_text(SIDECAR)
    (folder / "drn02.csv").write_text("unit,time_s\n" + rows)
    (folder / "drn02.doses.csv").write_text(SIDECAR)
    return folder


def _run(data: Path, decisions: list[Decision] | None, tmp_path: Path, **kw: object):
    curation: Path | bool = False
    if decisions is not None:
        curation = tmp_path / "curation.toml"
        write_curation(decisions, curation)
    return analyze(data, report=False, curation=curation, **kw)


def _unit(batch, recording: str, unit: str) -> pd.Series:
    units = batch.units
    return units[(units["recording"] == recording) & (units["unit"] == unit)].iloc[0]


def _other_rows(table: pd.DataFrame, recording: str = "drn01") -> pd.DataFrame:
    rows = table[table["recording"] != recording].reset_index(drop=True)
    return rows.drop(columns=[c for c in rows.columns if c.startswith("curat")])


def _decision(action: str, unit: str = "", **values: object) -> Decision:
    return Decision("drn01", action, "because", unit=unit, author="me", date="2026-12-05",
                    **values)


def test_verdict_override_keeps_the_automatic_one(data: Path, tmp_path: Path) -> None:
    auto = _run(data, None, tmp_path)
    assert _unit(auto, "drn01", "a")["classification"] == "putative_5ht"
    curated = _run(data, [_decision("verdict", "a", verdict="non_5ht")], tmp_path)
    row = _unit(curated, "drn01", "a")
    assert (row["classification"], row["classification_auto"]) == ("non_5ht", "putative_5ht")
    assert row["curated"] and "because" in row["curation_reason"]
    assert not _unit(curated, "drn01", "b")["curated"]
    pd.testing.assert_frame_equal(_other_rows(curated.units), _other_rows(auto.units))
    # Units a and b of each recording were putative 5-HT: 4, and one less now.
    assert auto.summary["n_units"].iloc[0] == 4
    assert curated.summary["n_units"].iloc[0] == 3
    restored = _run(data, [], tmp_path)
    pd.testing.assert_frame_equal(restored.units, auto.units)


def test_report_shows_the_curation_and_the_index_counts_it(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    write_curation([_decision("verdict", "a", verdict="non_5ht")], out / "curation.toml")
    analyze(data, out=out)
    page = (out / "reports" / "drn01.html").read_text()
    assert "<h3>Curation</h3>" in page and "drn01/a verdict non_5ht: because" in page
    assert "<h3>Curation</h3>" not in (out / "reports" / "drn02.html").read_text()
    index = (out / "reports" / "index.html").read_text()
    assert '<th>curated units</th><td class="num">1</td>' in index


def test_exclude_removes_the_unit_everywhere(data: Path, tmp_path: Path) -> None:
    auto = _run(data, None, tmp_path)
    curated = _run(data, [_decision("exclude", "a")], tmp_path)
    drn01 = curated.units[curated.units["recording"] == "drn01"]
    assert sorted(drn01["unit"]) == ["b", "c"]
    assert not ((curated.doses["recording"] == "drn01") & (curated.doses["unit"] == "a")).any()
    row = curated.recordings.set_index("recording").loc["drn01"]
    assert row["curated"] and "drn01/a exclude: because" in row["curation_reason"]
    assert not curated.recordings.set_index("recording").loc["drn02", "curated"]
    pd.testing.assert_frame_equal(_other_rows(curated.doses), _other_rows(auto.doses))


def test_exclude_from_population_only(data: Path, tmp_path: Path) -> None:
    curated = _run(data, [_decision("exclude_population", "a")], tmp_path)
    row = _unit(curated, "drn01", "a")
    assert row["classification"] == "putative_5ht" and not row["in_population"]
    assert curated.summary["n_units"].iloc[0] == 3
    assert ((curated.doses["recording"] == "drn01") & (curated.doses["unit"] == "a")).any()


def test_baseline_window(data: Path, tmp_path: Path) -> None:
    curated = _run(data, [_decision("baseline", start_s=120.5, stop_s=290.0)], tmp_path)
    row = _unit(curated, "drn01", "a")
    assert (row["baseline_start_s"], row["baseline_stop_s"]) == (120.5, 290.0)
    times = SPIKES["a"]
    expected = np.count_nonzero((times >= 120.5) & (times < 290.0)) / 169.5
    assert row["baseline_rate_hz"] == pytest.approx(expected)
    # the doses (and so the % of baseline and the fits) use the same window
    doses = curated.doses[(curated.doses["recording"] == "drn01") & (curated.doses["unit"] == "a")]
    assert doses["baseline_rate_hz"].to_numpy() == pytest.approx(expected)
    assert _unit(curated, "drn02", "a")["baseline_start_s"] == 300.0 - 180.0


def test_move_and_add_injection(data: Path, tmp_path: Path) -> None:
    moved = _run(data, [_decision("move_injection", injection=2, time_s=612.0)], tmp_path)
    doses = moved.doses[(moved.doses["recording"] == "drn01") & (moved.doses["unit"] == "a")]
    assert doses["injection_time_s"].tolist() == [300.0, 612.0, 900.0]
    added = _run(data, [_decision("add_injection", time_s=1050.0, drug="ipsapirone", dose=20.0,
                                  dose_unit="ug/kg")], tmp_path)
    doses = added.doses[(added.doses["recording"] == "drn01") & (added.doses["unit"] == "a")]
    assert doses["injection_time_s"].tolist() == [300.0, 600.0, 900.0, 1050.0]
    assert doses["cumulative_dose"].tolist() == [5.0, 10.0, 20.0, 40.0]


def test_recording_end_and_unit_span(data: Path, tmp_path: Path) -> None:
    ended = _run(data, [_decision("end", time_s=800.0)], tmp_path)
    row = _unit(ended, "drn01", "a")
    assert row["duration_s"] == pytest.approx(800.0)
    assert row["n_spikes"] == np.count_nonzero(SPIKES["a"] < 800.0)
    assert ended.recordings.set_index("recording").loc["drn01", "n_injections"] == 2
    spanned = _run(data, [_decision("span", "a", start_s=0.0, stop_s=900.0)], tmp_path)
    assert _unit(spanned, "drn01", "a")["n_spikes"] == np.count_nonzero(SPIKES["a"] < 900.0)
    assert _unit(spanned, "drn01", "b")["n_spikes"] == SPIKES["b"].size


@pytest.mark.parametrize(
    ("decision", "named"),
    [
        (Decision("drn99", "exclude", "gone", unit="a"), "drn99"),
        (_decision("exclude", "zz"), "'zz'"),
        (Decision("drn01", "exclude", "old", unit="a", sha256="0" * 64), "sha256"),
    ],
)
def test_stale_entries_warn_and_change_nothing(
    data: Path, tmp_path: Path, decision: Decision, named: str
) -> None:
    auto = _run(data, None, tmp_path)
    with pytest.warns(UserWarning, match="stale curation") as caught:
        curated = _run(data, [decision], tmp_path)
    assert any(named in str(w.message) for w in caught)
    pd.testing.assert_frame_equal(curated.units, auto.units)
    pd.testing.assert_frame_equal(curated.doses, auto.doses)


def _parts(out: Path) -> dict[str, int]:
    """Recording name -> modification time of its saved part (any JSON but params.json)."""
    found = {}
    for path in out.rglob("*.json"):
        if path.name != "params.json":
            name = "drn01" if '"drn01"' in path.read_text() else "drn02"
            found[name] = path.stat().st_mtime_ns
    return found


def test_resume_redoes_only_the_recordings_a_change_touches(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    analyze(data, out=out, report=False)
    parts = _parts(out)
    assert sorted(parts) == ["drn01", "drn02"]
    write_curation([_decision("verdict", "a", verdict="non_5ht")], out / "curation.toml")
    batch = analyze(data, out=out, report=False, resume=True)
    assert _unit(batch, "drn01", "a")["classification"] == "non_5ht"
    after = _parts(out)
    assert [name for name in parts if after[name] != parts[name]] == ["drn01"]
    units = pd.read_csv(out / "units.csv")
    assert units["curated"].sum() == 1
    write_curation([], out / "curation.toml")  # the entry removed: the automatic verdict is back
    restored = analyze(data, out=out, report=False, resume=True, jobs=2)
    assert _unit(restored, "drn01", "a")["classification"] == "putative_5ht"
    assert not restored.units["curated"].any()


def test_toml_round_trip(tmp_path: Path) -> None:
    decisions = [_decision("verdict", "a", verdict="putative_5ht"),
                 Decision("drn02", "add_injection", 'label "TPH+"', time_s=5.5, drug="WAY-100635",
                          dose=100.0, dose_unit="ug/kg")]
    write_curation(decisions, tmp_path / "c.toml")
    assert read_curation(tmp_path / "c.toml") == decisions


def test_bad_curation_file_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[decision]]\nrecording = "r"\nunit = "u"\naction = "verdict"\nreason = "x"')
    with pytest.raises(BadParameterError, match=r"c\.toml: decision 1: .*needs verdict"):
        read_curation(path)


def test_curate_command_validates_and_records(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    analyze(data, out=out, report=False)
    argv = ["curate", str(out), "drn01/a", "--exclude", "--reason", "lost at 900 s"]
    assert main(argv) == 0
    (decision,) = read_curation(out / "curation.toml")
    assert (decision.recording, decision.unit, decision.action) == ("drn01", "a", "exclude")
    assert decision.author == getpass.getuser() and decision.date == date.today().isoformat()
    assert len(decision.sha256) == 64
    assert main(["curate", str(out), "drn01/zz", "--exclude", "--reason", "x"]) == 2
    err = capsys.readouterr().err
    assert "no unit 'zz'" in err and "Traceback" not in err
    assert "did you mean 'a' or 'b' or 'c'?" in err  # the recording's units
    assert main(["curate", str(out), "drn0", "--exclude", "--reason", "x"]) == 2
    assert "did you mean 'drn01' or 'drn02'?" in capsys.readouterr().err
    assert main(["curate", str(out), "drn07", "--end", "100", "--reason", "x"]) == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = analyze(data, out=out, report=False)
    assert not [w for w in caught if "stale curation" in str(w.message)]
    assert "a" not in set(batch.units[batch.units["recording"] == "drn01"]["unit"])
    assert main(["analyze", str(data), "--out", str(out), "--no-curation", "--quiet",
                 "--no-report"]) == 0
    assert "a" in set(pd.read_csv(out / "units.csv").query("recording == 'drn01'")["unit"])


def test_python_api_is_reachable_from_the_top_level() -> None:
    import rapheunit

    assert rapheunit.curation.Decision is Decision


# Each kind of decision and the tables it must change (a verdict or a population exclusion
# changes the unit rows only; the doses of a unit stay as they were).
EVERY_KIND = [
    (_decision("verdict", "a", verdict="non_5ht"), ("units",)),
    (_decision("exclude", "a"), ("units", "doses")),
    (_decision("exclude_population", "b"), ("units",)),
    (_decision("baseline", start_s=120.5, stop_s=290.0), ("units", "doses")),
    (_decision("move_injection", injection=2, time_s=612.0), ("units", "doses")),
    (_decision("add_injection", time_s=1050.0, drug="ipsapirone", dose=20.0, dose_unit="ug/kg"),
     ("units", "doses")),
    (_decision("end", time_s=800.0), ("units", "doses")),
    (_decision("span", "a", start_s=0.0, stop_s=900.0), ("units", "doses")),
]


def _drn01(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["recording"] == "drn01"].reset_index(drop=True)


@pytest.mark.parametrize(("decision", "changes"), EVERY_KIND,
                         ids=[decision.action for decision, _ in EVERY_KIND])
def test_each_kind_changes_drn01_only_and_removing_it_restores(
    data: Path, tmp_path: Path, decision: Decision, changes: tuple[str, ...]
) -> None:
    auto = _run(data, None, tmp_path)
    curated = _run(data, [decision], tmp_path)
    touched = curated.recordings.set_index("recording")
    assert touched.loc["drn01", "curated"] and not touched.loc["drn02", "curated"]
    assert decision.action in touched.loc["drn01", "curation_reason"]
    for name in ("units", "doses"):
        # drn02 holds the same spikes and doses: untouched; drn01 differs as decided.
        pd.testing.assert_frame_equal(_other_rows(getattr(curated, name)),
                                      _other_rows(getattr(auto, name)))
        unchanged = _drn01(getattr(curated, name)).drop(
            columns=["curated", "curation_reason"], errors="ignore"
        ).equals(_drn01(getattr(auto, name)).drop(
            columns=["curated", "curation_reason"], errors="ignore"))
        assert unchanged == (name not in changes)
    restored = _run(data, [], tmp_path)
    for name in ("units", "doses", "recordings"):
        pd.testing.assert_frame_equal(getattr(restored, name), getattr(auto, name))
