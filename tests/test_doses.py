"""Dose tables, sidecars and the dose schedule built from them or from marker labels."""

from __future__ import annotations

from pathlib import Path

import neo
import pandas as pd
import pytest

from rapheunit.core.errors import BadDoseTableError, BadParameterError
from rapheunit.io.doses import (
    DOSE_TABLE_COLUMNS,
    build_schedule,
    coerce_dose_table,
    find_sidecar,
    read_dose_table,
)

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
requires_realdata = pytest.mark.skipif(
    not REALDATA.exists(), reason=f"real recordings not present at {REALDATA}"
)

HEADER = ",".join(DOSE_TABLE_COLUMNS)


def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _times(schedule_injections: list) -> list[float]:
    return [injection.time_s for injection in schedule_injections]


# --- precedence ---------------------------------------------------------------------------


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "cell.smr"
    path.write_bytes(b"")
    return path


MARKERS = [(50.0, "ipsapirone 5 ug/kg")]


def test_explicit_table_beats_sidecar_beats_markers(tmp_path: Path, recording: Path) -> None:
    _write(tmp_path / "cell.doses.csv", HEADER, "100,ipsapirone,5,ug/kg")
    table = _write(tmp_path / "mine.csv", HEADER, "200,ipsapirone,5,ug/kg")

    explicit = build_schedule(MARKERS, doses=table, recording_path=recording)
    assert (explicit.source, _times(explicit.injections)) == ("table", [200.0])
    assert {i.source for i in explicit.injections} == {"table"}

    sidecar = build_schedule(MARKERS, recording_path=recording)
    assert (sidecar.source, _times(sidecar.injections)) == ("sidecar", [100.0])

    (tmp_path / "cell.doses.csv").unlink()
    markers = build_schedule(MARKERS, recording_path=recording)
    assert (markers.source, _times(markers.injections)) == ("markers", [50.0])
    assert markers.injections[0].label == "ipsapirone 5 ug/kg"
    assert markers.injections[0].source == "markers"


def test_markers_become_annotations_when_a_table_is_used(tmp_path: Path, recording: Path) -> None:
    _write(tmp_path / "cell.doses.csv", HEADER, "100,ipsapirone,5,ug/kg")
    events = [(50.0, "ipsapirone 5 ug/kg"), (10.0, "Drug added")]
    schedule = build_schedule(events, recording_path=recording)
    assert [(a.time_s, a.text) for a in schedule.annotations] == [
        (10.0, "Drug added"),
        (50.0, "ipsapirone 5 ug/kg"),
    ]
    assert len(schedule.warnings) == 1
    assert "1 marker label(s) look like injections" in schedule.warnings[0]


@pytest.mark.parametrize(
    "table",
    [
        pd.DataFrame({"time_s": [30.0], "drug": ["IPS"], "dose": [0.01], "unit": ["mg/kg"]}),
        [{"time_s": 30, "drug": "IPS", "dose": 0.01, "unit": "mg/kg"}],
    ],
)
def test_python_tables_are_accepted(table: object, recording: Path) -> None:
    schedule = build_schedule(MARKERS, doses=table, recording_path=recording)
    assert schedule.source == "table"
    [injection] = schedule.injections
    assert (injection.time_s, injection.drug, injection.dose, injection.dose_unit) == (
        30.0,
        "ipsapirone",
        10.0,
        "ug/kg",
    )


def test_bad_python_table_types() -> None:
    with pytest.raises(BadParameterError, match="DataFrame or a list of dicts"):
        build_schedule([], doses=42)  # type: ignore[arg-type]
    with pytest.raises(BadDoseTableError, match="mapping"):
        coerce_dose_table([("30", "ipsa", "5", "ug/kg")], "my rows")


def test_sidecars_of_files_and_folders(tmp_path: Path) -> None:
    folder = tmp_path / "session1"
    folder.mkdir()
    assert find_sidecar(folder) is None
    inside = _write(folder / "doses.csv", HEADER)
    assert find_sidecar(folder) == inside
    beside = _write(tmp_path / "session1.doses.csv", HEADER)
    with pytest.raises(BadDoseTableError, match="two dose sidecars"):
        find_sidecar(folder)
    inside.unlink()
    assert find_sidecar(folder) == beside
    assert find_sidecar(tmp_path / "session1.smr") == beside  # a file of the same stem
    assert find_sidecar(tmp_path / "cell.smr") is None


