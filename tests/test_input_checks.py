"""Inputs that people get wrong are questioned, and real-rig files are read right."""

from __future__ import annotations

import datetime
import json
import os
import re
import stat
from pathlib import Path

import neo
import numpy as np
import pandas as pd
import pytest
import quantities as pq

import rapheunit
from conftest import REALDATA, make_block, make_segment, requires_realdata, write_nix
from rapheunit.cli import main
from rapheunit.core.errors import BadDoseTableError, RapheUnitError, UnreadableFileError

CLOCK = np.arange(0.5, 600.0, 1.0)


def _spike_table(folder: Path, doses: str, name: str = "cell") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"unit": "u", "time_s": CLOCK}).to_csv(folder / f"{name}.csv", index=False)
    (folder / f"{name}.doses.csv").write_text("time_s,drug,dose,unit\n" + doses)
    return folder / f"{name}.csv"


def test_a_misspelled_drug_in_a_dose_table_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    path = _spike_table(
        tmp_path, "200,ipsapirone,5,ug/kg\n300,ipsaprione,5,ug/kg\n400,ipsapirone,10,ug/kg\n"
    )
    with pytest.raises(BadDoseTableError, match="did you mean 'ipsapirone'") as caught:
        rapheunit.load(path)
    assert "\n" not in str(caught.value)


def test_a_misspelled_drug_in_a_marker_is_refused(tmp_path: Path) -> None:
    markers = [(100.0, "ipsapirone 5 ug/kg"), (200.0, "ipsaprione 5 ug/kg")]
    path = write_nix(make_block(make_segment({"u": CLOCK}, t_stop=600.0, markers=markers)),
                     tmp_path / "typo.nix")
    with pytest.raises(RapheUnitError, match="did you mean 'ipsapirone'"):
        rapheunit.load(path)


def test_a_decimal_comma_is_named(tmp_path: Path) -> None:
    path = _spike_table(tmp_path, '200,ipsapirone,"0,32",mg/kg\n')
    with pytest.raises(BadDoseTableError, match="decimal comma"):
        rapheunit.load(path)
    markers = [(100.0, "ipsapirone 0,32 mg/kg")]
    nix = write_nix(make_block(make_segment({"u": CLOCK}, t_stop=600.0, markers=markers)),
                    tmp_path / "comma.nix")
    assert any("decimal point" in warning for warning in rapheunit.load(nix).warnings)


def test_a_drug_outside_the_table_is_reported(tmp_path: Path) -> None:
    path = _spike_table(tmp_path, "200,bicuculline,10,uM\n")
    warnings = rapheunit.load(path).warnings
    assert any("'bicuculline' is not in the drug table" in warning for warning in warnings)


def test_units_written_by_neo_nwbio_keep_their_names(tmp_path: Path) -> None:
    segment = neo.Segment()
    for name in ("cellA", "cellB"):
        segment.spiketrains.append(
            neo.SpikeTrain(np.arange(1.0, 50.0) * pq.s, t_stop=60 * pq.s, name=name)
        )
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    block = neo.Block(session_start_time=start)
    block.segments.append(segment)
    path = tmp_path / "named.nwb"
    neo.io.NWBIO(str(path), mode="w").write_all_blocks([block])
    assert sorted(unit.id for unit in rapheunit.load(path).units) == ["cellA", "cellB"]


def test_a_missing_input_is_refused_in_python_as_on_the_command_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing.smr"
    with pytest.raises(UnreadableFileError, match=r"missing\.smr") as caught:
        rapheunit.analyze(missing)
    assert "no such file" in str(caught.value)
    assert main(["analyse", str(missing), "--out", str(tmp_path / "out"), "--quiet"]) == 2


def test_a_bad_select_fails_before_any_file_is_read(tmp_path: Path, capsys) -> None:
    path = _spike_table(tmp_path / "in", "200,ipsapirone,5,ug/kg\n")
    out = tmp_path / "out"
    status = main(["analyze", str(path), "--out", str(out), "--select", "clasification == 'x'"])
    assert status == 2 and not out.exists()
    assert "'clasification' is not a column of units.csv" in capsys.readouterr().err


def test_a_select_that_matches_nothing_says_so(tmp_path: Path, capsys) -> None:
    path = _spike_table(tmp_path / "in", "200,ipsapirone,5,ug/kg\n")
    out = tmp_path / "out"
    assert main(["analyze", str(path), "--out", str(out), "--no-report",
                 "--select", "classification == 'none'"]) == 0
    assert "selected no unit" in capsys.readouterr().err


def test_outputs_honour_the_umask(tmp_path: Path) -> None:
    path = _spike_table(tmp_path / "in", "200,ipsapirone,5,ug/kg\n")
    previous = os.umask(0o022)
    try:
        rapheunit.analyze(path, out=tmp_path / "out")
    finally:
        os.umask(previous)
    for written in ("units.csv", "recordings.csv", "params.json", "reports/cell.html"):
        mode = stat.S_IMODE((tmp_path / "out" / written).stat().st_mode)
        assert mode == 0o644, (written, oct(mode))


