"""Bifurcation diagrams of Hopfield networks against closed forms.

Every reference value is computed here, independently of hopdyn: scalar
fixed-point equations solved with scipy, and the published mean-field
thresholds of Amit, Gutfreund and Sompolinsky, Phys. Rev. A 32, 1007
(1985), doi:10.1103/PhysRevA.32.1007, recomputed from their definition.
"""

import itertools

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

from hopdyn.continuation import ContinuationOptions, apply_element, build_diagram
from hopdyn.models import ClassicModel, MeanFieldModel, ModernModel
from hopdyn.patterns import PatternSet
from hopdyn.symbolic import reduce

LOCATED = 1e-8


def branch_points(diagram, beta, tol=1e-6):
    return [p for p in diagram.special("BP") if abs(p.beta - beta) <= tol]


# --------------------------------------------------------------- modern
@pytest.fixture(scope="module")
def modern_two():
    system = reduce(ModernModel(PatternSet.from_array(np.eye(2))))
    return build_diagram(system, 0.5, 4.0)


@pytest.fixture(scope="module")
def modern_three():
    system = reduce(ModernModel(PatternSet.from_array(np.eye(3))))
    return build_diagram(system, 0.5, 6.0)


def test_two_orthonormal_modern_patterns_have_a_pitchfork_at_beta_2(modern_two):
    # THEORY.md: u = tanh(g u) with g = beta (n - s) / 2 = beta / 2.
    (bp,) = modern_two.special("BP")

    assert bp.beta == pytest.approx(2.0, abs=LOCATED)
    assert bp.kernel_dimension == 1
    assert {bp.n_unstable_before, bp.n_unstable_after} == {0, 1}
    np.testing.assert_allclose(bp.state, [0.5, 0.5], atol=1e-9)


def test_two_modern_patterns_retrieval_branch_solves_the_scalar_equation(modern_two):
    (child,) = [b for b in modern_two.branches if b.kind == "retrieval"]
    end = np.argmax(child.beta)
    g = child.beta[end] / 2.0
    u = brentq(lambda u: u - np.tanh(g * u), 1e-6, 1.0)

    assert child.multiplicity == 2
    assert abs(child.states[end, 0] - child.states[end, 1]) == pytest.approx(
        u, abs=1e-9
    )


def test_uniform_state_of_three_orthonormal_patterns_splits_at_beta_K(modern_three):
    (bp,) = branch_points(modern_three, 3.0)

    assert bp.beta == pytest.approx(3.0, abs=LOCATED)
    assert bp.kernel_dimension == 2
    assert (bp.n_unstable_before, bp.n_unstable_after) == (0, 2)


def fold_of_one_pattern_line():
    """beta at the fold of p = (q, (1-q)/2, (1-q)/2), p = softmax(beta p).

    On that line q / r = exp(beta (q - r)) with r = (1 - q) / 2, so
    beta(q) = 2 log(2q / (1 - q)) / (3q - 1); the retrieval state appears
    where beta(q) is smallest for q > 1/3.
    """

    def beta(q):
        return 2.0 * np.log(2.0 * q / (1.0 - q)) / (3.0 * q - 1.0)

    found = minimize_scalar(
        beta, bounds=(0.34, 0.999), method="bounded", options={"xatol": 1e-12}
    )
    return found.fun, found.x


def test_three_modern_patterns_retrieval_appears_at_the_fold(modern_three):
    beta_fold, q = fold_of_one_pattern_line()
    (lp,) = modern_three.special("LP")

    assert lp.beta == pytest.approx(beta_fold, abs=LOCATED)
    assert np.sort(lp.state)[::-1] == pytest.approx(
        [q, (1 - q) / 2, (1 - q) / 2], abs=1e-5
    )
    assert lp.kernel_dimension == 1
    assert lp.multiplicity == 3


