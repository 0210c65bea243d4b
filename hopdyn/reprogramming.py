"""Reprogramming: the smallest production pulse that switches cell type.

In the enhancer-selection (modern) model every cell type is an attractor. A
transient production of a few genes tilts the landscape for a while; once
the pulse ends, the state relaxes into whichever attractor's basin it was
left in. `find_reprogramming_pulse` searches for the fewest genes, and then
the weakest production, that carry the state from a source cell type into a
target cell type:

1. find every fixed point at the given beta (`find_fixed_points`) and pick
   the retrieval attractors of the source and the target;
2. rank the genes by how much more the target expresses them than the
   source does, X[target] - X[source] (the target's marker genes);
3. for n = 1, ..., max_genes, pulse the n top-ranked genes at each strength
   of an increasing grid, integrating the reduced (K-dimensional) dynamics
   from the source attractor through the pulse and t_settle beyond it; stop
   at the first n with a strength that ends in the target attractor;
4. bisect the strength between the last failing and the first working
   value of the grid, to a relative precision `rtol`;
5. confirm the pulse found with the full N-dimensional dynamics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from hopdyn.errors import InputError
from hopdyn.fixed_points import find_fixed_points
from hopdyn.models import softmax
from hopdyn.models.base import check_beta
from hopdyn.results import Result
from hopdyn.simulate import Pulse, simulate
from hopdyn.symbolic import reduce

__all__ = ["DEFAULT_STRENGTHS", "ReprogrammingResult", "find_reprogramming_pulse"]

logger = logging.getLogger(__name__)

# Production strengths tried before bisection: 13 values, evenly spaced on a
# log scale from 0.01 to 10 (each 1.78 times the previous one).
DEFAULT_STRENGTHS = tuple(float(s) for s in np.geomspace(0.01, 10.0, 13))

# A stable source attractor fails at strength 0, so bisection always meets a
# failing strength; the cap only guards against a threshold lost in rounding.
_MAX_BISECTIONS = 60

STATUS_MESSAGES = {
    0: "the pulse moves {source} to {target} in the full dynamics",
    1: "no pulse of up to {max_genes} genes with strength up to {top:g} "
    "moves {source} to {target}",
    2: "{missing} is not an attractor at beta={beta:g}",
    3: "the pulse works in the reduced dynamics, but the full dynamics end "
    "in {final} instead of {target}",
}


@dataclass(eq=False, repr=False)
class ReprogrammingResult(Result):
    """Outcome of `find_reprogramming_pulse`; also readable as a mapping.

    Attributes
    ----------
    success : bool
        True when a pulse was found and the full dynamics confirmed it.
    status : int
        0: found and confirmed; 1: no gene set and strength in the search
        range works; 2: the source or the target is not an attractor at
        this beta; 3: the pulse works in the reduced dynamics but not in the
        full ones.
    message : str
        Human-readable outcome.
    source, target : str
        Names of the two cell types (patterns).
    beta : float
        Inverse temperature of the search.
    genes : tuple of str
        Names of the pulsed genes; empty when no pulse was found.
    strength : float or None
        The smallest working production per gene, to relative precision
        `rtol`: the upper end of `strength_bracket`.
    strength_bracket : tuple of float or None
        (largest strength found to fail, smallest found to work) for
        `genes`; 0 as the lower end means even the weakest grid strength
        worked and only bisection towards 0 bounds it.
    t_on, t_off, t_max : float
        The pulse window and the end of the run: ``t_off + t_settle``.
    pulse : Pulse or None
        ``Pulse(genes, strength, t_on, t_off)``, ready for `simulate`.
    x0 : ndarray, shape (N,) or None
        Full state of the source attractor, where every trial starts.
    source_attractor, target_attractor : ndarray, shape (K,) or None
        Overlaps of the two attractors.
    final_label : str or None
        Label of the fixed point nearest to the end of the full run.
    final_state : ndarray, shape (K,) or None
        Overlaps at the end of the full run.
    final_weights : ndarray, shape (K,) or None
        Softmax weights at the end of the full run.
    candidates : tuple of str
        The ranked genes the search drew its gene sets from.
    n_trials : int
        Number of reduced simulations run.
    n_full : int
        Number of full simulations run (the confirmation).
    """

    success: bool
    status: int
    message: str
    source: str
    target: str
    beta: float
    genes: tuple = ()
    strength: float | None = None
    strength_bracket: tuple | None = None
    t_on: float = 0.0
    t_off: float = 0.0
    t_max: float = 0.0
    pulse: Pulse | None = None
    x0: np.ndarray | None = None
    source_attractor: np.ndarray | None = None
    target_attractor: np.ndarray | None = None
    final_label: str | None = None
    final_state: np.ndarray | None = None
    final_weights: np.ndarray | None = None
    candidates: tuple = ()
    n_trials: int = 0
    n_full: int = 0

    def __repr__(self):
        found = f"genes={self.genes}, strength={self.strength}" if self.genes else ""
        return (
            f"ReprogrammingResult({self.source!r} -> {self.target!r}, "
            f"status={self.status}, {found + ', ' if found else ''}"
            f"message={self.message!r})"
        )


@dataclass(frozen=True)
class _SearchOptions:
    """The validated numeric options of the search."""

    max_genes: int
    strengths: tuple
    duration: float
    t_settle: float
    t_on: float
    rtol: float

    def __post_init__(self):
        if isinstance(self.max_genes, bool) or not isinstance(
            self.max_genes, (int, np.integer)
        ):
            raise InputError(f"max_genes must be an integer, got {self.max_genes!r}")
        if self.max_genes < 1:
            raise InputError(f"max_genes must be >= 1, got {self.max_genes}")

        object.__setattr__(self, "strengths", _check_strengths(self.strengths))
        for name in ("duration", "t_settle", "rtol"):
            object.__setattr__(self, name, _positive(getattr(self, name), name))
        object.__setattr__(self, "t_on", _non_negative(self.t_on, "t_on"))

    @property
    def t_off(self) -> float:
        return self.t_on + self.duration

    @property
    def t_max(self) -> float:
        return self.t_off + self.t_settle


def find_reprogramming_pulse(
    model,
    beta,
    source,
    target,
    *,
    max_genes=5,
    strengths=DEFAULT_STRENGTHS,
    duration=10.0,
    t_settle=40.0,
    t_on=5.0,
    rtol=0.02,
    candidate_genes=None,
    fixed_points=None,
) -> ReprogrammingResult:
    """Find the fewest genes, and the weakest pulse on them, that reprogram.

    Starting at the attractor of cell type `source`, a production pulse of
    equal `strength` on each of a few genes is switched on at `t_on` for
    `duration`; the search looks for the gene set and strength after which
    the state settles in the attractor of `target`.

    Parameters
    ----------
    model : ModernModel
        The network; its patterns are the cell types, its features genes.
    beta : float
        Inverse temperature, finite and > 0.
    source, target : str
        Names of two different patterns (cell types).
    max_genes : int, default 5
        Largest number of genes pulsed together, >= 1.
    strengths : sequence of float, default DEFAULT_STRENGTHS
        Production strengths tried for each gene set, in increasing order;
        finite and > 0. DEFAULT_STRENGTHS holds 13 values spaced evenly on a
        log scale from 0.01 to 10.
    duration : float, default 10.0
        Length of the pulse, > 0.
    t_settle : float, default 40.0
        Time given to the state to settle after the pulse, > 0.
    t_on : float, default 5.0
        Start of the pulse, >= 0; the run begins at the source attractor at
        t = 0.
    rtol : float, default 0.02
        Relative precision of the bisection on the strength, > 0.
    candidate_genes : sequence of str, optional
        Genes allowed in the pulse; default all features of the model.
    fixed_points : FixedPointResult, optional
        The fixed points of ``reduce(model)`` at `beta`, to reuse; default:
        found here with `find_fixed_points`.

    Returns
    -------
    ReprogrammingResult
        `genes`, `strength`, the pulse window, the outcome of the full run
        and the counters; ``success`` is false, with a `status` saying why,
        when no pulse was found or the full dynamics disagree.

    Raises
    ------
    InputError
        If `model` is not a modern model, `source` or `target` is not a
        pattern name, they are equal, a candidate gene is unknown, or a
        numeric option breaks the rules above.

    Notes
    -----
    A run "ends in" an attractor when the fixed point nearest to its final
    overlaps is that attractor. Nearness to every fixed point, saddles
    included, is asked on purpose: a run that still lingers near the saddle
    between two basins at ``t_max`` does not count as arrived.

    Gene sets are prefixes of the ranking (the 1, 2, ... best markers), not
    all subsets, and the bisection assumes that success is monotone in the
    strength between the bracketing grid values; a pulse much stronger than
    needed can overshoot into a third cell type. Make `t_settle` longer if
    the confirmation (status 3) fails near the threshold.

    Examples
    --------
    >>> from hopdyn.models import ModernModel
    >>> from hopdyn.patterns import PatternSet
    >>> values = np.kron(np.eye(3), np.ones(3)) / np.sqrt(3)
    >>> genes = [f"g{i}" for i in range(9)]
    >>> cells = PatternSet(values, ["A", "B", "C"], genes)
    >>> result = find_reprogramming_pulse(ModernModel(cells), 4.0, "A", "B")
    >>> result.success, result.genes
    (True, ('g3',))
    """
    if getattr(model, "kind", None) != "modern":
        raise InputError(f"model must be a modern model, got {model!r}")
    beta = check_beta(beta)
    source_index = _pattern_index(model, source, "source")
    target_index = _pattern_index(model, target, "target")
    if source_index == target_index:
        raise InputError(f"source and target must differ, got {source!r} twice")

    options = _SearchOptions(max_genes, strengths, duration, t_settle, t_on, rtol)
    allowed = _candidate_indices(model, candidate_genes)
    if fixed_points is None:
        fixed_points = find_fixed_points(reduce(model), beta)

    search = _Search(model, beta, source_index, target_index, fixed_points, options)
    return search.run(allowed)


class _Search:
    """The state of one search: its attractors, options and counters."""

    def __init__(self, model, beta, source, target, fixed_points, options):
        self.model = model
        self.beta = beta
        self.names = (model.pattern_names[source], model.pattern_names[target])
        self.source, self.target = source, target
        self.points = fixed_points.fixed_points
        self.options = options
        self.start = _retrieval_attractor(self.points, self.names[0])
        self.goal = _retrieval_attractor(self.points, self.names[1])
        self.candidates = ()
        self.n_trials = 0
        self.n_full = 0

    def run(self, allowed) -> ReprogrammingResult:
        if self.start is None or self.goal is None:
            missing = self.names[0] if self.start is None else self.names[1]
            return self._result(2, missing=missing)

        ranked = _rank_genes(self.model, self.source, self.target, allowed)
        self.candidates = ranked[: self.options.max_genes]
        found = self._scan()
        if found is None:
            return self._result(1)

        genes, bracket = self._bisect(*found)
        return self._confirm(genes, bracket)

    def _scan(self):
        """The first prefix of the ranking, and the grid bracket, that works."""
        for size in range(1, len(self.candidates) + 1):
            genes = self.candidates[:size]
            failed = 0.0
            for strength in self.options.strengths:
                if self._works(genes, strength):
                    return genes, (failed, strength)
                failed = strength
        return None

    def _bisect(self, genes, bracket):
        """Shrink (failing, working) until it is `rtol` wide, relatively."""
        low, high = bracket
        for _ in range(_MAX_BISECTIONS):
            if high - low <= self.options.rtol * high:
                break
            middle = 0.5 * (low + high)
            if self._works(genes, middle):
                high = middle
            else:
                low = middle
        return genes, (low, high)

    def _works(self, genes, strength) -> bool:
        """Whether the reduced run with this pulse ends in the target."""
        self.n_trials += 1
        final = self._final_overlaps(genes, strength, reduced=True)
        works = final is not None and self._nearest(final) is self.goal
        logger.debug(
            "reprogramming trial %d: %d genes at strength %.4g %s",
            self.n_trials,
            len(genes),
            strength,
            "works" if works else "fails",
        )
        return works

    def _final_overlaps(self, genes, strength, reduced):
        """Overlaps at t_max of the run from the source attractor, or None
        when the integration failed."""
        pulse = self._pulse(genes, strength)
        x0 = self.start.state if reduced else self._x0()
        run = simulate(
            self.model,
            self.beta,
            self.options.t_max,
            x0,
            reduced=reduced,
            pulse=pulse,
            n_points=2,
        )
        return run.overlaps[-1] if run.success else None

    def _confirm(self, genes, bracket) -> ReprogrammingResult:
        """Rerun the chosen pulse in the full dynamics."""
        self.n_full += 1
        final = self._final_overlaps(genes, bracket[1], reduced=False)
        nearest = None if final is None else self._nearest(final)
        status = 0 if nearest is self.goal else 3
        return self._result(
            status, genes=genes, bracket=bracket, final=final, nearest=nearest
        )

    def _nearest(self, overlaps):
        """The fixed point closest to the given overlaps."""
        distances = [np.linalg.norm(p.state - overlaps) for p in self.points]
        return self.points[int(np.argmin(distances))]

    def _pulse(self, genes, strength) -> Pulse:
        o = self.options
        return Pulse(tuple(genes), strength, t_on=o.t_on, t_off=o.t_off)

    def _x0(self):
        return self.model.lift(self.start.state, self.beta)

    def _result(
        self, status, missing=None, genes=(), bracket=None, final=None, nearest=None
    ):
        o = self.options
        source, target = self.names
        final_label = _final_label(nearest)
        message = self._message(status, missing, final_label)
        found = bracket is not None
        return ReprogrammingResult(
            success=status == 0,
            status=status,
            message=message,
            source=source,
            target=target,
            beta=self.beta,
            genes=tuple(genes),
            strength=bracket[1] if found else None,
            strength_bracket=bracket,
            t_on=o.t_on,
            t_off=o.t_off,
            t_max=o.t_max,
            pulse=self._pulse(genes, bracket[1]) if found else None,
            x0=self._x0() if missing is None else None,
            source_attractor=_state_of(self.start),
            target_attractor=_state_of(self.goal),
            final_label=final_label,
            final_state=final,
            final_weights=self._weights(final),
            candidates=tuple(self.candidates),
            n_trials=self.n_trials,
            n_full=self.n_full,
        )

    def _message(self, status, missing, final_label):
        source, target = self.names
        final = "a failed integration" if final_label is None else repr(final_label)
        return STATUS_MESSAGES[status].format(
            source=repr(source),
            target=repr(target),
            missing=repr(missing),
            beta=self.beta,
            max_genes=self.options.max_genes,
            top=self.options.strengths[-1],
            final=final,
        )

    def _weights(self, overlaps):
        if overlaps is None:
            return None
        return softmax(self.model.w + self.beta * overlaps)


def _final_label(point):
    return None if point is None else point.label


def _state_of(point):
    return None if point is None else point.state.copy()


def _retrieval_attractor(points, name):
    """The attractor that retrieves pattern `name`, or None."""
    for point in points:
        is_retrieval = point.kind == "retrieval" and point.label == name
        if is_retrieval and point.stability == "attractor":
            return point
    return None


def _rank_genes(model, source, target, allowed):
    """Names of the allowed genes that the target expresses more than the
    source, by decreasing difference (ties keep the feature order)."""
    X = model.X
    score = X[target, allowed] - X[source, allowed]
    order = np.argsort(-score, kind="stable")
    features = model.patterns.features
    return [features[allowed[k]] for k in order if score[k] > 0.0]


def _pattern_index(model, name, argument):
    names = tuple(model.pattern_names)
    if name not in names:
        valid = ", ".join(repr(n) for n in names)
        raise InputError(f"{argument}: unknown cell type {name!r}; valid: {valid}")
    return names.index(name)


def _candidate_indices(model, candidate_genes):
    """0-based indices of the genes the pulse may use."""
    features = tuple(model.patterns.features)
    if candidate_genes is None:
        return np.arange(len(features))
    if isinstance(candidate_genes, str):
        candidate_genes = (candidate_genes,)

    lookup = {name: index for index, name in enumerate(features)}
    unknown = [g for g in candidate_genes if g not in lookup]
    if unknown:
        raise InputError(f"candidate_genes: unknown genes {unknown!r}")
    if not candidate_genes:
        raise InputError("candidate_genes: must name at least one gene")
    return np.array(sorted({lookup[g] for g in candidate_genes}))


def _check_strengths(strengths):
    try:
        values = np.asarray(strengths, dtype=float)
    except (TypeError, ValueError):
        raise InputError(
            f"strengths must be a sequence of numbers, got {strengths!r}"
        ) from None
    if values.ndim != 1 or values.size == 0:
        raise InputError(f"strengths must be a non-empty sequence, got {strengths!r}")
    if not np.all(np.isfinite(values)) or np.any(values <= 0.0):
        raise InputError(f"strengths must be finite and > 0, got {strengths!r}")
    if np.any(np.diff(values) <= 0.0):
        raise InputError(f"strengths must increase, got {strengths!r}")
    return tuple(float(v) for v in values)


def _positive(value, name) -> float:
    number = _non_negative(value, name)
    if number == 0.0:
        raise InputError(f"{name} must be > 0, got {value!r}")
    return number


def _non_negative(value, name) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(number) or number < 0.0:
        raise InputError(f"{name} must be finite and >= 0, got {value!r}")
    return number
