"""The fixed-point finder: counts fixed by symmetry, closed forms, and a
brute-force search on small cases."""

import itertools

import numpy as np
import pytest
from scipy.optimize import brentq, root

from hopdyn.errors import InputError
from hopdyn.fixed_points import FinderOptions, find_fixed_points
from hopdyn.models import ClassicModel, MeanFieldModel, ModernModel
from hopdyn.patterns import PatternSet, rolling_patterns
from hopdyn.symbolic import reduce


def _brute_force(system, beta, grid):
    """Every root scipy's hybrid solver reaches from a dense grid of starts."""
    roots = []
    for x0 in itertools.product(grid, repeat=system.dimension):
        sol = root(
            lambda m: system.fun(m, beta),
            np.array(x0),
            jac=lambda m: system.jac(m, beta),
            tol=1e-13,
        )
        residual = np.linalg.norm(system.fun(sol.x, beta))
        if sol.success and residual < 1e-10:
            if not any(np.linalg.norm(sol.x - r) < 1e-6 for r in roots):
                roots.append(sol.x)
    return np.array(roots)


def _contains(states, target, tol=1e-6):
    return any(np.linalg.norm(s - target) < tol for s in states)


def test_meanfield_k2_has_nine_fixed_points():
    """Origin, four retrieval states (a = tanh(beta a)) and four 2-mixtures
    (a = tanh(2 beta a) / 2): for K = 2 the mean field has no other roots."""
    beta = 2.0
    result = find_fixed_points(reduce(MeanFieldModel(2)), beta)
    states = [p.state for p in result.fixed_points]
    assert len(states) == 9 and result.success

    retrieval = brentq(lambda a: a - np.tanh(beta * a), 0.1, 1.0)
    mixture = brentq(lambda a: a - np.tanh(2 * beta * a) / 2, 0.05, 1.0)
    for s1, s2 in itertools.product((1, -1), repeat=2):
        assert _contains(states, [s1 * retrieval, 0.0])
        assert _contains(states, [0.0, s2 * retrieval])
        assert _contains(states, [s1 * mixture, s2 * mixture])
    stability = {p.label: p.stability for p in result.fixed_points}
    assert stability["+1"] == "attractor" and stability["mix(+1, -2)"] == "saddle"
    assert stability["origin"] == "repeller"


def test_meanfield_k3_beta4_matches_brute_force():
    """AGS: at T = 1/4 the symmetric 3-mixtures are stable (T_3 ~ 0.46)."""
    system = reduce(MeanFieldModel(3))
    result = find_fixed_points(system, 4.0)
    found = np.array([p.state for p in result.fixed_points])
    brute = _brute_force(system, 4.0, np.linspace(-1, 1, 11))
    assert all(_contains(found, b) for b in brute)
    assert all(np.linalg.norm(system.fun(found, 4.0), axis=1) < 1e-9)

    kinds = [(p.kind, len(p.patterns), p.stability) for p in result.fixed_points]
    assert kinds.count(("retrieval", 1, "attractor")) == 6
    assert kinds.count(("mixture", 2, "saddle")) == 12
    symmetric = [
        p
        for p in result.fixed_points
        if len(p.patterns) == 3 and np.ptp(np.abs(p.state)) < 1e-9
    ]
    assert len(symmetric) == 8
    assert all(p.stability == "attractor" for p in symmetric)


def test_meanfield_k4_matches_brute_force():
    system = reduce(MeanFieldModel(4))
    result = find_fixed_points(system, 4.0)
    found = np.array([p.state for p in result.fixed_points])
    brute = _brute_force(system, 4.0, np.linspace(-1, 1, 6))
    missing = [b for b in brute if not _contains(found, b)]
    assert not missing
    # Symmetry fixes the counts: 2K retrieval states, 4 C(K,2) 2-mixtures.
    sizes = [len(p.patterns) for p in result.fixed_points]
    assert sizes.count(1) == 8 and sizes.count(0) == 1
    two = [p for p in result.fixed_points if len(p.patterns) == 2]
    assert len(two) % 24 == 0


