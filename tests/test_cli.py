"""The batch entry point: tables, exit status, one bad file among good ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rapheunit.cli import main

GOOD = "unit,time_s\n" + "".join(f"u1,{t / 2}\n" for t in range(0, 1200))
SIDECAR = "time_s,drug,dose,unit\n300,ipsapirone,5,ug/kg\n480,ipsapirone,5,ug/kg\n"


def _good_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good1.csv").write_text(GOOD)
    (folder / "good1.doses.csv").write_text(SIDECAR)
    nested = folder / "day2"
    nested.mkdir()
    (nested / "good2.tsv").write_text(GOOD.replace(",", "\t"))
    return folder


def test_batch_with_one_corrupt_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _good_folder(tmp_path / "data")
    (data / "corrupt.smr").write_bytes(b"\x00garbage" * 50)
    out = tmp_path / "out"
    status = main(["analyze", str(data), "--out", str(out)])
    assert status == 1
    recordings = pd.read_csv(out / "recordings.csv")
    assert sorted(recordings["recording"]) == ["corrupt", "good1", "good2"]
    failed = recordings.set_index("recording").loc["corrupt"]
    assert failed["status"] == "failed" and "corrupt.smr" in failed["error"]
    units = pd.read_csv(out / "units.csv")
    assert sorted(units["recording"]) == ["good1", "good2"]
    assert units["baseline_rate_hz"].tolist() == pytest.approx([2.0, 2.0])
    doses = pd.read_csv(out / "doses.csv")
    assert doses["cumulative_dose"].tolist() == [5.0, 10.0]
    # The table ends at its last spike, 599.5 s: the last window is [539.5, 599.5).
    assert doses["window_start_s"].tolist() == [420.0, 539.5]
    err = capsys.readouterr().err
    assert err.count("failed:") == 1 and "Traceback" not in err
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_params_json_records_parameters_and_hashes(tmp_path: Path) -> None:
    data = _good_folder(tmp_path / "data")
    out = tmp_path / "out"
    assert main(["analyze", str(data), "--out", str(out), "--baseline-s", "120", "--quiet"]) == 0
    params = json.loads((out / "params.json").read_text())
    assert params["parameters"]["epochs"]["baseline_s"] == 120.0
    assert params["rapheunit_version"]
    assert len(params["inputs"]) == 2 and all(len(h) == 64 for h in params["inputs"].values())


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["analyze", str(tmp_path)])  # --out missing
    assert caught.value.code == 2
    status = main(["analyze", str(tmp_path), "--out", str(tmp_path / "o"), "--baseline-s", "-5"])
    assert status == 2
    assert "baseline_s" in capsys.readouterr().err


def test_folder_with_nothing_readable_exits_1(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("nothing here")
    assert main(["analyze", str(tmp_path), "--out", str(tmp_path / "o"), "--quiet"]) == 1


def test_python_m_entry_point(tmp_path: Path) -> None:
    data = _good_folder(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-m", "rapheunit", "analyze", str(data), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "2 recording(s) analysed, 0 failed" in done.stdout
    # the console script leaves without the interpreter's teardown: everything must be out
    assert {"units.csv", "doses.csv", "params.json"} <= {p.name for p in (tmp_path / "o").iterdir()}
    assert pd.read_csv(tmp_path / "o" / "units.csv")["recording"].nunique() == 2


@pytest.mark.parametrize(
    ("arguments", "status", "stream", "text"),
    [
        (["--help"], 0, "stdout", "show program's version number and exit"),
        (["--version"], 0, "stdout", "rapheunit "),
        (["--no-such-flag"], 2, "stderr", "the following arguments are required"),
        (["analyze", "no-such-folder", "--out", "o"], 2, "stderr", "no-such-folder"),
        (["analyze", "no-such-folder"], 2, "stderr", "--out"),
    ],
)
def test_console_exit_status_and_output_reach_the_caller(
    tmp_path: Path, arguments: list[str], status: int, stream: str, text: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rapheunit", *arguments],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )
    assert done.returncode == status
    assert text in getattr(done, stream)
    assert "Traceback" not in done.stderr


def test_units_table_carries_the_classification(tmp_path: Path) -> None:
    data = _good_folder(tmp_path / "data")  # 2 Hz perfectly regular: putative 5-HT by firing
    out = tmp_path / "out"
    assert main(["analyze", str(data), "--out", str(out), "--quiet"]) == 0
    units = pd.read_csv(out / "units.csv")
    assert units["classification"].tolist() == ["putative_5ht", "putative_5ht"]
    assert set(units["rule_set"]) == {"firing_only"}
    assert set(units["waveform_criterion"]) == {"na"}
    # A lab convention with a 1.5 Hz ceiling turns the same cells into non-5-HT.
    assert (
        main(["analyze", str(data), "--out", str(out), "--quiet", "--threshold", "max_rate_hz=1.5"])
        == 0
    )
    units = pd.read_csv(out / "units.csv")
    assert units["classification"].tolist() == ["non_5ht", "non_5ht"]
    assert set(units["rate_criterion"]) == {"fail"}


def test_waveform_threshold_override_with_the_default_rule_set(tmp_path: Path) -> None:
    data = _good_folder(tmp_path / "data")
    args = ["analyze", str(data), "--out", str(tmp_path / "o"), "--quiet"]
    assert main([*args, "--threshold", "min_waveform_ms=1.2"]) == 0


@pytest.mark.parametrize(
    "extra", [["--rule-set", "nonsense"], ["--threshold", "max_rate=3"], ["--threshold", "x"]]
)
def test_bad_classification_options_are_usage_errors(tmp_path: Path, extra: list[str]) -> None:
    data = _good_folder(tmp_path / "data")
    assert main(["analyze", str(data), "--out", str(tmp_path / "o"), "--quiet", *extra]) == 2


def test_rules_lists_rule_sets_with_sources(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    text = capsys.readouterr().out
    assert "aghajanian_classic" in text and "firing_only" in text and "source:" in text


def test_metadata_is_joined_and_groups_compared(tmp_path: Path) -> None:
    from conftest import RECORDINGS

    metadata = tmp_path / "animals.csv"
    metadata.write_text(
        "recording,animal,group\n"
        "drn01_5ht_clock,rat1,vehicle\ndrn02_mixed,rat2,vehicle\ndrn03_mixed,rat3,chronic\n"
        "drn04_slow_irregular,rat4,chronic\ndrn05_burst_fast,rat5,chronic\n"
    )
    out = tmp_path / "out"
    args = ["analyze", str(RECORDINGS), "--out", str(out), "--quiet", "--metadata", str(metadata)]
    assert main([*args, "--group-by", "group"]) == 0
    units = pd.read_csv(out / "units.csv")
    assert set(units["animal"]) == {f"rat{i}" for i in range(1, 6)}
    assert set(pd.read_csv(out / "doses.csv")["group"]) == {"vehicle", "chronic"}
    groups = pd.read_csv(out / "groups.csv")
    assert {"baseline_rate_hz", "ed50"} <= set(groups["measure"])
    assert set(pd.read_csv(out / "summary.csv")["group"]) <= {"vehicle", "chronic"}
    assert (out / "timecourse.csv").exists()


def test_bad_metadata_fails_before_the_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _good_folder(tmp_path / "data")
    metadata = tmp_path / "meta.csv"
    metadata.write_text("animal,group\nrat1,a\n")
    status = main(["analyze", str(data), "--out", str(tmp_path / "o"), "--metadata", str(metadata)])
    assert status == 2
    assert "meta.csv" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_same_stem_in_two_folders_gets_two_names(tmp_path: Path) -> None:
    for day in ("day1", "day2"):
        (tmp_path / "data" / day).mkdir(parents=True)
        (tmp_path / "data" / day / "cell.csv").write_text(GOOD)
    out = tmp_path / "out"
    assert main(["analyze", str(tmp_path / "data"), "--out", str(out), "--quiet"]) == 0
    names = sorted(pd.read_csv(out / "recordings.csv")["recording"])
    assert names == ["day1_cell_csv", "day2_cell_csv"]  # stem, extension, then the folder


def test_same_stem_with_other_extensions_gets_names_without_paths(tmp_path: Path) -> None:
    for suffix in ("csv", "txt"):
        (tmp_path / f"empty.{suffix}").write_text(GOOD)
    out = tmp_path / "out"
    main(["analyze", str(tmp_path / "empty.csv"), str(tmp_path / "empty.txt"), "--out", str(out),
          "--quiet"])
    names = sorted(pd.read_csv(out / "recordings.csv")["recording"])
    assert names == ["empty_csv", "empty_txt"]
    assert sorted(p.name for p in (out / "reports").glob("empty*.html")) == [
        "empty_csv.html", "empty_txt.html"
    ]


def test_short_baseline_is_warned(tmp_path: Path) -> None:
    (tmp_path / "short.csv").write_text(GOOD)
    (tmp_path / "short.doses.csv").write_text("time_s,drug,dose,unit\n30,ipsapirone,5,ug/kg\n")
    out = tmp_path / "out"
    assert main(["analyze", str(tmp_path), "--out", str(out), "--quiet"]) == 0
    warning = pd.read_csv(out / "recordings.csv")["warnings"].iloc[0]
    assert "baseline is 30 s, shorter than the 60 s required" in warning
    assert bool(pd.read_csv(out / "units.csv")["baseline_short"].iloc[0])


def test_reports_are_written_unless_asked_not_to(tmp_path: Path) -> None:
    data = _good_folder(tmp_path / "data")
    out = tmp_path / "out"
    assert main(["analyze", str(data), "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in (out / "reports").iterdir()) == [
        "good1.html",
        "good2.html",
        "index.html",
    ]
    assert 'href="good1.html"' in (out / "reports" / "index.html").read_text()
    bare = tmp_path / "bare"
    assert main(["analyze", str(data), "--out", str(bare), "--quiet", "--no-report"]) == 0
    assert (bare / "units.csv").exists() and not (bare / "reports").exists()


def test_report_command_writes_only_reports(tmp_path: Path) -> None:
    data = _good_folder(tmp_path / "data")
    out = tmp_path / "out"
    assert main(["report", str(data), "--out", str(out), "--quiet"]) == 0
    assert (out / "reports" / "good1.html").exists()
    assert not (out / "units.csv").exists()


def test_resume_rewrites_a_missing_report(tmp_path: Path) -> None:
    data = _good_folder(tmp_path / "data")
    out = tmp_path / "out"
    args = ["analyze", str(data), "--out", str(out), "--quiet"]
    assert main(args) == 0
    (out / "reports" / "good1.html").unlink()
    kept = (out / "reports" / "good2.html").stat().st_mtime_ns
    assert main([*args, "--resume"]) == 0
    assert (out / "reports" / "good1.html").exists()
    assert (out / "reports" / "good2.html").stat().st_mtime_ns == kept
