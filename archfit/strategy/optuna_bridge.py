"""Any Optuna sampler as an archfit strategy: ``optuna:tpe``, ``optuna:nsga2``, ``optuna:random``, ``optuna:gp``.

Each choice becomes a categorical parameter; samplers keep Optuna's defaults (TPE is multivariate in
Optuna 5). Archs that do not fit the budget are told to Optuna as violating a constraint
(``Trial.set_constraint``), which constraint-aware samplers (TPE, NSGA-II, GP) learn to avoid. With
``nsga2`` the study has two objectives: maximise the metric and minimise the budgeted cost.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import optuna

from archfit.errors import ArchfitError
from archfit.space.base import Arch
from archfit.strategy.base import Problem, Strategy
from archfit.trial import Trial

_CONSTRAINT = "budget"  # <= 0 feasible, > 0 infeasible (Optuna's constraint convention)


def _make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed)
    raise ArchfitError(f"unknown Optuna sampler {name!r}; expected one of {list(OPTUNA_SAMPLERS)}")


OPTUNA_SAMPLERS = ("tpe", "nsga2", "random", "gp", "qmc")


class OptunaStrategy(Strategy):
    """Wraps ``optuna.samplers.<sampler>`` in ask/tell."""

    def __init__(self, sampler: str = "tpe") -> None:
        if sampler not in OPTUNA_SAMPLERS:
            raise ArchfitError(f"unknown Optuna sampler {sampler!r}; expected one of {list(OPTUNA_SAMPLERS)}")
        self.sampler = sampler
        self.name = f"optuna:{sampler}"

    @property
    def multi_objective(self) -> bool:
        return self.sampler == "nsga2"

    def start(self, problem: Problem) -> None:
        super().start(problem)
        optuna.logging.set_verbosity(logging.WARNING)
        directions = ["maximize", "minimize"] if self.multi_objective else ["maximize"]
        self.study = optuna.create_study(directions=directions, sampler=_make_sampler(self.sampler, problem.seed))
        self.distributions = {
            name: optuna.distributions.CategoricalDistribution(list(values))
            for name, values in problem.space.choices.items()
        }
        self.pending: dict[str, list[optuna.Trial]] = defaultdict(list)
        self.worst = 0.0

    def ask(self) -> Arch:
        space = self.problem.space
        for _ in range(1000):
            trial = self.study.ask(self.distributions)
            arch = Arch(trial.params)
            if not space.is_valid(arch):
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            arch = space.canonical(arch)
            if self.problem.feasible(arch):
                trial.set_constraint(_CONSTRAINT, 0.0)
                self.pending[arch.key].append(trial)
                return arch
            trial.set_constraint(_CONSTRAINT, 1.0)
            self.study.tell(trial, self._values(self.worst, arch))
        raise ArchfitError(f"{self.name}: 1000 consecutive proposals did not fit the budget")

    def tell(self, trial: Trial) -> None:
        waiting = self.pending.get(trial.arch.key)
        if not waiting:
            return
        optuna_trial = waiting.pop(0)
        value = self.value(trial)
        if value is None:
            self.study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)
            return
        self.worst = min(self.worst, value)
        self.study.tell(optuna_trial, self._values(value, trial.arch))

    def _values(self, value: float, arch: Arch) -> list[float]:
        if self.multi_objective:
            return [value, self.problem.cost(arch).value(self.problem.cost_metric)]
        return [value]
