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


def test_registry_is_silent_when_the_same_definition_runs_again():
    """A docs example or notebook cell executed twice defines a new class object from the same source."""
    registry = Registry("thing", ())
    source = "@registry.register('b')\nclass Same:\n    pass\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(source, {"registry": registry, "__name__": "example"})  # noqa: S102
        exec(source, {"registry": registry, "__name__": "example"})  # noqa: S102
    first = registry.get("b")
    with pytest.warns(UserWarning, match="thing .b. registered again: other.Same replaces example.Same"):
        exec(source, {"registry": registry, "__name__": "other"})  # noqa: S102  another module: warned
    assert registry.get("b") is not first


def test_cost_metrics_compare_their_measure_functions():
    from archfit.cost.metrics import _METRICS, get_metric, register_metric

    source = "@register_metric('twice_for_test', '--max-twice', 'twice')\ndef twice(model, space, arch):\n    return 2.0\n"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            exec(source, {"register_metric": register_metric, "__name__": "example"})  # noqa: S102
            exec(source, {"register_metric": register_metric, "__name__": "example"})  # noqa: S102
        with pytest.warns(UserWarning, match="cost metric 'twice_for_test' registered again: other.twice replaces "
                                             "example.twice"):
            exec(source, {"register_metric": register_metric, "__name__": "other"})  # noqa: S102
        assert get_metric("twice_for_test").measure(None, None, None) == 2.0
    finally:
        _METRICS.classes.pop("twice_for_test", None)
        _METRICS.origins.pop("twice_for_test", None)
