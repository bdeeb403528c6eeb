"""Few-shot supernets: split one decision's choices into sub-supernets chosen by gradient matching.

One-shot weight sharing makes every path train the same weights, and paths that pull those weights in
different directions interfere: the score then ranks badly (Zhao et al., "Few-shot neural architecture
search", ICML 2021). Few-shot NAS trains one supernet for a while, then copies it into one sub-supernet per
choice of a decision; each copy goes on training only the archs with that choice, and an arch is scored
by its own copy. Gradient matching (Hu et al., "Generalizing few-shot NAS with gradient matching", ICLR
2022) picks the decision to split: the one whose choices' gradients on the shared weights agree least.

Here the sub-supernets continue the base's own learning-rate schedule: the base trains ``split_epoch`` of
``config.epochs`` epochs, each child the remaining ones, so a child has seen what a one-shot supernet of
``config.epochs`` would have, with its paths restricted after the split. Total cost is ``split_epoch +
K * (epochs - split_epoch)`` epochs of paths (K = the decision's number of choices).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from archfit.data.base import Split
from archfit.errors import ArchfitError
from archfit.space.base import Arch, Space, Value
from archfit.supernet.sampler import Sampler
from archfit.supernet.supernet import Supernet
from archfit.supernet.training import TIMES_FILE, record_seconds, train_supernet
from archfit.train import TrainConfig

MAX_PROBE_ARCHS = 256  # random archs per choice when matching gradients (each costs one forward/backward pass)


def splittable_decisions(space: Space, archs: Sequence[Arch]) -> list[str]:
    """Decisions that matter in every one of ``archs``: setting any of their choices survives ``canonical``.

    A block's kernel is irrelevant when the stage is shallower than the block; splitting on it would route
    archs to a child that never trained their real paths, so such decisions are not candidates.
    """
    keep = []
    for name, values in space.choices.items():
        if len(values) > 1 and all(space.canonical(a.replace(**{name: v}))[name] == v for a in archs for v in values):
            keep.append(name)
    return keep


def _gradient(supernet: Supernet, arch: Arch, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Flattened gradient of the cross-entropy of ``arch``'s path on one batch (zeros where the path has none)."""
    supernet.zero_grad(set_to_none=True)
    supernet.activate(arch)
    F.cross_entropy(supernet(x), y).backward()
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten()
                      for p in supernet.parameters()])


def gradient_agreement(supernet: Supernet, data: Split, decisions: Sequence[str], probes: int = 8,
                       batch_size: int = 128, seed: int = 0) -> dict[str, float]:
    """Per decision: the mean pairwise cosine similarity of its choices' gradients (higher: they agree).

    Each choice's gradient is summed over ``probes`` random archs, each on its own batch; every choice of a
    decision sees the same archs (but for the decision) and the same batches, so only the choice differs.
    BatchNorm uses batch statistics (training mode) and the weights are left unchanged.
    """
    if not 1 <= probes <= MAX_PROBE_ARCHS:
        raise ArchfitError(f"gradient-matching probes {probes} must be in 1..{MAX_PROBE_ARCHS}")
    space = supernet.space
    rng = np.random.default_rng(seed)
    archs = [space.sample(rng) for _ in range(probes)]
    batches = [torch.from_numpy(rng.choice(len(data), size=min(batch_size, len(data)), replace=False))
               for _ in range(probes)]
    state = {k: v.clone() for k, v in supernet.state_dict().items()}  # BatchNorm running stats move in train mode
    was_training = supernet.training
    supernet.train()
    agreement: dict[str, float] = {}
    try:
        for name in decisions:
            values = space.choices[name]
            sums = []
            for value in values:
                total = None
                for arch, index in zip(archs, batches):
                    grad = _gradient(supernet, space.canonical(arch.replace(**{name: value})), data.x[index],
                                     data.y[index])
                    total = grad if total is None else total + grad
                sums.append(total)
            pairs = [F.cosine_similarity(sums[i], sums[j], dim=0).item()
                     for i in range(len(values)) for j in range(i + 1, len(values))]
            agreement[name] = float(np.mean(pairs))
    finally:
        supernet.zero_grad(set_to_none=True)
        supernet.load_state_dict(state)
        supernet.train(was_training)
    return agreement


