"""hopdyn.simulate: integrators, initial states, noise, schedules, pulses."""

import numpy as np
import pytest

from hopdyn.errors import InputError
from hopdyn.models import ClassicModel, MeanFieldModel, ModernModel
from hopdyn.patterns import PatternSet, random_patterns
from hopdyn.plotting.trajectories import plot_trajectory
from hopdyn.simulate import (
    METHODS,
    Pulse,
    Trajectory,
    annealing_schedule,
    noised_pattern,
    random_state,
    simulate,
    trajectory_rows,
)

BETA = 2.5


@pytest.fixture(scope="module")
def form_A():
    return ClassicModel(random_patterns(60, 3, seed=1), form="A")


@pytest.fixture(scope="module")
def cells():
    """A modern network on 4 named cell types over 12 named genes."""
    rng = np.random.default_rng(3)
    values = rng.uniform(0.0, 1.0, size=(4, 12))
    values /= np.linalg.norm(values, axis=1, keepdims=True)
    genes = [f"g{i}" for i in range(12)]
    patterns = PatternSet(values, ["B", "T", "NK", "Mono"], genes, "test")
    return ModernModel(patterns, w=np.array([0.0, 0.1, 0.0, -0.1]))


# --------------------------------------------------------------------------
# Integrators
# --------------------------------------------------------------------------


def test_euler_converges_to_rk45_at_first_order(form_A):
    x0 = noised_pattern(form_A, 0, scale=1.0, seed=2)
    exact = simulate(form_A, BETA, 2.0, x0, n_points=5, rtol=1e-10, atol=1e-12)

    errors = []
    for dt in (2e-3, 1e-3):
        euler = simulate(form_A, BETA, 2.0, x0, method="euler", dt=dt, n_points=5)
        errors.append(np.abs(euler.overlaps - exact.overlaps).max())

    assert errors[1] < 2e-3
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.05)


@pytest.mark.parametrize("method", ["RK23", "DOP853", "Radau", "BDF", "LSODA"])
def test_every_solver_agrees_with_rk45(form_A, method):
    x0 = random_state(form_A, seed=4)
    reference = simulate(form_A, BETA, 2.0, x0, n_points=5, rtol=1e-9, atol=1e-11)
    other = simulate(form_A, BETA, 2.0, x0, method=method, n_points=5, rtol=1e-8)

    assert other.success
    np.testing.assert_allclose(other.states, reference.states, atol=1e-5)
    if method in ("Radau", "BDF"):
        assert other.njev > 0


def test_saved_times_and_speed(form_A):
    run = simulate(form_A, BETA, 4.0, n_points=9)
    field = form_A.full_fun(run.states, BETA)

    np.testing.assert_allclose(run.t, np.linspace(0.0, 4.0, 9))
    np.testing.assert_allclose(run.speed, np.linalg.norm(field, axis=1))
    np.testing.assert_allclose(run.overlaps, form_A.overlaps(run.states))
    assert run.speed[-1] < run.speed[0]
    np.testing.assert_array_equal(run.beta, BETA)


def test_unknown_method_lists_the_valid_ones(form_A):
    with pytest.raises(InputError, match="RK45, RK23, DOP853.*euler.*'rk4'"):
        simulate(form_A, BETA, 1.0, method="rk4")
    assert "euler" in METHODS


def test_failure_is_a_status_not_an_exception():
    # Euler with dt = 10 multiplies the state by about -9 each step.
    run = simulate(
        MeanFieldModel(2), 0.01, 5000.0, [0.5, 0.2], method="euler", dt=10.0, n_points=2
    )

    assert not run.success
    assert run.status == -1
    assert "NaN" in run.message
    assert len(run.t) == len(run.states) == 1


@pytest.mark.parametrize(
    "options, rule",
    [
        ({"beta": 0.0}, "beta must be > 0"),
        ({"t_max": -1.0}, "t_max must be > 0"),
        ({"n_points": 1}, "n_points must be at least 2"),
        ({"dt": 0.0, "method": "euler"}, "dt must be > 0"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"noise": -0.1, "method": "euler"}, "noise must be >= 0"),
        ({"schedule": 3.0}, "schedule must be a callable"),
    ],
)
def test_bad_options_name_the_rule(form_A, options, rule):
    arguments = {"beta": BETA, "t_max": 1.0, **options}
    with pytest.raises(InputError, match=rule):
        simulate(form_A, **arguments)


