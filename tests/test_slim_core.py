"""Slim runs on the core: the width space under the core's evolution, sampling rule and distillation loss."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from archfit.compress.width_supernet import BoundarySandwich, WidthSupernet
from archfit.cost import Cost, CostModel, count_flops
from archfit.errors import ArchfitError
from archfit.models.resnet import ResNet1d
from archfit.trial import Trial, TrialState
from archfit.space.model_width import width_space
from archfit.strategy import create_strategy
from archfit.strategy.base import Problem
from archfit.strategy.boundary import BoundaryEvolution
from archfit.train.distill import distill_from, distill_loss

SHAPE = (1, 16)


def _space_and_fits(fraction: float = 0.5):
    torch.manual_seed(0)
    model = ResNet1d(depth=8, width=8).eval()
    space = width_space(model, SHAPE)
    cost, bound = CostModel(space), fraction * count_flops(model, SHAPE)
    return space, cost, (lambda arch: cost(space.validate(arch)).flops <= bound)


def _on_boundary(space, fits, arch) -> bool:
    grown = [dict(arch, **{g.name: c}) for g in space.groups for c in g.choices if c > arch[g.name]]
    return fits(arch) and all(not fits(w) for w in grown)


def _run(seed: int, n: int = 12):
    space, cost, fits = _space_and_fits()
    seed_arch = space.uniform(0.5)
    strategy = create_strategy("boundary", population=4, seeds=[seed_arch])
    assert isinstance(strategy, BoundaryEvolution)
    strategy.start(Problem(space, "score", fits, cost, seed=seed))
    asked = []
    for number in range(n):
        arch = strategy.ask()
        asked.append(arch)
        score = sum(v / space.group(k).channels * (i + 1) for i, (k, v) in enumerate(sorted(arch.items())))
        strategy.tell(Trial(number, arch, TrialState.COMPLETE, cost(arch), {"score": score}))
    return space, fits, seed_arch, asked


def test_boundary_evolution_asks_seeds_first_then_only_boundary_archs():
    space, fits, seed_arch, asked = _run(0)
    assert asked[0] == seed_arch
    assert all(_on_boundary(space, fits, arch) for arch in asked[1:])
    assert len({a.key for a in asked}) == len(asked)  # never proposes an arch twice
    assert [a.key for a in _run(0)[3]] == [a.key for a in asked]  # deterministic given the seed and tells
    assert [a.key for a in _run(1)[3]] != [a.key for a in asked]


def test_width_supernet_trains_on_the_sandwich_rule_with_a_boundary_path():
    space, _cost, fits = _space_and_fits(0.4)
    supernet = WidthSupernet(space.model, space)
    sampler = BoundarySandwich(fits)
    sampler.start(supernet, total_steps=4, steps_per_epoch=2)
    sampler.begin_epoch(0, seed=0)
    x = torch.randn(4, *SHAPE)
    paths = sampler.paths(0, x, torch.zeros(4, dtype=torch.long))
    assert [p.teacher for p in paths] == [True, False, False, False]
    assert paths[0].arch == space.largest() and paths[1].arch == space.smallest()
    assert all(p.loss == "distill" for p in paths[1:])
    assert _on_boundary(space, fits, paths[2].arch)
    supernet.activate(paths[1].arch)
    with torch.no_grad():
        narrow = supernet(x)
    supernet.activate(None)
    with torch.no_grad():
        full = supernet(x)
    assert not torch.allclose(narrow, full)  # the gate changes the function; release() removes it
    net = supernet.release()
    with torch.no_grad():
        assert torch.equal(net(x), full)


def test_one_distillation_loss_covers_in_place_and_fine_tuning_meanings():
    torch.manual_seed(0)
    student, teacher, y = torch.randn(8, 5), torch.randn(8, 5), torch.randint(0, 5, (8,))
    in_place = F.kl_div(F.log_softmax(student, 1), F.softmax(teacher, 1), reduction="batchmean")
    assert torch.allclose(distill_loss(student, teacher), in_place, atol=1e-6)
    kd2 = F.kl_div(F.log_softmax(student / 2, 1), F.softmax(teacher / 2, 1), reduction="batchmean") * 4
    mixed = 0.5 * F.cross_entropy(student, y) + 0.5 * kd2
    assert torch.allclose(distill_loss(student, teacher, 2.0, y, 0.5), mixed, atol=1e-6)
    frozen = torch.nn.Linear(3, 5)
    x = torch.randn(8, 3)
    with torch.no_grad():
        target = frozen(x)
    assert torch.allclose(distill_from(frozen)(student, y, x), distill_loss(student, target, 2.0, y, 0.5), atol=1e-6)
    assert torch.equal(distill_loss(student, teacher, labels=y, alpha=0.0), F.cross_entropy(student, y))
    for bad in ({"alpha": 1.5}, {"temperature": 0.0}, {"alpha": 0.5}):
        with pytest.raises(ArchfitError, match="distillation"):
            distill_loss(student, teacher, **bad)


def test_cost_model_counts_width_archs_exactly_without_building():
    space, cost, _fits = _space_and_fits()
    arch = space.uniform(0.5)
    built = space.build(arch)
    assert cost(arch) == Cost(count_flops(built, SHAPE), sum(p.numel() for p in built.parameters()))
    assert np.isclose(cost(space.largest()).flops, count_flops(space.model, SHAPE))
