"""The landscape: which saddles join which attractors, and the catalogue.

`build_landscape` maps the flow of a reduced system at one beta:

1. every fixed point (`hopdyn.fixed_points.find_fixed_points`, seeded also
   from a continuation diagram when one is given);
2. both halves of the unstable manifold of every index-1 saddle, integrated
   from the saddle displaced by +-epsilon along its unstable eigenvector
   until the speed |f| is tiny, then snapped to a fixed point by Newton's
   method.  A half starting in an invariant subspace of the symmetry group
   is integrated inside that subspace (the field is projected onto it), so
   that round-off cannot push it out: when such a half ends on another
   saddle, that is recorded, and the end is resolved by tiny random
   displacements out of the subspace to the attractors it reaches
   generically;
3. out of saddles of index 2 and more, the most unstable eigen-direction
   (when that eigenvalue is repeated, the coordinate axes projected onto
   its eigenspace), +- each, followed the same way to the saddle or
   attractor it reaches;
4. basin fractions by Monte Carlo from states drawn uniformly in the box
   spanned by the fixed points.

The result is a networkx ``MultiDiGraph`` (one node per fixed point, one
edge per followed half, from the saddle to where the half goes) from which
the attractor graph, the disconnectivity tree and the catalogue of
spurious attractors are derived.  `landscape_sweep` counts and follows the
attractors of each kind across a range of beta.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field

import networkx as nx
import numpy as np
import scipy.sparse as sps
from scipy.integrate import solve_ivp
from scipy.spatial import cKDTree

from hopdyn import symmetry
from hopdyn.errors import InputError
from hopdyn.fixed_points import (
    FinderOptions,
    classify,
    find_fixed_points,
    newton,
)
from hopdyn.models.base import check_beta
from hopdyn.results import Result

__all__ = [
    "ATTRACTOR_KINDS",
    "AttractorTrack",
    "Landscape",
    "LandscapeOptions",
    "LandscapeSweep",
    "ManifoldHalf",
    "attractor_graph",
    "build_landscape",
    "catalogue_rows",
    "disconnectivity_tree",
    "landscape_sweep",
    "seeds_from_diagram",
    "write_graphml",
]

logger = logging.getLogger(__name__)

ATTRACTOR_KINDS = ("retrieval", "mixture", "other")
METHODS = ("LSODA", "BDF", "Radau")

# The finder's kinds, in the landscape's vocabulary: the uniform state of a
# softmax model is the symmetric mixture of every pattern.
_KIND_OF = {
    "retrieval": "retrieval",
    "mixture": "mixture",
    "uniform": "mixture",
    "origin": "other",
    "other": "other",
}

# A displacement off a saddle stays in its linear neighbourhood when it is
# this small against the distance to the nearest other fixed point.
_LINEAR_FRACTION = 1e-3

# An unfinished trajectory is still snapped to an attractor this close
# (relative to the state scale): it is converging, only slowly.
_SLOW_SNAP = 1e-3


# ---------------------------------------------------------------- options
@dataclass(frozen=True)
class LandscapeOptions:
    """Options of `build_landscape` and `landscape_sweep`.

    Lengths (epsilon, atol, ftol, resolve_delta, match_tol) are relative to
    the state scale, 1 + the largest |component| of any fixed point.

    Attributes
    ----------
    epsilon : float
        Displacement off a saddle along an unstable eigenvector.  It is
        lowered further when another fixed point is near.
    rtol, atol : float
        Tolerances of the integrator.
    ftol : float
        A trajectory has arrived when its speed |f| falls below this.
    t_max : float
        Longest integration time; halves still moving then are unfinished.
    method : {"LSODA", "BDF", "Radau"}
        The `scipy.integrate.solve_ivp` method.
    n_basin_samples : int
        Monte Carlo samples for the basin fractions (0 skips them).
    basin_margin : float
        The sampling box is the box spanned by the fixed points widened by
        this fraction of its size on each side.
    basin_batch : int
        Trajectories integrated together.
    resolve_delta : float
        Size of the random displacements that break the symmetry at a
        saddle where a half ended.
    n_resolve : int
        Random displacement directions (each with both signs).
    max_resolve_depth : int
        How many saddles in a row a resolution may pass.
    follow_higher : bool
        Also follow the leading unstable directions of saddles of index
        >= 2 (and of repellers).
    match_tol : float
        A snapped state within this of a known fixed point is that point.
    seed : int
        Seed of the basin samples and the symmetry-breaking displacements.
    finder : FinderOptions, optional
        Options of the fixed-point finder and of Newton's method.
    """

    epsilon: float = 1e-6
    rtol: float = 1e-9
    atol: float = 1e-12
    ftol: float = 1e-9
    t_max: float = 1e4
    method: str = "LSODA"
    n_basin_samples: int = 1000
    basin_margin: float = 0.1
    basin_batch: int = 250
    resolve_delta: float = 1e-6
    n_resolve: int = 3
    max_resolve_depth: int = 3
    follow_higher: bool = True
    match_tol: float = 1e-6
    seed: int = 0
    finder: FinderOptions | None = None

    def __post_init__(self):
        for name in ("epsilon", "rtol", "atol", "ftol", "t_max", "resolve_delta"):
            _check_positive(name, getattr(self, name))
        _check_positive("match_tol", self.match_tol)
        if not (np.isfinite(self.basin_margin) and self.basin_margin >= 0):
            raise InputError(
                f"basin_margin must be a finite number >= 0, got {self.basin_margin!r}"
            )
        for name in ("n_basin_samples", "max_resolve_depth", "seed"):
            _check_count(name, getattr(self, name), minimum=0)
        for name in ("basin_batch", "n_resolve"):
            _check_count(name, getattr(self, name), minimum=1)
        if self.method not in METHODS:
            raise InputError(
                f"method must be one of {', '.join(METHODS)}, got {self.method!r}"
            )
        if not isinstance(self.follow_higher, bool):
            raise InputError(
                f"follow_higher must be True or False, got {self.follow_higher!r}"
            )
        if self.finder is not None and not isinstance(self.finder, FinderOptions):
            raise InputError(
                f"finder must be a FinderOptions, got {type(self.finder).__name__}"
            )

    @property
    def newton_options(self) -> FinderOptions:
        return self.finder or FinderOptions()


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise InputError(f"{name} must be a finite number > 0, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a finite number > 0, got {value!r}")


def _check_count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")


# ---------------------------------------------------------------- records
@dataclass
class ManifoldHalf:
    """One half of an unstable eigen-direction of a saddle, followed.

    Attributes
    ----------
    saddle : int
        Node id of the saddle.
    direction : int
        Which of the directions followed out of the saddle (always 0 for
        a simple leading eigenvalue; see `build_landscape`, Notes).
    sign : int
        +1 or -1: the side of the saddle the half starts on.
    end : int or None
        Node id where the trajectory settled; None when it had not arrived
        by t_max.
    resolved : tuple of int
        The attractors reached: ``(end,)`` when the end is an attractor;
        when it is a saddle, those reached after symmetry-breaking
        displacements (only for index-1 saddles).
    subspace : int
        Dimension of the invariant subspace the half was integrated in.
    time : float
        Integration time to arrival.
    """

    saddle: int
    direction: int
    sign: int
    end: int | None
    resolved: tuple = ()
    subspace: int = 0
    time: float = math.nan

    def to_dict(self) -> dict:
        out = asdict(self)
        out["resolved"] = list(self.resolved)
        return out


@dataclass(eq=False)
class Landscape(Result):
    """The saddle-attractor graph at one beta, with its bookkeeping.

    Attributes
    ----------
    beta : float
    graph : networkx.MultiDiGraph
        One node per fixed point (ids index ``fixed_points``) with attributes
        state, n_unstable, stability, kind (retrieval, mixture, other),
        label, patterns, energy, basin_fraction, basin_stderr; one edge per
        followed half, from the saddle to the node it reached (see Notes of
        `build_landscape`).
    fixed_points : list of FixedPoint
    halves : list of ManifoldHalf
    basin : dict
        How the basin fractions were sampled: method, low, high, n_samples,
        n_unresolved, seed.
    success, status, message
        ``status`` 0: complete; 1: some halves had not arrived by t_max;
        2: the fixed-point search may be incomplete.
    nfev : int
        Field evaluations by the integrator.
    n_trajectories : int
        Trajectories integrated.
    n_new_fixed_points : int
        Fixed points found by following the flow that the finder missed.
    """

    beta: float
    graph: nx.MultiDiGraph
    fixed_points: list
    halves: list
    basin: dict
    options: LandscapeOptions
    pattern_names: tuple
    dimension: int
    gradient: bool
    success: bool
    status: int
    message: str
    nfev: int = 0
    n_trajectories: int = 0
    n_new_fixed_points: int = 0

    @property
    def attractors(self) -> list:
        """Node ids of the attractors."""
        return _attractor_ids(self.graph)

    def attractor_graph(self) -> nx.Graph:
        """See `attractor_graph`."""
        return attractor_graph(self.graph)

    def disconnectivity_tree(self) -> nx.DiGraph | None:
        """See `disconnectivity_tree`."""
        return disconnectivity_tree(self.graph)

    def to_dict(self) -> dict:
        """The landscape.json record (DESIGN.md), with more keys."""
        return _landscape_dict(self)


# ---------------------------------------------------------------- diagram seeds
def seeds_from_diagram(diagram, beta) -> np.ndarray:
    """States of a continuation diagram's branches at one beta.

    Parameters
    ----------
    diagram : object or mapping
        Anything with ``branches``, each with ``points``: a sequence of
        points with ``beta`` and ``state`` (attributes or keys), or one
        object whose ``beta`` is an array (n,) and ``state`` an array (n, d).
    beta : float

    Returns
    -------
    ndarray, shape (M, d)
        The states interpolated linearly wherever a branch crosses beta
        (a branch that folds back may cross it more than once).
    """
    seeds = []
    for branch in _get(diagram, "branches", ()) or ():
        betas, states = _branch_samples(branch)
        seeds.extend(_crossings(betas, states, float(beta)))
    return np.array(seeds, dtype=float)


def _get(obj, key, default=None):
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _branch_samples(branch):
    points = _get(branch, "points", ())
    if points is None:
        return np.zeros(0), np.zeros((0, 0))
    if not isinstance(points, (list, tuple)) and _get(points, "beta") is not None:
        betas, states = _get(points, "beta"), _get(points, "state")
    else:
        betas = [_get(p, "beta") for p in points]
        states = [_get(p, "state") for p in points]
    betas = np.asarray(betas, dtype=float).reshape(-1)
    return betas, np.asarray(states, dtype=float).reshape(len(betas), -1)


def _crossings(betas, states, beta):
    """States where consecutive samples bracket beta, interpolated."""
    found = [states[i] for i in np.flatnonzero(betas == beta)]
    lo, hi = betas[:-1], betas[1:]
    bracket = (np.minimum(lo, hi) < beta) & (beta < np.maximum(lo, hi))
    for i in np.flatnonzero(bracket):
        t = (beta - lo[i]) / (hi[i] - lo[i])
        found.append((1 - t) * states[i] + t * states[i + 1])
    return found


BRANCH_TOL = 0.05


def branch_at(diagram, beta, state, tol):
    """Id of the diagram branch passing through state at beta, or None.

    A branch passes through it when one of its crossings of beta (linear
    interpolation between samples) lies within tol of the state; the
    nearest such branch wins.  Symmetric copies that the diagram does not
    store match no branch.
    """
    best, best_distance = None, tol
    for branch in _get(diagram, "branches", ()) or ():
        betas, states = _branch_samples(branch)
        for crossing in _crossings(betas, states, float(beta)):
            distance = float(np.linalg.norm(crossing - state))
            if distance <= best_distance:
                best, best_distance = _get(branch, "id"), distance
    return best


# ---------------------------------------------------------------- integration
class _BatchFlow:
    """Many trajectories of one system as one ODE, each optionally confined
    to a linear invariant subspace by its orthogonal projector."""

    def __init__(self, system, beta, count, projectors=None):
        self.system, self.beta = system, beta
        self.count, self.d = count, system.dimension
        self.projectors = projectors
        self.nfev = 0

    def project(self, X):
        if self.projectors is None:
            return X
        return np.einsum("mij,mj->mi", self.projectors, X)

    def field(self, X):
        self.nfev += 1
        X = self.project(X)
        return self.project(self.system.fun(X, self.beta))

    def fun(self, t, y):
        return self.field(y.reshape(self.count, self.d)).ravel()

    def blocks(self, y):
        X = self.project(y.reshape(self.count, self.d))
        J = self.system.jac(X, self.beta)
        if self.projectors is not None:
            J = self.projectors @ J @ self.projectors
        return J

    def banded_jac(self, t, y):
        """The block-diagonal Jacobian in LAPACK's packed band form."""
        J, d = self.blocks(y), self.d
        packed = np.zeros((2 * d - 1, self.count * d))
        rows, cols = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
        offsets = np.arange(self.count)[:, None, None] * d
        packed[(d - 1 + rows - cols)[None].repeat(self.count, 0), cols + offsets] = J
        return packed

    def sparse_jac(self, t, y):
        J = self.blocks(y)
        index = np.arange(self.count)
        return sps.bsr_matrix((J, index, np.arange(self.count + 1)))


