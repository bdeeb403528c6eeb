"""Space capabilities are typed Protocols checked with isinstance; registries warn on a duplicate name."""

import warnings

import pytest

from archfit.errors import ArchfitError
from archfit.estimate.tabular import read_table
from archfit.registry import Registry
from archfit.space import create_space
from archfit.space.capabilities import Bounded, Enumerable, GraphForm, PathEncodable, TextForm


def test_builtin_spaces_declare_what_they_can_do():
    nb201, chain = create_space("nb201"), create_space("chain")
    assert isinstance(nb201, Enumerable) and isinstance(nb201, TextForm) and isinstance(nb201, PathEncodable)
    assert isinstance(chain, Bounded) and not isinstance(chain, (Enumerable, TextForm, PathEncodable, GraphForm))


def test_a_table_needs_a_text_form(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("arch,acc\nx,1\n")
    with pytest.raises(ArchfitError, match="has no arch-string format"):
        read_table(table, "acc", create_space("chain"))


def test_registry_warns_on_a_duplicate_name():
    registry = Registry("thing", ())

    @registry.register("a")
    class First:
        pass

    with pytest.warns(UserWarning, match="thing 'a' registered again"):
        @registry.register("a")
        class Second:
            pass

    assert registry.get("a") is Second
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        registry.register("a")(Second)  # the same class again (a module re-imported): no warning
