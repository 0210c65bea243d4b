"""Tests of hopdyn.patterns: builders, loading, bundled data, preprocessing."""

import numpy as np
import pytest

from hopdyn.errors import HopdynError, InputError
from hopdyn.patterns import (
    BUNDLED_DATASETS,
    PatternSet,
    bundled_patterns,
    load_patterns,
    preprocess,
    random_patterns,
    rolling_patterns,
)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# --- errors --------------------------------------------------------------


def test_input_error_is_a_hopdyn_error_and_a_value_error():
    assert issubclass(InputError, HopdynError)
    assert issubclass(InputError, ValueError)


# --- PatternSet ----------------------------------------------------------


def test_from_array_gives_default_names_and_shape():
    patterns = PatternSet.from_array([[1, -1, 1], [1, 1, -1]])

    assert (patterns.K, patterns.N) == (2, 3)
    assert patterns.names == ("1", "2")
    assert patterns.features == ("f1", "f2", "f3")
    assert patterns.source == "array"
    assert patterns.values.dtype == float


def test_is_binary_needs_every_entry_to_be_plus_or_minus_one():
    assert PatternSet.from_array([[1.0, -1.0]]).is_binary
    assert not PatternSet.from_array([[1.0, 0.0]]).is_binary
    assert not PatternSet.from_array([[1.0, -0.5]]).is_binary


def test_values_are_a_read_only_copy():
    array = np.ones((2, 2))
    patterns = PatternSet.from_array(array)
    array[0, 0] = 5.0

    assert patterns.values[0, 0] == 1.0
    with pytest.raises(ValueError):
        patterns.values[0, 0] = 2.0


def test_nan_and_inf_are_located_in_the_message():
    values = np.ones((3, 4))
    values[1, 2] = np.nan
    values[2, 2] = np.inf
    values[2, 3] = -np.inf

    message = r"NaN or inf in 3 entries \(2 rows and 2 columns\), first at pattern '2'"
    with pytest.raises(InputError, match=message):
        PatternSet.from_array(values)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([1.0, 2.0], r"K x N array .* got shape \(2,\)"),
        (np.ones((0, 3)), r"got shape \(0, 3\)"),
        ([["a", "b"]], "must be real numbers"),
        ([[1.0, 2.0], [3.0]], "must be a K x N array"),
        ([[1 + 1j]], "got complex"),
    ],
)
def test_bad_values_are_rejected(values, match):
    with pytest.raises(InputError, match=match):
        PatternSet.from_array(values)


def test_names_and_features_must_match_the_shape():
    with pytest.raises(
        InputError, match=r"pattern names: need one per row .*\(2\), got 3"
    ):
        PatternSet(np.ones((2, 3)), ("a", "b", "c"), ("x", "y", "z"))
    with pytest.raises(InputError, match="feature names: need one per column"):
        PatternSet(np.ones((2, 3)), ("a", "b"), ("x", "y"))
    with pytest.raises(InputError, match="got the string 'ab'"):
        PatternSet(np.ones((2, 3)), "ab", ("x", "y", "z"))


# --- random and rolling patterns -----------------------------------------


def test_random_patterns_are_plus_minus_one_and_reproducible():
    first = random_patterns(200, 4, seed=7)
    again = random_patterns(200, 4, seed=7)
    other = random_patterns(200, 4, seed=8)

    assert first.values.shape == (4, 200)
    assert set(np.unique(first.values)) == {-1.0, 1.0}
    assert first.is_binary
    np.testing.assert_array_equal(first.values, again.values)
    assert not np.array_equal(first.values, other.values)


def test_random_patterns_use_numpy_default_rng():
    expected = np.random.default_rng(3).choice([-1.0, 1.0], size=(2, 50))

    np.testing.assert_array_equal(random_patterns(50, 2, seed=3).values, expected)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, 3), "N: must be a positive integer, got 0"),
        ((10, 2.5), "K: must be a positive integer, got 2.5"),
        ((10, True), "K: must be a positive integer, got True"),
        ((10, 2, -1), "seed: must be an integer >= 0, got -1"),
    ],
)
def test_random_patterns_reject_bad_sizes(args, match):
    with pytest.raises(InputError, match=match):
        random_patterns(*args)


def test_rolling_gram_matrix_for_nine_features_and_three_patterns():
    X = rolling_patterns(9, 3).values
    expected = np.full((3, 3), -1.0 / 3.0) + np.eye(3) * (4.0 / 3.0)

    np.testing.assert_allclose(X @ X.T / 9, expected, rtol=0, atol=1e-15)