def _integrate(system, beta, starts, options, scale, projectors=None):
    """Integrate a batch of trajectories until every one has arrived.

    Returns
    -------
    ends : ndarray, shape (M, d)
    arrived : ndarray of bool, shape (M,)
        The speed fell below the arrival threshold.
    time : float
        When the batch stopped.
    nfev : int
    """
    starts = np.asarray(starts, dtype=float)
    count, d = starts.shape
    flow = _BatchFlow(system, beta, count, projectors)
    threshold = _arrival_threshold(flow, starts, options, scale)

    def arrival(t, y):
        speed = np.linalg.norm(flow.field(y.reshape(count, d)), axis=1)
        return float(np.max(speed / threshold)) - 1.0

    arrival.terminal = True
    solution = solve_ivp(
        flow.fun,
        (0.0, options.t_max),
        starts.ravel(),
        events=arrival,
        **_solver_arguments(flow, options, scale),
    )

    ends = flow.project(solution.y[:, -1].reshape(count, d))
    speed = np.linalg.norm(system.fun(ends, beta), axis=1)
    # The event is located to round-off, so the last to arrive sits on the
    # threshold rather than below it.
    return ends, speed <= 1.5 * threshold, float(solution.t[-1]), flow.nfev


def _arrival_threshold(flow, starts, options, scale):
    """Per-trajectory |f| of arrival: ftol, but well below the start speed,
    so that a start that barely moves is not taken as arrived."""
    speed = np.linalg.norm(flow.field(starts), axis=1)
    return np.minimum(options.ftol * scale, 1e-3 * speed) + 1e-300


