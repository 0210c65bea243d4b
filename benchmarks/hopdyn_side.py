"""hopdyn's side: build the diagram with `hopdyn.continuation.build_diagram`.

Two ways in:

- "model": the system comes from hopdyn's own models and symbolic reduction
  (`reduce(MeanFieldModel(K))`; for the 2-neuron net, classical form A with
  patterns X = sqrt(2) J^(1/2), so that X^T X / 2 = J, in the overlaps
  m = X x / 2);
- "callables": a `ReducedSystem` built directly from the benchmark's field
  and derivatives in the peers' coordinates.

hopdyn traces one representative per set of symmetric branches; `extract`
keeps each representative with its copies (signed pattern permutations) so
that the findings count every copy, as the peers must find them one by one.
"""

from __future__ import annotations

import numpy as np
from problems import net2_patterns


class Runner:
    """A hopdyn system for one problem; `run` builds a fresh diagram."""

    def __init__(self, problem, way="model"):
        from hopdyn.continuation import build_diagram  # noqa: PLC0415

        self.problem = problem
        self.way = way
        self.build_diagram = build_diagram
        self.system, self.to_peer = _system(problem, way)

    def run(self):
        p = self.problem
        return self.build_diagram(self.system, p.beta_min, p.beta_max)

    def close(self):
        pass


def _system(problem, way):
    from hopdyn.models import ClassicModel, MeanFieldModel  # noqa: PLC0415
    from hopdyn.patterns import PatternSet  # noqa: PLC0415
    from hopdyn.symbolic import ReducedSystem, reduce  # noqa: PLC0415

    if way == "callables":
        system = ReducedSystem(
            fun=problem.fun,
            jac=problem.jac,
            dfdbeta=problem.dfdbeta,
            dimension=problem.dimension,
        )
        return system, None
    if problem.name.startswith("meanfield"):
        return reduce(MeanFieldModel(problem.dimension)), None

    X = net2_patterns()
    system = reduce(ClassicModel(PatternSet.from_array(X), form="A"))
    to_x = 2.0 * np.linalg.inv(X)  # x = N X^-1 m with N = 2
    return system, lambda m: np.asarray(m) @ to_x.T


def extract(diagram, runner):
    """Curves (representatives), their copies, and the special points."""
    from hopdyn.continuation import apply_element  # noqa: PLC0415

    curves, copies = [], []
    for branch in diagram.branches:
        curves.append(np.column_stack([branch.beta, branch.states]))
        copies.append([list(map(int, c)) for c in branch.copies])
    special = [
        {
            "kind": p.kind,
            "beta": float(p.beta),
            "state": np.ravel(p.state).tolist(),
            "kernel": int(p.kernel_dimension),
            "multiplicity": int(p.multiplicity),
            "precision": float(p.precision),
        }
        for p in diagram.special_points
    ]
    n_copies = sum(b.multiplicity for b in diagram.branches)
    return {
        "curves": curves,
        "copies": copies,
        "apply_copy": apply_element,
        "to_peer": runner.to_peer,
        "special_points": special,
        "n_branches": len(diagram.branches),
        "n_branches_with_copies": int(n_copies),
        "branch_note": "hopdyn branches (one per symmetry class)",
        "status": diagram.message,
        "counters": dict(diagram.counters),
    }
