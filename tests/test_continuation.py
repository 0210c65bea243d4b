"""Tests of hopdyn.continuation and hopdyn.plotting.diagram.

Toy systems with known bifurcations (pitchfork, imperfect pitchfork, Hopf
normal form, a fold where two eigenvalues cross), built from callables,
then invariants that every diagram must satisfy.
"""

import json
import logging

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hopdyn.continuation import (
    ContinuationOptions,
    Diagram,
    apply_element,
    build_diagram,
)
from hopdyn.errors import InputError
from hopdyn.fixed_points import classify
from hopdyn.models import MeanFieldModel, ModernModel
from hopdyn.patterns import PatternSet
from hopdyn.plotting.diagram import _pieces, plot_diagram
from hopdyn.symbolic import ReducedSystem, reduce

LOCATED = 1e-8


# ----------------------------------------------------------- toy systems
# beta must stay positive, so the normal forms use mu = beta - 1.
def pitchfork(h=0.0):
    """dx/dt = mu x - x^3 + h."""
    return ReducedSystem(
        fun=lambda x, beta: (beta - 1) * x - x**3 + h,
        jac=lambda x, beta: ((beta - 1) - 3 * x**2)[..., None],
        dfdbeta=lambda x, beta: x,
        dimension=1,
    )


def hopf():
    """The Hopf normal form; the origin has eigenvalues mu +- i."""

    def fun(s, beta):
        x, y, mu = s[..., 0], s[..., 1], beta - 1
        r2 = x * x + y * y
        return np.stack([mu * x - y - x * r2, x + mu * y - y * r2], axis=-1)

    def jac(s, beta):
        x, y, mu = s[..., 0], s[..., 1], beta - 1
        top = np.stack([mu - 3 * x * x - y * y, -1 - 2 * x * y], axis=-1)
        bottom = np.stack([1 - 2 * x * y, mu - x * x - 3 * y * y], axis=-1)
        return np.stack([top, bottom], axis=-2)

    return ReducedSystem(fun=fun, jac=jac, dfdbeta=lambda s, beta: s, dimension=2)


def fold_with_two_crossings():
    """dx/dt = mu - x^2, dy/dt = -x y: at the fold x = 0 both eigenvalues,
    -2x and -x, cross zero together -- evidence that fits no kind."""

    def fun(s, beta):
        x, y = s[..., 0], s[..., 1]
        return np.stack([beta - 1 - x * x, -x * y], axis=-1)

    def jac(s, beta):
        x, y = s[..., 0], s[..., 1]
        top = np.stack([-2 * x, np.zeros_like(x)], axis=-1)
        bottom = np.stack([-y, -x], axis=-1)
        return np.stack([top, bottom], axis=-2)

    def dfdbeta(s, beta):
        return np.stack([np.ones_like(s[..., 0]), np.zeros_like(s[..., 0])], axis=-1)

    return ReducedSystem(fun=fun, jac=jac, dfdbeta=dfdbeta, dimension=2)


@pytest.fixture(scope="module")
def pitchfork_diagram():
    return build_diagram(pitchfork(), 0.5, 2.0)


@pytest.fixture(scope="module")
def imperfect_diagram():
    return build_diagram(pitchfork(h=0.1), 0.5, 2.0)


# --------------------------------------------------------------- pitchfork
def test_pitchfork_branch_point_at_mu_0(pitchfork_diagram):
    (bp,) = pitchfork_diagram.special_points

    assert bp.kind == "BP"
    assert bp.beta - 1 == pytest.approx(0.0, abs=LOCATED)
    assert bp.precision <= LOCATED
    assert bp.kernel_dimension == 1
    assert (bp.n_unstable_before, bp.n_unstable_after) == (0, 1)


def test_pitchfork_both_branches_follow_sqrt_mu(pitchfork_diagram):
    trivial, emerging = pitchfork_diagram.branches
    mu, x = emerging.beta - 1, emerging.states[:, 0]

    np.testing.assert_allclose(trivial.states, 0.0, atol=1e-12)
    np.testing.assert_allclose(x**2, mu, atol=1e-9)
    assert x.min() == pytest.approx(-1.0) and x.max() == pytest.approx(1.0)
    assert np.all(emerging.n_unstable == 0)


