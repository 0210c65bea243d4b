"""xpplab (XPPAUT 8's engine and its AUTO, from PyPI) driven from Python.

The problem is written as an XPPAUT .ode file: one `fixed` quantity per
distinct tanh term, one equation per state variable.  One call of
`Auto.equilibria` starts at the origin at beta_min; XPPAUT's AUTO then
switches branches by itself at the branch points it meets (MXBF).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

# Locating special points: the default ITMX (8) and more iterations (see
# peer_auto07p.SETTINGS for why).
LOCATE = {
    "default": {"itmx": 8, "epss": 1e-4},
    "itmx100": {"itmx": 100, "epss": 1e-4},
}

# Branch switching budget and step control shared with the AUTO-07p run.
SETTINGS = {
    "ds": 0.01,
    "dsmin": 1e-6,
    "dsmax": 0.05,
    "nmax": 2000,
    "npr": 100000,
    "mxbf": 200,
    "normmax": 100.0,
}


def _term(coefficient, name):
    if coefficient == 0:
        return ""
    sign = "+" if coefficient > 0 else "-"
    size = abs(coefficient)
    return f"{sign}{name}" if size == 1 else f"{sign}{size:.17g}*{name}"


def _linear(coefficients, names):
    text = "".join(_term(c, n) for c, n in zip(coefficients, names, strict=True))
    return text.lstrip("+") or "0"


def ode_source(problem) -> str:
    """XPPAUT source for du/dt = -u + A tanh(beta B u)."""
    d, n = problem.A.shape
    names = [f"u{i + 1}" for i in range(d)]
    terms = [f"t{j + 1}" for j in range(n)]
    lines = [f"# {problem.title}: du/dt = -u + A tanh(beta B u)"]
    lines.append(f"par beta={problem.beta_min!r}")
    for j, row in enumerate(problem.B):
        lines.append(f"{terms[j]}=tanh(beta*({_linear(row, names)}))")
    for i, name in enumerate(names):
        lines.append(f"{name}'=-{name}+{_linear(problem.A[i], terms)}")
    lines.append("init " + ",".join(f"{name}=0" for name in names))
    lines.append("done")
    return "\n".join(lines) + "\n"


class Runner:
    """One xpplab model; `run` computes a fresh diagram each time."""

    def __init__(self, problem, setting="default"):
        import xpplab  # noqa: PLC0415

        self.problem = problem
        self.settings = {**SETTINGS, **LOCATE[setting]}
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-xpp-")
        path = Path(self._tmp.name) / f"{problem.name}.ode"
        path.write_text(ode_source(problem))
        self.model = xpplab.load(str(path))
        self.variables = list(self.model.variables)

    def run(self):
        """A fresh diagram from the origin at beta_min."""
        auto = self.model.auto
        auto.reset()
        start = {v: 0.0 for v in self.variables}
        self.model.set(beta=self.problem.beta_min, **start)
        return auto.equilibria(
            "beta",
            from_equilibrium=False,
            parmin=self.problem.beta_min,
            parmax=self.problem.beta_max,
            **self.settings,
        )

    def close(self):
        self.model.close()
        self._tmp.cleanup()


def _curves(points, variables):
    """Split the point list into contiguous curves (a branch holds both
    directions from its start)."""
    curves, current, last = [], [], None
    for p in points:
        row = [p.value, *(p.u0[v] for v in variables)]
        new_piece = last is None or p.branch != last.branch
        if not new_piece and abs(p.point) != abs(last.point) + 1:
            new_piece = True
        if new_piece and current:
            curves.append(np.array(current))
            current = []
        current.append(row)
        last = p
    if current:
        curves.append(np.array(current))
    return curves


def extract(diagram, problem, variables):
    """Curves and special points from a diagram."""
    curves = _curves(diagram.points, variables)
    special = [
        {
            "kind": p.type,
            "beta": float(p.value),
            "state": [p.u0[v] for v in variables],
            "kernel": None,
            "multiplicity": 1,
        }
        for p in diagram.special()
        if p.type in ("BP", "LP", "HB")
    ]
    branches = {p.branch for p in diagram.points}
    return {
        "curves": curves,
        "copies": None,
        "special_points": special,
        "n_branches": len(branches),
        "branch_note": "XPPAUT branch numbers",
    }
