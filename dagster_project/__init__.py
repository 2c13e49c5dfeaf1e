"""Daten für Taten: the social-planning warehouse (Dagster + DuckDB + dbt + Great Expectations)."""

from dagster_project import settings as _settings

_settings.disable_telemetry()

# the city profile DFT_CITY selects (cities/<name>/), where every dbt subprocess finds it
from dagster_project import city_profile as _city_profile  # noqa: E402

_city_profile.export_to_environment()
