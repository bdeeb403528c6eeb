import json

import numpy as np
import pytest
import torch

from archfit import Arch, ArchfitError, create_space, list_spaces
from archfit.space import space_from_spec


def test_arch_is_immutable_mapping_with_stable_key():
    a = Arch({"b": 2, "a": "x"})
    b = Arch(a="x", b=2)
    assert a == b and hash(a) == hash(b) and a.key == b.key
    assert list(a) == ["a", "b"] and a["b"] == 2
    with pytest.raises(TypeError):
        a["a"] = "y"  # type: ignore[index]
    assert a.replace(b=3)["b"] == 3 and a["b"] == 2
    assert a.key != a.replace(b=3).key


def test_arch_json_round_trip():
    a = Arch({"s0.depth": 2, "s0.width": 0.75, "op": "conv"})
    assert Arch.from_json(a.to_json()) == a
    assert json.loads(a.to_json()) == {"op": "conv", "s0.depth": 2, "s0.width": 0.75}
    with pytest.raises(ArchfitError, match="not valid JSON"):
        Arch.from_json("{nope")
    with pytest.raises(ArchfitError, match="object"):
        Arch.from_json("[1, 2]")


def test_registry_lists_chain_and_rejects_unknown():
    assert "chain" in list_spaces()
    with pytest.raises(ArchfitError, match="unknown space 'nope'"):
        create_space("nope")


def test_chain_space_derived_operations(tiny_space):
    rng = np.random.default_rng(0)
    arch = tiny_space.sample(rng)
    assert tiny_space.validate(dict(arch)) == arch
    neighbours = tiny_space.neighbours(arch)
    assert neighbours and all(n != arch for n in neighbours)
    assert len({n.key for n in neighbours}) == len(neighbours)
    for n in neighbours:  # exactly one active choice differs
        assert sum(n[k] != arch[k] for k in arch) >= 1
    assert tiny_space.mutate(arch, rng) in neighbours
    vec = tiny_space.encode(arch)
    assert vec.shape == (sum(len(v) for v in tiny_space.choices.values()),) and vec.sum() == len(tiny_space.choices)


def test_chain_canonical_ignores_inactive_blocks():
    space = create_space("chain")
    arch = space.largest().replace(**{"s0.depth": 1, "s0.b2.kernel": 7, "s0.b2.expand": 6})
    canon = space.canonical(arch)
    assert canon["s0.b2.kernel"] == 3 and canon["s0.b2.expand"] == 2
    assert space.canonical(arch.replace(**{"s0.b1.kernel": 5})) == canon
    # the canonical count matches the closed-form size
    small = create_space("chain", stage_channels=[8], max_depth=2, kernels=[3, 5], expansions=[1], widths=[1.0])
    encodings = {small.canonical(small.sample(np.random.default_rng(i))).key for i in range(300)}
    assert len(encodings) == small.size() == 2 + 4


def test_validate_names_bad_values():
    space = create_space("chain")
    good = dict(space.smallest())
    with pytest.raises(ArchfitError, match="s0.depth=9"):
        space.validate({**good, "s0.depth": 9})
    with pytest.raises(ArchfitError, match="unknown choice 'zzz'"):
        space.validate({**good, "zzz": 1})
    with pytest.raises(ArchfitError, match="missing choice"):
        space.validate({k: v for k, v in good.items() if k != "s1.width"})


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32), (1, 40), (2, 17)])
def test_chain_builds_for_any_input_shape(shape):
    space = create_space("chain", input_shape=shape, num_classes=7)
    for arch in (space.smallest(), space.largest(), space.sample(np.random.default_rng(1))):
        out = space.build(arch)(torch.randn(2, *shape))
        assert out.shape == (2, 7)
    conv = next(m for m in space.build(space.smallest()).modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d)))
    assert isinstance(conv, torch.nn.Conv1d if len(shape) == 2 else torch.nn.Conv2d)


def test_space_spec_round_trip():
    space = create_space("chain", input_shape=(1, 40), num_classes=5, max_depth=2)
    again = space_from_spec(json.loads(json.dumps(space.spec())))
    assert again.params() == space.params() and again.choices == space.choices
