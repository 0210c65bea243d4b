"""hopdyn.landscape: saddle-attractor graphs, the catalogue and beta sweeps.

Structures known by symmetry or by hand (orthonormal modern patterns, the
classical mean field with three patterns, a coarse-grained pair of patterns)
plus invariants on small random and correlated pattern sets.
"""

import json
import time
from pathlib import Path
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest
from scipy.optimize import brentq

from hopdyn.errors import InputError
from hopdyn.fixed_points import find_fixed_points
from hopdyn.io import to_jsonable
from hopdyn.landscape import (
    Landscape,
    LandscapeOptions,
    build_landscape,
    catalogue_rows,
    landscape_sweep,
    seeds_from_diagram,
    write_graphml,
)
from hopdyn.models import ClassicModel, MeanFieldModel, ModernModel
from hopdyn.patterns import (
    PatternSet,
    bundled_patterns,
    preprocess,
    random_patterns,
    rolling_patterns,
)
from hopdyn.plotting.landscape import plot_catalogue_counts, plot_landscape
from hopdyn.symbolic import reduce

FEW_SAMPLES = LandscapeOptions(n_basin_samples=200)


def orthonormal(K=3):
    return reduce(ModernModel(PatternSet.from_array(np.eye(K))))


def coarse_grained_pair(c=0.8):
    """Pattern 1 orthogonal to patterns 2 and 3, which overlap by c: the
    subspace p2 = p3 is invariant, and on it 2 and 3 act as one pattern."""
    X = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, c, np.sqrt(1 - c * c)]])
    return reduce(ModernModel(PatternSet.from_array(X)))


def nodes_where(G, **attributes):
    return [
        n
        for n, data in G.nodes(data=True)
        if all(data[k] == v for k, v in attributes.items())
    ]


def pattern_sets(A, nodes):
    return {tuple(A.nodes[n]["patterns"]) for n in nodes}


def edge_summary(landscape):
    """The graph as comparable data: (saddle state, end state, connection)."""
    G = landscape.graph
    return sorted(
        (
            tuple(np.round(G.nodes[s]["state"], 6)),
            tuple(np.round(G.nodes[t]["state"], 6)),
            data["connection"],
            data["half"],
        )
        for s, t, data in G.edges(data=True)
    )


@pytest.fixture(scope="module")
def meanfield_beta_4():
    system = reduce(MeanFieldModel(3))
    start = time.perf_counter()
    landscape = build_landscape(system, 4.0)
    return landscape, time.perf_counter() - start


@pytest.fixture(scope="module")
def modern_beta_2_8():
    return build_landscape(orthonormal(), 2.8, options=FEW_SAMPLES)


@pytest.fixture(scope="module")
def pbmc():
    cells = preprocess(bundled_patterns("pbmc68k"), center=True, normalize="unit")
    return build_landscape(reduce(ModernModel(cells)), 10.0, options=FEW_SAMPLES)


# ---------------------------------------------------------------- options
@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("epsilon", 0.0, "epsilon must be a finite number > 0"),
        ("rtol", float("nan"), "rtol must be a finite number > 0"),
        ("t_max", -1.0, "t_max must be a finite number > 0"),
        ("n_basin_samples", -5, "n_basin_samples must be an integer >= 0"),
        ("n_resolve", 0, "n_resolve must be an integer >= 1"),
        ("basin_batch", 2.5, "basin_batch must be an integer >= 1"),
        ("method", "Euler", "method must be one of LSODA, BDF, Radau"),
    ],
)
def test_options_reject_bad_values_naming_the_rule(name, value, rule):
    with pytest.raises(InputError, match=rule):
        LandscapeOptions(**{name: value})


def test_build_landscape_rejects_bad_beta_and_foreign_fixed_points():
    system = reduce(MeanFieldModel(2))
    with pytest.raises(InputError, match="beta must be a finite number > 0"):
        build_landscape(system, 0.0)
    found = find_fixed_points(system, 2.0)
    with pytest.raises(InputError, match="fixed_points: found at beta=2.0"):
        build_landscape(system, 3.0, fixed_points=found)


# ---------------------------------------------------------------- modern, K = 3
def test_modern_orthonormal_beta_2_8_uniform_state_is_an_attractor(
    modern_beta_2_8,
):
    G = modern_beta_2_8.graph
    A = modern_beta_2_8.attractor_graph()
    uniform = nodes_where(G, label="uniform")[0]
    retrieval = nodes_where(G, kind="retrieval", n_unstable=0)

    assert G.nodes[uniform]["n_unstable"] == 0
    assert G.nodes[uniform]["kind"] == "mixture"
    assert G.nodes[uniform]["patterns"] == (1, 2, 3)
    assert pattern_sets(A, retrieval) == {(1,), (2,), (3,)}
    assert {frozenset(e) for e in A.edges} == {
        frozenset((uniform, r)) for r in retrieval
    }


