"""The method plug-in of docs/extending.md registers and runs through the same job as the built-in methods."""

import re
from pathlib import Path

import archfit
from archfit.cost.metrics import _METRICS
from archfit.method import _METHODS, list_methods
from tests.conftest import TINY_SPACE_ARGS

DOC = Path(__file__).resolve().parents[1] / "docs" / "extending.md"


def test_the_documented_method_runs_through_the_job(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    try:
        for block in blocks[2:]:  # the method and the metric (the space and strategy: test_docs_examples.py)
            exec(compile(block, str(DOC), "exec"), {})  # noqa: S102 (the documentation, run as written)
        assert {"train", "tabular", "supernet", "widest"} <= set(list_methods())
        result = archfit.search(method="widest", data="digits", budget={"flops": "1M"}, final_epochs=0,
                                space_args=TINY_SPACE_ARGS, out=tmp_path / "run")
        data = result.to_dict()
        assert data["widest"]["samples"] == 16 and data["estimator"] == "the widest of 16 samples"
        assert data["n_trials"] == 1 and data["best"]["cost"]["flops"] <= 1e6 and result.model is not None
        assert (tmp_path / "run" / "model.safetensors").is_file()
        from archfit.cost import Budget

        assert Budget.parse(bounds={"weight_bytes_int8": "100k"}).describe() == "int8 size <= 100k B"
    finally:
        _METHODS.classes.pop("widest", None)
        _METRICS.classes.pop("weight_bytes_int8", None)


def test_a_slim_method_plugin_runs_through_slim_and_search_refuses_it():
    """Slim methods are registered plug-ins of the same registry (family ``slim``): a new one runs through
    ``archfit.slim`` (its ``run`` picks widths, the family's ``finalize`` fine-tunes and measures) and each job
    refuses the other job's methods in one line."""
    import copy

    import pytest
    import torch

    from archfit.compress.extract import extract
    from archfit.compress.width_search import uniform_at_budget
    from archfit.errors import ArchfitError
    from archfit.method import create_method, register_method
    from archfit.method.base import Outcome
    from archfit.method.slim import SlimMethod
    from tests.test_api import SmallCNN

    @register_method("uniform-test")
    class UniformWidths(SlimMethod):
        """The largest uniform width ratio that fits (what fixed-ratio pruning by L1 would keep, unranked)."""

        def run(self, ctx):
            widths = uniform_at_budget(ctx.space, lambda arch: ctx.budget.fits(ctx.cost(arch)))
            self.slimmed_ = extract(copy.deepcopy(ctx.subject.model), ctx.space, widths)
            return Outcome.of_arch(ctx, widths, {"valid_acc": 0.0}, "uniform widths")

    try:
        assert "uniform-test" in list_methods(search=False) and "uniform-test" not in list_methods(search=True)
        assert {"width", "l1", "knockoff"} <= set(list_methods(search=False))
        torch.manual_seed(0)
        model = SmallCNN()
        slim = archfit.slim(model, data="digits", budget={"flops": "50%"}, method="uniform-test", pretrain_epochs=1,
                            finetune_epochs=1)
        assert slim.after["flops"] <= 0.5 * slim.before["flops"] < slim.before["flops"]
        assert slim.model(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
        assert set(slim.widths) and all(w >= 1 for w in slim.widths.values())
        with pytest.raises(ArchfitError, match="is a slim method .*archfit slim --method uniform-test"):
            create_method("uniform-test", search=True)
        with pytest.raises(ArchfitError, match="is a black-box method .*archfit search --estimator train"):
            create_method("train", search=False)
    finally:
        _METHODS.classes.pop("uniform-test", None)
