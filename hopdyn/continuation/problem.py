"""The continuation problem f(x, beta) = 0 in scaled coordinates.

A point on a branch is y = (x, b) with b = (beta - beta_min) / beta_scale,
so that states and the parameter share one arclength.  The problem owns the
two numerical kernels every other part uses: the Newton corrector on the
bordered system

    [ df/dx   beta_scale df/dbeta ] [dx]     [ f(x, beta)     ]
    [        normal^T             ] [db] = - [ normal.y - c   ]

and the tangent, the unit vector spanning the kernel of [df/dx | df/db].
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

__all__ = ["Node", "Problem"]


@dataclass(eq=False)
class Node:
    """A computed point of a branch.

    Attributes
    ----------
    y : ndarray, shape (d + 1,)
        Scaled point (state, b).
    tangent : ndarray, shape (d + 1,)
        Unit tangent, oriented along the direction of travel.
    eigenvalues : ndarray of complex, shape (d,)
        Of df/dx, sorted by decreasing real part.
    s : float
        Signed arclength from the start of the branch.
    special : object
        The located special point this node is, if any.
    derivative : ndarray, shape (d, d + 1), or None
        [df/dx | df/db] at y, reused by the next corrector.
    """

    y: np.ndarray
    tangent: np.ndarray
    eigenvalues: np.ndarray
    s: float = 0.0
    special: object = None
    derivative: np.ndarray | None = None


def _solve(M, rhs):
    """Solve M z = rhs; least squares when M is exactly singular (a trial
    point landing on a branch point)."""
    try:
        return np.linalg.solve(M, rhs)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(M, rhs, rcond=None)[0]


class Problem:
    """A reduced system seen as a curve-following problem in (state, beta).

    Parameters
    ----------
    system : ReducedSystem
    beta_min, beta_max : float
    options : ContinuationOptions
    """

    def __init__(self, system, beta_min, beta_max, options):
        self.system = system
        self.dimension = system.dimension
        self.beta_min = float(beta_min)
        self.beta_max = float(beta_max)
        self.scale = float(options.beta_scale or (beta_max - beta_min))
        self.options = options
        self.counters = Counter()
        self._e_beta = np.zeros(self.dimension + 1)
        self._e_beta[-1] = 1.0

    # -------------------------------------------------------- coordinates
    def beta(self, y) -> float:
        return self.beta_min + self.scale * float(y[-1])

    def pack(self, state, beta):
        return np.append(np.asarray(state, float), (beta - self.beta_min) / self.scale)

    def b_of(self, beta) -> float:
        return (beta - self.beta_min) / self.scale

    @property
    def e_beta(self):
        return self._e_beta

    # ------------------------------------------------------------ algebra
    def residual(self, y):
        return self.system.fun(y[:-1], self.beta(y))

    def derivative(self, y):
        """[df/dx | beta_scale df/dbeta], shape (d, d + 1)."""
        x, beta = y[:-1], self.beta(y)
        self.counters["jacobians"] += 1
        column = self.scale * self.system.dfdbeta(x, beta)
        return np.column_stack([self.system.jac(x, beta), column])

    def eigenvalues(self, jac):
        """Eigenvalues sorted by decreasing real part; real for gradient
        flows, whose spectra are real (rounding only adds tiny imaginary
        parts at repeated eigenvalues)."""
        values = np.linalg.eigvals(jac)
        if self.system.is_gradient:
            values = values.real.astype(complex)
        return values[np.argsort(-values.real, kind="stable")]

    def n_unstable(self, eigenvalues) -> int:
        return int(np.sum(eigenvalues.real > self.options.eig_tol))

    # ------------------------------------------------------------ kernels
    def correct(self, y_pred, normal, anchor, derivative=None):
        """Newton on f(y) = 0, normal . y = anchor, from y_pred.

        Parameters
        ----------
        y_pred : ndarray, shape (d + 1,)
        normal : ndarray, shape (d + 1,)
        anchor : float
        derivative : ndarray, shape (d, d + 1), optional
            A derivative taken close by (at the previous point), used for
            the first iteration instead of a fresh one.

        Returns
        -------
        (y, A, iterations) on convergence, None otherwise; A is the
        derivative at the converged y.
        """
        y = np.array(y_pred, dtype=float)
        residual = self.residual(y)
        A = self.derivative(y) if derivative is None else derivative
        for iteration in range(1, self.options.max_iter + 1):
            rhs = np.append(residual, normal @ y - anchor)
            delta = _solve(np.vstack([A, normal]), -rhs)
            y = y + delta
            self.counters["corrector_iterations"] += 1
            if not np.all(np.isfinite(y)) or self._outside(y):
                return None
            residual = self.residual(y)
            A = self.derivative(y)
            small = np.linalg.norm(delta) <= 1e-6 * (1.0 + np.linalg.norm(y))
            if small and np.linalg.norm(residual) <= self.options.tol:
                return y, A, iteration
        return None

    def _outside(self, y) -> bool:
        # beta must stay positive; the field is not defined beyond.
        return self.beta(y) <= 0.0

    def tangent(self, A, reference):
        """Unit kernel vector of A with positive product with reference."""
        t = _solve(np.vstack([A, reference]), self._e_beta)
        return t / np.linalg.norm(t)

    def initial_tangent(self, A):
        """Kernel vector of A closest to the beta direction (the kernel may
        be more than one-dimensional at a start on a branch point)."""
        _, singular, vt = np.linalg.svd(A)
        padded = np.append(singular, 0.0)
        null = vt[padded <= 1e-8 * max(singular.max(initial=0.0), 1.0)]
        along = null.T @ (null @ self._e_beta)
        if np.linalg.norm(along) > 1e-8:
            return along / np.linalg.norm(along)
        return vt[-1]

    # -------------------------------------------------------------- nodes
    def node(self, y, A, reference, s=0.0):
        """A node at y with tangent oriented along reference."""
        t = self.tangent(A, reference)
        eigenvalues = self.eigenvalues(A[:, :-1])
        return Node(y=y, tangent=t, eigenvalues=eigenvalues, s=s, derivative=A)

    def start_node(self, state, beta):
        """A node at a fixed point, its tangent pointing to larger beta."""
        y = self.pack(state, beta)
        A = self.derivative(y)
        t = self.initial_tangent(A)
        if t[-1] < 0:
            t = -t
        eigenvalues = self.eigenvalues(A[:, :-1])
        return Node(y=y, tangent=t, eigenvalues=eigenvalues, derivative=A)