# --------------------------------------------------------------------------
# Initial states
# --------------------------------------------------------------------------


def test_random_state_is_uniform_and_reproducible(form_A):
    x = random_state(form_A, seed=7)

    assert x.shape == (60,)
    assert np.all((0.0 <= x) & (x < 1.0))
    np.testing.assert_array_equal(random_state(form_A, seed=7), x)
    np.testing.assert_allclose(
        random_state(form_A, 7, reduced=True), x @ form_A.X.T / 60
    )


def test_hidden_layers_start_consistent_with_the_visible_one():
    patterns = random_patterns(50, 2, seed=5)
    X = patterns.values
    form_C = ClassicModel(patterns, form="C")
    form_D = ClassicModel(patterns, form="D")

    x = noised_pattern(form_C, 1, scale=0.2, seed=3)
    v, h = x[:50], x[50:]

    np.testing.assert_allclose(h, X @ v / np.sqrt(50))
    np.testing.assert_allclose(noised_pattern(form_D, 1, 0.2, seed=3), X @ v / 50)


def test_noised_pattern_scales_noise_with_the_pattern(cells):
    clean = noised_pattern(cells, 2, scale=0.0)
    noisy = noised_pattern(cells, 2, scale=0.5, seed=1)
    rms = np.sqrt(np.mean(cells.X[2] ** 2))

    np.testing.assert_array_equal(clean, cells.X[2])
    assert np.std(noisy - clean) == pytest.approx(0.5 * rms, rel=0.5)
    np.testing.assert_allclose(
        noised_pattern(cells, 2, 0.5, 1, reduced=True), cells.X @ noisy
    )


def test_mean_field_noised_pattern_is_a_noisy_unit_overlap():
    m = noised_pattern(MeanFieldModel(3), 2, scale=0.1, seed=0)
    assert m.argmax() == 2
    assert np.abs(m - [0.0, 0.0, 1.0]).max() < 0.5


def test_bad_initial_states(form_A):
    with pytest.raises(InputError, match=r"x0 must have shape \(60,\)"):
        simulate(form_A, BETA, 1.0, np.zeros(59))
    with pytest.raises(InputError, match=r"shape \(3,\) for the reduced"):
        simulate(form_A, BETA, 1.0, np.zeros(60), reduced=True)
    with pytest.raises(InputError, match="NaN"):
        simulate(form_A, BETA, 1.0, np.full(60, np.nan))
    with pytest.raises(InputError, match="k must be in 0..2"):
        noised_pattern(form_A, 3, scale=0.1)


# --------------------------------------------------------------------------
# Reduced trajectories and their overlaps
# --------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["A", "B", "C", "D"])
def test_reduced_overlaps_match_the_full_ones(form):
    patterns = random_patterns(80, 3, seed=6)
    field = 0.1 if form in "AB" else 0.0
    model = ClassicModel(patterns, form=form, field=field)
    start = model.lift(model.project(random_state(model, seed=1)), BETA)
    options = {"n_points": 11, "rtol": 1e-10, "atol": 1e-12}

    full = simulate(model, BETA, 2.0, start, **options)
    reduced = simulate(model, BETA, 2.0, model.project(start), reduced=True, **options)

    assert reduced.reduced and reduced.states.shape[1] == model.reduced_dimension
    np.testing.assert_allclose(reduced.overlaps, full.overlaps, atol=1e-8)


# --------------------------------------------------------------------------
# Noise
# --------------------------------------------------------------------------


def test_noise_is_reproducible_with_a_seed(form_A):
    def noisy(seed, noise=0.01):
        return simulate(
            form_A, BETA, 1.0, method="euler", noise=noise, seed=seed, n_points=11
        )

    np.testing.assert_array_equal(noisy(3).states, noisy(3).states)
    assert np.abs(noisy(3).states - noisy(4).states).max() > 1e-3
    # The seed of the noise does not change the random initial state.
    np.testing.assert_array_equal(noisy(3).states[0], random_state(form_A, 3))


