"""Training and evaluation shared by every estimator and compression pass."""

from archfit.train.trainer import TrainConfig, TrainStats, accuracy, predict, train

__all__ = ["TrainConfig", "TrainStats", "accuracy", "predict", "train"]
