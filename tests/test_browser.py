"""Reports opened in a real headless Chromium: no console errors, every figure displayed.

Chromium runs without network, sandbox or GPU. Two runs per page:

1. the report as written, with console logging on stderr and a screenshot
   kept in ``test-artifacts/`` (any Content-Security-Policy violation, failed
   load or script output shows up as a ``CONSOLE`` line);
2. a probe copy whose policy admits one inline script, injected first in
   ``<head>``: it replaces ``alert``, records load errors and, on ``load``,
   writes onto ``<body>`` how many images there are, how many did not decode
   (``naturalWidth == 0``) and how many scripts the page holds; ``--dump-dom``
   returns the result.

Without Chromium the tests skip, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from rapheunit.core.model import Annotation, Injection
from rapheunit.measures.results import RecordingResult
from rapheunit.run.options import AnalysisOptions
from rapheunit.run.pipeline import measure
from rapheunit.simulate import simulate_recording
from rapheunit.viz.report import write_index, write_recording_report

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_NAMES = ("chromium", "chromium-browser")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
TIMEOUT_S = 120
# A relaxed policy for the probe copy only: its one inline script may run.
PROBE_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
)
PROBE = r"""<script>
window.__errors = [];
window.alert = function (message) { window.__errors.push("alert:" + message); };
window.addEventListener("error", function (event) {
  window.__errors.push(String(event.message || (event.target && (event.target.src || "?"))));
}, true);
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (image) {
    return !(image.complete && image.naturalWidth > 0);
  });
  // Raster figures need >= 150 dpi at their displayed size (CSS px are 1/96 inch);
  // SVG is vector. A figure whose pixels are all one colour is empty.
  var lowres = images.filter(function (image) {
    return !/^data:image\/svg/.test(image.src) && image.clientWidth > 0 &&
      image.naturalWidth / image.clientWidth * 96 < 150;
  });
  var blank = images.filter(function (image) {
    try {
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.min(image.naturalWidth, 400));
      canvas.height = Math.max(1, Math.min(image.naturalHeight, 400));
      var context = canvas.getContext("2d");
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      var pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
      for (var i = 4; i < pixels.length; i += 4) {
        for (var c = 0; c < 4; c++) { if (pixels[i + c] !== pixels[c]) { return false; } }
      }
      return true;
    } catch (error) { window.__errors.push("canvas:" + error); return false; }
  });
  // A number broken over two lines is misread ("35.9" above "2"); words may wrap, numbers not.
  var wrapped = Array.prototype.slice.call(document.querySelectorAll("td")).filter(function (cell) {
    if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(cell.textContent.trim())) { return false; }
    var range = document.createRange();
    range.selectNodeContents(cell);
    var lines = {};
    Array.prototype.forEach.call(range.getClientRects(), function (rect) {
      lines[Math.round(rect.top)] = true;
    });
    return Object.keys(lines).length > 1;
  });
  var body = document.body;
  body.setAttribute("data-wrapped-numbers",
    wrapped.map(function (cell) { return cell.textContent.trim(); }).join(" "));
  body.setAttribute("data-images", images.length);
  body.setAttribute("data-broken", broken.length);
  body.setAttribute("data-lowres", lowres.length);
  body.setAttribute("data-blank", blank.length);
  body.setAttribute("data-scripts", document.scripts.length);
  body.setAttribute("data-errors", window.__errors.join("|"));
  body.setAttribute("data-probe", "done");
});
</script>"""


def _find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture(scope="module")
def chromium() -> str:
    path = _find_chromium()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "Chromium is required in CI for the browser tests (apt-get install chromium)"
            )
        pytest.skip("Chromium is not installed")
    return path


def _run(chromium: str, page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        *extra,
        page.resolve().as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def _console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line]


def _open(
    chromium: str, page: Path, tmp_path: Path, screenshot: Path, window: str = "1280,2400"
) -> str:
    """Load ``page`` (screenshot kept): assert a clean console, return the probe's ``<body>``."""
    shot = [f"--screenshot={screenshot}", f"--window-size={window}"]
    plain = _run(
        chromium,
        page,
        tmp_path / "profile-plain",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
        *shot,
    )
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert _console_lines(plain.stderr) == []
    return _probe(chromium, page, tmp_path)


