"""Access for BI tools: the connection settings of docs/bi.md as code (and `python -m dagster_project.bi`)."""
