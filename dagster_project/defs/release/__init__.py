"""The release asset: disclosure control and publishing (assets.py)."""
