"""What a method found, judged the same way for every method.

Each method hands over its raw diagram as curves of rows (beta, u_1..u_d)
plus its special points.  From those:

- fixed points at the reference beta: every crossing of a curve with
  beta_ref, interpolated, polished by Newton on the benchmark's own field,
  merged, and classified by the eigenvalues of the benchmark's Jacobian
  (attractor, saddle, repeller) -- the same judge for every method;
- special points: merged across branch records, counted with their
  symmetric copies, and checked against the closed-form ones.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from scipy.spatial import cKDTree

MERGE_TOL = 1e-6
SPECIAL_TOL = 1e-4  # same kind, state and beta within this: one special point
EIG_TOL = 1e-9
EXPECTED_TOL = 1e-2  # window for matching a closed-form point; errors are kept


def crossings(curve, beta):
    """States where a curve (rows beta, u) crosses the given beta."""
    b, u = curve[:, 0], curve[:, 1:]
    s = b - beta
    found = []
    for j in np.flatnonzero(s[:-1] * s[1:] <= 0):
        if s[j] == s[j + 1]:
            continue
        t = s[j] / (s[j] - s[j + 1])
        found.append(u[j] + t * (u[j + 1] - u[j]))
    return found


def _candidates(found, beta):
    """All crossing states, with symmetric copies, in the peers' coordinates."""
    states = []
    copies = found.get("copies")
    for i, curve in enumerate(found["curves"]):
        here = crossings(curve, beta)
        if copies is None or not here:
            states.extend(here)
            continue
        for element in copies[i]:
            states.extend(found["apply_copy"](element, np.array(here)))
    states = np.array(states, dtype=float).reshape(len(states), -1)
    to_peer = found.get("to_peer")
    return states if to_peer is None or len(states) == 0 else to_peer(states)


def polish(problem, states, beta, iterations=30):
    """Newton on the benchmark field; returns polished states that converged."""
    x = np.array(states, dtype=float)
    for _ in range(iterations):
        f = problem.fun(x, beta)
        if len(x) == 0 or np.abs(f).max() < 1e-12:
            break
        # pinv: a state that sits on a singular point must not stop the rest
        step = np.linalg.pinv(problem.jac(x, beta)) @ f[..., None]
        x = x - step[..., 0]
    converged = np.abs(problem.fun(x, beta)).max(axis=-1) < 1e-9
    close = np.abs(x - states).max(axis=-1) < 1e-2
    return x[converged & close]


def merge(states, tol=MERGE_TOL):
    """Distinct states: of every group closer than tol (max norm), the first."""
    states = np.asarray(states, dtype=float)
    if len(states) == 0:
        return states
    # exact repeats first (cheap), then near ones among what is left
    _, first = np.unique(np.round(states, 8), axis=0, return_index=True)
    states = states[np.sort(first)]
    duplicate = np.zeros(len(states), dtype=bool)
    for i, j in sorted(cKDTree(states).query_pairs(tol, p=np.inf)):
        if not duplicate[i]:
            duplicate[j] = True
    return states[~duplicate]


def classify(problem, states, beta):
    """Counts of attractors, saddles and repellers among the states."""
    d = problem.dimension
    counts = Counter()
    for s in states:
        eigenvalues = np.linalg.eigvals(problem.jac(s, beta))
        n_unstable = int(np.sum(eigenvalues.real > EIG_TOL))
        kind = "attractor" if n_unstable == 0 else "saddle"
        counts["repeller" if n_unstable == d else kind] += 1
    return {k: counts.get(k, 0) for k in ("attractor", "saddle", "repeller")}


def fixed_points_at_ref(problem, found):
    beta = problem.beta_ref
    if "attractors_at_ref" in found:
        states = merge(polish(problem, found["attractors_at_ref"], beta))
    else:
        states = merge(polish(problem, _candidates(found, beta), beta))
    return {"beta": beta, "n": len(states), **classify(problem, states, beta)}


def special_summary(problem, found):
    """Distinct special points by kind and beta, counting symmetric copies."""
    distinct = []
    for p in found["special_points"]:
        state = np.asarray(p["state"], dtype=float)
        same = [
            q
            for q in distinct
            if q["kind"] == p["kind"]
            and abs(q["beta"] - p["beta"]) < SPECIAL_TOL
            and np.abs(q["state_array"] - state).max() < SPECIAL_TOL
        ]
        if not same:
            distinct.append({**p, "state_array": state})

    groups = {}
    for p in distinct:
        key = (p["kind"], round(p["beta"], 4), p.get("kernel"))
        groups[key] = groups.get(key, 0) + p.get("multiplicity", 1)
    listed = [
        {"kind": k, "beta": b, "kernel": kernel, "count": n}
        for (k, b, kernel), n in sorted(groups.items(), key=lambda kv: kv[0][1])
    ]
    totals = Counter()
    for item in listed:
        totals[item["kind"]] += item["count"]
    return {
        "points": listed,
        "totals": dict(totals),
        "checks": _checks(problem, distinct),
    }


def _checks(problem, distinct):
    """For each closed-form special point: found? where? with what kernel?"""
    checks = []
    for e in problem.expected:
        near = [
            p
            for p in distinct
            if p["kind"] == e["kind"]
            and abs(p["beta"] - e["beta"]) < EXPECTED_TOL
            and np.abs(p["state_array"]).max() < 1e-6
        ]
        best = min(near, key=lambda p: abs(p["beta"] - e["beta"]), default=None)
        checks.append(
            {
                "expected": e,
                "found": best is not None,
                "beta": None if best is None else best["beta"],
                "error": None if best is None else abs(best["beta"] - e["beta"]),
                "kernel": None if best is None else best.get("kernel"),
            }
        )
    return checks


def events_summary(result):
    """The brute force's stand-in for special points: attractor-count jumps."""
    return [
        {
            "beta": round(e["beta"], 4),
            "resolution": round(e["resolution"], 4),
            "change": f"{e['n_before']} -> {e['n_after']}",
        }
        for e in result["events"]
    ]