def test_modern_orthonormal_beta_2_8_each_saddle_joins_uniform_to_one_pattern(
    modern_beta_2_8,
):
    G = modern_beta_2_8.graph
    for saddle in nodes_where(G, n_unstable=1):
        ends = sorted(G.nodes[t]["label"] for _, t in G.out_edges(saddle))
        leading = int(np.argmax(G.nodes[saddle]["coefficients"])) + 1
        assert ends == sorted([str(leading), "uniform"])
        assert all(d["barrier"] > 0 for *_, d in G.out_edges(saddle, data=True))


def test_modern_orthonormal_beta_3_5_uniform_state_is_a_saddle():
    landscape = build_landscape(orthonormal(), 3.5, options=FEW_SAMPLES)
    G = landscape.graph
    A = landscape.attractor_graph()
    uniform = nodes_where(G, label="uniform")[0]

    assert G.nodes[uniform]["n_unstable"] == 2
    # Its unstable plane holds three symmetric directions, one per pattern:
    # towards the pattern, and away from it onto the other two's saddle.
    reached = {G.nodes[t]["label"] for _, t in G.out_edges(uniform)}
    assert reached == {"1", "2", "3", "mix(1, 2)", "mix(1, 3)", "mix(2, 3)"}
    assert pattern_sets(A, A.nodes) == {(1,), (2,), (3,)}
    assert nx.is_isomorphic(A, nx.complete_graph(3))
    for a, b, data in A.edges(data=True):
        saddle = G.nodes[data["saddle"]]
        assert set(saddle["patterns"]) == {
            *A.nodes[a]["patterns"],
            *A.nodes[b]["patterns"],
        }


# ---------------------------------------------------------------- mean field
def test_meanfield_k3_beta_4_mixtures_join_only_their_own_patterns(
    meanfield_beta_4,
):
    landscape, _ = meanfield_beta_4
    A = landscape.attractor_graph()
    mixtures = nodes_where(A, kind="mixture")

    assert len(landscape.fixed_points) == 51
    assert len(mixtures) == 8
    for m in mixtures:
        own = {(p,) for p in A.nodes[m]["patterns"]}
        assert len(own) == 3
        assert pattern_sets(A, A.neighbors(m)) == own


def test_meanfield_k3_beta_4_is_fast_and_complete(meanfield_beta_4):
    landscape, seconds = meanfield_beta_4
    assert seconds < 10.0  # a few seconds at most on a shared core
    assert landscape.success, landscape.message
    assert landscape.n_new_fixed_points == 0


def test_meanfield_catalogue_rows_name_the_joined_retrieval_states(
    meanfield_beta_4,
):
    landscape, _ = meanfield_beta_4
    header, rows = catalogue_rows(landscape)
    table = [dict(zip(header, row, strict=True)) for row in rows]
    mixture = next(r for r in table if r["label"] == "mix(+1, -2, +3)")

    assert [r["kind"] for r in table] == ["retrieval"] * 6 + ["mixture"] * 8
    assert mixture["patterns"] == "+1 -2 +3"
    assert set(mixture["joined_retrieval"].split("; ")) == {"+1", "-2", "+3"}
    assert 0 < mixture["barrier_to_retrieval"] < 0.05
    assert mixture["overlap 2"] == pytest.approx(-mixture["overlap 1"])
    assert 0 < mixture["basin_fraction"] < 0.2


def test_meanfield_disconnectivity_tree_merges_everything_at_one_saddle_energy(
    meanfield_beta_4,
):
    landscape, _ = meanfield_beta_4
    tree = landscape.disconnectivity_tree()
    (root,) = tree.graph["roots"]
    saddle_energy = landscape.graph.nodes[tree.nodes[root]["saddle"]]["energy"]

    assert tree.out_degree(root) == 14
    assert tree.nodes[root]["energy"] == pytest.approx(saddle_energy)
    assert all(tree.nodes[n]["energy"] < saddle_energy for n in tree.successors(root))


