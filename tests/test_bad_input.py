"""Bad input a new user types: one line, exit code 2, nothing left behind; one data configuration everywhere."""

import json
import time

import pytest

from archfit.cli import main
from archfit.errors import ArchfitError
from archfit.space import create_space
from tests.conftest import TINY_SPACE_ARGS

QUIET = ["--no-progress", "--quiet"]


def one_line_error(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("archfit: error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_out_under_a_root_that_cannot_be_created(capsys):
    err = one_line_error(capsys, ["search", "--out", "/proc/archfit-x/y", *QUIET])
    assert "cannot create the run folder" in err


@pytest.mark.parametrize("args", [{"max_depth": 1000}, {"stage_channels": [8] * 50}, {"kernels": [3, 99]},
                                  {"expansions": [1000]}, {"widths": [0.5, 100]}, {"head_channels": 10**9},
                                  {"max_depth": "3"}, {"kernels": 3}])
def test_chain_space_arguments_are_bounded(capsys, tmp_path, args):
    start = time.perf_counter()
    err = one_line_error(capsys, ["search", "--space-args", json.dumps(args), "--out", str(tmp_path / "r"), *QUIET])
    assert "chain space" in err and time.perf_counter() - start < 60 and not (tmp_path / "r").exists()


def test_nb201_arguments_are_bounded():
    for args in ({"channels": 100_000}, {"cells": 1000}, {"channels": 0}):
        with pytest.raises(ArchfitError, match="nb201 space"):
            create_space("nb201", **args)


def test_an_error_before_any_work_removes_the_folders_it_created(capsys, tmp_path):
    out = tmp_path / "a" / "b" / "run"
    one_line_error(capsys, ["search", "--space-args", json.dumps(TINY_SPACE_ARGS), "--max-flops", "1",
                            "--out", str(out), *QUIET])
    assert not (tmp_path / "a").exists()
    existing = tmp_path / "mine"
    existing.mkdir()
    one_line_error(capsys, ["search", "--data", "nope", "--out", str(existing / "run"), *QUIET])
    assert existing.is_dir() and not (existing / "run").exists()  # only what this run created is removed


@pytest.mark.parametrize("command", [["search"], ["slim", "--model", "cnn1d", "--max-flops", "50%"],
                                     ["rank-check"]])
def test_data_flags_are_shared_and_checked(capsys, tmp_path, command):
    out = ["--out", str(tmp_path / "r")]
    assert "must be between 4 and" in one_line_error(capsys, [*command, "--image-size", "2", *out])
    assert "--train-subset 3" in one_line_error(capsys, [*command, "--train-subset", "3", *out])
    assert not (tmp_path / "r").exists()


def test_search_train_subset(tmp_path):
    out = tmp_path / "run"
    assert main(["search", "--space-args", json.dumps(TINY_SPACE_ARGS), "--trials", "1", "--epochs", "1",
                 "--final-epochs", "0", "--train-subset", "100", "--out", str(out), *QUIET]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["data"]["sizes"]["train"] == 100 and results["config"]["train_subset"] == 100