def _solver_arguments(flow, options, scale):
    arguments = {"method": options.method, "atol": options.atol * scale}
    if options.method == "LSODA":
        # LSODA measures errors in the max norm: one tolerance per trajectory.
        arguments.update(rtol=options.rtol, jac=flow.banded_jac)
        arguments.update(lband=flow.d - 1, uband=flow.d - 1)
    else:
        # BDF and Radau measure errors in an RMS norm over the whole batch,
        # which would dilute one trajectory's error by sqrt(count).
        rtol = max(options.rtol / math.sqrt(flow.count), 1e-13)
        arguments.update(rtol=rtol, jac=flow.sparse_jac)
    return arguments


def _integrate_in_batches(system, beta, starts, options, scale, projectors=None):
    ends, arrived, times, nfev = [], [], [], 0
    for first in range(0, len(starts), options.basin_batch):
        part = slice(first, first + options.basin_batch)
        chunk = None if projectors is None else projectors[part]
        e, a, t, n = _integrate(system, beta, starts[part], options, scale, chunk)
        ends.append(e)
        arrived.append(a)
        times.append(np.full(len(e), t))
        nfev += n
    if not ends:
        d = system.dimension
        return np.zeros((0, d)), np.zeros(0, bool), np.zeros(0), 0
    return np.concatenate(ends), np.concatenate(arrived), np.concatenate(times), nfev


# ---------------------------------------------------------------- known points
class _PointSet:
    """The fixed points known so far; snaps end states onto them."""

    def __init__(self, system, beta, points, options, scale):
        self.system, self.beta = system, beta
        self.points = list(points)
        self.options, self.scale = options, scale
        self.n_new = 0

    @property
    def states(self):
        d = self.system.dimension
        return np.array([p.state for p in self.points]).reshape(-1, d)

    def is_attractor(self, i):
        return self.points[i].n_unstable == 0

    def snap(self, ends, arrived):
        """Node id of the fixed point each end state settled on (-1: none).

        Newton's method polishes every end; a polished root that is not
        known yet is classified and added.  An end that had not arrived is
        kept only when it was already close to an attractor.
        """
        options = self.options.newton_options
        roots, ok = newton(self.system, ends, self.beta, options=options)
        near = np.linalg.norm(roots - ends, axis=1) <= _SLOW_SNAP * self.scale

        ids = np.full(len(ends), -1)
        for i in np.flatnonzero(ok & (arrived | near)):
            j = self._identify(roots[i])
            if arrived[i] or self.is_attractor(j):
                ids[i] = j
        return ids

    def _identify(self, root):
        states = self.states
        if len(states):
            distance, index = cKDTree(states).query(root)
            if distance <= self.options.match_tol * self.scale:
                return int(index)

        eig_tol = self.options.newton_options.eig_tol
        self.points.append(classify(self.system, root, self.beta, eig_tol))
        self.n_new += 1
        logger.info("the flow reached a new fixed point: %s", self.points[-1].label)
        return len(self.points) - 1


# ---------------------------------------------------------------- manifolds
def _orient(v):
    """Unit vector with its largest component positive (the first of them
    when several tie, so that round-off cannot flip the sign)."""
    v = v / np.linalg.norm(v)
    largest = np.flatnonzero(np.abs(v) >= np.abs(v).max() - 1e-8)[0]
    return v if v[largest] > 0 else -v


def _unstable_directions(system, point, beta, eig_tol=1e-9):
    """Unit directions to follow out of a fixed point: its most unstable
    eigenvector, or, when the leading eigenvalue is repeated (or complex),
    the projections of the coordinate axes onto its eigenspace.

    Returns
    -------
    ndarray, shape (n, d)
        Empty for an attractor.

    Notes
    -----
    Weaker unstable directions are not followed: a trajectory started along
    one leaves along the strongest, on a side decided by round-off.
    """
    values, vectors = np.linalg.eig(system.jac(point.state, beta))
    leading = values.real.max()
    if leading <= eig_tol:
        return np.zeros((0, system.dimension))

    group = np.abs(values.real - leading) <= 1e-6 * leading
    basis = np.concatenate([vectors[:, group].real, vectors[:, group].imag], axis=1)
    u, sigma, _ = np.linalg.svd(basis, full_matrices=False)
    span = u[:, sigma > 1e-8 * sigma.max()]
    if span.shape[1] == 1:
        return _orient(span[:, 0])[None, :]
    return _distinct_directions(span @ span.T)


def _distinct_directions(projector):
    """The coordinate axes projected onto a subspace, one per +- pair."""
    directions = []
    for axis in projector.T:
        if np.linalg.norm(axis) <= 1e-8:
            continue
        v = _orient(axis)
        if all(abs(v @ w) < 1 - 1e-9 for w in directions):
            directions.append(v)
    return np.array(directions)


def _fixed_subspace(group, state, direction, scale):
    """Projector onto the points fixed by every symmetry that fixes both
    the saddle and the direction: an invariant subspace of the flow that
    holds the whole half-trajectory."""
    moved_state = np.abs(group @ state - state).max(axis=1)
    moved_direction = np.abs(group @ direction - direction).max(axis=1)
    keep = (moved_state <= 1e-7 * scale) & (moved_direction <= 1e-6)
    return group[keep].mean(axis=0)


def _epsilon(states, i, options, scale):
    """The displacement off saddle i: small against its nearest neighbour."""
    others = np.delete(states, i, axis=0)
    if len(others) == 0:
        return options.epsilon * scale
    nearest = np.linalg.norm(others - states[i], axis=1).min()
    return min(options.epsilon * scale, _LINEAR_FRACTION * nearest)


def _half_starts(known, saddles, group, options, scale):
    """Start states, invariant-subspace projectors and records of the
    halves of every unstable eigen-direction of the given saddles."""
    states = known.states
    starts, projectors, halves = [], [], []
    for i in saddles:
        point = known.points[i]
        step = _epsilon(states, i, options, scale)
        directions = _unstable_directions(
            known.system, point, known.beta, options.newton_options.eig_tol
        )
        for k, v in enumerate(directions):
            P = _fixed_subspace(group, point.state, v, scale)
            for sign in (1, -1):
                starts.append(P @ (point.state + sign * step * v))
                projectors.append(P)
                halves.append(
                    ManifoldHalf(i, k, sign, None, subspace=round(np.trace(P)))
                )
    d = known.system.dimension
    return np.reshape(starts, (-1, d)), np.reshape(projectors, (-1, d, d)), halves


def _follow_halves(known, halves, starts, projectors, options, scale, counters):
    """Integrate the halves (each in its invariant subspace) and snap."""
    ends, arrived, times, nfev = _integrate_in_batches(
        known.system, known.beta, starts, options, scale, projectors
    )
    counters["nfev"] += nfev
    counters["n_trajectories"] += len(starts)

    ids = known.snap(ends, arrived)
    for half, j, t in zip(halves, ids, times, strict=True):
        half.time = float(t)
        if j < 0:
            continue
        half.end = int(j)
        if known.is_attractor(j):
            half.resolved = (int(j),)
    return ends