def test_zero_noise_euler_is_plain_euler(form_A):
    plain = simulate(form_A, BETA, 1.0, method="euler", n_points=11)
    silent = simulate(form_A, BETA, 1.0, method="euler", noise=0.0, n_points=11)

    np.testing.assert_array_equal(silent.states, plain.states)


def test_noise_spreads_like_diffusion():
    # Far below beta = 1 the origin attracts: the stationary variance of
    # dm = -m dt + sqrt(2D) dW is D per component (Ornstein-Uhlenbeck).
    model = MeanFieldModel(2)
    run = simulate(
        model,
        0.01,
        400.0,
        [0.0, 0.0],
        method="euler",
        dt=0.01,
        noise=0.02,
        n_points=2001,
        seed=1,
    )

    assert np.var(run.states[200:]) == pytest.approx(0.02, rel=0.25)


def test_noise_needs_euler(form_A):
    with pytest.raises(InputError, match="noise > 0 needs method='euler'"):
        simulate(form_A, BETA, 1.0, noise=0.1)


# --------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------


def test_annealing_schedule_is_piecewise_linear():
    schedule = annealing_schedule(4.0, 1.0, t_down=2.0, t_up=4.0, t_hold=1.0)
    times = [-1.0, 0.0, 1.0, 2.0, 2.5, 3.0, 5.0, 7.0, 100.0]
    expected = [4.0, 4.0, 2.5, 1.0, 1.0, 1.0, 2.5, 4.0, 4.0]

    np.testing.assert_allclose(schedule(np.array(times)), expected)
    assert schedule(5.0) == pytest.approx(2.5)


@pytest.mark.parametrize(
    "arguments, rule",
    [
        ((1.0, 2.0, 1.0, 1.0), "beta_low must not exceed beta_high"),
        ((2.0, 0.0, 1.0, 1.0), "beta_low must be > 0"),
        ((2.0, 1.0, 0.0, 1.0), "t_down must be > 0"),
        ((2.0, 1.0, 1.0, 1.0, -1.0), "t_hold must be >= 0"),
    ],
)
def test_annealing_schedule_rejects_bad_values(arguments, rule):
    with pytest.raises(InputError, match=rule):
        annealing_schedule(*arguments)


def test_schedule_replaces_beta(form_A):
    schedule = annealing_schedule(3.0, 0.5, t_down=1.0, t_up=1.0)
    run = simulate(form_A, None, 3.0, schedule=schedule, n_points=7)

    np.testing.assert_allclose(run.beta, schedule(run.t))
    field = form_A.full_fun(run.states[2], schedule(run.t[2]))
    assert run.speed[2] == pytest.approx(np.linalg.norm(field))


def test_a_schedule_must_return_a_positive_beta(form_A):
    with pytest.raises(InputError, match="schedule must return a finite beta"):
        simulate(form_A, None, 1.0, schedule=lambda t: 1.0 - t)


# --------------------------------------------------------------------------
# Production pulses
# --------------------------------------------------------------------------


def test_pulse_shows_in_the_field_only_during_its_window(cells):
    pulse = Pulse(("g1", "g5", 7), strength=0.4, t_on=1.0, t_off=2.0)
    x0 = noised_pattern(cells, 0, scale=0.1, seed=2)
    options = {"n_points": 31, "rtol": 1e-10, "atol": 1e-12}

    driven = simulate(cells, 6.0, 3.0, x0, pulse=pulse, **options)
    free = simulate(cells, 6.0, 3.0, x0, **options)

    before = driven.t < 1.0
    np.testing.assert_allclose(driven.states[before], free.states[before], atol=1e-8)
    assert np.abs(driven.states[-1] - free.states[-1]).max() > 1e-2

    u = cells.u.copy()
    u[[1, 5, 7]] += 0.4
    inside = np.flatnonzero((driven.t >= 1.0) & (driven.t < 2.0))[2]
    field = cells.full_fun(driven.states[inside], 6.0, u=u)
    assert driven.speed[inside] == pytest.approx(np.linalg.norm(field))


