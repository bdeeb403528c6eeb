"""Hostile input, property-based: every generated case is a one-line error with exit code 2 or a correct
result — never a traceback, never a modified store. 200 + 100 + 100 + 60 + 60 + 50 + 40 = 610 cases.

NAS-Bench-style tables and damaged run folders (export, --resume): tests/test_fuzz_tables.py
(300 more, with the flags of bench, slim and rank-check).
"""

from __future__ import annotations

import atexit
import io
import json
import math
import shutil
import sqlite3
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archfit.cli import main
from archfit.config import SearchConfig
from archfit.cost.budget import Budget
from archfit.errors import ArchfitError
from archfit.io import load_tensors, save_tensors
from archfit.run.store import Store
from archfit.space import create_space

def fast(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                    database=None)
WORK = Path(tempfile.mkdtemp(prefix="archfit-fuzz-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)  # shared by test_fuzz_tables.py: removed at exit


def run_cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own errors (also one line, code 2)
            code = exc.code if isinstance(exc.code, int) else 2
    return code, err.getvalue()


def assert_one_line_error(code: int, err: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, (code, err)
    assert len(lines) == 1 and "error:" in lines[0] and "Traceback" not in err, err


def make_run_folder(folder: Path, config: dict | None = None) -> Path:
    """A real run folder whose stored settings (trials=999999) never equal generated flags."""
    folder.mkdir(parents=True, exist_ok=True)
    store = Store.create(folder / "store.sqlite",
                         {"config": config if config is not None else SearchConfig(trials=999_999).to_dict()})
    store.close()
    return folder / "store.sqlite"


RUN = WORK / "run"
STORE = make_run_folder(RUN)
STORE_BYTES = STORE.read_bytes()

numbers = st.one_of(st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=True).map(repr),
                    st.sampled_from(["0", "-1", "1e999", "nan", "inf", "5M", "0.3G", "50k", "1e-300", "", " "]))
words = st.one_of(st.text(max_size=12), st.sampled_from(
    ["chain", "nb201", "random", "evolution", "optuna:tpe", "optuna:nope", "digits", "mnist1d", "sgd", "adamw",
     "local", "processes:0", "processes:2", "ray:auto", "ray://h:1", "ray://h", "{}", "[]", "null", "-x"]))
json_values = st.recursive(st.none() | st.booleans() | st.integers(-5, 70) | st.floats() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                      max_size=3), max_leaves=6)
FLAGS = {"--space": words, "--space-args": json_values.map(json.dumps) | words, "--data": words,
         "--image-size": numbers, "--strategy": words, "--trials": numbers, "--estimator": words,
         "--epochs": numbers, "--final-epochs": numbers, "--batch-size": numbers, "--lr": numbers,
         "--optimizer": words, "--label-smoothing": numbers, "--max-flops": numbers, "--max-params": numbers,
         "--max-latency-ms": numbers, "--seed": numbers, "--executor": words}
flag_sets = st.dictionaries(st.sampled_from(sorted(FLAGS)), st.just(None), max_size=6).flatmap(
    lambda chosen: st.fixed_dictionaries({k: FLAGS[k] for k in chosen}))


@fast(200)
@given(flag_sets, st.booleans())
def test_search_flags_fail_in_one_line_and_leave_the_run_alone(flags, resume):
    argv = ["search", "--out", str(RUN), "--no-progress", "--quiet"] + (["--resume"] if resume else [])
    for name, value in flags.items():
        argv += [f"{name}={value}"]
    if resume:  # flags not given come from the store: one given flag must differ, or the stored run would resume
        argv += ["--trials=1"]
    assert_one_line_error(*run_cli(argv))  # valid flags meet "not empty" / "settings differ": still one line
    assert STORE.read_bytes() == STORE_BYTES


@fast(100)
@given(st.sampled_from(["digits", "", "nope", str(STORE), str(WORK), "/dev/null"]), words,
       json_values.map(json.dumps))
def test_data_space_and_space_args_are_checked_before_anything_is_written(data, space, space_args):
    out = WORK / "fresh"
    shutil.rmtree(out, ignore_errors=True)
    code, err = run_cli(["search", "--data", data, "--space", space, "--space-args", space_args,
                         "--max-flops", "1", "--out", str(out), "--no-progress", "--quiet"])
    assert_one_line_error(code, err)  # a 1-FLOP budget is impossible, so no case may start training
    assert not out.exists()


@fast(100)
@given(st.one_of(numbers, st.text(max_size=10)), st.one_of(st.none(), numbers), st.one_of(st.none(), numbers))
def test_budgets_parse_or_refuse(flops, params, latency):
    try:
        budget = Budget.parse(flops, params, latency)
    except ArchfitError as exc:
        assert "\n" not in str(exc)
        return
    for bound in (budget.max_flops, budget.max_params, budget.max_latency_ms):
        assert bound is None or (math.isfinite(bound) and bound > 0)


SPACE = create_space("chain", input_shape=[1, 8, 8], num_classes=10, max_depth=1)
arch_dicts = st.dictionaries(st.sampled_from(sorted(SPACE.choices) + ["bogus", ""]),
                             st.one_of(st.integers(-2, 8), st.floats(), st.text(max_size=3), st.booleans()),
                             max_size=len(SPACE.choices) + 1)
valid_archs = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in SPACE.choices.items()})