def _breaking_directions(rng, projector, arrival, count):
    """Random unit directions out of the invariant subspace (or, when the
    subspace is the whole space, across the direction of arrival)."""
    R = rng.normal(size=(count, len(arrival)))
    outside = R - R @ projector.T
    if np.linalg.norm(outside) > 1e-8 * np.linalg.norm(R):
        R = outside
    else:
        a = arrival / max(np.linalg.norm(arrival), 1e-300)
        R = R - np.outer(R @ a, a)
    return R / np.linalg.norm(R, axis=1, keepdims=True)


def _resolve(known, pending, options, scale, counters):
    """Where halves that ended on a saddle go under symmetry breaking.

    ``pending`` holds (half, saddle id, projector, arrival direction).  From
    the saddle displaced by +-resolve_delta along random directions out of
    the invariant subspace the flow is integrated freely; starts that end
    on a saddle again are resolved in turn, up to max_resolve_depth.
    """
    rng = np.random.default_rng(options.seed)
    reached = {id(half): set() for half, *_ in pending}
    identity = np.eye(known.system.dimension)

    for _ in range(options.max_resolve_depth):
        if not pending:
            break
        starts, owners = _breaking_starts(known, pending, rng, options, scale)
        ends, arrived, _, nfev = _integrate_in_batches(
            known.system, known.beta, starts, options, scale
        )
        counters["nfev"] += nfev
        counters["n_trajectories"] += len(starts)

        follow_up = {}
        ids = known.snap(ends, arrived)
        for half, j, end in zip(owners, ids, ends, strict=True):
            if j < 0:
                continue
            if known.is_attractor(j):
                reached[id(half)].add(int(j))
                continue
            arrival = end - known.points[j].state
            follow_up[(id(half), int(j))] = (half, int(j), identity, arrival)
        pending = list(follow_up.values())

    return reached


def _breaking_starts(known, pending, rng, options, scale):
    starts, owners = [], []
    delta = options.resolve_delta * scale
    for half, saddle, projector, arrival in pending:
        centre = known.points[saddle].state
        for r in _breaking_directions(rng, projector, arrival, options.n_resolve):
            starts.extend([centre + delta * r, centre - delta * r])
            owners.extend([half, half])
    return np.array(starts), owners


def _map_manifolds(known, group, options, scale, counters):
    """Follow the unstable manifolds of every saddle, new ones included."""
    halves, followed = [], set()
    for _ in range(3):
        saddles = [
            i
            for i, p in enumerate(known.points)
            if i not in followed and _is_followed(p, options)
        ]
        if not saddles:
            break
        followed.update(saddles)
        halves.extend(_follow_round(known, saddles, group, options, scale, counters))
    return halves


def _is_followed(point, options):
    return point.n_unstable == 1 or (point.n_unstable > 1 and options.follow_higher)


def _follow_round(known, saddles, group, options, scale, counters):
    starts, projectors, halves = _half_starts(known, saddles, group, options, scale)
    ends = _follow_halves(known, halves, starts, projectors, options, scale, counters)

    pending = [
        (half, half.end, P, end - known.points[half.end].state)
        for half, P, end in zip(halves, projectors, ends, strict=True)
        if half.end is not None
        and not known.is_attractor(half.end)
        and known.points[half.saddle].n_unstable == 1
    ]
    reached = _resolve(known, pending, options, scale, counters)
    for half, *_ in pending:
        half.resolved = tuple(sorted(reached[id(half)]))
    return halves


# ---------------------------------------------------------------- basins
def _basin_box(states, options, scale):
    low, high = states.min(axis=0), states.max(axis=0)
    span = np.maximum(high - low, 0.1 * scale)
    return low - options.basin_margin * span, high + options.basin_margin * span


def _basin_counts(known, options, scale, counters):
    """Monte Carlo basin counts: samples uniform in the box spanned by the
    fixed points, each followed to the fixed point it settles on."""
    low, high = _basin_box(known.states, options, scale)
    n = options.n_basin_samples
    rng = np.random.default_rng(options.seed)
    starts = low + (high - low) * rng.random((n, known.system.dimension))

    ends, arrived, _, nfev = _integrate_in_batches(
        known.system, known.beta, starts, options, scale
    )
    counters["nfev"] += nfev
    counters["n_trajectories"] += n

    ids = known.snap(ends, arrived)
    hits = {}
    for j in ids[ids >= 0]:
        if known.is_attractor(j):
            hits[int(j)] = hits.get(int(j), 0) + 1
    basin = {
        "method": "uniform in the box spanned by the fixed points, widened by "
        f"{options.basin_margin:g} of its size on each side",
        "low": low.tolist(),
        "high": high.tolist(),
        "n_samples": n,
        "n_unresolved": n - sum(hits.values()),
        "seed": options.seed,
    }
    return hits, basin


# ---------------------------------------------------------------- graph
def _node_attributes(system, point, beta):
    return {
        "state": np.asarray(point.state, dtype=float),
        "n_unstable": int(point.n_unstable),
        "stability": point.stability,
        "kind": _KIND_OF.get(point.kind, "other"),
        "label": point.label,
        "patterns": tuple(int(p) for p in point.patterns),
        "energy": None if point.energy is None else float(point.energy),
        "basin_fraction": None,
        "basin_stderr": None,
        "eigenvalues": np.asarray(point.eigenvalues),
        "coefficients": np.asarray(system.coefficients(point.state, beta), float),
        "fixed_point_kind": point.kind,
    }


def _build_graph(system, beta, known, halves, hits, n_samples, n_found):
    G = nx.MultiDiGraph(beta=float(beta), gradient=system.is_gradient)
    for i, point in enumerate(known.points):
        attributes = _node_attributes(system, point, beta)
        attributes["found_by"] = "finder" if i < n_found else "flow"
        if n_samples and point.n_unstable == 0:
            p = hits.get(i, 0) / n_samples
            attributes["basin_fraction"] = p
            attributes["basin_stderr"] = math.sqrt(p * (1 - p) / n_samples)
        G.add_node(i, **attributes)

    for half in halves:
        _add_half_edges(G, half)
    return G


def _add_half_edges(G, half):
    if half.end is None:
        return
    common = {"half": half.sign, "direction": half.direction, "time": half.time}
    G.add_edge(
        half.saddle,
        half.end,
        connection="manifold",
        **common,
        **_barrier(G, half.saddle, half.end),
    )
    if G.nodes[half.end]["n_unstable"] == 0:
        return
    for a in half.resolved:
        G.add_edge(
            half.saddle,
            a,
            connection="resolved",
            via=half.end,
            **common,
            **_barrier(G, half.saddle, a),
        )


def _barrier(G, saddle, target):
    """{"barrier": E(saddle) - E(target)} when the target is an attractor
    and the flow has an energy."""
    top, bottom = G.nodes[saddle]["energy"], G.nodes[target]["energy"]
    if top is None or bottom is None or G.nodes[target]["n_unstable"] > 0:
        return {}
    return {"barrier": top - bottom}


def _attractor_ids(G):
    return [n for n, k in G.nodes(data="n_unstable") if k == 0]


