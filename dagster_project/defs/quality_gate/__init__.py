"""The release gate: the Great Expectations suites as blocking asset checks (checks.py)."""