def _probe(chromium: str, page: Path, tmp_path: Path) -> str:
    """Open a probe copy of ``page`` and return its ``<body>`` tag with the probe's findings."""
    html = re.sub(
        r'content="default-src[^"]*"',
        f'content="{PROBE_POLICY}"',
        page.read_text(encoding="utf-8"),
        count=1,
    )
    probe_page = page.with_name("probe-" + page.name)
    probe_page.write_text(html.replace("<head>", "<head>\n" + PROBE, 1), encoding="utf-8")
    probed = _run(
        chromium, probe_page, tmp_path / "profile-probe", "--dump-dom", "--virtual-time-budget=5000"
    )
    assert probed.returncode == 0, probed.stderr[-2000:]
    body = re.search(r"<body[^>]*>", probed.stdout)
    assert body is not None, probed.stdout[:2000]
    return body.group(0)


def _attribute(body: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', body)
    assert found is not None, body
    return found.group(1)


def _assert_links_resolve(page: Path) -> None:
    """Every link of ``page`` names a file beside it or an id in it (no network links)."""
    html = page.read_text(encoding="utf-8")
    ids = set(re.findall(r'id="([^"]+)"', html))
    for href in re.findall(r'<a[^>]* href="([^"]+)"', html):
        target, _, anchor = href.partition("#")
        if target:
            assert (page.parent / target).is_file(), f"{page.name}: broken link {href}"
        else:
            assert anchor in ids, f"{page.name}: no id for {href}"


def _assert_figures_fine(body: str, page: Path) -> None:
    assert _attribute(body, "data-broken") == "0", page
    assert _attribute(body, "data-lowres") == "0", page
    assert _attribute(body, "data-blank") == "0", page
    assert _attribute(body, "data-errors") == "", page


def _assert_numbers_whole(body: str, page: Path) -> None:
    """No table cell holding a number shows it broken over two lines."""
    assert _attribute(body, "data-wrapped-numbers") == "", page


def _policed_page(page: Path, policy: str, body: str) -> Path:
    """Write a page holding ``body`` under the Content-Security-Policy ``policy``."""
    page.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        f'content="{policy}"></head><body>{body}</body></html>',
        encoding="utf-8",
    )
    return page


def test_probe_detects_broken_images_and_scripts(chromium: str, tmp_path: Path) -> None:
    """The harness itself: a page with a missing image and a script is caught."""
    page = _policed_page(tmp_path / "bad.html", "default-src 'none'", '<img src="missing.png">')
    plain = _run(
        chromium,
        page,
        tmp_path / "profile-bad",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=3000",
    )
    assert _console_lines(plain.stderr), "a CSP violation must reach the console"
    page.write_text(page.read_text().replace("</body>", "<script>alert(1)</script></body>"))
    body = _probe(chromium, page, tmp_path)
    assert _attribute(body, "data-broken") == "1"
    assert "alert:1" in _attribute(body, "data-errors")


def test_probe_flags_low_resolution_and_blank_figures(chromium: str, tmp_path: Path) -> None:
    """The harness itself: a 40 px PNG shown 400 px wide (10 dpi) and a white PNG are caught."""
    import base64
    import io

    from matplotlib.figure import Figure

    def png(blank: bool) -> str:
        figure = Figure(figsize=(1, 1))
        if not blank:
            figure.add_subplot().plot([0, 1], [0, 1])
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=40)
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

    page = _policed_page(
        tmp_path / "lowres.html",
        "default-src 'none'; img-src data:",
        f'<img src="{png(False)}" style="width:400px"><img src="{png(True)}" style="width:40px">',
    )
    body = _probe(chromium, page, tmp_path)
    assert _attribute(body, "data-lowres") == "2"
    assert _attribute(body, "data-blank") == "1"


def test_probe_flags_numbers_broken_over_lines(chromium: str, tmp_path: Path) -> None:
    """The harness itself: a number squeezed into a 3-character column is caught, words not."""
    squeeze = 'style="width:3ch; max-width:3ch; overflow-wrap:anywhere"'
    page = _policed_page(
        tmp_path / "narrow.html",
        "default-src 'none'",
        '<table style="table-layout:fixed; width:3ch">'
        f"<tr><td {squeeze}>123.456</td></tr><tr><td {squeeze}>a b c d e</td></tr>"
        "<tr><td>7</td></tr></table>",
    )
    body = _probe(chromium, page, tmp_path)
    assert _attribute(body, "data-wrapped-numbers") == "123.456"


