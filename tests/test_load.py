"""Loading: every reader path, unit naming, event-channel units, segments, provenance."""

from __future__ import annotations

import hashlib
from datetime import UTC
from pathlib import Path

import neo
import numpy as np
import pytest
import quantities as pq

from conftest import REALDATA, make_block, make_segment, requires_realdata, write_nix
from rapheunit import load
from rapheunit.core.errors import NoUnitsError, UnreadableFileError, UnsupportedFormatError
from rapheunit.io.load import block_content, reader_for


def test_spike_table_csv_long_format(tmp_path: Path) -> None:
    table = tmp_path / "cell7.csv"
    table.write_text("unit,time_s\nb,2.0\na,0.5\na,0.25\nb,1.0\n")
    rec = load(table)
    assert rec.name == "cell7"
    assert [u.id for u in rec.units] == ["b", "a"]
    np.testing.assert_array_equal(rec.unit("a").spike_times, [0.25, 0.5])
    assert (rec.t_start, rec.t_stop) == (0.0, 2.0)
    assert rec.reader == "spike_table"


def test_spike_table_tsv_and_t_stop(tmp_path: Path) -> None:
    table = tmp_path / "cell.tsv"
    table.write_text("unit\ttime_s\textra\n1\t0.5\tx\n1\t1.5\ty\n")
    rec = load(table, t_stop=600.0)
    assert rec.t_stop == 600.0
    assert rec.unit("1").spike_times.dtype == np.float64


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("unit,when\na,1\n", "missing time_s"),
        ("unit,time_s\na,1\na,abc\n", "line 3"),
        ("unit,time_s\na,-1\n", "finite number >= 0"),
        ("", "not a readable"),
    ],
)
def test_spike_table_errors_name_the_file(tmp_path: Path, content: str, fragment: str) -> None:
    table = tmp_path / "bad.csv"
    table.write_text(content)
    with pytest.raises(UnreadableFileError) as caught:
        load(table)
    message = str(caught.value)
    assert str(table) in message and fragment in message
    assert "\n" not in message