def test_below_critical_beta_only_the_origin():
    result = find_fixed_points(reduce(MeanFieldModel(3)), 0.8)
    assert [p.label for p in result.fixed_points] == ["origin"]
    assert result.fixed_points[0].stability == "attractor"


@pytest.mark.parametrize(("beta", "uniform_stable"), [(2.8, True), (3.5, False)])
def test_modern_orthonormal_three_patterns(beta, uniform_stable):
    """The uniform state loses stability at beta = K = 3 (THEORY.md); the
    retrieval states exist on both sides."""
    system = reduce(ModernModel(PatternSet.from_array(np.eye(3))))
    result = find_fixed_points(system, beta)
    labels = {p.label: p for p in result.fixed_points}
    assert {"1", "2", "3"} <= set(labels)
    assert all(labels[k].stability == "attractor" for k in "123")
    assert (labels["uniform"].stability == "attractor") == uniform_stable
    np.testing.assert_allclose(labels["uniform"].state, np.full(3, 1 / 3))
    # eigenvalue -1 along (1, 1, 1), exactly
    for point in result.fixed_points:
        assert np.min(np.abs(point.eigenvalues + 1.0)) < 1e-10


def test_modern_two_patterns_matches_scalar_reduction():
    """On p = ((1+u)/2, (1-u)/2): u = tanh(g u) with g = beta / 2."""
    beta = 3.0
    result = find_fixed_points(
        reduce(ModernModel(PatternSet.from_array(np.eye(2)))), beta
    )
    u = brentq(lambda u: u - np.tanh(beta / 2 * u), 0.1, 1.0)
    states = [p.state for p in result.fixed_points]
    assert len(states) == 3
    assert _contains(states, [(1 + u) / 2, (1 - u) / 2])
    assert _contains(states, [0.5, 0.5])


def test_rolling_patterns_classic_matches_brute_force():
    system = reduce(ClassicModel(rolling_patterns(9, 3), "A"))
    result = find_fixed_points(system, 3.0)
    found = np.array([p.state for p in result.fixed_points])
    brute = _brute_force(system, 3.0, np.linspace(-1, 1, 9))
    assert all(_contains(found, b) for b in brute)
    labels = [p.label for p in result.fixed_points if p.stability == "attractor"]
    assert "+1" in labels and "-3" in labels


def test_stability_agrees_with_fresh_eigenvalues():
    system = reduce(MeanFieldModel(3))
    for point in find_fixed_points(system, 2.5).fixed_points:
        eigenvalues = np.linalg.eigvals(system.jac(point.state, 2.5))
        assert point.n_unstable == int(np.sum(eigenvalues.real > 1e-9))


def test_energy_orders_attractors():
    """Retrieval states lie below the 3-mixtures in the mean field (AGS)."""
    points = find_fixed_points(reduce(MeanFieldModel(3)), 4.0).fixed_points
    retrieval = min(p.energy for p in points if p.kind == "retrieval")
    mixture = min(p.energy for p in points if p.kind == "mixture")
    assert retrieval < mixture


def test_bad_beta_and_options_raise():
    system = reduce(MeanFieldModel(2))
    with pytest.raises(InputError, match="beta"):
        find_fixed_points(system, 0.0)
    with pytest.raises(InputError, match="tol"):
        FinderOptions(tol=-1.0)


def test_degenerate_origin_at_the_pitchfork_is_one_point():
    """At beta = 1 the origin of the mean field is a K-fold degenerate root:
    the residual is tiny on a whole neighbourhood, yet only one point may
    come out (and it has K zero eigenvalues)."""
    result = find_fixed_points(reduce(MeanFieldModel(4)), 1.0)
    assert len(result.fixed_points) == 1
    point = result.fixed_points[0]
    assert np.linalg.norm(point.state) < 1e-6 and point.n_zero == 4
