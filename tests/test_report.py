"""HTML reports: content, escaping, file names, index, notebook summaries and speed."""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapheunit.core.display import batch_html, recording_html, unit_html
from rapheunit.core.model import Annotation, Injection, Recording, Unit
from rapheunit.doseresponse.fits import unit_dose_response
from rapheunit.measures.results import RecordingResult
from rapheunit.run.options import AnalysisOptions, options_with
from rapheunit.run.pipeline import measure
from rapheunit.simulate import simulate_recording
from rapheunit.viz.html import (
    INDEX_NAME,
    REPORTS_DIR,
    figure_data_uri,
    format_value,
    report_filename,
)
from rapheunit.viz.plot import new_axes
from rapheunit.viz.report import (
    render_recording_report,
    write_index,
    write_recording_report,
)
from rapheunit.viz.unit_page import UnitPage, unit_figure

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
SCRIPT = "<script>alert(1)</script>"
IMG_ATTACK = '<img src=x onerror="alert(2)">'
PARAMS = {"rapheunit_version": "test", "parameters": AnalysisOptions().as_dict()}
REPORT_BUDGET_MINIMAL_FIGURES = 40

EXAMPLES = Path(__file__).resolve().parents[1] / "recordings"


def _result(
    recording: Recording,
    *,
    with_fits: bool = True,
    with_timecourse: bool = False,
    options: AnalysisOptions | None = None,
) -> RecordingResult:
    row = {"recording": recording.name, "path": str(recording.path), "status": "ok",
           "error": "", "n_units": len(recording.units), "duration_s": recording.duration_s,
           "reader": recording.reader, "n_injections": len(recording.injections)}
    result = RecordingResult.from_analysis(row, measure(recording, options))
    if with_fits and len(result.doses):
        fits = unit_dose_response(result.doses)
        result.units = result.units.merge(fits, on=["recording", "unit"], how="left")
    if not with_timecourse:
        result.timecourse = pd.DataFrame()
    return result


@pytest.fixture(scope="module")
def hostile_recording() -> Recording:
    """A simulated 1 h recording whose names and labels try to inject HTML."""
    # Recording names cannot hold "/" (model.check_recording_name), so no closing tag here.
    recording, _ = simulate_recording(
        "evil <script>alert(3)", ["5ht_clock", "fast_irregular", "5ht_burst"], seed=5,
        n_doses=9, dose_interval_s=300.0,
    )
    recording.units[1].id = IMG_ATTACK
    first = recording.injections[0]
    recording.injections[0] = Injection(first.time_s, first.drug, first.dose, first.dose_unit,
                                        first.cumulative_dose, label=SCRIPT, source="file")
    recording.annotations.append(Annotation(12.0, SCRIPT, "no dose"))
    recording.provenance["sha256"] = "ab" * 32
    recording.warnings.append(f"odd marker {SCRIPT}")
    return recording


@pytest.fixture(scope="module")
def hostile_html(hostile_recording: Recording) -> str:
    result = _result(hostile_recording)
    return render_recording_report(result, units_table=result.units, doses_table=result.doses,
                                   params=PARAMS)


def _svg_size_pt(data_uri: str) -> tuple[float, float]:
    """Width and height of an SVG data URI's drawing, in points; the SVG must be clean XML."""
    svg = base64.b64decode(data_uri.split(",", 1)[1]).decode("utf-8")
    assert "<script" not in svg.lower()
    root = ElementTree.fromstring(svg)
    return float(root.get("width").removesuffix("pt")), float(root.get("height").removesuffix("pt"))


# --- file names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/abs/path", "..", ".", "", "a/b", "index", "INDEX", "\x00x",
             "con", "x" * 500, "naïve räphe"],
)
def test_report_filenames_stay_in_the_reports_folder(name: str, tmp_path: Path) -> None:
    filename = report_filename(name)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.html", filename)
    assert filename.lower() != INDEX_NAME
    assert (tmp_path / filename).resolve().parent == tmp_path.resolve()


