"""Every parameter of an analysis run, validated in one place.

:class:`AnalysisOptions` gathers the options of each stage (loading, epochs,
classification, fits, QC, population, time course); each stage validates its
own on creation, so a bad value fails once, before any recording is read.
:func:`options_with` changes options by name, wherever they live, which is how
``rapheunit.analyze(paths, baseline_s=120)`` mirrors the command line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd

from rapheunit.core.epochs import EpochParams
from rapheunit.core.errors import BadParameterError, check_positive
from rapheunit.doseresponse.fits import DEFAULT_FIT_PARAMS, FitParams
from rapheunit.io.load import LoadOptions
from rapheunit.measures.classify import DEFAULT_RULE_SET, WAVEFORM_RULE_SET, get_rule_set
from rapheunit.measures.features import BURST_ISI_S
from rapheunit.measures.qc import QCParams
from rapheunit.measures.timecourse import TimecourseParams

DEFAULT_POPULATION_QUERY = "classification == 'putative_5ht'"


@dataclass(frozen=True)
class ClassificationOptions:
    """Which rule set classifies units, and how it is changed.

    Parameters
    ----------
    rule_set : str
        A registered rule set, or ``"default"`` (the classic in-vivo set when
        the unit has waveforms, the firing-only set when it has none).
    overrides : dict, optional
        Threshold name -> value, applied last.
    config : dict, optional
        A rule configuration as read by :func:`rapheunit.measures.classify.load_rule_config`.
    burst_isi_s : float
        Intraburst ISI limit for the burst metrics and the burst-removed CV.
    """

    rule_set: str = DEFAULT_RULE_SET
    overrides: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    burst_isi_s: float = BURST_ISI_S

    def __post_init__(self) -> None:
        check_positive(self.burst_isi_s, "burst_isi_s")
        # Fail once, at the start, rather than on every recording. The classic set's
        # thresholds are a superset of the firing-only ones that "default" also uses.
        name = WAVEFORM_RULE_SET if self.rule_set == DEFAULT_RULE_SET else self.rule_set
        get_rule_set(name, overrides=self.overrides, config=self.config)


@dataclass(frozen=True)
class PopulationOptions:
    """Which units enter the population tables, and how they are grouped.

    Parameters
    ----------
    select : str
        A pandas query on ``units.csv`` columns; by default the putative 5-HT units.
    group_by : str, optional
        A column splitting the selected units into groups (one summary row each);
        with ``metadata`` it also gives ``groups.csv``.
    metadata : path or DataFrame, optional
        Table of recordings (``recording, animal, group, ...``) joined onto every
        output table.
    """

    select: str = DEFAULT_POPULATION_QUERY
    group_by: str | None = None
    metadata: str | Path | pd.DataFrame | None = None


@dataclass(frozen=True)
class AnalysisOptions:
    """Every parameter of an analysis run (written to ``params.json``)."""

    load: LoadOptions = field(default_factory=LoadOptions)
    epochs: EpochParams = field(default_factory=EpochParams)
    classification: ClassificationOptions = field(default_factory=ClassificationOptions)
    fit: FitParams = DEFAULT_FIT_PARAMS
    qc: QCParams = field(default_factory=QCParams)
    population: PopulationOptions = field(default_factory=PopulationOptions)
    timecourse: TimecourseParams = field(default_factory=TimecourseParams)

    def as_dict(self) -> dict[str, Any]:
        """Parameters as plain JSON-ready data."""
        params = asdict(self)
        for group, name in (("load", "doses"), ("population", "metadata")):
            value = params[group][name]
            if value is not None and not isinstance(value, str | Path):
                params[group][name] = "table given in Python"
        return params


def options_with(options: AnalysisOptions, **settings: Any) -> AnalysisOptions:
    """A copy of ``options`` with parameters given by name changed, wherever they live.

    Examples
    --------
    >>> options_with(AnalysisOptions(), baseline_s=90.0).epochs.baseline_s
    90.0
    """
    if not settings:
        return options
    groups = {name: getattr(options, name) for name in (f.name for f in fields(options))}
    changes: dict[str, dict[str, Any]] = {name: {} for name in groups}
    for key, value in settings.items():
        owner = next((g for g, obj in groups.items() if key in _field_names(obj)), None)
        if owner is None:
            known = sorted(k for obj in groups.values() for k in _field_names(obj))
            raise BadParameterError(f"unknown parameter {key!r} (known: {', '.join(known)})")
        changes[owner][key] = tuple(value) if isinstance(value, list) else value
    return replace(options, **{g: replace(groups[g], **c) for g, c in changes.items() if c})


def _field_names(obj: Any) -> set[str]:
    return {f.name for f in fields(obj)}
