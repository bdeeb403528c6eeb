"""Run under torchrun by tests/test_supernet_ddp.py: the supernet loop with BatchNorm statistics frozen.

With BatchNorm in eval mode (running statistics fixed at their initial 0/1) the supernet has no
batch-dependent layer, so 2 processes must reproduce the plain single-process loop up to float
summation order. One process runs the loop without DDP at all; two run it through ``DDPReplicas``.
"""

import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from archfit.config import SearchConfig
from archfit.data import load_data
from archfit.run.job import prepare_space
from archfit.supernet.ddp import DDPReplicas
from archfit.supernet.search import train_run_supernet
from archfit.train.ddp import setup


def frozen_train(self, mode=True):  # BatchNorm always normalises with its running statistics
    return nn.Module.train(self, False)


nn.modules.batchnorm._BatchNorm.train = frozen_train
rank, world, device = setup()
torch.set_num_threads(1)
out, sampler = Path(sys.argv[1]), sys.argv[2]
config = SearchConfig(estimator="supernet", sampler=sampler, supernet_epochs=2, batch_size=64, lr=0.05,
                      space_args={"max_depth": 2, "stage_channels": [8, 12], "kernels": [3, 5], "expansions": [2, 4],
                                  "widths": [0.5, 1.0], "stem_channels": 8, "head_channels": 16})
data = load_data("digits")
space = prepare_space(config, data)
replicas = DDPReplicas(device) if world > 1 else None  # one process: the plain loop, no DDP
train_run_supernet(config, space, data, out, progress=False, replicas=replicas)
dist.destroy_process_group()
