"""``--resume`` as users read it: flags not given come from the stored run; a flag that differs is refused."""

import json

from archfit.cli import main
from tests.conftest import TINY_SPACE_ARGS

TINY = ["--space-args", json.dumps(TINY_SPACE_ARGS), "--trials", "2", "--epochs", "1", "--final-epochs", "0",
        "--strategy", "random", "--no-progress", "--quiet"]


def test_resume_takes_the_stored_settings_and_refuses_other_ones(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["search", *TINY, "--seed", "3", "--max-params", "20k", "--out", str(out)]) == 0
    first = json.loads((out / "results.json").read_text())
    capsys.readouterr()
    # no flags at all: everything from the store (seed 3, the tiny space, 2 trials, the params budget)
    assert main(["search", "--out", str(out), "--resume", "--no-progress", "--quiet"]) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["config"] == first["config"] and again["config"]["seed"] == 3
    assert again["best"]["arch"] == first["best"]["arch"] and again["budget"]["max_params"] == 2e4
    # the same value given explicitly is fine; another one is refused in one line naming the flags
    assert main(["search", "--out", str(out), "--resume", "--seed", "3", "--trials", "2", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["search", "--out", str(out), "--resume", "--seed", "4", "--epochs", "2", "--lr", "0.05"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "settings differ from the stored run (epochs: 1 → 2; seed: 3 → 4)" in err
    assert "drop --epochs, --seed" in err and "--lr" not in err  # --lr 0.05 is the stored value
