"""Modern (softmax) Hopfield networks and the enhancer-selection model.

dx/dt = Q^T softmax(w + beta X x) - x + u, with X the K x N patterns, Q the
readout (default X), w the pattern weights and u a production term.  The
overlaps m = X x obey the closed K-dimensional equation
dm/dt = X Q^T softmax(w + beta m) - m + X u.
"""

from __future__ import annotations

import numpy as np

from hopdyn.errors import InputError
from hopdyn.models.base import PatternModel, SoftmaxReduction, as_states
from hopdyn.patterns import PatternSet

__all__ = ["ModernModel", "softmax"]

MAX_MAGNITUDE = 1e100


def softmax(z, axis=-1):
    """Softmax along ``axis`` in shifted form (finite for any finite z)."""
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class ModernModel(PatternModel):
    """A modern Hopfield network with softmax attention over patterns.

    Parameters
    ----------
    patterns : PatternSet
        The K x N patterns X.
    readout : array_like of shape (K, N), optional
        Q; default X, which makes the flow a gradient flow.
    w : array_like of shape (K,), optional
        Pattern weights (biases inside the softmax); default 0.
    u : array_like of shape (N,), optional
        Constant production term; default 0.

    Examples
    --------
    >>> import numpy as np
    >>> from hopdyn.patterns import PatternSet
    >>> model = ModernModel(PatternSet.from_array(np.eye(3)))
    >>> model.full_fun(np.ones(3) / 3, beta=2.0).round(12).tolist()
    [0.0, 0.0, 0.0]
    """

    kind = "modern"
    form = None
    signed = False

    def __init__(self, patterns: PatternSet, readout=None, w=None, u=None):
        self.patterns = patterns
        self.X = np.asarray(patterns.values, dtype=float)
        self.Q = self._check(readout, (self.K, self.N), "readout", self.X)
        self.w = self._check(w, (self.K,), "w", np.zeros(self.K))
        self.u = self._check(u, (self.N,), "u", np.zeros(self.N))
        self.gradient = readout is None or np.array_equal(self.Q, self.X)

    @staticmethod
    def _check(value, shape, name, default):
        if value is None:
            return np.array(default, dtype=float)
        array = np.asarray(value, dtype=float)
        if array.shape != shape:
            raise InputError(f"{name} must have shape {shape}, got {array.shape}")
        if not np.all(np.isfinite(array)):
            raise InputError(f"{name} contains NaN or infinite values")
        if np.any(np.abs(array) > MAX_MAGNITUDE):
            # Larger values overflow once multiplied by beta and the patterns.
            raise InputError(
                f"{name} must stay below {MAX_MAGNITUDE:g} in magnitude, got "
                f"{np.abs(array).max():g}"
            )
        return array

    @property
    def full_dimension(self) -> int:
        return self.N

    @property
    def reduced_dimension(self) -> int:
        return self.K

    def with_production(self, u) -> ModernModel:
        """The same network with production term u (shape (N,))."""
        readout = None if self.gradient else self.Q
        return ModernModel(self.patterns, readout=readout, w=self.w, u=u)

    def weights(self, x, beta):
        """Softmax weights p = softmax(w + beta X x), shape (..., K)."""
        x = as_states(x, self.N)
        return softmax(self.w + beta * (x @ self.X.T))

    def full_fun(self, x, beta, u=None):
        """The full field; ``u`` overrides the production term if given."""
        x = as_states(x, self.N)
        production = self.u if u is None else u
        return self.weights(x, beta) @ self.Q - x + production

    def full_jac(self, x, beta):
        """beta Q^T (diag p - p p^T) X - I, shape (..., N, N)."""
        p = self.weights(x, beta)
        cov = p[..., :, None] * np.eye(self.K) - p[..., :, None] * p[..., None, :]
        return beta * np.einsum("ka,...kl,lb->...ab", self.Q, cov, self.X) - np.eye(
            self.N
        )

    def reduction(self) -> SoftmaxReduction:
        return SoftmaxReduction(
            G=self.X @ self.Q.T,
            w=self.w,
            v=self.X @ self.u,
            inverse_gram=np.linalg.pinv(self.X @ self.X.T),
            gradient=self.gradient,
        )

    def project(self, x):
        """Overlaps m = X x."""
        return as_states(x, self.N) @ self.X.T

    def lift(self, m, beta):
        """x = Q^T softmax(w + beta m) + u: the full state of a fixed point m."""
        m = as_states(m, self.K)
        return softmax(self.w + beta * m) @ self.Q + self.u

    def overlaps(self, x):
        return self.project(x)

    def describe(self) -> str:
        readout = "Q = X" if self.gradient else "custom readout Q"
        return f"modern softmax, K={self.K}, N={self.N}, {readout}"
