"""Options, the per-recording pipeline, and the batch runner."""