def attractor_graph(G) -> nx.Graph:
    """Attractors joined when an index-1 saddle's unstable manifold reaches
    both.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        ``Landscape.graph``.

    Returns
    -------
    networkx.Graph
        The attractors, with their node attributes.  An edge a - b carries
        ``saddle`` (the lowest saddle joining them), ``saddle_energy``,
        ``barrier`` = E(saddle) - max(E(a), E(b)) (the lower of the two
        barriers; None without an energy), ``weight`` (the barrier, or 1)
        and ``n_saddles`` (how many saddles join them).

    Notes
    -----
    Both direct ends and the ends resolved by symmetry breaking count.  Only
    index-1 saddles join attractors: a path over a saddle of higher index
    can always be lowered onto one of index 1.
    """
    A = nx.Graph()
    A.add_nodes_from((n, dict(G.nodes[n])) for n in _attractor_ids(G))
    for s, index in G.nodes(data="n_unstable"):
        if index != 1:
            continue
        reached = sorted({v for _, v in G.out_edges(s) if v in A})
        for i, a in enumerate(reached):
            for b in reached[i + 1 :]:
                _join(A, G, a, b, s)
    return A


def _join(A, G, a, b, s):
    energy = G.nodes[s]["energy"]
    if A.has_edge(a, b):
        edge = A.edges[a, b]
        edge["n_saddles"] += 1
        if energy is None or edge["saddle_energy"] <= energy:
            return
    else:
        A.add_edge(a, b, n_saddles=1)
    barrier = None
    if energy is not None:
        barrier = energy - max(A.nodes[a]["energy"], A.nodes[b]["energy"])
    A.edges[a, b].update(
        saddle=s,
        saddle_energy=energy,
        barrier=barrier,
        weight=1.0 if barrier is None else barrier,
    )


def disconnectivity_tree(G) -> nx.DiGraph | None:
    """Single-linkage merge tree of the attractors by saddle energy.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        ``Landscape.graph``.

    Returns
    -------
    networkx.DiGraph or None
        Leaves are the attractor ids (with energy, label, kind and
        ``leaf=True``); each internal node (ids after the fixed points) is
        the lowest saddle energy at which its children's attractor sets are
        joined, with ``energy``, ``saddle`` and ``leaf=False``; edges run
        from parent to child.  Merges at the same energy are one node.
        ``graph["roots"]`` lists the roots (more than one when some
        attractors are never joined).  None when the flow has no energy.
    """
    A = attractor_graph(G)
    if any(e is None for _, e in A.nodes(data="energy")):
        return None

    T = nx.DiGraph()
    for n, data in A.nodes(data=True):
        T.add_node(n, leaf=True, **{k: data[k] for k in _LEAF_KEYS})
    clusters = nx.utils.UnionFind(A.nodes)
    top = {n: n for n in A.nodes}
    next_id = max(G.nodes, default=-1) + 1

    edges = sorted(A.edges(data=True), key=lambda e: (e[2]["saddle_energy"], e[:2]))
    for a, b, data in edges:
        if clusters[a] == clusters[b]:
            continue
        children = [top[clusters[a]], top[clusters[b]]]
        _merge(T, next_id, children, data)
        clusters.union(a, b)
        top[clusters[a]] = next_id
        next_id += 1

    T.graph["roots"] = [n for n in T if T.in_degree(n) == 0]
    return T


_LEAF_KEYS = ("energy", "label", "kind", "fixed_point_kind", "patterns")


def _merge(T, node, children, data):
    """Add the merge node; a child merged at the same energy is absorbed."""
    energy = data["saddle_energy"]
    T.add_node(node, energy=energy, saddle=data["saddle"], leaf=False)
    for child in children:
        same = abs(T.nodes[child]["energy"] - energy) <= 1e-12 * (1 + abs(energy))
        if T.nodes[child]["leaf"] or not same:
            T.add_edge(node, child)
            continue
        T.add_edges_from([(node, g) for g in T.successors(child)])
        T.remove_node(child)


# ---------------------------------------------------------------- driver
def build_landscape(
    system,
    beta,
    *,
    diagram=None,
    options=None,
    fixed_points=None,
    progress=None,
) -> Landscape:
    """Map which saddles join which attractors at one beta.

    Parameters
    ----------
    system : ReducedSystem
        From `hopdyn.symbolic.reduce`.
    beta : float
        Inverse temperature, > 0.
    diagram : Diagram or mapping, optional
        A continuation diagram (or its diagram.json record); its branches
        at beta seed the fixed-point finder (see `seeds_from_diagram`).
    options : LandscapeOptions, optional
    fixed_points : FixedPointResult or list of FixedPoint, optional
        Fixed points already found at this beta; the finder is then skipped.
    progress : callable, optional
        Called as ``progress(done, total, stage)`` after each of the three
        stages ("fixed points", "manifolds", "basins").

    Returns
    -------
    Landscape
        ``graph`` is a ``networkx.MultiDiGraph``; see Notes.

    Raises
    ------
    InputError
        If beta is not a finite number > 0, or ``fixed_points`` belong to
        another beta.

    Notes
    -----
    Nodes are the fixed points, ids as in ``Landscape.fixed_points``.
    Directed edges follow the flow, one per half of each unstable
    eigen-direction followed: ``connection="manifold"`` from the saddle to
    the node where the half settled, with ``half`` (+1 or -1),
    ``direction`` (0 for index-1 saddles) and ``barrier`` when the end is
    an attractor and the flow has an energy.  When the half of an index-1
    saddle settled on another saddle (inside an invariant subspace of a
    symmetric model), edges with ``connection="resolved"`` and ``via`` (that
    saddle) lead on to the attractors reached under symmetry breaking.
    Parallel edges are kept, hence a multigraph.

    Out of a saddle of index 2 or more only the most unstable direction is
    followed (a trajectory started along a weaker one leaves along the
    strongest, on a side set by round-off); when the leading eigenvalue is
    repeated, as at symmetric states, its eigenvectors are not unique and
    the coordinate axes projected onto the eigenspace are followed instead
    (``direction`` numbers them).

    Halves leave the saddle along the unstable eigenvector at a distance
    epsilon (relative to the state scale, and below 1e-3 of the distance
    to the nearest fixed point); the escape takes a time of about
    ln(1 / epsilon) / lambda, so near a bifurcation (lambda -> 0) t_max may
    cut it short, which is reported (status 1).  Basin fractions are
    Monte Carlo estimates in the reduced coordinates; ``basin_stderr`` is
    sqrt(p (1 - p) / n).

    Examples
    --------
    >>> from hopdyn.models import MeanFieldModel
    >>> from hopdyn.symbolic import reduce
    >>> landscape = build_landscape(reduce(MeanFieldModel(2)), 2.0)
    >>> sorted(landscape.attractor_graph().degree[a] for a in landscape.attractors)
    [2, 2, 2, 2]
    """
    options = options or LandscapeOptions()
    beta = check_beta(beta)
    report = progress or (lambda done, total, stage: None)

    found = _fixed_points(system, beta, diagram, fixed_points, options)
    report(1, 3, "fixed points")

    points = found.fixed_points if hasattr(found, "fixed_points") else found
    scale = _state_scale(points)
    known = _PointSet(system, beta, points, options, scale)
    group = symmetry.symmetry_group(system, beta)
    counters = {"nfev": 0, "n_trajectories": 0}
    halves = _map_manifolds(known, group, options, scale, counters)
    report(2, 3, "manifolds")

    hits, basin = {}, {"n_samples": 0}
    if options.n_basin_samples and known.points:
        hits, basin = _basin_counts(known, options, scale, counters)
    report(3, 3, "basins")

    graph = _build_graph(
        system, beta, known, halves, hits, options.n_basin_samples, len(points)
    )
    return _landscape(system, graph, known, halves, basin, found, counters)


