"""Benchmarks (`make bench`): the pipeline against a hand-written DuckDB floor and a pandas peer."""