# ---------------------------------------------------------------- symmetry
def test_half_ending_on_a_saddle_is_recorded_and_resolved_by_symmetry_breaking():
    landscape = build_landscape(coarse_grained_pair(), 15.0, options=FEW_SAMPLES)
    G = landscape.graph
    progenitor = nodes_where(G, label="mix(2, 3)")[0]
    on_saddle = [h for h in landscape.halves if h.end == progenitor]

    assert G.nodes[progenitor]["n_unstable"] == 1
    (half,) = [h for h in on_saddle if G.nodes[h.saddle]["n_unstable"] == 1]
    assert half.subspace == 2
    assert pattern_sets(G, half.resolved) == {(2,), (3,)}
    resolved = [d for _, _, d in G.out_edges(half.saddle, data=True) if "via" in d]
    assert {d["via"] for d in resolved} == {progenitor}
    assert all(d["barrier"] > 0 for d in resolved)
    assert nx.is_isomorphic(landscape.attractor_graph(), nx.complete_graph(3))


# ---------------------------------------------------------------- invariants
RANDOM_CASES = {
    "classic random": (
        lambda: reduce(ClassicModel(random_patterns(40, 3, seed=3), form="A")),
        2.5,
    ),
    "modern gaussian": (
        lambda: reduce(
            ModernModel(
                preprocess(
                    PatternSet.from_array(
                        np.random.default_rng(7).normal(size=(3, 12))
                    ),
                    normalize="unit",
                )
            )
        ),
        8.0,
    ),
}


@pytest.fixture(scope="module", params=sorted(RANDOM_CASES))
def random_case(request):
    make, beta = RANDOM_CASES[request.param]
    system = make()
    found = find_fixed_points(system, beta)
    landscape = build_landscape(system, beta, fixed_points=found, options=FEW_SAMPLES)
    return system, beta, found, landscape


def test_every_index_1_saddle_has_exactly_two_ends(random_case):
    *_, landscape = random_case
    G = landscape.graph
    for saddle in nodes_where(G, n_unstable=1):
        halves = [h for h in landscape.halves if h.saddle == saddle]
        assert sorted(h.sign for h in halves) == [-1, 1]
        assert all(h.end is not None and h.resolved for h in halves)
        manifold = [
            d
            for *_, d in G.out_edges(saddle, data=True)
            if d["connection"] == "manifold"
        ]
        assert len(manifold) == 2


def test_barriers_are_non_negative(random_case):
    *_, landscape = random_case
    G = landscape.graph
    barriers = [d["barrier"] for *_, d in G.edges(data=True) if "barrier" in d]
    assert barriers and min(barriers) >= 0
    for s, t, data in G.edges(data=True):
        if "barrier" in data:
            assert data["barrier"] == G.nodes[s]["energy"] - G.nodes[t]["energy"]


def test_basin_fractions_sum_to_one_within_their_error(random_case):
    *_, landscape = random_case
    G = landscape.graph
    fractions = [G.nodes[a]["basin_fraction"] for a in landscape.attractors]
    errors = [G.nodes[a]["basin_stderr"] for a in landscape.attractors]
    unresolved = landscape.basin["n_unresolved"] / landscape.basin["n_samples"]

    assert landscape.basin["n_samples"] == 200
    assert abs(sum(fractions) - 1) <= unresolved + 3 * np.sqrt(
        np.sum(np.square(errors))
    )


def test_graph_does_not_change_with_tighter_tolerances(random_case):
    system, beta, found, landscape = random_case
    tight = LandscapeOptions(
        epsilon=1e-8, rtol=1e-11, atol=1e-14, ftol=1e-11, n_basin_samples=0
    )
    tighter = build_landscape(system, beta, fixed_points=found, options=tight)
    assert edge_summary(tighter) == edge_summary(landscape)


# ---------------------------------------------------------------- real data
def test_pbmc_profiles_every_cell_type_is_a_joined_retrieval_state(pbmc):
    names = set(bundled_patterns("pbmc68k").names)
    A = pbmc.attractor_graph()
    header, rows = catalogue_rows(pbmc)
    table = {row[1]: dict(zip(header, row, strict=True)) for row in rows}

    assert pbmc.success, pbmc.message
    assert set(table) == names
    assert {row["kind"] for row in table.values()} == {"retrieval"}
    assert nx.is_connected(A)
    assert "Dendritic" in table["CD14+ Monocyte"]["joined_retrieval"].split("; ")
    assert f"coefficient {sorted(names)[0]}" in header


def test_rolling_patterns_join_retrieval_states_that_overlap():
    patterns = rolling_patterns(30, 3)
    system = reduce(ClassicModel(patterns, form="A"))
    landscape = build_landscape(system, 3.0, options=FEW_SAMPLES)
    A = landscape.attractor_graph()
    X = patterns.values

    def signed_pattern(n):
        (p,) = A.nodes[n]["patterns"]
        return np.sign(p) * X[abs(p) - 1]

    assert len(A) == 6 and A.number_of_edges() > 0
    for a, b in A.edges:
        assert signed_pattern(a) @ signed_pattern(b) > 0


