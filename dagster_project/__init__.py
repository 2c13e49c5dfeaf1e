"""Daten für Taten: the social-planning warehouse (Dagster + DuckDB + dbt + Great Expectations)."""

from dagster_project import settings as _settings

_settings.disable_telemetry()
