"""Data-parallel supernet training with PyTorch DDP, launched by ``torchrun`` (gloo on CPU, NCCL on GPUs).

    torchrun --standalone --nproc-per-node 2 -m archfit.run.ddp_supernet --data digits --sampler sandwich \
        --epochs 30 --out OUT
    archfit search --estimator supernet --supernet OUT/supernet.safetensors --supernet-epochs 30 ...

(``-m archfit.supernet.ddp`` launches the same entry point) runs the one supernet training loop (``archfit.supernet.training``) on every rank with a ``DDPReplicas``:

- every rank draws the same seeded batch order and the sampling rule sees the whole *global* batch, so
  every rank visits the same sub-networks each step, exactly as one process would (rules that look at
  the data, like CafeNet's placement search, decide on identical inputs); a hash of the visited paths
  is compared across ranks every epoch and training stops if they ever differ;
- each rank runs forward/backward on its contiguous share of the global batch (``--batch-size``, divisible
  by the number of processes); DDP averages gradients, which equals one process's gradient of the whole
  batch; weights off the active path get no gradient (``find_unused_parameters=True``), and since every
  rank agrees on the path they are skipped by the optimizer on every rank, as in one process;
- BatchNorm normalises with each rank's own share (the supernet's elastic BatchNorm has no synchronised
  variant), so results agree with one process closely, not bitwise: see docs/scale.md for the tolerance;
- rank 0 writes ``OUT/supernet.safetensors`` atomically after every epoch (the format ``archfit search
  --estimator supernet`` reads; a killed run resumes from it) and ``OUT/supernet.json`` at the end.
"""

from __future__ import annotations

import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from archfit.errors import ArchfitError
from archfit.supernet.supernet import Supernet
from archfit.supernet.training import Replicas


class DDPReplicas(Replicas):
    """The training loop's hooks inside an initialised process group."""

    def __init__(self, device: torch.device) -> None:
        self.rank, self.world, self.device = dist.get_rank(), dist.get_world_size(), device
        self.writer = self.rank == 0

    def wrap(self, supernet: Supernet) -> nn.Module:
        # Parameters and buffers are synced from rank 0 here; BatchNorm statistics are not re-synced on every
        # forward pass (each rank keeps its own; rank 0's are written, and search recalibrates BN anyway).
        return DistributedDataParallel(supernet, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                                       find_unused_parameters=True, forward_sync_buffers=False)

    def place(self, batch: torch.Tensor) -> torch.Tensor:
        return batch.to(self.device)

    def share(self, batch: torch.Tensor) -> torch.Tensor:
        local = batch.shape[0] // self.world
        return batch[self.rank * local:(self.rank + 1) * local]

    def mean(self, value: float) -> float:
        total = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        return float(total) / self.world

    def check_same_paths(self, digest: str) -> None:
        digests: list[str | None] = [None] * self.world
        dist.all_gather_object(digests, digest)
        if len(set(digests)) != 1:
            raise ArchfitError(f"processes sampled different sub-networks this epoch (path hashes {digests}); "
                               "a sampling rule must depend only on the seed, the step and the global batch")


if __name__ == "__main__":  # `torchrun -m archfit.supernet.ddp ...`: the documented command, a thin entry point
    from archfit.run.ddp_supernet import main

    sys.exit(main())
