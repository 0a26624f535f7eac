"""Bad input: every file gives one clear error, good files beside it are unaffected.

The corpus in tests/data/bad is made by tests/data/make_bad_corpus.py; its
manifest EXPECTED.toml gives, per file, the error class, a message fragment and
the file the message must name. Truncated real-format files that cannot be
committed (Spike2, Plexon, NeuroExplorer) are cut from ../shared/realdata at
test time.
"""

from __future__ import annotations

import importlib
import pickle
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import neo
import numpy as np
import pandas as pd
import pytest
import quantities as pq

import rapheunit
from conftest import REALDATA, make_block, make_segment, requires_realdata, write_nix
from rapheunit.cli import main
from rapheunit.core import errors
from rapheunit.core.markers import parse_label
from rapheunit.core.model import Unit, check_recording_name
from rapheunit.io.load import checked_units, is_recording_candidate
from rapheunit.io.readers import limits
from rapheunit.simulate import simulate_recording, write_recording

BAD = Path(__file__).resolve().parent / "data" / "bad"
MANIFEST = BAD / "EXPECTED.toml"
CORPUS_LIMIT_BYTES = 200 * 1024
# The module, not the function rapheunit.io.load that shadows it on the package.
LOADER = importlib.import_module("rapheunit.io.load")


def _manifest() -> list[dict[str, str]]:
    return tomllib.loads(MANIFEST.read_text(encoding="utf-8"))["case"]


CASES = _manifest()


# --- the corpus ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case["file"] for case in CASES])
def test_each_bad_file_raises_its_error(case: dict[str, str]) -> None:
    path = BAD / case["file"]
    with pytest.raises(errors.RapheUnitError) as caught:
        rapheunit.load(path)
    error = caught.value
    assert type(error) is getattr(errors, case["error"])
    message = str(error)
    assert "\n" not in message
    assert str(BAD / case["names"]) in message
    assert case["fragment"] in message


def test_manifest_covers_the_corpus_and_it_stays_small() -> None:
    listed = {case["file"] for case in CASES}
    present = {p.name for p in BAD.iterdir() if p.name != MANIFEST.name}
    sidecars = {name for name in present if name.endswith(".doses.csv")}
    assert listed == present - sidecars
    assert {case["names"] for case in CASES} <= present
    assert sum(p.stat().st_size for p in BAD.iterdir()) < CORPUS_LIMIT_BYTES


# --- a batch mixing bad and good files ------------------------------------------------------


@pytest.fixture(scope="module")
def good_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("good")
    for index, cells in enumerate((["5ht_clock", "fast_regular"], ["slow_irregular"])):
        recording, truth = simulate_recording(
            f"good{index}",
            cells,
            seed=index,
            n_doses=3,
            baseline_s=200.0,
            dose_interval_s=120.0,
            with_waveforms=False,
        )
        write_recording(recording, truth, folder, "csv")
    # A messy but usable table: unsorted, one duplicate; it loads with warnings.
    (folder / "messy.csv").write_text("unit,time_s\nu,3.0\nu,1.0\nu,2.0\nu,2.0\nv,1.5\n")
    return folder


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(out / f"{name}.csv") for name in ("recordings", "units", "doses")}


def _rows_of(table: pd.DataFrame, names: set[str]) -> pd.DataFrame:
    rows = table[table["recording"].isin(names)]
    return rows.sort_values(["recording", "unit"], kind="stable").reset_index(drop=True)


def _bad_candidates() -> dict[str, dict[str, str]]:
    """Corpus files a folder search picks up, by recording name."""
    return {
        Path(case["file"]).stem: case
        for case in CASES
        if is_recording_candidate(BAD / case["file"])
    }


def test_good_files_give_the_same_tables_beside_bad_ones(good_folder: Path, tmp_path: Path) -> None:
    alone = rapheunit.analyze([good_folder], out=tmp_path / "alone")
    mixed = rapheunit.analyze([BAD, good_folder], out=tmp_path / "mixed")
    good = set(alone.recordings["recording"])
    assert good == {"good0", "good1", "messy"}
    assert (alone.recordings["status"] == "ok").all()
    alone_tables, mixed_tables = _tables(tmp_path / "alone"), _tables(tmp_path / "mixed")
    for name in ("units", "doses"):
        pd.testing.assert_frame_equal(
            _rows_of(mixed_tables[name], good), _rows_of(alone_tables[name], good), obj=name
        )
    assert len(_rows_of(alone_tables["doses"], good)) > 0
    status = mixed.recordings.set_index("recording")
    bad = _bad_candidates()
    assert set(status.index) == good | set(bad)
    assert (status.loc[sorted(good), "status"] == "ok").all()
    for name, case in bad.items():
        assert status.loc[name, "status"] == "failed"
        assert case["fragment"] in status.loc[name, "error"]
    messy = status.loc["messy", "warnings"]
    assert "out of time order; sorted" in messy and "duplicate spike time(s) dropped" in messy