def test_imperfect_pitchfork_fold_matches_the_derived_formula(imperfect_diagram):
    # mu x - x^3 + h = 0 and mu - 3 x^2 = 0 give x^3 = -h / 2, mu = 3 x^2.
    h = 0.1
    x_fold = -np.cbrt(h / 2)
    mu_fold = 3 * x_fold**2
    (lp,) = imperfect_diagram.special_points

    assert lp.kind == "LP"
    assert lp.beta - 1 == pytest.approx(mu_fold, abs=LOCATED)
    assert lp.state[0] == pytest.approx(x_fold, abs=1e-4)
    assert mu_fold == pytest.approx((3 * np.sqrt(3) * h / 2) ** (2 / 3))
    assert lp.kernel_dimension == 1
    assert sorted([lp.n_unstable_before, lp.n_unstable_after]) == [0, 1]


def test_imperfect_pitchfork_has_the_two_disconnected_branches(imperfect_diagram):
    statuses = [b.status for b in imperfect_diagram.branches]

    assert statuses == [
        "reached beta_min; reached beta_max",
        "reached beta_max; reached beta_max",
    ]


def test_hopf_normal_form_has_a_hopf_point_at_mu_0():
    diagram = build_diagram(hopf(), 0.5, 2.0)
    (hb,) = diagram.special_points

    assert hb.kind == "HB"
    assert hb.beta - 1 == pytest.approx(0.0, abs=LOCATED)
    assert hb.frequency == pytest.approx(1.0, abs=1e-8)
    assert hb.kernel_dimension == 2
    assert (hb.n_unstable_before, hb.n_unstable_after) == (0, 2)


def test_fold_with_two_crossings_is_undetermined_not_forced():
    diagram = build_diagram(fold_with_two_crossings(), 0.5, 2.0)
    (point,) = diagram.special_points

    assert point.kind == "undetermined"
    assert "2 eigenvalues" in point.note
    assert point.beta == pytest.approx(1.0, abs=LOCATED)


def test_a_branch_running_onto_a_known_one_is_merged():
    # The first branch stops after a few steps; the one started at beta_max
    # runs down onto it.
    options = ContinuationOptions(max_steps=20)
    diagram = build_diagram(pitchfork(h=0.1), 0.5, 2.0, options=options)
    ends = [b.ends for b in diagram.branches]

    assert ends[0] == ("reached beta_min", "max steps")
    assert "merged into branch 0" in ends[1]
    assert diagram.status == 2 and not diagram.success


# ------------------------------------------------------------- invariants
@pytest.fixture(scope="module")
def diagrams(pitchfork_diagram, imperfect_diagram):
    modern = reduce(ModernModel(PatternSet.from_array(np.eye(3))))
    mean_field = reduce(MeanFieldModel(3))
    return {
        "pitchfork": (pitchfork(), pitchfork_diagram),
        "imperfect": (pitchfork(h=0.1), imperfect_diagram),
        "modern3": (modern, build_diagram(modern, 0.5, 6.0)),
        "meanfield3": (mean_field, build_diagram(mean_field, 0.5, 4.0)),
    }


NAMES = ["pitchfork", "imperfect", "modern3", "meanfield3"]


@pytest.mark.parametrize("name", NAMES)
def test_located_points_lie_in_their_bracket(diagrams, name):
    _, diagram = diagrams[name]
    for point in diagram.special_points:
        low, high = point.bracket
        assert low - 1e-12 <= point.beta <= high + 1e-12
        assert high - low <= point.precision + 1e-15


@pytest.mark.parametrize("name", NAMES)
def test_special_point_stability_agrees_with_fresh_eigenvalues(diagrams, name):
    system, diagram = diagrams[name]
    for point in diagram.special_points:
        eigenvalues = np.linalg.eigvals(system.jac(point.state, point.beta))
        near_zero = np.sum(np.abs(eigenvalues.real) <= 1e-6)
        unstable = np.sum(eigenvalues.real > 1e-6)

        assert np.linalg.norm(system.fun(point.state, point.beta)) <= 1e-9
        assert near_zero == point.kernel_dimension
        assert unstable == min(point.n_unstable_before, point.n_unstable_after)


