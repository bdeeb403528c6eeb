"""Run under torchrun by tests/test_ddp.py: train a BatchNorm-free MLP on digits with ``train_ddp``."""

import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from archfit.data import load_data
from archfit.io import save_tensors
from archfit.train.ddp import setup, train_ddp
from archfit.train.trainer import TrainConfig

rank, world, device = setup()
torch.set_num_threads(1)
data = load_data("digits")
torch.manual_seed(0)
model = nn.Sequential(nn.Flatten(), nn.Linear(64, 48), nn.ReLU(), nn.Linear(48, 10))
stats = train_ddp(model, data.train, TrainConfig(epochs=3, batch_size=64, lr=0.05), device)
if rank == 0:
    save_tensors(Path(sys.argv[1]), {**model.state_dict(), "loss": torch.tensor(stats.final_loss)})
dist.destroy_process_group()
