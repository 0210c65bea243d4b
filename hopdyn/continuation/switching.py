"""Branch switching at a branch point, including degenerate ones.

At a branch point with a k-dimensional kernel (k eigenvalues crossing zero
together, as symmetric patterns make them do) the emerging branches leave
along directions inside the kernel, but which directions is decided by the
nonlinear terms.  Rather than solve the algebraic bifurcation equations,
the switcher tries many directions and lets Newton decide:

1. the kernel basis V (right singular vectors of df/dx at the point);
2. candidate directions: the basis vectors, their pairwise sums and
   differences, and every pattern-mixture direction projected onto the
   kernel -- signed subset combinations mapped by ``from_coefficients`` for
   signed systems, subset-uniform softmax weights minus the current weights
   for softmax ones;
3. on both sides, beta_BP (1 +- switch_delta), Newton at fixed beta from the
   parent's point plus a kick along each direction, over a ladder of kick
   sizes from switch_delta (transcritical branches) to a few
   sqrt(switch_delta) (pitchforks), in units of max(1, |x_BP|) so that the
   zero state gets a kick too;
4. a converged point is kept when it is not the parent's point, it is
   close to the branch point, and its offset from the parent lies mostly in
   the kernel.

The caller drops the points that lie on known branches (or their
symmetric copies) and traces the rest.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from hopdyn.fixed_points import newton

__all__ = ["Child", "child_points", "kernel_basis"]

_MAX_MIXTURES = 4000
# Offsets from the parent must lie this much inside the kernel.
_IN_KERNEL = 0.5


@dataclass
class Child:
    """A fixed point next to a branch point, off the parent branch."""

    state: np.ndarray
    beta: float
    parent_state: np.ndarray


def kernel_basis(jac, dimension):
    """Orthonormal basis (d, k) of the near-kernel of a Jacobian."""
    _, _, vt = np.linalg.svd(jac)
    return vt[-dimension:].T


def child_points(problem, node, kernel_dimension, finder_options=None):
    """Fixed points on the branches that emerge at a branch point.

    Parameters
    ----------
    problem : Problem
    node : Node
        The located branch point.
    kernel_dimension : int
    finder_options : FinderOptions, optional
        Newton settings.

    Returns
    -------
    list of Child
    """
    system = problem.system
    x_star, beta_star = node.y[:-1], problem.beta(node.y)
    V = kernel_basis(system.jac(x_star, beta_star), kernel_dimension)
    directions = candidate_directions(system, x_star, beta_star, V, problem.options)
    problem.counters["switch_directions"] += len(directions)

    children = []
    for side in (1.0, -1.0):
        beta = beta_star * (1.0 + side * problem.options.switch_delta)
        if problem.beta_min <= beta <= problem.beta_max:
            found = _one_side(problem, node, V, directions, beta, finder_options)
            children += found
    return children


def _one_side(problem, node, V, directions, beta, finder_options):
    system = problem.system
    x_star = node.y[:-1]
    parent = _parent_point(problem, node, beta, finder_options)
    scale = max(1.0, float(np.linalg.norm(x_star)))
    kicks = _kick_ladder(problem.options.switch_delta) * scale

    seeds = parent + (kicks[:, None, None] * directions[None, :, :]).reshape(
        -1, system.dimension
    )
    problem.counters["switch_seeds"] += len(seeds)
    states, converged = newton(system, seeds, beta, options=finder_options)
    reach = 10.0 * np.sqrt(problem.options.switch_delta) * scale
    keep = [
        x
        for x, ok in zip(states, converged, strict=True)
        if ok and _emerging(x, parent, V, reach)
    ]
    # Positive offsets first, so that representatives read "+1", not "-1".
    keep.sort(key=lambda x: -float(np.sum(x - parent)))
    return [Child(x, beta, parent) for x in _distinct(keep)]


def _kick_ladder(delta):
    root = np.sqrt(delta)
    return np.array([delta, 0.3 * root, root, 3.0 * root])


def _parent_point(problem, node, beta, finder_options):
    """The parent branch's point at beta (first-order prediction, then
    Newton)."""
    t = node.tangent
    x_star, b_star = node.y[:-1], node.y[-1]
    guess = x_star
    if abs(t[-1]) > 1e-3:
        guess = x_star + (problem.b_of(beta) - b_star) * t[:-1] / t[-1]
    states, converged = newton(
        problem.system, guess[None, :], beta, options=finder_options
    )
    return states[0] if converged[0] else guess


def _emerging(x, parent, V, reach):
    offset = x - parent
    size = np.linalg.norm(offset)
    if size <= 1e-7 * (1.0 + np.linalg.norm(parent)) or size > reach:
        return False
    return np.linalg.norm(V.T @ offset) >= _IN_KERNEL * size


def _distinct(states, tol=1e-7):
    kept = []
    for x in states:
        scale = 1.0 + np.linalg.norm(x)
        if all(np.linalg.norm(x - k) > tol * scale for k in kept):
            kept.append(x)
    return kept


# ------------------------------------------------------------ directions
def candidate_directions(system, x_star, beta, V, options):
    """Unit directions inside the kernel, both signs, without repeats.

    Returns an array of shape (M, d).
    """
    basis = list(V.T)
    pairs = [u + s * v for u, v in itertools.combinations(basis, 2) for s in (1, -1)]
    mixtures = _mixture_directions(system, x_star, beta)
    projected = mixtures @ V @ V.T if len(mixtures) else np.zeros((0, len(x_star)))
    raw = np.concatenate([np.array(basis + pairs).reshape(-1, len(x_star)), projected])
    return _unique_directions(raw, options.max_directions)


def _mixture_directions(system, x_star, beta):
    K = system.n_patterns
    if system.signed:
        coefficients = _signed_subsets(K)
        return system.from_coefficients(coefficients, beta)
    weights = _uniform_subsets(K)
    current = system.coefficients(x_star, beta)
    return system.from_coefficients(weights, beta) - system.from_coefficients(
        current, beta
    )


def _signed_subsets(K):
    rows = []
    for size in range(1, K + 1):
        for subset in itertools.combinations(range(K), size):
            for signs in itertools.product((1.0, -1.0), repeat=size):
                row = np.zeros(K)
                row[list(subset)] = signs
                rows.append(row)
                if len(rows) >= _MAX_MIXTURES:
                    return np.array(rows)
    return np.array(rows)


def _uniform_subsets(K):
    rows = []
    for size in range(1, K + 1):
        for subset in itertools.combinations(range(K), size):
            row = np.zeros(K)
            row[list(subset)] = 1.0 / size
            rows.append(row)
            if len(rows) >= _MAX_MIXTURES:
                return np.array(rows)
    return np.array(rows)


def _unique_directions(raw, cap):
    """Both signs of every direction, first occurrences kept, capped."""
    norms = np.linalg.norm(raw, axis=1)
    raw = raw[norms > 1e-8 * max(norms.max(initial=0.0), 1e-300)]
    units = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    both = np.stack([units, -units], axis=1).reshape(-1, raw.shape[1])
    keys = np.round(both * 1e6).astype(np.int64)
    _, first = np.unique(keys, axis=0, return_index=True)
    return both[np.sort(first)[:cap]]
