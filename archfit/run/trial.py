"""Moved to ``archfit.trial`` (a core record that strategies use; plug-ins never import ``archfit.run``)."""

from archfit.trial import Trial, TrialState, choose_best

__all__ = ["Trial", "TrialState", "choose_best"]
