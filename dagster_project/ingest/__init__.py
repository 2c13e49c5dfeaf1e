"""Ingest: read a register delivery, enforce its contract, pseudonymise, load into DuckDB."""
