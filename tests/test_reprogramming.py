"""hopdyn.reprogramming: the pulse search on three orthonormal block patterns.

Cell type A is +1/sqrt(3) on genes g0-g2, B on g3-g5 and C on g6-g8. Their
Gram matrix is the identity, so a pulse of strength s on n genes of B pushes
the overlaps by n s / sqrt(3) along B, and nothing else.
"""

import numpy as np
import pytest
from scipy.optimize import brentq, fsolve

from hopdyn.errors import InputError
from hopdyn.fixed_points import find_fixed_points
from hopdyn.models import ClassicModel, ModernModel, softmax
from hopdyn.patterns import PatternSet, rolling_patterns
from hopdyn.reprogramming import ReprogrammingResult, find_reprogramming_pulse
from hopdyn.simulate import Pulse, simulate
from hopdyn.symbolic import reduce

BETA = 4.0
PUSH = 1.0 / np.sqrt(3.0)  # overlap gained along B per unit pulse on one gene


@pytest.fixture(scope="module")
def blocks():
    values = np.kron(np.eye(3), np.ones(3)) * PUSH
    genes = [f"g{i}" for i in range(9)]
    return ModernModel(PatternSet(values, ["A", "B", "C"], genes, "blocks"))


@pytest.fixture(scope="module")
def fixed_points(blocks):
    return find_fixed_points(reduce(blocks), BETA)


@pytest.fixture(scope="module")
def found(blocks, fixed_points):
    return find_reprogramming_pulse(blocks, BETA, "A", "B", fixed_points=fixed_points)


def _retrieval_overlap(beta):
    """Overlap a of the retrieval state of orthonormal patterns, K = 3:
    a = 1 / (1 + 2 exp(-beta (a - b))) with the other two at b = (1 - a) / 2."""

    def gap(a):
        b = (1.0 - a) / 2.0
        return a - 1.0 / (1.0 + 2.0 * np.exp(-beta * (a - b)))

    return brentq(gap, 0.5, 1.0, xtol=1e-14)


def _fold_push(beta):
    """Push c along B at which the A attractor of dm/dt = softmax(beta m) -
    m + c e_B disappears: the fold where the field and det J both vanish."""

    def equations(z):
        m, c = z[:3], z[3]
        p = softmax(beta * m)
        jac = beta * (np.diag(p) - np.outer(p, p)) - np.eye(3)
        return [*(p - m + c * np.eye(3)[1]), np.linalg.det(jac)]

    z = fsolve(equations, [0.8, 0.2, 0.05, 0.15], xtol=1e-12)
    assert z[0] > z[1] > z[2]  # the fold of the A attractor, not another one
    return z[3]


def _replay(model, result, strength):
    """Overlaps at t_max of the full run with the returned pulse window."""
    pulse = Pulse(result.genes, strength, result.t_on, result.t_off)
    run = simulate(model, BETA, result.t_max, result.x0, pulse=pulse, n_points=2)
    assert run.success
    return run.overlaps[-1]


def test_blocks_have_three_retrieval_attractors(fixed_points):
    attractors = [p for p in fixed_points.fixed_points if p.stability == "attractor"]

    assert sorted(p.label for p in attractors) == ["A", "B", "C"]


def test_blocks_search_finds_one_gene_of_b(found):
    assert found.success and found.status == 0
    assert found.genes == ("g3",)
    assert found.final_label == "B"
    assert found.candidates == ("g3", "g4", "g5")


def test_blocks_returned_pulse_ends_at_b_attractor(blocks, found):
    a = _retrieval_overlap(BETA)
    attractor_b = np.array([(1 - a) / 2, a, (1 - a) / 2])

    final = _replay(blocks, found, found.strength)

    np.testing.assert_allclose(final, attractor_b, atol=1e-4)
    np.testing.assert_allclose(found.target_attractor, attractor_b, atol=1e-8)


