"""Validated settings of ``archfit search``; the one place for defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from archfit.cost.budget import Budget
from archfit.cost.latency import check_clock, check_runtime
from archfit.data import MAX_IMAGE_SIZE
from archfit.errors import ArchfitError
from archfit.train import TrainConfig

ESTIMATORS = ("train", "tabular", "supernet")  # the built-in methods; the method registry (archfit/method/) decides
DEFAULT_MAX_FLOPS = "1M"  # applied only when no budget flag is given: about half the chain space on digits


@dataclass(frozen=True)
class SearchConfig:
    space: str = "chain"
    space_args: dict[str, Any] = field(default_factory=dict)  # overrides of the space's constructor
    data: str = "digits"  # built-in name or folder path
    image_size: int | None = None  # resize images to this side, pixels (None: native for IDX/CIFAR, 32 for folders)
    train_subset: int | None = None  # seeded, class-balanced subset of the training split (samples)
    strategy: str = "evolution"
    trials: int = 24  # distinct feasible architectures evaluated
    estimator: str = "train"  # train | tabular (look the metric up in --table) | supernet (weight sharing)
    table: str | None = None  # tabular estimator: CSV path of a NAS-Bench-201-style table
    column: str = "cifar10_test_acc"  # tabular estimator: the metric column, maximised
    epochs: int = 6  # per candidate
    final_epochs: int = 40  # for the chosen architecture
    batch_size: int = 64
    lr: float = 0.05
    optimizer: str = "sgd"
    label_smoothing: float = 0.0
    max_flops: str | None = None  # human units, FLOPs = 2 x MACs at batch 1
    max_params: str | None = None
    max_latency_ms: str | None = None  # median batch-1 latency on this CPU, ms
    max_size: str | None = None  # deployed float32 model bytes (state dict), e.g. "200KB" (metric size_bytes)
    # A device latency table (CSV: 'arch' + '<device>_ms' columns, e.g. HW-NAS-Bench's NAS-Bench-201 latencies):
    # with both set, --max-latency-ms bounds the latency measured on that device (metric device_latency_ms),
    # read from the table, instead of latency timed on this CPU.
    latency_table: str | None = None
    device: str | None = None
    latency_runtime: str = "torch"  # what runs the timed passes: "torch" (eager) | "onnxruntime" (onnx extra)
    # what times them: "wall" clock | "cpu" = the timing thread's CPU time (1 thread; a loaded machine's
    # preemption does not count, so budgets are checked against idle-core latency)
    latency_clock: str = "wall"
    seed: int = 0
    executor: str = "local"
    threads: int = 1  # torch intra-op threads for training and latency (tiny nets train fastest on 1)
    # supernet sampling rule (estimator "supernet" only). uniform (SPOS): one path per step, so 30 epochs cost
    # about what 8 sandwich epochs (4 paths a step) do, and rank at least as well (docs/supernet.md)
    sampler: str = "uniform"
    supernet_epochs: int = 30  # epochs of supernet training (estimator "supernet" only)
    # which random paths the supernet trains: only "budget" (those within the FLOPs, params or device-table
    # bounds: the only ones a budgeted search can choose) or "all" of the space. "budget" is the default since
    # it measured better and cheaper on Fashion-MNIST (docs/fmnist.md); runs stored before it existed resume
    # as "all", which is what they trained (from_dict).
    supernet_paths: str = "budget"
    final: str = "train"  # chosen arch: "train" from scratch | "finetune" inherited supernet weights
    supernet: str | None = None  # estimator "supernet": start from this checkpoint (e.g. trained with DDP)
    # differentiable methods: Adam learning rate of the architecture parameters (None: DARTS' 3e-4, sized for
    # 50 epochs of CIFAR-10; a short run on a small subset takes few architecture steps and needs more)
    arch_lr: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.space_args, dict):
            raise ArchfitError(f"space arguments {str(self.space_args)[:80]!r} must be a JSON object of names to values")
        if self.trials < 1:
            raise ArchfitError(f"--trials {self.trials} must be >= 1")
        if self.epochs < 1 or self.final_epochs < 0:
            raise ArchfitError(f"--epochs {self.epochs} must be >= 1 and --final-epochs {self.final_epochs} >= 0")
        if self.threads < 1:
            raise ArchfitError(f"--threads {self.threads} must be >= 1")
        check_runtime(self.latency_runtime, "--latency-runtime")
        check_clock(self.latency_clock, self.threads, "--latency-clock")
        if self.image_size is not None and not 4 <= self.image_size <= MAX_IMAGE_SIZE:
            raise ArchfitError(f"--image-size {self.image_size} must be between 4 and {MAX_IMAGE_SIZE} pixels")
        if self.train_subset is not None and self.train_subset < 10:
            raise ArchfitError(f"--train-subset {self.train_subset} must be >= 10 training samples")
        if self.estimator == "tabular" and not self.table:
            raise ArchfitError("--estimator tabular needs --table PATH (a NAS-Bench-201-style CSV)")
        if self.supernet_epochs < 1:
            raise ArchfitError(f"--supernet-epochs {self.supernet_epochs} must be >= 1")
        if self.supernet_paths not in ("all", "budget"):
            raise ArchfitError(f"--supernet-paths {self.supernet_paths!r} must be 'all' or 'budget'")
        if self.arch_lr is not None and not 0 < self.arch_lr <= 1:
            raise ArchfitError(f"--arch-lr {self.arch_lr} must be in (0, 1] (Adam learning rate of the architecture "
                               "parameters)")
        if self.final not in ("train", "finetune"):
            raise ArchfitError(f"--final {self.final!r} must be 'train' or 'finetune'")
        if self.supernet is not None and self.estimator != "supernet":
            raise ArchfitError(f"--supernet {self.supernet} needs --estimator supernet")
        if (self.latency_table is None) != (self.device is None):
            raise ArchfitError("--latency-table and --device go together: the table's column <device>_ms is the "
                               f"device's latency (got --latency-table {self.latency_table}, --device {self.device})")
        self.budget()  # parse now: a malformed budget fails before anything runs
        self.train_config(self.epochs)

    def budget(self) -> Budget:
        bounds = {"size_bytes": self.max_size}  # further metrics: one line here and one flag (cost/metrics.py)
        cpu_latency = self.max_latency_ms
        if self.latency_table is not None:  # the latency bound is the device's, looked up in the table
            bounds["device_latency_ms"], cpu_latency = self.max_latency_ms, None
        if self.max_flops is None and self.max_params is None and cpu_latency is None \
                and all(v is None for v in bounds.values()):
            if self.estimator == "tabular":  # the default budget is sized for training on digits
                return Budget()
            return Budget.parse(max_flops=DEFAULT_MAX_FLOPS)
        return Budget.parse(self.max_flops, self.max_params, cpu_latency, bounds=bounds)

    def train_config(self, epochs: int) -> TrainConfig:
        return TrainConfig(epochs=epochs, batch_size=self.batch_size, lr=self.lr, optimizer=self.optimizer,
                           label_smoothing=self.label_smoothing, seed=self.seed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchConfig:
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict):
            raise ArchfitError(f"stored settings {str(data)[:80]!r} are not a mapping of setting names to values")
        data = {"supernet_paths": "all", **data}  # stored before the setting existed: every path was trained
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except (TypeError, ValueError) as exc:  # a damaged or hand-edited run: wrong types
            raise ArchfitError(f"stored settings are damaged ({str(exc)[:120]})") from None

    def differences(self, other: SearchConfig) -> list[str]:
        """Settings that differ, as ``name: stored → given`` (for refusing a mismatched resume)."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [f"{k}: {mine[k]!r} → {theirs[k]!r}" for k in mine if mine[k] != theirs[k]]