def test_modern_cyclic_readout_has_a_hopf_point():
    # X = I and Q = I + c P with P the cyclic shift: G = X Q^T = I + c P^T.
    # At the uniform state J = beta G (I - 11^T / 3) / 3 - I; on the plane
    # orthogonal to 1 the eigenvalues of G are 1 + c exp(+-2 pi i / 3), so a
    # complex pair crosses where beta (1 - c / 2) / 3 = 1, with frequency
    # beta c (sqrt(3) / 2) / 3.
    c = 0.9
    readout = np.eye(3) + c * np.roll(np.eye(3), 1, axis=0)
    model = ModernModel(PatternSet.from_array(np.eye(3)), readout=readout)
    diagram = build_diagram(reduce(model), 0.5, 8.0)
    (hb,) = diagram.special("HB")
    beta = 3.0 / (1.0 - c / 2.0)

    assert hb.beta == pytest.approx(beta, abs=LOCATED)
    assert hb.frequency == pytest.approx(beta * c * np.sqrt(3) / 6, abs=1e-6)
    assert (hb.kernel_dimension, hb.n_unstable_before, hb.n_unstable_after) == (2, 0, 2)


# -------------------------------------------------------- 4-neuron Hebbian
@pytest.fixture(scope="module")
def hebbian_system():
    patterns = PatternSet.from_array([[1, 1, 1, 1], [1, -1, 1, -1]])
    return reduce(ClassicModel(patterns, form="A"))


@pytest.fixture(scope="module")
def hebbian(hebbian_system):
    return build_diagram(hebbian_system, 0.5, 3.0)


def test_hebbian_origin_loses_stability_at_beta_1_through_a_double_crossing(hebbian):
    (bp,) = hebbian.special("BP")

    assert bp.beta == pytest.approx(1.0, abs=LOCATED)
    np.testing.assert_allclose(bp.state, 0.0, atol=1e-12)
    assert bp.kernel_dimension == 2
    assert (bp.n_unstable_before, bp.n_unstable_after) == (0, 2)


def hebbian_references(beta):
    """Overlaps of the retrieval state (a, 0) and the mixture (b, b).

    With columns (1, 1) and (1, -1) each on half the neurons, the reduced
    field gives a = tanh(beta a) and b = tanh(2 beta b) / 2.
    """
    a = brentq(lambda a: a - np.tanh(beta * a), 1e-6, 1.0)
    b = brentq(lambda b: b - 0.5 * np.tanh(2 * beta * b), 1e-6, 1.0)
    retrieval = [[s * a, 0.0] for s in (1, -1)] + [[0.0, s * a] for s in (1, -1)]
    mixtures = [[s * b, t * b] for s in (1, -1) for t in (1, -1)]
    return np.array(retrieval + mixtures)


def end_states(diagram, beta, expand):
    states = []
    for branch in diagram.branches:
        at_end = np.flatnonzero(np.abs(branch.beta - beta) < 1e-12)
        for i in at_end:
            copies = branch.copies if expand else [[1, 2]]
            states += [apply_element(c, branch.states[i]) for c in copies]
    return np.array(states)


def assert_same_set(found, expected, tol=1e-8):
    for row in expected:
        assert np.min(np.linalg.norm(found - row, axis=1)) <= tol, row


def test_hebbian_all_four_pairs_of_branches_appear_as_copies(hebbian):
    expected = hebbian_references(3.0)
    emerging = [b for b in hebbian.branches if b.kind != "origin"]

    assert sorted(b.multiplicity for b in emerging) == [4, 4]
    assert_same_set(end_states(hebbian, 3.0, expand=True), expected)


def test_hebbian_all_four_pairs_appear_without_symmetry(hebbian_system):
    options = ContinuationOptions(symmetry=False)
    diagram = build_diagram(hebbian_system, 0.5, 3.0, options=options)
    found = end_states(diagram, 3.0, expand=False)

    assert len(diagram.branches) == 5
    assert_same_set(found, hebbian_references(3.0))
    assert all(b.multiplicity == 1 for b in diagram.branches)


# ------------------------------------------------------------- mean field
def sign_vectors(n):
    return np.array(list(itertools.product((-1.0, 1.0), repeat=n)))


