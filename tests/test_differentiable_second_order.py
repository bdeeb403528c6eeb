"""Second-order DARTS: the finite-difference architecture gradient matches the exact unrolled gradient
(autograd through one weight step, the oracle) on a toy supernet, differs from the first-order one, and
moves alpha in a search."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from archfit.data.base import make_module
from archfit.differentiable import DiffSettings, create_method, differentiable_search
from archfit.differentiable.loop import BilevelLoop
from archfit.differentiable.supernet import Nb201Supernet
from archfit.errors import ArchfitError
from archfit.space import create_space


def toy_data(n: int = 64, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    x[:, 0, :4, :4] += y[:, None, None]
    return make_module("toy", x, y, x[:16], y[:16])


def setup(order: int, fd_scale: float = 1e-6):
    torch.manual_seed(0)
    space = create_space("nb201", input_shape=[1, 8, 8], num_classes=3, channels=4, cells=1)
    supernet = Nb201Supernet(space).double()
    with torch.no_grad():
        supernet.alpha.normal_(0, 0.5)
    method = create_method("darts", order=order, fd_scale=fd_scale)
    loop = BilevelLoop(supernet, method, toy_data(), DiffSettings(epochs=1, batch_size=16, weight_lr=0.1))
    method.start(loop)
    method.begin_epoch(0)
    split_w, split_a = loop.weight_split, loop.arch_split
    batches = ((split_w.x[:16].double(), split_w.y[:16]), (split_a.x[:16].double(), split_a.y[:16]))
    return supernet, method, batches


def exact_unrolled_gradient(supernet, method, weights_batch, arch_batch, xi: float) -> torch.Tensor:
    """d/d alpha of L_val(w - xi grad_w L_train(w, alpha), alpha), by autograd through the weight step."""
    names = [n for n, _ in supernet.named_parameters() if n.startswith("net.")]
    params = dict(supernet.named_parameters())
    method.mixture(0.0, "arch")
    train_loss = F.cross_entropy(supernet(weights_batch[0]), weights_batch[1])
    grads = torch.autograd.grad(train_loss, [params[n] for n in names], create_graph=True)
    unrolled = {n: params[n] - xi * g for n, g in zip(names, grads)}
    method.mixture(0.0, "arch")
    val_loss = F.cross_entropy(functional_call(supernet, unrolled, (arch_batch[0],)), arch_batch[1])
    return torch.autograd.grad(val_loss, supernet.alpha)[0]


def test_second_order_gradient_matches_the_unrolled_oracle_and_differs_from_first_order():
    supernet, method, (wb, ab) = setup(order=2)  # a tiny perturbation: the finite difference is exact here
    before = {k: v.clone() for k, v in supernet.state_dict().items()}
    second = method.arch_gradient(0.0, wb, ab)[0]
    after = supernet.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN statistics restored
    exact = exact_unrolled_gradient(supernet, method, wb, ab, xi=0.1)
    method.order = 1
    first = method.arch_gradient(0.0, wb, ab)[0]
    relative = lambda a, b: float((a - b).norm() / b.norm())
    assert relative(second, exact) < 0.05  # the finite-difference Hessian-vector product is accurate
    assert relative(first, exact) > 4 * relative(second, exact)  # and the second-order term matters


def test_darts2_moves_alpha_and_derives_a_valid_arch():
    space = create_space("nb201", input_shape=[1, 8, 8], num_classes=3, channels=4, cells=1)
    outcome = differentiable_search(space, toy_data(48), "darts2", DiffSettings(epochs=1, batch_size=16,
                                                                                arch_lr=0.05, eval_samples=32))
    last = np.array(outcome.alpha_history[-1])
    assert not np.allclose(last, last[:, :1]) and space.is_valid(outcome.arch)
    with pytest.raises(ArchfitError, match="order 3"):
        create_method("darts", order=3)