def test_rolling_blocks_sit_side_by_side():
    X = rolling_patterns(7, 2, block=3).values

    np.testing.assert_array_equal(X[0], [1, 1, 1, -1, -1, -1, -1])
    np.testing.assert_array_equal(X[1], [-1, -1, -1, 1, 1, 1, -1])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((2, 3, None), "need N >= K .* got N=2, K=3"),
        ((9, 3, 4), "K \\* block must not exceed N, got K=3, block=4, N=9"),
        ((9, 3, 0), "block: must be a positive integer, got 0"),
    ],
)
def test_rolling_patterns_reject_blocks_that_do_not_fit(args, match):
    with pytest.raises(InputError, match=match):
        rolling_patterns(*args)


# --- loading -------------------------------------------------------------


def test_csv_round_trip_keeps_names_and_values(tmp_path):
    values = np.array([[0.5, -1.25, 3.0], [1e-7, 2.0, -4.5]])
    lines = ["cell_type,GeneA,GeneB,GeneC"]
    for name, row in zip(["T cell", "B, naive"], values, strict=True):
        cells = ",".join(repr(float(x)) for x in row)
        lines.append(f'"{name}",{cells}')
    path = write(tmp_path / "cells.csv", "\n".join(lines) + "\n")

    patterns = load_patterns(path)

    assert patterns.names == ("T cell", "B, naive")
    assert patterns.features == ("GeneA", "GeneB", "GeneC")
    assert patterns.source == str(path)
    np.testing.assert_array_equal(patterns.values, values)


def test_csv_skips_blank_lines_and_strips_spaces(tmp_path):
    path = write(tmp_path / "p.csv", "\ufeffname, a , b\n\n x , 1, 2 \n\n")

    patterns = load_patterns(path)

    assert patterns.names == ("x",)
    assert patterns.features == ("a", "b")
    np.testing.assert_array_equal(patterns.values, [[1.0, 2.0]])


def test_csv_without_a_header_warns(tmp_path):
    path = write(tmp_path / "bare.csv", "1,0.5,2\n2,1.5,3\n")

    with pytest.warns(UserWarning, match="header holds only numbers"):
        patterns = load_patterns(path)

    assert patterns.features == ("0.5", "2")


def test_npy_gets_default_names(tmp_path):
    path = tmp_path / "p.npy"
    np.save(path, np.arange(6).reshape(2, 3))

    patterns = load_patterns(path)

    assert patterns.names == ("1", "2")
    assert patterns.features == ("f1", "f2", "f3")
    np.testing.assert_array_equal(patterns.values, [[0, 1, 2], [3, 4, 5]])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "is empty"),
        ("\n\n", "is empty"),
        ("name,a,b\n", "no pattern rows after the header"),
        ("name\nx\n", "at least one feature name"),
        ("name,a,b\nx,1,2\ny,1\n", "line 3 has 2 cells, but the header has 3"),
        ("name,a,b\nx,1,oops\n", r"line 2, column 3 \('b'\): 'oops' is not a number"),
        ("name,a,b\nx,1,\n", r"line 2, column 3 \('b'\): '' is not a number"),
        ("name,a,b\nx,nan,1\n", r"line 2, column 2 \('a'\): 'nan' is not finite"),
        ("name,a,b\nx,1,-inf\n", r"column 3 \('b'\): '-inf' is not finite"),
    ],
)
def test_bad_csv_files_are_rejected(tmp_path, text, match):
    path = write(tmp_path / "bad.csv", text)

    with pytest.raises(InputError, match=f"pattern file '.*bad.csv'.*{match}"):
        load_patterns(path)


def test_missing_and_unknown_files_are_rejected(tmp_path):
    with pytest.raises(InputError, match="pattern file '.*nope.csv' does not exist"):
        load_patterns(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is not a file"):
        load_patterns(tmp_path)

    path = write(tmp_path / "p.xlsx", "x")
    with pytest.raises(InputError, match=r"one of \.csv, \.npy, got '\.xlsx'"):
        load_patterns(path)


def test_bad_npy_files_are_rejected(tmp_path):
    np.save(tmp_path / "flat.npy", np.ones(4))
    with pytest.raises(InputError, match=r"flat.npy'.*got shape \(4,\)"):
        load_patterns(tmp_path / "flat.npy")

    np.save(tmp_path / "empty.npy", np.ones((0, 4)))
    with pytest.raises(InputError, match=r"got shape \(0, 4\)"):
        load_patterns(tmp_path / "empty.npy")

    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan]]))
    with pytest.raises(
        InputError, match="nan.npy'.*first at pattern '1', feature 'f2'"
    ):
        load_patterns(tmp_path / "nan.npy")

    write(tmp_path / "junk.npy", "not an array")
    with pytest.raises(InputError, match="junk.npy': not in .npy format"):
        load_patterns(tmp_path / "junk.npy")

    np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
    with pytest.raises(InputError, match="text.npy'.*must be real numbers"):
        load_patterns(tmp_path / "text.npy")

    (tmp_path / "cut.npy").write_bytes((tmp_path / "nan.npy").read_bytes()[:-4])
    with pytest.raises(InputError, match="cut.npy': unreadable .npy"):
        load_patterns(tmp_path / "cut.npy")


