"""Finding, classifying and labelling every fixed point at one beta.

The finder runs Newton's method on many seeds at once (the field and the
Jacobian are vectorised over states):

1. structured seeds: every pattern with either sign, signed mixtures of two
   to K patterns at several amplitudes, the origin or uniform state, plus
   random seeds in the box those seeds span;
2. plain damped Newton from every seed; converged states are deduplicated;
3. rounds of *deflated* Newton (Farrell, Birkisson and Funke 2015,
   doi:10.1137/140984798) from the same seeds: the residual is multiplied by
   prod_i (|x - r_i|^-p + shift) over the known roots r_i, so that Newton
   cannot return to them and must find new roots or fail;
4. new roots are polished with plain Newton and deduplicated;
5. the orbit of every root under the symmetries of the system (signed
   permutations of the patterns that commute with the field, found
   numerically by `hopdyn.symmetry`) is added, so that symmetric models come
   out complete once one member of each orbit is found;
6. every root is classified by the eigenvalues of the Jacobian.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from hopdyn import symmetry
from hopdyn.errors import InputError
from hopdyn.models.base import check_beta
from hopdyn.results import Result

__all__ = [
    "FinderOptions",
    "FixedPoint",
    "FixedPointResult",
    "classify",
    "find_fixed_points",
    "label_state",
    "newton",
]

logger = logging.getLogger(__name__)

STABILITIES = ("attractor", "saddle", "repeller")
KINDS = ("retrieval", "mixture", "origin", "uniform", "other")

# Deflated rounds restart from a random subset of the seeds: the plain round
# already used them all, and deflation only has to push past known roots.
DEFLATION_SEEDS = 400


@dataclass(frozen=True)
class FinderOptions:
    """Options of `find_fixed_points`.

    Attributes
    ----------
    n_random : int
        Random seeds added to the structured ones.
    max_structured : int
        Cap on structured seeds; beyond it mixtures are subsampled.
    tol : float
        Residual |f| below which Newton may stop ...
    xtol : float
        ... provided its next step is also below xtol (1 + |x|): near a
        degenerate root (a pitchfork point) the residual is tiny long
        before the state is close to the root.
    max_iter : int
        Newton iterations per round.
    dedupe_tol : float
        States closer than this (relative to 1 + |x|) are the same point.
    deflation_rounds : int
        Rounds of deflated Newton after the plain one (stops early when a
        round finds nothing new).
    deflation_power, deflation_shift : float
        p and shift of the deflation operator.
    eig_tol : float
        Eigenvalues with |Re| below this count as zero (not unstable).
    seed : int
        Seed of the random seeds.
    """

    n_random: int = 200
    max_structured: int = 3000
    tol: float = 1e-11
    xtol: float = 1e-9
    max_iter: int = 60
    dedupe_tol: float = 1e-6
    deflation_rounds: int = 5
    deflation_power: float = 2.0
    deflation_shift: float = 1.0
    eig_tol: float = 1e-9
    seed: int = 0

    def __post_init__(self):
        for name in ("n_random", "max_structured", "max_iter", "deflation_rounds"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 0:
                raise InputError(f"{name} must be an integer >= 0, got {value!r}")
        for name in ("tol", "xtol", "dedupe_tol", "deflation_power", "eig_tol"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise InputError(f"{name} must be a finite number > 0, got {value!r}")


@dataclass
class FixedPoint:
    """One fixed point with its stability and label.

    ``eigenvalues`` are those of the reduced Jacobian, sorted by decreasing
    real part; ``n_zero`` counts those with |Re| <= eig_tol (a degenerate
    point: its stability is then decided by higher-order terms).
    ``patterns`` lists the signed 1-based pattern numbers it is built from.
    """

    state: np.ndarray
    beta: float
    eigenvalues: np.ndarray
    n_unstable: int
    n_zero: int
    stability: str
    label: str
    kind: str
    patterns: tuple
    energy: float | None
    residual: float

    def to_dict(self) -> dict:
        out = asdict(self)
        out["state"] = [float(v) for v in self.state]
        out["eigenvalues"] = [[float(e.real), float(e.imag)] for e in self.eigenvalues]
        out["patterns"] = list(self.patterns)
        return out


@dataclass(eq=False)
class FixedPointResult(Result):
    """All fixed points found at one beta, with the search's bookkeeping."""

    beta: float
    dimension: int
    fixed_points: list
    success: bool
    status: int
    message: str
    n_seeds: int
    n_rounds: int
    counts: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "beta": self.beta,
            "dimension": self.dimension,
            "fixed_points": [p.to_dict() for p in self.fixed_points],
            "n_seeds": self.n_seeds,
            "n_rounds": self.n_rounds,
            "success": self.success,
            "message": self.message,
        }