def test_report_opens_without_errors_and_shows_every_figure(chromium: str, tmp_path: Path) -> None:
    recording, _ = simulate_recording(
        "browser <script>alert(3)", ["5ht_clock", "fast_regular"], seed=4
    )
    first = recording.injections[0]
    recording.injections[0] = Injection(
        first.time_s,
        first.drug,
        first.dose,
        first.dose_unit,
        first.cumulative_dose,
        label="<script>alert(1)</script>",
    )
    recording.annotations.append(Annotation(5.0, "<img src=x onerror=alert(2)>", "no dose"))
    row = {
        "recording": recording.name,
        "path": "browser.nix",
        "status": "ok",
        "error": "",
        "n_units": 2,
    }
    result = RecordingResult.from_analysis(row, measure(recording))
    params = {"parameters": AnalysisOptions().as_dict()}
    page = write_recording_report(result, tmp_path, params=params)
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    screenshot.unlink(missing_ok=True)
    body = _open(chromium, page, tmp_path, screenshot)
    assert _attribute(body, "data-probe") == "done"
    timecourse = result.timecourse
    n_timecourses = 0 if timecourse.empty else timecourse["injection_time_s"].nunique()
    assert _attribute(body, "data-images") == str(len(recording.units) + n_timecourses)
    _assert_figures_fine(body, page)
    _assert_numbers_whole(body, page)
    _assert_links_resolve(page)
    assert _attribute(body, "data-scripts") == "1"  # the probe only: nothing injected
    assert _attribute(body, "data-errors") == ""
    assert screenshot.stat().st_size > 10_000


def test_index_opens_without_errors(chromium: str, tmp_path: Path) -> None:
    recordings = pd.DataFrame(
        [
            {"recording": "ok_one", "status": "ok", "error": "", "n_units": 1},
            {
                "recording": "broken",
                "status": "failed",
                "error": "<script>alert(1)</script>",
                "n_units": 0,
            },
        ]
    )
    units = pd.DataFrame({"recording": ["ok_one"], "unit": ["u"], "qc_status": ["pass"]})
    page = write_index(recordings, units, tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    body = _open(chromium, page, tmp_path, ARTIFACTS / "index.png", window="1280,600")
    assert _attribute(body, "data-scripts") == "1"
    assert _attribute(body, "data-errors") == ""


def _analysed_reports(out: Path) -> list[Path]:
    """Reports of every file in recordings/ and, when present, ../shared/realdata/."""
    from conftest import REALDATA, RECORDINGS
    from rapheunit import analyze

    analyze(RECORDINGS, out=out, jobs=1)
    if REALDATA.exists():
        burst = REALDATA / "spike2" / "BURST.SMR"  # its spikes are an event channel
        others = [p for p in REALDATA.rglob("*") if p.is_file() and p != burst]
        analyze(others, out=out / "real", jobs=1)
        analyze(burst, out=out / "burst", jobs=1, spike_channels=["Spikes"])
    return sorted(p for p in out.rglob("reports/*.html") if not p.name.startswith("probe-"))


@pytest.mark.slow
def test_every_example_and_real_recording_report_opens(chromium: str, tmp_path: Path) -> None:
    from conftest import REALDATA, RECORDINGS

    pages = _analysed_reports(tmp_path / "out")
    expected = {p.stem for p in RECORDINGS.iterdir() if p.suffix in {".nix", ".nwb"}}
    expected |= {p.name.removesuffix(".doses.csv") for p in RECORDINGS.glob("*.doses.csv")}
    if REALDATA.exists():
        expected |= {
            p.stem
            for p in REALDATA.rglob("*")
            if p.suffix.lower() in {".smr", ".plx", ".nex", ".raw"}
        } | {"sPK"}
    assert expected <= {p.stem for p in pages}
    ARTIFACTS.mkdir(exist_ok=True)
    for page in pages:
        # Screenshots of the example recordings (and their index) are kept to be looked at.
        folder = ARTIFACTS if page.parent.parent.name == "out" else tmp_path
        screenshot = folder / f"{page.parent.parent.name}-{page.stem}.png"
        body = _open(chromium, page, tmp_path / page.stem, screenshot)
        _assert_figures_fine(body, page)
        _assert_numbers_whole(body, page)
        _assert_links_resolve(page)
        assert _attribute(body, "data-scripts") == "1", page
        if page.stem != "index":
            assert int(_attribute(body, "data-images")) >= 1, page
