"""Result containers: one recording's tables, and the tables of a whole batch.

They hold plain tables (and the loaded recording while it is needed), so the
report and the batch runner read them without knowing how they were computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rapheunit.core.display import batch_html
from rapheunit.core.model import Recording
from rapheunit.io.output import frames_to_records, records_to_frames
from rapheunit.measures.analysis import MeasureSettings, RecordingAnalysis


@dataclass
class RecordingResult:
    """Tables from one input: its ``recordings.csv`` row, units and per-dose rows.

    ``analysis`` holds the loaded recording and what was measured on it while
    figures may still be drawn; batches drop it to save memory (``settings``
    stays, so a report still says which rules were applied).
    """

    recording_row: dict[str, Any]
    units: pd.DataFrame
    doses: pd.DataFrame
    fits: pd.DataFrame = field(default_factory=pd.DataFrame)
    timecourse: pd.DataFrame = field(default_factory=pd.DataFrame)
    timecourse_metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    analysis: RecordingAnalysis | None = None
    settings: MeasureSettings | None = None
    traceback: str = ""

    @classmethod
    def from_analysis(
        cls, recording_row: dict[str, Any], analysis: RecordingAnalysis
    ) -> RecordingResult:
        """The result of a measured recording (fits are added by the dose-response stage)."""
        return cls(
            recording_row,
            analysis.units,
            analysis.doses,
            timecourse=analysis.timecourse,
            timecourse_metrics=analysis.timecourse_metrics,
            analysis=analysis,
            settings=analysis.settings,
        )

    @property
    def recording(self) -> Recording | None:
        """The loaded recording, while the result still holds its analysis."""
        return None if self.analysis is None else self.analysis.recording

    @property
    def ok(self) -> bool:
        """True when the input was analysed."""
        return self.recording_row["status"] == "ok"

    def to_part(self) -> dict[str, Any]:
        """The tables as JSON-ready data (see :func:`rapheunit.io.output.frames_to_records`)."""
        return frames_to_records(
            {
                "recording": pd.DataFrame([self.recording_row]),
                "units": self.units,
                "doses": self.doses,
                "fits": self.fits,
                "timecourse": self.timecourse,
                "timecourse_metrics": self.timecourse_metrics,
            }
        )

    @classmethod
    def from_part(
        cls, part: dict[str, Any], settings: MeasureSettings | None = None
    ) -> RecordingResult:
        """Rebuild a result saved with :meth:`to_part` (under the same ``settings``)."""
        frames = records_to_frames(part)
        row = frames["recording"].iloc[0].to_dict()
        return cls(
            row,
            frames["units"],
            frames["doses"],
            frames["fits"],
            frames["timecourse"],
            frames["timecourse_metrics"],
            settings=settings,
        )


@dataclass
class BatchResult:
    """Tables of a whole run, as written to the output folder."""

    recordings: pd.DataFrame
    units: pd.DataFrame
    doses: pd.DataFrame
    summary: pd.DataFrame
    population: pd.DataFrame
    timecourse: pd.DataFrame
    timecourse_metrics: pd.DataFrame
    groups: pd.DataFrame
    params: dict[str, Any]
    results: list[RecordingResult] = field(default_factory=list, repr=False)
    # Tables in the searched folders that are not recordings (metadata, notes).
    skipped: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"<BatchResult: {len(self.recordings)} recording(s), {self.n_failed} failed, "
            f"{len(self.units)} unit(s)>"
        )

    def _repr_html_(self) -> str:
        return batch_html(self.recordings, len(self.units))

    def tables(self) -> dict[str, pd.DataFrame]:
        """The output tables by file name (without extension)."""
        return {
            "recordings": self.recordings,
            "units": self.units,
            "doses": self.doses,
            "summary": self.summary,
            "population": self.population,
            "timecourse": self.timecourse,
            "timecourse_metrics": self.timecourse_metrics,
            "groups": self.groups,
        }

    @property
    def n_failed(self) -> int:
        """Number of inputs that could not be analysed."""
        return int((self.recordings["status"] != "ok").sum()) if len(self.recordings) else 0
