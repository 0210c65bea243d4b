"""Hostile input on the command line: exit 2, one line, no output files.

Each test is a case that once broke the contract of DESIGN.md (a traceback,
several lines on stderr, a result file left behind, a silently wrong result
or a run that never ends).
"""

import json
import struct
import sys
import warnings
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

from hopdyn import io, patterns
from hopdyn.cli import main

MEANFIELD = '[model]\nkind = "meanfield"\nK = 2\n'
MODERN = '[model]\nkind = "modern"\n[patterns]\nsource = "file"\npath = "{file}"\n'
CELLS = "type,g1,g2,g3\nA,1,0,0\nB,0,1,0\nC,0,0,1\n"


@pytest.fixture(autouse=True)
def _warnings_on_stderr(monkeypatch):
    """Print warnings to stderr, as outside pytest, where they count as lines."""

    def show(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno))

    monkeypatch.setattr(warnings, "showwarning", show)


def _write(folder, name, content):
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _npy_bytes(array):
    buffer = BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _modern(tmp_path, file="cells.csv", content=CELLS, extra=""):
    _write(tmp_path, file, content)
    return _write(tmp_path, "model.toml", MODERN.format(file=file) + extra)


def _fails(capsys, argv, out_dir, *words):
    """Run the CLI and check the error contract; return the error line."""
    status = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("hopdyn: error:") and "Traceback" not in err
    for word in words:
        assert word in err, err
    files = [p for p in Path(out_dir).rglob("*") if p.is_file()]
    assert not files, files
    return err


# ------------------------------------------------------------ arguments
@pytest.mark.parametrize(
    "argv, word",
    [
        (["fixed-points", "--seed", "-1"], "--seed"),
        (["fixed-points", "--n-random", "10000000000"], "--n-random"),
        (["landscape", "--seed", "-1"], "--seed"),
        (["landscape", "--basin-samples", "10000000000"], "--basin-samples"),
    ],
)
def test_seed_and_sample_counts_are_bounded(tmp_path, capsys, argv, word):
    spec = _write(tmp_path, "model.toml", MEANFIELD)
    out = tmp_path / "out"
    command, *options = argv
    _fails(capsys, [command, spec, "--beta", 2, *options, "--out", out], out, word)


def test_diagram_y_rejects_non_ascii_digits(tmp_path, capsys):
    spec = _write(tmp_path, "model.toml", MEANFIELD)
    out = tmp_path / "out"
    argv = ["diagram", spec, "--beta-min", 1, "--beta-max", 2, "--y", "overlap:²"]
    _fails(capsys, [*argv, "--out", out], out, "--y")


# ------------------------------------------------------------ spec files
def test_deeply_nested_toml(tmp_path, capsys):
    deep = "[" * 100_000 + "]" * 100_000
    spec = _write(tmp_path, "model.toml", f'[model]\nkind = "meanfield"\nK = {deep}\n')
    out = tmp_path / "out"
    _fails(capsys, ["fixed-points", spec, "--beta", 2, "--out", out], out, "nested")


def test_random_patterns_too_large(tmp_path, capsys):
    text = '[model]\nkind = "classic"\n[patterns]\nsource = "random"\n'
    spec = _write(tmp_path, "model.toml", text + "N = 100000000000000\nK = 2\n")
    out = tmp_path / "out"
    _fails(capsys, ["fixed-points", spec, "--beta", 2, "--out", out], out, "N * K")


def test_patterns_whose_products_overflow(tmp_path, capsys):
    spec = _modern(tmp_path, content="type,a,b\nA,1e200,0\nB,0,1e200\n")
    out = tmp_path / "out"
    argv = ["fixed-points", spec, "--beta", 2, "--out", out]
    _fails(capsys, argv, out, "[patterns]", "overflows", "1e+200")


def test_readout_whose_products_overflow(tmp_path, capsys):
    spec = _modern(tmp_path, extra='[parameters]\nreadout = "q.csv"\n')
    _write(tmp_path, "q.csv", CELLS.replace("A,1,", "A,1e308,"))
    _write(tmp_path, "cells.csv", CELLS.replace("A,1,", "A,1e10,"))
    out = tmp_path / "out"
    argv = ["fixed-points", spec, "--beta", 2, "--out", out]
    _fails(capsys, argv, out, "readout", "overflows")


@pytest.mark.parametrize("scale", ["1e308", "1e-320"])
def test_unit_normalization_of_huge_and_subnormal_entries(tmp_path, scale):
    rows = f"type,a,b\nA,{scale},{scale}\nB,0,{scale}\n"
    spec = _modern(tmp_path, content=rows, extra='normalize = "unit"\n')
    values = io.load_spec(spec).patterns.values
    half = np.sqrt(0.5)
    np.testing.assert_allclose(values, [[half, half], [0.0, 1.0]], rtol=1e-12)


