"""Classical Hopfield networks with tanh units and Hebbian couplings.

With X the K x N patterns and J = X^T X / N (DESIGN.md):

- form A: dx/dt = -x + tanh(beta (J x + b))
- form B: dx/dt = -x + J tanh(beta x) + b
- form C: dv/dt = -v + X^T h / sqrt(N), dh/dt = -h + X tanh(beta v) / sqrt(N)
- form D: dh/dt = -h + X tanh(beta X^T h) / N

All four reduce exactly to the K overlaps (two K-vectors for form C).
"""

from __future__ import annotations

import numpy as np

from hopdyn.errors import InputError
from hopdyn.models.base import (
    ColumnReduction,
    PatternModel,
    as_states,
    unique_columns,
)
from hopdyn.patterns import PatternSet

__all__ = ["ClassicModel", "FORMS"]

FORMS = ("A", "B", "C", "D")


def _sech2(z):
    return 1.0 / np.cosh(np.clip(z, -350.0, 350.0)) ** 2


class ClassicModel(PatternModel):
    """A classical (tanh) Hopfield network in one of the forms A, B, C, D.

    Parameters
    ----------
    patterns : PatternSet
        The K x N stored patterns.
    form : {"A", "B", "C", "D"}
        Which of the equivalent forms of DESIGN.md to use.
    field : float or array_like of shape (N,)
        Applied field b (forms A and B only).

    Notes
    -----
    Reduced coordinates: the overlaps m = X x / N for form A; the
    coefficients h with x = X^T h + b for form B (an invariant subspace that
    attracts every solution); h itself for form D; and (a, h / sqrt(N)) with
    v = X^T a for form C.  All share the fixed points of form D, and for
    A, B and D the reduced state follows the same equation.

    Examples
    --------
    >>> from hopdyn.patterns import random_patterns
    >>> model = ClassicModel(random_patterns(200, 3, seed=1), form="A")
    >>> model.full_dimension, model.reduced_dimension
    (200, 3)
    """

    kind = "classic"

    def __init__(self, patterns: PatternSet, form: str = "A", field=0.0):
        if form not in FORMS:
            raise InputError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
        self.patterns = patterns
        self.form = form
        self.X = np.asarray(patterns.values, dtype=float)
        self.field = self._check_field(field)
        self.sqrt_n = np.sqrt(self.N)

    def _check_field(self, field) -> np.ndarray:
        b = np.asarray(field, dtype=float)
        if b.ndim > 1 or (b.ndim == 1 and b.shape[0] != self.N):
            raise InputError(
                f"field must be a scalar or have length N = {self.N}, got {b.shape}"
            )
        if not np.all(np.isfinite(b)):
            raise InputError("field contains NaN or infinite values")
        b = np.broadcast_to(b, (self.N,)).copy()
        if self.form in "CD" and np.any(b != 0):
            raise InputError(f"form {self.form} takes no applied field; use A or B")
        return b

    @property
    def full_dimension(self) -> int:
        return {"A": self.N, "B": self.N, "C": self.N + self.K, "D": self.K}[self.form]

    @property
    def reduced_dimension(self) -> int:
        return 2 * self.K if self.form == "C" else self.K

    @property
    def signed(self) -> bool:
        """Patterns enter with either sign (x -> -x symmetry when b = 0)."""
        return True

    # ----------------------------------------------------------- full field
    def full_fun(self, x, beta):
        """The full vector field; x has shape (..., full_dimension)."""
        x = as_states(x, self.full_dimension)
        X, n = self.X, self.N
        if self.form == "A":
            return -x + np.tanh(beta * ((x @ X.T) @ X / n + self.field))
        if self.form == "B":
            return -x + (np.tanh(beta * x) @ X.T) @ X / n + self.field
        if self.form == "D":
            return -x + np.tanh(beta * (x @ X)) @ X.T / n
        v, h = x[..., :n], x[..., n:]
        dv = -v + h @ X / self.sqrt_n
        dh = -h + np.tanh(beta * v) @ X.T / self.sqrt_n
        return np.concatenate([dv, dh], axis=-1)

    def full_jac(self, x, beta):
        """Analytic Jacobian of `full_fun`, shape (..., n, n)."""
        x = as_states(x, self.full_dimension)
        X, n = self.X, self.N
        J = X.T @ X / n
        if self.form == "A":
            d = _sech2(beta * ((x @ X.T) @ X / n + self.field))
            return beta * d[..., :, None] * J - np.eye(n)
        if self.form == "B":
            d = _sech2(beta * x)
            return beta * J * d[..., None, :] - np.eye(n)
        if self.form == "D":
            d = _sech2(beta * (x @ X))
            return beta * np.einsum("kn,...n,ln->...kl", X, d, X) / n - np.eye(self.K)
        d = _sech2(beta * x[..., :n])
        top = np.broadcast_to(X.T / self.sqrt_n, x.shape[:-1] + (n, self.K))
        bottom = beta * X * d[..., None, :] / self.sqrt_n
        zero = np.zeros(x.shape[:-1] + (n, n))
        upper = np.concatenate([zero, top], axis=-1)
        lower = np.concatenate([bottom, np.zeros(x.shape[:-1] + (self.K,) * 2)], -1)
        return np.concatenate([upper, lower], axis=-2) - np.eye(n + self.K)

    # ------------------------------------------------------------ reduction
    def reduction(self) -> ColumnReduction:
        """The column-sum description of the exact reduced dynamics."""
        columns, field, counts = unique_columns(self.X, self.field)
        return ColumnReduction(
            columns=columns,
            field=field,
            weights=counts / self.N,
            gram=self.X @ self.X.T / self.N,
            two_layer=self.form == "C",
        )

    def project(self, x):
        """Map full states (..., n) to reduced states (..., reduced_dimension)."""
        x = as_states(x, self.full_dimension)
        X, n = self.X, self.N
        if self.form == "A":
            return x @ X.T / n
        if self.form == "D":
            return x.copy()
        if self.form == "B":
            return self._coefficients(x - self.field)
        return np.concatenate(
            [self._coefficients(x[..., :n]), x[..., n:] / self.sqrt_n], axis=-1
        )

    def _coefficients(self, v):
        """Least-squares h with X^T h = v, for v of shape (..., N)."""
        solution, *_ = np.linalg.lstsq(self.X.T, np.moveaxis(v, -1, 0), rcond=None)
        return np.moveaxis(solution, 0, -1)

    def lift(self, state, beta):
        """Map reduced states to full states.

        Exact for every state of forms B, C, D (the reduced states describe an
        invariant subspace); for form A the map x = tanh(beta (X^T m + b)) is
        exact at fixed points.
        """
        state = as_states(state, self.reduced_dimension)
        X = self.X
        if self.form == "A":
            return np.tanh(beta * (state @ X + self.field))
        if self.form == "B":
            return state @ X + self.field
        if self.form == "D":
            return state.copy()
        a, h = state[..., : self.K], state[..., self.K :]
        return np.concatenate([a @ X, h * self.sqrt_n], axis=-1)

    def overlaps(self, x):
        """Overlaps (1/N) X x of the visible layer (form D: h itself)."""
        x = as_states(x, self.full_dimension)
        if self.form == "D":
            return x.copy()
        return x[..., : self.N] @ self.X.T / self.N

    def describe(self) -> str:
        return f"classic form {self.form}, K={self.K}, N={self.N}"
