"""Building a whole bifurcation diagram in beta with one call.

`build_diagram` works from a queue:

1. every fixed point at beta_min (found by `find_fixed_points`) seeds a
   branch, traced in both directions;
2. every branch point met on a branch is switched at (`child_points`), and
   each emerging point that is not on a known branch -- or on a symmetric
   copy of one -- seeds a new branch;
3. when the queue is empty, every fixed point at beta_max seeds a branch
   the same way (this finds branches born at folds, which no branch point
   leads to), and their branch points are switched at in turn.

Branches related by a symmetry of the system are traced once and carry
their multiplicity.  Nothing is printed; ``progress(message, n_branches)``
is called as the work advances, and logging carries the details.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from dataclasses import dataclass

import numpy as np

from hopdyn.continuation.branch import FAILED, MAX_STEPS, Approach, BranchTracer
from hopdyn.continuation.options import ContinuationOptions
from hopdyn.continuation.problem import Problem
from hopdyn.continuation.registry import Registry
from hopdyn.continuation.results import Branch, Diagram, SpecialPoint
from hopdyn.continuation.switching import child_points
from hopdyn.errors import InputError
from hopdyn.fixed_points import FinderOptions, classify, find_fixed_points
from hopdyn.symmetry import Symmetry

__all__ = ["build_diagram"]

logger = logging.getLogger(__name__)


def build_diagram(system, beta_min, beta_max, options=None, progress=None) -> Diagram:
    """Continue every branch of fixed points over [beta_min, beta_max].

    Parameters
    ----------
    system : ReducedSystem
        From `hopdyn.symbolic.reduce`, or built from callables.
    beta_min, beta_max : float
        The range of the inverse temperature, 0 < beta_min < beta_max.
    options : ContinuationOptions, optional
    progress : callable, optional
        Called as ``progress(message, n_branches)`` after each phase and
        each branch; the command line wraps a progress bar around it.

    Returns
    -------
    Diagram
        Branches (each with label, multiplicity, points with n_unstable and
        eigenvalues, and how it ended), special points (BP, LP, HB,
        undetermined) with bracket and precision, and status / success /
        message / counters.  Not converging somewhere is a status, not an
        exception.

    Raises
    ------
    InputError
        If the beta range or the options are invalid.

    Notes
    -----
    Periodic orbits born at Hopf points are not continued.  Branches that
    meet neither beta_min, beta_max nor a branch point of another branch
    (isolas inside the range) are not found.  For more than
    ``options.max_symmetry_K`` patterns the multiplicity counts only the
    copies actually met.

    Examples
    --------
    >>> from hopdyn.models import MeanFieldModel
    >>> from hopdyn.symbolic import reduce
    >>> diagram = build_diagram(reduce(MeanFieldModel(1)), 0.5, 2.0)
    >>> [(p.kind, round(p.beta, 8)) for p in diagram.special_points]
    [('BP', 1.0)]
    """
    beta_min, beta_max = _check_range(beta_min, beta_max)
    options = ContinuationOptions() if options is None else options
    if not isinstance(options, ContinuationOptions):
        raise InputError(
            f"options must be a ContinuationOptions, got {type(options)!r}"
        )
    if progress is not None and not callable(progress):
        raise InputError(f"progress must be callable or None, got {progress!r}")
    return _Builder(system, beta_min, beta_max, options, progress).run()


def _check_range(beta_min, beta_max):
    values = []
    for name, value in (("beta_min", beta_min), ("beta_max", beta_max)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"{name} must be a number, got {value!r}") from None
        if not np.isfinite(number) or number <= 0:
            raise InputError(f"{name} must be a finite number > 0, got {value!r}")
        values.append(number)
    if values[0] >= values[1]:
        raise InputError(
            f"beta_min must be < beta_max, got beta_min={beta_min!r}, "
            f"beta_max={beta_max!r}"
        )
    return values


@dataclass
class _Seed:
    state: np.ndarray
    beta: float
    origin: str
    approach: Approach | None = None


class _Builder:
    """The queue of seeds and branch points behind `build_diagram`."""

    def __init__(self, system, beta_min, beta_max, options, progress):
        self.system = system
        self.options = options
        self.finder = options.finder or FinderOptions()
        self.progress = progress
        self.problem = Problem(system, beta_min, beta_max, options)
        betas = (beta_min, float(np.sqrt(beta_min * beta_max)), beta_max)
        self.symmetry = Symmetry(
            system, betas, enabled=options.symmetry, max_K=options.max_symmetry_K
        )
        self.registry = Registry(self.problem, self.symmetry, options)
        self.tracer = BranchTracer(self.problem, self.registry, self.symmetry)
        self.branches, self.points, self.nodes = [], [], {}
        self.queue = deque()
        self.full = False

    # ------------------------------------------------------------- driver
    def run(self) -> Diagram:
        for beta, where in (
            (self.problem.beta_min, "beta_min"),
            (self.problem.beta_max, "beta_max"),
        ):
            self._report(f"finding the fixed points at {where} = {beta:g}")
            result = find_fixed_points(self.system, beta, options=self.finder)
            for point in result.fixed_points:
                self.queue.append(_Seed(point.state, beta, f"fixed point at {where}"))
            self._drain()
        return self._result()

    def _drain(self):
        while self.queue and not self.full:
            task = self.queue.popleft()
            if isinstance(task, SpecialPoint):
                self._switch(task)
            else:
                self._seed(task)

    def _report(self, message):
        logger.info(message)
        if self.progress is not None:
            self.progress(message, len(self.branches))

    # -------------------------------------------------------------- seeds
    def _known(self, state, beta):
        match = self.registry.match(self.problem.pack(state, beta))
        if match is not None:
            self._note_copy(match)
        return match is not None

    def _seed(self, seed):
        if self._known(seed.state, seed.beta):
            return None
        if len(self.branches) >= self.options.max_branches:
            self.full = True
            return None
        branch_id = len(self.branches)
        trace = self.tracer.trace(seed.state, seed.beta, branch_id, seed.approach)
        branch = self._add_branch(branch_id, trace, seed.origin)
        self._report(f"branch {branch.id}: {branch.label} ({branch.status})")
        return branch

    def _switch(self, point):
        node = self.nodes[point.id]
        children = child_points(self.problem, node, point.kernel_dimension, self.finder)
        logger.debug("BP %d: %d emerging points", point.id, len(children))
        for child in children:
            approach = self._approach(point, node, child)
            seed = _Seed(child.state, child.beta, f"BP {point.id}", approach)
            branch = self._seed(seed)
            if branch is not None:
                point.children.append(branch.id)

    def _approach(self, point, node, child):
        """Where the child's branch runs back into the branch point, if the
        other side is a symmetric copy of this side."""
        offset = child.state - child.parent_state
        size = np.linalg.norm(offset)
        reflected = 2.0 * child.parent_state - child.state
        element = self.symmetry.find(child.state, reflected, 0.3 * size)
        if element is None:
            return None
        x_star = node.y[:-1]
        moved = self.symmetry.act(element, x_star)
        if np.linalg.norm(moved - x_star) > 1e-6 * (1.0 + np.linalg.norm(x_star)):
            return None
        return Approach(node.y, offset / size, node.eigenvalues, point.id)

    def _note_copy(self, match):
        """Count copies met by chance when the group is not enumerated."""
        if self.symmetry.enumerated:
            return
        branch = self.branches[match.branch]
        signed = self.symmetry.as_signed(match.element)
        if signed not in branch.copies:
            branch.copies.append(signed)
            branch.multiplicity = len(branch.copies)

    # ----------------------------------------------------------- branches
    def _add_branch(self, branch_id, trace, origin):
        nodes = trace.nodes
        Y = np.array([n.y for n in nodes])
        T = np.array([n.tangent for n in nodes])
        branch = self._branch_record(branch_id, Y, T, nodes, trace.ends, origin)

        self.branches.append(branch)
        self.registry.add_branch(branch_id, Y, T)
        for index, node in enumerate(nodes):
            if node.special is not None:
                self._add_point(branch, index, node)
        return branch

    def _branch_record(self, branch_id, Y, T, nodes, ends, origin):
        states = Y[:, :-1]
        betas = np.array([self.problem.beta(y) for y in Y])
        eigenvalues = np.array([n.eigenvalues for n in nodes])
        point = self._label(states, betas)
        copies = self._copies(states)
        return Branch(
            id=branch_id,
            label=point.label,
            kind=point.kind,
            patterns=tuple(int(p) for p in point.patterns),
            multiplicity=len(copies),
            copies=copies,
            beta=betas,
            states=states,
            n_unstable=np.array([self.problem.n_unstable(e) for e in eigenvalues]),
            eigenvalues=eigenvalues,
            energy=self._energies(states, betas),
            status="; ".join(ends),
            ends=tuple(ends),
            origin=origin,
            tangents=T,
        )

    def _label(self, states, betas):
        """The fixed point at the end of the branch with the larger beta.

        That end is the most developed (coldest) state: the other end of a
        branch born at a fold or branch point still resembles the state it
        came from.  When both ends reach the same beta (the two arms of a
        fold) the more stable end wins, then the one farther from zero."""
        points = [
            classify(self.system, states[i], betas[i], self.options.eig_tol)
            for i in (0, len(betas) - 1)
        ]
        return max(
            points,
            key=lambda p: (round(p.beta, 9), -p.n_unstable, np.linalg.norm(p.state)),
        )

    def _copies(self, states):
        samples = states[[len(states) // 4, len(states) // 2, (3 * len(states)) // 4]]
        orbits = [self.symmetry.orbit(x) for x in samples]
        largest = max(orbits, key=len)
        return [self.symmetry.as_signed(e) for e in largest]

    def _energies(self, states, betas):
        if self.system.energy is None:
            return None
        return np.array(
            [
                float(self.system.energy(x, b))
                for x, b in zip(states, betas, strict=True)
            ]
        )

    def _add_point(self, branch, index, node):
        event = node.special
        frequency = event.frequency
        if frequency is not None and not np.isfinite(frequency):
            frequency = None
        state, beta = node.y[:-1], self.problem.beta(node.y)
        energy = None
        if self.system.energy is not None:
            energy = float(self.system.energy(state, beta))
        point = SpecialPoint(
            id=len(self.points),
            kind=event.kind,
            beta=beta,
            state=state,
            branch=branch.id,
            index=index,
            kernel_dimension=event.kernel_dimension,
            bracket=tuple(sorted(event.bracket)),
            precision=event.precision,
            n_unstable_before=event.n_before,
            n_unstable_after=event.n_after,
            eigenvalues=node.eigenvalues,
            energy=energy,
            note=event.note,
            multiplicity=len(self.symmetry.orbit(state)),
            frequency=frequency,
        )
        self.points.append(point)
        self.nodes[point.id] = node
        self.registry.add_special(node.y, point.id, point.kind)
        if self._switchable(point):
            self.queue.append(point)

    @staticmethod
    def _switchable(point):
        if point.kind == "BP":
            return True
        return (
            point.kind == "undetermined"
            and point.kernel_dimension >= 1
            and (point.frequency is None)
        )

    # ------------------------------------------------------------- result
    def _result(self) -> Diagram:
        self.points = self._without_shadows(self._inside_range(self.points))
        early = [b.id for b in self.branches if set(b.ends) & {FAILED, MAX_STEPS}]
        status = 1 if self.full else (2 if early else 0)
        counters = Counter(self.problem.counters)
        counters["branches"] = len(self.branches)
        counters["special_points"] = len(self.points)
        message = self._message(status, early)
        self._report(message)
        return Diagram(
            beta_range=(self.problem.beta_min, self.problem.beta_max),
            dimension=self.system.dimension,
            pattern_names=tuple(self.system.pattern_names),
            branches=self.branches,
            special_points=self.points,
            success=status == 0,
            status=status,
            message=message,
            counters=dict(counters),
            symmetry_order=self.symmetry.order,
        )

    @staticmethod
    def _without_shadows(points):
        """Drop undetermined points sitting on a located BP, LP or HB.

        A side branch traced first can turn at a branch point of another
        branch without a clear eigenvalue crossing of its own; once that
        branch records the BP, the undetermined point only repeats it."""
        determined = [p for p in points if p.kind != "undetermined"]

        def shadowed(point):
            return any(
                abs(point.beta - q.beta) <= 1e-6 * max(1.0, abs(q.beta))
                for q in determined
            )

        return [p for p in points if p.kind != "undetermined" or not shadowed(p)]

    def _inside_range(self, points):
        """Special points located within the beta range; a bracket that
        straddles an end of the range can place one just outside it."""
        low, high = self.problem.beta_min, self.problem.beta_max
        slack = 1e-9 * max(1.0, high)
        inside = [p for p in points if low - slack <= p.beta <= high + slack]
        if len(inside) < len(points):
            logger.debug(
                "dropped %d special points outside the range", len(points) - len(inside)
            )
        return inside

    def _message(self, status, early):
        kinds = Counter(p.kind for p in self.points)
        listed = ", ".join(
            f"{k}: {kinds[k]}" for k in ("BP", "LP", "HB", "undetermined") if kinds[k]
        )
        text = f"{len(self.branches)} branches, {len(self.points)} special points"
        if listed:
            text += f" ({listed})"
        if status == 1:
            text += f"; stopped at max_branches = {self.options.max_branches}"
        if status == 2:
            text += f"; branches {early} stopped early"
        return text