def test_unreadable_pattern_file(tmp_path, capsys, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(patterns, "open", refuse, raising=False)
    out = tmp_path / "out"
    for name in ("cells.csv", "cells.npy"):
        content = _npy_bytes(np.eye(2)) if name.endswith(".npy") else CELLS
        spec = _modern(tmp_path, file=name, content=content)
        argv = ["fixed-points", spec, "--beta", 2, "--out", out]
        _fails(capsys, argv, out, name, "Permission denied")


def _npy_header(header):
    header = header.encode() + b" " * (64 - (len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


@pytest.mark.parametrize(
    "content",
    [
        _npy_bytes(np.array([[1, 2], [3, 4]], dtype="timedelta64[s]")),
        _npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,") + b"\0",
        _npy_header(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }"
        )
        + b"\0" * 80,
    ],
    ids=["timedelta", "unterminated header", "header claims 80 GB"],
)
def test_bad_npy_patterns(tmp_path, capsys, content):
    spec = _modern(tmp_path, file="cells.npy", content=content)
    out = tmp_path / "out"
    _fails(capsys, ["fixed-points", spec, "--beta", 2, "--out", out], out, "cells.npy")


def test_warnings_do_not_precede_the_error_line(tmp_path, capsys):
    if np.finfo(np.longdouble).max < np.longdouble("1e4000"):
        pytest.skip("long double is float64 here; no overflow in the cast")
    big = np.array([[np.longdouble("1e4000"), 0], [0, 1]], dtype=np.longdouble)
    spec = _modern(tmp_path, file="cells.npy", content=_npy_bytes(big))
    out = tmp_path / "out"
    _fails(capsys, ["fixed-points", spec, "--beta", 2, "--out", out], out, "finite")


# ------------------------------------------------------------ output folder
@pytest.mark.parametrize(
    "command, options, blocked",
    [
        ("fixed-points", [], "fixed_points.json"),
        ("portrait", ["--format", "svg"], "portrait.svg"),
        ("simulate", ["--t-max", 1], "trajectories.png"),
        ("landscape", ["--no-progress"], "landscape.graphml"),
    ],
)
def test_result_file_blocked_by_a_folder(tmp_path, capsys, command, options, blocked):
    spec = _write(tmp_path, "model.toml", MEANFIELD)
    out = tmp_path / "out"
    (out / blocked).mkdir(parents=True)
    argv = [command, spec, "--beta", 2, *options, "--out", out]
    _fails(capsys, argv, out, blocked, "not a file")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_unwritable_output_folder(tmp_path, capsys):
    spec = _write(tmp_path, "model.toml", MEANFIELD)
    argv = ["fixed-points", spec, "--beta", 2, "--out", "/proc"]
    _fails(capsys, argv, tmp_path / "none", "/proc", "written")


def test_output_folder_name_too_long(tmp_path, capsys):
    spec = _write(tmp_path, "model.toml", MEANFIELD)
    out = tmp_path / ("a" * 300)
    argv = ["fixed-points", spec, "--beta", 2, "--out", out]
    _fails(capsys, argv, tmp_path / "none", "output folder")


def test_atomic_path_reports_write_errors_as_input_errors(tmp_path):
    (tmp_path / "result.json").mkdir()
    with pytest.raises(io.InputError, match="result.json"):
        io.write_json(tmp_path / "result.json", {"a": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


# ------------------------------------------------------------ simulate
@pytest.mark.parametrize(
    "init, words",
    [
        ("pattern:1:0.1:extra", ["--init", "pattern:K[:NOISE]"]),
        ("pattern:99", ["--init", "1..2", "99"]),
        ("pattern:0", ["--init", "1..2", "got 0"]),
        ("pattern:1:-1", ["--init", "NOISE"]),
    ],
)
def test_init_pattern_syntax(tmp_path, capsys, init, words):
    spec = _write(tmp_path, "model.toml", MEANFIELD)
    out = tmp_path / "out"
    argv = ["simulate", spec, "--beta", 2, "--t-max", 1, "--init", init]
    _fails(capsys, [*argv, "--out", out], out, *words)


@pytest.mark.parametrize(
    "name, content",
    [
        ("x.npy", _npy_bytes(np.array([1, "a"], dtype=object))),
        ("x.npy", b"garbage"),
        ("x.csv", "m1,m2\n0.5,0.1\n"),
        ("x.csv", "0.5,0.1\n".encode("utf-16")),
        ("x.csv", ""),
        ("x.npy", _npy_bytes(np.ones(5))),
    ],
    ids=["object npy", "not npy", "csv header", "utf-16", "empty", "wrong length"],
)
def test_init_file_that_is_not_a_state(tmp_path, capsys, name, content):
    spec = _write(tmp_path, "model.toml", MEANFIELD)
    init = _write(tmp_path, name, content)
    out = tmp_path / "out"
    argv = ["simulate", spec, "--beta", 2, "--t-max", 1, "--init", init]
    _fails(capsys, [*argv, "--out", out], out, "--init")


@pytest.mark.parametrize(
    "options",
    [
        ["--t-max", "1e300"],
        ["--t-max", "1e300", "--method", "euler"],
        ["--t-max", "1", "--method", "euler", "--dt", "1e-300"],
    ],
)
def test_runs_that_would_never_end(tmp_path, capsys, options):
    spec = _write(tmp_path, "model.toml", MEANFIELD)
    out = tmp_path / "out"
    argv = ["simulate", spec, "--beta", 2, *options, "--out", out]
    _fails(capsys, argv, out, "t_max", "steps")


def test_pulse_on_unknown_gene_fails_before_idle_warning(tmp_path, capsys):
    spec = _modern(tmp_path)
    out = tmp_path / "out"
    argv = ["simulate", spec, "--beta", 2, "--t-max", 1, "--pulse", "nope:1:5:6"]
    _fails(capsys, [*argv, "--out", out], out, "nope")


def test_warnings_still_shown_after_a_successful_run(tmp_path, capsys):
    spec = _modern(tmp_path)
    argv = ["simulate", spec, "--beta", 2, "--t-max", 1, "--pulse", "g1:1:5:6"]
    status = main([str(a) for a in [*argv, "--out", tmp_path / "out"]])
    err = capsys.readouterr().err
    header = (tmp_path / "out" / "trajectories.csv").read_text().splitlines()[0]
    assert status == 0 and "no effect" in err and header.startswith("t,beta,speed")


def test_fixed_points_of_normalized_huge_patterns(tmp_path, capsys):
    huge = "type,g1,g2,g3\nA,1e308,0,0\nB,0,1e308,0\nC,0,0,1e308\n"
    spec = _modern(tmp_path, content=huge, extra='normalize = "unit"\n')
    status = main(["fixed-points", str(spec), "--beta", "5", "--out", str(tmp_path)])
    capsys.readouterr()
    data = json.loads((tmp_path / "fixed_points.json").read_text())
    labels = {p["label"] for p in data["fixed_points"] if p["n_unstable"] == 0}
    assert status == 0 and {"A", "B", "C"} <= labels


def test_landscape_diagram_of_another_model_is_refused(tmp_path, capsys):
    spec = tmp_path / "mf.toml"
    spec.write_text('[model]\nkind = "meanfield"\nK = 2\n')
    record = {"branches": [{"points": [{"beta": 1.0, "state": [0.0, 0.0, 0.0]}]}]}
    diagram = tmp_path / "diagram.json"
    diagram.write_text(json.dumps(record))
    argv = ["landscape", str(spec), "--beta", "2", "--diagram", str(diagram)]
    status = main([*argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and "dimension" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_landscape_is_seeded_from_a_diagram(tmp_path, capsys):
    spec = tmp_path / "mf.toml"
    spec.write_text('[model]\nkind = "meanfield"\nK = 2\n')
    assert (
        main(
            [
                "diagram",
                str(spec),
                "--beta-min",
                "0.5",
                "--beta-max",
                "3",
                "--out",
                str(tmp_path),
                "--no-progress",
            ]
        )
        == 0
    )
    argv = ["landscape", str(spec), "--beta", "2", "--out", str(tmp_path)]
    argv += ["--diagram", str(tmp_path / "diagram.json"), "--no-progress"]
    assert main(argv) == 0
    nodes = json.loads((tmp_path / "landscape.json").read_text())["nodes"]
    assert len(nodes) == 9  # origin, 4 retrieval states, 4 mixtures


def test_enormous_production_term_is_refused(tmp_path, capsys):
    (tmp_path / "cells.csv").write_text("type,g1,g2\nA,1,0\nB,0,1\n")
    spec = tmp_path / "m.toml"
    spec.write_text(
        '[model]\nkind = "modern"\nu = [1e308, 0.0]\n'
        '[patterns]\nsource = "file"\npath = "cells.csv"\n'
    )
    status = main(["fixed-points", str(spec), "--beta", "2", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2 and "u must stay below" in err


def test_failed_run_leaves_no_new_output_folder(tmp_path, capsys):
    spec = tmp_path / "mf.toml"
    spec.write_text('[model]\nkind = "meanfield"\nK = 2\n')
    out = tmp_path / "new" / "out"
    argv = ["simulate", str(spec), "--beta", "2", "--t-max", "1"]
    argv += ["--noise", "0.1", "--method", "RK45", "--out", str(out)]
    assert main(argv) == 2
    assert "euler" in capsys.readouterr().err
    assert not out.exists()