def test_non_gradient_flow_has_no_barriers_and_no_tree():
    X = np.eye(3)
    readout = X + 0.1 * np.roll(np.eye(3), 1, axis=1)
    model = ModernModel(PatternSet.from_array(X), readout=readout)
    landscape = build_landscape(reduce(model), 4.0, options=FEW_SAMPLES)

    assert not landscape.gradient
    assert landscape.disconnectivity_tree() is None
    assert all("barrier" not in d for *_, d in landscape.graph.edges(data=True))
    assert len(landscape.attractors) >= 3
    json.dumps(to_jsonable(landscape.to_dict()), allow_nan=False)


# ---------------------------------------------------------------- output
def test_to_dict_follows_the_landscape_json_format(modern_beta_2_8):
    record = to_jsonable(modern_beta_2_8.to_dict())
    json.dumps(record, allow_nan=False)
    ids = [node["id"] for node in record["nodes"]]

    assert record["beta"] == 2.8
    assert ids == list(range(len(ids)))
    for node in record["nodes"]:
        assert {"state", "n_unstable", "stability", "kind", "label"} <= set(node)
        assert {"patterns", "energy", "basin_fraction"} <= set(node)
    for edge in record["edges"]:
        assert record["nodes"][edge["saddle"]]["n_unstable"] > 0
        assert record["nodes"][edge["attractor"]]["n_unstable"] == 0
        assert edge["barrier"] >= 0


def test_graphml_round_trip_keeps_nodes_edges_and_states(modern_beta_2_8, tmp_path):
    path = tmp_path / "landscape.graphml"
    write_graphml(modern_beta_2_8, path)
    H = nx.read_graphml(path)
    G = modern_beta_2_8.graph

    assert H.number_of_nodes() == G.number_of_nodes()
    assert H.number_of_edges() == G.number_of_edges()
    state = json.loads(H.nodes["0"]["state"])
    assert state == pytest.approx(G.nodes[0]["state"].tolist())
    assert [p.name for p in tmp_path.iterdir()] == ["landscape.graphml"]


def test_progress_is_reported_after_each_stage():
    calls = []
    build_landscape(
        reduce(MeanFieldModel(2)),
        2.0,
        options=LandscapeOptions(n_basin_samples=10),
        progress=lambda *step: calls.append(step),
    )
    assert calls == [(1, 3, "fixed points"), (2, 3, "manifolds"), (3, 3, "basins")]


def test_landscape_is_dict_like(modern_beta_2_8):
    assert isinstance(modern_beta_2_8, Landscape)
    assert modern_beta_2_8["status"] == 0
    assert modern_beta_2_8["success"] is True


# ---------------------------------------------------------------- diagram seeds
def test_seeds_from_diagram_interpolate_where_branches_cross_beta():
    point = SimpleNamespace
    branch = SimpleNamespace(
        points=[point(beta=1.0, state=[0.0, 0.0]), point(beta=3.0, state=[2.0, 4.0])]
    )
    record = {"branches": [{"points": [{"beta": 2.0, "state": [5.0, 5.0]}]}]}

    assert seeds_from_diagram(SimpleNamespace(branches=[branch]), 2.0).tolist() == [
        [1.0, 2.0]
    ]
    assert seeds_from_diagram(record, 2.0).tolist() == [[5.0, 5.0]]
    assert seeds_from_diagram(record, 2.5).shape[0] == 0


def test_diagram_seeds_reach_the_finder():
    system = reduce(MeanFieldModel(2))
    state = [0.5, 0.5]
    diagram = {"branches": [{"points": [{"beta": 2.0, "state": state}]}]}
    landscape = build_landscape(
        system, 2.0, diagram=diagram, options=LandscapeOptions(n_basin_samples=0)
    )
    assert len(landscape.fixed_points) == 9


# ---------------------------------------------------------------- sweeps
def test_sweep_uniform_state_of_orthonormal_patterns_loses_stability_at_K():
    sweep = landscape_sweep(orthonormal(), [2.8, 2.9, 3.1, 3.3])
    _, events = sweep.event_rows()

    assert sweep.counts["mixture"].tolist() == [1, 1, 0, 0]
    assert sweep.counts["retrieval"].tolist() == [3, 3, 3, 3]
    assert ["3-mixture", "vanishes", 2.9, 3.1, 1, "loses stability"] in events
    assert len(sweep.tracks) == 4
    json.dumps(to_jsonable(sweep.to_dict()), allow_nan=False)


