"""Trajectories of hopdyn models: full or reduced, noisy, driven or annealed.

`simulate` integrates a model from one initial state and returns a
`Trajectory`: the saved times, states, overlaps with each pattern, the speed
|dx/dt| and the inverse temperature beta at each saved time.  The dynamics
can be the full N-dimensional field of the model or its exact reduction to
the overlaps (`hopdyn.symbolic.reduce`).  On top of the deterministic field
it offers

* additive white noise (Euler-Maruyama),
* a time-dependent beta, for instance `annealing_schedule`, which lowers beta
  and raises it again to shake a state out of a shallow attractor,
* production pulses (`Pulse`) on named features of the modern model, the
  enhancer-selection picture of a transient signal driving a cell type.

Initial states come from `random_state`, `noised_pattern` or the caller.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from hopdyn.errors import InputError
from hopdyn.results import Result
from hopdyn.symbolic import reduce

__all__ = [
    "METHODS",
    "AnnealingSchedule",
    "Pulse",
    "Trajectory",
    "annealing_schedule",
    "noised_pattern",
    "random_state",
    "simulate",
    "trajectory_rows",
]

logger = logging.getLogger(__name__)

IMPLICIT_METHODS = ("Radau", "BDF", "LSODA")
METHODS = ("RK45", "RK23", "DOP853", *IMPLICIT_METHODS, "euler")

# Full states wider than this are left out of trajectories.csv.
MAX_STATE_COLUMNS = 200

# Most steps a run may take: t_max / dt for Euler; t_max for the explicit
# solvers, whose steps the relaxation rate 1 keeps below a few time units.
MAX_STEPS = 10**8

# The noise stream is seeded apart from the initial state, so that adding
# noise does not change the random initial state drawn with the same seed.
_NOISE_STREAM = 1


# --------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------


@dataclass(eq=False, repr=False)
class Trajectory(Result):
    """One integrated trajectory; also readable as a mapping of its fields.

    Attributes
    ----------
    t : ndarray, shape (T,)
        Saved times, from 0 to ``t_max`` (fewer if integration failed).
    states : ndarray, shape (T, n)
        The state at each saved time: the full state (n = full dimension of
        the model) or the reduced state (n = reduced dimension).
    overlaps : ndarray, shape (T, K)
        Overlap with each pattern: ``model.overlaps`` of a full state, and
        the same quantity computed from a reduced state.
    speed : ndarray, shape (T,)
        |dx/dt| of the deterministic field at each saved state, in the
        coordinates that were integrated (full or reduced).
    beta : ndarray, shape (T,)
        Inverse temperature at each saved time.
    reduced : bool
        Whether the reduced dynamics were integrated.
    success : bool
        True if the integration reached ``t_max``.
    status : int
        0: reached ``t_max``; -1: the integration failed (see `message`).
    message : str
        Human-readable outcome.
    nfev : int
        Number of evaluations of the field.
    njev : int
        Number of evaluations of the Jacobian (implicit methods only).
    method : str
        The integration method.
    pattern_names : tuple of str, length K
        Names of the patterns, in the order of the columns of `overlaps`.
    state_labels : tuple of str, length n
        A column name for each component of the state (``x_<feature>``,
        ``v_<feature>``, ``h_<pattern>``, ``m_<pattern>``, ``a_<pattern>``).
    feature_names : tuple of str or None
        Names of the N features; None for the mean field.
    pulses : tuple of Pulse
        The production pulses that were applied.

    Notes
    -----
    Equality is identity, as for `hopdyn.patterns.PatternSet`.
    """

    t: np.ndarray
    states: np.ndarray
    overlaps: np.ndarray
    speed: np.ndarray
    beta: np.ndarray
    reduced: bool
    success: bool
    status: int
    message: str
    nfev: int
    njev: int
    method: str
    pattern_names: tuple
    state_labels: tuple
    feature_names: tuple | None
    pulses: tuple = ()

    def __repr__(self):
        kind = "reduced" if self.reduced else "full"
        return (
            f"Trajectory({kind}, T={len(self.t)}, dimension={self.states.shape[1]}, "
            f"status={self.status}, message={self.message!r})"
        )


# --------------------------------------------------------------------------
# Schedules and pulses
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnealingSchedule:
    """Piecewise-linear beta(t): down from beta_high, hold, back up.

    Built by `annealing_schedule`; calling it with a time (or an array of
    times) returns beta there.
    """

    beta_high: float
    beta_low: float
    t_down: float
    t_up: float
    t_hold: float = 0.0

    @property
    def breakpoints(self) -> tuple:
        """(times, betas): the corners of the piecewise-linear curve."""
        t1 = self.t_down
        t2 = t1 + self.t_hold
        t3 = t2 + self.t_up
        times = (0.0, t1, t2, t3)
        betas = (self.beta_high, self.beta_low, self.beta_low, self.beta_high)
        return times, betas

    def __call__(self, t):
        times, betas = self.breakpoints
        value = np.interp(t, times, betas)
        return float(value) if np.ndim(value) == 0 else value


def annealing_schedule(beta_high, beta_low, t_down, t_up, t_hold=0.0):
    """Lower beta linearly, hold it, then raise it again.

    beta(t) falls from `beta_high` at t = 0 to `beta_low` at ``t_down``,
    stays there for ``t_hold``, climbs back to `beta_high` over ``t_up`` and
    stays at `beta_high` afterwards (also for t < 0).

    Parameters
    ----------
    beta_high, beta_low : float
        The starting and lowest beta; finite, ``0 < beta_low <= beta_high``.
    t_down, t_up : float
        Durations of the falling and rising ramps; finite and > 0.
    t_hold : float, default 0.0
        Time spent at `beta_low`; finite and >= 0.

    Returns
    -------
    AnnealingSchedule
        A callable t -> beta, vectorised over arrays of t.

    Raises
    ------
    InputError
        If a value breaks the rules above.

    Examples
    --------
    >>> schedule = annealing_schedule(4.0, 1.0, t_down=2.0, t_up=2.0, t_hold=1.0)
    >>> [schedule(t) for t in (0.0, 1.0, 2.5, 4.0, 9.0)]
    [4.0, 2.5, 1.0, 2.5, 4.0]
    """
    high = _positive(beta_high, "beta_high")
    low = _positive(beta_low, "beta_low")
    if low > high:
        raise InputError(
            f"annealing_schedule: beta_low must not exceed beta_high, "
            f"got beta_low={beta_low!r} > beta_high={beta_high!r}"
        )

    down = _positive(t_down, "t_down")
    up = _positive(t_up, "t_up")
    hold = _non_negative(t_hold, "t_hold")

    return AnnealingSchedule(high, low, down, up, hold)


@dataclass(frozen=True)
class Pulse:
    """A production pulse on some features of a modern model.

    During ``t_on <= t < t_off`` the production term is ``model.u`` plus
    `strength` on each of `features`.

    Parameters
    ----------
    features : str, int or tuple of str and int
        Feature names (looked up in ``model.patterns.features``) or 0-based
        feature indices.
    strength : float
        Added production; finite, either sign.
    t_on, t_off : float
        The window; finite with ``t_on < t_off``.

    Raises
    ------
    InputError
        If a field breaks the rules above.

    Examples
    --------
    >>> Pulse("CD14", 0.5, t_on=1.0, t_off=2.0).features
    ('CD14',)
    """

    features: tuple
    strength: float
    t_on: float
    t_off: float

    def __post_init__(self):
        features = self.features
        if isinstance(features, (str, int, np.integer)):
            features = (features,)
        features = tuple(features)
        if not features:
            raise InputError("pulse: features must name at least one feature")

        strength = _finite(self.strength, "pulse strength")
        t_on = _finite(self.t_on, "pulse t_on")
        t_off = _finite(self.t_off, "pulse t_off")
        if not t_on < t_off:
            raise InputError(
                f"pulse: t_on must be before t_off, got t_on={t_on}, t_off={t_off}"
            )

        object.__setattr__(self, "features", features)
        object.__setattr__(self, "strength", strength)
        object.__setattr__(self, "t_on", t_on)
        object.__setattr__(self, "t_off", t_off)

    def active(self, t) -> bool:
        """Whether the pulse is on at time t."""
        return self.t_on <= t < self.t_off

    def indices(self, model) -> np.ndarray:
        """The 0-based feature indices of the pulse in ``model``."""
        names = model.patterns.features
        lookup = {name: index for index, name in enumerate(names)}
        return np.array([_feature_index(f, lookup, len(names)) for f in self.features])


def _feature_index(feature, lookup, n_features):
    """Index of one pulse feature, given by name or by index."""
    if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool):
        if not 0 <= feature < n_features:
            raise InputError(
                f"pulse: feature index must be in 0..{n_features - 1}, got {feature}"
            )
        return int(feature)

    if isinstance(feature, str):
        if feature not in lookup:
            raise InputError(f"pulse: unknown feature {feature!r}")
        return lookup[feature]

    raise InputError(f"pulse: features must be names or indices, got {feature!r}")


# --------------------------------------------------------------------------
# Initial states
# --------------------------------------------------------------------------


def random_state(model, seed=0, reduced=False) -> np.ndarray:
    """A random initial state: visible units uniform in [0, 1).

    Parameters
    ----------
    model : ClassicModel, MeanFieldModel or ModernModel
    seed : int, default 0
        Seed for ``numpy.random.default_rng``.
    reduced : bool, default False
        Return the projection of the full state onto the reduced coordinates.

    Returns
    -------
    ndarray, shape (full_dimension,) or (reduced_dimension,)

    Notes
    -----
    A visible state v is drawn uniformly in [0, 1)^N.  Form C takes the
    hidden layer h = X v / sqrt(N) and form D the overlaps X v / N, so that
    all forms start from the same point.  The mean field has no features:
    its overlaps are drawn uniformly in [-1, 1)^K.

    Examples
    --------
    >>> from hopdyn.models import ClassicModel
    >>> from hopdyn.patterns import random_patterns
    >>> model = ClassicModel(random_patterns(50, 2, seed=1), form="C")
    >>> random_state(model, seed=3).shape, random_state(model, 3, True).shape
    ((52,), (4,))
    """
    rng = np.random.default_rng(_check_seed(seed))

    if model.kind == "meanfield":
        full = rng.uniform(-1.0, 1.0, size=model.K)
    else:
        full = _complete_state(model, rng.uniform(0.0, 1.0, size=model.N))

    return model.project(full) if reduced else full


def noised_pattern(model, k, scale, seed=0, reduced=False) -> np.ndarray:
    """Pattern k plus Gaussian noise, as an initial state.

    Parameters
    ----------
    model : ClassicModel, MeanFieldModel or ModernModel
    k : int
        0-based pattern number.
    scale : float
        Noise standard deviation relative to the pattern's root mean square;
        finite and >= 0.
    seed : int, default 0
        Seed for ``numpy.random.default_rng``.
    reduced : bool, default False
        Return the projection of the full state onto the reduced coordinates.

    Returns
    -------
    ndarray, shape (full_dimension,) or (reduced_dimension,)

    Raises
    ------
    InputError
        If `k` is not a pattern number or `scale` is negative or not finite.

    Notes
    -----
    The noisy visible state v completes to a full state as in
    `random_state`: h = X v / sqrt(N) for form C, the overlaps X v / N for
    form D.  For the mean field (N infinite, patterns of +-1 entries) the
    noise, of standard deviation `scale`, is added to the overlaps e_k.

    Examples
    --------
    >>> import numpy as np
    >>> from hopdyn.models import MeanFieldModel
    >>> noised_pattern(MeanFieldModel(3), 1, scale=0.0).tolist()
    [0.0, 1.0, 0.0]
    """
    k = _check_pattern(model, k)
    scale = _non_negative(scale, "scale")
    rng = np.random.default_rng(_check_seed(seed))

    if model.kind == "meanfield":
        full = np.eye(model.K)[k] + scale * rng.standard_normal(model.K)
    else:
        pattern = model.X[k]
        rms = np.sqrt(np.mean(pattern**2))
        visible = pattern + scale * rms * rng.standard_normal(model.N)
        full = _complete_state(model, visible)

    return model.project(full) if reduced else full


def _complete_state(model, visible):
    """The full state whose visible layer is ``visible`` (shape (N,))."""
    if model.form == "C":
        return np.concatenate([visible, model.X @ visible / np.sqrt(model.N)])
    if model.form == "D":
        return model.X @ visible / model.N
    return visible


def _check_pattern(model, k):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise InputError(f"k must be a pattern number (an integer), got {k!r}")
    if not 0 <= k < model.K:
        raise InputError(f"k must be in 0..{model.K - 1} (0-based), got {k}")
    return int(k)


def _initial_state(model, x0, seed, reduced):
    """The validated initial state, or a random one when x0 is None."""
    if x0 is None:
        return random_state(model, seed, reduced=reduced)

    dimension = model.reduced_dimension if reduced else model.full_dimension
    state = np.array(x0, dtype=float)
    if state.shape != (dimension,):
        kind = "reduced" if reduced else "full"
        raise InputError(
            f"x0 must have shape ({dimension},) for the {kind} state, got {state.shape}"
        )
    if not np.all(np.isfinite(state)):
        raise InputError("x0 contains NaN or infinite values")

    return state


# --------------------------------------------------------------------------
# The driven vector field
# --------------------------------------------------------------------------


class _Dynamics:
    """The field to integrate, with beta(t) and the production pulses."""

    def __init__(self, model, reduced, beta, schedule, pulses):
        self.model = model
        self.system = reduce(model) if reduced else None
        self.beta = beta
        self.schedule = schedule
        self.pulses = tuple(pulses)
        self.resolved = [(pulse, pulse.indices(model)) for pulse in self.pulses]

    @property
    def breakpoints(self) -> list:
        """Times where the field jumps (pulses) or kinks (annealing)."""
        times = {t for p in self.pulses for t in (p.t_on, p.t_off)}
        if isinstance(self.schedule, AnnealingSchedule):
            times.update(self.schedule.breakpoints[0])
        return sorted(times)

    def beta_at(self, t) -> float:
        if self.schedule is None:
            return self.beta
        value = self.schedule(t)
        try:
            return _positive(value, "beta")
        except InputError:
            raise InputError(
                f"schedule must return a finite beta > 0, got {value!r} at t={t}"
            ) from None

    def extra_production(self, t):
        """Production added by the active pulses at t, shape (N,), or None."""
        active = [(p, index) for p, index in self.resolved if p.active(t)]
        if not active:
            return None
        du = np.zeros(self.model.N)
        for pulse, index in active:
            du[index] += pulse.strength
        return du

    def fun(self, t, x):
        beta = self.beta_at(t)
        du = self.extra_production(t)
        if self.system is not None:
            field = self.system.fun(x, beta)
            return field if du is None else field + self.model.X @ du
        if du is None:
            return self.model.full_fun(x, beta)
        return self.model.full_fun(x, beta, u=self.model.u + du)

    def jac(self, t, x):
        beta = self.beta_at(t)
        if self.system is not None:
            return self.system.jac(x, beta)
        return self.model.full_jac(x, beta)


def _check_pulses(model, pulse, t_max):
    """The pulses as a tuple, after checking that the model takes them."""
    if pulse is None:
        return ()
    pulses = (pulse,) if isinstance(pulse, Pulse) else pulse
    if not isinstance(pulses, (list, tuple)) or not all(
        isinstance(p, Pulse) for p in pulses
    ):
        raise InputError("pulse must be a Pulse or a sequence of Pulse objects")
    pulses = tuple(pulses)
    if pulses and model.kind != "modern":
        raise InputError(
            f"pulse: production pulses act on the modern model only, "
            f"got a {model.kind} model"
        )
    for pulse in pulses:
        pulse.indices(model)  # unknown features fail before any warning
    _warn_idle_pulses(pulses, t_max)
    return pulses


def _warn_idle_pulses(pulses, t_max):
    for pulse in pulses:
        if pulse.t_off <= 0.0 or pulse.t_on >= t_max:
            warnings.warn(
                f"pulse window [{pulse.t_on}, {pulse.t_off}) lies outside "
                f"[0, {t_max}]; it has no effect",
                UserWarning,
                stacklevel=4,
            )


# --------------------------------------------------------------------------
# Integrators
# --------------------------------------------------------------------------


@dataclass
class _Run:
    t: np.ndarray
    states: np.ndarray
    status: int
    message: str
    nfev: int = 0
    njev: int = 0


def _run_solver(dynamics, x0, times, method, rtol, atol) -> _Run:
    """solve_ivp between the field's jumps, saving at ``times``."""
    options = {"method": method, "rtol": rtol, "atol": atol}
    if method in IMPLICIT_METHODS:
        options["jac"] = dynamics.jac

    edges = _segment_edges(times[-1], dynamics.breakpoints)
    saved_t, saved_x = [], []
    x, nfev, njev = x0, 0, 0

    for start, stop in zip(edges[:-1], edges[1:], strict=True):
        wanted = times[(times >= start) & ((times < stop) | (stop == edges[-1]))]
        solution = solve_ivp(
            dynamics.fun, (start, stop), x, t_eval=np.union1d(wanted, [stop]), **options
        )
        nfev, njev = nfev + solution.nfev, njev + solution.njev

        # A solver that fails before its first saved time returns plain
        # (empty) lists rather than arrays.
        t_saved = np.asarray(solution.t, dtype=float)
        y_saved = np.asarray(solution.y, dtype=float).reshape(len(x), -1)
        keep = np.isin(t_saved, wanted)
        saved_t.append(t_saved[keep])
        saved_x.append(y_saved.T[keep])
        if solution.status != 0:
            reached = t_saved[-1] if t_saved.size else start
            message = f"{method} failed after t={reached:g}: {solution.message}"
            return _Run(*_stack(saved_t, saved_x, x0), -1, message, nfev, njev)
        x = solution.y[:, -1]

    return _Run(*_stack(saved_t, saved_x, x0), 0, "reached t_max", nfev, njev)