def test_repeated_warnings_are_said_once_with_their_count(tmp_path: Path) -> None:
    markers = [(10.0 * k, f"{k:05d}") for k in range(1, 27)]  # 26 keyboard codes
    path = write_nix(make_block(make_segment({"u": CLOCK}, t_stop=600.0, markers=markers)),
                     tmp_path / "keys.nix")
    warnings = rapheunit.analyze(path).recordings.loc[0, "warnings"].split(" | ")
    kept = [warning for warning in warnings if "kept as an annotation" in warning]
    assert len(kept) == 1 and "(and 25 more like it)" in kept[0]


def test_spike_channels_match_without_case_and_list_the_channels(tmp_path: Path) -> None:
    segment = make_segment({"u": CLOCK}, t_stop=600.0)
    segment.events.append(neo.Event(CLOCK * pq.s, labels=np.array([""] * CLOCK.size),
                                     name="WinDisc"))
    path = write_nix(make_block(segment), tmp_path / "events.nix")
    units = rapheunit.load(path, spike_channels=["windisc"]).units
    assert sorted(unit.id for unit in units) == ["WinDisc", "u"]


@requires_realdata
def test_marker_channels_are_refused_as_unit_channels() -> None:
    path = REALDATA / "spike2" / "Extracellular_Spikes.smr"
    with pytest.raises(RapheUnitError, match="holds marker labels"):
        rapheunit.load(path, spike_channels=["Drug mark"])
    burst = REALDATA / "spike2" / "BURST.SMR"
    with pytest.raises(RapheUnitError, match=r"event channels: 'Spikes'"):
        rapheunit.load(burst, spike_channels=["Spiks"])


# Units and spike counts as the real-data README gives them.
EXPECTED = {
    "Extracellular_Spikes": [9, 290, 171, 139, 37],
    "BURST": [972],
    "File_plexon_1": [5376, 8956, 6414, 3971],
    "legacy_record_node_105": [174, 170, 168, 160, 180, 167, 166, 138],
    "sPK": [2232 + 2888],
}


@requires_realdata
@pytest.mark.slow
def test_every_real_file_is_read_in_one_batch(tmp_path: Path) -> None:
    batch = rapheunit.analyze(REALDATA, out=tmp_path, report=False, spike_channels=["Spikes"])
    recordings = batch.recordings
    assert (recordings["status"] == "ok").all(), recordings[["recording", "error"]]
    assert recordings["recording"].is_unique and len(recordings) == 7
    assert not recordings["error"].fillna("").str.contains("Traceback").any()
    for name, counts in EXPECTED.items():
        units = batch.units[batch.units["recording"] == name]
        assert sorted(units["n_spikes"]) == sorted(counts), name
    nex = batch.units[batch.units["recording"] == "File_neuroexplorer_2"]
    assert len(nex) == 7


def test_a_metadata_table_or_notes_in_an_archive_folder_are_skipped(tmp_path: Path, capsys) -> None:
    _spike_table(tmp_path / "archive", "200,ipsapirone,5,ug/kg\n")
    (tmp_path / "archive" / "animals.csv").write_text("recording,animal,group\ncell,rat1,a\n")
    (tmp_path / "archive" / "notes.txt").write_text("rat1: electrode moved at 900 s\n")
    out = tmp_path / "out"
    assert main(["analyze", str(tmp_path / "archive"), "--out", str(out)]) == 0
    assert pd.read_csv(out / "recordings.csv")["recording"].tolist() == ["cell"]
    assert "skipped 2 table(s) that are not spike tables: animals.csv, notes.txt" in (
        capsys.readouterr().out
    )