@pytest.mark.parametrize("name", NAMES)
def test_every_point_is_a_fixed_point_with_its_recorded_stability(diagrams, name):
    system, diagram = diagrams[name]
    for branch in diagram.branches:
        points = zip(branch.states, branch.beta, branch.n_unstable, strict=True)
        for state, beta, n in points:
            assert np.linalg.norm(system.fun(state, beta)) <= 1e-9
            assert classify(system, state, beta).n_unstable == n


def distance_to_curve(points, states, beta):
    """Distance from each point to the polyline through (states, beta)."""
    curve = np.column_stack([states, beta])
    a, b = curve[:-1], curve[1:]
    ab = b - a
    out = []
    for q in points:
        u = np.clip(np.sum((q - a) * ab, axis=1) / np.sum(ab * ab, axis=1), 0, 1)
        out.append(np.min(np.linalg.norm(q - a - u[:, None] * ab, axis=1)))
    return np.array(out)


@pytest.mark.parametrize("name", NAMES)
def test_no_two_branches_overlap(diagrams, name):
    _, diagram = diagrams[name]
    for branch in diagram.branches:
        inner = np.column_stack([branch.states, branch.beta])[2:-2]
        for other in diagram.branches:
            if other.id == branch.id or len(inner) == 0:
                continue
            for copy in other.copies:
                image = apply_element(copy, other.states)
                on_other = distance_to_curve(inner, image, other.beta) < 1e-6
                # Crossing at a point is fine; running along is not.
                assert not np.any(on_other[1:] & on_other[:-1])


@pytest.mark.parametrize("name", NAMES)
def test_branches_end_at_the_range_or_a_stated_reason(diagrams, name):
    _, diagram = diagrams[name]
    low, high = diagram.beta_range
    assert diagram.success and diagram.status == 0
    for branch in diagram.branches:
        assert low - 1e-12 <= branch.beta.min() and branch.beta.max() <= high + 1e-12
        for end, beta in zip(branch.ends, branch.beta[[0, -1]], strict=True):
            if end == "reached beta_max":
                assert beta == pytest.approx(high, abs=1e-12)
            elif end == "reached beta_min":
                assert beta == pytest.approx(low, abs=1e-12)
            else:
                assert end.startswith("reached BP") or end.startswith("reached a sym")


# ------------------------------------------------------------------ API
def test_diagram_is_dict_like_and_serialises_to_the_design_format(diagrams):
    _, diagram = diagrams["meanfield3"]
    data = json.loads(json.dumps(diagram.to_dict()))

    assert isinstance(diagram, Diagram)
    assert diagram["status"] == diagram.status and "message" in diagram
    assert data["beta_range"] == [0.5, 4.0]
    branch = data["branches"][1]
    assert {"id", "label", "points", "multiplicity", "status"} <= set(branch)
    assert {"beta", "state", "n_unstable", "eigenvalues"} <= set(branch["points"][0])
    point = data["special_points"][0]
    assert {
        "kind",
        "beta",
        "state",
        "branch",
        "kernel_dimension",
        "bracket",
        "precision",
        "n_unstable_before",
        "n_unstable_after",
        "note",
    } <= set(point)
    assert data["counters"]["branches"] == len(diagram.branches)


def test_progress_is_reported_and_nothing_is_printed(capsys, caplog):
    calls = []
    with caplog.at_level(logging.WARNING):
        build_diagram(pitchfork(), 0.5, 2.0, progress=lambda m, n: calls.append((m, n)))

    assert [n for _, n in calls] == sorted(n for _, n in calls)
    assert any("branch 1" in m for m, _ in calls)
    assert capsys.readouterr() == ("", "")