def _segment_edges(t_max, breakpoints):
    """0, the breakpoints inside (0, t_max), and t_max."""
    inside = [t for t in breakpoints if 0.0 < t < t_max]
    return [0.0, *inside, t_max]


def _stack(saved_t, saved_x, x0):
    t = np.concatenate(saved_t) if saved_t else np.zeros(0)
    states = np.concatenate(saved_x) if saved_x else np.zeros((0, len(x0)))
    return t, states


def _run_euler(dynamics, x0, times, dt, noise, rng) -> _Run:
    """Fixed-step (Euler or Euler-Maruyama) steps, landing on ``times``."""
    states = [x0]
    x, nfev = x0, 0

    for start, stop in zip(times[:-1], times[1:], strict=True):
        # Round the step down so that the last step lands on `stop`.
        n_steps = max(1, int(np.ceil((stop - start) / dt - 1e-9)))
        h = (stop - start) / n_steps
        x = _euler_steps(dynamics, x, start, h, n_steps, noise, rng)
        nfev += n_steps

        if not np.all(np.isfinite(x)):
            message = f"euler: the state became infinite or NaN before t={stop:g}"
            return _Run(times[: len(states)], np.array(states), -1, message, nfev)
        states.append(x)

    return _Run(times.copy(), np.array(states), 0, "reached t_max", nfev)


