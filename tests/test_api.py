"""The Python API of the README runs as written (tiny settings) and returns real modules."""

import pytest
import torch
from torch import nn

import archfit
from archfit.errors import ArchfitError
from tests.conftest import TINY_SPACE_ARGS


def test_search_returns_a_typed_result_with_a_real_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written to the working folder
    result = archfit.search(space="chain", data="digits", budget={"flops": "1M"}, trials=3, epochs=1,
                            final_epochs=1, seed=0, strategy="random", space_args=TINY_SPACE_ARGS)
    assert isinstance(result, archfit.SearchResult) and list(tmp_path.iterdir()) == []
    assert result.best.arch.key and 0 <= result.best.metrics["test_acc"] <= 1
    assert 0 < result.best.cost.flops <= 1e6
    assert isinstance(result.model, nn.Module) and result.model(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    data = result.to_dict()
    assert data["best"]["key"] == result.best.arch.key and data["n_trials"] == 3 == result.n_trials


def test_search_keeps_a_named_run_folder_and_refuses_bad_budgets(tmp_path):
    with pytest.raises(ArchfitError, match="budget metric 'joules'"):
        archfit.search(budget={"joules": 1})
    with pytest.raises(ArchfitError, match="unexpected keyword"):
        archfit.search(budget={"flops": "1M"}, no_such_setting=1)
    result = archfit.search(data="digits", budget={"size_bytes": "20KB"}, trials=2, epochs=1, final_epochs=0,
                            strategy="random", space_args=TINY_SPACE_ARGS, out=tmp_path / "run")
    assert (tmp_path / "run" / "results.json").is_file() and result.best.cost.value("size_bytes") <= 2e4


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                  nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.body(x))


def test_slim_returns_a_smaller_real_model():
    torch.manual_seed(0)
    model = SmallCNN()
    slim = archfit.slim(model, data="digits", budget={"flops": "50%"}, pretrain_epochs=1, supernet_epochs=1,
                        evaluations=4, finetune_epochs=1)
    assert slim.after["flops"] <= 0.5 * slim.before["flops"] and slim.after["params"] < slim.before["params"]
    assert slim.model(torch.zeros(2, 1, 8, 8)).shape == (2, 10) and isinstance(slim.model, nn.Module)
    assert sum(p.numel() for p in model.parameters()) == slim.before["params"]  # the original is left alone
    with pytest.raises(ArchfitError, match="give a budget"):
        archfit.slim(model, data="digits")
