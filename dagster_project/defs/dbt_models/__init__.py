"""The dbt project as Dagster assets (assets.py) and when it is rebuilt in full (build_state.py)."""
