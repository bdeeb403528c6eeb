"""Reports people read: a self-contained HTML page with figures, and terminal tables."""

from archfit.report.html import Report

__all__ = ["Report"]
