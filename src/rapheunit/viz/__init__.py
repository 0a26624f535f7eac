"""Figures and the HTML report; they only read analysis results.

Importing this package registers the rate thumbnail of the notebook summaries
(:func:`rapheunit.core.display.set_thumbnail_renderer`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rapheunit.core.display import set_thumbnail_renderer

if TYPE_CHECKING:
    from rapheunit.core.model import Recording, Unit


def _rate_thumbnail(recording: Recording, unit: Unit) -> str:
    from rapheunit.viz.unit_page import rate_thumbnail  # matplotlib only when a summary is shown

    return rate_thumbnail(recording, unit)


set_thumbnail_renderer(_rate_thumbnail)