def test_sweep_can_keep_the_landscape_at_each_beta():
    options = LandscapeOptions(n_basin_samples=0)
    sweep = landscape_sweep(orthonormal(), [2.8, 3.5], options=options, landscapes=True)
    uniform = [
        next(n for n, label in L.graph.nodes(data="label") if label == "uniform")
        for L in sweep.landscapes
    ]
    stabilities = [
        L.graph.nodes[n]["stability"]
        for L, n in zip(sweep.landscapes, uniform, strict=True)
    ]
    assert stabilities == ["attractor", "saddle"]


def meanfield_three_mixture_threshold():
    """beta at which the symmetric 3-mixture becomes stable, from the mean
    field equations written out here with plain numpy."""
    signs = np.array(np.meshgrid(*[[-1.0, 1.0]] * 3)).reshape(3, -1).T

    def amplitude(beta):
        return brentq(
            lambda a: a - np.mean(signs[:, 0] * np.tanh(beta * a * signs.sum(1))),
            1e-6,
            1.0,
        )

    def top_eigenvalue(beta):
        m = np.full(3, amplitude(beta))
        d = 1 / np.cosh(beta * signs @ m) ** 2
        J = beta * np.einsum("c,ci,cj->ij", d, signs, signs) / len(signs) - np.eye(3)
        return np.linalg.eigvalsh(J).max()

    return brentq(top_eigenvalue, 1.5, 3.0)


def test_sweep_meanfield_three_mixtures_appear_at_their_threshold(tmp_path):
    threshold = meanfield_three_mixture_threshold()
    betas = np.round(np.linspace(1.9, 2.4, 6), 6)
    sweep = landscape_sweep(reduce(MeanFieldModel(3)), betas)
    _, events = sweep.event_rows()
    (appears,) = [row for row in events if row[:2] == ["3-mixture", "appears"]]

    assert appears[2] < threshold < appears[3]
    assert appears[4] == 8
    assert sweep.family_counts["3-mixture"].max() == 8
    fig = plot_catalogue_counts(sweep, tmp_path / "counts.png")
    assert (tmp_path / "counts.png").stat().st_size > 0
    assert fig.axes[0].get_xlabel() == "inverse temperature β"


def test_sweep_rejects_betas_that_are_not_monotonic():
    with pytest.raises(InputError, match="strictly increasing or strictly"):
        landscape_sweep(orthonormal(), [2.0, 3.0, 2.5])
    with pytest.raises(InputError, match="betas must all be finite numbers > 0"):
        landscape_sweep(orthonormal(), [0.0, 1.0])


# ---------------------------------------------------------------- figures
def test_plot_landscape_draws_graph_and_tree(modern_beta_2_8, tmp_path):
    path = tmp_path / "landscape.png"
    fig = plot_landscape(modern_beta_2_8, path)

    assert len(fig.axes) == 2
    assert path.stat().st_size > 0
    assert "uniform" in [t.get_text() for t in fig.axes[0].texts]


def test_continuation_diagram_seeds_the_landscape():
    continuation = pytest.importorskip("hopdyn.continuation")
    system = orthonormal()
    diagram = continuation.build_diagram(system, 2.0, 4.0)
    options = LandscapeOptions(n_basin_samples=0)

    assert len(seeds_from_diagram(diagram, 2.8)) > 0
    landscape = build_landscape(system, 2.8, diagram=diagram, options=options)
    assert len(landscape.attractors) == 4


def test_sweep_matches_attractors_through_the_diagram_branches():
    """With a diagram, every attractor of the PBMC model lies on one branch
    at every beta, the same branch all along its track, and each track
    appears in the sweep interval where its branch becomes stable (the fold
    the diagram located), even on a grid too coarse for plain continuation
    to follow every attractor."""
    from hopdyn.continuation import build_diagram
    from hopdyn.io import load_spec

    spec = Path(__file__).parent.parent / "examples" / "pbmc_modern.toml"
    system = reduce(load_spec(spec).build_model())
    diagram = build_diagram(system, 1.0, 10.0)
    sweep = landscape_sweep(system, np.linspace(2.0, 10.0, 5), diagram=diagram)

    assert len(sweep.tracks) == 10
    for track in sweep.tracks:
        assert None not in track.branches
        assert len(set(track.branches)) == 1
        branch = diagram.branch(track.branches[0])
        stable = branch.beta[branch.n_unstable == 0]
        if track.appears is None:
            assert stable.min() <= 2.0
        else:
            low, high = track.appears
            assert low < stable.min() + 1e-6 and stable.min() < high
