"""Full and reduced dynamics agree: trajectories, fixed points, spectra.

The reductions of DESIGN.md are exact, so trajectories integrated in the
full space and projected must match those integrated in the reduced space
up to the integration tolerance, and a reduced fixed point lifts to a zero
of the full field whose spectrum contains the reduced one (THEORY.md).
"""

import numpy as np
import pytest
from scipy.optimize import root

from hopdyn.models import ClassicModel, MeanFieldModel, ModernModel, sign_vectors
from hopdyn.patterns import PatternSet, random_patterns
from hopdyn.simulate import random_state, simulate
from hopdyn.symbolic import reduce

BETA = 2.0
# Pattern 1 of the Gaussian modern set is only retrieved at larger beta.
BETA_MODERN = 8.0
T_MAX = 3.0
TIGHT = {"rtol": 1e-10, "atol": 1e-12, "n_points": 31}
AGREE = 1e-6


@pytest.fixture(scope="module")
def binary():
    return random_patterns(400, 3, seed=11)


@pytest.fixture(scope="module")
def gaussian_modern():
    """Gaussian patterns (K=3, N=20) with a readout Q != X, weights and u."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3, 20)) / np.sqrt(20)
    Q = X + 0.3 * rng.standard_normal((3, 20)) / np.sqrt(20)
    w = np.array([0.0, 0.2, -0.1])
    u = 0.05 * rng.standard_normal(20)
    return ModernModel(PatternSet.from_array(X), readout=Q, w=w, u=u)


def run(model, x0, **options):
    trajectory = simulate(model, BETA, T_MAX, x0, **TIGHT, **options)
    assert trajectory.success, trajectory.message
    return trajectory


# --------------------------------------------------------------------------
# Trajectories
# --------------------------------------------------------------------------


def test_forms_A_B_D_follow_the_same_overlaps(binary):
    form = {f: ClassicModel(binary, form=f) for f in "ABD"}
    X, N = binary.values, binary.N
    x_A0 = random_state(form["A"], seed=3)
    h0 = X @ x_A0 / N

    m_A = form["A"].project(run(form["A"], x_A0).states)
    h_B = form["B"].project(run(form["B"], h0 @ X).states)
    h_D = run(form["D"], h0).states

    np.testing.assert_allclose(h_B, m_A, atol=AGREE, rtol=0)
    np.testing.assert_allclose(h_D, m_A, atol=AGREE, rtol=0)
    assert np.ptp(m_A[:, 0]) > 0.1, "the trajectory should move"


def test_forms_A_and_B_with_a_field_follow_their_reduced_system(binary):
    field = np.random.default_rng(2).choice([-0.2, 0.1], size=binary.N)
    model_A = ClassicModel(binary, form="A", field=field)
    model_B = ClassicModel(binary, form="B", field=field)
    x_A0 = random_state(model_A, seed=4)
    m0 = model_A.project(x_A0)

    reduced = run(model_A, m0, reduced=True).states
    full_A = model_A.project(run(model_A, x_A0).states)
    full_B = model_B.project(run(model_B, m0 @ binary.values + field).states)

    np.testing.assert_allclose(full_A, reduced, atol=AGREE, rtol=0)
    np.testing.assert_allclose(full_B, reduced, atol=AGREE, rtol=0)


def test_form_C_projects_onto_its_two_layer_reduction(binary):
    model = ClassicModel(binary, form="C")
    X, N = binary.values, binary.N
    a0 = X @ random_state(model, seed=6)[:N] / N
    hidden0 = np.sqrt(N) * np.array([0.3, -0.2, 0.1])
    x0 = np.concatenate([a0 @ X, hidden0])

    full = model.project(run(model, x0).states)
    reduced = run(model, model.project(x0), reduced=True).states

    assert reduced.shape[1] == 6
    np.testing.assert_allclose(full, reduced, atol=AGREE, rtol=0)


def test_modern_with_custom_readout_projects_onto_m(gaussian_modern):
    model = gaussian_modern
    assert not model.gradient
    x0 = random_state(model, seed=8)

    full = model.project(run(model, x0).states)
    reduced = run(model, model.project(x0), reduced=True).states

    np.testing.assert_allclose(full, reduced, atol=AGREE, rtol=0)


def test_mean_field_equals_form_A_on_balanced_columns():
    K = 3
    X = np.tile(sign_vectors(K).T, 5)  # each sign vector in 5 columns
    model_A = ClassicModel(PatternSet.from_array(X), form="A")
    x0 = random_state(model_A, seed=9) - 0.5
    m0 = model_A.project(x0)

    # The mean field's own field, form A's full field and its reduction.
    mean_field = run(MeanFieldModel(K), m0).states
    full = model_A.project(run(model_A, x0).states)
    reduced = run(model_A, m0, reduced=True).states

    np.testing.assert_allclose(full, mean_field, atol=AGREE, rtol=0)
    np.testing.assert_allclose(reduced, mean_field, atol=AGREE, rtol=0)


# --------------------------------------------------------------------------
# Fixed points
# --------------------------------------------------------------------------


def retrieval_seed(model):
    """A state near pattern 1 in the reduced coordinates of ``model``."""
    m = np.array([0.9, 0.0, 0.0])
    if model.kind == "modern":
        return model.X @ model.Q[0]
    if model.form == "C":
        return np.concatenate([m, m])
    return m


def beta_for(model):
    return BETA_MODERN if model.kind == "modern" else BETA


def reduced_fixed_point(model):
    system = reduce(model)
    solution = root(
        system.fun,
        retrieval_seed(model),
        args=(beta_for(model),),
        jac=system.jac,
        tol=1e-13,
    )
    assert solution.success, solution.message
    return system, solution.x


def models(binary, gaussian_modern):
    yield from (ClassicModel(binary, form=form) for form in "ABCD")
    yield gaussian_modern
    yield MeanFieldModel(3)


def assert_contained(inner, outer, atol=1e-7):
    """Each value of `inner` is within `atol` of some value of `outer`."""
    gaps = np.abs(np.asarray(inner)[:, None] - np.asarray(outer)[None, :])
    assert gaps.min(axis=1).max() < atol, (inner, outer)


def test_lifted_fixed_points_are_zeros_of_the_full_field(binary, gaussian_modern):
    for model in models(binary, gaussian_modern):
        _, state = reduced_fixed_point(model)
        beta = beta_for(model)
        full = model.lift(state, beta)

        residual = np.abs(model.full_fun(full, beta)).max()
        assert residual < 1e-10, model.describe()
        np.testing.assert_allclose(model.project(full), state, atol=1e-10)


@pytest.mark.parametrize("form", ["A", "B", "D"])
def test_reduced_spectrum_is_part_of_the_full_spectrum(binary, form):
    model = ClassicModel(binary, form=form)
    system, state = reduced_fixed_point(model)
    full = model.lift(state, BETA)

    reduced_eigenvalues = np.linalg.eigvals(system.jac(state, BETA))
    full_eigenvalues = np.linalg.eigvals(model.full_jac(full, BETA))

    assert_contained(reduced_eigenvalues, full_eigenvalues)
    assert np.all(reduced_eigenvalues.real < 0), "a retrieval state attracts"


def test_modern_reduced_spectrum_is_part_of_the_full_one(gaussian_modern):
    model = gaussian_modern
    system, state = reduced_fixed_point(model)
    full = model.lift(state, BETA_MODERN)

    reduced_eigenvalues = np.linalg.eigvals(system.jac(state, BETA_MODERN))
    full_eigenvalues = np.linalg.eigvals(model.full_jac(full, BETA_MODERN))

    assert_contained(reduced_eigenvalues, full_eigenvalues)
    # (1, ..., 1) is an eigenvector of the reduced Jacobian with eigenvalue -1.
    assert_contained([-1.0], reduced_eigenvalues, atol=1e-12)
    assert state.argmax() == 0, "the seed should converge to pattern 1"


def test_form_C_eigenvalues_are_minus_one_plus_minus_sqrt_mu(binary):
    model = ClassicModel(binary, form="C")
    system, state = reduced_fixed_point(model)
    full = model.lift(state, BETA)
    X, N = binary.values, binary.N

    v = full[:N]
    J = X.T @ X / N
    D = np.diag(1.0 / np.cosh(BETA * v) ** 2)
    mu = np.linalg.eigvals(BETA * J @ D)
    mu = mu[np.argsort(-np.abs(mu))[: model.K]].astype(complex)
    expected = np.concatenate([-1 + np.sqrt(mu), -1 - np.sqrt(mu)])

    assert_contained(expected, np.linalg.eigvals(system.jac(state, BETA)))
    assert_contained(expected, np.linalg.eigvals(model.full_jac(full, BETA)))
