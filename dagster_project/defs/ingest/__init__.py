"""The registers: one asset per register (inbox -> raw layer, assets.py) and its delivery-calendar
check (freshness.py)."""