# ---------------------------------------------------------------- seeds
def _signed_mixtures(K, max_count, rng):
    """Coefficient vectors of signed mixtures (also with half weights, while
    they are few), subsampled past max_count."""
    levels = (1.0, -1.0, 0.5, -0.5, 0.0) if 5**K <= 4 * max_count else (1, -1, 0)
    vectors = []
    for c in itertools.product(levels, repeat=K):
        if np.any(np.abs(c) == 1.0):
            vectors.append(c)
        if len(vectors) > 20 * max_count:
            break
    vectors = np.array(vectors, dtype=float)
    if len(vectors) > max_count:
        keep = rng.choice(len(vectors), size=max_count, replace=False)
        vectors = vectors[np.sort(keep)]
    return vectors


def _subset_mixtures(K, max_count, rng):
    """Softmax-weight vectors uniform on each subset of patterns."""
    vectors = []
    for size in range(1, K + 1):
        for subset in itertools.combinations(range(K), size):
            p = np.zeros(K)
            p[list(subset)] = 1.0 / size
            vectors.append(p)
    vectors = np.array(vectors)
    if len(vectors) > max_count:
        keep = rng.choice(len(vectors), size=max_count, replace=False)
        vectors = vectors[np.sort(keep)]
    return vectors


def structured_seeds(system, beta, max_count=3000, rng=None):
    """Seeds built from the patterns: retrieval, mixtures, origin/uniform.

    Returns an array of shape (M, dimension).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    K = system.n_patterns
    if system.signed:
        directions = _signed_mixtures(K, max_count // 4, rng)
        norms = np.abs(directions).sum(axis=1, keepdims=True)
        amplitudes = (1.0, 0.5, 0.2, 0.05)
        coefficients = [directions * a * np.sqrt(1.0 / norms) for a in amplitudes]
        coefficients.append(np.zeros((1, K)))
    else:
        mixtures = _subset_mixtures(K, max_count // 3, rng)
        uniform = np.full(K, 1.0 / K)
        coefficients = [t * mixtures + (1 - t) * uniform for t in (1.0, 0.6, 0.25)]
        coefficients.append(uniform[None, :])
    return system.from_coefficients(np.concatenate(coefficients), beta)


def _random_seeds(structured, n, rng):
    low, high = structured.min(axis=0), structured.max(axis=0)
    span = np.maximum(high - low, 1e-3)
    return low - 0.1 * span + 1.2 * span * rng.random((n, structured.shape[1]))


# ---------------------------------------------------------------- Newton
def _solve(J, F):
    """Newton steps -J^-1 F for a stack; singular systems use least squares."""
    try:
        return -np.linalg.solve(J, F[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return -np.einsum("...ij,...j->...i", np.linalg.pinv(J), F)


def _deflation(X, known, power, shift, gradient=True):
    """log M(X) and (optionally) its gradient, per state.

    Written with dist^p rather than dist^-p so that nothing overflows when a
    state sits on a known root; distances come from one matrix product.
    """
    if len(known) == 0:
        return np.zeros(len(X)), np.zeros_like(X)
    squared = (
        np.sum(X**2, axis=1)[:, None]
        + np.sum(known**2, axis=1)[None, :]
        - 2.0 * X @ known.T
    )
    squared = np.maximum(squared, 1e-300)
    near = shift * squared ** (power / 2)
    log_m = np.sum(-0.5 * power * np.log(squared) + np.log1p(near), axis=1)
    if not gradient:
        return log_m, None
    weight = -power / (squared * (1.0 + near))
    return log_m, X * weight.sum(axis=1)[:, None] - weight @ known


def _merit(system, X, beta, known, options):
    residual = np.linalg.norm(system.fun(X, beta), axis=-1)
    log_m, _ = _deflation(
        X, known, options.deflation_power, options.deflation_shift, gradient=False
    )
    with np.errstate(over="ignore"):
        return residual * np.exp(np.minimum(log_m, 700.0))


def newton(system, states, beta, known=None, options=None):
    """Damped, optionally deflated, Newton iteration on many states at once.

    Parameters
    ----------
    system : ReducedSystem
    states : ndarray, shape (M, d)
        Initial guesses.
    beta : float
    known : ndarray, shape (R, d), optional
        Roots to deflate.
    options : FinderOptions, optional

    Returns
    -------
    states : ndarray, shape (M, d)
    converged : ndarray of bool, shape (M,)
    """
    options = options or FinderOptions()
    known = np.zeros((0, system.dimension)) if known is None else np.asarray(known)
    X = np.array(states, dtype=float, copy=True)
    converged = np.zeros(len(X), dtype=bool)
    active = np.ones(len(X), dtype=bool)

    for _ in range(options.max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        X[idx], finished, failed = _newton_step(system, X[idx], beta, known, options)
        converged[idx[finished]] = True
        active[idx[finished | failed]] = False

    return X, converged


def _newton_step(system, X, beta, known, options):
    F = system.fun(X, beta)
    step = _solve(system.jac(X, beta), F)
    small = np.linalg.norm(step, axis=-1) <= options.xtol * (
        1.0 + np.linalg.norm(X, axis=-1)
    )
    finished = (np.linalg.norm(F, axis=-1) <= options.tol) & small

    if len(known):
        _, grad = _deflation(X, known, options.deflation_power, options.deflation_shift)
        denominator = 1.0 - np.einsum("ij,ij->i", grad, step)
        safe = np.where(np.abs(denominator) < 1e-12, 1e-12, denominator)
        step = step / safe[:, None]

    limit = 1.0 + np.linalg.norm(X, axis=-1, keepdims=True)
    step_norm = np.linalg.norm(step, axis=-1, keepdims=True)
    step *= np.minimum(1.0, limit / np.maximum(step_norm, 1e-300))

    new_X = _backtrack(system, X, step, beta, known, options)
    new_X[finished] = X[finished]
    failed = ~np.all(np.isfinite(new_X), axis=-1) | (
        np.linalg.norm(new_X, axis=-1) > 1e8
    )
    new_X[failed] = X[failed]
    return new_X, finished, failed & ~finished


def _backtrack(system, X, step, beta, known, options):
    """Largest of a few step fractions that lowers the (deflated) residual."""
    current = _merit(system, X, beta, known, options)
    chosen = X + step / 16.0
    accepted = np.zeros(len(X), dtype=bool)
    for fraction in (1.0, 0.5, 0.25, 0.125):
        trial = X + fraction * step
        with np.errstate(invalid="ignore", over="ignore"):
            better = _merit(system, trial, beta, known, options) < current
        take = better & ~accepted
        chosen[take] = trial[take]
        accepted |= better
    return chosen


# ---------------------------------------------------------------- dedupe
def deduplicate(states, tol=1e-6):
    """Keep one representative of each cluster of states closer than tol."""
    states = np.asarray(states, dtype=float)
    return states[symmetry.deduplicate(states, tol)]


def _new_roots(candidates, known, tol):
    """Distinct candidates that are not within tol of a known root."""
    candidates = deduplicate(candidates, tol)
    if len(known) == 0 or len(candidates) == 0:
        return candidates
    scale = tol * (1.0 + np.linalg.norm(np.concatenate([candidates, known]), axis=1))
    distance, _ = cKDTree(known).query(candidates)
    return candidates[distance > scale.max()]


# ---------------------------------------------------------------- labels
def _signed_name(k, sign, names, signed):
    prefix = ("+" if sign > 0 else "-") if signed else ""
    return prefix + names[k]


def label_state(system, state, beta, participation=0.2, negligible=0.05):
    """Label a state by the patterns that take part in it.

    Returns
    -------
    label : str
        "+name" / "-name" for a retrieval state (unsigned names for softmax
        models), "mix(+a, -b, ...)" for a mixture, "origin", "uniform", or
        "other(...)".
    kind : str
        One of "retrieval", "mixture", "origin", "uniform", "other".
    patterns : tuple of int
        Signed 1-based numbers of the participating patterns.

    Notes
    -----
    Participation is read from ``system.coefficients``.  For classical
    models these are the least-squares pattern coefficients of the state; a
    pattern takes part when its coefficient is at least ``participation``
    times the largest, and a state with a coefficient between ``negligible``
    and ``participation`` times the largest is neither clean retrieval nor
    mixture: it is labelled "other".  For modern models they are the
    softmax weights, which are never zero; the patterns taking part are
    those above the largest gap between the sorted weights, and when they
    hold less than half of the total weight the state is diffuse: "other".
    """
    c = np.asarray(system.coefficients(state, beta), dtype=float)
    names = system.pattern_names
    # 1e-6, not round-off: at a degenerate branch point Newton reaches the
    # origin only to about the cube root of its tolerance.
    if system.signed and np.linalg.norm(state) <= 1e-6:
        return "origin", "origin", ()
    if not system.signed and len(c) > 1 and np.ptp(c) <= 1e-3 * np.max(c):
        return "uniform", "uniform", tuple(range(1, len(c) + 1))

    if system.signed:
        ratio = np.abs(c) / max(np.max(np.abs(c)), 1e-300)
        taking_part = np.flatnonzero(ratio >= participation)
        gray = np.any((ratio > negligible) & (ratio < participation))
    else:
        # A leading group holding less than half of the weight is a diffuse
        # state, not a clean retrieval or mixture of that group.
        taking_part = _above_largest_gap(c)
        gray = float(np.sum(c[taking_part])) < 0.5
    patterns = tuple(int(np.sign(c[k]) or 1) * (int(k) + 1) for k in taking_part)
    parts = [_signed_name(k, c[k], names, system.signed) for k in taking_part]
    if gray:
        return f"other({', '.join(parts)})", "other", patterns
    if len(parts) == 1:
        return parts[0], "retrieval", patterns
    return f"mix({', '.join(parts)})", "mixture", patterns


def _above_largest_gap(weights):
    """Indices of the softmax weights above the largest gap between sorted
    weights (zero counts as the last weight)."""
    order = np.argsort(-weights, kind="stable")
    ranked = np.append(weights[order], 0.0)
    cut = int(np.argmax(-np.diff(ranked))) + 1
    return np.sort(order[:cut])


def _stability(n_unstable, dimension):
    if n_unstable == 0:
        return "attractor"
    return "repeller" if n_unstable == dimension else "saddle"


def classify(system, state, beta, eig_tol=1e-9) -> FixedPoint:
    """Eigenvalues, stability, label and energy of one fixed point."""
    state = np.asarray(state, dtype=float)
    eigenvalues = np.linalg.eigvals(system.jac(state, beta))
    eigenvalues = eigenvalues[np.argsort(-eigenvalues.real, kind="stable")]
    n_unstable = int(np.sum(eigenvalues.real > eig_tol))
    n_zero = int(np.sum(np.abs(eigenvalues.real) <= eig_tol))
    label, kind, patterns = label_state(system, state, beta)
    energy = None if system.energy is None else float(system.energy(state, beta))
    return FixedPoint(
        state=state,
        beta=float(beta),
        eigenvalues=eigenvalues,
        n_unstable=n_unstable,
        n_zero=n_zero,
        stability=_stability(n_unstable, system.dimension),
        label=label,
        kind=kind,
        patterns=patterns,
        energy=energy,
        residual=float(np.linalg.norm(system.fun(state, beta))),
    )


# ---------------------------------------------------------------- driver
def find_fixed_points(system, beta, *, extra_seeds=None, options=None):
    """Find every fixed point of a reduced system at one beta.

    Parameters
    ----------
    system : ReducedSystem
        From `hopdyn.symbolic.reduce`.
    beta : float
        Inverse temperature, > 0.
    extra_seeds : array_like, shape (M, d), optional
        More starting states (for example points of a continuation diagram).
    options : FinderOptions, optional

    Returns
    -------
    FixedPointResult
        ``fixed_points`` sorted by stability then energy; ``success`` is
        false when the last deflation round still found new roots (the
        search may be incomplete).

    Examples
    --------
    >>> from hopdyn.models import MeanFieldModel
    >>> from hopdyn.symbolic import reduce
    >>> result = find_fixed_points(reduce(MeanFieldModel(2)), beta=2.0)
    >>> len(result.fixed_points)  # origin, 4 retrieval, 4 mixtures
    9
    """
    options = options or FinderOptions()
    beta = check_beta(beta)
    seeds = _all_seeds(system, beta, extra_seeds, options)

    states, ok = newton(system, seeds, beta, options=options)
    roots = deduplicate(states[ok], options.dedupe_tol)
    rounds, grew = 0, options.deflation_rounds > 0
    while grew and rounds < options.deflation_rounds:
        roots, grew = _deflation_round(system, seeds, beta, roots, options)
        rounds += 1

    roots = _complete_orbits(system, beta, roots, options)
    points = [classify(system, r, beta, options.eig_tol) for r in roots]
    points.sort(key=_sort_key)
    return _result(system, beta, points, len(seeds), rounds, grew)


def _all_seeds(system, beta, extra_seeds, options):
    rng = np.random.default_rng(options.seed)
    structured = structured_seeds(system, beta, options.max_structured, rng)
    parts = [structured, _random_seeds(structured, options.n_random, rng)]
    if extra_seeds is not None and len(extra_seeds):
        parts.append(np.asarray(extra_seeds, dtype=float).reshape(-1, system.dimension))
    return np.concatenate(parts)


def _deflation_round(system, seeds, beta, roots, options):
    """One round of deflated Newton; returns the enlarged root set."""
    known = roots if len(roots) else np.zeros((0, system.dimension))
    rng = np.random.default_rng(options.seed + len(known))
    if len(seeds) > DEFLATION_SEEDS:
        seeds = seeds[rng.choice(len(seeds), DEFLATION_SEEDS, replace=False)]
    states, ok = newton(system, seeds, beta, known=known, options=options)
    fresh = _new_roots(states[ok], known, options.dedupe_tol)
    if len(fresh) == 0:
        return roots, False

    polished, ok = newton(system, fresh, beta, options=options)
    fresh = _new_roots(polished[ok], known, options.dedupe_tol)
    logger.debug("deflation found %d new fixed points at beta=%g", len(fresh), beta)
    if len(fresh) == 0:
        return roots, False
    return np.concatenate([known, fresh]), True


def _complete_orbits(system, beta, roots, options):
    """Add the images of every root under the symmetries of the system."""
    group = symmetry.symmetry_group(system, beta)
    if len(group) == 1 or len(roots) == 0:
        return roots
    images = symmetry.apply(group, roots).reshape(-1, system.dimension)
    fresh = _new_roots(images, roots, options.dedupe_tol)
    if len(fresh) == 0:
        return roots
    polished, ok = newton(system, fresh, beta, options=options)
    fresh = _new_roots(polished[ok], roots, options.dedupe_tol)
    logger.debug("symmetry added %d fixed points at beta=%g", len(fresh), beta)
    return np.concatenate([roots, fresh]) if len(fresh) else roots


def _sort_key(point):
    order = STABILITIES.index(point.stability)
    energy = point.energy if point.energy is not None else 0.0
    return (order, point.n_unstable, energy, point.label)


def _result(system, beta, points, n_seeds, rounds, grew):
    counts = {s: sum(p.stability == s for p in points) for s in STABILITIES}
    message = (
        f"{len(points)} fixed points ({counts['attractor']} attractors, "
        f"{counts['saddle']} saddles, {counts['repeller']} repellers)"
    )
    if grew:
        message += "; the last deflation round still found new points"
    return FixedPointResult(
        beta=float(beta),
        dimension=system.dimension,
        fixed_points=points,
        success=not grew,
        status=0 if not grew else 1,
        message=message,
        n_seeds=n_seeds,
        n_rounds=rounds,
        counts=counts,
    )