# --- bundled data --------------------------------------------------------


def test_bundled_pbmc68k_is_ten_cell_types_by_765_genes():
    cells = bundled_patterns("pbmc68k")

    assert (cells.K, cells.N) == (10, 765)
    assert cells.source == "bundled:pbmc68k"
    assert cells.names[0] == "CD14+ Monocyte"
    assert "CD56+ NK" in cells.names
    assert cells.features[:3] == ("HES4", "TNFRSF4", "SSU72")
    assert np.all(cells.values >= 0)
    assert set(BUNDLED_DATASETS) == {"pbmc68k"}


def test_unknown_bundled_name_lists_the_valid_ones():
    with pytest.raises(InputError, match="unknown name 'pbmc3k'; valid: pbmc68k"):
        bundled_patterns("pbmc3k")


# --- preprocessing -------------------------------------------------------


@pytest.fixture
def graded():
    values = [[3.0, 0.0, 1.0, 2.0], [1.0, 4.0, 1.0, -2.0], [2.0, 2.0, 1.0, 0.5]]
    return PatternSet(values, ("a", "b", "c"), ("w", "x", "y", "z"), "toy")


def test_unit_normalize_gives_rows_of_length_one(graded):
    unit = preprocess(graded, normalize="unit")

    lengths = np.sqrt(np.sum(unit.values**2, axis=1))
    np.testing.assert_allclose(lengths, 1.0, rtol=1e-15)
    np.testing.assert_allclose(unit.values[0], np.array([3, 0, 1, 2]) / np.sqrt(14))
    assert unit.names == graded.names
    assert unit.features == graded.features


def test_center_gives_zero_column_means(graded):
    centered = preprocess(graded, center=True)

    np.testing.assert_allclose(centered.values.mean(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(centered.values[:, 0], [1.0, -1.0, 0.0])


def test_binarize_takes_signs_with_zero_as_plus_one(graded):
    signs = preprocess(graded, center=True, binarize=True)

    assert signs.is_binary
    np.testing.assert_array_equal(signs.values[:, 0], [1.0, -1.0, 1.0])
    # Column y is constant, so centering makes it zero and binarizing +1.
    np.testing.assert_array_equal(signs.values[:, 2], [1.0, 1.0, 1.0])


def test_binarize_ignores_rounding_residue_of_centering():
    values = np.full((3, 2), [0.1, 0.2])
    assert np.all(values - values.mean(axis=0) < 0)  # the residue is there
    constant = PatternSet.from_array(values)

    signs = preprocess(constant, center=True, binarize=True)

    np.testing.assert_array_equal(signs.values, np.ones((3, 2)))


def test_steps_run_in_order_and_are_recorded(graded):
    done = preprocess(graded, normalize="unit", center=True, binarize=True)

    np.testing.assert_allclose(np.abs(done.values), 0.5)
    assert done.source == "toy; center; binarize; normalize=unit"
    assert preprocess(graded).source == "toy"


def test_unit_normalize_rejects_a_zero_pattern():
    patterns = PatternSet(np.array([[1.0, 2.0], [0.0, 0.0]]), ("a", "b"), ("x", "y"))

    with pytest.raises(InputError, match="length zero .* got zero patterns 'b'"):
        preprocess(patterns, normalize="unit")


def test_unit_normalize_rejects_a_pattern_that_centering_zeroes():
    single = PatternSet.from_array([[1.0, 2.0]])

    with pytest.raises(InputError, match="length zero"):
        preprocess(single, normalize="unit", center=True)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"normalize": "l2"}, "normalize: must be one of 'none', 'unit', got 'l2'"),
        ({"center": "yes"}, "center: must be true or false, got 'yes'"),
        ({"binarize": 1}, "binarize: must be true or false, got 1"),
    ],
)
def test_preprocess_rejects_bad_options(graded, options, match):
    with pytest.raises(InputError, match=match):
        preprocess(graded, **options)
