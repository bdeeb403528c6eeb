"""ProxylessNAS (Cai, Zhu & Han, ICLR 2019) on the ``chain`` space under a latency budget.

Binarised paths: a weight step runs one sampled candidate per block; an architecture step runs two
sampled candidates per block, mixed by the softmax of their two alphas (memory of two paths, not all).
The architecture loss adds ``lam * relu(E[latency] / budget - 1)``, where the expected latency is the
lookup table's sum weighted by the candidates' probabilities (differentiable in alpha). The derived
network (argmax per block) is then measured for real (batch 1, the table's runtime and clock); if it misses the
budget it is repaired greedily (the most probable change that lowers predicted latency, with the table
rescaled by measured / predicted) and measured again, or refused with a one-line error.

``proxyless-fill`` (an archfit addition, not in the paper) first fills the budget: the hinge holds the
*expected* latency of the mixture at the budget, but argmax takes each block's most probable candidate, which
is often the cheaper of two close ones, so the derived network used about half its budget on this machine
(docs/differentiable.md). Filling applies, while the table predicts it fits, the single-block change to a
slower candidate with the highest probability, then measures and repairs as above.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from archfit.cost.latency import Latency, check_clock, measure_latency
from archfit.differentiable.latency_table import LatencyTable, measure_table
from archfit.differentiable.method import Method, register_method
from archfit.errors import ArchfitError


@register_method("proxyless")
class Proxyless(Method):
    """``latency_ms``: budget; ``clock``: what times the table and the derived network ("wall" | "cpu", one clock
    for both so that they compare); ``table``: a precomputed table (``{"fixed_ms", "entries", "call_ms"}`` and
    optionally its ``"clock"``, which must match) or None to measure one now; ``measure``: measure the derived
    network for real (False: trust the table)."""

    spaces = ("chain",)
    latency_budget = True

    def __init__(self, latency_ms: float, lam: float = 2.0, width: float = 1.0, runtime: str = "torch",
                 threads: int = 1, table: dict | None = None, measure: bool = True, clock: str = "wall",
                 fill: bool = False) -> None:
        if not latency_ms > 0:
            raise ArchfitError(f"proxyless: latency budget {latency_ms} ms must be > 0")
        self.latency_ms, self.lam, self.width = float(latency_ms), float(lam), float(width)
        self.runtime, self.threads, self.table_spec, self.measure = runtime, int(threads), table, bool(measure)
        self.clock, self.fill = check_clock(clock, self.threads, "proxyless clock"), bool(fill)
        if table is not None and table.get("clock", "wall") != self.clock:
            raise ArchfitError(f"proxyless: the lookup table was timed with clock {table.get('clock', 'wall')!r}, "
                               f"the search measures with {self.clock!r}; give a table of the same clock")

    def start(self, loop) -> None:
        super().start(loop)
        if self.table_spec is not None:
            self.table = LatencyTable(self.runtime, self.threads, float(self.table_spec["fixed_ms"]),
                                      dict(self.table_spec["entries"]), float(self.table_spec.get("call_ms", 0.0)),
                                      self.clock)
        else:
            self.table = measure_table(self.supernet, self.runtime, self.threads, clock=self.clock)
        self.block_ms = self.table.block_ms(self.supernet)
        fastest = self.table.base_ms + float(self.block_ms.masked_fill(~self.supernet.allowed, float("inf"))
                                              .min(dim=-1).values.sum())
        if fastest > self.latency_ms:  # refuse before training, not after
            raise ArchfitError(f"proxyless: no network of this supernet fits {self.latency_ms} ms ({self.runtime}); "
                               f"the lookup table's fastest is {fastest:.3f} ms")
        self.report: dict[str, Any] = {"budget_ms": self.latency_ms, "runtime": self.runtime, "clock": self.clock}

    def expected_ms(self) -> torch.Tensor:
        return self.table.base_ms + (self.supernet.probabilities() * self.block_ms).sum()

    def mixture(self, t: float, phase: str) -> None:
        state, probs = self.supernet.state, self.supernet.probabilities().detach()
        state.pairs = state.weights = None
        if phase == "eval":
            state.index = probs.argmax(-1)
        elif phase == "weights":
            state.index = torch.multinomial(probs, 1, generator=self.generator).squeeze(1)
        else:
            pairs = torch.multinomial(probs, 2, replacement=False, generator=self.generator)
            alpha = self.supernet.alpha.gather(1, pairs)
            state.pairs, state.weights, state.index = pairs, torch.softmax(alpha, dim=-1), None

    def arch_loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, y) + self.lam * F.relu(self.expected_ms() / self.latency_ms - 1)

    def scores(self) -> torch.Tensor:
        with torch.no_grad():
            return self.supernet.probabilities().clone()

    def derive(self) -> list[str]:
        supernet, probs = self.supernet, self.scores()
        ops = [supernet.ops[int(i)] for i in probs.argmax(-1)]
        scale, repairs, filled = 1.0, 0, 0
        for attempt in range(6):
            if self.fill and attempt == 0:  # only before the first measurement: a repair is never undone
                ops, filled = self._filled(ops, probs)
                argmax = [supernet.ops[int(i)] for i in probs.argmax(-1)]
                self.report.update(argmax_predicted_ms=self._predicted(argmax), filled_blocks=filled)
            predicted = self._predicted(ops)
            while predicted * scale > self.latency_ms:
                ops = self._cheaper(ops, probs)
                if ops is None:
                    raise ArchfitError(f"proxyless: no network of this supernet fits {self.latency_ms} ms "
                                       f"({self.runtime}); the table predicts more for every repair")
                predicted, repairs = self._predicted(ops), repairs + 1
            latency = self._measured(ops) if self.measure else None
            measured = latency.median_ms if latency else predicted
            self.report.update(predicted_ms=predicted, measured_ms=measured, repaired_blocks=repairs)
            if latency:  # the whole measurement, so the job can take it as the derived network's cost
                self.report.update(measured_p90_ms=latency.p90_ms, measured_repeats=latency.repeats,
                                   threads=latency.threads)
            if measured <= self.latency_ms:
                return ops
            scale = measured / predicted
        raise ArchfitError(f"proxyless: the derived network measures {measured:.3f} ms > budget "
                           f"{self.latency_ms} ms ({self.runtime}) after {repairs} repairs")

    def _predicted(self, ops: list[str]) -> float:
        return self.table.base_ms + sum(float(self.block_ms[k, self.supernet.ops.index(op)]) for k, op in enumerate(ops))

    def _measured(self, ops: list[str]) -> Latency:
        torch.manual_seed(0)
        model = self.supernet.space.build(self.supernet.to_arch(ops))
        return measure_latency(model, self.supernet.space.input_shape, threads=self.threads,
                               runtime=self.runtime, clock=self.clock)

    def _filled(self, ops: list[str], probs: torch.Tensor) -> tuple[list[str], int]:
        """``ops`` after every single-block change to a slower allowed candidate that the table predicts still
        fits, the most probable first; and how many changes were made."""
        ops, names, changes = list(ops), self.supernet.ops, 0
        while True:
            spare = self.latency_ms - self._predicted(ops)
            best = None
            for k, op in enumerate(ops):
                now = float(self.block_ms[k, names.index(op)])
                for i in range(len(names)):
                    extra = float(self.block_ms[k, i]) - now
                    fits = bool(self.supernet.allowed[k, i]) and 0 < extra <= spare
                    if fits and (best is None or float(probs[k, i]) > best[0]):
                        best = (float(probs[k, i]), k, names[i])
            if best is None:
                return ops, changes
            ops[best[1]], changes = best[2], changes + 1

    def _cheaper(self, ops: list[str], probs: torch.Tensor) -> list[str] | None:
        """The single-block change to a faster allowed candidate with the highest probability."""
        best, ops_set = None, self.supernet.ops
        for k, op in enumerate(ops):
            now = float(self.block_ms[k, ops_set.index(op)])
            for i, other in enumerate(ops_set):
                cheaper = bool(self.supernet.allowed[k, i]) and float(self.block_ms[k, i]) < now
                if cheaper and (best is None or float(probs[k, i]) > best[0]):
                    best = (float(probs[k, i]), k, other)
        if best is None:
            return None
        changed = list(ops)
        changed[best[1]] = best[2]
        return changed

    def extras(self) -> dict[str, Any]:
        return {"latency": self.report, "lookup_table": {"fixed_ms": self.table.fixed_ms, "call_ms": self.table.call_ms,
                                                         "clock": self.table.clock, "entries": self.table.entries}}


@register_method("proxyless-fill")
class ProxylessFill(Proxyless):
    """ProxylessNAS whose derivation fills the budget, under its own name (for callers without method arguments)."""

    def __init__(self, latency_ms: float, fill: bool = True, **params: Any) -> None:
        super().__init__(latency_ms, fill=fill, **params)