def test_cli_prints_one_line_per_bad_file_and_writes_the_good_ones(
    good_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["analyze", str(BAD), str(good_folder), "--out", str(out), "--quiet"]) == 1
    failures = [line for line in capsys.readouterr().err.splitlines() if "failed:" in line]
    bad = _bad_candidates()
    assert len(failures) == len(bad)
    for case in bad.values():
        assert sum(str(BAD / case["names"]) in line for line in failures) >= 1
    units = pd.read_csv(out / "units.csv")
    assert set(units["recording"]) == {"good0", "good1", "messy"}


def test_folder_of_only_bad_files_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.nix").write_bytes(b"")
    assert main(["analyze", str(tmp_path), "--out", str(tmp_path / "o"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "empty.nix: empty file (0 bytes)" in err and "Traceback" not in err


# --- truncated and renamed real-format files (made at test time, never committed) -----------


def _cut(source: Path, target: Path, n_bytes: int) -> Path:
    target.write_bytes(source.read_bytes()[:n_bytes])
    return target


@requires_realdata
@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.9])
def test_truncated_spike2_is_refused(tmp_path: Path, fraction: float) -> None:
    source = REALDATA / "spike2" / "BURST.SMR"
    cut = _cut(source, tmp_path / "burst.smr", int(source.stat().st_size * fraction))
    with pytest.raises(errors.UnreadableFileError, match="truncated file") as caught:
        rapheunit.load(cut, spike_channels=["Spikes"])
    assert str(cut) in str(caught.value)


@requires_realdata
def test_spike2_cut_exactly_after_its_data_still_loads(tmp_path: Path) -> None:
    # The last data block of Extracellular_Spikes.smr ends at byte 161,344; padding follows.
    source = REALDATA / "spike2" / "Extracellular_Spikes.smr"
    whole = rapheunit.load(source)
    intact = rapheunit.load(_cut(source, tmp_path / "intact.smr", 161_344))
    assert [u.n_spikes for u in intact.units] == [u.n_spikes for u in whole.units]
    with pytest.raises(errors.UnreadableFileError, match="runs to byte 161,344"):
        rapheunit.load(_cut(source, tmp_path / "short.smr", 161_343))


@requires_realdata
def test_truncated_plexon_and_neuroexplorer_are_refused(tmp_path: Path) -> None:
    plexon = REALDATA / "plexon" / "File_plexon_1.plx"
    cut = _cut(plexon, tmp_path / "cut.plx", plexon.stat().st_size // 2)
    # A Plexon reader silently returns the first half: only the header count shows the loss.
    with pytest.raises(errors.UnreadableFileError, match="header counts 24,717 spikes"):
        rapheunit.load(cut)
    nex = REALDATA / "neuroexplorer" / "File_neuroexplorer_2.nex"
    with pytest.raises(errors.UnreadableFileError, match="truncated or corrupt"):
        rapheunit.load(_cut(nex, tmp_path / "cut.nex", nex.stat().st_size // 2))


@requires_realdata
def test_real_smr_renamed_csv_names_its_format(tmp_path: Path) -> None:
    renamed = tmp_path / "burst.csv"
    renamed.write_bytes((REALDATA / "spike2" / "BURST.SMR").read_bytes())
    with pytest.raises(errors.UnreadableFileError, match=r"Spike2 \.smr file; rename it to \.smr"):
        rapheunit.load(renamed)


# --- spike-time and injection checks at the boundary ----------------------------------------


def test_unsorted_and_duplicate_spikes_are_fixed_with_warnings(tmp_path: Path) -> None:
    table = tmp_path / "cell.csv"
    table.write_text("unit,time_s\nu,3.0\nu,1.0\nu,2.0\nu,2.0\nu,2.0\n")
    recording = rapheunit.load(table)
    np.testing.assert_array_equal(recording.unit("u").spike_times, [1.0, 2.0, 3.0])
    assert any("1 spike time(s) out of time order" in w for w in recording.warnings)
    assert any("2 duplicate spike time(s) dropped" in w for w in recording.warnings)


def test_duplicates_drop_their_waveform_rows() -> None:
    waveforms = np.arange(12.0).reshape(4, 3)
    unit = Unit("u", np.array([1.0, 2.0, 2.0, 3.0]), waveforms, 1000.0, "uV")
    [kept], _ = checked_units([unit], 0.0, 10.0)
    np.testing.assert_array_equal(kept.waveforms, waveforms[[0, 1, 3]])


def test_waveforms_that_do_not_match_the_spikes_are_not_used() -> None:
    unit = Unit("u", np.array([3.0, 1.0]), np.zeros((3, 5)), 1000.0, "uV")
    [kept], notes = checked_units([unit], 0.0, 10.0)
    assert kept.waveforms is None and not kept.has_waveforms
    assert kept.spike_times.tolist() == [1.0, 3.0]
    assert any("3 waveforms for 2 spikes; waveforms not used" in note for note in notes)


def test_spikes_outside_the_recording_are_dropped_or_refused(tmp_path: Path) -> None:
    table = tmp_path / "cell.csv"
    table.write_text("unit,time_s\nu,1.0\nu,5.0\nu,50.0\nu,60.0\n")
    recording = rapheunit.load(table, t_stop=30.0)
    np.testing.assert_array_equal(recording.unit("u").spike_times, [1.0, 5.0])
    assert any(
        "2 spike(s) outside the recording [0, 30] s dropped" in w for w in recording.warnings
    )
    with pytest.raises(errors.UnreadableFileError, match="none of the 4 spikes lies inside"):
        checked_units([Unit("u", np.array([1.0, 5.0, 50.0, 60.0]))], 100.0, 200.0, table)


def test_a_unit_without_spikes_is_kept_with_a_warning(tmp_path: Path) -> None:
    segment = make_segment({"active": [1.0, 2.0, 3.0], "silent": []}, t_stop=10.0)
    path = write_nix(make_block(segment), tmp_path / "two.nix")
    recording = rapheunit.load(path)
    assert [u.n_spikes for u in recording.units] == [3, 0]
    assert any("'silent' has no spikes" in w for w in recording.warnings)
    units = rapheunit.analyze(path).units.set_index("unit")
    assert units.loc["silent", "n_spikes"] == 0


def test_nan_spike_time_in_a_neo_file_names_the_file(tmp_path: Path) -> None:
    segment = make_segment({"u": [1.0, np.nan, 2.0]}, t_stop=10.0)
    path = write_nix(make_block(segment), tmp_path / "nan.nix")
    with pytest.raises(errors.BadParameterError, match="1 of 3 spike times are NaN") as caught:
        rapheunit.load(path)
    assert str(path) in str(caught.value)


def test_injections_outside_the_recording_are_named(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text("unit,time_s\nu,1\nu,250\nu,400\n")
    (tmp_path / "r.doses.csv").write_text(
        "time_s,drug,dose,unit\n200,ipsapirone,5,ug/kg\n450,ipsapirone,5,ug/kg\n"
    )
    batch = rapheunit.analyze(tmp_path / "r.csv")
    warnings = batch.recordings.loc[0, "warnings"]
    # a spike table lasts at least to its last injection, which then has no window left
    assert "at 450 s is at or after the recording end (450 s)" in warnings
    late = batch.doses[batch.doses["injection_time_s"] == 450.0]
    assert late["rate_hz"].isna().all()  # no response window: NaN, never a number


def test_injection_before_the_recording_start_is_named(tmp_path: Path) -> None:
    segment = make_segment({"u": [120.0, 130.0]}, t_start=100.0, t_stop=200.0)
    path = write_nix(make_block(segment), tmp_path / "late_start.nix")
    (tmp_path / "late_start.doses.csv").write_text("time_s,drug,dose,unit\n50,ipsa,5,ug/kg\n")
    recording = rapheunit.load(path)
    assert any("at 50 s is before the recording start (100 s)" in w for w in recording.warnings)


@pytest.mark.parametrize("label", ["ipsa - 5 ug/kg", "ipsa 1e3 ug/kg", "ipsa 2 5 ug/kg"])
def test_malformed_amounts_are_never_read_as_another_dose(label: str) -> None:
    assert parse_label(label) is None


# --- safety ----------------------------------------------------------------------------------


class _Canary:
    """Unpickling this creates a file: proof that a pickle was executed."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.path,))


@pytest.mark.parametrize("name", ["data.pkl", "data.pickle", "data.nix", "data.csv", "data.smr"])
def test_pickles_are_never_executed(tmp_path: Path, name: str) -> None:
    canary = tmp_path / "executed"
    path = tmp_path / name
    path.write_bytes(pickle.dumps(_Canary(canary), protocol=4))
    with pytest.raises(errors.UnsupportedFormatError, match="pickle"):
        rapheunit.load(path)
    for io_name in ("PickleIO", "pickleio"):
        with pytest.raises(errors.UnsupportedFormatError, match="refused"):
            rapheunit.load(path, io=io_name)
    assert not canary.exists()


def test_marker_map_toml_is_data(tmp_path: Path) -> None:
    canary = tmp_path / "executed"
    segment = make_segment(
        {"u": [float(t) for t in range(1, 300)]}, t_stop=300.0, markers=[(100.0, "49")]
    )  # Spike2 key "1"
    path = write_nix(make_block(segment), tmp_path / "keys.nix")
    code = f"__import__('pathlib').Path({str(canary)!r}).touch()"
    marker_map = tmp_path / "map.toml"
    marker_map.write_text(f'1 = "{code}"\n')
    out = tmp_path / "out"
    assert (
        main(["analyze", str(path), "--marker-map", str(marker_map), "--out", str(out), "--quiet"])
        == 0
    )
    assert not canary.exists()
    assert "__import__" in pd.read_csv(out / "recordings.csv").loc[0, "warnings"]


def _hostile_nix(path: Path) -> Path:
    segment = make_segment({"../../escaped": [1.0, 2.0, 3.0]}, t_stop=10.0)
    segment.name = "../../escaped"
    block = make_block(segment)
    block.name = "../../../etc/escaped"
    return write_nix(block, path)


def _hostile_nwb(path: Path) -> Path:
    from pynwb import NWBHDF5IO, NWBFile

    nwbfile = NWBFile("drn", "../../../etc/escaped", datetime(2024, 1, 1, tzinfo=UTC))
    nwbfile.add_unit(spike_times=[0.5, 1.0, 2.0])
    with NWBHDF5IO(str(path), "w") as nwb_io:
        nwb_io.write(nwbfile, cache_spec=False)
    return path


def test_names_inside_files_never_reach_output_paths(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    inputs = [_hostile_nix(data / "cell_a.nix"), _hostile_nwb(data / "cell_b.nwb")]
    assert [rapheunit.load(p).name for p in inputs] == ["cell_a", "cell_b"]
    out = tmp_path / "deep" / "out"
    before = set(tmp_path.rglob("*"))
    rapheunit.analyze(inputs, out=out)
    created = set(tmp_path.rglob("*")) - before
    assert created and all(p == out.parent or out in (p, *p.parents) for p in created)
    assert not any("escaped" in p.name for p in created)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\\b", "a\0b"])
def test_path_like_recording_names_are_refused(name: str) -> None:
    with pytest.raises(errors.BadParameterError, match="not a plain file-name stem"):
        check_recording_name(name)


def test_file_whose_stem_is_a_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "..csv"  # stem "."
    path.write_text("unit,time_s\nu,1\n")
    with pytest.raises(errors.BadParameterError, match="rename the file") as caught:
        rapheunit.load(path)
    assert str(path) in str(caught.value)


# --- resource limits -------------------------------------------------------------------------


def _spike_table(path: Path, n_spikes: int) -> Path:
    path.write_text("unit,time_s\n" + "".join(f"u,{t}\n" for t in range(n_spikes)))
    return path


def _refuse(*_: object, **__: object) -> None:
    raise AssertionError("read although the size limit was exceeded")


def test_large_spike_table_is_refused_by_size_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _spike_table(tmp_path / "big.csv", 50)
    monkeypatch.setattr(limits, "MAX_SPIKE_TABLE_BYTES", 100)
    monkeypatch.setattr(pd, "read_csv", _refuse)
    with pytest.raises(errors.RecordingTooLargeError, match="MAX_SPIKE_TABLE_BYTES") as caught:
        rapheunit.load(table)
    assert str(table) in str(caught.value)


def test_too_many_spikes_in_a_table_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _spike_table(tmp_path / "many.csv", 20)
    monkeypatch.setattr(limits, "MAX_SPIKES_PER_RECORDING", 10)
    with pytest.raises(errors.RecordingTooLargeError, match="20 spikes, more than"):
        rapheunit.load(table)


def _nix_with(tmp_path: Path, *, n_spikes: int = 20, signal: bool = False) -> Path:
    segment = make_segment({"u": np.linspace(0.1, 9.9, n_spikes)}, t_stop=10.0)
    train = segment.spiketrains[0]
    train.waveforms = np.ones((n_spikes, 1, 32)) * pq.uV
    train.sampling_rate = 20 * pq.kHz
    if signal:
        segment.analogsignals.append(
            neo.AnalogSignal(np.zeros((1000, 1)), units="uV", sampling_rate=100 * pq.Hz)
        )
    return write_nix(make_block(segment), tmp_path / "limits.nix")


def test_nix_limits_are_checked_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _nix_with(tmp_path, signal=True)
    monkeypatch.setattr(neo.io.NixIO, "read_block", _refuse)
    for limit, value, message in [
        ("MAX_SPIKES_PER_RECORDING", 10, "20 spikes"),
        ("MAX_SIGNAL_BYTES", 1000, "of raw signal"),
        ("MAX_WAVEFORM_BYTES", 1000, "of waveforms"),
    ]:
        with monkeypatch.context() as patch:
            patch.setattr(limits, limit, value)
            with pytest.raises(errors.RecordingTooLargeError, match=message):
                rapheunit.load(path)


def test_nwb_raw_signal_is_never_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    nwbfile = NWBFile("drn", "big", datetime(2024, 1, 1, tzinfo=UTC))
    nwbfile.add_acquisition(TimeSeries(name="raw", data=np.zeros(5000), unit="V", rate=1000.0))
    nwbfile.add_unit(spike_times=[0.5, 1.0, 2.0], obs_intervals=[[0.0, 5.0]])
    path = tmp_path / "big.nwb"
    with NWBHDF5IO(str(path), "w") as nwb_io:
        nwb_io.write(nwbfile, cache_spec=False)
    monkeypatch.setattr(neo.io.NWBIO, "read_block", _refuse)  # it would load "raw"
    recording = rapheunit.load(path)
    assert [u.n_spikes for u in recording.units] == [3]
    assert (recording.t_start, recording.t_stop) == (0.0, 5.0)
    monkeypatch.setattr(limits, "MAX_SPIKES_PER_RECORDING", 2)
    with pytest.raises(errors.RecordingTooLargeError, match="3 spikes"):
        rapheunit.load(path)


def test_unnamed_spike_trains_are_never_merged() -> None:
    segment = neo.Segment()
    for times in ([1.0, 2.0], [1.5], [3.0, 4.0, 5.0]):
        segment.spiketrains.append(neo.SpikeTrain(times * pq.s, t_stop=10 * pq.s))
    content = LOADER.block_content(make_block(segment), "memory")
    assert [u.n_spikes for u in content.units] == [2, 1, 3]
    assert len({u.id for u in content.units}) == 3


@requires_realdata
def test_spike2_waveforms_over_the_limit_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    path = REALDATA / "spike2" / "Extracellular_Spikes.smr"
    monkeypatch.setattr(limits, "MAX_WAVEFORM_BYTES", 10_000)
    recording = rapheunit.load(path)
    assert [u.n_spikes for u in recording.units] == [9, 290, 171, 139, 37]
    assert not any(u.has_waveforms for u in recording.units)
    assert any("waveforms not loaded" in w for w in recording.warnings)


@requires_realdata
def test_spike2_spike_limit_refuses_before_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    from neo.io.proxyobjects import SpikeTrainProxy

    monkeypatch.setattr(limits, "MAX_SPIKES_PER_RECORDING", 500)
    monkeypatch.setattr(SpikeTrainProxy, "load", _refuse)
    with pytest.raises(errors.RecordingTooLargeError, match="646 spikes"):
        rapheunit.load(REALDATA / "spike2" / "Extracellular_Spikes.smr")