# --- dose arithmetic ----------------------------------------------------------------------


def test_doubling_doses_accumulate_per_drug() -> None:
    # Cumulative doubling: each injection equals the total so far, so totals double.
    events = [
        (60.0, "ipsa 5 ug/kg"),
        (240.0, "ipsa 5 ug/kg"),
        (420.0, "ipsa 10 ug/kg"),
        (600.0, "ipsa 20 ug/kg"),
        (780.0, "ipsa 40 ug/kg"),
        (960.0, "WAY-100635 0.1 mg/kg"),
    ]
    schedule = build_schedule(events)
    assert schedule.source == "markers"
    assert [i.dose for i in schedule.injections] == [5, 5, 10, 20, 40, 100]
    assert [i.cumulative_dose for i in schedule.injections] == [5, 10, 20, 40, 80, 100]
    assert [i.drug for i in schedule.injections] == ["ipsapirone"] * 5 + ["WAY-100635"]
    assert schedule.warnings == []


def test_labels_are_cumulative_gives_differences() -> None:
    events = [(60.0, "ipsa 5 ug/kg"), (240.0, "ipsa 10 ug/kg"), (420.0, "ipsa 0.02 mg/kg")]
    schedule = build_schedule(events, labels_are_cumulative=True)
    assert [i.dose for i in schedule.injections] == [5, 5, 10]
    assert [i.cumulative_dose for i in schedule.injections] == [5, 10, 20]


def test_unsorted_markers_are_sorted_before_accumulating() -> None:
    events = [(420.0, "ipsa 20 ug/kg"), (60.0, "ipsa 5 ug/kg"), (240.0, "ipsa 10 ug/kg")]
    schedule = build_schedule(events, labels_are_cumulative=True)
    assert _times(schedule.injections) == [60.0, 240.0, 420.0]
    assert [i.dose for i in schedule.injections] == [5, 5, 10]


@pytest.mark.parametrize("second_total", ["3 ug/kg", "5 ug/kg"])
def test_cumulative_total_that_does_not_rise_is_an_error(second_total: str) -> None:
    events = [(60.0, "ipsa 5 ug/kg"), (240.0, f"ipsa {second_total}")]
    with pytest.raises(BadDoseTableError, match="does not rise") as error:
        build_schedule(events, recording_path=Path("rat7.smr"), labels_are_cumulative=True)
    assert str(error.value).startswith("rat7.smr: ")


def test_cumulative_flag_does_not_touch_a_table(tmp_path: Path) -> None:
    table = _write(tmp_path / "t.csv", HEADER, "60,ipsa,5,ug/kg", "240,ipsa,5,ug/kg")
    schedule = build_schedule([], doses=table, labels_are_cumulative=True)
    assert [i.cumulative_dose for i in schedule.injections] == [5, 10]
    assert any("labels_are_cumulative ignored" in w for w in schedule.warnings)


def test_decimal_doses_sum_exactly() -> None:
    events = [(t, "ipsa 0.1 ug/kg") for t in (10.0, 20.0, 30.0)]
    totals = [i.cumulative_dose for i in build_schedule(events).injections]
    assert totals == [0.1, 0.2, 0.3]  # float addition would give 0.30000000000000004


def test_body_weight_units_are_normalised(tmp_path: Path) -> None:
    table = _write(
        tmp_path / "t.csv", HEADER, "10,ipsa,0.005,mg/kg", "20,ipsa,5000,ng/kg", "30,ipsa,5,mcg/kg"
    )
    frame = read_dose_table(table)
    assert frame["dose"].tolist() == [5.0, 5.0, 5.0]
    assert set(frame["unit"]) == {"ug/kg"}
    schedule = build_schedule([], doses=table)
    assert [i.cumulative_dose for i in schedule.injections] == [5, 10, 15]


def test_concentrations_are_not_summed() -> None:
    events = [(300.0, "bicuculline 10 uM"), (600.0, "bicuculline 25 uM")]
    injections = build_schedule(events).injections
    assert [(i.dose, i.cumulative_dose, i.dose_unit) for i in injections] == [
        (10.0, 10.0, "uM"),
        (25.0, 25.0, "uM"),
    ]