def test_reduced_pulse_equals_projected_full_pulse(cells):
    pulse = Pulse(("g0", "g3"), strength=0.5, t_on=0.5, t_off=1.5)
    x0 = noised_pattern(cells, 1, scale=0.1, seed=4)
    options = {"n_points": 41, "rtol": 1e-10, "atol": 1e-12, "pulse": pulse}

    full = simulate(cells, 6.0, 3.0, x0, **options)
    reduced = simulate(cells, 6.0, 3.0, cells.project(x0), reduced=True, **options)

    np.testing.assert_allclose(reduced.states, full.overlaps, atol=1e-7)
    assert full.pulses == reduced.pulses == (pulse,)


def test_pulse_errors(cells, form_A):
    with pytest.raises(InputError, match="unknown feature 'CD99'"):
        simulate(cells, 6.0, 1.0, pulse=Pulse(("g1", "CD99"), 0.1, 0.0, 1.0))
    with pytest.raises(InputError, match=r"feature index must be in 0..11"):
        simulate(cells, 6.0, 1.0, pulse=Pulse(12, 0.1, 0.0, 1.0))
    with pytest.raises(InputError, match="modern model only"):
        simulate(form_A, BETA, 1.0, pulse=Pulse("f1", 0.1, 0.0, 1.0))
    with pytest.raises(InputError, match="t_on must be before t_off"):
        Pulse("g1", 0.1, 2.0, 1.0)


def test_pulse_after_the_end_is_suspicious(cells):
    with pytest.warns(UserWarning, match="no effect"):
        simulate(cells, 6.0, 1.0, pulse=Pulse("g1", 0.1, 5.0, 6.0))


# --------------------------------------------------------------------------
# Results, table and figure
# --------------------------------------------------------------------------


def test_trajectory_reads_as_a_mapping(form_A):
    run = simulate(form_A, BETA, 1.0, n_points=3)

    assert isinstance(run, Trajectory)
    assert run["t"] is run.t
    assert {"status", "message", "success", "nfev"} <= set(run)
    assert run.success and run.status == 0 and run.nfev > 0
    with pytest.raises(KeyError):
        run["nope"]


def test_trajectory_rows_small_full_state(cells):
    run = simulate(cells, 6.0, 1.0, n_points=4)
    header, rows = trajectory_rows(run)

    assert header[:7] == [
        "t",
        "beta",
        "speed",
        "overlap_B",
        "overlap_T",
        "overlap_NK",
        "overlap_Mono",
    ]
    assert header[7:] == [f"x_g{i}" for i in range(12)]
    assert len(rows) == 4 and all(len(row) == len(header) for row in rows)
    assert rows[-1][0] == pytest.approx(1.0)


def test_trajectory_rows_large_and_reduced_states():
    model = ClassicModel(random_patterns(201, 2, seed=0), form="A")
    full_header, _ = trajectory_rows(simulate(model, BETA, 1.0, n_points=3))
    reduced_header, _ = trajectory_rows(
        simulate(model, BETA, 1.0, n_points=3, reduced=True)
    )

    assert full_header == ["t", "beta", "speed", "overlap_1", "overlap_2"]
    assert reduced_header == full_header + ["m_1", "m_2"]


def test_state_labels_of_the_two_layer_form():
    model = ClassicModel(random_patterns(5, 2, seed=0), form="C")
    full = simulate(model, BETA, 1.0, n_points=3)
    reduced = simulate(model, BETA, 1.0, n_points=3, reduced=True)

    assert full.state_labels[-3:] == ("v_f5", "h_1", "h_2")
    assert reduced.state_labels == ("a_1", "a_2", "h_1", "h_2")


def test_plot_trajectory_writes_a_png(cells, tmp_path):
    run = simulate(cells, 6.0, 3.0, pulse=Pulse("g2", 0.3, 1.0, 2.0))
    path = tmp_path / "trajectories.png"

    fig = plot_trajectory(run, path=path, title="cells")

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes) == 2
    assert fig.axes[1].get_yscale() == "log"


def test_plot_trajectory_adds_a_beta_panel_when_beta_varies(form_A):
    schedule = annealing_schedule(3.0, 0.5, t_down=1.0, t_up=1.0)
    run = simulate(form_A, None, 3.0, schedule=schedule, n_points=31)

    fig = plot_trajectory(run)

    assert len(fig.axes) == 3
