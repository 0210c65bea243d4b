"""What every model shares: validation helpers and the reduction records.

A model knows its full N-dimensional vector field and how that field reduces
exactly to K (or 2K) dimensions.  The reduction is described by plain data
(`ColumnReduction` or `SoftmaxReduction`); `hopdyn.symbolic` turns that data
into the reduced system with its derived Jacobian, d/dbeta and energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hopdyn.errors import InputError

__all__ = [
    "ColumnReduction",
    "PatternModel",
    "SoftmaxReduction",
    "as_states",
    "check_beta",
]


@dataclass(frozen=True)
class ColumnReduction:
    """f(m) = -m + sum_c weights_c columns_c tanh(beta (columns_c . m + field_c)).

    Attributes
    ----------
    columns : ndarray, shape (C, K)
        The distinct columns of the pattern matrix (with their field value).
    field : ndarray, shape (C,)
        The applied field on the features of each column.
    weights : ndarray, shape (C,)
        Multiplicity of each column divided by N (sums to 1).
    gram : ndarray, shape (K, K)
        X X^T / N, mapping pattern coefficients to overlaps.
    two_layer : bool
        If true the reduced state is (a, h) in R^2K with da/dt = -a + h and
        dh/dt = f(a) + a (the two-layer form C on its invariant subspace).
    """

    columns: np.ndarray
    field: np.ndarray
    weights: np.ndarray
    gram: np.ndarray
    two_layer: bool = False


@dataclass(frozen=True)
class SoftmaxReduction:
    """f(m) = G softmax(w + beta m) - m + v, with G = X Q^T and v = X u.

    ``inverse_gram`` is the pseudo-inverse of X X^T, used by the energy when
    the readout equals the patterns (``gradient``).
    """

    G: np.ndarray
    w: np.ndarray
    v: np.ndarray
    inverse_gram: np.ndarray
    gradient: bool


class PatternModel:
    """What models built on a pattern matrix X (K x N) share."""

    X: np.ndarray

    @property
    def K(self) -> int:
        return self.X.shape[0]

    @property
    def N(self) -> int:
        return self.X.shape[1]

    @property
    def pattern_names(self) -> tuple:
        return tuple(self.patterns.names)


def check_beta(beta, name="beta") -> float:
    """Return beta as a float, unless it is not a real, finite number > 0.

    Parameters
    ----------
    beta : float
        Inverse temperature, or any other quantity that must be positive.
    name : str, default "beta"
        How to call it in the error message (such as ``"--beta-max"``).

    Raises
    ------
    InputError
        If `beta` is not a real number (strings and booleans are not), not
        finite, or not positive.

    Examples
    --------
    >>> check_beta(2)
    2.0
    """
    is_real = isinstance(beta, (int, float, np.integer, np.floating))
    is_real = is_real and not isinstance(beta, bool)
    if not (is_real and np.isfinite(beta) and beta > 0):
        raise InputError(f"{name} must be a finite number > 0, got {beta!r}")
    return float(beta)


def as_states(x, dimension: int, name: str = "state") -> np.ndarray:
    """View x as an array of states with last axis of length ``dimension``."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 0 or x.shape[-1] != dimension:
        raise InputError(
            f"{name} must have last axis of length {dimension}, got shape {x.shape}"
        )
    return x


def unique_columns(X: np.ndarray, field: np.ndarray):
    """Distinct columns of X (with their field value) and their counts."""
    stacked = np.concatenate([X.T, field[:, None]], axis=1)
    distinct, counts = np.unique(stacked, axis=0, return_counts=True)
    return distinct[:, :-1], distinct[:, -1], counts
