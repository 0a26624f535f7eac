"""The settings of spike detection and sorting, with the reasons for their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from rapheunit.core.errors import BadParameterError, check_option, check_positive, validate_type
from rapheunit.core.params import param
from rapheunit.detection.sorting import MAX_CLUSTERS

# Extracellular spike band: 300 Hz removes field potentials, 5 kHz keeps the spike shape.
DEFAULT_BAND_HZ = (300.0, 5000.0)
DEFAULT_FILTER_ORDER = 3  # Butterworth order of the band-pass (applied forward and backward)
# Quiroga et al. (2004) detect at 4-5 noise SDs; 5 keeps false events from noise rare.
DEFAULT_THRESHOLD_MAD = 5.0
# Events are locally exclusive over one spike width: a peak is kept only when it is the
# largest within 2 ms, where the other phases of a broad biphasic or triphasic DRN spike
# lie (up to 3.5 ms long), so one spike gives one event; a neuron cannot fire twice
# within 2 ms anyway (spike and refractory period).
DEFAULT_DEAD_TIME_MS = 2.0
# 6 ms with the aligned extremum at 2.5 ms leaves room for a 3.5 ms spike and its baseline.
DEFAULT_SNIPPET_MS = 6.0
DEFAULT_SNIPPET_PRE_MS = 2.5
# 2**18 samples (10 s at 25 kHz, 1 MiB as float32) per chunk: as fast as 2**20 in the benchmark,
# with a quarter of the working memory (benchmarks/README_detect.md).
DEFAULT_CHUNK_SAMPLES = 2**18
POLARITIES = ("both", "negative", "positive")


@dataclass(frozen=True)
class DetectParams:
    """Detection and sorting settings (defaults and their reasons: module constants).

    Examples
    --------
    >>> DetectParams(polarity="negative", threshold_mad=4.5).dead_time_ms
    2.0
    >>> DetectParams(polarity="down")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: polarity must be one of 'both', ...
    """

    band_hz: tuple[float, float] = param(
        DEFAULT_BAND_HZ,
        'band-pass edges in Hz',
        name="band",
        metavar=("LOW_HZ", "HIGH_HZ"),
    )
    filter_order: int = param(
        DEFAULT_FILTER_ORDER,
        'Butterworth order of the band-pass (applied forward and backward)',
        metavar="N",
    )
    threshold_mad: float = param(
        DEFAULT_THRESHOLD_MAD,
        'threshold = K x the MAD noise estimate',
        metavar="K",
    )
    polarity: str = param("both", 'spike sign to detect', choices=POLARITIES)
    dead_time_ms: float = param(
        DEFAULT_DEAD_TIME_MS,
        'events are the largest peak within this much (one spike width)',
        metavar="MS",
    )
    snippet_ms: float = param(
        DEFAULT_SNIPPET_MS,
        'length of the waveform cut around each event',
        metavar="MS",
    )
    snippet_pre_ms: float = param(
        DEFAULT_SNIPPET_PRE_MS,
        'part of the snippet before the event',
        metavar="MS",
    )
    chunk_samples: int = param(
        DEFAULT_CHUNK_SAMPLES,
        'samples filtered at a time (bounds the memory)',
        metavar="N",
    )
    max_clusters: int = param(
        MAX_CLUSTERS,
        'most units the sorter may find per channel',
        metavar="N",
    )

    def __post_init__(self) -> None:
        low_hz, high_hz = (check_positive(edge, "band edge (Hz)") for edge in self.band_hz)
        if low_hz >= high_hz:
            raise BadParameterError(f"band must be (low, high) with low < high, got {self.band_hz}")
        for name in ("filter_order", "chunk_samples", "max_clusters"):
            validate_type(getattr(self, name), int, name)
            if getattr(self, name) < 1:
                raise BadParameterError(f"{name} must be >= 1, got {getattr(self, name)}")
        check_positive(self.threshold_mad, "threshold_mad")
        check_option(self.polarity, POLARITIES, "polarity")
        check_positive(self.dead_time_ms, "dead_time_ms")
        check_positive(self.snippet_ms, "snippet_ms")
        check_positive(self.snippet_pre_ms, "snippet_pre_ms", allow_zero=True)
        if self.snippet_pre_ms >= self.snippet_ms:
            raise BadParameterError(
                f"snippet_pre_ms ({self.snippet_pre_ms}) must be shorter than "
                f"snippet_ms ({self.snippet_ms})"
            )


DEFAULT_DETECT_PARAMS = DetectParams()
