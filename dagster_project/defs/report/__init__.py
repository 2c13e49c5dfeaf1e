"""The planners' report asset, made from the published release (assets.py)."""