def _fixed_points(system, beta, diagram, fixed_points, options):
    if fixed_points is None:
        seeds = None if diagram is None else seeds_from_diagram(diagram, beta)
        return find_fixed_points(
            system, beta, extra_seeds=seeds, options=options.finder
        )

    points = getattr(fixed_points, "fixed_points", fixed_points)
    for point in points:
        if not math.isclose(point.beta, beta, rel_tol=1e-12):
            raise InputError(
                f"fixed_points: found at beta={point.beta!r}, not at beta={beta!r}"
            )
    return fixed_points


def _state_scale(points):
    if not points:
        return 1.0
    return 1.0 + max(float(np.max(np.abs(p.state))) for p in points)


def _landscape(system, graph, known, halves, basin, found, counters):
    unfinished = sum(h.end is None for h in halves)
    complete = getattr(found, "success", True)
    status = 1 if unfinished else (0 if complete else 2)
    n_attractors = len(_attractor_ids(graph))
    message = (
        f"{graph.number_of_nodes()} fixed points, {n_attractors} attractors; "
        f"{len(halves)} manifold halves followed, {unfinished} unfinished"
    )
    if basin.get("n_samples"):
        message += (
            f"; basins from {basin['n_samples']} samples "
            f"({basin['n_unresolved']} unresolved)"
        )
    if not complete:
        message += "; the fixed-point search may be incomplete"
    return Landscape(
        beta=known.beta,
        graph=graph,
        fixed_points=known.points,
        halves=halves,
        basin=basin,
        options=known.options,
        pattern_names=system.pattern_names,
        dimension=system.dimension,
        gradient=system.is_gradient,
        success=status == 0,
        status=status,
        message=message,
        nfev=counters["nfev"],
        n_trajectories=counters["n_trajectories"],
        n_new_fixed_points=known.n_new,
    )


# ---------------------------------------------------------------- output
def _node_record(n, data):
    return {
        "id": n,
        "state": [float(v) for v in data["state"]],
        "n_unstable": data["n_unstable"],
        "stability": data["stability"],
        "kind": data["kind"],
        "label": data["label"],
        "patterns": list(data["patterns"]),
        "energy": data["energy"],
        "basin_fraction": data["basin_fraction"],
        "basin_stderr": data["basin_stderr"],
        "eigenvalues": [[float(e.real), float(e.imag)] for e in data["eigenvalues"]],
        "coefficients": [float(c) for c in data["coefficients"]],
        "fixed_point_kind": data["fixed_point_kind"],
        "found_by": data["found_by"],
    }


def _edge_records(G):
    """Edges into attractors, and the saddle-to-saddle connections."""
    edges, connections = [], []
    for s, t, data in G.edges(data=True):
        common = {"saddle": s, "half": data["half"], "direction": data["direction"]}
        common["saddle_index"] = G.nodes[s]["n_unstable"]
        if G.nodes[t]["n_unstable"] > 0:
            connections.append({**common, "target": t})
            continue
        edges.append(
            {
                **common,
                "attractor": t,
                "barrier": data.get("barrier"),
                "connection": data["connection"],
                "via": data.get("via"),
            }
        )
    return edges, connections


def _tree_records(T):
    if T is None:
        return None
    return [
        {
            "id": n,
            "energy": data["energy"],
            "leaf": data["leaf"],
            "saddle": data.get("saddle"),
            "children": sorted(T.successors(n)),
        }
        for n, data in T.nodes(data=True)
    ]


def _landscape_dict(landscape):
    G = landscape.graph
    edges, connections = _edge_records(G)
    A = attractor_graph(G)
    return {
        "beta": landscape.beta,
        "dimension": landscape.dimension,
        "pattern_names": list(landscape.pattern_names),
        "gradient": landscape.gradient,
        "nodes": [_node_record(n, data) for n, data in G.nodes(data=True)],
        "edges": edges,
        "saddle_connections": connections,
        "unfinished": [
            {"saddle": h.saddle, "half": h.sign, "direction": h.direction}
            for h in landscape.halves
            if h.end is None
        ],
        "attractor_graph": [
            {"attractors": [a, b], **{k: d[k] for k in _JOIN_KEYS}}
            for a, b, d in A.edges(data=True)
        ],
        "disconnectivity_tree": _tree_records(disconnectivity_tree(G)),
        "basin_sampling": landscape.basin,
        "options": asdict(landscape.options),
        "success": landscape.success,
        "status": landscape.status,
        "message": landscape.message,
        "nfev": landscape.nfev,
        "n_trajectories": landscape.n_trajectories,
        "n_new_fixed_points": landscape.n_new_fixed_points,
    }


_JOIN_KEYS = ("saddle", "saddle_energy", "barrier", "n_saddles")


def catalogue_rows(landscape):
    """The catalogue of attractors, one row per attractor, for catalogue.csv.

    Returns
    -------
    header : list of str
        id, label, kind, patterns (signed 1-based numbers), energy,
        basin_fraction, basin_stderr, barrier_to_retrieval (the lowest
        E(saddle) - E(attractor) over index-1 saddles joining it directly to
        a retrieval state other than itself), joined_retrieval (their
        labels, "; "-separated), n_neighbours, then one column per pattern
        with its coefficient in the state and one per state component.
    rows : list of list
        Retrieval states first, then mixtures, then others; by energy
        within each kind.  Missing values are None.
    """
    G = landscape.graph
    A = attractor_graph(G)
    names = landscape.pattern_names
    header = [
        "id",
        "label",
        "kind",
        "patterns",
        "energy",
        "basin_fraction",
        "basin_stderr",
        "barrier_to_retrieval",
        "joined_retrieval",
        "n_neighbours",
        *(f"coefficient {name}" for name in names),
        *_state_columns(names, landscape.dimension),
    ]
    rows = [_catalogue_row(A, a) for a in sorted(A, key=lambda a: _catalogue_key(A, a))]
    return header, rows


def _state_columns(names, d):
    if d == len(names):
        return [f"overlap {name}" for name in names]
    return [f"state {k + 1}" for k in range(d)]


def _catalogue_key(A, a):
    data = A.nodes[a]
    energy = data["energy"] if data["energy"] is not None else 0.0
    return (ATTRACTOR_KINDS.index(data["kind"]), energy, data["label"])


def _catalogue_row(A, a):
    data = A.nodes[a]
    barrier, joined = _retrieval_neighbours(A, a)
    return [
        a,
        data["label"],
        data["kind"],
        " ".join(f"{p:+d}" for p in data["patterns"]),
        data["energy"],
        data["basin_fraction"],
        data["basin_stderr"],
        barrier,
        "; ".join(joined),
        A.degree[a],
        *(float(c) for c in data["coefficients"]),
        *(float(v) for v in data["state"]),
    ]


