"""The command line: results on disk and the error contract of DESIGN.md."""

import json
import subprocess
import sys

import pytest

from hopdyn.cli import main

MEANFIELD = '[model]\nkind = "meanfield"\nK = 2\n'


def _spec(tmp_path, text, name="model.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _run(capsys, argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_fixed_points_writes_json(tmp_path, capsys):
    spec = _spec(tmp_path, MEANFIELD)
    status, out, _ = _run(
        capsys, ["fixed-points", spec, "--beta", 2, "--out", tmp_path]
    )
    assert status == 0 and "9 fixed points" in out

    data = json.loads((tmp_path / "fixed_points.json").read_text())
    assert data["beta"] == 2.0 and data["dimension"] == 2
    assert len(data["fixed_points"]) == 9
    point = data["fixed_points"][0]
    assert {
        "state",
        "eigenvalues",
        "n_unstable",
        "stability",
        "label",
        "energy",
    } <= set(point)
    assert all(len(e) == 2 for e in point["eigenvalues"])


def _pattern_file(tmp_path, rows, name="cells.csv"):
    lines = ["type,g1,g2,g3"] + [",".join(map(str, r)) for r in rows]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


MODERN = '[model]\nkind = "modern"\n[patterns]\nsource = "file"\npath = "cells.csv"\n'

BAD_INPUTS = {
    "missing spec file": (None, ["fixed-points", "absent.toml", "--beta", "1"]),
    "malformed spec": ("[model\nkind = ", ["fixed-points", "{spec}", "--beta", "1"]),
    "unknown kind": (
        '[model]\nkind = "quantum"\n',
        ["fixed-points", "{spec}", "--beta", "1"],
    ),
    "nan in patterns": (MODERN, ["fixed-points", "{spec}", "--beta", "1"]),
    "infinite value": (MODERN, ["fixed-points", "{spec}", "--beta", "1"]),
    "beta zero": (MEANFIELD, ["fixed-points", "{spec}", "--beta", "0"]),
    "beta negative": (
        MEANFIELD,
        ["diagram", "{spec}", "--beta-min", "-1", "--beta-max", "2"],
    ),
    "beta nan": (MEANFIELD, ["fixed-points", "{spec}", "--beta", "nan"]),
    "shape mismatch": (
        MODERN + "[parameters]\nw = [0.0, 1.0]\n",
        ["fixed-points", "{spec}", "--beta", "1"],
    ),
    "missing pattern file": (
        MODERN.replace("cells.csv", "absent.csv"),
        ["fixed-points", "{spec}", "--beta", "1"],
    ),
    "beta range reversed": (
        MEANFIELD,
        ["diagram", "{spec}", "--beta-min", "3", "--beta-max", "2"],
    ),
    "unknown option": (MEANFIELD, ["fixed-points", "{spec}", "--beta", "1", "--bogus"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, case):
    text, argv = BAD_INPUTS[case]
    spec = _spec(tmp_path, text) if text is not None else tmp_path / "absent.toml"
    rows = [["A", 1, 0, 0], ["B", 0, 1, 0], ["C", 0, 0, 1]]
    if case == "nan in patterns":
        rows[1][2] = "nan"
    if case == "infinite value":
        rows[2][3] = "inf"
    _pattern_file(tmp_path, rows)
    out_dir = tmp_path / "out"
    argv = [a.replace("{spec}", str(spec)) for a in argv] + ["--out", str(out_dir)]
    if case == "unknown option":
        argv = argv[:-2]

    status, _, err = _run(capsys, argv)
    assert status == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and err.startswith("hopdyn: error:")
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_error_names_the_problem(tmp_path, capsys):
    spec = _spec(tmp_path, MODERN + "[parameters]\nw = [0.0, 1.0]\n")
    _pattern_file(tmp_path, [["A", 1, 0, 0], ["B", 0, 1, 0], ["C", 0, 0, 1]])
    _, _, err = _run(capsys, ["fixed-points", spec, "--beta", 1])
    assert "w" in err and "3" in err


def test_console_script_runs_as_a_process(tmp_path):
    spec = _spec(tmp_path, MEANFIELD)
    done = subprocess.run(
        [sys.executable, "-m", "hopdyn.cli", "fixed-points", str(spec), "--beta", "-2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "beta" in done.stderr
