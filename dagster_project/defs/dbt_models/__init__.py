"""The dbt project as Dagster assets (assets.py); when it is rebuilt in full: dagster_project/dbt_state.py."""
