"""``predict``/``accuracy`` run the model in chunks of ``EVAL_BATCH`` samples (small chunks keep activations in
the CPU caches), restore the model's mode, and give the same logits as one big pass."""

from __future__ import annotations

import torch
from torch import nn

from archfit.data.base import Split
from archfit.train.trainer import EVAL_BATCH, accuracy, predict


class Recorder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.sizes: list[int] = []
        self.modes: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.sizes.append(len(x))
        self.modes.append(self.training)
        return self.linear(x)


def test_predict_chunks_by_eval_batch_in_eval_mode():
    torch.manual_seed(0)
    model, x = Recorder().train(), torch.randn(3 * EVAL_BATCH + 5, 3)
    logits = predict(model, x)
    assert EVAL_BATCH == 64 and model.sizes == [64, 64, 64, 5] and not any(model.modes) and model.training
    assert torch.allclose(logits, model.linear(x), atol=1e-6)


def test_accuracy_uses_the_same_chunks():
    model = Recorder()
    x = torch.randn(130, 3)
    y = model.linear(x).argmax(1)
    assert accuracy(model, Split(x, y)) == 1.0 and model.sizes == [64, 64, 2]
