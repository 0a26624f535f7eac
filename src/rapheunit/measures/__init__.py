"""Per-recording measures: firing and waveform features, QC, verdicts and time courses."""
