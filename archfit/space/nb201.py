"""Placeholder replaced by the NAS-Bench-201 issue."""
