"""Result records of a bifurcation diagram: branches, special points, diagram.

The records are dataclasses with dict-like read access (``diagram["status"]``
as well as ``diagram.status``), in the manner of scipy's results.  Arrays
stay arrays; `to_dict` gives plain JSON-ready values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hopdyn.results import Result

__all__ = ["Branch", "Diagram", "SpecialPoint", "apply_element", "stability_of"]

SPECIAL_KINDS = ("BP", "LP", "HB", "undetermined")


def stability_of(n_unstable, dimension) -> str:
    """ "attractor", "saddle" or "repeller" from the number of unstable
    directions."""
    if n_unstable == 0:
        return "attractor"
    return "repeller" if n_unstable == dimension else "saddle"


def apply_element(element, states):
    """Apply a signed permutation of the patterns to states.

    Parameters
    ----------
    element : sequence of int, length K
        Signed 1-based pattern numbers: component i of the image is
        ``sign(element[i]) * state[abs(element[i]) - 1]``, block by block
        when the state holds several K-blocks (two-layer form C).
    states : ndarray, shape (..., d)

    Returns
    -------
    ndarray, shape (..., d)
    """
    element = np.asarray(element, dtype=int)
    states = np.asarray(states, dtype=float)
    K = len(element)
    blocks = states.reshape(*states.shape[:-1], -1, K)
    image = blocks[..., np.abs(element) - 1] * np.sign(element)
    return image.reshape(states.shape)


def _floats(values):
    return [float(v) for v in np.ravel(values)]


def _pairs(eigenvalues):
    return [[float(e.real), float(e.imag)] for e in eigenvalues]


@dataclass(eq=False)
class Branch(Result):
    """One branch of fixed points, a curve in (state, beta).

    Attributes
    ----------
    id : int
    label, kind : str
        Label and kind of the fixed point at the end of the branch with the
        larger beta (see `hopdyn.fixed_points.label_state`).
    patterns : tuple of int
        Signed 1-based pattern numbers of that fixed point.
    multiplicity : int
        Number of symmetric copies (this branch included) that the diagram
        stands for; only this representative is stored.
    copies : list of list of int
        One signed permutation per copy (see `apply_element`); the first is
        the identity.
    beta : ndarray, shape (n,)
    states : ndarray, shape (n, d)
    n_unstable : ndarray of int, shape (n,)
    eigenvalues : ndarray of complex, shape (n, d)
        Sorted by decreasing real part.
    energy : ndarray, shape (n,), or None
        The energy at every point, for gradient flows.
    status : str
        How the branch ends, first end then last end ("; "-separated).
    ends : tuple of str
        The two end statuses.
    origin : str
        Where the branch was started (a fixed point at beta_min or beta_max,
        or a branch point).
    """

    id: int
    label: str
    kind: str
    patterns: tuple
    multiplicity: int
    copies: list
    beta: np.ndarray
    states: np.ndarray
    n_unstable: np.ndarray
    eigenvalues: np.ndarray
    energy: np.ndarray | None
    status: str
    ends: tuple
    origin: str
    tangents: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_points(self) -> int:
        return len(self.beta)

    @property
    def stability(self) -> list:
        d = self.states.shape[1]
        return [stability_of(n, d) for n in self.n_unstable]

    @property
    def points(self) -> list:
        """The points as dicts (beta, state, n_unstable, eigenvalues,
        energy)."""
        return [self._point(i) for i in range(self.n_points)]

    def _point(self, i) -> dict:
        return {
            "beta": float(self.beta[i]),
            "state": _floats(self.states[i]),
            "n_unstable": int(self.n_unstable[i]),
            "eigenvalues": _pairs(self.eigenvalues[i]),
            "energy": None if self.energy is None else float(self.energy[i]),
        }

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "label": self.label,
            "kind": self.kind,
            "patterns": [int(p) for p in self.patterns],
            "multiplicity": self.multiplicity,
            "copies": [list(map(int, c)) for c in self.copies],
            "status": self.status,
            "ends": list(self.ends),
            "origin": self.origin,
            "points": self.points,
        }


@dataclass(eq=False)
class SpecialPoint(Result):
    """A located bifurcation (or an event that fits no kind) on a branch.

    Attributes
    ----------
    id : int
    kind : {"BP", "LP", "HB", "undetermined"}
    beta : float
    state : ndarray, shape (d,)
    branch : int
        Id of the branch it lies on.
    index : int
        Position of the point in that branch's points.
    kernel_dimension : int
        Number of eigenvalues that cross the imaginary axis there.
    bracket : tuple of float
        (beta_a, beta_b): the beta values at the two ends of the final
        bracket; ``beta`` lies between them.
    precision : float
        Bound on the error in beta: the bracket width, or the width in
        arclength times the slope of beta when beta turns (a fold).
    n_unstable_before, n_unstable_after : int
        n_unstable at the two ends of the bracket, in the branch direction.
    eigenvalues : ndarray of complex, shape (d,)
    energy : float or None
    note : str
        Why the kind is what it is, when that needs saying.
    multiplicity : int
        Number of symmetric copies of the point.
    frequency : float or None
        |imaginary part| of the crossing pair at a Hopf point.
    children : list of int
        Branches started by branch switching at this point.
    """

    id: int
    kind: str
    beta: float
    state: np.ndarray
    branch: int
    index: int
    kernel_dimension: int
    bracket: tuple
    precision: float
    n_unstable_before: int
    n_unstable_after: int
    eigenvalues: np.ndarray
    energy: float | None = None
    note: str = ""
    multiplicity: int = 1
    frequency: float | None = None
    children: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "beta": float(self.beta),
            "state": _floats(self.state),
            "branch": self.branch,
            "index": self.index,
            "kernel_dimension": self.kernel_dimension,
            "bracket": _floats(self.bracket),
            "precision": float(self.precision),
            "n_unstable_before": self.n_unstable_before,
            "n_unstable_after": self.n_unstable_after,
            "eigenvalues": _pairs(self.eigenvalues),
            "energy": self.energy,
            "note": self.note,
            "multiplicity": self.multiplicity,
            "frequency": self.frequency,
            "children": list(self.children),
        }


@dataclass(eq=False)
class Diagram(Result):
    """A bifurcation diagram in beta: branches and special points.

    Attributes
    ----------
    beta_range : tuple of float
    dimension : int
        Length of a state.
    pattern_names : tuple of str
    branches : list of Branch
    special_points : list of SpecialPoint
    success : bool
        True when every branch ended at the range, at a known branch or at
        a symmetric point, and the branch budget was not exhausted.
    status : int
        0 complete; 1 stopped at ``max_branches``; 2 some branch stopped
        early (corrector failure or ``max_steps``).
    message : str
    counters : dict
        Work done: branches, steps, rejected steps, corrector iterations,
        located points, switching seeds, ...
    symmetry_order : int
        Number of signed pattern permutations found to map the system to
        itself (1 when symmetry is off or not enumerated).
    """

    beta_range: tuple
    dimension: int
    pattern_names: tuple
    branches: list
    special_points: list
    success: bool
    status: int
    message: str
    counters: dict
    symmetry_order: int = 1

    def branch(self, branch_id) -> Branch:
        """The branch with the given id."""
        for b in self.branches:
            if b.id == branch_id:
                return b
        raise KeyError(f"no branch with id {branch_id}")

    def special(self, kind) -> list:
        """The special points of one kind."""
        return [p for p in self.special_points if p.kind == kind]

    def to_dict(self) -> dict:
        """The diagram as diagram.json (DESIGN.md) plus bookkeeping keys."""
        return {
            "beta_range": _floats(self.beta_range),
            "dimension": self.dimension,
            "pattern_names": list(self.pattern_names),
            "success": self.success,
            "status": self.status,
            "message": self.message,
            "counters": dict(self.counters),
            "symmetry_order": self.symmetry_order,
            "branches": [b.to_dict() for b in self.branches],
            "special_points": [p.to_dict() for p in self.special_points],
        }
