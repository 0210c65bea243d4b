"""Detecting and locating special points between two steps of a branch.

Three test quantities are watched from one step to the next:

* the beta component of the tangent: a sign change is a turn in beta (LP);
* the number of positive *real* eigenvalues: a change by k means k real
  eigenvalues crossed zero (a k-fold crossing when they cross together, as
  symmetric patterns make them do);
* the number of *non-real* eigenvalues with positive real part: a change
  means a complex pair crossed the imaginary axis (HB).

Each event is located on the arclength of the step: a trial point is the
corrected point on the hyperplane t_a . (y - y_a) = s, and the bracket
[s_lo, s_hi] is shrunk until the count changes across it and beta is known
to ``locate_tol``: for a fold by secant steps on the beta component of the
tangent (bisecting when those stall), for a crossing by trials that keep
clear of the crossing point itself.  At a fold exactly one real eigenvalue
crosses zero, at the fold itself; it is that crossing, not a branch point.
Evidence that fits no kind -- a turn where no eigenvalue crosses, a turn
with several crossing, a count that changes with no eigenvalue near zero, a
bracket that could not be shrunk -- is reported as "undetermined" with a
note.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Locator", "Located"]

# Located events closer than this in arclength are the same event.
_SAME_EVENT = 1e-5
# Arclength width under which a bracket is narrow enough.
_NARROW = 1e-6


@dataclass(eq=False)
class Located:
    """A special point located inside one step, before it joins a branch."""

    kind: str
    node: object
    bracket: tuple
    precision: float
    kernel_dimension: int
    delta: int = 0
    n_before: int = 0
    n_after: int = 0
    note: str = ""
    frequency: float | None = None
    s: float = 0.0
    turns: bool = False


@dataclass(eq=False)
class _End:
    """One end of a bracket: arclength in the step, node, count, value."""

    s: float
    node: object
    count: int
    value: float


def _hermite_point(a, b, tau):
    """The cubic Hermite curve through nodes a and b at fraction tau."""
    chord = b.y - a.y
    h = np.linalg.norm(chord)
    ta = a.tangent if a.tangent @ chord >= 0 else -a.tangent
    tb = b.tangent if b.tangent @ chord >= 0 else -b.tangent
    h00 = 2 * tau**3 - 3 * tau**2 + 1
    h10 = tau**3 - 2 * tau**2 + tau
    h01 = -2 * tau**3 + 3 * tau**2
    h11 = tau**3 - tau**2
    return h00 * a.y + h10 * h * ta + h01 * b.y + h11 * h * tb


class Locator:
    """Finds and locates the special points of one step.

    Parameters
    ----------
    problem : Problem
    symmetry : Symmetry, optional
        When the two ends of a bracket are fixed by some symmetries, trial
        points are averaged over them (see `_symmetrize`).
    """

    def __init__(self, problem, symmetry=None):
        self.problem = problem
        self.options = problem.options
        self.symmetry = symmetry
        self._fixing = None

    # ------------------------------------------------------------- probes
    def _real(self, node):
        lam = node.eigenvalues
        real = lam.real[self._is_real(lam)]
        value = real[np.argmin(np.abs(real))] if real.size else np.inf
        return int(np.sum(real > 0)), float(value)

    def _complex(self, node):
        lam = node.eigenvalues
        pair = lam[~self._is_real(lam)]
        value = pair.real[np.argmin(np.abs(pair.real))] if pair.size else np.inf
        return int(np.sum(pair.real > 0)), float(value)

    @staticmethod
    def _fold(node):
        return int(node.tangent[-1] > 0), float(node.tangent[-1])

    def _is_real(self, lam):
        return np.abs(lam.imag) <= self.options.imag_tol * (1.0 + np.abs(lam))

    def _zero_tol(self, node):
        return 1e-5 * (1.0 + np.max(np.abs(node.eigenvalues), initial=0.0))

    # ------------------------------------------------------------ driver
    def detect(self, a, b):
        """Special points between nodes a and b, located, in step order.

        ``b`` must satisfy t_a . (y_b - y_a) = s_b > 0 (true of a corrected
        step and of a point clipped to the end of the range).
        """
        s_b = float(a.tangent @ (b.y - a.y))
        if s_b <= 0:
            return []
        simple = self._simple_fold(a, b, s_b)
        if simple is not None:
            return self._number([simple], a)
        real = self._sequence(a, b, s_b, self._real)
        hopf = self._sequence(a, b, s_b, self._complex)
        events = []
        if a.tangent[-1] * b.tangent[-1] < 0:
            events.append(self._fold_event(a, b, s_b, real))
        events += [self._crossing(lo, hi, ok, "BP") for lo, hi, ok in real]
        events += [self._crossing(lo, hi, ok, "HB") for lo, hi, ok in hopf]
        return self._number(sorted(events, key=lambda e: e.s), a)

    def _number(self, events, a):
        """n_unstable on either side of each event: the count at the start
        of the step plus the signed crossings met so far (read with the
        exact sign, as at the bracket ends the crossing eigenvalues are
        smaller than eig_tol)."""
        n = self.problem.n_unstable(a.eigenvalues)
        for event in events:
            event.n_before, event.n_after = n, n + event.delta
            n = event.n_after
        return events

    def _sequence(self, a, b, s_b, probe):
        """Brackets of every change of probe's count across the step."""
        lo, end = _End(0.0, a, *probe(a)), _End(s_b, b, *probe(b))
        found = []
        while lo.count != end.count and len(found) < self.problem.dimension:
            first, last, ok = self._shrink(a, lo, end, probe)
            found.append((first, last, ok))
            if not ok:
                break
            lo = last
        return self._cluster(found)

    @staticmethod
    def _cluster(found):
        """Merge brackets that locate the same event (numerically split
        eigenvalues of a degenerate crossing)."""
        merged = []
        for lo, hi, ok in found:
            if (
                merged
                and ok
                and merged[-1][2]
                and lo.s - merged[-1][1].s <= _SAME_EVENT
            ):
                merged[-1] = (merged[-1][0], hi, True)
            else:
                merged.append((lo, hi, ok))
        return merged

    # ------------------------------------------------------------- events
    def _simple_fold(self, a, b, s_b):
        """The common case, done cheaply: beta turns, one real eigenvalue
        crosses and nothing else happens in the step.  The fold is located
        and the crossing is taken to be there if an eigenvalue is zero at
        the located fold; otherwise None, and the step gets the full
        treatment."""
        turns = a.tangent[-1] * b.tangent[-1] < 0
        real_a, real_b = self._real(a)[0], self._real(b)[0]
        same_pairs = self._complex(a)[0] == self._complex(b)[0]
        if not (turns and abs(real_b - real_a) == 1 and same_pairs):
            return None
        first, last = _End(0.0, a, *self._fold(a)), _End(s_b, b, *self._fold(b))
        lo, hi, ok = self._shrink(a, first, last, self._fold, secant_allowed=True)
        event = self._record("LP", lo, hi, 1)
        if not ok or abs(self._real(event.node)[1]) > self._zero_tol(event.node):
            return None
        event.turns, event.delta = True, real_b - real_a
        return event

    def _fold_event(self, a, b, s_b, real):
        first, last = _End(0.0, a, *self._fold(a)), _End(s_b, b, *self._fold(b))
        lo, hi, ok = self._shrink(a, first, last, self._fold, secant_allowed=True)
        event = self._record("LP", lo, hi, 1)
        event.turns = True
        if not ok:
            return self._undetermined(event, "the fold could not be located")
        partner = self._partner(event, real)
        if partner is None:
            event.kernel_dimension = 0
            note = "beta turns back but no real eigenvalue crosses zero there"
            return self._undetermined(event, note)
        plo, phi, pok = partner
        real.remove(partner)
        event.kernel_dimension = abs(phi.count - plo.count)
        event.delta = phi.count - plo.count
        if event.kernel_dimension != 1:
            note = f"beta turns back where {event.kernel_dimension} eigenvalues cross"
            return self._undetermined(event, note)
        return event

    @staticmethod
    def _partner(event, real):
        for item in real:
            lo, hi, ok = item
            if ok and abs(0.5 * (lo.s + hi.s) - event.s) <= _SAME_EVENT:
                return item
        return None

    def _crossing(self, lo, hi, ok, kind):
        event = self._record(kind, lo, hi, abs(hi.count - lo.count))
        event.delta = hi.count - lo.count
        if kind == "HB":
            imag = np.abs(event.node.eigenvalues.imag)
            event.frequency = float(np.min(imag[imag > 0], initial=np.inf))
        if not ok:
            return self._undetermined(event, f"the {kind} could not be located")
        if abs(self._value(event, kind)) > self._zero_tol(event.node):
            note = "the eigenvalue count changed with no eigenvalue at zero"
            return self._undetermined(event, note)
        return event

    def _value(self, event, kind):
        probe = self._complex if kind == "HB" else self._real
        return probe(event.node)[1]

    def _record(self, kind, lo, hi, kernel):
        best = lo if abs(lo.value) <= abs(hi.value) else hi
        bracket = (self.problem.beta(lo.node.y), self.problem.beta(hi.node.y))
        return Located(
            kind=kind,
            node=best.node,
            bracket=bracket,
            precision=self._precision(lo, hi),
            kernel_dimension=kernel,
            s=best.s,
        )

    @staticmethod
    def _undetermined(event, note):
        event.kind, event.note = "undetermined", note
        return event

    # ---------------------------------------------------------- shrinking
    def _precision(self, lo, hi):
        """Bound on the error in beta: the bracket's beta width, or its
        arclength width times the slope of beta (which matters at a fold,
        where both ends can sit at nearly the same beta)."""
        beta = self.problem.beta
        width = abs(beta(hi.node.y) - beta(lo.node.y))
        slope = max(abs(lo.node.tangent[-1]), abs(hi.node.tangent[-1]))
        return max(width, self.problem.scale * slope * (hi.s - lo.s))

    def _narrow(self, lo, hi):
        width = hi.s - lo.s
        if width <= 1e-14 * (1.0 + abs(hi.s)):
            return True
        return width <= _NARROW and self._precision(lo, hi) <= self.options.locate_tol

    def _shrink(self, a, lo, hi, probe, secant_allowed=False):
        """Shrink [lo, hi] around the first change of probe's count.

        Folds use the Illinois variant of regula falsi on the test value
        (the end kept twice in a row has its value halved, so both ends
        converge), with a bisection whenever two trials did not halve the
        bracket.  Crossings do not: a secant root would land on the branch
        point itself, where the corrector is singular; their trials keep a
        fair fraction of the bracket away from it.
        """
        self._fixing = self._isotropy(lo.node, hi.node)
        scale, kept, widths = {"lo": 1.0, "hi": 1.0}, None, [hi.s - lo.s] * 3
        for _ in range(self.options.locate_max_iter):
            if self._narrow(lo, hi):
                return lo, hi, True
            stalled = widths[-1] > 0.5 * widths[-3]
            mode = (
                "avoid" if not secant_allowed else ("bisect" if stalled else "secant")
            )
            s = self._trial(
                lo, hi, lo.value * scale["lo"], hi.value * scale["hi"], mode
            )
            trial = self._attempt(a, lo, hi, probe, s)
            if trial is None:
                return lo, hi, False
            moved = "lo" if trial.count == lo.count else "hi"
            lo, hi = (trial, hi) if moved == "lo" else (lo, trial)
            other = "hi" if moved == "lo" else "lo"
            scale[moved] = 1.0
            scale[other] = 0.5 * scale[other] if kept == other else 1.0
            kept = other
            widths.append(hi.s - lo.s)
        return lo, hi, self._narrow(lo, hi)

    def _attempt(self, a, lo, hi, probe, s):
        """A bracket end at s, or (if the corrector fails there) at two
        other points of the bracket; None if all fail."""
        width = hi.s - lo.s
        for where in (s, lo.s + 0.382 * width, lo.s + 0.618 * width):
            node = self._node_at(a, where, lo, hi)
            if node is not None:
                return _End(where, node, *probe(node))
        return None

    @staticmethod
    def _trial(lo, hi, f_lo, f_hi, mode):
        """Next trial arclength in the bracket.

        "secant": the root of the line through (lo, f_lo) and (hi, f_hi).
        "avoid" (crossings): halfway between that root and the farther
        end, so that no trial comes much closer to the branch point than a
        quarter of the bracket -- next to a branch point the other branches
        through it are that close, and the corrector could land on them.
        "bisect", or values that do not bracket a root: the midpoint.
        """
        width = hi.s - lo.s
        product = f_lo * f_hi
        if mode == "bisect" or not np.isfinite(product) or product >= 0:
            return lo.s + 0.5 * width
        estimate = lo.s - f_lo * width / (f_hi - f_lo)
        if mode == "avoid":
            far = lo.s if estimate - lo.s > hi.s - estimate else hi.s
            return 0.5 * (estimate + far)
        return float(np.clip(estimate, lo.s + 1e-3 * width, hi.s - 1e-3 * width))

    def _node_at(self, a, s, lo, hi):
        """The corrected point at arclength s of the step from a.

        The predictor is the cubic through the bracket ends with their
        tangents, so that next to a branch point it stays on the branch
        being followed.
        """
        fraction = (s - lo.s) / (hi.s - lo.s)
        y_pred = _hermite_point(lo.node, hi.node, fraction)
        near = lo if s - lo.s <= hi.s - s else hi
        anchor = a.tangent @ a.y + s
        found = self.problem.correct(y_pred, a.tangent, anchor, near.node.derivative)
        if found is None:
            return None
        y, A, _ = found
        if self._fixing is not None:
            y = np.append(self._symmetrize(y[:-1]), y[-1])
            A = self.problem.derivative(y)
        self.problem.counters["locate_trials"] += 1
        return self.problem.node(y, A, a.tangent, s=a.s + s)

    # ----------------------------------------------------------- symmetry
    def _isotropy(self, a, b):
        """The symmetries fixing both nodes (None if only the identity).

        Next to a branch point the state is only known to rounding error
        divided by the crossing eigenvalue along the kernel, which is where
        symmetry breaks; a degenerate crossing then splits into crossings
        a little apart.  When the branch lies in the subspace fixed by some
        symmetries, averaging over them removes that error.
        """
        symmetry = self.symmetry
        if symmetry is None or not symmetry.enumerated:
            return None
        keep = np.ones(symmetry.order, dtype=bool)
        for node in (a, b):
            x = node.y[:-1]
            tol = 1e-9 * (1.0 + np.linalg.norm(x))
            keep &= np.linalg.norm(symmetry.images(x) - x, axis=1) <= tol
        if keep.sum() <= 1:
            return None
        return symmetry.perms[keep], symmetry.signs[keep]

    def _symmetrize(self, x):
        perms, signs = self._fixing
        blocks = x.reshape(-1, self.symmetry.K)
        images = blocks[:, perms] * signs
        return images.mean(axis=1).reshape(x.shape)
