"""Learned predictors (archfit.predict): one interface, registry, encoders, NASLib/DARTS readers, BANANAS."""

from __future__ import annotations

import json

import numpy as np
import pytest

from archfit.cost.budget import Cost
from archfit.errors import ArchfitError
from archfit.metrics import kendall_tau
from archfit.predict import create_predictor, list_predictors
from archfit.predict.darts_compact import DartsCompactEncoder, parse_compact
from archfit.predict.encoding import FeatureTable, SpaceEncoder
from archfit.predict.naslib import read_naslib
from archfit.space import create_space
from archfit.space.base import Arch
from archfit.strategy import create_strategy
from archfit.strategy.base import Problem

SMALL = {"members": 2, "epochs": 60}
FAST = {"mlp": {"members": 3, "epochs": 150}, "gp": {}, "rf": {"trees": 50}, "gbdt": {"members": 2, "trees": 80},
        "gcn": {"members": 1, "epochs": 120}, "assessor": {"members": 1, "ae_epochs": 40, "epochs": 120, "k": 5},
        "fbnet": {"members": 1, "pre_epochs": 60, "epochs": 120},
        "ensemble": {"members": [["rf", {"trees": 30, "extra": True}], ["gbdt", {"members": 1, "trees": 60}]]}}
GAIN = {"none": 0.0, "skip_connect": 0.5, "nor_conv_3x3": 1.0}


def small_space():
    return create_space("nb201", ops=["none", "skip_connect", "nor_conv_3x3"])


def target(arch: Arch) -> float:
    """Additive in the edge ops, with one interaction: learnable from a few dozen samples."""
    ops = [str(arch[name]) for name in sorted(arch)]
    return sum(GAIN[op] * (1 + 0.2 * k) for k, op in enumerate(ops)) + (0.8 if ops[0] == ops[5] == "nor_conv_3x3" else 0)


@pytest.fixture(scope="module")
def data():
    space = small_space()
    archs = space.all_canonical()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(archs))
    y = np.array([target(a) for a in archs])
    return space, [archs[i] for i in order[:50]], y[order[:50]], [archs[i] for i in order[50:]], y[order[50:]]


def test_registry_lists_every_predictor():
    assert set(list_predictors()) == set(FAST)
    with pytest.raises(ArchfitError, match="unknown predictor 'nope'"):
        create_predictor("nope")
    with pytest.raises(ArchfitError, match="bad parameters"):
        create_predictor("rf", depth=3)


@pytest.mark.parametrize("name", sorted(FAST))
def test_predictor_ranks_unseen_archs(name, data):
    space, train, y_train, test, y_test = data
    encoder = SpaceEncoder(space, ("path", "onehot"))
    model = create_predictor(name, **FAST[name]).fit(train, y_train, encoder, seed=1, unlabelled=test)
    mean, std = model.predict(test)
    assert mean.shape == std.shape == (len(test),) and (std >= 0).all()
    assert kendall_tau(mean, y_test) > 0.5  # a constant or shuffled prediction scores ~0
    again, _ = create_predictor(name, **FAST[name]).fit(train, y_train, encoder, seed=1, unlabelled=test).predict(test)
    np.testing.assert_allclose(mean, again, rtol=1e-5, atol=1e-5)  # seeded


def test_predictor_input_errors(data):
    space, train, y_train, _, _ = data
    encoder = SpaceEncoder(space)
    with pytest.raises(ArchfitError, match="call fit before predict"):
        create_predictor("rf").predict(train)
    with pytest.raises(ArchfitError, match="3 archs but 2 targets"):
        create_predictor("rf").fit(train[:3], y_train[:2], encoder)
    with pytest.raises(ArchfitError, match="must be from"):
        SpaceEncoder(space, ("paths",))


def test_encoder_parts_graph_and_feature_table(data):
    space = data[0]
    arch = Arch({"n1.in0": "nor_conv_3x3", "n2.in0": "none", "n2.in1": "skip_connect", "n3.in0": "none",
                 "n3.in1": "none", "n3.in2": "nor_conv_3x3"})
    counts = SpaceEncoder(space, ("counts",)).features([arch])[0]
    # all edges: none x3, skip x1, conv x2; live (on input→output routes): skip 1, conv 2
    np.testing.assert_array_equal(counts, [3, 1, 2, 0, 1, 2])
    adjacency, nodes = SpaceEncoder(space).graph([arch])
    assert adjacency.shape == (1, 8, 8) and nodes.shape == (1, 8, 5)
    assert nodes[0].sum(axis=1).tolist() == [1] * 8
    edges = SpaceEncoder(space).edges()
    k_in, k_out = [name for _, _, name in edges].index("n1.in0"), [name for _, _, name in edges].index("n2.in1")
    assert adjacency[0, k_in + 1, k_out + 1] == 1 and adjacency[0, k_out + 1, k_in + 1] == 0
    table = FeatureTable(["a", "b"], {arch.key: np.array([1.0, 2.0])})
    x = SpaceEncoder(space, ("onehot",), table).features([arch])
    assert x.shape == (1, 18 + 2) and x[0, -2:].tolist() == [1.0, 2.0]
    with pytest.raises(ArchfitError, match="feature table has no row"):
        SpaceEncoder(space, ("onehot",), table).features([space.sample(np.random.default_rng(3))])


