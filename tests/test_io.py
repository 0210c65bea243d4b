"""Tests of hopdyn.io: model specs, beta checks and atomic result writers."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from hopdyn.errors import InputError
from hopdyn.io import (
    Spec,
    atomic_path,
    check_beta,
    ensure_out_dir,
    load_spec,
    to_jsonable,
    write_csv,
    write_json,
    write_text,
)
from hopdyn.patterns import rolling_patterns

CELLS_CSV = "cell_type,g1,g2,g3,g4\nA,1.0,0.0,2.0,1.0\nB,0.0,3.0,1.0,2.0\n"


def spec_file(folder, text, name="model.toml"):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load(folder, text):
    return load_spec(spec_file(folder, text))


# --- specs that parse ----------------------------------------------------


def test_classic_rolling_spec_uses_the_defaults(tmp_path):
    text = '[model]\nkind = "classic"\n[patterns]\nsource = "rolling"\nN = 9\nK = 3\n'
    spec = load(tmp_path, text)

    assert isinstance(spec, Spec)
    assert (spec.kind, spec.form, spec.K, spec.N) == ("classic", "A", 3, 9)
    np.testing.assert_array_equal(spec.patterns.values, rolling_patterns(9, 3).values)
    assert spec.field == 0.0
    assert spec.w is None and spec.readout is None and spec.u is None
    assert spec.path == tmp_path / "model.toml"
    assert spec.raw["patterns"]["N"] == 9


def test_classic_random_spec_with_form_seed_and_field_vector(tmp_path):
    spec = load(
        tmp_path,
        """
        [model]
        kind = "classic"
        form = "C"
        [patterns]
        source = "random"
        N = 4
        K = 2
        seed = 5
        [parameters]
        field = [0.5, 0, -1, 2.5]
        """,
    )

    assert spec.form == "C"
    assert spec.patterns.is_binary
    assert spec.patterns.source == "random(N=4, K=2, seed=5)"
    np.testing.assert_array_equal(spec.field, [0.5, 0.0, -1.0, 2.5])


@pytest.mark.parametrize(("value", "expected"), [("0.25", 0.25), ("[-2]", -2.0)])
def test_classic_field_may_be_a_number_or_a_list_of_one(tmp_path, value, expected):
    text = (
        '[model]\nkind = "classic"\n[patterns]\nsource = "rolling"\nN = 4\nK = 2\n'
        f"[parameters]\nfield = {value}\n"
    )
    spec = load(tmp_path, text)

    assert isinstance(spec.field, float)
    assert spec.field == expected


def test_file_source_is_relative_to_the_spec_and_preprocessed(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cells.csv").write_text(CELLS_CSV)
    text = """
        [model]
        kind = "classic"
        form = "D"
        [patterns]
        source = "file"
        path = "data/cells.csv"
        center = true
        binarize = true
        normalize = "unit"
    """
    spec = load(tmp_path, text)

    assert spec.patterns.names == ("A", "B")
    assert spec.patterns.features == ("g1", "g2", "g3", "g4")
    expected = np.array([[1, -1, 1, -1], [-1, 1, -1, 1]]) / 2
    np.testing.assert_allclose(spec.patterns.values, expected)
    assert spec.patterns.source.endswith("; center; binarize; normalize=unit")


def test_npy_file_source(tmp_path):
    np.save(tmp_path / "x.npy", np.eye(3))
    text = '[model]\nkind = "modern"\n[patterns]\nsource = "file"\npath = "x.npy"\n'
    spec = load(tmp_path, text)

    assert spec.patterns.names == ("1", "2", "3")
    np.testing.assert_array_equal(spec.w, np.zeros(3))


def test_modern_bundled_spec_with_weights(tmp_path):
    text = """
        [model]
        kind = "modern"
        [patterns]
        source = "bundled"
        name = "pbmc68k"
        normalize = "unit"
        [parameters]
        w = [0, 0.05, 0, 0, 0, 0, 0, 0, 0, 0.1]
        readout = "patterns"
    """
    spec = load(tmp_path, text)

    assert (spec.kind, spec.form, spec.K, spec.N) == ("modern", None, 10, 765)
    assert spec.patterns.names[0] == "CD14+ Monocyte"
    np.testing.assert_allclose(np.linalg.norm(spec.patterns.values, axis=1), 1.0)
    np.testing.assert_array_equal(spec.w[[1, 9]], [0.05, 0.1])
    assert spec.readout is None
    assert spec.field == 0.0


def test_modern_readout_file_and_production(tmp_path):
    (tmp_path / "q.csv").write_text("name,a,b,c\nx,1,2,3\ny,4,5,6\n")
    text = """
        [model]
        kind = "modern"
        u = [0.1, 0.0, 0.2]
        [patterns]
        source = "rolling"
        N = 3
        K = 2
        block = 1
        [parameters]
        readout = "q.csv"
    """
    spec = load(tmp_path, text)

    np.testing.assert_array_equal(spec.readout, [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(spec.u, [0.1, 0.0, 0.2])


def test_meanfield_spec_has_no_patterns(tmp_path):
    spec = load(tmp_path, '[model]\nkind = "meanfield"\nK = 3\n')

    assert (spec.kind, spec.K, spec.N, spec.form) == ("meanfield", 3, None, None)
    assert spec.patterns is None and spec.w is None and spec.readout is None


# --- specs that fail -----------------------------------------------------

ROLLING = '[patterns]\nsource = "rolling"\nN = 4\nK = 2\n'
CLASSIC = '[model]\nkind = "classic"\n' + ROLLING
MODERN = '[model]\nkind = "modern"\n' + ROLLING

BAD_SPECS = [
    ("[model\n", r"invalid TOML: .*line 1"),
    ('[model]\nkind = "modern"\nkind = "classic"\n', r"invalid TOML: .*line 3"),
    (CLASSIC + "[extra]\n", r"top-level key 'extra': unknown; valid sections: "),
    ('kind = "classic"\n', r"'kind': unknown; valid sections: \[model\], \[patterns"),
    ("model = 3\n", r"\[model\]: must be a table, got 3"),
    (ROLLING, r"\[model\]: required section, but missing"),
    ("[model]\n" + ROLLING, r"\[model\] kind: required, but missing"),
    ('[model]\nkind = "hopfield"\n', "kind: must be one of 'classic', 'meanfield'"),
    ("[model]\nkind = 1\n", r"\[model\] kind: must be one of .* got 1"),
    ('[model]\nkind = "classic"\nform = "a"\n', r"form: must be one of 'A', 'B'"),
    (MODERN.replace("\n[", '\nform = "A"\n[', 1), "'form': unknown; valid keys for "),
    ('[model]\nkind = "classic"\nK = 2\n', r"kind 'classic': kind, form"),
    ('[model]\nkind = "classic"\n', r"\[patterns\]: required section, but missing"),
    ('[model]\nkind = "meanfield"\n', r"\[model\] K: required, but missing"),
    ('[model]\nkind = "meanfield"\nK = 0\n', "K: must be a positive integer, got 0"),
    ('[model]\nkind = "meanfield"\nK = 2\n' + ROLLING, "must be absent for kind"),
    ('[model]\nkind = "meanfield"\nK = 2\n[parameters]\nw = [0.0]\n', "keys .*: none"),
    (CLASSIC.replace("rolling", "grid"), r"source: must be one of 'random', 'rol"),
    (CLASSIC.replace("N = 4", "N = 0"), r"\[patterns\] N: must be a positive int"),
    (CLASSIC.replace("N = 4", "N = 4.0"), "N: must be a positive integer, got 4.0"),
    (CLASSIC.replace("N = 4", "N = true"), "N: must be a positive integer, got True"),
    (CLASSIC.replace("K = 2", 'K = "2"'), "K: must be a positive integer, got '2'"),
    (CLASSIC.replace("K = 2\n", ""), r"\[patterns\] K: required, but missing"),
    (CLASSIC + "seed = 1\n", "'seed': unknown; valid keys for source 'rolling': "),
    (CLASSIC.replace("rolling", "random") + "seed = -1\n", "seed: must be an inte"),
    (CLASSIC + "block = 3\n", r"\[patterns\]: rolling patterns: K \* block must"),
    (CLASSIC + 'normalize = "l2"\n', "normalize: must be one of 'none', 'unit'"),
    (CLASSIC + 'center = "yes"\n', "center: must be true or false, got 'yes'"),
    (CLASSIC + "[parameters]\nw = [0.0, 0.0]\n", "'w': unknown; valid keys for kind"),
    (
        CLASSIC + "[parameters]\nfield = [1.0, 2.0]\n",
        "list of 1 or N = 4 numbers, got a list of 2",
    ),
    (CLASSIC + "[parameters]\nfield = inf\n", "field: must be finite, got inf"),
    (CLASSIC + '[parameters]\nfield = "0"\n', "field: must be a number, got '0'"),
    (MODERN + "[parameters]\nw = [0.0]\n", "list of K = 2 numbers, got a list of 1"),
    (MODERN + "[parameters]\nw = 0.5\n", "list of K = 2 numbers, got 0.5"),
    (MODERN + "[parameters]\nw = [0.0, nan]\n", r"\] w: must be finite, got nan"),
    (MODERN + "[parameters]\nw = [0.0, true]\n", "w: must be a number, got True"),
    (MODERN + "[parameters]\nreadout = 1\n", 'must be "patterns" or the path'),
    (MODERN + '[parameters]\nreadout = "q.csv"\n', r"readout: pattern file .* does"),
    (MODERN.replace("\n[", "\nu = [1.0]\n[", 1), r"u: must be a list of N = 4"),
]


@pytest.mark.parametrize(("text", "match"), BAD_SPECS)
def test_bad_spec_is_rejected_with_one_line_naming_the_file(tmp_path, text, match):
    path = spec_file(tmp_path, text)

    with pytest.raises(InputError, match=match) as info:
        load_spec(path)

    message = str(info.value)
    assert message.startswith(f"spec file '{path}': ")
    assert "\n" not in message


def test_missing_spec_file(tmp_path):
    with pytest.raises(InputError, match="spec file '.*none.toml' does not exist"):
        load_spec(tmp_path / "none.toml")


def test_spec_pattern_file_errors_name_both_files(tmp_path):
    (tmp_path / "cells.csv").write_text("name,a,b\nx,1,nan\n")
    text = (
        '[model]\nkind = "classic"\n[patterns]\nsource = "file"\npath = "cells.csv"\n'
    )
    path = spec_file(tmp_path, text)

    match = r"model.toml': \[patterns\] path: pattern file '.*cells.csv': line 2"
    with pytest.raises(InputError, match=match):
        load_spec(path)

    path = spec_file(tmp_path, text.replace("cells.csv", "gone.csv"))
    with pytest.raises(InputError, match="pattern file '.*gone.csv' does not exist"):
        load_spec(path)


def test_spec_readout_shape_must_be_k_by_n(tmp_path):
    (tmp_path / "q.csv").write_text("name,a,b\nx,1,2\ny,3,4\n")
    path = spec_file(tmp_path, MODERN + '[parameters]\nreadout = "q.csv"\n')

    with pytest.raises(InputError, match="K x N = 2 x 4 matrix, got 2 x 2 in"):
        load_spec(path)


def test_spec_unknown_bundled_name_lists_the_valid_ones(tmp_path):
    text = '[model]\nkind = "modern"\n[patterns]\nsource = "bundled"\nname = "x"\n'
    path = spec_file(tmp_path, text)

    with pytest.raises(InputError, match=r"\[patterns\] name: .*valid: pbmc68k"):
        load_spec(path)


# --- check_beta ----------------------------------------------------------


@pytest.mark.parametrize("beta", [1, 0.5, np.float64(1e4), np.int32(3)])
def test_check_beta_accepts_positive_finite_numbers(beta):
    assert check_beta(beta) == float(beta)
    assert isinstance(check_beta(beta), float)


@pytest.mark.parametrize("beta", [0, -1.0, math.nan, math.inf, "2", True, None])
def test_check_beta_rejects_the_rest(beta):
    with pytest.raises(InputError, match="beta must be a finite number > 0, got"):
        check_beta(beta)


def test_check_beta_names_the_argument():
    with pytest.raises(InputError, match=r"--t-max must .* got -2"):
        check_beta(-2, name="--t-max")


# --- writing results -----------------------------------------------------


def leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_atomic_path_writes_to_a_temporary_file_with_the_same_suffix(tmp_path):
    target = tmp_path / "figure.png"

    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.suffix == ".png"
        assert tmp != target
        tmp.write_bytes(b"png")
        assert not target.exists()

    assert target.read_bytes() == b"png"
    assert leftovers(tmp_path, {"figure.png"}) == []


def test_atomic_path_leaves_no_file_when_the_block_raises(tmp_path):
    target = tmp_path / "out.json"

    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")

    assert not target.exists()
    assert leftovers(tmp_path, set()) == []


def test_atomic_path_keeps_the_old_file_when_the_block_raises(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("new")
        raise KeyboardInterrupt

    assert target.read_text() == "old"
    assert leftovers(tmp_path, {"out.txt"}) == []


def test_write_json_is_strict_json_with_nan_as_null(tmp_path):
    target = tmp_path / "fixed_points.json"
    result = {
        "beta": np.float64(2.0),
        "dimension": np.int64(3),
        "fixed_points": [{"state": np.array([0.5, -0.5]), "energy": np.nan}],
        "pair": (1, 2),
    }
    write_json(target, result)

    loaded = json.loads(target.read_text(), parse_constant=pytest.fail)
    assert loaded == {
        "beta": 2.0,
        "dimension": 3,
        "fixed_points": [{"state": [0.5, -0.5], "energy": None}],
        "pair": [1, 2],
    }


def test_write_json_replaces_and_leaves_no_file_on_error(tmp_path):
    target = tmp_path / "r.json"
    write_json(target, {"a": 1})
    write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}

    with pytest.raises(TypeError, match="cannot convert object"):
        write_json(target, {"a": object()})
    assert json.loads(target.read_text()) == {"a": 2}
    assert leftovers(tmp_path, {"r.json"}) == []


def test_to_jsonable_converts_numpy_and_non_finite_values():
    eigenvalues = np.array([1 + 2j, -0.5 + 0j])
    converted = to_jsonable(
        {
            np.int64(1): np.array(3.5),
            "flag": np.bool_(True),
            "eig": eigenvalues,
            "bounds": [np.inf, -np.inf, np.float32(0.5)],
            "path": Path("a/b"),
            "none": None,
        }
    )

    assert converted == {
        "1": 3.5,
        "flag": True,
        "eig": [[1.0, 2.0], [-0.5, 0.0]],
        "bounds": [None, None, 0.5],
        "path": str(Path("a/b")),
        "none": None,
    }
    assert type(converted["flag"]) is bool


def test_write_csv_rows_in_full_precision(tmp_path):
    target = tmp_path / "trajectories.csv"
    rows = [(0.0, np.float64(1 / 3), "a"), (np.float32(0.5), np.nan, "b")]
    write_csv(target, ["t", "m1", "label"], rows)

    lines = target.read_text().splitlines()
    assert lines == ["t,m1,label", f"0.0,{1 / 3!r},a", "0.5,nan,b"]


def test_write_csv_leaves_no_file_when_a_row_is_short(tmp_path):
    target = tmp_path / "catalogue.csv"

    with pytest.raises(ValueError, match="row 2 has 1 cells, the header 2"):
        write_csv(target, ["a", "b"], iter([[1, 2], [3]]))

    assert leftovers(tmp_path, set()) == []


def test_write_text(tmp_path):
    write_text(tmp_path / "summary.txt", "β = 2\n")

    assert (tmp_path / "summary.txt").read_text(encoding="utf-8") == "β = 2\n"


def test_ensure_out_dir_creates_nested_folders(tmp_path):
    folder = ensure_out_dir(tmp_path / "a" / "b")

    assert folder.is_dir()
    assert ensure_out_dir(str(folder)) == folder


def test_ensure_out_dir_rejects_a_file(tmp_path):
    (tmp_path / "taken").write_text("x")

    with pytest.raises(InputError, match="output folder '.*taken': exists and is not"):
        ensure_out_dir(tmp_path / "taken")
    with pytest.raises(InputError, match="output folder '.*inner': cannot be created"):
        ensure_out_dir(tmp_path / "taken" / "inner")
