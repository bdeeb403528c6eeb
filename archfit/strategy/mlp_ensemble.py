"""Moved to ``archfit.predict.mlp_ensemble``; kept so existing imports keep working."""

from archfit.predict.mlp_ensemble import MLPEnsemble

__all__ = ["MLPEnsemble"]