def test_vehicle_is_an_injection_of_zero_or_a_volume() -> None:
    events = [(30.0, "saline"), (60.0, "vehicle 1 ml/kg"), (90.0, "vehicle 1 ml/kg")]
    injections = build_schedule(events).injections
    assert [(i.drug, i.dose, i.dose_unit) for i in injections] == [
        ("saline", 0.0, "ml/kg"),
        ("vehicle", 1.0, "ml/kg"),
        ("vehicle", 1.0, "ml/kg"),
    ]
    assert injections[2].cumulative_dose == 2.0


def test_marker_map_turns_key_codes_into_injections() -> None:
    events = [(60.0, "49"), (240.0, "50")]
    schedule = build_schedule(events, marker_map={"1": "ipsa 5 ug/kg", "50": "ipsa 5 ug/kg"})
    assert [i.cumulative_dose for i in schedule.injections] == [5, 10]
    assert [i.label for i in schedule.injections] == ["ipsa 5 ug/kg"] * 2


# --- labels that are not injections -------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("Drug added", "not an injection label"),
        ("", "empty marker label"),
        ("ipsapirone 0 ug/kg", "must be > 0"),
        ("ipsapirone 1 ml/kg", "is a volume"),
        ("saline 10 ug/kg", "give its volume in ml/kg"),
    ],
)
def test_non_injection_markers_are_annotations_with_warnings(label: str, reason: str) -> None:
    schedule = build_schedule([(12.5, label)])
    assert schedule.injections == []
    assert schedule.source == "none"
    [annotation] = schedule.annotations
    assert (annotation.time_s, annotation.text) == (12.5, label)
    assert reason in annotation.reason
    kept, *drug_without_dose = schedule.warnings
    assert reason in kept and "\n" not in kept
    # a label that speaks of a drug but gives no usable dose says the whole file is baseline
    names_drug = any(word in label.lower() for word in ("drug", "ipsapirone", "saline"))
    assert len(drug_without_dose) == names_drug


def test_annotations_kept_beside_injections() -> None:
    schedule = build_schedule([(0.0, "Drug added"), (60.0, "ipsa 5 ug/kg")])
    assert schedule.source == "markers"
    assert [a.text for a in schedule.annotations] == ["Drug added"]
    assert len(schedule.injections) == 1


def test_bad_marker_events_raise() -> None:
    with pytest.raises(BadParameterError, match="pairs"):
        build_schedule([(1.0,)])  # type: ignore[list-item]
    with pytest.raises(BadParameterError, match="non-finite"):
        build_schedule([(float("nan"), "ipsa 5 ug/kg")])


def test_marker_schedule_errors_name_the_recording() -> None:
    same_time = [(60.0, "ipsa 5 ug/kg"), (60.0, "WAY 100 ug/kg")]
    with pytest.raises(BadDoseTableError, match=r"two injections at t = 60\.0 s") as error:
        build_schedule(same_time, recording_path=Path("rat7.smr"))
    assert str(error.value).startswith("rat7.smr: ")
    mixed = [(60.0, "ipsa 5 ug/kg"), (120.0, "ipsa 1 uM")]
    with pytest.raises(BadDoseTableError, match="one unit system per drug"):
        build_schedule(mixed, recording_path=Path("rat7.smr"))


# --- dose-table validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (("time_s,drug,dose", "10,ipsa,5"), "missing column(s) unit"),
        ((HEADER, "ten,ipsa,5,ug/kg"), "row 1: time_s 'ten' is not a number"),
        ((HEADER, "10,ipsa,,ug/kg"), "row 1: dose '' is not a number"),
        ((HEADER, "10,ipsa,nan,ug/kg"), "row 1: dose is 'nan', need a finite number"),
        ((HEADER, "10,ipsa,5,ug/kg", "-1,ipsa,5,ug/kg"), "row 2: negative time_s -1.0"),
        ((HEADER, "10,ipsa,0,ug/kg"), "row 1: dose 0 ug/kg of ipsapirone must be > 0"),
        ((HEADER, "10,bicuculline,-5,uM"), "row 1: dose -5 uM of bicuculline must be > 0"),
        ((HEADER, "10,ipsa,5,mg"), "row 1: unknown dose unit 'mg'"),
        ((HEADER, "10,ipsa,5,ug/kg", "20,ipsa,5,uM"), "ipsapirone is given in ug/kg (row 1)"),
        ((HEADER, "10,ipsa,5,ug/kg", "10,WAY,5,ug/kg"), "two injections at t = 10.0 s"),
        ((HEADER, ",ipsa,5,ug/kg"), "row 1: time_s '' is not a number"),
        ((HEADER, "10, ,5,ug/kg"), "row 1: empty drug name"),
        ((HEADER, "10,ipsa,5,ml/kg"), "row 1: ml/kg is a volume"),
        ((HEADER, "10,saline,-1,ml/kg"), "row 1: negative volume"),
        (("",), "empty dose table"),
    ],
)
def test_validation_errors_name_the_file(tmp_path: Path, lines: tuple[str, ...], message: str):
    table = _write(tmp_path / "rat3.doses.csv", *lines)
    with pytest.raises(BadDoseTableError) as error:
        read_dose_table(table)
    text = str(error.value)
    assert text.startswith(f"{table}: ")
    assert message in text
    assert "\n" not in text