def _euler_steps(dynamics, x, t, h, n_steps, noise, rng):
    """n_steps steps of size h from (t, x); noise is the diffusion D."""
    kick = np.sqrt(2.0 * noise * h)

    # A blow-up is reported through the trajectory's status, not as warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(n_steps):
            x = x + h * dynamics.fun(t + step * h, x)
            if noise > 0.0:
                x = x + kick * rng.standard_normal(x.shape)
    return x


# --------------------------------------------------------------------------
# Public driver
# --------------------------------------------------------------------------


def simulate(
    model,
    beta,
    t_max,
    x0=None,
    *,
    reduced=False,
    method="RK45",
    dt=0.01,
    n_points=201,
    noise=0.0,
    schedule=None,
    pulse=None,
    seed=0,
    rtol=1e-6,
    atol=1e-9,
) -> Trajectory:
    """Integrate a model from one initial state.

    Parameters
    ----------
    model : ClassicModel, MeanFieldModel or ModernModel
    beta : float or None
        Inverse temperature, finite and > 0.  Ignored, and may be None,
        when `schedule` is given.
    t_max : float
        Final time, finite and > 0.
    x0 : array_like, shape (n,), optional
        Initial state, n being the full or the reduced dimension of the
        model (see `reduced`).  Default: ``random_state(model, seed,
        reduced)``; see also `noised_pattern`.
    reduced : bool, default False
        Integrate the exact reduced dynamics (``reduce(model).fun``) instead
        of the full field.
    method : str, default "RK45"
        A method of `scipy.integrate.solve_ivp` ("RK45", "RK23", "DOP853",
        "Radau", "BDF", "LSODA"; the implicit ones get the analytic
        Jacobian), or "euler" for fixed steps of at most `dt`.
    dt : float, default 0.01
        Step of the Euler method; finite and > 0.
    n_points : int, default 201
        Number of saved times, evenly spaced on [0, t_max]; at least 2.
    noise : float, default 0.0
        Diffusion constant D >= 0: each Euler step of size h adds
        sqrt(2 D h) times a standard normal vector.  Needs method="euler".
    schedule : callable, optional
        t -> beta, e.g. `annealing_schedule`; replaces `beta`.
    pulse : Pulse or sequence of Pulse, optional
        Production pulses; modern model only.
    seed : int, default 0
        Seed of the random initial state and of the noise.
    rtol, atol : float, default 1e-6, 1e-9
        Tolerances of `solve_ivp`.

    Returns
    -------
    Trajectory
        Saved times, states, overlaps, speed and beta, with ``status``,
        ``message``, ``success``, ``nfev`` and ``njev``.  A failed
        integration is reported there, with the points reached so far.

    Raises
    ------
    InputError
        For an unknown method, noise without method="euler", a pulse on a
        classical model or on an unknown feature, a bad x0 or any other
        value that breaks the rules above.

    Notes
    -----
    Reduced coordinates are those of ``model.project``.  A production pulse
    enters the reduced field as X du(t), du being the added production; the
    noise is added in whichever coordinates are integrated, so reduced and
    full noisy trajectories are different processes.  The Euler step is
    shrunk where needed to land exactly on the saved times, and the adaptive
    solvers restart at every pulse edge (so that no pulse is stepped over)
    and at the corners of an `AnnealingSchedule`.
    The speed is measured in the integrated coordinates: |dm/dt| for a
    reduced trajectory.

    Examples
    --------
    >>> from hopdyn.models import ClassicModel
    >>> from hopdyn.patterns import random_patterns
    >>> model = ClassicModel(random_patterns(100, 2, seed=0), form="A")
    >>> x0 = noised_pattern(model, 0, scale=0.5, seed=1)
    >>> run = simulate(model, beta=3.0, t_max=10.0, x0=x0)
    >>> run.success, bool(run.overlaps[-1, 0] > 0.9)
    (True, True)
    """
    _check_method(method, noise)
    beta = _check_beta_or_schedule(beta, schedule)
    times = np.linspace(0.0, _positive(t_max, "t_max"), _check_points(n_points))
    steps = _StepOptions(dt, noise, seed, rtol, atol)
    _check_steps(times[-1], method, steps.dt)
    pulses = _check_pulses(model, pulse, times[-1])

    dynamics = _Dynamics(model, reduced, beta, schedule, pulses)
    state = _initial_state(model, x0, steps.seed, reduced)
    logger.debug(
        "simulate %s: %s dynamics, %d-dimensional state, t_max=%g, method=%s",
        model.describe(),
        "reduced" if reduced else "full",
        len(state),
        times[-1],
        method,
    )

    run = _integrate(dynamics, state, times, method, steps)
    logger.debug("simulate: %s after %d field evaluations", run.message, run.nfev)
    return _trajectory(model, dynamics, run, method)


