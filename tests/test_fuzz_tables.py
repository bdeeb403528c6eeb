"""Hostile NAS-Bench-style tables and run folders, property-based, through the CLI.

Tables (100 search + 30 bench nb201 + 20 proxies + 20 column names = 170 cases) start from a valid
64-row table of a 2-op NB-201 space and get mutated: rows dropped, duplicated (same or other value),
shuffled; values NaN/inf/text/empty/padded; arch strings malformed; columns renamed, dropped, added or
doubled; ragged rows, stray quotes; BOM, CRLF, truncation, NUL or non-UTF-8 bytes, binary junk, empty.
Run folders (40 export + 30 resume = 70 cases) get files deleted, truncated, overwritten (junk bytes,
or valid safetensors with foreign names/shapes) or added.
Flags of `bench nb201`, `bench proxies`, `slim` and `rank-check` (60 cases) always carry one input that
cannot work. Each case: a one-line ``error:`` with exit code 2 and nothing written (no run folder, an untouched
store), or a correct result checked against an independent reading of the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import torch
from hypothesis import event, given
from hypothesis import strategies as st
from nb201_fixtures import synthetic_value, write_table
from test_fuzz_hostile import WORK, assert_one_line_error, fast, numbers, run_cli, words

from archfit.io import save_tensors
from archfit.run.artifacts import save_model
from archfit.space import create_space
from archfit.space.base import Arch
from archfit.space.nb201 import EDGE_NAMES

OPS2 = ("skip_connect", "nor_conv_3x3")
SPACE_ARGS = {"ops": list(OPS2), "channels": 4, "cells": 1, "input_shape": [3, 8, 8]}
SPACE = create_space("nb201", **SPACE_ARGS)
COLUMN = "cifar10_test_acc"
BASE = write_table(WORK / "base.csv", ops_set=OPS2).read_text()
HEADER, *ROWS = [line.split(",") for line in BASE.splitlines()]
TRUTH = {arch.key: synthetic_value(tuple(arch[name] for name in EDGE_NAMES)) for arch in SPACE.all_canonical()}
SEARCH = ["--space", "nb201", "--space-args", json.dumps(SPACE_ARGS), "--estimator", "tabular", "--trials", "3",
          "--strategy", "random", "--no-progress", "--quiet"]

rows_index = st.integers(0, len(ROWS) - 1)
junk_text = st.one_of(st.text(max_size=12), st.sampled_from(
    ["", "nan", "inf", "-inf", "1e999", "abc", "--1", "0x10", "93,1", '"', "|skip_connect~0|", "None"]))
mutations = st.one_of(
    st.tuples(st.just("drop"), rows_index),
    st.tuples(st.just("dup"), rows_index, st.booleans()),
    st.tuples(st.just("value"), rows_index, junk_text),
    st.tuples(st.just("pad"), rows_index),
    st.tuples(st.just("arch"), rows_index, st.one_of(junk_text, st.sampled_from(
        ["|skip_connect~0|+|skip_connect~0|skip_connect~1|", "|nor_conv_3x3~1|+|none~0|none~1|+|none~0|none~1|none~2|",
         "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|", " |skip_connect~0| "]))),
    st.tuples(st.just("rename"), st.integers(0, len(HEADER) - 1), st.sampled_from(["", "Arch", "acc", "arch", COLUMN])),
    st.tuples(st.just("drop_col"), st.integers(0, len(HEADER) - 1), st.booleans()),
    st.tuples(st.just("extra_col"), st.sampled_from(["extra", "arch", COLUMN, ""]), st.sampled_from(["1.0", "", "x"])),
    st.tuples(st.just("shuffle"), st.randoms(use_true_random=False)),
    st.tuples(st.just("ragged"), rows_index),
    st.tuples(st.just("quote"), rows_index, st.integers(0, 3)),
)
encodings = st.one_of(
    st.just(("plain",)), st.just(("bom",)), st.just(("crlf",)), st.just(("empty",)),
    st.tuples(st.just("truncate"), st.integers(0, len(BASE))),
    st.tuples(st.just("insert"), st.integers(0, len(BASE)), st.sampled_from([b"\x00", b"\xff\xfe", b"\r", b"\n\n"])),
    st.tuples(st.just("binary"), st.binary(max_size=200)),
)


def build_table(muts: list[tuple], encoding: tuple) -> bytes:
    header, rows = list(HEADER), [list(r) for r in ROWS]
    for kind, *args in muts:
        if not rows and kind not in ("rename", "drop_col", "extra_col"):
            continue
        if kind == "drop":
            rows.pop(args[0] % len(rows))
        elif kind == "dup":
            row = list(rows[args[0] % len(rows)])
            if not args[1]:
                row[-1] = repr(float(row[-1]) + 1.0) if _is_number(row[-1]) else row[-1]
            rows.append(row)
        elif kind in ("value", "pad"):
            row = rows[args[0] % len(rows)]
            row[-1] = args[1] if kind == "value" else f" {row[-1]} "
        elif kind == "arch":
            rows[args[0] % len(rows)][1] = args[1]
        elif kind == "rename":
            header[args[0]] = args[1]
        elif kind == "drop_col":
            header.pop(args[0] % len(header)) if header else None
            if args[1]:
                rows = [r[:args[0]] + r[args[0] + 1:] for r in rows]
        elif kind == "extra_col":
            header.append(args[0])
            rows = [r + [args[1]] for r in rows]
        elif kind == "shuffle":
            args[0].shuffle(rows)
        elif kind == "ragged":
            row = rows[args[0] % len(rows)]
            del row[len(row) // 2:]
        elif kind == "quote":
            row = rows[args[0] % len(rows)]
            column = args[1] % max(1, len(row))
            if row:
                row[column] = '"' + row[column]
    text = "\n".join(",".join(line) for line in [header] + rows) + "\n"
    data = text.encode()
    if encoding[0] == "bom":
        data = b"\xef\xbb\xbf" + data
    elif encoding[0] == "crlf":
        data = text.replace("\n", "\r\n").encode()
    elif encoding[0] == "empty":
        data = b""
    elif encoding[0] == "truncate":
        data = data[:encoding[1]]
    elif encoding[0] == "insert":
        data = data[:encoding[1]] + encoding[2] + data[encoding[1]:]
    elif encoding[0] == "binary":
        data = encoding[1]
    return data


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def reference_rows(data: bytes, column: str = COLUMN) -> list[tuple[str, float]]:
    """An independent reading of table bytes that archfit accepted: (arch string, value) per row."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert reader.fieldnames.count("arch") == 1 and reader.fieldnames.count(column) == 1, reader.fieldnames
    return [(row["arch"], float(row[column])) for row in reader]