def test_the_index_never_links_a_page_that_does_not_exist(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    _spike_table(archive, "200,ipsapirone,5,ug/kg\n")
    (archive / "broken.smr").write_bytes(b"\x00garbage" * 50)
    out = tmp_path / "out"
    main(["analyze", str(archive), "--out", str(out), "--quiet"])
    index = (out / "reports" / "index.html").read_text()
    for link in re.findall(r'href="([^"#]+)"', index):
        assert (out / "reports" / link).exists(), link
    assert "broken.smr" in index  # the failed row says why


def test_inspect_shows_units_event_channels_and_decoded_keys(tmp_path: Path, capsys) -> None:
    segment = make_segment({"cell": CLOCK}, t_stop=600.0, markers=[(100.0, "49"), (300.0, "87")])
    path = write_nix(make_block(segment), tmp_path / "keys.nix")
    assert main(["inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert "cell (id ch0#0): 600 spikes" in text
    assert "'Markers': 2 events; first labels '49', '87' (read as '1', 'W')" in text
    assert main(["inspect", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["units"][0]["n_spikes"] == CLOCK.size
    assert info["event_channels"][0]["first_decoded"] == ["1", "W"]


@requires_realdata
def test_inspect_lists_the_event_channel_that_holds_spikes(capsys) -> None:
    assert main(["inspect", str(REALDATA / "spike2" / "BURST.SMR")]) == 0
    text = capsys.readouterr().out
    assert "units (0):" in text and "'Spikes': 972 events" in text


def test_dimensionless_waveforms_keep_the_spike_times(tmp_path: Path) -> None:
    segment = neo.Segment()
    waveforms = np.tile(-np.hanning(32), (CLOCK.size, 1, 1)) * pq.dimensionless
    segment.spiketrains.append(
        neo.SpikeTrain(CLOCK * pq.s, t_stop=600 * pq.s, name="u", waveforms=waveforms,
                       sampling_rate=20_000 * pq.Hz)
    )
    recording = rapheunit.load(write_nix(make_block(segment), tmp_path / "au.nix"))
    [unit] = recording.units
    assert unit.n_spikes == CLOCK.size and unit.waveform_units == "a.u."
    assert unit.waveforms.shape == (CLOCK.size, 32)
    assert any("no voltage unit" in warning for warning in recording.warnings)


def _rows_of(path: Path, recording: str) -> list[str]:
    lines = path.read_text().splitlines()
    return [lines[0], *(line for line in lines[1:] if line.startswith(recording + ","))]


def test_a_units_row_is_the_same_alone_and_in_a_mixed_batch(tmp_path: Path) -> None:
    from conftest import RECORDINGS

    alone, mixed = tmp_path / "alone", tmp_path / "mixed"
    for folder in (alone, mixed):
        folder.mkdir()
        for path in RECORDINGS.glob("drn04_slow_irregular*"):
            (folder / path.name).write_bytes(path.read_bytes())
    (mixed / "broken.smr").write_bytes(b"\x00garbage" * 50)
    (mixed / "empty.csv").write_text("unit,time_s\n")
    pd.DataFrame({"unit": "u", "time_s": CLOCK}).to_csv(mixed / "no_doses.csv", index=False)
    (mixed / "drn01_5ht_clock.nix").write_bytes((RECORDINGS / "drn01_5ht_clock.nix").read_bytes())
    for folder in (alone, mixed):
        main(["analyze", str(folder), "--out", str(folder / "out"), "--no-report", "--quiet"])
    for table in ("units.csv", "doses.csv"):
        single = _rows_of(alone / "out" / table, "drn04_slow_irregular")
        together = _rows_of(mixed / "out" / table, "drn04_slow_irregular")
        assert len(single) > 1 and single == together, table


def test_the_sweeps_of_an_episodic_file_are_one_unit(tmp_path: Path) -> None:
    rate_hz, sweep_s, rng = 20_000.0, 8.0, np.random.default_rng(3)
    t_ms = np.arange(60) / rate_hz * 1000.0
    spike = np.where(t_ms < 1.0, -np.sin(np.pi * t_ms / 1.0), 0.0)
    spike += np.where((t_ms >= 1.0) & (t_ms < 2.5), 0.4 * np.sin(np.pi * (t_ms - 1.0) / 1.5), 0.0)
    block, truth = neo.Block(), []
    for sweep in range(5):
        start_s = sweep * 12.0  # 4 s gaps between sweeps
        signal = rng.normal(0.0, 10.0, int(sweep_s * rate_hz))
        onsets = np.arange(0.3, sweep_s - 0.3, 0.7)
        for onset in onsets:
            first = int(onset * rate_hz)
            signal[first : first + spike.size] += 150.0 * spike
        truth.extend(start_s + onsets)
        segment = neo.Segment()
        segment.analogsignals.append(
            neo.AnalogSignal(signal[:, None] * pq.uV, sampling_rate=rate_hz * pq.Hz,
                             t_start=start_s * pq.s, name="Vm")
        )
        block.segments.append(segment)
    path = tmp_path / "sweeps.nix"
    with neo.io.NixIO(str(path), mode="ow") as io:
        io.write_block(block)
    units = rapheunit.load(path).units
    assert len(units) == 1, [unit.id for unit in units]
    [unit] = units
    assert not unit.id.startswith("seg")
    assert unit.n_spikes == len(truth)
    # every spike lies within 3 ms after a true onset, in the right sweep
    assert np.all(np.abs(unit.spike_times - np.sort(truth) - 0.0015) < 0.0015)


def test_abbreviated_options_are_refused(tmp_path: Path) -> None:
    path = _spike_table(tmp_path / "in", "200,ipsapirone,5,ug/kg\n")
    with pytest.raises(SystemExit) as caught:  # "--baseline" must not mean --baseline-s
        main(["analyze", str(path), "--out", str(tmp_path / "out"), "--baseline", "120"])
    assert caught.value.code == 2 and not (tmp_path / "out").exists()