@dataclass(frozen=True)
class _StepOptions:
    """Validated step, noise and tolerance options of `simulate`."""

    dt: float
    noise: float
    seed: int
    rtol: float
    atol: float

    def __post_init__(self):
        object.__setattr__(self, "dt", _positive(self.dt, "dt"))
        object.__setattr__(self, "noise", _non_negative(self.noise, "noise"))
        object.__setattr__(self, "seed", _check_seed(self.seed))
        object.__setattr__(self, "rtol", _positive(self.rtol, "rtol"))
        object.__setattr__(self, "atol", _positive(self.atol, "atol"))


def _integrate(dynamics, state, times, method, steps) -> _Run:
    if method != "euler":
        return _run_solver(dynamics, state, times, method, steps.rtol, steps.atol)

    rng = np.random.default_rng([_NOISE_STREAM, steps.seed])
    return _run_euler(dynamics, state, times, steps.dt, steps.noise, rng)


def _check_beta_or_schedule(beta, schedule):
    """The constant beta, or None when a schedule replaces it."""
    if schedule is None:
        return _positive(beta, "beta")
    if not callable(schedule):
        raise InputError(f"schedule must be a callable t -> beta, got {schedule!r}")
    return None


def _check_method(method, noise):
    if method not in METHODS:
        valid = ", ".join(METHODS)
        raise InputError(f"method must be one of {valid}, got {method!r}")
    if _non_negative(noise, "noise") > 0.0 and method != "euler":
        raise InputError(
            f"noise > 0 needs method='euler' (Euler-Maruyama), got method={method!r}"
        )


