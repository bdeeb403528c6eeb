"""DARTS (Liu, Simonyan & Yang, ICLR 2019): softmax mixture, alternating steps, argmax.

``order=1`` (the default) takes the architecture gradient at the current weights. ``order=2`` is the
paper's second-order approximation: the gradient of the validation loss at one unrolled weight step
``w' = w - xi * grad_w L_train(w, alpha)`` (``xi`` = the weights' current learning rate), i.e.

    grad_alpha L_val(w', alpha) - xi * (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps)

with ``w+- = w +- eps * grad_w' L_val(w', alpha)`` and ``eps = 0.01 / ||grad_w' L_val||`` (a finite-difference
Hessian-vector product). It costs two extra forward/backward passes per step. BatchNorm statistics are
restored after the extra passes, so only the step's own weight update changes the supernet. The unrolled
step is plain SGD (no momentum or weight decay), a simplification of the paper's. On a ReLU network the
loss is piecewise smooth, so at the paper's perturbation (norm 0.01) the finite difference can differ much
from the exact Hessian-vector product (on the test's toy supernet, by 7x); ``fd_scale`` sets it.

Known failure: on NAS-Bench-201 its argmax cell collapses to skip connections (54.3 % CIFAR-10 in the
NAS-Bench-201 paper); ``bench/differentiable.py`` reproduces and reports it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from archfit.differentiable.method import Batch, Method, register_method
from archfit.errors import ArchfitError


@register_method("darts")
class Darts(Method):
    """``order``: 1 (weights held fixed in the architecture step) or 2 (one unrolled weight step);
    ``fd_scale``: the norm of the finite-difference perturbation (0.01 in the paper)."""

    def __init__(self, order: int = 1, fd_scale: float = 0.01) -> None:
        if order not in (1, 2) or not fd_scale > 0:
            raise ArchfitError(f"darts: order {order!r} must be 1 or 2 and fd_scale {fd_scale!r} > 0")
        self.order, self.fd_scale = int(order), float(fd_scale)

    def step(self, t: float, weights_batch: Batch, arch_batch: Batch) -> float:
        loop = self.loop
        if self.order == 1 or loop.warming_up:
            return super().step(t, weights_batch, arch_batch)
        grads = self.arch_gradient(t, weights_batch, arch_batch)
        loop.arch_optimizer.zero_grad(set_to_none=True)
        for p, g in zip(self.supernet.arch_parameters(), grads):
            p.grad = g
        loop.arch_optimizer.step()
        self.after_arch_step(t)
        return self.weight_step(t, weights_batch)

    def arch_gradient(self, t: float, weights_batch: Batch, arch_batch: Batch) -> list[torch.Tensor]:
        """The architecture parameters' gradient this step uses (first or second order); the supernet's
        weights and BatchNorm statistics are unchanged afterwards."""
        alphas = self.supernet.arch_parameters()
        if self.order == 1:
            return self._grads(self._loss(t, arch_batch, self.arch_loss), alphas)
        weights = self.supernet.weight_parameters()
        saved = [w.detach().clone() for w in weights]
        buffers = {k: v.clone() for k, v in self.supernet.state_dict().items() if k not in dict(
            self.supernet.named_parameters())}
        xi = self.loop.weight_optimizer.param_groups[0]["lr"]
        try:
            train_grad = self._grads(self._loss(t, weights_batch), weights)
            with torch.no_grad():  # w' = w - xi grad_w L_train
                for w, g in zip(weights, train_grad):
                    w.sub_(xi * g)
            val_grads = self._grads(self._loss(t, arch_batch, self.arch_loss), [*alphas, *weights])
            d_alpha, d_w = val_grads[:len(alphas)], val_grads[len(alphas):]
            eps = self.fd_scale / float(torch.sqrt(sum((g * g).sum() for g in d_w)).clamp_min(1e-12))
            sides = []
            for sign in (1.0, -1.0):  # w+- = w +- eps d_w
                with torch.no_grad():
                    for w, w0, g in zip(weights, saved, d_w):
                        w.copy_(w0 + sign * eps * g)
                sides.append(self._grads(self._loss(t, weights_batch), alphas))
            return [d - xi * (plus - minus) / (2 * eps) for d, plus, minus in zip(d_alpha, *sides)]
        finally:
            with torch.no_grad():
                for w, w0 in zip(weights, saved):
                    w.copy_(w0)
            self.supernet.load_state_dict(buffers, strict=False)

    def _loss(self, t: float, batch: Batch, loss_fn=None) -> torch.Tensor:
        self.mixture(t, "arch")
        x, y = batch
        logits = self.supernet(x)
        return (loss_fn or F.cross_entropy)(logits, y)

    @staticmethod
    def _grads(loss: torch.Tensor, params: list[torch.Tensor]) -> list[torch.Tensor]:
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


@register_method("darts2")
class Darts2(Darts):
    """Second-order DARTS under its own name, for callers that cannot pass method arguments (the job)."""

    def __init__(self, order: int = 2, fd_scale: float = 0.01) -> None:
        super().__init__(order, fd_scale)
