"""The one bilevel loop every differentiable method runs: epochs of ``method.step`` on two halves of the
training split (network weights on one, architecture parameters on the other, as in DARTS), a checkpoint
per epoch, a progress callback with an ETA, then ``method.derive``.

Resume is exact: batch order and the method's randomness are reseeded per epoch from (seed, epoch), and
the checkpoint holds the supernet (BatchNorm statistics included) and both optimisers' state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from archfit.data.base import DataModule, Split
from archfit.differentiable import checkpoint
from archfit.differentiable.method import Method
from archfit.errors import ArchfitError
from archfit.space.base import Arch

Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class DiffSettings:
    """Search settings; defaults follow DARTS' CIFAR-10 search (scaled runs change epochs and arch_lr)."""

    epochs: int = 10
    batch_size: int = 64
    weight_lr: float = 0.025  # SGD peak, cosine decay to 0
    weight_momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0  # max L2 norm of the weights' gradient
    arch_lr: float = 3e-4  # Adam, betas (0.5, 0.999)
    arch_decay: float = 1e-3
    warmup_epochs: int = 0  # epochs that train the weights only
    arch_fraction: float = 0.5  # share of the training split that trains the architecture parameters
    eval_samples: int = 1000  # arch-split samples for supernet accuracies (DARTS-PT selection)
    seed: int = 0
    method_params: dict[str, Any] = field(default_factory=dict)  # the method's constructor arguments

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2 or not 0 <= self.warmup_epochs <= self.epochs:
            raise ArchfitError(f"differentiable settings {asdict(self)}: need epochs >= 1, batch_size >= 2 and "
                               "0 <= warmup_epochs <= epochs")
        if not (self.weight_lr > 0 and self.arch_lr > 0 and 0 < self.arch_fraction < 1 and self.eval_samples > 0):
            raise ArchfitError(f"differentiable settings {asdict(self)}: need weight_lr, arch_lr, eval_samples > 0 "
                               "and 0 < arch_fraction < 1")