def reference_values(data: bytes, column: str = COLUMN) -> dict[str, float]:
    values: dict[str, float] = {}
    for text, value in reference_rows(data, column):
        arch = SPACE.parse(text)
        if set(arch.values()) <= set(OPS2) and SPACE.is_valid(arch) and SPACE.canonical(arch) == arch:
            assert values.setdefault(arch.key, value) == value  # accepted tables hold one value per arch
    return values


def write_case(data: bytes) -> Path:
    path = WORK / "table.csv"
    path.write_bytes(data)
    return path


@fast(100)
@given(st.lists(mutations, max_size=3), encodings)
def test_search_with_a_hostile_table_is_one_line_or_correct(muts, encoding):
    data = build_table(muts, encoding)
    out = WORK / "tab-run"
    shutil.rmtree(out, ignore_errors=True)
    code, err = run_cli(["search", *SEARCH, "--table", str(write_case(data)), "--out", str(out)])
    event("refused" if code else "accepted")
    if code != 0:
        assert_one_line_error(code, err)
        assert not out.exists()
        return
    expected = reference_values(data)
    assert set(expected) == set(TRUTH)  # full coverage of the space's classes
    results = json.loads((out / "results.json").read_text())
    assert results["n_trials"] == 3 and results["optimum"] == max(expected.values())
    for trial in results["trials"]:
        assert trial["metrics"][COLUMN] == expected[SPACE.canonical(Arch(trial["arch"])).key]


@fast(30)
@given(st.lists(mutations, max_size=3), encodings)
def test_bench_nb201_with_a_hostile_table_is_one_line(muts, encoding):
    out = WORK / "bench-run"
    shutil.rmtree(out, ignore_errors=True)
    code, err = run_cli(["bench", "nb201", "--table", str(write_case(build_table(muts, encoding))),
                         "--strategies", "random", "--queries", "2", "--seeds", "1", "--out", str(out), "--no-progress"])
    assert_one_line_error(code, err)  # a 2-op table never covers the full NB-201 space
    assert not out.exists()


