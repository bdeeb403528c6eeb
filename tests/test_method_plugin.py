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