def test_readable_names_are_kept() -> None:
    assert report_filename("drn01_5ht-clock.v2") == "drn01_5ht-clock.v2.html"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30), st.text(max_size=30))
def test_different_names_get_different_files(first: str, second: str) -> None:
    if first != second:
        assert report_filename(first) != report_filename(second)
    assert "/" not in report_filename(first)


# --- the recording report ----------------------------------------------------------------------


def test_report_escapes_everything_from_the_file(hostile_html: str) -> None:
    assert "<script" not in hostile_html.lower()
    assert "onerror=" not in hostile_html.replace("onerror=&#34;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in hostile_html
    assert "evil &lt;script&gt;alert(3)" in hostile_html


def test_report_is_self_contained(hostile_html: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", hostile_html)
    assert "<link" not in hostile_html
    assert "@import" not in hostile_html
    assert "default-src 'none'" in hostile_html  # the CSP forbids scripts and network


def test_report_embeds_one_figure_per_unit(hostile_html: str) -> None:
    sources = re.findall(r'<img src="([^"]+)"', hostile_html)
    assert len(sources) == 3
    for source in sources:
        assert source.startswith("data:image/svg+xml;base64,")  # vector: sharp at any zoom
        width_pt, height_pt = _svg_size_pt(source)
        assert width_pt > 500 and height_pt > 300


def test_report_shows_provenance_injections_and_tables(hostile_recording: Recording,
                                                       hostile_html: str) -> None:
    assert "ab" * 32 in hostile_html  # sha256
    assert "simulator" in hostile_html  # reader
    assert "baseline_s" in hostile_html  # parameters
    assert "response_s" in hostile_html
    for injection in hostile_recording.injections[1:]:
        assert f"<td>{injection.label}</td>" in hostile_html
    n_units, n_injections = len(hostile_recording.units), len(hostile_recording.injections)
    assert hostile_html.count('<section class="unit"') == n_units
    dose_rows = re.findall(r"<tr><td>(ipsapirone|WAY-100635)</td>", hostile_html)
    assert len(dose_rows) == n_units * n_injections
    fits = re.findall(r'<h3>Dose-response fit</h3>\s*<div class="wide">', hostile_html)
    assert len(fits) == n_units
    assert hostile_html.count('<span class="verdict">') == n_units


def test_report_computes_qc_when_the_table_lacks_it(hostile_html: str) -> None:
    # Every unit gets a QC badge, and the unparsed marker is one of the flags.
    assert len(re.findall(r'class="badge badge-(pass|warn|fail)"', hostile_html)) >= 6
    assert "<code>unparsed_markers</code>" in hostile_html


def test_report_uses_classification_and_qc_columns_that_exist(
    hostile_recording: Recording,
) -> None:
    result = _result(hostile_recording, with_fits=False)
    units = result.units.assign(
        classification="putative_5ht", subtype="clock_like", rule_set="aghajanian_classic",
        rate_criterion="pass", regularity_criterion="fail",
        classification_reasons="rate 1.2 Hz in [0.5, 2.5]; CV 0.7 >= 0.5",
        qc_status="fail", qc_flags="custom_flag", qc_reasons="fail: my own reason",
    )
    html = render_recording_report(result, units_table=units, doses_table=result.doses,
                                   params={})
    assert html.count('<span class="verdict">putative_5ht</span>') == 3
    assert ">regularity_criterion</th><td>fail</td>" in html
    assert "<li>CV 0.7 &gt;= 0.5</li>" in html
    assert html.count("<code>custom_flag</code>") == 3
    assert "<code>unparsed_markers</code>" not in html  # the table's QC is used as given
    assert "No fit in this run." in html


def test_failed_recording_gets_a_page_with_its_error() -> None:
    row = {"recording": "broken", "path": "broken.smr", "status": "failed",
           "error": "broken.smr: <b>truncated</b> file", "n_units": 0}
    result = RecordingResult(row, pd.DataFrame(), pd.DataFrame())
    html = render_recording_report(result, units_table=pd.DataFrame(),
                                   doses_table=pd.DataFrame(), params={})
    assert "broken.smr: &lt;b&gt;truncated&lt;/b&gt; file" in html
    assert "Analysis failed" in html
    assert "<img" not in html


def test_write_recording_report_writes_inside_the_reports_folder(
    hostile_recording: Recording, tmp_path: Path
) -> None:
    path = write_recording_report(_result(hostile_recording), tmp_path, params=PARAMS)
    assert path.parent == tmp_path / REPORTS_DIR
    assert path.name == report_filename(hostile_recording.name)
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp files left


def pdf_text(content: bytes) -> str:
    """The text drawn in an uncompressed PDF (``pdf.compression = 0``), squeezed for search.

    A PDF writes text as ``(string) Tj`` or ``[(str) kern (ing)] TJ``; this joins the
    strings, drops control bytes (two-byte glyph codes) and whitespace, and the letter pairs
    a font may draw as one ligature glyph ("fi", "fl"): compare with :func:`squeezed`.
    """
    pieces = []
    for array, single in re.findall(rb"\[(.*?)\]\s*TJ|\(((?:\\.|[^\\)])*)\)\s*Tj", content, re.S):
        strings = re.findall(rb"\(((?:\\.|[^\\)])*)\)", array) if array else [single]
        pieces.append(b"".join(strings).replace(b"\\(", b"(").replace(b"\\)", b")"))
    return squeezed(b"".join(pieces).decode("latin-1"))


def squeezed(text: str) -> str:
    """``text`` without whitespace, NUL bytes and ligature letter pairs (see :func:`pdf_text`)."""
    text = re.sub(r"[\s\x00-\x1f]+", "", text)  # ligature glyphs get low codes
    return re.sub("ffi|ffl|fi|fl|ff", "", text)


def _plain_cells(html: str) -> str:
    """``html`` with the class of numeric cells dropped: rows read as plain ``<td>`` text."""
    return html.replace('<td class="num">', "<td>")


def _headings(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", heading).strip()
            for heading in re.findall(r"<h[23][^>]*>(.*?)</h[23]>", html, re.S)]


def test_pdfs_have_every_section_of_the_html_pages(tmp_path: Path) -> None:
    import matplotlib

    from rapheunit.cli import main

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    _raw_recording(inputs)  # spike detection
    shutil.copy(EXAMPLES / "drn02_mixed.nix", inputs)  # a dose series with WAY-100635 after it
    out = tmp_path / "out"
    with matplotlib.rc_context({"pdf.compression": 0}):  # the test reads the text back
        assert main(["analyze", str(inputs), "--out", str(out), "--pdf", "--jobs", "1",
                     "--quiet"]) == 0
    reports = out / "reports"
    seen = set()
    for name in ("raw_cell", "drn02_mixed", "index"):
        html = (reports / f"{name}.html").read_text(encoding="utf-8")
        pdf = reports / ("batch.pdf" if name == "index" else f"{name}.pdf")
        text = pdf_text(pdf.read_bytes())
        for heading in _headings(html):
            seen.add(heading.split()[0])
            if heading.startswith("Unit "):  # "Unit unit1 putative_5ht QC pass" in the HTML
                heading = " ".join(heading.split()[:2])
            assert squeezed(heading) in text, (name, heading)
    # the sections that matter most were among them
    assert {"Spike", "Time", "Unit", "Injections", "Population:", "Recordings"} <= seen
    units = pd.read_csv(out / "units.csv")
    drn02 = pdf_text((reports / "drn02_mixed.pdf").read_bytes())
    for row in units[units["recording"] == "drn02_mixed"].itertuples():
        assert squeezed(f"Unit {row.unit}: {row.classification}") in drn02


def test_page_reuse_leaves_no_trace_of_the_previous_unit(hostile_recording: Recording) -> None:
    result = _result(hostile_recording)
    units = result.units.set_index("unit")
    responder, flat = hostile_recording.units[0], hostile_recording.units[1]

    def draw(page: UnitPage | None, unit: Unit) -> str:
        kwargs = {"doses": result.doses[result.doses["unit"] == unit.id],
                  "fit": units.loc[unit.id].rename(None)}
        figure = page.draw(unit, **kwargs) if page else unit_figure(result.analysis, unit,
                                                                     **kwargs)
        return figure_data_uri(figure)

    page = UnitPage(result.analysis)
    draw(page, responder)
    draw(page, flat)
    assert draw(page, responder) == draw(None, responder)


def test_series_time_course_follows_the_verdicts_with_selected_units_only() -> None:
    recording, _ = simulate_recording("series", ["5ht_clock", "fast_regular"], seed=4)
    assert sum(i.drug == "ipsapirone" for i in recording.injections) > 1  # a cumulative series
    row = {"recording": recording.name, "path": "x", "status": "ok", "error": "", "n_units": 2}
    result = RecordingResult.from_analysis(row, measure(recording))
    params = {"parameters": {"population": {"select": "unit == 'unit2'"}}}
    html = render_recording_report(result, units_table=result.units,
                                   doses_table=result.doses, params=params)
    assert html.index('id="unit-2"') < html.index('id="timecourse-1"')
    section = html[html.index('id="timecourse-1"'):]
    assert "units selected by unit == &#39;unit2&#39;" in section
    assert "<td>unit2</td>" in section and "<td>unit1</td>" not in section


def test_single_dose_time_course_comes_first() -> None:
    recording, _ = simulate_recording("single", ["5ht_clock"], seed=5)
    recording.injections[:] = recording.injections[-1:]  # the antagonist alone
    row = {"recording": recording.name, "path": "x", "status": "ok", "error": "", "n_units": 1}
    result = RecordingResult.from_analysis(row, measure(recording))
    html = render_recording_report(result, units_table=result.units,
                                   doses_table=result.doses, params={})
    assert html.index('id="timecourse-1"') < html.index('id="unit-1"')


# --- the index -------------------------------------------------------------------------------


def test_index_lists_every_recording_with_status_counts_and_links(tmp_path: Path) -> None:
    recordings = pd.DataFrame([
        {"recording": "good", "status": "ok", "error": "", "n_units": 2, "duration_s": 100.0},
        {"recording": "../bad<i>", "status": "failed", "error": "bad: <i>no units</i>",
         "n_units": 0, "duration_s": np.nan},
    ])
    units = pd.DataFrame({"recording": ["good", "good"], "unit": ["a", "b"],
                          "classification": ["putative_5ht", "non_5ht"],
                          "qc_status": ["pass", "warn"]})
    (tmp_path / REPORTS_DIR).mkdir()
    (tmp_path / REPORTS_DIR / report_filename("good")).write_text("<html></html>")
    path = write_index(recordings, units, tmp_path)
    assert path == tmp_path / REPORTS_DIR / INDEX_NAME
    html = path.read_text(encoding="utf-8")
    links = re.findall(r'<a href="([^"]+)">', html)
    # the failed recording has no report: its row says why instead of linking nowhere
    assert links == [report_filename("good")]
    assert "bad: &lt;i&gt;no units&lt;/i&gt;" in html
    assert "non_5ht: 1, putative_5ht: 1" in html
    assert "pass: 1, warn: 1" in html
    assert "<i>" not in html


def test_index_shows_the_population_result_first(tmp_path: Path) -> None:
    recordings = pd.DataFrame([{"recording": "r", "status": "ok", "error": "", "n_units": 3}])
    units = pd.DataFrame({"recording": "r", "unit": ["a", "b", "c"],
                          "classification": ["putative_5ht", "putative_5ht", "non_5ht"]})
    doses = np.array([5.0, 10.0, 20.0, 40.0])
    mean = 100.0 / (1.0 + doses / 15.0)  # a Hill curve with ED50 15 and slope 1
    population = pd.DataFrame({
        "drug": ["ipsapirone"] * 4 + ["WAY-100635"], "dose_unit": "ug/kg",
        "cumulative_dose": [*doses, 100.0], "n_units": 2,
        "mean_pct_baseline": [*mean, 88.0], "sem_pct_baseline": 4.0, "group": "all"})
    summary = pd.DataFrame([{
        "drug": "ipsapirone", "ed50_unit": "ug/kg", "n_units": 2, "ed50_geometric_mean": 15.0,
        "ed50_gm_ci_low": 9.5, "ed50_gm_ci_high": 23.5, "n_ed50": 2, "n_lower_bound": 1,
        "n_upper_bound": 0, "pooled_ed50": 15.0, "pooled_ed50_ci_low": 11.0,
        "pooled_ed50_ci_high": 20.0, "pooled_hill_slope": 1.0, "pooled_bottom_pct": 0.0,
        "pooled_top_pct": 100.0, "pooled_fit_status": "ok", "test": "mixedlm_wald_chi2",
        "statistic": 42.5, "df": 3.0, "p": 3.1e-9, "n_excluded_by_rule": 7, "group": "all"}])
    params = {"parameters": {"population": {"select": "classification == 'putative_5ht'"}}}
    html = write_index(recordings, units, tmp_path, summary=summary, population=population,
                       params=params).read_text(encoding="utf-8")
    assert html.index("Population: ipsapirone") < html.index("<h2>Recordings</h2>")
    assert "15 ug/kg, 95 % CI [9.5, 23.5]" in html
    assert "1 lower bound(s)" in html
    assert "statistic 42.5, df 3, p 3.1e-09" in html
    assert "2 unit(s) selected by" in html and "out of 3" in html
    assert "n_excluded_by_rule" in html  # a column the page does not know still shows
    figures = re.findall(r'<img class="figure" src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert len(figures) == 1
    svg = base64.b64decode(figures[0]).decode("utf-8")
    assert "WAY-100635" in svg and "88 %" in svg  # the antagonist point is labelled


# --- notebook summaries ------------------------------------------------------------------------


def test_notebook_summaries_escape_and_show_units(hostile_recording: Recording) -> None:
    html = recording_html(hostile_recording)
    assert "<script" not in html.lower()
    # rapheunit.viz registers the rate thumbnail: one picture per unit
    assert html.count("<img") == len(hostile_recording.units)
    for unit in hostile_recording.units[:1]:
        assert f"<td>{unit.id}</td><td>{unit.n_spikes}</td>" in html
    unit = hostile_recording.units[1]
    assert "&lt;img" in unit_html(unit, hostile_recording)
    assert f"<td>spikes</td><td>{unit.n_spikes}</td>" in unit_html(unit)


def test_notebook_reprs_are_one_line(hostile_recording: Recording) -> None:
    text = repr(hostile_recording)
    assert "\n" not in text and len(text) < 300
    assert f"{len(hostile_recording.units)} unit(s)" in text
    unit = hostile_recording.units[0]
    assert repr(unit).startswith(f"<Unit {unit.id}: {unit.n_spikes} spikes")


def test_batch_summary_lists_recordings() -> None:
    recordings = pd.DataFrame({"recording": ["a", "b"], "status": ["ok", "failed"],
                               "error": ["", f"b: {SCRIPT}"], "n_units": [1, 0]})
    html = batch_html(recordings, 1)
    assert "<script" not in html
    assert html.count("<tr>") == 3  # the header and one row per recording
    assert "<td>b</td><td>failed</td>" in html


# --- spike detection and time course ------------------------------------------------------------

RAW_RATE_HZ = 20000.0
RAW_SPIKE_INTERVAL_S = 0.5


def _raw_recording(folder: Path) -> Recording:
    """10 s of int16 noise (SD 10 uV) with a spike every 0.5 s: a -120 uV trough, +40 uV after.

    The trough is three times the after-phase, so "both" polarity must resolve to negative.
    """
    import rapheunit

    rng = np.random.default_rng(7)
    signal = rng.normal(0.0, 10.0, round(10 * RAW_RATE_HZ))
    time_ms = np.arange(40) / RAW_RATE_HZ * 1000.0
    spike = -120.0 * np.exp(-(((time_ms - 0.5) / 0.15) ** 2)) + 40.0 * np.exp(
        -(((time_ms - 1.2) / 0.35) ** 2)
    )
    for start in range(3000, signal.size - 40, round(RAW_SPIKE_INTERVAL_S * RAW_RATE_HZ)):
        signal[start : start + spike.size] += spike
    path = folder / "raw_cell.raw"
    np.round(signal).astype(np.int16).tofile(path)
    (folder / "raw_cell.raw.json").write_text(
        json.dumps(
            {"dtype": "int16", "sampling_rate_hz": RAW_RATE_HZ, "n_channels": 1, "gain_uv": 1.0}
        )
    )
    return rapheunit.load(path)


def test_report_of_detected_units_shows_threshold_and_filtered_signal(tmp_path: Path) -> None:
    recording = _raw_recording(tmp_path)
    [detection] = recording.detections
    result = _result(recording)
    html = render_recording_report(
        result, units_table=result.units, doses_table=result.doses, params=PARAMS
    )
    assert "<h2>Spike detection</h2>" in html
    html = _plain_cells(html)
    threshold = detection.threshold[0]
    assert 25.0 < threshold < 45.0  # 5 x the filtered noise SD, well under the 120 uV trough
    dominant = recording.units[0]
    assert dominant.annotations["dominant"] and dominant.id == "det#ch0#0"
    row = re.search(r"<tr><td>det</td><td>0</td>.*?</tr>", html)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(0))
    assert cells == [
        "det",
        "0",
        "300-5000",
        "5",
        format_value(detection.noise_mad[0]),
        format_value(threshold),
        "uV",
        "both",
        "negative",
        str(len(recording.units)),
        dominant.id,
    ]
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) == len(recording.units) + 1  # the units' pages and one channel
    assert all(source.startswith("data:image/svg+xml;base64,") for source in sources)
    assert f"&plusmn;{format_value(threshold)} uV" in html  # the caption gives the threshold


def test_report_without_detections_has_no_detection_section(hostile_html: str) -> None:
    assert "Spike detection" not in hostile_html
    assert "Time course after" not in hostile_html  # the result carries no time-course table


def _single_dose_recording() -> Recording:
    """Two regular units: 75 % and 50 % inhibited for 600 s after a single injection at 300 s."""

    def train(baseline_hz: float, inhibited_hz: float) -> np.ndarray:
        return np.concatenate(
            [
                np.arange(0.0, 300.0, 1 / baseline_hz),
                np.arange(300.0, 900.0, 1 / inhibited_hz),
                np.arange(900.0, 1500.0, 1 / baseline_hz),
            ]
        )

    return Recording(
        "single",
        Path("single.csv"),
        0.0,
        1500.0,
        [Unit("a", train(2.0, 0.5)), Unit("b", train(1.0, 0.5))],
        [Injection(300.0, "ipsapirone", 20.0, "ug/kg", 20.0)],
    )


def test_report_of_a_single_dose_shows_its_time_course_and_metrics() -> None:
    recording = _single_dose_recording()
    result = _result(recording, with_timecourse=True)
    html = render_recording_report(
        result, units_table=result.units, doses_table=result.doses, params=PARAMS
    )
    assert html.count("<h2>Time course after ipsapirone 20 ug/kg</h2>") == 1
    svg_images = re.findall(r'<img src="data:image/svg\+xml;base64,', html)
    assert len(svg_images) == len(recording.units) + 1
    assert "mean &plusmn; SEM over the 2 units" in html
    html = _plain_cells(html)
    # unit, baseline Hz, onset, max effect %, time to max, recovery (s), recovered, note
    assert "<tr><td>a</td><td>2</td><td>0</td><td>75</td><td>0</td><td>600</td><td>yes</td>" in html
    # b only fell to half of baseline: by the one definition of recovery (back to half of
    # baseline) there is nothing to recover from.
    assert (
        "<tr><td>b</td><td>1</td><td>0</td><td>50</td><td>0</td><td>—</td><td>—</td>"
        "<td>firing never fell below 50 % of baseline</td>"
    ) in html
    assert "earlier injection" not in html


def test_time_course_after_an_antagonist_warns_of_the_earlier_doses() -> None:
    recording, _ = simulate_recording("cumulative", ["5ht_clock"], seed=1, n_doses=3)
    result = _result(recording, with_timecourse=True)
    html = render_recording_report(
        result, units_table=result.units, doses_table=result.doses, params=PARAMS
    )
    assert "<h2>Time course after WAY-100635" in html  # the only injection of its drug
    assert "Time course after ipsapirone" not in html  # cumulative doses: dose-response instead
    assert "<strong>3 earlier injection(s)</strong>" in html


def test_time_course_uses_the_runs_bins() -> None:
    recording = _single_dose_recording()
    options = options_with(AnalysisOptions(), bin_s=30.0, consecutive_bins=3)
    result = _result(recording, with_timecourse=True, options=options)
    # The page takes the settings from the analysis, whatever params it is shown.
    html = render_recording_report(
        result, units_table=result.units, doses_table=result.doses, params={}
    )
    assert "Firing in 30 s bins" in html
    assert "first of 3 bins in a row" in html


# --- speed ------------------------------------------------------------------------------------


def _minimal_figure_cpu_s() -> float:
    """CPU time of the smallest useful matplotlib job on this machine (best of 5)."""
    timings = []
    for _ in range(5):
        start = time.process_time()
        ax = new_axes()
        ax.plot(range(10))
        ax.set_xlabel("x")
        figure_data_uri(ax.figure)
        timings.append(time.process_time() - start)
    return min(timings)


@pytest.mark.slow
def test_report_of_a_one_hour_three_unit_recording_is_fast() -> None:
    """A 1 h, 3-unit report costs at most 40 minimal figures.

    The budget is relative, so that the test means the same on a loaded CI
    machine as on a laptop: where a minimal figure takes ~20 ms (typical
    hardware), 40 of them are 0.8 s, and the report takes about half that.
    """
    recording, _ = simulate_recording("speed", ["5ht_clock", "fast_irregular", "5ht_burst"],
                                      seed=2, n_doses=10, dose_interval_s=300.0)
    assert recording.duration_s >= 3600.0
    result = _result(recording)
    timings = []
    for _ in range(2):  # the first run also pays for imports and font caches
        start = time.process_time()
        render_recording_report(result, units_table=result.units, doses_table=result.doses,
                                params=PARAMS)
        timings.append(time.process_time() - start)
    budget = REPORT_BUDGET_MINIMAL_FIGURES * _minimal_figure_cpu_s()
    assert min(timings) < budget, (timings, budget)


# --- real data ---------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.skipif(not REALDATA.exists(), reason=f"real recordings not present at {REALDATA}")
def test_report_of_the_real_spike2_file(tmp_path: Path) -> None:
    import rapheunit

    recording = rapheunit.load(REALDATA / "spike2" / "Extracellular_Spikes.smr")
    path = write_recording_report(_result(recording), tmp_path, params=PARAMS)
    html = path.read_text(encoding="utf-8")
    assert html.count("<img") == len(recording.units) == 5
    assert "Drug added" in html  # the dose-less marker is listed, not lost
    assert recording.provenance["sha256"] in html
    assert "<script" not in html.lower()


# --- with the pipeline -------------------------------------------------------------------------


def test_reports_of_an_analysed_batch(tmp_path: Path) -> None:
    from rapheunit.run.pipeline import analyze
    from rapheunit.simulate import write_recording
    from rapheunit.viz.report import write_reports

    recording, truth = simulate_recording("pipeline_rec", ["5ht_clock", "fast_regular"], seed=3)
    write_recording(recording, truth, tmp_path / "in", "csv")
    (tmp_path / "in" / "broken.csv").write_text("unit,time_ms\nu,1\n", encoding="utf-8")
    batch = analyze(tmp_path / "in")
    paths = write_reports(batch, tmp_path / "out")
    assert sorted(path.name for path in paths) == sorted(
        [report_filename("pipeline_rec"), report_filename("broken"), INDEX_NAME]
    )
    report = (tmp_path / "out" / REPORTS_DIR / report_filename("pipeline_rec")).read_text()
    assert report.count("<img") == 3  # two units and the time course after WAY-100635
    assert "<h2>Time course after WAY-100635" in report
    assert report.count('<span class="verdict">') == 2  # the pipeline classified both units
    index = (tmp_path / "out" / REPORTS_DIR / INDEX_NAME).read_text()
    assert "badge-failed" in index and "badge-ok" in index


def test_a_result_without_its_recording_gets_tables_without_figures(
    hostile_recording: Recording,
) -> None:
    result = _result(hostile_recording)
    result.analysis = None  # as after analyze(..., out=...) or a parallel worker
    html = render_recording_report(result, units_table=result.units, doses_table=result.doses,
                                   params={})
    assert "<img" not in html
    assert html.count("No figures: the recording was not in memory") == 3
    assert html.count('<section class="unit"') == 3
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html  # unit ids still escaped
    n_injections = len(hostile_recording.injections)
    assert html.count("<td>doses table</td>") == n_injections  # schedule from the dose rows


def test_notebook_html_values_are_all_filled_and_right() -> None:
    import re

    from rapheunit.core.display import recording_html, unit_html

    spikes = np.r_[np.arange(0.0, 300.0, 0.5), np.arange(300.0, 600.0, 1.25)]
    unit = Unit("u", spikes)
    recording = Recording("r", Path("r.csv"), 0.0, 600.0, [unit],
                          [Injection(300.0, "ipsapirone", 5.0, "ug/kg", 5.0)])
    cells = dict(re.findall(r"<tr><td>([^<]+)</td><td>([^<]*)</td></tr>",
                            unit_html(unit, recording)))
    assert all(value.strip() not in {"", "—", "nan"} for value in cells.values()), cells
    # the 180 s before the first injection hold 360 spikes at 2 Hz
    assert float(cells["baseline rate (Hz)"]) == pytest.approx(2.0)
    assert int(cells["spikes"]) == spikes.size
    assert float(cells["rate over its span (Hz)"]) == pytest.approx(
        (spikes.size - 1) / (spikes[-1] - spikes[0]), rel=1e-3)
    html = recording_html(recording)
    assert f"<td>u</td><td>{spikes.size}</td><td>2</td>" in html
    assert "<td>300</td><td>ipsapirone</td><td>5</td>" in html


def test_index_shows_the_group_comparison() -> None:
    from rapheunit.viz.report import render_index

    recordings = pd.DataFrame({"recording": ["a"], "status": ["ok"], "n_units": [1]})
    units = pd.DataFrame({"recording": ["a"], "unit": ["u"], "classification": ["putative_5ht"]})
    groups = pd.DataFrame({
        "measure": ["ed50"], "drug": ["ipsapirone"], "group_by": ["strain"],
        "group_a": ["wild"], "group_b": ["ko"], "contrast": ["ratio b/a"],
        "contrast_estimate": [2.5], "ci_low": [1.25], "ci_high": [5.0], "test": ["t"],
        "statistic": [3.5], "df": [6.0], "p": [0.0129]})
    html = render_index(recordings, units, groups=groups,
                        params={"parameters": {"population": {"group_by": "strain"}}})
    assert "<h2>Group comparison (strain)</h2>" in html
    row = re.search(r"<tr><td>ed50</td>.*?</tr>", html, re.S).group(0)
    # numbers are marked so that they never break over two lines; words are not
    assert re.findall(r'<td class="num">(.*?)</td>', row) == ["2.5", "1.25", "5", "3.5", "6",
                                                              "0.0129"]
    cells = re.findall(r"<td>(.*?)</td>", _plain_cells(row))
    assert cells == ["ed50", "ipsapirone", "wild", "ko", "ratio b/a", "2.5", "1.25", "5", "t",
                     "3.5", "6", "0.0129"]
    assert "Group comparison" not in render_index(recordings, units)