@fast(20)
@given(st.lists(mutations, max_size=2), encodings)
def test_bench_proxies_with_a_hostile_table_is_one_line_or_correct(muts, encoding):
    data = build_table(muts, encoding)
    out = WORK / "proxies-run"
    shutil.rmtree(out, ignore_errors=True)
    code, err = run_cli(["bench", "proxies", "--table", str(write_case(data)), "--sample", "3", "--out", str(out)])
    event("refused" if code else "accepted")
    if code != 0:
        assert_one_line_error(code, err)
        assert not out.exists()
        return
    rows = reference_rows(data)
    study = json.loads((out / "proxies.json").read_text())
    assert study["table_rows"] == len(rows) and study["rows_scored"] == 3
    assert study["metric"] == [rows[i][1] for i in study["rows"]]


@fast(20)
@given(st.one_of(st.text(max_size=10), st.sampled_from(["index", COLUMN, "arch", "isomorphism_class", "",
                                                         COLUMN.upper(), f" {COLUMN}"])))
def test_column_names_are_one_line_or_correct(column):
    out = WORK / "column-run"
    shutil.rmtree(out, ignore_errors=True)
    code, err = run_cli(["search", *SEARCH, "--table", str(WORK / "base.csv"), "--column", column, "--out", str(out)])
    event("refused" if code else "accepted")
    if code != 0:
        assert_one_line_error(code, err)
        assert not out.exists()
        return
    assert column in ("index", COLUMN)
    expected = reference_values(BASE.encode(), column)
    for trial in json.loads((out / "results.json").read_text())["trials"]:
        assert trial["metrics"][column] == expected[SPACE.canonical(Arch(trial["arch"])).key]


def test_restricted_op_set_has_a_cheapest_arch_inside_it():
    for ops in (OPS2, ("nor_conv_3x3",), ("none", "nor_conv_1x1"), ("avg_pool_3x3", "nor_conv_1x1")):
        space = create_space("nb201", ops=list(ops))
        smallest = space.smallest()
        assert set(smallest.values()) <= set(ops) and space.is_valid(smallest)


# -- run folders -------------------------------------------------------------------------------------------

MODEL_RUN = WORK / "model-run"
torch.manual_seed(0)
_CHAIN = create_space("chain", input_shape=[1, 8, 8], num_classes=10, max_depth=1)
save_model(MODEL_RUN, _CHAIN, _CHAIN.largest(), _CHAIN.build(_CHAIN.largest()).eval())
MODEL_FILES = {p.name: p.read_bytes() for p in MODEL_RUN.iterdir()}
TAB_RUN = WORK / "tab-complete"
assert run_cli(["search", *SEARCH, "--table", str(WORK / "base.csv"), "--out", str(TAB_RUN)])[0] == 0
TAB_FILES = {p.name: p.read_bytes() for p in TAB_RUN.iterdir() if p.is_file()}

folder_edits = st.lists(st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 20)),
    st.tuples(st.just("truncate"), st.integers(0, 20), st.integers(0, 4000)),
    st.tuples(st.just("overwrite"), st.integers(0, 20), st.binary(max_size=64)),
    st.tuples(st.just("tensors"), st.integers(0, 20), st.sampled_from(["w", "input", "logits", "stem.0.weight"]),
              st.sampled_from([(2,), (1, 1, 8, 8), (3, 3)])),
    st.tuples(st.just("add"), st.sampled_from(["junk.bin", "store.sqlite-wal", "store.sqlite-journal", ".partial",
                                                "arch.json.tmp", "sub"]), st.binary(max_size=64)),
), min_size=1, max_size=3)