def _check_steps(t_max, method, dt):
    """Refuse runs whose step count would keep the solver busy for days."""
    if method in IMPLICIT_METHODS:
        return
    steps = t_max / dt if method == "euler" else t_max
    if steps > MAX_STEPS:
        implicit = ", ".join(IMPLICIT_METHODS)
        remedy = "a larger dt" if method == "euler" else f"a method among {implicit}"
        raise InputError(
            f"t_max={t_max:g} needs about {steps:.3g} steps with method "
            f"{method!r}, more than {MAX_STEPS:.0e}; use a smaller t_max or "
            f"{remedy}"
        )


def _trajectory(model, dynamics, run, method) -> Trajectory:
    """Assemble the result, evaluating speed, beta and overlaps."""
    reduced = dynamics.system is not None
    velocities = [dynamics.fun(t, x) for t, x in zip(run.t, run.states, strict=True)]
    speed = np.linalg.norm(np.reshape(velocities, run.states.shape), axis=-1)

    overlaps = (
        _reduced_overlaps(model, run.states) if reduced else model.overlaps(run.states)
    )
    features = None if model.patterns is None else tuple(model.patterns.features)

    return Trajectory(
        t=run.t,
        states=run.states,
        overlaps=overlaps,
        speed=speed,
        beta=np.array([dynamics.beta_at(t) for t in run.t]),
        reduced=reduced,
        success=run.status == 0,
        status=run.status,
        message=run.message,
        nfev=run.nfev,
        njev=run.njev,
        method=method,
        pattern_names=tuple(model.pattern_names),
        state_labels=_state_labels(model, reduced),
        feature_names=features,
        pulses=dynamics.pulses,
    )