def test_branch_budget_is_a_status_not_an_exception():
    diagram = build_diagram(
        reduce(MeanFieldModel(2)), 0.5, 3.0, options=ContinuationOptions(max_branches=1)
    )

    assert diagram.status == 1 and not diagram.success
    assert "max_branches" in diagram.message
    assert len(diagram.branches) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ds": -1.0}, r"ds must be a finite number > 0, got -1\.0"),
        ({"ds": 1.0}, r"ds_min <= ds <= ds_max.*ds=1\.0"),
        ({"max_steps": 0}, r"max_steps must be an integer >= 1, got 0"),
        ({"max_angle": 2.0}, r"max_angle must be < pi/2, got 2\.0"),
        ({"symmetry": "yes"}, r"symmetry must be True or False, got 'yes'"),
        ({"tol": float("nan")}, r"tol must be a finite number > 0, got nan"),
    ],
)
def test_options_restate_the_rule_and_the_value(kwargs, match):
    with pytest.raises(InputError, match=match):
        ContinuationOptions(**kwargs)


def test_options_are_frozen():
    with pytest.raises(AttributeError):
        ContinuationOptions().ds = 0.1


@pytest.mark.parametrize(
    ("beta_min", "beta_max", "match"),
    [
        (2.0, 1.0, "beta_min must be < beta_max"),
        (-1.0, 1.0, "beta_min must be a finite number > 0, got -1.0"),
        (1.0, float("inf"), "beta_max must be a finite number > 0"),
    ],
)
def test_bad_beta_range_is_an_input_error(beta_min, beta_max, match):
    with pytest.raises(InputError, match=match):
        build_diagram(pitchfork(), beta_min, beta_max)


# ------------------------------------------------------------- plotting
def test_plot_diagram_draws_and_saves(diagrams, tmp_path):
    _, diagram = diagrams["meanfield3"]
    path = tmp_path / "diagram.png"
    fig = plot_diagram(diagram, path)

    assert isinstance(fig, Figure)
    assert path.stat().st_size > 0
    ax = fig.axes[0]
    styles = {line.get_linestyle() for line in ax.get_lines()}
    assert {"-", "--"} <= styles


def test_plot_diagram_legend_is_outside_the_axes(diagrams):
    _, diagram = diagrams["modern3"]
    fig = plot_diagram(diagram)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent(renderer)

    assert legend.x0 >= ax.get_window_extent(renderer).x1


def test_plot_overlap_draws_every_distinct_copy(diagrams):
    _, diagram = diagrams["meanfield3"]
    lines = plot_diagram(diagram, y="overlap:1").axes[0].get_lines()
    ends = {
        round(float(line.get_ydata()[-1]), 6)
        for line in lines
        if len(line.get_xdata()) > 1 and line.get_xdata()[-1] == 4.0
    }

    retrieval = diagram.branches[1].states[-1].max()
    assert round(retrieval, 6) in ends and round(-retrieval, 6) in ends


@pytest.mark.parametrize("y", ["overlap:0", "overlap:4", "size", "energy"])
def test_plot_rejects_an_unknown_quantity(diagrams, y):
    _, diagram = diagrams["pitchfork"]
    with pytest.raises(InputError, match="y must be|needs a gradient flow"):
        plot_diagram(diagram, y=y)


@pytest.mark.parametrize(
    ("n_unstable", "expected"),
    [
        ([0, 0, 1, 1], [(0, 1, True), (1, 3, False)]),
        ([2, 2, 0, 0, 0], [(0, 2, False), (2, 4, True)]),
        ([0, 0, 0], [(0, 2, True)]),
    ],
)
def test_pieces_split_at_stability_changes_sharing_the_point(n_unstable, expected):
    assert _pieces(n_unstable) == expected


def test_plot_diagram_draws_into_a_given_panel(tmp_path):
    from matplotlib.figure import Figure

    from hopdyn.plotting.diagram import plot_diagram

    diagram = build_diagram(reduce(MeanFieldModel(2)), 0.5, 3.0)
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plot_diagram(diagram, ax=right, y="overlap:1") is fig
    assert right.get_xlabel() == "inverse temperature β"
    assert len(right.lines) > 0 and len(left.lines) == 0