def test_blocks_weaker_pulse_stays_in_a(blocks, found):
    a = _retrieval_overlap(BETA)
    attractor_a = np.array([a, (1 - a) / 2, (1 - a) / 2])

    final = _replay(blocks, found, 0.9 * found.strength)

    np.testing.assert_allclose(final, attractor_a, atol=1e-4)


def test_blocks_strength_is_bracketed_to_rtol(found):
    low, high = found.strength_bracket

    assert high == found.strength
    assert 0.0 < high - low <= 0.02 * high


def test_blocks_long_pulse_threshold_is_the_fold(blocks, fixed_points):
    """A pulse long enough to let the state settle works just past the fold
    of the driven system; slow passage near the fold costs a little more."""
    result = find_reprogramming_pulse(
        blocks, BETA, "A", "B", max_genes=1, duration=60.0, fixed_points=fixed_points
    )
    fold = _fold_push(BETA)

    assert fold <= PUSH * result.strength <= 1.05 * fold


def test_blocks_capped_strength_needs_two_genes(blocks, fixed_points, found):
    """One gene needs about 0.50; below that cap the search takes two genes,
    each at half the strength (the push along B is what counts)."""
    result = find_reprogramming_pulse(
        blocks, BETA, "A", "B", strengths=(0.1, 0.2, 0.4), fixed_points=fixed_points
    )

    assert result.success
    assert result.genes == ("g3", "g4")
    assert 2 * result.strength == pytest.approx(found.strength, rel=0.03)


def test_blocks_no_pulse_in_range_is_a_status(blocks, fixed_points):
    result = find_reprogramming_pulse(
        blocks,
        BETA,
        "A",
        "B",
        max_genes=1,
        strengths=(0.01, 0.02),
        fixed_points=fixed_points,
    )

    assert not result.success and result.status == 1
    assert result.genes == () and result.strength is None and result.pulse is None
    assert "no pulse" in result.message


def test_blocks_at_low_beta_have_no_attractor_to_leave(blocks):
    """Below beta = 3 the uniform state is the only attractor."""
    result = find_reprogramming_pulse(blocks, 2.0, "A", "B")

    assert not result.success and result.status == 2
    assert result.message == "'A' is not an attractor at beta=2"
    assert result.n_trials == 0


def test_blocks_candidate_genes_restrict_the_pulse(blocks, fixed_points):
    result = find_reprogramming_pulse(
        blocks, BETA, "A", "B", candidate_genes=["g5", "g0"], fixed_points=fixed_points
    )

    assert result.success and result.genes == ("g5",)
    assert result.candidates == ("g5",)


def test_result_reads_as_a_mapping(found):
    assert isinstance(found, ReprogrammingResult)
    assert found["genes"] == found.genes
    assert set(found) >= {"success", "status", "message", "strength", "n_trials"}
    assert found.n_trials > 0 and found.n_full == 1


@pytest.mark.parametrize(
    ("source", "target", "match"),
    [
        ("A", "Z", "target: unknown cell type 'Z'"),
        ("Mono", "B", "source: unknown cell type 'Mono'"),
        ("A", "A", "must differ"),
    ],
)
def test_unknown_or_equal_cell_types_raise(blocks, source, target, match):
    with pytest.raises(InputError, match=match):
        find_reprogramming_pulse(blocks, BETA, source, target)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"candidate_genes": ["g3", "CD14"]}, "unknown genes"),
        ({"max_genes": 0}, "max_genes must be >= 1"),
        ({"strengths": (0.2, 0.1)}, "strengths must increase"),
        ({"strengths": (-0.1, 0.1)}, "finite and > 0"),
        ({"duration": 0.0}, "duration must be > 0"),
    ],
)
def test_bad_options_raise(blocks, options, match):
    with pytest.raises(InputError, match=match):
        find_reprogramming_pulse(blocks, BETA, "A", "B", **options)


def test_classical_model_is_rejected():
    model = ClassicModel(rolling_patterns(9, 3), form="A")

    with pytest.raises(InputError, match="modern model"):
        find_reprogramming_pulse(model, BETA, "1", "2")
