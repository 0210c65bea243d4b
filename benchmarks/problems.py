"""The three benchmark problems, written once for every method.

Each problem is a tanh network in the common form

    du/dt = -u + A tanh(beta B u),        u in R^d,

with A of shape (d, n) and B of shape (n, d).  The peers (AUTO-07p, xpplab,
bice) and the brute-force baseline all read A and B from here, so every
method solves exactly the same equations; hopdyn derives its own field from
its model classes, and `to_peer_state` maps its states into u.

- mean field, K patterns: u = m, B = the 2^(K-1) sign vectors s with s_1 = +1
  (one row each) and A = B^T / 2^(K-1).  Pairing s with -s turns the average
  over all 2^K sign vectors into this half-sum.
- 2-neuron net: u = x, A = I and B = J = [[1, .5], [.5, 1]].
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

NET2_COUPLING = np.array([[1.0, 0.5], [0.5, 1.0]])


@dataclass(frozen=True)
class Problem:
    """One benchmark problem: the field, the beta range and what to expect.

    Attributes
    ----------
    name : str
        Short name used on the command line and in the results.
    title : str
        Human-readable name for the tables.
    A, B : ndarray, shapes (d, n) and (n, d)
    beta_min, beta_max : float
        The continuation range.
    expected : list of dict
        Special points known in closed form: kind, beta and kernel dimension.
    """

    name: str
    title: str
    A: np.ndarray = field(repr=False)
    B: np.ndarray = field(repr=False)
    beta_min: float
    beta_max: float
    expected: list

    @property
    def dimension(self) -> int:
        return self.A.shape[0]

    @property
    def beta_ref(self) -> float:
        """Where fixed points are counted: just inside the upper end."""
        return round(self.beta_max - 0.1, 10)

    def fun(self, u, beta):
        """The field, vectorised over states of shape (..., d)."""
        u = np.asarray(u, dtype=float)
        return -u + np.tanh(beta * u @ self.B.T) @ self.A.T

    def jac(self, u, beta):
        """The Jacobian, shape (..., d, d)."""
        u = np.asarray(u, dtype=float)
        sech2 = 1.0 - np.tanh(beta * u @ self.B.T) ** 2
        weighted = self.A * sech2[..., None, :]
        return beta * weighted @ self.B - np.eye(self.dimension)

    def dfdbeta(self, u, beta):
        """Derivative of the field in beta, shape (..., d)."""
        u = np.asarray(u, dtype=float)
        z = u @ self.B.T
        return (z * (1.0 - np.tanh(beta * z) ** 2)) @ self.A.T


def sign_vectors(K: int) -> np.ndarray:
    """The 2^(K-1) vectors in {-1, +1}^K whose first entry is +1."""
    tails = itertools.product((1.0, -1.0), repeat=K - 1)
    return np.array([(1.0, *tail) for tail in tails])


def mean_field(K: int, beta_max: float) -> Problem:
    S = sign_vectors(K)
    origin_bp = {"kind": "BP", "beta": 1.0, "kernel": K, "where": "origin"}
    return Problem(
        name=f"meanfield{K}",
        title=f"mean field K = {K}",
        A=S.T / len(S),
        B=S,
        beta_min=0.5,
        beta_max=beta_max,
        expected=[origin_bp],
    )


def two_neuron() -> Problem:
    eigenvalues = np.linalg.eigvalsh(NET2_COUPLING)
    expected = [
        {"kind": "BP", "beta": float(1 / lam), "kernel": 1, "where": "origin"}
        for lam in sorted(eigenvalues, reverse=True)
    ]
    return Problem(
        name="net2",
        title="2-neuron net",
        A=np.eye(2),
        B=NET2_COUPLING,
        beta_min=0.2,
        beta_max=3.0,
        expected=expected,
    )


PROBLEMS = {p.name: p for p in (mean_field(3, 4.0), mean_field(5, 3.0), two_neuron())}


def net2_patterns() -> np.ndarray:
    """Patterns X (2 x 2) with X^T X / 2 = J: X = sqrt(2) J^(1/2)."""
    eigenvalues, vectors = np.linalg.eigh(NET2_COUPLING)
    return np.sqrt(2.0) * (vectors * np.sqrt(eigenvalues)) @ vectors.T