@fast(60)
@given(st.one_of(arch_dicts, valid_archs))
def test_arch_json_validates_or_refuses(values):
    try:
        arch = SPACE.validate(values)
    except ArchfitError as exc:
        assert "\n" not in str(exc)
        return
    assert SPACE.build(arch)(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


@fast(60)
@given(st.one_of(json_values, st.fixed_dictionaries({"space": json_values, "arch": json_values}),
                 st.fixed_dictionaries({"space": st.just(SPACE.spec()), "arch": arch_dicts | valid_archs})))
def test_export_of_a_hostile_arch_file_is_one_line(content):
    folder = WORK / "export"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "arch.json").write_text(json.dumps(content))
    assert_one_line_error(*run_cli(["export", str(folder)]))  # at best the weights are missing


@fast(50)
@given(st.binary(max_size=300), st.sampled_from([".safetensors", ".pt", ".bin"]), st.integers(0, 200))
def test_weight_files_load_or_refuse(blob, suffix, cut):
    path = WORK / f"w{suffix}"
    good = WORK / "good.safetensors"
    save_tensors(good, {"w": torch.arange(6.0)})
    path.write_bytes(blob if suffix != ".safetensors" or not blob else good.read_bytes()[:cut] + blob[:8])
    try:
        tensors = load_tensors(path)
    except ArchfitError as exc:
        assert "\n" not in str(exc)
        return
    assert all(isinstance(v, torch.Tensor) for v in tensors.values())


@fast(40)
@given(st.integers(0, len(STORE_BYTES) - 1), st.binary(min_size=1, max_size=64), st.booleans())
def test_damaged_store_is_reported_and_never_written(offset, junk, truncate):
    folder = WORK / "damaged"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    blob = STORE_BYTES[:offset] if truncate else STORE_BYTES[:offset] + junk + STORE_BYTES[offset + len(junk):]
    (folder / "store.sqlite").write_bytes(blob)
    assert_one_line_error(*run_cli(["search", "--resume", "--out", str(folder), "--no-progress", "--quiet",
                                    "--trials=1"]))  # a readable store differs in trials: refused, not resumed
    assert (folder / "store.sqlite").read_bytes() == blob


def test_stored_settings_of_the_wrong_type_are_one_line(tmp_path):
    for bad in ({"trials": "many"}, {"epochs": None}, {"space_args": 3}, {"lr": "fast"}, [1, 2]):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        store = make_run_folder(folder, bad)
        before = store.read_bytes()
        assert_one_line_error(*run_cli(["search", "--resume", "--out", str(folder), "--no-progress"]))
        assert store.read_bytes() == before


def test_malicious_pickle_weights_are_never_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (marker,))

    for name in ("model.pt", "model.bin", "model.pth"):
        torch.save({"w": torch.ones(2), "payload": Exploit()}, tmp_path / name)
        with pytest.raises(ArchfitError, match="not a weights-only file|not a readable weights file"):
            load_tensors(tmp_path / name)
        assert not marker.exists()
    (tmp_path / "model.safetensors").write_bytes((tmp_path / "model.pt").read_bytes())
    with pytest.raises(ArchfitError):
        load_tensors(tmp_path / "model.safetensors")
    assert not marker.exists()


def test_truncated_checkpoint_is_reported_not_overwritten(tmp_path):
    path = tmp_path / "model.safetensors"
    save_tensors(path, {"w": torch.randn(64, 64)})
    path.write_bytes(path.read_bytes()[:-100])
    before = path.read_bytes()
    with pytest.raises(ArchfitError, match="not a readable weights file"):
        load_tensors(path)
    assert path.read_bytes() == before


def test_store_that_is_not_sqlite_is_refused(tmp_path):
    (tmp_path / "store.sqlite").write_bytes(b"SQLite format 3\x00" + b"\x00" * 50)
    with pytest.raises(ArchfitError):
        Store.open(tmp_path / "store.sqlite")
    sqlite3.connect(tmp_path / "other.sqlite").execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(ArchfitError, match="not an archfit run store"):
        Store.open(tmp_path / "other.sqlite")