def _retrieval_neighbours(A, a):
    """Lowest barrier from a to a directly joined retrieval state, and the
    labels of those states."""
    own = A.nodes[a]["energy"]
    barriers, joined = [], []
    for b in sorted(A.neighbors(a), key=lambda b: _pattern_order(A.nodes[b])):
        if A.nodes[b]["kind"] != "retrieval":
            continue
        joined.append(A.nodes[b]["label"])
        top = A.edges[a, b]["saddle_energy"]
        if top is not None and own is not None:
            barriers.append(top - own)
    return (min(barriers) if barriers else None), joined


def _pattern_order(data):
    patterns = data["patterns"] or (0,)
    return abs(patterns[0]), -patterns[0]


def write_graphml(landscape, path):
    """Write the landscape graph as GraphML, atomically.

    GraphML holds only scalars: state, patterns, coefficients and
    eigenvalues become JSON strings, and attributes that are None are left
    out.

    Parameters
    ----------
    landscape : Landscape
    path : str or path-like
    """
    from hopdyn.io import atomic_path

    G = landscape.graph
    H = nx.MultiDiGraph(
        beta=landscape.beta,
        gradient=landscape.gradient,
        pattern_names=json.dumps(list(landscape.pattern_names)),
    )
    for n, data in G.nodes(data=True):
        H.add_node(n, **_graphml_attributes(data))
    for s, t, key, data in G.edges(keys=True, data=True):
        H.add_edge(s, t, key=key, **_graphml_attributes(data))

    with atomic_path(path) as tmp:
        nx.write_graphml(H, tmp)


def _graphml_attributes(data):
    out = {}
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, (np.ndarray, list, tuple)):
            out[key] = json.dumps(_plain(np.asarray(value)))
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def _plain(array):
    if np.iscomplexobj(array):
        return [[float(v.real), float(v.imag)] for v in array.ravel()]
    return array.tolist()


# ---------------------------------------------------------------- sweep
@dataclass
class AttractorTrack:
    """One attractor followed across beta.

    Attributes
    ----------
    id : int
    family : str
        "retrieval", "<n>-mixture" or "other", from where it appeared.
    betas, labels, kinds : list
        Each beta of the sweep at which it is an attractor, with its label
        and kind there.
    branches : list
        The id of the continuation diagram's branch it lies on at each of
        those betas (None without a diagram, or for a symmetric copy).
    states : list of ndarray
    appears, vanishes : tuple of float or None
        The betas of the sweep (before, after) between which it appeared or
        vanished; None when it is present at the first (last) beta.
    how : str
        How it vanished: "loses stability" (it continues as a saddle),
        "fold" (continuation found no nearby fixed point), "merges" (it
        continued onto an attractor already followed), or "".
    """

    id: int
    family: str
    betas: list = field(default_factory=list)
    states: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    kinds: list = field(default_factory=list)
    branches: list = field(default_factory=list)
    appears: tuple | None = None
    vanishes: tuple | None = None
    how: str = ""

    def to_dict(self) -> dict:
        out = asdict(self)
        out["states"] = [[float(v) for v in s] for s in self.states]
        return out


@dataclass(eq=False)
class LandscapeSweep(Result):
    """Attractors counted by kind and followed across beta.

    Attributes
    ----------
    betas : ndarray, shape (B,)
    counts : dict of str to ndarray of int
        Attractors of each kind (retrieval, mixture, other) at each beta.
    family_counts : dict of str to ndarray of int
        The same by family ("retrieval", "3-mixture", ...).
    tracks : list of AttractorTrack
    landscapes : list of Landscape or None
        The landscape at each beta, when asked for.
    n_added : int
        Attractors the finder missed that continuation found.
    success, status, message
        ``status`` 2 when the fixed-point search at some beta may be
        incomplete; ``incomplete`` lists those betas.
    """

    betas: np.ndarray
    counts: dict
    family_counts: dict
    tracks: list
    landscapes: list | None
    success: bool
    status: int
    message: str
    n_added: int = 0
    incomplete: list = field(default_factory=list)

    def count_rows(self):
        """(header, rows): beta and the number of attractors of each kind."""
        header = ["beta", *ATTRACTOR_KINDS, "total"]
        rows = []
        for i, beta in enumerate(self.betas):
            counts = [int(self.counts[k][i]) for k in ATTRACTOR_KINDS]
            rows.append([float(beta), *counts, sum(counts)])
        return header, rows

    def event_rows(self):
        """(header, rows): where each family of attractors appears or
        vanishes, bracketed by consecutive betas of the sweep, with how
        many attractors do so there."""
        header = ["family", "event", "beta_before", "beta_after", "count", "how"]
        events = {}
        for track in self.tracks:
            for event, bracket, how in _track_events(track):
                key = (track.family, event, *bracket, how)
                events[key] = events.get(key, 0) + 1
        rows = [[f, e, lo, hi, n, how] for (f, e, lo, hi, how), n in events.items()]
        rows.sort(key=lambda r: (min(r[2], r[3]), r[0], r[1]))
        return header, rows

    def to_dict(self) -> dict:
        header, events = self.event_rows()
        return {
            "betas": [float(b) for b in self.betas],
            "counts": {k: [int(c) for c in v] for k, v in self.counts.items()},
            "family_counts": {
                k: [int(c) for c in v] for k, v in self.family_counts.items()
            },
            "events": [dict(zip(header, row, strict=True)) for row in events],
            "tracks": [t.to_dict() for t in self.tracks],
            "n_added": self.n_added,
            "incomplete": self.incomplete,
            "success": self.success,
            "status": self.status,
            "message": self.message,
        }


def _track_events(track):
    if track.appears is not None:
        yield "appears", track.appears, ""
    if track.vanishes is not None:
        yield "vanishes", track.vanishes, track.how


def _family(kind, patterns):
    if kind == "mixture":
        return f"{len(patterns)}-mixture"
    return kind


def landscape_sweep(
    system,
    betas,
    *,
    diagram=None,
    options=None,
    landscapes=False,
    progress=None,
) -> LandscapeSweep:
    """Count the attractors of each kind across beta and follow each one.

    Parameters
    ----------
    system : ReducedSystem
    betas : array_like, shape (B,)
        Strictly increasing or strictly decreasing, every beta > 0.
    diagram : Diagram or mapping, optional
        Seeds the fixed-point finder at each beta (`seeds_from_diagram`),
        and matches attractors from one beta to the next through its
        branches (`branch_at`).
    options : LandscapeOptions, optional
    landscapes : bool
        Also build the full landscape at each beta (slower).
    progress : callable, optional
        ``progress(done, total, stage)`` after each beta.

    Returns
    -------
    LandscapeSweep

    Notes
    -----
    With a diagram, an attractor at beta_i lying on a branch is matched to
    the one attractor at beta_{i+1} on the same branch.  Otherwise it is
    followed by natural-parameter continuation: an Euler predictor along
    dx/dbeta = -J^-1 df/dbeta and a Newton corrector, halving the step
    when Newton fails or jumps; the state it reaches is matched to the
    attractors found there.  Events are
    bracketed by consecutive betas of the sweep, not located more finely.

    Examples
    --------
    >>> import numpy as np
    >>> from hopdyn.models import ModernModel
    >>> from hopdyn.patterns import PatternSet
    >>> from hopdyn.symbolic import reduce
    >>> system = reduce(ModernModel(PatternSet.from_array(np.eye(3))))
    >>> sweep = landscape_sweep(system, [2.8, 3.2])
    >>> sweep.counts["mixture"].tolist()
    [1, 0]
    """
    options = options or LandscapeOptions()
    betas = _check_betas(betas)
    report = progress or (lambda done, total, stage: None)

    state = _SweepState(system, options, diagram)
    for i, beta in enumerate(betas):
        result = _fixed_points(system, beta, diagram, None, options)
        state.step(beta, result)
        if landscapes:
            state.landscapes.append(
                build_landscape(system, beta, options=options, fixed_points=result)
            )
        report(i + 1, len(betas), f"beta={beta:g}")
    return state.result(betas, landscapes)


