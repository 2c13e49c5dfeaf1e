"""The planners' report generated from a release (static German website, offline)."""