def test_sidecar_doses_are_used(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text("unit,time_s\nu,1\nu,400\n")
    (tmp_path / "r.doses.csv").write_text(
        "time_s,drug,dose,unit\n200,ipsapirone,5,ug/kg\n300,ipsapirone,5,ug/kg\n"
    )
    rec = load(tmp_path / "r.csv")
    assert [i.cumulative_dose for i in rec.injections] == [5.0, 10.0]
    assert rec.provenance["dose_source"] == "sidecar"


def test_nix_round_trip_with_markers_and_waveforms(tmp_path: Path) -> None:
    segment = make_segment(
        {"cellA": [1.0, 2.0, 3.0]},
        t_stop=50.0,
        markers=[(10.0, "ipsapirone 10 ug/kg"), (20.0, "comment: electrode moved")],
    )
    waveforms = np.ones((3, 1, 20)) * np.linspace(-1, 1, 20) * pq.mV
    segment.spiketrains[0].waveforms = waveforms
    segment.spiketrains[0].sampling_rate = 20 * pq.kHz
    path = write_nix(make_block(segment), tmp_path / "rec.nix")
    rec = load(path)
    unit = rec.units[0]
    assert unit.id == "cellA"
    assert unit.waveforms.shape == (3, 20)
    assert unit.sampling_rate_hz == pytest.approx(20000.0)
    assert unit.waveforms.max() == pytest.approx(1000.0)  # mV -> uV
    assert [(i.time_s, i.drug, i.dose) for i in rec.injections] == [(10.0, "ipsapirone", 10.0)]
    assert [a.text for a in rec.annotations] == ["comment: electrode moved"]
    assert rec.t_stop == 50.0
    assert rec.provenance["reader"] == "NixIO"


def test_duplicate_unit_names_get_stable_unique_ids() -> None:
    segment = make_segment(
        {"Spikes|a": [1.0], "Spikes|b": [2.0], "Other": [3.0]},
        ids={"Spikes|a": "ch0#0", "Spikes|b": "ch0#1", "Other": "ch1#0"},
    )
    content = block_content(make_block(segment), "memory")
    assert [u.id for u in content.units] == ["Spikes#ch0#0", "Spikes#ch0#1", "Other"]


def test_event_channel_becomes_a_unit() -> None:
    segment = make_segment({}, t_stop=10.0)
    segment.events.append(neo.Event([0.5, 1.5, 2.5] * pq.s, name="Discriminator"))
    content = block_content(make_block(segment), "memory", spike_channels=["Discriminator"])
    assert [u.id for u in content.units] == ["Discriminator"]
    np.testing.assert_array_equal(content.units[0].spike_times, [0.5, 1.5, 2.5])
    assert content.marker_events == []


def test_missing_event_channel_is_reported() -> None:
    # with units of its own, the file is analysed and the missing channel named
    content = block_content(make_block(make_segment({"u": [1.0]})), "memory", ["Nope"])
    assert [unit.id for unit in content.units] == ["u"]
    assert any("no event channel named 'Nope'" in warning for warning in content.warnings)
    # without, there is nothing to analyse: an error that lists the channels there are
    only_markers = make_segment({}, markers=[(1.0, "Drug added"), (9.0, "ipsa 5 ug/kg")])
    with pytest.raises(NoUnitsError, match=r"Nope.*event channels: 'Markers'"):
        block_content(make_block(only_markers), "memory", spike_channels=["Nope"])


def test_segments_starting_at_zero_are_concatenated() -> None:
    first = make_segment({"u": [1.0, 9.0]}, t_stop=10.0, markers=[(5.0, "ipsapirone 5 ug/kg")])
    second = make_segment({"u": [2.0]}, t_stop=20.0, markers=[(3.0, "ipsapirone 5 ug/kg")])
    content = block_content(make_block(first, second), "memory")
    np.testing.assert_array_equal(content.units[0].spike_times, [1.0, 9.0, 12.0])
    assert [t for t, _ in content.marker_events] == [5.0, 13.0]
    assert (content.t_start, content.t_stop) == (0.0, 30.0)


def test_segments_on_an_absolute_clock_keep_their_times() -> None:
    first = make_segment({"u": [1.0]}, t_stop=10.0)
    second = make_segment({"u": [25.0]}, t_start=20.0, t_stop=30.0)
    content = block_content(make_block(first, second), "memory")
    np.testing.assert_array_equal(content.units[0].spike_times, [1.0, 25.0])
    assert content.t_stop == 30.0


def test_nwb_units_table_written_by_pynwb(tmp_path: Path) -> None:
    from datetime import datetime

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.misc import AnnotationSeries

    nwbfile = NWBFile("drn", "id1", datetime(2024, 1, 1, tzinfo=UTC))
    nwbfile.add_unit_column("unit_name", "name of the unit")
    wave = np.sin(np.linspace(0, 2 * np.pi, 30)) * 1e-4  # volts
    nwbfile.add_unit(spike_times=[0.5, 1.0, 2.0], unit_name="cell1", waveform_mean=wave)
    nwbfile.units.waveform_rate = 30000.0
    nwbfile.add_acquisition(
        AnnotationSeries("Markers", data=["ipsapirone 20 ug/kg"], timestamps=[1.5])
    )
    path = tmp_path / "other_tool.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    rec = load(path)
    unit = rec.unit("cell1")
    np.testing.assert_array_equal(unit.spike_times, [0.5, 1.0, 2.0])
    assert unit.waveforms_are_mean and unit.waveforms.shape == (1, 30)
    np.testing.assert_allclose(unit.waveforms[0], wave * 1e6)  # volts -> uV
    assert rec.injections[0].dose == 20.0
    assert rec.reader in {"pynwb", "NWBIO"}


@pytest.mark.parametrize(
    ("name", "reader"),
    [
        ("a.smr", "Spike2IO"),
        ("a.SMRX", "CedIO"),
        ("a.plx", "PlexonIO"),
        ("a.nex", "NeuroExplorerIO"),
        ("a.nix", "NixIO"),
        ("a.h5", "NixIO"),
        ("a.nwb", "NWBIO"),
        ("a.abf", "AxonIO"),
        ("a.tsv", "spike_table"),
    ],
)
def test_reader_is_chosen_by_extension(name: str, reader: str) -> None:
    assert reader_for(Path(name)) == reader


def test_open_ephys_folder_is_recognised(tmp_path: Path) -> None:
    (tmp_path / "Record Node 101").mkdir()
    (tmp_path / "Record Node 101" / "structure.oebin").write_text("{}")
    assert reader_for(tmp_path) == "OpenEphysBinaryIO"


def test_pickles_and_unknown_formats_are_refused(tmp_path: Path) -> None:
    for name in ("x.pkl", "x.docx"):
        path = tmp_path / name
        path.write_bytes(b"\x80\x04junk")
        with pytest.raises(UnsupportedFormatError, match=name):
            load(path)
    with pytest.raises(UnsupportedFormatError, match="refused"):
        load(tmp_path / "x.pkl", io="PickleIO")


def test_corrupt_neo_file_gives_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.smr"
    path.write_bytes(b"not a spike2 file" * 10)
    with pytest.raises(UnreadableFileError) as caught:
        load(path)
    assert "broken.smr" in str(caught.value) and "\n" not in str(caught.value)


def test_provenance_records_hash_and_versions(tmp_path: Path) -> None:
    table = tmp_path / "p.csv"
    table.write_text("unit,time_s\nu,1\n")
    rec = load(table)
    assert rec.provenance["sha256"] == hashlib.sha256(table.read_bytes()).hexdigest()
    assert rec.provenance["size_bytes"] == table.stat().st_size
    assert {"neo", "numpy", "rapheunit"} <= set(rec.provenance["versions"])


# --- real files ---------------------------------------------------------------------------


@requires_realdata
def test_real_spike2_wavemark_units() -> None:
    rec = load(REALDATA / "spike2" / "Extracellular_Spikes.smr")
    assert [u.id for u in rec.units] == [f"Spikes#ch0#{i}" for i in range(5)]
    assert [u.n_spikes for u in rec.units] == [9, 290, 171, 139, 37]
    assert all(u.waveforms.shape == (u.n_spikes, 100) for u in rec.units)
    assert rec.units[1].sampling_rate_hz == pytest.approx(12500.0)
    assert rec.t_stop == pytest.approx(119.95, abs=0.01)
    assert rec.reader == "Spike2IO"
    # "Drug added" has no amount: an annotation with a warning, never a dose.
    assert rec.injections == []
    assert [a.text for a in rec.annotations] == ["Drug added"]
    assert any("Drug added" in w for w in rec.warnings)


@requires_realdata
def test_real_spike2_event_channel_as_unit() -> None:
    path = REALDATA / "spike2" / "BURST.SMR"
    with pytest.raises(NoUnitsError, match="--spike-channel"):
        load(path)
    rec = load(path, spike_channels=["Spikes"])
    assert [u.id for u in rec.units] == ["Spikes"]
    assert rec.units[0].n_spikes == 972
    assert rec.t_stop == pytest.approx(20.33, abs=0.01)


@requires_realdata
def test_real_plexon_without_waveforms() -> None:
    rec = load(REALDATA / "plexon" / "File_plexon_1.plx")
    assert [u.id for u in rec.units] == ["sig01", "sig02", "sig03", "sig04"]
    assert [u.n_spikes for u in rec.units] == [5376, 8956, 6414, 3971]
    assert not any(u.has_waveforms for u in rec.units)
    assert any("waveforms" in w for w in rec.warnings)
    assert rec.t_stop == pytest.approx(74.9, abs=0.01)


@requires_realdata
def test_real_neuroexplorer() -> None:
    rec = load(REALDATA / "neuroexplorer" / "File_neuroexplorer_2.nex")
    assert len(rec.units) == 7
    assert "sig01i_wf" in {u.id for u in rec.units}
    assert rec.t_stop == pytest.approx(5196.2, abs=0.1)
    assert rec.injections == []


@requires_realdata
def test_real_spike_table_with_sidecar() -> None:
    rec = load(REALDATA / "star" / "sPK.csv")
    assert rec.units[0].n_spikes == 2232 + 2888
    assert [(i.time_s, i.drug, i.dose_unit) for i in rec.injections] == [
        (300.0, "bicuculline", "uM")
    ]


def test_keyboard_marker_codes_with_a_user_map(tmp_path: Path) -> None:
    # neo reports Spike2 keyboard markers as packed codes: key "1" is "49", keys "3","3" "13107".
    segment = make_segment({"u": [1.0, 50.0]}, t_stop=60.0, markers=[(10.0, "49"), (20.0, "13107")])
    path = write_nix(make_block(segment), tmp_path / "keys.nix")
    rec = load(path, marker_map={"1": "ipsapirone 5 ug/kg", "33": "ipsapirone 10 ug/kg"})
    assert [(i.time_s, i.dose, i.cumulative_dose) for i in rec.injections] == [
        (10.0, 5.0, 5.0),
        (20.0, 10.0, 15.0),
    ]
