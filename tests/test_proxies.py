"""Every zero-cost proxy on tiny NB201 and chain networks: finite, deterministic, model untouched, and a
check per proxy that can fail (sign against a dead network, a brute-force oracle, or data-freedom)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from archfit.errors import ArchfitError
from archfit.proxies import Batch, create_proxy, data_batch, list_proxies, random_batch, score
from archfit.space import create_space

ALL = ("fisher", "flops", "grad_norm", "grasp", "jacov", "meco", "naswot", "params", "snip", "swap", "synflow",
       "zen", "zico")
CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
MIXED = "|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|skip_connect~2|"
DEAD = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def nb201(text: str, seed: int = 0) -> nn.Module:
    space = create_space("nb201", input_shape=(3, 8, 8), channels=4, cells=1)
    torch.manual_seed(seed)
    return space.build(space.parse(text))


def chain_net(seed: int = 0) -> nn.Module:
    space = create_space("chain", input_shape=(1, 8, 8), num_classes=10, stage_channels=(8, 8), max_depth=1,
                         stem_channels=8, head_channels=16)
    torch.manual_seed(seed)
    return space.build(space.sample(np.random.default_rng(0)))


def test_registry_names_every_proxy():
    assert tuple(list_proxies()) == ALL
    with pytest.raises(ArchfitError, match="unknown zero-cost proxy 'nope'"):
        create_proxy("nope")


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("net", ["nb201", "chain"])
def test_finite_deterministic_and_model_untouched(name, net):
    build = (lambda: nb201(MIXED)) if net == "nb201" else chain_net
    model = build()
    shape = (3, 8, 8) if net == "nb201" else (1, 8, 8)
    batch = random_batch(shape, 10, 8, seed=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    first = score(name, model, batch, seed=3)
    assert math.isfinite(first)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert score(name, build(), batch, seed=3) == first  # a fresh identical network, same seed: same score


@pytest.mark.parametrize("name", ALL)
def test_a_network_without_a_path_from_the_input_scores_lowest(name):
    """All-'none' cells compute zeros: no proxy may rank that network above working ones."""
    batch = random_batch((3, 8, 8), 10, 8, seed=0)
    dead = score(name, nb201(DEAD), batch)
    for text in (CONV, MIXED):
        assert score(name, nb201(text), batch) > dead, text


@pytest.mark.parametrize("name", ["synflow", "zen", "flops", "params"])
def test_data_free_proxies_ignore_the_batch_values(name):
    a, b = random_batch((3, 8, 8), 10, 8, seed=0), random_batch((3, 8, 8), 10, 8, seed=5)
    assert score(name, nb201(MIXED), a) == score(name, nb201(MIXED), b)


@pytest.mark.parametrize("name", ["snip", "grad_norm", "fisher", "zico", "jacov", "naswot", "meco", "swap"])
def test_data_proxies_depend_on_the_batch(name):
    """(Batch 12, not 8: with 8 inputs SWAP saturates at 2^8 = 256 patterns on this net.)"""
    a, b = random_batch((3, 8, 8), 10, 12, seed=0), random_batch((3, 8, 8), 10, 12, seed=5)
    assert score(name, nb201(CONV), a) != score(name, nb201(CONV), b)


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def tiny_batch(n: int = 6) -> Batch:
    gen = torch.Generator().manual_seed(0)
    return Batch(torch.randn(n, 4, generator=gen), torch.randint(2, (n,), generator=gen), 2)


def flat_loss(model: nn.Module, batch: Batch):
    weights = [model[1].weight, model[3].weight]
    shapes = [w.shape for w in weights]

    def loss(flat: torch.Tensor) -> torch.Tensor:
        w1 = flat[: shapes[0].numel()].reshape(shapes[0])
        w2 = flat[shapes[0].numel():].reshape(shapes[1])
        hidden = torch.relu(batch.x @ w1.T + model[1].bias)
        return nn.functional.cross_entropy(hidden @ w2.T + model[3].bias, batch.y)

    return loss, torch.cat([w.detach().flatten() for w in weights])


def test_grasp_matches_an_explicit_hessian():
    model, batch = mlp(), tiny_batch()
    loss, theta = flat_loss(model, batch)
    grad = torch.autograd.functional.jacobian(loss, theta)
    hessian = torch.autograd.functional.hessian(loss, theta)
    expected = float(-(theta * (hessian @ grad)).sum())
    assert score("grasp", model, batch) == pytest.approx(expected, rel=1e-4, abs=1e-7)


def test_snip_and_grad_norm_match_autograd_by_hand():
    model, batch = mlp(), tiny_batch()
    loss, theta = flat_loss(model, batch)
    grad = torch.autograd.functional.jacobian(loss, theta)
    assert score("snip", model, batch) == pytest.approx(float((theta * grad).abs().sum()), rel=1e-5)
    n1 = model[1].weight.numel()
    assert score("grad_norm", model, batch) == pytest.approx(float(grad[:n1].norm() + grad[n1:].norm()), rel=1e-5)


def test_naswot_and_swap_match_codes_counted_by_hand():
    model, batch = mlp(), tiny_batch()
    with torch.no_grad():
        codes = (batch.x @ model[1].weight.T + model[1].bias > 0).double()
    kernel = codes @ codes.T + (1 - codes) @ (1 - codes).T + torch.eye(len(codes), dtype=torch.float64)
    assert score("naswot", model, batch) == pytest.approx(float(torch.linalg.slogdet(kernel).logabsdet))
    assert score("swap", model, batch) == len({tuple(col.tolist()) for col in codes.T})


def test_jacov_is_highest_for_uncorrelated_jacobians():
    """A linear map's input Jacobian is the same for every input: perfectly correlated, the lowest score;
    the bound for perfectly uncorrelated ones is -N(log(1 + k) + 1/(1 + k))."""
    batch = Batch(torch.randn(5, 16, generator=torch.Generator().manual_seed(0)), torch.zeros(5).long(), 2)
    torch.manual_seed(0)
    linear = score("jacov", nn.Sequential(nn.Linear(16, 2)), batch)
    relu = score("jacov", nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 2)), batch)
    assert linear < -1e4 < relu <= -5 * (math.log(1 + 1e-5) + 1 / (1 + 1e-5)) + 1e-6


def test_zico_needs_two_parts_and_meco_some_samples():
    batch = random_batch((3, 8, 8), 10, 4)
    with pytest.raises(ArchfitError, match="splits 5"):
        score(create_proxy("zico", splits=5), nb201(CONV), batch)
    with pytest.raises(ArchfitError, match="samples 0"):
        score(create_proxy("meco", samples=0), nb201(CONV), batch)
    assert score(create_proxy("meco", samples=4), nb201(CONV), batch) > 0


def test_data_batch_repeats_grey_images_and_is_seeded():
    x, y = torch.rand(20, 1, 8, 8), torch.arange(20) % 10
    batch = data_batch(x, y, 10, size=6, seed=2, channels=3)
    assert batch.x.shape == (6, 3, 8, 8) and torch.equal(batch.x[:, 0], batch.x[:, 2])
    assert torch.equal(data_batch(x, y, 10, 6, 2).y, batch.y)
    with pytest.raises(ArchfitError, match="batch size 30"):
        data_batch(x, y, 10, size=30)


def test_zero_cost_module_still_exports_synflow_and_the_estimator():
    from archfit.estimate.zero_cost import PROXIES, ZeroCostEstimator, synflow

    space = create_space("nb201", input_shape=(3, 8, 8), channels=4, cells=1)
    assert "synflow" in PROXIES and "naswot" in PROXIES and "nope" not in PROXIES
    torch.manual_seed(0)
    direct = synflow(space.build(space.parse(CONV)), (3, 8, 8))
    result = ZeroCostEstimator(space, "synflow").estimate(space.parse(CONV))
    assert result.metrics["synflow"] == pytest.approx(direct) and direct > 0
    assert ZeroCostEstimator(space, "naswot").estimate(space.parse(CONV)).metrics["naswot"] > 0
    with pytest.raises(ArchfitError, match="unknown zero-cost proxy"):
        ZeroCostEstimator(space, "nope")
