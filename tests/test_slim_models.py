"""Slim takes any model: DenseNet / SE / grouped-conv reference models are slimmable through their stem,
and a model whose channels are indexed in forward is refused in one line before any training."""

import numpy as np
import pytest
import torch

from archfit.cli import main
from archfit.compress.extract import extract
from archfit.compress.pipeline import SlimConfig, check_budget, prepare, run_method
from archfit.compress.spec import build_model, fill_args
from archfit.compress.width_supernet import ChannelGate
from archfit.cost import CostModel, count_flops, count_params
from archfit.data import load_data
from archfit.errors import ArchfitError
from archfit.models import BUILTIN
from archfit.space.model_width import width_space

SHAPE = (1, 8, 8)
TINY = {"densenet": {"growth": 4, "blocks": [2, 2]}, "se_resnet": {"widths": [8, 16], "depth": 1},
        "resnext": {"widths": [16, 32], "depth": 1, "cardinality": 4, "group_width": 2}}

SPARSE_MODEL = '''
import torch
from torch import nn


class SparseDenseNet(nn.Module):
    """Expander-style dense connection: layer2 reads every other channel of [stem, layer1]."""

    def __init__(self, num_classes=10, in_channels=1, width=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.layer1 = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.register_buffer("pick", torch.arange(0, 2 * width, 2))
        self.layer2 = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.head = nn.Linear(width, num_classes)

    def forward(self, x):
        s = self.stem(x)
        a = self.layer1(s)
        b = self.layer2(torch.cat([s, a], 1).index_select(1, self.pick))
        return self.head(b.mean((2, 3)))
'''


def _model(name: str, shape=SHAPE):
    torch.manual_seed(0)
    model = build_model(name, fill_args(name, TINY[name], shape, 10)).eval()
    for module in model.modules():  # non-trivial statistics, so masking errors would show
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
            module.bias.data.normal_()
    return model


@pytest.mark.parametrize("name", list(TINY))
def test_reference_models_slim_through_the_stem_exactly(name):
    assert name in BUILTIN
    model = _model(name)
    space = width_space(model, SHAPE)
    space.check()
    first = next(n for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d))
    assert any(first in g.members for g in space.groups)  # the stem is searchable, not kept
    assert [lo.tied_to for lo in space.left_out] == ["classifier"]
    cost, full = CostModel(space), count_flops(model, SHAPE)
    assert cost(space.smallest()).flops < 0.25 * full  # 50% and 25% budgets are reachable
    rng = np.random.default_rng(0)
    gate = ChannelGate(model, space)
    x = torch.randn(3, *SHAPE)
    for _ in range(2):
        arch = space.validate({g.name: g.choices[rng.integers(len(g.choices) - 1)] for g in space.groups})
        gate.set_widths(arch)
        with torch.no_grad():
            masked = model(x)
        gate.set_widths(None)
        small = extract(model, space, arch).eval()
        with torch.no_grad():
            assert torch.allclose(masked, small(x), atol=1e-4)
        assert cost(arch).flops == count_flops(small, SHAPE) and cost(arch).params == count_params(small)
    gate.remove()


def test_1d_variants_build_from_the_input_shape():
    model = _model("densenet", (1, 40))
    assert isinstance(model.features[0], torch.nn.Conv1d) and model(torch.randn(2, 1, 40)).shape == (2, 10)


def test_densenet_reaches_a_quarter_of_its_flops_with_width_search_and_l1():
    config = SlimConfig(model="densenet", model_args=TINY["densenet"], data="digits", max_flops="25%",
                        methods=("width", "l1"), pretrain_epochs=5, supernet_epochs=1, evaluations=4,
                        finetune_epochs=2)
    ctx = prepare(config, data=load_data("digits"), log=lambda *_: None)
    check_budget(ctx)
    for method in config.methods:
        entry = run_method(ctx, method, log=lambda *_: None)
        assert entry["after"]["flops"] <= 0.25 * entry["before"]["flops"]
        assert entry["after"]["test_acc"] > 0.15  # above chance (0.1); tiny DenseNet, few epochs


def test_channel_indexing_is_refused_before_training_naming_the_layers(tmp_path, capsys):
    path = tmp_path / "sparse.py"
    path.write_text(SPARSE_MODEL)
    out = tmp_path / "run"
    code = main(["slim", "--model", f"{path}:SparseDenseNet", "--data", "digits", "--max-flops", "50%",
                 "--out", str(out)])  # default pre-training: 30 epochs, never started
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "cannot slim this model's channel coupling" in err and "stem.0" in err and "layer1.0" in err
    assert "--ignore" in err and "training" not in captured.out
    assert not out.exists()


def test_the_suggested_ignore_makes_the_indexed_model_slimmable(tmp_path):
    import importlib.util

    path = tmp_path / "sparse_ok.py"
    path.write_text(SPARSE_MODEL)
    spec = importlib.util.spec_from_file_location("sparse_ok", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.SparseDenseNet().eval()
    with pytest.raises(ArchfitError, match="--ignore layer1.0"):
        width_space(model, SHAPE).check()
    space = width_space(model, SHAPE, ignore=("layer1.0",))
    space.check()  # the indexed channels stay at full width; layer2 is still searchable
    assert [g.name for g in space.groups] == ["layer2.0"]
