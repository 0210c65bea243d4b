"""Symmetries of a reduced system: signed permutations of the patterns.

A signed permutation g of the K patterns acts on a reduced state block by
block: component i of g x is s_i x_{pi(i)}.  It is a symmetry of the system
when f(g x, beta) = g f(x, beta) for every x and beta, which is checked
numerically at random states, so no symmetry is declared by hand.  Hebbian
and orthonormal pattern sets have many (the mean field has all 2^K K!):
symmetries map fixed points to fixed points and branches to branches, which
lets the fixed-point finder complete orbits and the continuation keep one
representative of each family of copies with its multiplicity.

For K up to ``max_K`` every signed permutation (every permutation for
unsigned, softmax systems) is tried once and the group is kept.  For larger
K the group is never enumerated: two states are compared by their sorted
|components|, and the one permutation that sorting suggests is verified
before it is trusted.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["Symmetry", "apply", "deduplicate", "orbits", "symmetry_group"]

_EQUIVARIANCE_RTOL = 1e-8


class Symmetry:
    """The symmetry group of a reduced system (or the part of it in use).

    Parameters
    ----------
    system : ReducedSystem
    betas : sequence of float
        Parameter values at which equivariance is checked.
    enabled : bool
        False turns every symmetry off (the group is the identity).
    max_K : int
        The group is enumerated only up to this many patterns.

    Attributes
    ----------
    perms, signs : ndarray, shape (G, K)
        The enumerated elements (only the identity when not enumerated).
    enumerated : bool
    """

    def __init__(self, system, betas, enabled=True, max_K=6):
        self.system = system
        self.K = system.n_patterns
        self.dimension = system.dimension
        self.signed = bool(system.signed)
        self.betas = tuple(float(b) for b in betas)
        self.blocks = self.dimension // self.K if self.dimension % self.K == 0 else 0
        nontrivial = self.K > 1 or self.signed
        self.active = bool(enabled and self.blocks and nontrivial)
        self.enumerated = self.active and self.K <= max_K
        self._probes = np.random.default_rng(12345).normal(
            0.0, 0.6, (3, self.dimension)
        )
        self._verified = {}

        self.perms = np.arange(self.K)[None, :]
        self.signs = np.ones((1, self.K))
        if self.enumerated:
            self.perms, self.signs = self._enumerate()

    @property
    def order(self) -> int:
        return len(self.perms)

    @property
    def identity(self):
        return (np.arange(self.K), np.ones(self.K))

    # ------------------------------------------------------------ action
    def act(self, element, x):
        """Image g x of states x (..., d) under one element (perm, signs)."""
        perm, signs = element
        x = np.asarray(x, dtype=float)
        blocks = x.reshape(*x.shape[:-1], -1, self.K)
        return (blocks[..., perm] * signs).reshape(x.shape)

    def images(self, x):
        """Images of one state (d,) under every enumerated element, (G, d)."""
        blocks = np.asarray(x, dtype=float).reshape(-1, self.K)
        moved = blocks[:, self.perms] * self.signs
        return np.swapaxes(moved, 0, 1).reshape(self.order, self.dimension)

    def fingerprint(self, x):
        """A function of the state that every symmetry leaves unchanged and
        that moves no more than the state does (sorted |components|)."""
        x = np.asarray(x, dtype=float)
        if not self.active:
            return x
        blocks = x.reshape(*x.shape[:-1], -1, self.K)
        key = np.abs(blocks) if self.signed else blocks
        return np.sort(key, axis=-1).reshape(x.shape)

    @staticmethod
    def as_signed(element):
        """An element as signed 1-based pattern numbers (JSON form)."""
        perm, signs = element
        return [int(s) * (int(p) + 1) for p, s in zip(perm, signs, strict=True)]

    # --------------------------------------------------------- searching
    def find(self, x, target, tol):
        """A symmetry g with |g x - target| <= tol, or None."""
        x, target = np.asarray(x, float), np.asarray(target, float)
        if self.enumerated:
            distance = np.linalg.norm(self.images(x) - target, axis=1)
            best = int(np.argmin(distance))
            if distance[best] > tol:
                return None
            return (self.perms[best], self.signs[best])
        if np.linalg.norm(x - target) <= tol:
            return self.identity
        return self._derived(x, target, tol) if self.active else None

    def find_all(self, x, target, tol):
        """Every enumerated g with |g x - target| <= tol (identity only when
        the group is not enumerated)."""
        if not self.enumerated:
            found = self.find(x, target, tol)
            return [] if found is None else [found]
        distance = np.linalg.norm(self.images(x) - np.asarray(target), axis=1)
        return [(self.perms[i], self.signs[i]) for i in np.flatnonzero(distance <= tol)]

    def reversing(self, centre, incoming, outgoing, tol):
        """A symmetry that fixes ``centre`` and maps the incoming side of a
        curve through it onto the outgoing side, or None.

        ``incoming`` and ``outgoing`` are states on either side of
        ``centre``; the test is on directions, since the two need not be
        equally far from the centre.
        """
        if not self.active:
            return None
        a = np.asarray(incoming, float) - centre
        b = np.asarray(outgoing, float) - centre
        if min(np.linalg.norm(a), np.linalg.norm(b)) <= tol:
            return None
        a_unit, b_unit = a / np.linalg.norm(a), b / np.linalg.norm(b)
        for element in self.find_all(centre, centre, tol):
            if float(self.act(element, a_unit) @ b_unit) > 0.9:
                return element
        if self.enumerated:
            return None
        return self._derived_reversal(centre, a_unit, b_unit, tol)

    def orbit(self, x, tol=1e-6):
        """Elements giving the distinct images of x (identity first)."""
        if not self.enumerated:
            return [self.identity]
        images = self.images(x)
        keys = np.round(images / tol).astype(np.int64)
        _, first = np.unique(keys, axis=0, return_index=True)
        first = np.sort(first)
        return [(self.perms[i], self.signs[i]) for i in first]

    # ------------------------------------------------------- internals
    def _candidates(self):
        perms = np.array(list(itertools.permutations(range(self.K))))
        if not self.signed:
            return perms, np.ones(perms.shape)
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=self.K)))
        P = np.repeat(perms, len(signs), axis=0)
        S = np.tile(signs, (len(perms), 1))
        return P, S

    def _enumerate(self):
        perms, signs = self._candidates()
        keep = self._equivariant(perms, signs, self._probes[:1], self.betas[:1])
        perms, signs = perms[keep], signs[keep]
        keep = self._equivariant(perms, signs, self._probes, self.betas)
        return perms[keep], signs[keep]

    def _equivariant(self, perms, signs, probes, betas):
        """Which of the candidate elements commute with the field."""
        ok = np.ones(len(perms), dtype=bool)
        n, d = probes.shape
        for beta in betas:
            field = self.system.fun(probes, beta)
            moved = self._act_many(perms, signs, probes)
            lhs = self.system.fun(moved.reshape(-1, d), beta).reshape(moved.shape)
            rhs = self._act_many(perms, signs, field)
            scale = 1.0 + np.max(np.abs(field))
            error = np.max(np.abs(lhs - rhs), axis=(1, 2))
            ok &= error <= _EQUIVARIANCE_RTOL * scale
        return ok

    def _act_many(self, perms, signs, x):
        """Images of states x (n, d) under many elements: (G, n, d)."""
        n = len(x)
        blocks = x.reshape(n, -1, self.K)
        moved = blocks[:, :, perms] * signs
        return np.moveaxis(moved, 2, 0).reshape(len(perms), n, self.dimension)

    def is_symmetry(self, element) -> bool:
        """Whether one (possibly derived) element commutes with the field."""
        perm, signs = element
        key = (tuple(int(p) for p in perm), tuple(int(s) for s in signs))
        if key not in self._verified:
            ok = self._equivariant(
                perm[None, :], signs[None, :], self._probes, self.betas
            )
            self._verified[key] = bool(ok[0])
        return self._verified[key]

    def _sorting_element(self, x, target):
        """The signed permutation that lines up sorted |components| of x with
        those of target (read on the first block)."""
        xb, tb = x[: self.K], target[: self.K]
        key_x = np.abs(xb) if self.signed else xb
        key_t = np.abs(tb) if self.signed else tb
        perm = np.empty(self.K, dtype=int)
        perm[np.argsort(key_t, kind="stable")] = np.argsort(key_x, kind="stable")
        signs = np.ones(self.K)
        if self.signed:
            signs = np.where(tb * xb[perm] < 0, -1.0, 1.0)
        return perm, signs

    def _derived(self, x, target, tol):
        element = self._sorting_element(x, target)
        if np.linalg.norm(self.act(element, x) - target) > tol:
            return None
        return element if self.is_symmetry(element) else None

    def _derived_reversal(self, centre, a_unit, b_unit, tol):
        probe = centre + 0.1 * a_unit
        element = self._sorting_element(probe, centre + 0.1 * b_unit)
        fixes = np.linalg.norm(self.act(element, centre) - centre) <= tol
        turns = float(self.act(element, a_unit) @ b_unit) > 0.9
        if fixes and turns and self.is_symmetry(element):
            return element
        return None


def symmetry_group(system, beta, max_K=6):
    """The symmetries of a system as matrices acting on states.

    Returns
    -------
    ndarray, shape (G, d, d)
        The identity first; only the identity when the group is not
        enumerated (more than ``max_K`` patterns).
    """
    group = Symmetry(system, [beta], max_K=max_K)
    eye = np.eye(system.dimension)
    return np.stack(
        [
            group.act((p, s), eye).T
            for p, s in zip(group.perms, group.signs, strict=True)
        ]
    )


def apply(group, states):
    """Images of states (M, d) under every element of group (G, d, d): (G, M, d)."""
    return np.einsum("gij,mj->gmi", group, np.asarray(states, float))


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
