"""What a network costs (FLOPs = 2 x MACs, params, measured latency) and what it may cost."""

from archfit.cost.budget import METRICS, Budget, Cost
from archfit.cost.flops import count_flops, count_params
from archfit.cost.latency import CLOCKS, RUNTIMES, Latency, check_clock, check_runtime, measure_latency
from archfit.cost.model import CostModel

__all__ = ["CLOCKS", "METRICS", "RUNTIMES", "Budget", "Cost", "CostModel", "Latency", "check_clock", "check_runtime",
           "count_flops", "count_params", "measure_latency"]
