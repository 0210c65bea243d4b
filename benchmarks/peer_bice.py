"""bice (PyPI) driven through its Problem / Equation classes.

The field and its Jacobian are given as one bice `Equation`; the diagram is
bice's own `Problem.generate_bifurcation_diagram`, started at the origin at
beta_min, with dense eigenvalues at every step, bifurcations located by
bisection, and recursive branch switching.  bice prints its progress; the
runner captures it.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np

MAX_RECURSION = 4


def _classes():
    from bice import Equation, Problem  # noqa: PLC0415

    class TanhNetwork(Equation):
        """du/dt = -u + A tanh(beta B u) as a bice equation."""

        def __init__(self, problem):
            super().__init__(shape=(problem.dimension,))
            self.problem = problem
            self.beta = problem.beta_min

        def rhs(self, u):
            return self.problem.fun(u, self.beta)

        def jacobian(self, u):
            return self.problem.jac(u, self.beta)

    class TanhProblem(Problem):
        def __init__(self, problem):
            super().__init__()
            self.network = TanhNetwork(problem)
            self.add_equation(self.network)
            self.continuation_parameter = (self.network, "beta")

    return TanhProblem


class Runner:
    """Builds a fresh bice problem for every run (bice keeps state on it)."""

    def __init__(self, problem):
        self.problem = problem
        self.problem_class = _classes()
        self.log = ""

    def run(self):
        bice_problem = self.problem_class(self.problem)
        bice_problem.settings.neigs = None  # all eigenvalues, dense solver
        bice_problem.settings.always_locate_bifurcations = True
        stepper = bice_problem.continuation_stepper
        stepper.ds, stepper.ds_max = 0.01, 0.05
        out = io.StringIO()
        # bice divides by |u| to detect closed loops, which is 0 at the origin
        quiet = warnings.catch_warnings()
        with contextlib.redirect_stdout(out), quiet, np.errstate(invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            bice_problem.generate_bifurcation_diagram(
                parameter_lims=(self.problem.beta_min, self.problem.beta_max),
                norm_lims=(-1.0, 100.0),
                max_recursion=MAX_RECURSION,
                max_steps=2000,
            )
        self.log = out.getvalue()
        return bice_problem

    def close(self):
        pass


def extract(bice_problem, problem):
    """Curves, special points (with bice's count of crossing eigenvalues)."""
    key = "TanhNetwork.u"
    curves, special = [], []
    for branch in bice_problem.bifurcation_diagram.branches:
        rows = [[s.p, *np.ravel(s.data[key])] for s in branch.solutions]
        if rows:
            curves.append(np.array(rows))
        for s in branch.bifurcations():
            kind = s.bifurcation_type()
            special.append(
                {
                    "kind": "HB" if kind == "HP" else "BP",
                    "beta": float(s.p),
                    "state": np.ravel(s.data[key]).tolist(),
                    "kernel": None if kind == "HP" else len(kind),
                    "multiplicity": 1,
                    "own_label": kind,
                }
            )
    return {
        "curves": curves,
        "copies": None,
        "special_points": special,
        "n_branches": len(curves),
        "branch_note": "bice branches",
    }