class BilevelLoop:
    """State of one search: supernet, method, both optimisers, the two data halves, the history."""

    def __init__(self, supernet: torch.nn.Module, method: Method, data: DataModule, settings: DiffSettings,
                 out: Path | None = None, progress: Progress | None = None) -> None:
        self.supernet, self.method, self.settings = supernet, method, settings
        self.out, self.progress = out, progress
        order = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(settings.seed))
        cut = round(len(order) * (1 - settings.arch_fraction))
        self.weight_split = Split(data.train.x[order[:cut]], data.train.y[order[:cut]])
        self.arch_split = Split(data.train.x[order[cut:]], data.train.y[order[cut:]])
        if min(len(self.weight_split), len(self.arch_split)) < settings.batch_size:
            raise ArchfitError(f"differentiable search: {len(data.train)} training samples split "
                               f"{len(self.weight_split)}/{len(self.arch_split)} are fewer than batch size "
                               f"{settings.batch_size}")
        self.weight_optimizer = torch.optim.SGD(supernet.weight_parameters(), lr=settings.weight_lr,
                                                momentum=settings.weight_momentum, weight_decay=settings.weight_decay)
        self.arch_optimizer = torch.optim.Adam(supernet.arch_parameters(), lr=settings.arch_lr, betas=(0.5, 0.999),
                                               weight_decay=settings.arch_decay)
        self.steps_per_epoch = min(len(self.weight_split), len(self.arch_split)) // settings.batch_size
        self.total_steps = self.steps_per_epoch * settings.epochs
        self.history: list[list[list[float]]] = []  # per epoch: (edges, ops) scores
        self.losses: list[float] = []
        self.warming_up = False
        self.wall_s = 0.0

    # -- running ---------------------------------------------------------------------------------
    def run(self, resume: bool = False) -> list[str]:
        """All epochs (from the last checkpoint when ``resume``), then the derived op per edge."""
        self.method.start(self)
        first = self._restore() if resume and self.out is not None else 0
        settings, bs = self.settings, self.settings.batch_size
        for epoch in range(first, settings.epochs):
            begun = time.perf_counter()
            self.method.begin_epoch(epoch)
            self.warming_up = epoch < settings.warmup_epochs
            generator = torch.Generator().manual_seed(settings.seed * 1_000_003 + epoch)
            w_order = torch.randperm(len(self.weight_split), generator=generator)
            a_order = torch.randperm(len(self.arch_split), generator=generator)
            self.supernet.train()
            running = 0.0
            for i in range(self.steps_per_epoch):
                step = epoch * self.steps_per_epoch + i
                t = step / self.total_steps
                for group in self.weight_optimizer.param_groups:
                    group["lr"] = self.method.weight_lr(t, settings.weight_lr)
                wi, ai = w_order[i * bs:(i + 1) * bs], a_order[i * bs:(i + 1) * bs]
                running += self.method.step(t, (self.weight_split.x[wi], self.weight_split.y[wi]),
                                            (self.arch_split.x[ai], self.arch_split.y[ai]))
                if self.progress is not None:
                    done = step + 1 - first * self.steps_per_epoch
                    spent = self.wall_s + time.perf_counter() - begun
                    rate = (time.perf_counter() - begun) / (i + 1)
                    self.progress({"epoch": epoch + 1, "epochs": settings.epochs, "step": step + 1,
                                   "steps": self.total_steps, "loss": running / (i + 1), "elapsed_s": spent,
                                   "eta_s": rate * (self.total_steps - step - 1), "done": done})
            self.wall_s += time.perf_counter() - begun
            self.losses.append(running / self.steps_per_epoch)
            self.history.append(self.method.scores().tolist())
            if self.out is not None:
                self._save(epoch + 1)
        begun = time.perf_counter()
        ops = self.method.derive()
        self.wall_s += time.perf_counter() - begun
        return ops

    # -- helpers for methods ---------------------------------------------------------------------
    def valid_ops(self, scores: torch.Tensor) -> list[str]:
        """Argmax op per edge; if that cell is invalid (disconnected), the ``none`` edge with the smallest
        margin takes its best other op, until the cell is valid. ``self.repaired`` counts such edges. A
        supernet with a ``discretise(scores)`` rule (the DARTS cell space) derives by that rule instead."""
        ops_set, names, space = self.supernet.ops, self.supernet.edge_names, self.supernet.space
        scores = scores.clone()
        self.repaired = 0
        discretise = getattr(self.supernet, "discretise", None)
        if discretise is not None:  # a space with its own derivation rule (DARTS cells: top-2 edges per node)
            return discretise(scores)
        while True:
            ops = [ops_set[int(i)] for i in scores.argmax(dim=-1)]
            if space.is_valid(Arch(dict(zip(names, ops)))) or "none" not in ops_set:
                return ops
            none = ops_set.index("none")
            top2 = scores.topk(2, dim=-1).values
            margins = [(float(top2[k, 0] - top2[k, 1]), k) for k, op in enumerate(ops) if op == "none"]
            scores[min(margins)[1], none] = -float("inf")
            self.repaired += 1

    @torch.no_grad()
    def supernet_accuracy(self, t: float = 1.0) -> float:
        """Accuracy (fraction) of the supernet as ``method.mixture(t, "eval")`` leaves it, on the first
        ``eval_samples`` of the arch split (BatchNorm in training mode: batch statistics)."""
        n = min(self.settings.eval_samples, len(self.arch_split))
        x, y = self.arch_split.x[:n], self.arch_split.y[:n]
        self.method.mixture(t, "eval")
        correct = sum(int((self.supernet(x[i:i + 250]).argmax(1) == y[i:i + 250]).sum()) for i in range(0, n, 250))
        return correct / n

    # -- checkpoints -----------------------------------------------------------------------------
    def _save(self, epoch: int) -> None:
        tensors = {f"net.{k}": v for k, v in self.supernet.state_dict().items()}
        w_tensors, w_meta = checkpoint.optimizer_parts(self.weight_optimizer, "optw")
        a_tensors, a_meta = checkpoint.optimizer_parts(self.arch_optimizer, "opta")
        tensors.update(w_tensors, **a_tensors)
        tensors.update({f"method.{k}": v for k, v in self.method.state_tensors().items()})
        meta = {"epoch": epoch, "method": self.method.name, "settings": asdict(self.settings),
                "history": self.history, "losses": self.losses, "wall_s": self.wall_s,
                "optw": w_meta, "opta": a_meta}
        checkpoint.save(self.out, tensors, meta)

    def _restore(self) -> int:
        loaded = checkpoint.load(self.out)
        if loaded is None:
            return 0
        tensors, meta = loaded
        if meta["method"] != self.method.name or meta["settings"] != _jsonable(asdict(self.settings)):
            raise ArchfitError(f"{self.out} holds a search with method {meta['method']!r} and settings "
                               f"{meta['settings']}; resume needs the same method and settings")
        self.supernet.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        checkpoint.restore_optimizer(self.weight_optimizer, "optw", tensors, meta["optw"])
        checkpoint.restore_optimizer(self.arch_optimizer, "opta", tensors, meta["opta"])
        self.method.load_state_tensors({k[7:]: v for k, v in tensors.items() if k.startswith("method.")})
        self.history, self.losses, self.wall_s = meta["history"], meta["losses"], float(meta["wall_s"])
        return int(meta["epoch"])


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value))