def mixture_amplitude(n, beta):
    """a with m = a (1, ..., 1) a fixed point of the n-pattern mean field:
    a = E_z[z_1 tanh(beta a sum_i z_i)]."""
    z = sign_vectors(n)
    field = z.sum(axis=1)
    return brentq(lambda a: a - np.mean(z[:, 0] * np.tanh(beta * a * field)), 1e-6, 1)


def mixture_top_eigenvalue(n, beta):
    """Largest eigenvalue of -I + beta E[sech^2(beta a sum z) z z^T]."""
    z = sign_vectors(n)
    a = mixture_amplitude(n, beta)
    weight = 1.0 / np.cosh(beta * a * z.sum(axis=1)) ** 2
    jac = -np.eye(n) + beta * (z * weight[:, None]).T @ z / len(z)
    return np.linalg.eigvalsh(jac).max()


def stabilising_temperature(n):
    return 1.0 / brentq(lambda b: mixture_top_eigenvalue(n, b), 1.2, 10.0, xtol=1e-14)


def test_odd_mixtures_stabilise_at_the_published_temperatures():
    # Published: T_3 = 0.461, T_5 = 0.385 (AGS 1985); recomputed here.
    assert stabilising_temperature(3) == pytest.approx(0.461, abs=2e-3)
    assert stabilising_temperature(5) == pytest.approx(0.385, abs=2e-3)


@pytest.mark.parametrize("n", [2, 4])
def test_even_mixtures_are_never_stable(n):
    betas = np.linspace(1.05, 30.0, 60)
    assert min(mixture_top_eigenvalue(n, b) for b in betas) > 0


@pytest.fixture(scope="module")
def mean_field_three():
    return build_diagram(reduce(MeanFieldModel(3)), 0.5, 4.0)


def mixture_size(branch):
    return len(branch.patterns) if branch.kind in ("retrieval", "mixture") else 0


def symmetric(branch):
    far = np.argmax(np.linalg.norm(branch.states, axis=1))
    magnitudes = np.abs(branch.states[far])
    return np.ptp(magnitudes[magnitudes > 1e-6]) < 1e-9


def test_every_symmetric_mixture_is_born_at_beta_1(mean_field_three):
    (origin_bp,) = branch_points(mean_field_three, 1.0)
    children = [mean_field_three.branch(i) for i in origin_bp.children]

    assert origin_bp.kernel_dimension == 3
    assert sorted(mixture_size(b) for b in children) == [1, 2, 3]
    assert all(symmetric(b) for b in children)
    assert sorted(b.multiplicity for b in children) == [6, 8, 12]


def test_three_mixture_becomes_stable_at_the_ags_temperature(mean_field_three):
    (three,) = [
        b for b in mean_field_three.branches if mixture_size(b) == 3 and symmetric(b)
    ]
    changes = [
        p
        for p in mean_field_three.special_points
        if p.branch == three.id
        and p.kind in ("BP", "LP")
        and 0 in (p.n_unstable_before, p.n_unstable_after)
    ]

    assert len(changes) == 1
    assert changes[0].beta == pytest.approx(1.0 / stabilising_temperature(3), abs=1e-6)
    assert changes[0].kernel_dimension == 2


def test_two_mixture_branch_is_never_stable(mean_field_three):
    (two,) = [b for b in mean_field_three.branches if mixture_size(b) == 2]
    beyond_birth = two.beta > 1.0 + 1e-6

    assert np.all(two.n_unstable[beyond_birth] > 0)


@pytest.mark.slow
def test_five_mixture_becomes_stable_at_the_ags_temperature():
    diagram = build_diagram(reduce(MeanFieldModel(5)), 0.5, 3.0)
    (five,) = [b for b in diagram.branches if mixture_size(b) == 5 and symmetric(b)]
    (change,) = [
        p
        for p in diagram.special_points
        if p.branch == five.id and 0 in (p.n_unstable_before, p.n_unstable_after)
    ]

    assert change.kind == "BP"
    assert change.beta == pytest.approx(1.0 / stabilising_temperature(5), abs=1e-6)
    assert change.kernel_dimension == 4
