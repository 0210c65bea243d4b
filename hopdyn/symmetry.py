"""Symmetries of a reduced system: signed permutations of the patterns.

A signed permutation T of the patterns is a symmetry when f(T x) = T f(x)
for every state x.  Hebbian and orthonormal pattern sets have many (the mean
field has all 2^K K! of them); they map fixed points to fixed points and
branches to branches, which lets the fixed-point finder complete orbits and
the continuation collapse copies of a branch.

The group is found by testing candidates numerically at random states, so it
is exact up to round-off for any model, with no symmetry declared by hand.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["apply", "deduplicate", "orbits", "symmetry_group"]

# Candidates are enumerated only while their number stays below this.
MAX_CANDIDATES = 50_000


def _candidates(K: int, signed: bool):
    """All (signed) permutations of K patterns as (perms, signs) arrays."""
    perms = np.array(list(itertools.permutations(range(K))))
    if not signed:
        return perms, np.ones((len(perms), K))
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=K)))
    perms = np.repeat(perms, len(signs), axis=0)
    signs = np.tile(signs, (math.factorial(K), 1))
    return perms, signs


def _as_matrices(perms, signs, dimension):
    """Matrices acting on states; two-layer states (a, h) transform blockwise."""
    count, K = perms.shape
    T = np.zeros((count, K, K))
    T[np.arange(count)[:, None], perms, np.arange(K)[None, :]] = signs
    if dimension == K:
        return T
    blocks = np.zeros((count, dimension, dimension))
    for start in range(0, dimension, K):
        blocks[:, start : start + K, start : start + K] = T
    return blocks


def apply(group, states):
    """Images of states (M, d) under every element of group (G, d, d): (G, M, d)."""
    return np.einsum("gij,mj->gmi", group, np.asarray(states, float))


def symmetry_group(system, beta, rtol=1e-9, seed=0):
    """The signed pattern permutations that commute with the reduced field.

    Parameters
    ----------
    system : ReducedSystem
    beta : float
        The field is compared at this beta (symmetries of a model do not
        depend on beta, but the test needs one).

    Returns
    -------
    ndarray, shape (G, d, d)
        The symmetry matrices, the identity first.  Only the identity when
        the number of candidates exceeds MAX_CANDIDATES (K > 6 signed,
        K > 8 unsigned).
    """
    K, d = system.n_patterns, system.dimension
    identity = np.eye(d)[None]
    count = math.factorial(K) * (2**K if system.signed else 1)
    if d % K or count > MAX_CANDIDATES:
        return identity

    group = _as_matrices(*_candidates(K, system.signed), d)
    states = np.random.default_rng(seed).normal(scale=0.5, size=(3, d))
    field = system.fun(states, beta)
    images = system.fun(apply(group, states), beta)
    expected = apply(group, field)
    scale = rtol * (1.0 + np.abs(field).max())
    keep = np.all(np.abs(images - expected) <= scale, axis=(1, 2))
    return group[keep]


def deduplicate(states, tol=1e-6):
    """Indices of one representative per cluster of states within tol."""
    states = np.asarray(states, float)
    if len(states) == 0:
        return np.zeros(0, dtype=int)
    scale = 1.0 + np.linalg.norm(states, axis=1).max()
    tree = cKDTree(states)
    taken = np.zeros(len(states), dtype=bool)
    representatives = []
    for i in range(len(states)):
        if taken[i]:
            continue
        representatives.append(i)
        taken[tree.query_ball_point(states[i], tol * scale)] = True
    return np.array(representatives, dtype=int)


def orbits(states, group, tol=1e-6):
    """Orbit index of each state: states related by a symmetry share it."""
    states = np.asarray(states, float)
    labels = -np.ones(len(states), dtype=int)
    if len(states) == 0:
        return labels
    tree = cKDTree(states)
    scale = tol * (1.0 + np.linalg.norm(states, axis=1).max())
    for i in range(len(states)):
        if labels[i] >= 0:
            continue
        images = apply(group, states[i : i + 1])[:, 0, :]
        for hits in tree.query_ball_point(images, scale):
            labels[hits] = i
        labels[i] = i
    return labels
