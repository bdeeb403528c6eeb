"""Benchmarks on ground truth: strategies on a tabular benchmark, cheap predictors vs the table."""
