"""The N -> infinity mean field of the classical network with random patterns.

dm/dt = -m + E_s[s tanh(beta s.m)], the average running over all 2^K sign
vectors s: the exact reduction of form A when every sign vector occurs
equally often among the columns of X.
"""

from __future__ import annotations

import itertools

import numpy as np

from hopdyn.errors import InputError
from hopdyn.models.base import ColumnReduction, as_states

__all__ = ["MeanFieldModel", "sign_vectors"]

# The average has 2^K terms and the number of fixed points grows like 3^K:
# beyond K = 10 a full analysis takes minutes.
MAX_K = 10


def sign_vectors(K: int) -> np.ndarray:
    """All 2^K vectors in {-1, +1}^K, shape (2^K, K)."""
    return np.array(list(itertools.product((-1.0, 1.0), repeat=K)))


class MeanFieldModel:
    """Mean-field overlap dynamics of K independent random +-1 patterns.

    Parameters
    ----------
    K : int
        Number of patterns, 1 <= K <= MAX_K = 10 (the average has 2^K terms).

    Examples
    --------
    >>> MeanFieldModel(3).full_fun([[0.5, 0.0, 0.0]], 2.0).shape
    (1, 3)
    """

    kind = "meanfield"
    form = None
    patterns = None
    signed = True

    def __init__(self, K: int):
        if isinstance(K, bool) or not isinstance(K, (int, np.integer)):
            raise InputError(f"K must be an integer, got {K!r}")
        if not 1 <= K <= MAX_K:
            raise InputError(f"K must be between 1 and {MAX_K}, got {K}")
        self.K = int(K)
        self.S = sign_vectors(self.K)

    @property
    def pattern_names(self) -> tuple:
        return tuple(str(k + 1) for k in range(self.K))

    @property
    def full_dimension(self) -> int:
        return self.K

    reduced_dimension = full_dimension

    def full_fun(self, m, beta):
        m = as_states(m, self.K)
        return -m + np.tanh(beta * (m @ self.S.T)) @ self.S / len(self.S)

    def full_jac(self, m, beta):
        m = as_states(m, self.K)
        d = 1.0 / np.cosh(np.clip(beta * (m @ self.S.T), -350, 350)) ** 2
        outer = np.einsum("...c,ck,cl->...kl", d, self.S, self.S) / len(self.S)
        return beta * outer - np.eye(self.K)

    def reduction(self) -> ColumnReduction:
        n = len(self.S)
        return ColumnReduction(
            columns=self.S,
            field=np.zeros(n),
            weights=np.full(n, 1.0 / n),
            gram=np.eye(self.K),
        )

    def project(self, m):
        return as_states(m, self.K).copy()

    def lift(self, m, beta):
        return as_states(m, self.K).copy()

    def overlaps(self, m):
        return as_states(m, self.K).copy()

    def describe(self) -> str:
        return f"mean field, K={self.K}"
