"""Phase portraits: planes, separatrices against closed forms, basins by
symmetry, and figures for two- and three-pattern systems."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy.optimize import brentq

from hopdyn.errors import InputError
from hopdyn.fixed_points import find_fixed_points
from hopdyn.models import MeanFieldModel, ModernModel
from hopdyn.patterns import PatternSet
from hopdyn.plotting.portrait import (
    compute_portrait,
    plot_portrait,
    portrait_plane,
    saddle_manifolds,
)
from hopdyn.symbolic import reduce

BETA = 2.0


@pytest.fixture(scope="module")
def meanfield_k2():
    system = reduce(MeanFieldModel(2))
    return system, find_fixed_points(system, BETA)


@pytest.fixture(scope="module")
def meanfield_k3():
    system = reduce(MeanFieldModel(3))
    return system, find_fixed_points(system, BETA)


def _retrieval_amplitude(beta):
    """a* > 0 with a* = tanh(beta a*): the retrieval state (a*, 0)."""
    return brentq(lambda a: a - np.tanh(beta * a), 1e-3, 1.0)


def _mixture_amplitude(beta):
    """a > 0 with a = tanh(2 beta a) / 2: the 2-mixture saddle (a, a)."""
    return brentq(lambda a: a - np.tanh(2 * beta * a) / 2, 1e-3, 1.0)


def _index(result, label):
    labels = [p.label for p in result.fixed_points]
    return labels.index(label)


# ------------------------------------------------------------------ figures
def test_meanfield_k2_portrait_is_a_figure_and_writes_png(meanfield_k2, tmp_path):
    system, points = meanfield_k2
    path = tmp_path / "portrait.png"

    fig = plot_portrait(system, BETA, basins=True, fixed_points=points, path=path)

    assert isinstance(fig, Figure)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert fig.axes[0].get_xlabel() == "$m_{1}$"
    assert "state plane" in fig.get_suptitle()


# ------------------------------------------------- separatrices, closed form
def test_meanfield_k2_stable_manifold_of_mixture_lies_on_diagonal(meanfield_k2):
    """By the symmetry m1 <-> m2 the separatrix through the saddle (a, a)
    between the basins of +1 and +2 is the diagonal: one branch runs back
    to the repelling origin, the other out of the box."""
    system, points = meanfield_k2
    a = _mixture_amplitude(BETA)
    saddle = points.fixed_points[_index(points, "mix(+1, +2)")]
    np.testing.assert_allclose(saddle.state, [a, a], atol=1e-10)

    plane = portrait_plane(system, BETA, fixed_points=points)
    stable = [
        m for m in saddle_manifolds(system, BETA, plane, [saddle]) if m.kind == "stable"
    ]

    assert len(stable) == 2
    for branch in stable:
        assert np.max(np.abs(branch.states[:, 0] - branch.states[:, 1])) < 1e-8
    ends = sorted(np.linalg.norm(b.end) for b in stable)
    assert ends[0] < 1e-5
    assert sorted(b.outcome for b in stable) == ["left", "settled"]


def test_meanfield_k2_unstable_manifold_of_mixture_ends_at_retrieval(meanfield_k2):
    """The unstable manifold of (a, a) joins it to (a*, 0) and (0, a*)."""
    system, points = meanfield_k2
    a_star = _retrieval_amplitude(BETA)
    saddle = points.fixed_points[_index(points, "mix(+1, +2)")]
    plane = portrait_plane(system, BETA, fixed_points=points)

    unstable = [
        m
        for m in saddle_manifolds(system, BETA, plane, [saddle])
        if m.kind == "unstable"
    ]

    ends = sorted((tuple(b.end) for b in unstable), key=lambda e: e[0])
    np.testing.assert_allclose(ends, [[0.0, a_star], [a_star, 0.0]], atol=1e-5)
    assert all(b.outcome == "settled" for b in unstable)
    assert all(b.eigenvalue == pytest.approx(1.0, abs=1e-6) for b in unstable)


def test_meanfield_k2_basins_are_symmetric(meanfield_k2):
    """The four retrieval states share the plane equally, and a state near
    +1 lies in its basin."""
    system, points = meanfield_k2
    portrait = compute_portrait(system, BETA, basins=True, fixed_points=points)
    basins = portrait.basins

    fractions = basins.fractions()
    assert {p.label for p in basins.attractors} == {"+1", "-1", "+2", "-2"}
    np.testing.assert_allclose(fractions, 0.25, atol=0.01)

    i = np.argmin(np.abs(basins.x - 0.9))
    j = np.argmin(np.abs(basins.y - 0.1))
    assert basins.attractors[basins.index[j, i]].label == "+1"


# ------------------------------------------------------------ planes, K = 3
def test_meanfield_k3_pattern_plane_is_the_m3_zero_plane(meanfield_k3):
    system, points = meanfield_k3
    plane = portrait_plane(system, BETA, "patterns:1,2", fixed_points=points)

    np.testing.assert_allclose(plane.origin, 0.0)
    np.testing.assert_allclose(plane.basis, np.eye(3)[:2], atol=1e-12)
    assert plane.description == "plane of patterns 1 and 2 through the origin"

    portrait = compute_portrait(system, BETA, plane, fixed_points=points)
    labels = sorted(p.label for p in portrait.fixed_points)
    assert labels == sorted(
        ["origin", "+1", "-1", "+2", "-2"]
        + ["mix(+1, +2)", "mix(+1, -2)", "mix(-1, +2)", "mix(-1, -2)"]
    )
    assert portrait.invariant
    assert isinstance(plot_portrait(system, BETA, plane, fixed_points=points), Figure)


def test_meanfield_k3_default_plane_is_patterns_1_2(meanfield_k3):
    system, points = meanfield_k3
    assert portrait_plane(system, BETA).spec == "patterns:1,2"


def test_meanfield_k3_points_plane_holds_its_three_points(meanfield_k3):
    """The plane through the retrieval states a* e_k is m1 + m2 + m3 = a*.
    The 2-mixtures (a, a, 0) lie in it too, since 2a and a* solve the same
    equation x = tanh(beta x); the 3-mixtures do not."""
    system, points = meanfield_k3
    chosen = [_index(points, "+1"), _index(points, "+2"), _index(points, "+3")]
    spec = "points:" + ",".join(map(str, chosen))

    plane = portrait_plane(system, BETA, spec, fixed_points=points)
    states = np.array([points.fixed_points[i].state for i in chosen])

    np.testing.assert_allclose(plane.distance(states), 0.0, atol=1e-12)
    np.testing.assert_allclose(plane.coordinates(states[0]), [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(plane.basis @ plane.basis.T, np.eye(2), atol=1e-12)

    portrait = compute_portrait(system, BETA, plane, fixed_points=points)
    shown = sorted(p.label for p in portrait.fixed_points)
    assert shown == ["+1", "+2", "+3", "mix(+1, +2)", "mix(+1, +3)", "mix(+2, +3)"]
    assert isinstance(plot_portrait(system, BETA, plane, fixed_points=points), Figure)


# ---------------------------------------------------------- softmax planes
def test_modern_k2_state_plane_covers_both_patterns():
    system = reduce(ModernModel(PatternSet.from_array(np.eye(2))))
    plane = portrait_plane(system, 3.0)

    (x0, x1), (y0, y1) = plane.limits
    assert plane.spec == "state"
    assert x0 < 0.0 and x1 > 1.0 and y0 < 0.0 and y1 > 1.0


def test_modern_k3_pattern_plane_passes_through_uniform_state():
    system = reduce(ModernModel(PatternSet.from_array(np.eye(3))))
    plane = portrait_plane(system, 3.0, "patterns:2,3")

    np.testing.assert_allclose(plane.origin, np.full(3, 1 / 3))
    np.testing.assert_allclose(plane.states([1.0, 0.0]), [0.0, 1.0, 0.0])
    assert plane.description.endswith("through the uniform state")


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("patterns:1", "needs 2 numbers"),
        ("patterns:2,2", "distinct"),
        ("patterns:0,2", "from 1 to 3"),
        ("patterns:1,4", "from 1 to 3"),
        ("points:0,1", "needs 3 numbers"),
        ("points:0,1,999", "numbered 0 to"),
        ("plane:1,2", "must be 'patterns:I,J' or 'points:A,B,C'"),
        ("patterns:a,b", "must be 'patterns:I,J' or 'points:A,B,C'"),
        ("patterns:1.5,2", "must be 'patterns:I,J' or 'points:A,B,C'"),
        (12, "must be 'patterns:I,J' or 'points:A,B,C'"),
        ("state", "two-dimensional state"),
    ],
)
def test_invalid_plane_spec_raises_input_error(meanfield_k3, spec, match):
    system, points = meanfield_k3
    with pytest.raises(InputError, match=match):
        portrait_plane(system, BETA, spec, fixed_points=points)


def test_collinear_points_span_no_plane(meanfield_k3):
    system, points = meanfield_k3
    chosen = [_index(points, "+1"), _index(points, "origin"), _index(points, "-1")]
    spec = "points:" + ",".join(map(str, chosen))
    with pytest.raises(InputError, match="span no plane"):
        portrait_plane(system, BETA, spec, fixed_points=points)


def test_one_dimensional_state_has_no_portrait():
    with pytest.raises(InputError, match="dimension >= 2"):
        portrait_plane(reduce(MeanFieldModel(1)), BETA)


def test_plane_of_another_system_is_rejected(meanfield_k2, meanfield_k3):
    system, points = meanfield_k2
    other = portrait_plane(*meanfield_k3[:1], BETA, fixed_points=meanfield_k3[1])
    with pytest.raises(InputError, match="dimension"):
        compute_portrait(system, BETA, other, fixed_points=points)
