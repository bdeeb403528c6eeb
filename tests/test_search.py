"""End-to-end: a tiny search through the real orchestrator, store, outputs and export."""

import json
import sqlite3

import pytest
import torch

from archfit.config import SearchConfig
from archfit.cost import Budget, CostModel
from archfit.estimate.base import Estimate, Estimator
from archfit.run.executors import LocalExecutor
from archfit.run.job import run_search
from archfit.run.search import Search
from archfit.run.store import Store
from archfit.run.trial import TrialState
from archfit.strategy import create_strategy
from tests.conftest import TINY_SPACE_ARGS


class CountingEstimator(Estimator):
    """Cheap deterministic estimator that records every arch it was asked to evaluate."""

    metric = "score"

    def __init__(self):
        self.calls = []

    def estimate(self, arch):
        self.calls.append(arch.key)
        return Estimate({"score": float(sum(hash(str(v)) % 7 for v in arch.values()))})


def make_search(space, store, n=15, budget=Budget(), strategy="evolution"):
    estimator = CountingEstimator()
    search = Search(space, create_strategy(strategy), LocalExecutor(estimator), store, budget,
                    CostModel(space), "score", n, seed=1)
    return search, estimator


def test_orchestrator_never_evaluates_a_duplicate(tmp_path, tiny_space):
    store = Store.create(tmp_path / "s.sqlite", {})
    search, estimator = make_search(tiny_space, store, n=25)
    trials = search.run()
    assert len(trials) == 25 and len(set(estimator.calls)) == len(estimator.calls) == 25
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert [t.number for t in trials] == list(range(1, 26))


def test_infeasible_archs_are_never_evaluated(tmp_path, tiny_space):
    cost = CostModel(tiny_space)
    flops = sorted(cost(tiny_space.sample(__import__("numpy").random.default_rng(i))).flops for i in range(40))
    budget = Budget(max_flops=flops[len(flops) // 2])
    from archfit.strategy.base import Strategy

    class IgnoresBudget(Strategy):
        def ask(self):
            return self.problem.space.sample(self.rng)

    estimator = CountingEstimator()
    search = Search(tiny_space, IgnoresBudget(), LocalExecutor(estimator), Store.create(tmp_path / "s.sqlite", {}),
                    budget, cost, "score", 8, seed=0)
    trials = search.run()
    assert len(trials) == 8 and all(t.cost.flops <= budget.max_flops for t in trials)
    assert search.stats.rejected > 0 and len(estimator.calls) == 8


def test_resume_replays_without_re_evaluating(tmp_path, tiny_space):
    path = tmp_path / "s.sqlite"
    store = Store.create(path, {})
    first, _ = make_search(tiny_space, store, n=6)
    first.run()
    store.close()
    store = Store.open(path)
    second, estimator = make_search(tiny_space, store, n=12)
    trials = second.run()
    assert len(trials) == 12 and len(estimator.calls) == 6 and second.stats.replayed == 6
    fresh_store = Store.create(tmp_path / "fresh.sqlite", {})
    fresh, _ = make_search(tiny_space, fresh_store, n=12)
    assert [t.arch for t in fresh.run()] == [t.arch for t in trials]


def test_failed_estimates_are_recorded_not_fatal(tmp_path, tiny_space):
    class Flaky(CountingEstimator):
        def estimate(self, arch):
            if len(self.calls) % 2:
                self.calls.append(arch.key)
                raise RuntimeError("boom")
            return super().estimate(arch)

    store = Store.create(tmp_path / "s.sqlite", {})
    search = Search(tiny_space, create_strategy("random"), LocalExecutor(Flaky()), store, Budget(),
                    CostModel(tiny_space), "score", 6, seed=0)
    trials = search.run()
    assert sum(t.state is TrialState.FAILED for t in trials) == 3
    assert all("boom" in t.error for t in trials if t.state is TrialState.FAILED)


def test_full_job_writes_outputs_and_export_rebuilds(tmp_path):
    from archfit.cli import main
    from archfit.run.artifacts import load_model, verify_model

    config = SearchConfig(space_args=TINY_SPACE_ARGS, trials=3, epochs=1, final_epochs=2, strategy="random",
                          latency_runtime="onnxruntime")
    out = tmp_path / "run"
    results = run_search(config, out, progress=False)
    for name in ("results.json", "arch.json", "model.safetensors", "report.html", "pareto.png", "history.png", "layers.png"):
        assert (out / name).is_file(), name
    data = json.loads((out / "results.json").read_text())
    best = data["best"]
    assert data["n_trials"] == 3 and len(data["trials"]) == 3 and data["pareto"]
    for key in ("valid_acc", "test_acc"):
        assert 0 <= best["metrics"][key] <= 1
    assert best["cost"]["flops"] > 0 and best["cost"]["params"] > 0 and best["cost"]["latency_ms"] > 0
    assert best["cost"]["latency_runtime"] == "onnxruntime" and "onnxruntime" in data["units"]["latency_ms"]
    assert best["cost"]["flops"] <= 1e6  # the default budget
    assert "the cheaper in flops" in best["selection"]  # trained estimates: a tie goes to the cheaper arch
    assert results["hypervolume"]["value"] > 0
    assert sum(layer["flops"] for layer in best["layers"]) == best["cost"]["flops"]
    assert sum(layer["params"] for layer in best["layers"]) == best["cost"]["params"]
    html = (out / "report.html").read_text()
    assert "data:image/png;base64" in html and "Pareto front" in html and "(ms, onnxruntime)" in html
    space, arch, model = load_model(out)
    assert arch.key == best["key"] and verify_model(out, model) < 1e-5
    assert main(["export", str(out), "--onnx", str(out / "model.onnx")]) == 0
    assert (out / "model.onnx").stat().st_size > 1000
    # weights from a different arch are refused with a clear error
    torch.manual_seed(0)
    other = space.build(space.largest())
    from archfit.io import save_tensors

    save_tensors(out / "model.safetensors", other.state_dict())
    with pytest.raises(Exception, match="does not match the architecture"):
        load_model(out)


def test_store_rejects_foreign_and_corrupt_files(tmp_path):
    from archfit import ArchfitError

    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ArchfitError, match="not an archfit run store"):
        Store.open(junk)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(ArchfitError, match="not an archfit run store"):
        Store.open(other)


def test_best_breaks_score_ties_by_cost_in_the_estimators_direction():
    from archfit.cost.budget import Cost
    from archfit.estimate.supernet import SupernetEstimator
    from archfit.run.trial import Trial, choose_best
    from archfit.space.base import Arch

    def trial(number, score, flops):
        return Trial(number, Arch(i=number), TrialState.COMPLETE, Cost(flops, 1), {"valid_acc": score})

    trials = [trial(0, 0.9, 500), trial(1, 0.95, 800), trial(2, 0.95, 300), trial(3, 0.95, 800), trial(4, 0.97, 100)]
    assert choose_best(trials, "valid_acc", "flops").number == 4  # a higher score always wins
    tied = trials[:4]
    assert choose_best(tied, "valid_acc", "flops").number == 2  # trained estimates: the cheaper of a tie
    assert choose_best(tied, "valid_acc", "flops", larger_on_tie=True).number == 1  # costlier, then earlier
    assert SupernetEstimator.larger_on_tie and not Estimator.larger_on_tie