def test_missing_table_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(BadDoseTableError, match="dose table not found") as error:
        build_schedule([], doses=missing)
    assert str(missing) in str(error.value)


def test_sidecar_errors_name_the_sidecar(tmp_path: Path, recording: Path) -> None:
    sidecar = _write(tmp_path / "cell.doses.csv", HEADER, "10,ipsa,5,furlongs")
    with pytest.raises(BadDoseTableError, match="unknown dose unit") as error:
        build_schedule([], recording_path=recording)
    assert str(error.value).startswith(f"{sidecar}: ")


def test_python_table_errors_name_the_given_source() -> None:
    rows = [{"time_s": 10, "drug": "ipsa", "dose": float("nan"), "unit": "ug/kg"}]
    with pytest.raises(BadDoseTableError, match=r"^doses argument: row 1: dose is nan"):
        coerce_dose_table(rows, "doses argument")


@pytest.mark.parametrize("separator", ["\t", ";", ","])
def test_delimiters_header_spelling_and_sorting(tmp_path: Path, separator: str) -> None:
    header = separator.join([" Time_s", "Drug ", "DOSE", "unit", "note"])
    rows = [
        separator.join(["240", "ipsa", "10", "µg/kg", "2nd"]),
        separator.join(["60", "WAY 100635", "0.1", "mg/kg", ""]),
    ]
    table = tmp_path / "t.txt"
    table.write_text("\ufeff" + "\n".join([header, *rows]) + "\n", encoding="utf-8")
    frame = read_dose_table(table)
    assert list(frame.columns) == list(DOSE_TABLE_COLUMNS)
    assert frame.to_dict("records") == [
        {"time_s": 60.0, "drug": "WAY-100635", "dose": 100.0, "unit": "ug/kg"},
        {"time_s": 240.0, "drug": "ipsapirone", "dose": 10.0, "unit": "ug/kg"},
    ]


def test_header_only_table_means_no_injections(tmp_path: Path) -> None:
    table = _write(tmp_path / "t.csv", HEADER)
    schedule = build_schedule(MARKERS, doses=table)
    assert (schedule.source, schedule.injections) == ("table", [])
    assert read_dose_table(table).empty


# --- real recordings ----------------------------------------------------------------------


@requires_realdata
@pytest.mark.realdata
def test_real_sidecar_bath_bicuculline() -> None:
    recording = REALDATA / "star" / "sPK.csv"
    assert find_sidecar(recording) == REALDATA / "star" / "sPK.doses.csv"
    schedule = build_schedule([], recording_path=recording)
    assert schedule.source == "sidecar"
    [injection] = schedule.injections
    assert (injection.time_s, injection.drug, injection.dose, injection.dose_unit) == (
        300.0,
        "bicuculline",
        25.0,
        "uM",
    )
    assert injection.cumulative_dose == 25.0


@requires_realdata
@pytest.mark.realdata
def test_real_spike2_drug_added_marker_is_an_annotation() -> None:
    path = REALDATA / "spike2" / "Extracellular_Spikes.smr"
    block = neo.io.Spike2IO(str(path)).read_block()
    events = [
        (float(t), str(label))
        for event in block.segments[0].events
        for t, label in zip(event.times.rescale("s").magnitude, event.labels, strict=True)
    ]
    schedule = build_schedule(events, recording_path=path)
    assert schedule.injections == []
    assert schedule.source == "none"
    assert [(a.time_s, a.text) for a in schedule.annotations] == [(0.0, "Drug added")]
    kept, no_dose = schedule.warnings
    assert "kept as an annotation" in kept
    assert "says a drug was given" in no_dose
    assert "whole recording is treated as baseline" in no_dose
