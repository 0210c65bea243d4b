"""Known branches and special points: is a point already on the diagram?

Points are compared in scaled coordinates y = (state, (beta - beta_min) /
beta_scale).  A point lies on a branch when it is within ``merge_tol`` of the
curve through the branch's points, read as cubic Hermite pieces (the points
carry their tangents), so that the test is not fooled by the chord between
two points.  Symmetric copies are found through a fingerprint that every
symmetry leaves unchanged: candidate points are those with a close
fingerprint, and the symmetry that maps one to the other is then searched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["Match", "OwnBranch", "Registry"]

# Tangents of a branch and of a point running onto it must be this parallel.
_ALIGNMENT = 0.9
_HERMITE_SAMPLES = 9
_CANDIDATES_PER_BRANCH = 3


@dataclass
class Match:
    """A point found on a known branch, through the symmetry ``element``."""

    branch: int
    element: tuple
    distance: float


@dataclass
class OwnBranch:
    """The branch being traced: its points in order, their arclength, and
    where it started."""

    branch: int
    Y: np.ndarray
    T: np.ndarray
    s: np.ndarray
    start: np.ndarray
    s_now: float


def _hermite(y0, y1, t0, t1):
    """Samples of the cubic Hermite curve between two points, (m, n)."""
    h = np.linalg.norm(y1 - y0)
    if t0 @ (y1 - y0) < 0:
        t0 = -t0
    if t1 @ (y1 - y0) < 0:
        t1 = -t1
    tau = np.linspace(0.0, 1.0, _HERMITE_SAMPLES)[:, None]
    h00 = 2 * tau**3 - 3 * tau**2 + 1
    h10 = tau**3 - 2 * tau**2 + tau
    h01 = -2 * tau**3 + 3 * tau**2
    h11 = tau**3 - tau**2
    return h00 * y0 + h10 * h * t0 + h01 * y1 + h11 * h * t1


def _polyline_distance(q, samples):
    """Distance from q to the polyline through samples (m, n)."""
    a, b = samples[:-1], samples[1:]
    ab = b - a
    length2 = np.maximum(np.sum(ab * ab, axis=1), 1e-300)
    u = np.clip(np.sum((q - a) * ab, axis=1) / length2, 0.0, 1.0)
    nearest = a + u[:, None] * ab
    return float(np.min(np.linalg.norm(q - nearest, axis=1)))


def curve_distance(q, Y, T, index):
    """Distance from q to the branch (Y, T) near its point ``index``."""
    if len(Y) == 1:
        return float(np.linalg.norm(q - Y[0]))
    best = np.inf
    for i in (index - 1, index):
        if 0 <= i < len(Y) - 1:
            samples = _hermite(Y[i], Y[i + 1], T[i], T[i + 1])
            best = min(best, _polyline_distance(q, samples))
    return best


def _is_identity(element):
    perm, signs = element
    return bool(np.all(perm == np.arange(len(perm))) and np.all(signs > 0))


class Registry:
    """The branches and special points found so far.

    Parameters
    ----------
    problem : Problem
    symmetry : Symmetry
    options : ContinuationOptions
    """

    def __init__(self, problem, symmetry, options):
        self.problem = problem
        self.symmetry = symmetry
        self.options = options
        self.curves = {}
        width = problem.dimension + 1
        self._F = np.zeros((0, width))
        self._owner = np.zeros(0, dtype=int)
        self._index = np.zeros(0, dtype=int)
        self._tree = None
        self.special = []

    # ------------------------------------------------------------ adding
    def add_branch(self, branch_id, Y, T):
        Y, T = np.asarray(Y, float), np.asarray(T, float)
        self.curves[branch_id] = (Y, T)
        self._F = np.concatenate([self._F, self.fingerprint(Y)])
        self._owner = np.concatenate([self._owner, np.full(len(Y), branch_id)])
        self._index = np.concatenate([self._index, np.arange(len(Y))])
        self._tree = cKDTree(self._F)

    def add_special(self, y, point_id, kind="BP"):
        self.special.append((np.asarray(y, float), point_id, kind))

    def fingerprint(self, Y):
        Y = np.asarray(Y, float)
        keys = self.symmetry.fingerprint(Y[..., :-1])
        return np.concatenate([keys, Y[..., -1:]], axis=-1)

    # ----------------------------------------------------- special points
    def near_special(self, y, tol, determined_only=False):
        """Id of a known special point within tol of y (or a symmetric
        image of one), else None.

        With ``determined_only``, points of kind "undetermined" do not
        count: a branch crossing one with clear evidence of its own (a
        stability change) must still record its BP, LP or HB."""
        for z, point_id, kind in self.special:
            if determined_only and kind == "undetermined":
                continue
            if abs(z[-1] - y[-1]) > tol:
                continue
            if self.symmetry.find(y[:-1], z[:-1], tol) is not None:
                return point_id
        return None

    def special_between(self, ya, yb):
        """Id and position of a known special point on the chord a-b."""
        chord = yb - ya
        length = np.linalg.norm(chord)
        for z, point_id, _ in self.special:
            u = float(np.clip((z - ya) @ chord / max(length**2, 1e-300), 0, 1))
            gap = np.linalg.norm(ya + u * chord - z)
            if gap <= 0.1 * length + self.options.merge_tol:
                return point_id, z
        return None

    # ------------------------------------------------------------ lookup
    def match(self, y, t=None, own=None, tol=None):
        """The known branch that y lies on (possibly as a symmetric copy).

        Parameters
        ----------
        y : ndarray, shape (d + 1,)
            Scaled point.
        t : ndarray, shape (d + 1,), optional
            Tangent at y; when given, the branch must run parallel to it.
        own : OwnBranch, optional
            The branch being traced, checked too except near y itself.
        tol : float, optional
            Distance tolerance (default ``merge_tol``).

        Returns
        -------
        Match or None
        """
        tol = self.options.merge_tol if tol is None else tol
        key = self.fingerprint(y)
        radius = self.options.ds_max + tol
        for owner, index in self._candidates(key, radius):
            found = self._check(y, t, self.curves[owner], owner, index, tol, radius)
            if found is not None:
                return found
        if own is not None:
            return self._match_own(y, t, key, own, tol, radius)
        return None

    def _candidates(self, key, radius):
        if self._tree is None:
            return []
        hits = np.array(self._tree.query_ball_point(key, radius), dtype=int)
        if hits.size == 0:
            return []
        distance = np.linalg.norm(self._F[hits] - key, axis=1)
        hits = hits[np.argsort(distance, kind="stable")]
        chosen, per_branch = [], {}
        for h in hits:
            owner = int(self._owner[h])
            if per_branch.get(owner, 0) < _CANDIDATES_PER_BRANCH:
                per_branch[owner] = per_branch.get(owner, 0) + 1
                chosen.append((owner, int(self._index[h])))
        return chosen

    def _check(self, y, t, curve, owner, index, tol, radius, identity_ok=True):
        Y, T = curve
        z = Y[index]
        near = np.linalg.norm(y - z) <= radius
        if near and not identity_ok:
            return None
        candidates = [self.symmetry.identity] if near else []
        found = self.symmetry.find(y[:-1], z[:-1], radius)
        if found is not None and not _is_identity(found):
            candidates.append(found)
        for element in candidates:
            match = self._on_curve(y, t, curve, owner, index, tol, element)
            if match is not None:
                return match
        return None

    def _on_curve(self, y, t, curve, owner, index, tol, element):
        Y, T = curve
        moved = self._act(element, y)
        distance = curve_distance(moved, Y, T, index)
        if distance > tol:
            return None
        if t is not None and not self._aligned(self._act(element, t), T[index]):
            return None
        return Match(owner, element, distance)

    def _match_own(self, y, t, key, own, tol, radius):
        if len(own.Y) < 3:
            return None
        tol = min(tol, 0.2 * np.linalg.norm(y - own.start))
        near_start = np.linalg.norm(y - own.start) <= 2 * self.options.ds_max
        keys = self.fingerprint(own.Y)
        close = np.flatnonzero(np.linalg.norm(keys - key, axis=1) <= radius)
        exclusion = max(4 * self.options.ds_max, 20 * self.options.merge_tol)
        for index in close:
            far = abs(own.s[index] - own.s_now) >= exclusion
            curve = (own.Y, own.T)
            found = self._check(y, t, curve, own.branch, index, tol, radius, far)
            if found is not None and not near_start:
                return found
        return None

    def _act(self, element, y):
        moved = self.symmetry.act(element, y[:-1])
        return np.append(moved, y[-1])

    @staticmethod
    def _aligned(a, b):
        cosine = abs(a @ b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-300)
        return cosine >= _ALIGNMENT
