"""Compression of existing models: channel groups, width supernet and search, pruning baselines,
distillation, model specs and slimmed-model files (``archfit slim``; see docs/slim.md)."""
