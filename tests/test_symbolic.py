"""The sympy-derived reduced systems against finite differences and
trajectories (the energy never increases)."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from hopdyn.models import ClassicModel, MeanFieldModel, ModernModel
from hopdyn.patterns import PatternSet, random_patterns, rolling_patterns
from hopdyn.symbolic import reduce


def _models():
    rng = np.random.default_rng(3)
    gaussian = PatternSet.from_array(rng.normal(size=(3, 8)))
    readout = rng.normal(size=(3, 8))
    return {
        "meanfield": MeanFieldModel(3),
        "classic-A-field": ClassicModel(random_patterns(60, 3, seed=2), "A", 0.2),
        "classic-B-rolling": ClassicModel(rolling_patterns(12, 3), "B"),
        "classic-C": ClassicModel(random_patterns(40, 2, seed=5), "C"),
        "classic-real": ClassicModel(gaussian, "A"),
        "modern": ModernModel(gaussian, w=[0.1, -0.2, 0.0]),
        "modern-readout": ModernModel(gaussian, readout=readout),
    }


MODELS = _models()


def _finite_difference_jacobian(fun, x, beta, h=1e-6):
    columns = [
        (fun(x + e, beta) - fun(x - e, beta)) / (2 * h) for e in np.eye(len(x)) * h
    ]
    return np.array(columns).T


@pytest.mark.parametrize("name", sorted(MODELS))
def test_jacobian_matches_finite_differences(name):
    system = reduce(MODELS[name])
    rng = np.random.default_rng(0)
    for beta in (0.7, 3.0):
        x = rng.normal(scale=0.4, size=system.dimension)
        expected = _finite_difference_jacobian(system.fun, x, beta)
        np.testing.assert_allclose(system.jac(x, beta), expected, atol=1e-7)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_dfdbeta_matches_finite_differences(name):
    system = reduce(MODELS[name])
    x = np.random.default_rng(1).normal(scale=0.4, size=system.dimension)
    h = 1e-6
    expected = (system.fun(x, 2.0 + h) - system.fun(x, 2.0 - h)) / (2 * h)
    np.testing.assert_allclose(system.dfdbeta(x, 2.0), expected, atol=1e-7)


INVARIANT_LIFT = [n for n, m in sorted(MODELS.items()) if getattr(m, "form", "") != "A"]


@pytest.mark.parametrize("name", INVARIANT_LIFT)
def test_reduced_field_matches_projected_full_field(name):
    """On the lifted state of a reduced state the full field projects onto
    the reduced one (forms B, C, D and the modern model: exact everywhere on
    the invariant subspace)."""
    model = MODELS[name]
    system = reduce(model)
    state = np.random.default_rng(4).normal(scale=0.3, size=system.dimension)
    if model.kind == "modern":
        x = state @ np.linalg.pinv(model.X).T
    else:
        x = model.lift(state, 1.5)
    projected = model.project(x + 1e-7 * model.full_fun(x, 1.5)) - model.project(x)
    np.testing.assert_allclose(projected / 1e-7, system.fun(state, 1.5), atol=1e-5)


@pytest.mark.parametrize("name", ["meanfield", "classic-A-field", "modern"])
def test_energy_is_a_potential_of_the_field(name):
    """Classical reduced flows are -grad F; the modern one is -G grad F."""
    model = MODELS[name]
    system = reduce(model)
    x = np.random.default_rng(2).normal(scale=0.4, size=system.dimension)
    h = 1e-6
    grad = np.array(
        [
            (system.energy(x + e, 2.5) - system.energy(x - e, 2.5)) / (2 * h)
            for e in np.eye(len(x)) * h
        ]
    )
    metric = model.X @ model.X.T if model.kind == "modern" else np.eye(len(x))
    np.testing.assert_allclose(system.fun(x, 2.5), -metric @ grad, atol=1e-6)


@pytest.mark.parametrize("name", ["meanfield", "classic-A-field", "modern"])
def test_energy_never_increases_along_trajectories(name):
    system = reduce(MODELS[name])
    rng = np.random.default_rng(7)
    for _ in range(3):
        x0 = rng.normal(scale=0.6, size=system.dimension)
        sol = solve_ivp(
            lambda t, x: system.fun(x, 3.0), (0, 8), x0, rtol=1e-9, atol=1e-11
        )
        energy = system.energy(sol.y.T, 3.0)
        assert np.all(np.diff(energy) <= 1e-10)
        assert energy[-1] < energy[0]


def test_modern_is_finite_for_very_large_beta():
    X = PatternSet.from_array(np.eye(3))
    system = reduce(ModernModel(X, w=[0.0, 1e-3, 0.0]))
    m = np.array([0.4, 0.4, 0.2])
    for value in (system.fun(m, 1e4), system.jac(m, 1e4), system.energy(m, 1e4)):
        assert np.all(np.isfinite(value))
    # z = (4000, 4000.001, 2000): the first two share the weight by e^0.001
    # and the third has weight e^-2000, far below double precision.
    first = 1.0 / (1.0 + np.exp(1e-3))
    expected = np.array([first, 1.0 - first, 0.0]) - m
    np.testing.assert_allclose(system.fun(m, 1e4), expected, atol=1e-12)


def test_modern_jacobian_has_eigenvalue_minus_one_on_ones():
    """(diag p - p p^T) 1 = 0, so J 1 = -1 (THEORY.md)."""
    model = MODELS["modern"]
    system = reduce(model)
    x = np.random.default_rng(9).normal(size=3)
    J = system.jac(x, 2.0)
    G = model.X @ model.Q.T
    C = np.linalg.solve(2.0 * G, J + np.eye(3))  # J = beta G C - I
    np.testing.assert_allclose(C @ np.ones(3), 0.0, atol=1e-10)


def test_latex_mentions_state_and_beta():
    text = reduce(MODELS["modern"]).latex()
    assert "p_{1}" in text["field"] and "m_{1}" in text["field"]
    assert "beta" in text["definitions"] and "beta" in text["energy"]
    assert reduce(MODELS["classic-C"]).latex()["field"].startswith(r"\dot m")


def test_vectorised_over_leading_axes():
    system = reduce(MODELS["classic-real"])
    states = np.random.default_rng(5).normal(size=(4, 6, system.dimension))
    stacked = system.jac(states, 1.3)
    assert stacked.shape == (4, 6, 3, 3)
    np.testing.assert_allclose(stacked[2, 3], system.jac(states[2, 3], 1.3))
