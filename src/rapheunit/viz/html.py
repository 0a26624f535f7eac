"""The report's files and HTML machinery: safe file names, the jinja2 set-up and PNG figures."""

from __future__ import annotations

import base64
import hashlib
import io
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure

from rapheunit.core.errors import BadParameterError
from rapheunit.io.output import write_atomic

if TYPE_CHECKING:
    pass


REPORTS_DIR = "reports"
INDEX_NAME = "index.html"
# Modest resolution keeps a report of a 1 h, 3-unit recording well under a second.
# Fixed ids and live text in SVG figures (see figure_data_uri).
SVG_SETTINGS = {"svg.hashsalt": "rapheunit", "svg.fonttype": "none"}
THUMBNAIL_DPI = 60
# zlib level 1 encodes several times faster than the default for ~15 % larger files.
PNG_COMPRESS_LEVEL = 1
MAX_NAME_CHARS = 80
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")
# File names a report must never take: the index lives beside the reports.
_RESERVED_NAMES = frozenset({Path(INDEX_NAME).stem})


# --- names and files --------------------------------------------------------------------------


def report_filename(recording_name: str) -> str:
    """File name of a recording's report: readable, safe and distinct per name.

    Characters other than ASCII letters, digits, ``.``, ``_`` and ``-`` become
    ``_``; leading and trailing dots, dashes and underscores are dropped, so a
    name can never point outside the reports folder. A name that had to be
    changed (or is empty or ``index``) gets 8 hex digits of its SHA-256, so
    two different names never share a report.

    Examples
    --------
    >>> report_filename("drn01_5ht")
    'drn01_5ht.html'
    >>> name = report_filename("../../etc/passwd")
    >>> name.startswith("etc_passwd-"), len(name) == len("etc_passwd-12345678.html")
    (True, True)
    >>> report_filename("index") != "index.html"
    True
    """
    safe = _UNSAFE_NAME_CHARACTERS.sub("_", recording_name).strip("._-")[:MAX_NAME_CHARS]
    if safe != recording_name or not safe or safe.lower() in _RESERVED_NAMES:
        digest = hashlib.sha256(recording_name.encode("utf-8", "surrogatepass")).hexdigest()
        safe = f"{safe or 'recording'}-{digest[:8]}"
    return f"{safe}.html"


def report_path(out_dir: str | Path, recording_name: str) -> Path:
    """``out_dir/reports/<report_filename>``, checked to stay inside the reports folder."""
    reports = Path(out_dir) / REPORTS_DIR
    path = reports / report_filename(recording_name)
    if path.resolve().parent != reports.resolve():
        raise BadParameterError(f"report name {recording_name!r} leaves {reports}")
    return path


def write_html(path: Path, html: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(html, encoding="utf-8"))


# --- formatting -------------------------------------------------------------------------------


def format_value(value: Any) -> str:
    """Short text for a table cell: 4 significant digits, "—" for missing values.

    Examples
    --------
    >>> format_value(3.14159), format_value(float("nan")), format_value(True), format_value(12)
    ('3.142', '—', 'yes', '12')
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return "—"
        return f"{float(value):.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{key} {format_value(item)}" for key, item in value.items())
    return str(value)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("rapheunit.viz", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["fmt"] = format_value
    return environment


def macros() -> Any:
    return environment().get_template("macros.html").module


# --- figures ----------------------------------------------------------------------------------


def figure_data_uri(figure: Figure, *, dpi: float | None = None) -> str:
    """A figure as a data URI: vector SVG by default, a PNG at ``dpi`` when one is given.

    SVG stays sharp at any zoom and costs less to write than a PNG; its text
    stays text (``svg.fonttype = "none"``) and its ids and metadata are fixed,
    so the same figure always gives the same bytes.

    Examples
    --------
    >>> from rapheunit.viz.plot import new_axes
    >>> figure_data_uri(new_axes().figure).startswith("data:image/svg+xml;base64,")
    True
    >>> figure_data_uri(new_axes().figure, dpi=60).startswith("data:image/png;base64,iVBOR")
    True
    """
    buffer = io.BytesIO()
    if dpi is None:
        with rc_context(SVG_SETTINGS):
            figure.savefig(buffer, format="svg", metadata={"Date": None})
        kind = "svg+xml"
    else:
        figure.savefig(buffer, format="png", dpi=dpi,
                       pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
        kind = "png"
    return f"data:image/{kind};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