def test_naslib_reader_imputes_and_maps_edges(tmp_path):
    entries = {}
    for i, ops in enumerate(["(0, 2, 3, 2, 3, 1)", "(2, 2, 2, 2, 2, 2)", "(3, 0, 4, 1, 1, 0)"]):
        entry = {"val_accuracy": 80.0 + i, **{p: {"score": float(i + 1), "time": 0.1} for p in
                                              ("flops", "params", "synflow", "grasp", "fisher", "grad_norm", "l2_norm",
                                               "plain", "snip", "jacov", "nwot", "epe_nas")}}
        entries[ops] = entry
    del entries["(0, 2, 3, 2, 3, 1)"]["synflow"]
    entries["(2, 2, 2, 2, 2, 2)"]["nwot"]["score"] = float("inf")
    path = tmp_path / "zc.json"
    path.write_text(json.dumps({"cifar10": entries}).replace("Infinity", "1e400"))
    data = read_naslib(path, "nb201")
    assert data.imputed == 2 and data.accuracy.tolist() == [80.0, 81.0, 82.0]
    first = data.archs[0]
    assert first["n1.in0"] == "skip_connect" and first["n2.in0"] == "nor_conv_3x3" and first["n3.in0"] == "nor_conv_1x1"
    assert first["n2.in1"] == "nor_conv_3x3" and first["n3.in1"] == "nor_conv_1x1" and first["n3.in2"] == "none"
    row = data.table.values[first.key]
    assert row[2] == pytest.approx(np.log1p(2.5))  # the missing synflow: median of the others (2, 3)
    path.write_text(json.dumps({"cifar10": {"(9, 9)": {"val_accuracy": 1}}}))
    with pytest.raises(ArchfitError, match="6 op indices"):
        read_naslib(path, "nb201")


def test_darts_compact_encoder():
    text = "[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], " \
           "[(1, 0), (0, 2), (1, 3), (0, 3), (3, 0), (0, 1), (2, 0), (3, 6)]]"
    genotype = parse_compact(text)
    encoder = DartsCompactEncoder(("onehot", "counts"))
    x = encoder.features([genotype])
    assert x.shape == (1, 2 * (8 * 12 + 7)) and x[0, :96].sum() == 16
    adjacency, nodes = encoder.graph([genotype])
    assert adjacency.shape == (1, 22, 22) and nodes.shape == (1, 22, 16)
    assert adjacency[0, 2 + 2 * (3 - 2), 2 + 7] == 1  # slot 7 reads node 3 = op nodes of slots 2 and 3
    with pytest.raises(ArchfitError, match="input < node index"):
        parse_compact("[[(4, 0)] * 8, [(0, 0)] * 8]")


def test_bananas_takes_a_predictor_by_name():
    space = small_space()
    values = {a.key: target(a) for a in space.all_canonical()}

    def run(**args):
        strategy = create_strategy("bananas", initial=4, batch=2, **args)
        strategy.start(Problem(space, "m", lambda a: True, lambda a: Cost(0, 0), "flops", seed=3))
        seen = []
        for _ in range(12):
            arch = space.canonical(strategy.ask())
            seen.append(arch.key)
            from archfit.run.trial import Trial, TrialState

            strategy.tell(Trial(len(seen), arch, TrialState.COMPLETE, metrics={"m": values[arch.key]}))
        return seen

    assert run(predictor="rf", predictor_args={"trees": 30}) == run(predictor="rf", predictor_args={"trees": 30})
    assert run(predictor="rf", predictor_args={"trees": 30}) != run(**SMALL)
    with pytest.raises(ArchfitError, match="unknown predictor"):
        create_strategy("bananas", predictor="nope")


def test_bench_predictors_cli_on_a_synthetic_naslib_file(tmp_path, capsys):
    from archfit.cli import main
    from archfit.predict.naslib import NASLIB_NB201_EDGES, NASLIB_NB201_OPS, PROXIES

    space, rng, entries = create_space("nb201"), np.random.default_rng(0), {}
    for _ in range(80):
        ops = tuple(int(i) for i in rng.integers(0, 5, 6))
        arch = Arch({name: NASLIB_NB201_OPS[i] for name, i in zip(NASLIB_NB201_EDGES, ops)})
        value = float(sum(1 + 0.3 * k for k, o in enumerate(ops) if o in (2, 3)))
        scores = {p: {"score": value * (j + 1) + rng.normal(0, 0.5), "time": 0.0} for j, p in enumerate(PROXIES)}
        entries[str(ops)] = {"val_accuracy": 80 + value + (0 if space.is_valid(arch) else -70), **scores}
    path = tmp_path / "zc.json"
    path.write_text(json.dumps({"cifar10": entries}))
    out = tmp_path / "p"
    assert main(["bench", "predictors", "--naslib", str(path), "--features", "zc,onehot", "--predictors", "rf",
                 "--predictor-args", '{"rf": {"trees": 20}}', "--sizes", "20", "--seeds", "2", "--out", str(out)]) == 0
    results = json.loads((out / "predictors.json").read_text())
    assert set(results) == {"rf:zc", "rf:onehot"} and len(results["rf:zc"]["20"]["values"]) == 2
    assert results["rf:zc"]["20"]["kendall_tau_mean"] > 0.5
    low, high = results["rf:zc"]["20"]["ci95"]
    assert low <= results["rf:zc"]["20"]["kendall_tau_mean"] <= high
    assert (out / "kendall_tau.png").exists() and "<img" in (out / "report.html").read_text()
    assert "rf:zc" in capsys.readouterr().out
    assert main(["bench", "predictors", "--naslib", str(path), "--features", "zc", "--predictors", "rf",
                 "--sizes", "79", "--out", str(out)]) == 2
    assert "leave fewer than 3" in capsys.readouterr().err