@dataclass
class FewShotSupernet:
    """One sub-supernet per choice of ``decision``; ``child(arch)`` is the one that scores ``arch``."""

    decision: str
    children: dict[Value, Supernet]
    agreement: dict[str, float] = field(default_factory=dict)  # gradient agreement per candidate decision
    seconds: dict[str, float] = field(default_factory=dict)  # training wall seconds on record: "base", each child

    def child(self, arch: Arch) -> Supernet:
        try:
            return self.children[arch[self.decision]]
        except KeyError:
            raise ArchfitError(f"few-shot supernet split on {self.decision!r} has no child for "
                               f"{arch[self.decision]!r}; expected one of {list(self.children)}") from None


def train_fewshot(space: Space, make_supernet: Callable[[], Supernet], make_sampler: Callable[[], Sampler],
                  data: Split, config: TrainConfig, split_epoch: int, folder: Path, stem: str,
                  decision: str | None = None, probes: int = 8,
                  on_epoch: Callable[[str, int, float], None] | None = None) -> FewShotSupernet:
    """Train the base supernet to ``split_epoch``, split it on ``decision`` (None: the one whose choices'
    gradients agree least), then train each child to ``config.epochs``. Every stage is checkpointed in
    ``folder`` (``<stem>_base.safetensors``, ``<stem>_<decision>=<value>.safetensors``), so a rerun resumes or
    trains nothing."""
    if not 0 < split_epoch < config.epochs:
        raise ArchfitError(f"few-shot split epoch {split_epoch} must be in 1..{config.epochs - 1} "
                           f"(the supernet trains {config.epochs} epochs in all)")
    folder.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}

    def run(label: str, supernet: Supernet, sampler: Sampler, file: Path, stop: int | None) -> None:
        torch.manual_seed(config.seed)
        stats = train_supernet(supernet, sampler, data, config, file, stop_epoch=stop,
                               on_epoch=(lambda e, loss: on_epoch(label, e, loss)) if on_epoch else None)
        seconds[label] = record_seconds(folder / TIMES_FILE, file.stem, stats)

    base_file = folder / f"{stem}_base.safetensors"
    torch.manual_seed(config.seed)
    base = make_supernet()
    run("base", base, make_sampler(), base_file, split_epoch)
    rng = np.random.default_rng(config.seed)
    candidates = splittable_decisions(space, [space.sample(rng) for _ in range(64)])
    if decision is None:
        if not candidates:
            raise ArchfitError("few-shot split: no decision of this space matters in every arch")
        agreement = gradient_agreement(base, data, candidates, probes, config.batch_size, config.seed)
        decision = min(agreement, key=lambda name: (agreement[name], name))
    elif decision not in space.choices:
        raise ArchfitError(f"few-shot split decision {decision!r} is not in the space; expected one of "
                           f"{list(space.choices)}")
    else:
        agreement = {}
    children: dict[Value, Supernet] = {}
    for value in space.choices[decision]:
        label = f"{decision}={value}"
        file = folder / f"{stem}_{label}.safetensors"
        if not file.exists():  # the child starts from the base's split-epoch checkpoint (weights and momentum)
            partial = file.with_suffix(".partial")
            shutil.copyfile(base_file, partial)
            os.replace(partial, file)
        child = make_supernet()
        sampler = make_sampler()
        sampler.restrict(lambda arch, d=decision, v=value: arch[d] == v, label)
        run(label, child, sampler, file, None)
        children[value] = child
    return FewShotSupernet(decision, children, agreement, seconds)