def _check_betas(betas):
    try:
        values = np.asarray(betas, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"betas must be numbers, got {betas!r}") from None
    if values.ndim != 1 or len(values) == 0:
        raise InputError(f"betas must be a non-empty list, got shape {values.shape}")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise InputError(f"betas must all be finite numbers > 0, got {values.tolist()}")
    steps = np.diff(values)
    if len(values) > 1 and not (np.all(steps > 0) or np.all(steps < 0)):
        raise InputError("betas must be strictly increasing or strictly decreasing")
    return values


class _SweepState:
    """The tracks followed so far and the attractors found at each beta."""

    def __init__(self, system, options, diagram=None):
        self.system, self.options, self.diagram = system, options, diagram
        self.tracks, self.active = [], []
        self.landscapes, self.found = [], []
        self.incomplete, self.n_added = [], 0
        self.previous = None

    def step(self, beta, result):
        attractors = [p for p in result.fixed_points if p.n_unstable == 0]
        if not getattr(result, "success", True):
            self.incomplete.append(float(beta))

        scale = _state_scale(result.fixed_points)
        branches = self._branches(beta, attractors, scale)
        claimed = {}
        if self.previous is not None:
            claimed = self._advance(beta, attractors, scale, branches)
        for j, point in enumerate(attractors):
            track = claimed.get(j) or self._new_track(point, beta)
            _record(track, point, branches[j] if j < len(branches) else None)
            claimed[j] = track

        self.active = list(claimed.values())
        self.found.append(attractors)
        self.previous = float(beta)

    def _new_track(self, point, beta):
        kind = _KIND_OF.get(point.kind, "other")
        track = AttractorTrack(len(self.tracks), _family(kind, point.patterns))
        if self.previous is not None:
            track.appears = (self.previous, float(beta))
        self.tracks.append(track)
        return track

    def _branches(self, beta, attractors, scale):
        """The diagram branch of each attractor (None without a diagram)."""
        if self.diagram is None:
            return [None] * len(attractors)
        # Branch samples are up to ds_max apart: linear interpolation between
        # them is good to a few per cent of the state's scale, not to
        # match_tol.
        tol = max(self.options.match_tol, BRANCH_TOL) * scale
        return [branch_at(self.diagram, beta, p.state, tol) for p in attractors]

    def _advance(self, beta, attractors, scale, branches):
        """Continue every active track to beta; returns {attractor: track}.

        A track on a diagram branch is matched through that branch when
        exactly one attractor at beta lies on it; otherwise (no diagram, a
        symmetric copy the diagram does not store) it is continued."""
        claimed = {}
        for track in self.active:
            j, how = self._on_same_branch(track, branches)
            if j is None:
                j, how = self._continue(track, beta, attractors, scale)
            if j is not None and j in claimed:
                j, how = None, "merges"
            if j is None:
                track.vanishes, track.how = (self.previous, float(beta)), how
                continue
            claimed[j] = track
        return claimed

    @staticmethod
    def _on_same_branch(track, branches):
        last = track.branches[-1] if track.branches else None
        on_it = [j for j, b in enumerate(branches) if last is not None and b == last]
        return (on_it[0], "") if len(on_it) == 1 else (None, "")

    def _continue(self, track, beta, attractors, scale):
        """Index of the attractor the track continues onto, or (None, how)."""
        newton_options = self.options.newton_options
        state, ok = _continue_state(
            self.system, track.states[-1], self.previous, beta, scale, newton_options
        )
        if not ok:
            return None, "fold"

        states = np.array([p.state for p in attractors]).reshape(-1, len(state))
        if len(states):
            distance = np.linalg.norm(states - state, axis=1)
            if distance.min() <= self.options.match_tol * scale:
                return int(np.argmin(distance)), ""

        point = classify(self.system, state, beta, newton_options.eig_tol)
        if point.n_unstable > 0:
            return None, "loses stability"
        attractors.append(point)
        self.n_added += 1
        logger.info("continuation found a missed attractor: %s", point.label)
        return len(attractors) - 1, ""

    def result(self, betas, with_landscapes):
        counts = {k: np.zeros(len(betas), dtype=int) for k in ATTRACTOR_KINDS}
        families = {}
        for i, attractors in enumerate(self.found):
            for point in attractors:
                kind = _KIND_OF.get(point.kind, "other")
                counts[kind][i] += 1
                family = families.setdefault(
                    _family(kind, point.patterns), np.zeros(len(betas), dtype=int)
                )
                family[i] += 1

        status = 2 if self.incomplete else 0
        message = (
            f"{len(self.tracks)} attractors followed over {len(betas)} values of "
            f"beta; at most {max(map(len, self.found))} at once"
        )
        if self.incomplete:
            count = len(self.incomplete)
            message += f"; the fixed-point search may be incomplete at {count} betas"
        return LandscapeSweep(
            betas=betas,
            counts=counts,
            family_counts=families,
            tracks=self.tracks,
            landscapes=self.landscapes if with_landscapes else None,
            success=status == 0,
            status=status,
            message=message,
            n_added=self.n_added,
            incomplete=self.incomplete,
        )


def _record(track, point, branch=None):
    kind = _KIND_OF.get(point.kind, "other")
    track.branches.append(branch)
    track.betas.append(float(point.beta))
    track.states.append(np.asarray(point.state, dtype=float))
    track.labels.append(point.label)
    track.kinds.append(kind)


def _tangent(system, state, beta):
    """dx/dbeta along the branch of fixed points through state."""
    J = system.jac(state, beta)
    rhs = system.dfdbeta(state, beta)
    try:
        return -np.linalg.solve(J, rhs)
    except np.linalg.LinAlgError:
        return -np.linalg.lstsq(J, rhs, rcond=None)[0]


def _continue_state(system, state, beta0, beta1, scale, options, max_steps=200):
    """Follow a fixed point from beta0 to beta1 by predictor-corrector steps.

    Returns the state at beta1 and whether it got there; a step that Newton
    cannot correct (or that jumps further than 5% of the scale) is halved,
    and one below 1e-9 of the interval means the branch ends (a fold).
    """
    x, beta = np.asarray(state, dtype=float), float(beta0)
    h = beta1 - beta0
    smallest = 1e-9 * abs(beta1 - beta0)
    for _ in range(max_steps):
        remaining = beta1 - beta
        if remaining == 0:
            return x, True
        h = math.copysign(min(abs(h), abs(remaining)), remaining)
        target = beta1 if h == remaining else beta + h
        guess = x + (target - beta) * _tangent(system, x, beta)
        roots, ok = newton(system, guess[None], target, options=options)
        if ok[0] and np.linalg.norm(roots[0] - guess) <= 0.05 * scale:
            x, beta, h = roots[0], target, 2 * h
        elif abs(h) / 2 < smallest:
            return x, False
        else:
            h /= 2
    return x, beta == beta1
