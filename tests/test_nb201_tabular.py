"""The tabular estimator: lookups by isomorphism class, and one-line errors for bad tables."""

from __future__ import annotations

import pytest

from archfit.errors import ArchfitError
from archfit.estimate.tabular import TabularEstimator
from archfit.space import create_space
from archfit.space.nb201 import parse_arch
from nb201_fixtures import synthetic_value, write_table

SMALL_OPS = ("none", "skip_connect", "nor_conv_3x3")


@pytest.fixture(scope="module")
def small_space():
    return create_space("nb201", ops=list(SMALL_OPS))


@pytest.fixture(scope="module")
def small_table(tmp_path_factory):
    return write_table(tmp_path_factory.mktemp("table") / "small.csv", SMALL_OPS)


def test_lookup_is_per_isomorphism_class(small_space, small_table):
    estimator = TabularEstimator(small_space, small_table)
    a = parse_arch("|skip_connect~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|none~1|skip_connect~2|")
    b = parse_arch("|skip_connect~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|")
    assert small_space.canonical(a) == small_space.canonical(b)
    rep = small_space.canonical(a)
    assert estimator.lookup(a) == estimator.lookup(b) == synthetic_value(tuple(rep[n] for n in rep))
    result = estimator.estimate(b)
    assert result.metrics == {"cifar10_test_acc": estimator.lookup(a)} and result.fidelity["column"] == "cifar10_test_acc"
    valid = small_space.all_canonical()
    assert len(estimator.values_) == len(valid)
    assert estimator.optimum() == max(estimator.lookup(arch) for arch in valid)


def test_other_column(small_space, tmp_path):
    table = write_table(tmp_path / "t.csv", SMALL_OPS, column="cifar100_test_acc")
    assert TabularEstimator(small_space, table, "cifar100_test_acc").metric == "cifar100_test_acc"
    with pytest.raises(ArchfitError, match=r"no column 'cifar10_test_acc'.*cifar100_test_acc"):
        TabularEstimator(small_space, table)


def test_table_must_cover_the_space(small_space, tmp_path):
    table = write_table(tmp_path / "partial.csv", SMALL_OPS, drop=300)
    with pytest.raises(ArchfitError, match=r"does not cover space 'nb201': \d+ of \d+ architecture classes"):
        TabularEstimator(small_space, table)


@pytest.mark.parametrize("arch,value,match", [
    ("|nor_conv_3x3~0|+|bogus~0|none~1|+|none~0|none~1|none~2|", "90", "operation 'bogus'"),
    ("|nor_conv_3x3~0|", "90", "3 '\\+'-separated nodes"),
    ("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "ninety", "is not a number"),
    ("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "nan", "not finite"),
])
def test_bad_rows_raise_one_line_errors(small_space, tmp_path, arch, value, match):
    table = write_table(tmp_path / "bad.csv", SMALL_OPS,
                        extra_rows=[{"index": 9999, "arch": arch, "isomorphism_class": "", "cifar10_test_acc": value}])
    with pytest.raises(ArchfitError, match=match) as info:
        TabularEstimator(small_space, table)
    assert "\n" not in str(info.value)


def test_missing_file_and_foreign_rows(small_space, tmp_path):
    with pytest.raises(ArchfitError, match="cannot read"):
        TabularEstimator(small_space, tmp_path / "absent.csv")
    # rows with operations outside a restricted space are not part of it: skipped, not an error
    full = write_table(tmp_path / "full.csv")
    assert len(TabularEstimator(small_space, full).values_) == len(small_space.all_canonical())