def _reduced_overlaps(model, states):
    """Overlaps of the full states that reduced states stand for."""
    if model.kind != "classic" or model.form in "AD":
        # The reduced state is the overlap vector itself.
        return states.copy()

    gram = model.X @ model.X.T / model.N
    if model.form == "C":
        return states[:, : model.K] @ gram
    return states @ gram + model.X @ model.field / model.N


def _state_labels(model, reduced) -> tuple:
    names = model.pattern_names
    if model.form == "C" and reduced:
        return (*(f"a_{n}" for n in names), *(f"h_{n}" for n in names))
    if reduced or model.kind == "meanfield":
        return tuple(f"m_{n}" for n in names)
    if model.form == "D":
        return tuple(f"h_{n}" for n in names)

    visible = "v" if model.form == "C" else "x"
    labels = tuple(f"{visible}_{f}" for f in model.patterns.features)
    if model.form == "C":
        labels += tuple(f"h_{n}" for n in names)
    return labels


# --------------------------------------------------------------------------
# Table for trajectories.csv
# --------------------------------------------------------------------------


def trajectory_rows(trajectory) -> tuple:
    """Header and rows of ``trajectories.csv`` for one trajectory.

    Parameters
    ----------
    trajectory : Trajectory

    Returns
    -------
    header : list of str
        ``t``, ``beta``, ``speed``, ``overlap_<pattern>`` for each pattern,
        then one column per state component (`Trajectory.state_labels`).
    rows : list of list of float
        One row per saved time.

    Notes
    -----
    Full states with more than 200 components (N > 200 for most models)
    are left out, keeping only the overlaps: the file would otherwise grow
    with N while the overlaps carry what the figure shows.

    Examples
    --------
    >>> from hopdyn.models import MeanFieldModel
    >>> run = simulate(MeanFieldModel(2), 2.0, 1.0, [0.5, 0.1], n_points=3)
    >>> trajectory_rows(run)[0]
    ['t', 'beta', 'speed', 'overlap_1', 'overlap_2', 'm_1', 'm_2']
    """
    header = ["t", "beta", "speed"]
    header += [f"overlap_{name}" for name in trajectory.pattern_names]
    columns = [trajectory.t, trajectory.beta, trajectory.speed, trajectory.overlaps]

    dimension = trajectory.states.shape[1]
    if trajectory.reduced or dimension <= MAX_STATE_COLUMNS:
        header += list(trajectory.state_labels)
        columns.append(trajectory.states)

    table = np.column_stack(columns)
    return header, table.tolist()


# --------------------------------------------------------------------------
# Small validators
# --------------------------------------------------------------------------


def _finite(value, name) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(number):
        raise InputError(f"{name} must be finite, got {value!r}")
    return number


def _positive(value, name) -> float:
    number = _finite(value, name)
    if number <= 0.0:
        raise InputError(f"{name} must be > 0, got {value!r}")
    return number


def _non_negative(value, name) -> float:
    number = _finite(value, name)
    if number < 0.0:
        raise InputError(f"{name} must be >= 0, got {value!r}")
    return number


def _check_points(n_points) -> int:
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)):
        raise InputError(f"n_points must be an integer, got {n_points!r}")
    if n_points < 2:
        raise InputError(f"n_points must be at least 2, got {n_points}")
    return int(n_points)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"seed must be an integer, got {seed!r}")
    if seed < 0:
        raise InputError(f"seed must be >= 0, got {seed}")
    return int(seed)
