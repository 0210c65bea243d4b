"""Pseudo-arclength continuation of one branch, in both directions.

One step from a point y with unit tangent t and step ds:

1. predict y + ds t;
2. correct with Newton on f = 0 restricted to the hyperplane through the
   prediction orthogonal to t (the bordered system, regular at folds);
3. accept when Newton converged and the old tangent, the new one (kernel
   of [df/dx | df/dbeta], oriented along t) and the chord between the two
   points all lie within ``max_angle`` of one another; otherwise halve ds
   and retry;
4. look for special points between the two points and insert the located
   ones; grow ds after easy steps, shrink it after hard ones.

A direction ends at either end of the beta range (the last point is
corrected onto beta_min or beta_max exactly), when the corrector fails at
``ds_min``, after ``max_steps``, when two successive points lie on a known
branch ("merged into branch i"), or at a point where a symmetry of the
system reverses the branch (what lies beyond is a symmetric copy of what
came before).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from hopdyn.continuation.problem import Node
from hopdyn.continuation.registry import OwnBranch
from hopdyn.continuation.special_points import Locator

__all__ = ["Approach", "BranchTracer", "Trace"]

logger = logging.getLogger(__name__)

REACHED = {"min": "reached beta_min", "max": "reached beta_max"}
FAILED = "corrector failed at min step"
MAX_STEPS = "max steps"
SYMMETRIC_END = "reached a symmetric point (the rest is a symmetric copy)"

# Ends of the range are met when b is within this of the bound (scaled).
_AT_BOUND = 1e-12


@dataclass
class Approach:
    """A branch started next to a branch point whose other side is a
    symmetric copy: tracing stops on reaching the point.

    Attributes
    ----------
    y : ndarray
        The branch point (scaled).
    direction : ndarray
        Unit state direction from the branch point towards the start.
    eigenvalues : ndarray
    point : int
        Id of the special point.
    """

    y: np.ndarray
    direction: np.ndarray
    eigenvalues: np.ndarray
    point: int


@dataclass
class Trace:
    """The points of a traced branch, in order, and how each end ended."""

    nodes: list
    ends: tuple


def _angle(u, v):
    cosine = u @ v / max(np.linalg.norm(u) * np.linalg.norm(v), 1e-300)
    return float(np.arccos(np.clip(cosine, -1.0, 1.0)))


class BranchTracer:
    """Traces branches for one problem, against a registry of known ones.

    Parameters
    ----------
    problem : Problem
    registry : Registry
    symmetry : Symmetry
    """

    def __init__(self, problem, registry, symmetry):
        self.problem = problem
        self.registry = registry
        self.symmetry = symmetry
        self.options = problem.options
        self.locator = Locator(problem, symmetry)

    # ------------------------------------------------------------- driver
    def trace(self, state, beta, branch_id, approach=None) -> Trace:
        """Trace the branch through the fixed point (state, beta)."""
        start = self.problem.start_node(state, beta)
        backward = replace(start, tangent=-start.tangent)
        back, back_end = self._march(backward, branch_id, [], approach)
        prefix = [self._reversed(n) for n in reversed(back[1:])]
        ahead, ahead_end = self._march(start, branch_id, prefix, approach)
        return Trace(nodes=prefix + ahead, ends=(back_end, ahead_end))

    @staticmethod
    def _reversed(node):
        return replace(node, tangent=-node.tangent, s=-node.s)

    def _march(self, start, branch_id, prefix, approach):
        nodes, ds, pending = [start], self.options.ds, None
        if self._leaving_range(start):
            return nodes, self._leaving_range(start)
        for _ in range(self.options.max_steps):
            step = self._step(nodes[-1], ds)
            if step is None:
                ds *= 0.5
                self.problem.counters["rejected_steps"] += 1
                if ds < self.options.ds_min:
                    return nodes, FAILED
                continue
            new, iterations, angle = step
            self.problem.counters["steps"] += 1

            end = self._finish(nodes, new, approach)
            if end is not None:
                return nodes, end

            pending, merged = self._merge(nodes, prefix, branch_id, pending)
            if merged is not None:
                # End at the first point found on the known branch.
                if nodes[-1].special is None and len(nodes) > 2:
                    nodes.pop()
                return nodes, merged
            ds = self._adapt(ds, iterations, angle)
        return nodes, MAX_STEPS

    # -------------------------------------------------------------- steps
    def _step(self, node, ds):
        t = node.tangent
        y_pred = node.y + ds * t
        found = self.problem.correct(y_pred, t, t @ y_pred, node.derivative)
        if found is None:
            return None
        y, A, iterations = found
        chord = y - node.y
        new = self.problem.node(y, A, t, s=node.s + np.linalg.norm(chord))
        # Both tangents must run along the chord: a corrector that lands on
        # a nearby piece of curve (past a fold, on another branch) fails it.
        angles = [_angle(t, new.tangent), _angle(t, chord), _angle(new.tangent, chord)]
        if max(angles) > self.options.max_angle:
            return None
        return new, iterations, angles[0]

    def _adapt(self, ds, iterations, angle):
        options = self.options
        if iterations <= 3 and angle < 0.5 * options.max_angle:
            return min(1.5 * ds, options.ds_max)
        if iterations >= 6 or angle > 0.8 * options.max_angle:
            return max(0.6 * ds, options.ds_min)
        return ds

    def _finish(self, nodes, new, approach):
        """Append new (and the special points before it); a status when the
        direction ends here."""
        bound = self._bound_crossed(new)
        if bound is not None:
            return self._to_bound(nodes, new, bound)
        if approach is not None and self._passes(approach, nodes[-1], new):
            nodes.append(self._approach_node(approach, nodes[-1]))
            return f"reached BP {approach.point} (the rest is a symmetric copy)"
        return self._add(nodes, new)

    # ----------------------------------------------------- range and ends
    def _leaving_range(self, node):
        b, t = node.y[-1], node.tangent[-1]
        if b <= self.problem.b_of(self.problem.beta_min) + _AT_BOUND and t < 0:
            return REACHED["min"]
        if b >= self.problem.b_of(self.problem.beta_max) - _AT_BOUND and t > 0:
            return REACHED["max"]
        return None

    def _bound_crossed(self, node):
        beta = self.problem.beta(node.y)
        if beta > self.problem.beta_max:
            return "max"
        if beta < self.problem.beta_min:
            return "min"
        return None

    def _to_bound(self, nodes, new, bound):
        """Correct the crossing point onto the end of the range."""
        last = nodes[-1]
        beta = self.problem.beta_max if bound == "max" else self.problem.beta_min
        target = self.problem.b_of(beta)
        fraction = (target - last.y[-1]) / (new.y[-1] - last.y[-1])
        y_pred = last.y + fraction * (new.y - last.y)
        found = self.problem.correct(y_pred, self.problem.e_beta, target)
        if found is not None:
            y, A, _ = found
            end = self.problem.node(y, A, last.tangent)
            end.s = last.s + np.linalg.norm(y - last.y)
            if last.tangent @ (y - last.y) > 0:
                self._add(nodes, end)
        return REACHED[bound]

    def _passes(self, approach, last, new):
        """Whether the step last -> new crosses the branch point's plane."""
        x_star, u = approach.y[:-1], approach.direction
        before = (last.y[:-1] - x_star) @ u
        after = (new.y[:-1] - x_star) @ u
        chord = np.linalg.norm(new.y - last.y)
        near = np.linalg.norm(approach.y - last.y) <= 2.0 * chord + 1e-9
        return before > 0 >= after and near

    @staticmethod
    def _approach_node(approach, last):
        chord = approach.y - last.y
        length = max(np.linalg.norm(chord), 1e-300)
        return Node(
            y=approach.y,
            tangent=chord / length,
            eigenvalues=approach.eigenvalues,
            s=last.s + length,
        )

    # ---------------------------------------------------- special points
    def _add(self, nodes, new):
        """Append new after the located special points of the step; a
        status if a symmetry reverses the branch at one of them."""
        last = nodes[-1]
        for event in self._events(last, new):
            if event.special is not None:
                nodes.append(event)
            if self._reverses(event, last, new):
                if event.special is None:
                    nodes.append(event)
                return SYMMETRIC_END
        nodes.append(new)
        return None

    def _events(self, a, b):
        """Located special points of the step a -> b as nodes; those that
        repeat a known special point come back with ``special=None`` (the
        caller only checks them for a reversing symmetry)."""
        out = []
        for event in self.locator.detect(a, b):
            node = event.node
            known = self.registry.near_special(
                node.y,
                self.options.merge_tol,
                determined_only=event.kind != "undetermined",
            )
            if known is None and event.kind == "undetermined":
                known = self._known_in_step(a, b)
            if known is None:
                node.special = event
                out.append(node)
            elif event.turns:
                out.append(self._known_node(known, a, node))
        return out

    def _known_in_step(self, a, b):
        found = self.registry.special_between(a.y, b.y)
        return None if found is None else found[0]

    def _known_node(self, point_id, a, fallback):
        """A node at a known special point -- or at its symmetric image next
        to the located one -- for the reversal test."""
        for z, pid, _ in self.registry.special:
            if pid == point_id:
                tol = 10 * self.options.merge_tol
                element = self.symmetry.find(z[:-1], fallback.y[:-1], tol)
                if element is not None:
                    z = np.append(self.symmetry.act(element, z[:-1]), z[-1])
                A = self.problem.derivative(z)
                eigenvalues = self.problem.eigenvalues(A[:, :-1])
                s = a.s + np.linalg.norm(z - a.y)
                return Node(y=z, tangent=fallback.tangent, eigenvalues=eigenvalues, s=s)
        return fallback

    def _reverses(self, node, a, b):
        """Whether a symmetry fixes node and maps the branch before it onto
        the branch after it (then it is a turn of a symmetric branch)."""
        turns = node.special is None or getattr(node.special, "turns", False)
        if not turns:
            return False
        tol = 1e-6 * (1.0 + np.linalg.norm(node.y))
        found = self.symmetry.reversing(node.y[:-1], a.y[:-1], b.y[:-1], tol)
        return found is not None

    # -------------------------------------------------------------- merge
    def _merge(self, nodes, prefix, branch_id, pending):
        """(pending match, status): a direction merges when two successive
        points lie on the same known branch."""
        new = nodes[-1]
        own = self._own(prefix, nodes, branch_id)
        match = self.registry.match(new.y, new.tangent, own=own)
        if match is None:
            return None, None
        if pending is not None and pending.branch == match.branch:
            logger.debug("branch %d merged into branch %d", branch_id, match.branch)
            return match, f"merged into branch {match.branch}"
        return match, None

    @staticmethod
    def _own(prefix, nodes, branch_id):
        chain = prefix + nodes
        Y = np.array([n.y for n in chain])
        T = np.array([n.tangent for n in chain])
        s = np.array([n.s for n in chain])
        start = nodes[0].y
        return OwnBranch(branch_id, Y, T, s, start, nodes[-1].s)