def damage(folder: Path, files: dict[str, bytes], edits: list[tuple]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    for kind, *args in edits:
        names = sorted(p.name for p in folder.iterdir() if p.is_file())
        if kind == "add":
            target = folder / args[0]
            if args[0] == "sub":
                target.mkdir(exist_ok=True)
            elif not target.exists():
                target.write_bytes(args[1])
        elif names:
            path = folder / names[args[0] % len(names)]
            if kind == "delete":
                path.unlink()
            elif kind == "tensors":  # a valid safetensors file with foreign names or shapes
                save_tensors(path, {args[1]: torch.zeros(args[2])})
            elif kind == "truncate":
                path.write_bytes(path.read_bytes()[:args[1]])
            else:
                path.write_bytes(args[1])


@fast(40)
@given(folder_edits)
def test_export_of_a_damaged_run_folder_is_one_line_or_verified(edits):
    folder = WORK / "export-damaged"
    damage(folder, MODEL_FILES, edits)
    code, err = run_cli(["export", str(folder)])
    event("refused" if code else "accepted")
    if code != 0:
        assert_one_line_error(code, err)
        return
    for name in ("arch.json", "model.safetensors", "check.safetensors"):  # success only on the real files
        assert (folder / name).read_bytes() == MODEL_FILES[name]


@fast(30)
@given(folder_edits)
def test_resume_of_a_damaged_run_folder_is_one_line_or_correct(edits):
    folder = WORK / "resume-damaged"
    damage(folder, TAB_FILES, edits)
    store = folder / "store.sqlite"
    before = store.read_bytes() if store.exists() else None
    code, err = run_cli(["search", *SEARCH, "--table", str(WORK / "base.csv"), "--out", str(folder), "--resume"])
    event("refused" if code else "accepted")
    if code != 0:
        assert_one_line_error(code, err)
        assert (store.read_bytes() if store.exists() else None) == before  # never written on an error
        return
    results = json.loads((folder / "results.json").read_text())
    assert results["n_trials"] == 3
    for trial in results["trials"]:
        assert trial["metrics"][COLUMN] == TRUTH[SPACE.canonical(Arch(trial["arch"])).key]


# -- flags of the other commands ---------------------------------------------------------------------------


BAD_TABLE = WORK / "bad-last-line.csv"
BAD_TABLE.write_text(BASE + "5,|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|"
                            "skip_connect~2|,x,not-a-number\n")
OTHER_FLAGS = {
    # every command gets one input that must fail (a table or data that cannot work), so no case runs long
    "bench nb201": (["bench", "nb201", "--table", str(WORK / "base.csv"), "--no-progress"],
                    {"--column": words, "--strategies": words, "--queries": numbers, "--seeds": numbers}),
    "bench proxies": (["bench", "proxies", "--table", str(BAD_TABLE)],
                      {"--column": words, "--sample": numbers | words, "--seed": numbers}),
    "slim": (["slim", "--data", str(WORK / "no-such-data")],
             {"--model": words, "--model-args": words, "--weights": words, "--max-flops": numbers,
              "--max-params": numbers, "--max-latency-ms": numbers, "--method": words, "--ratios": numbers | words,
              "--round-to": numbers, "--ignore": words, "--pretrain-epochs": numbers, "--supernet-epochs": numbers,
              "--evaluations": numbers, "--finetune-epochs": numbers, "--lr": numbers, "--batch-size": numbers,
              "--latency-threads": numbers, "--seed": numbers}),
    "rank-check": (["rank-check", "--data", str(WORK / "no-such-data")],
                   {"--space-args": words, "--k": numbers, "--seeds": numbers, "--epochs": numbers,
                    "--sampler": words, "--supernet-epochs": numbers, "--batch-size": numbers, "--lr": numbers,
                    "--top-k": numbers, "--seed": numbers}),
}


@fast(60)
@given(st.sampled_from(sorted(OTHER_FLAGS)).flatmap(lambda name: st.tuples(st.just(name), st.dictionaries(
    st.sampled_from(sorted(OTHER_FLAGS[name][1])), st.just(None), max_size=4))), st.data())
def test_flags_of_bench_slim_and_rank_check_fail_in_one_line(command_and_flags, data):
    name, chosen = command_and_flags
    fixed, flags = OTHER_FLAGS[name]
    out = WORK / "other-out"
    shutil.rmtree(out, ignore_errors=True)
    argv = fixed + ["--out", str(out)]
    for flag in chosen:
        argv.append(f"{flag}={data.draw(flags[flag])}")
    assert_one_line_error(*run_cli(argv))
    assert not out.exists()
