"""Synthetic register deliveries calibrated to Dortmund: a tool for demos (`make run` with an
empty inbox), tests and the benchmark. Not part of what Dagster runs: the product reads whatever
is in the inbox. `python -m sample_deliveries --help`."""
