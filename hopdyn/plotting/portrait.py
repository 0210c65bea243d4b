"""Phase portraits of a reduced system in a plane of its state space.

A portrait is drawn in two steps.  `compute_portrait` evaluates everything a
picture needs in a `Plane`: the field projected onto the plane, its speed,
the energy, the fixed points that lie in the plane, the stable and unstable
manifolds of its saddles and, on request, the basin of attraction of every
grid point.  `draw_portrait` turns that `Portrait` into streamlines coloured
by speed, nullclines, energy contours, separatrices, marked fixed points and
shaded basins; `plot_portrait` does both and returns a figure.

For a two-dimensional reduced system the plane is the state plane itself.
In higher dimensions `portrait_plane` builds the plane of two patterns
("patterns:I,J") or the plane through three fixed points ("points:A,B,C").
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, replace

import numpy as np
from matplotlib import colors, ticker
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patheffects import withStroke
from scipy.integrate import solve_ivp
from scipy.spatial import cKDTree

from hopdyn.errors import InputError
from hopdyn.fixed_points import find_fixed_points
from hopdyn.models.base import check_beta
from hopdyn.plotting.style import ATTRACTOR_KIND_COLORS, apply_style, pattern_color

__all__ = [
    "Basins",
    "Manifold",
    "Plane",
    "Portrait",
    "basin_map",
    "compute_portrait",
    "draw_portrait",
    "plot_portrait",
    "portrait_plane",
    "saddle_manifolds",
]

PLANE_KINDS = ("patterns", "points")

# Grid points per axis: the field (streamlines, nullclines, energy) and the
# basins, whose every point is integrated to its attractor.
FIELD_RESOLUTION = 121
BASIN_RESOLUTION = 64

# Fraction of the plane's span added on each side of the anchor states (the
# pattern states or the three chosen points), and the least room between a
# fixed point and the edge.
PADDING = 0.15
EDGE_MARGIN = 0.08
MIN_ASPECT = 0.6

# A fixed point belongs to the plane when its distance from it is below this
# fraction of the plane's span.
IN_PLANE_TOL = 1e-4

# Fixed points off the plane by less than this fraction of the span are
# drawn faintly at their projection (a softmax retrieval state, for
# instance, is near but not in the plane of its pattern).
NEAR_PLANE_TOL = 0.03

# Manifolds start this fraction of the span away from their saddle; an
# eigenvector counts as lying in the plane when this fraction of its length
# does.
MANIFOLD_STEP = 1e-4
MIN_IN_PLANE = 0.5

# The plane is invariant when the field's component normal to it stays below
# this fraction of the largest speed on the grid.
INVARIANT_TOL = 1e-6

# Labels of fixed points closer than this fraction of the span would collide.
LABEL_CLEARANCE = 0.08

# Integration horizon of a manifold branch, and the speed (relative to the
# span) below which it has reached a fixed point.
MANIFOLD_T_MAX = 200.0
SETTLED_SPEED = 1e-7

# Basin integration: chunks of this duration, at most this many, and the
# distance (relative to the span) at which a state has reached an attractor.
BASIN_CHUNK = 10.0
BASIN_ROUNDS = 30
BASIN_RADIUS = 0.02

# Speed (relative to the span) below which a state away from every attractor
# counts as stuck at a saddle.
STALLED_SPEED = 1e-7

_STREAM_CMAP = colors.LinearSegmentedColormap.from_list(
    "hopdyn_speed", ["#b8c4d6", "#5a6f8f", "#1b2638"]
)
_NULLCLINE_STYLES = (
    {"colors": "#c03d3e", "linestyles": "--"},
    {"colors": "#3d8c40", "linestyles": "--"},
)
_STABLE_MANIFOLD = {"color": "black", "linewidth": 1.8, "solid_capstyle": "round"}
_UNSTABLE_MANIFOLD = {"color": "#7a1fa2", "linewidth": 1.4, "linestyle": "-"}
_ENERGY_STYLE = {
    "colors": "0.55",
    "linewidths": 0.4,
    "linestyles": "solid",
    "alpha": 0.8,
}
_BASIN_TINTS = (0.62, 0.82, 0.45, 0.9)
_BASIN_ALPHA = 0.55
_NEARBY_ALPHA = 0.45
_LABEL_STROKE = [withStroke(linewidth=2.2, foreground="white")]


# --------------------------------------------------------------------------
# The plane
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Plane:
    """A plane of the reduced state space, with coordinates on it.

    The state with plane coordinates (a, b) is
    ``origin + a * basis[0] + b * basis[1]``.

    Attributes
    ----------
    origin : ndarray, shape (d,)
        The state at coordinates (0, 0).
    basis : ndarray, shape (2, d)
        The two directions of the plane (independent, not necessarily
        orthogonal).
    limits : tuple of two (float, float)
        The x and y ranges of the portrait, in plane coordinates.
    description : str
        One line that names the plane, for titles and the command line.
    axis_labels : tuple of str
        Axis labels of the two coordinates (matplotlib mathtext).
    symbols : tuple of str
        Mathtext names of the two coordinates, as ``"m_{1}"``.
    spec : str
        The canonical spec: ``"state"``, ``"patterns:I,J"`` or
        ``"points:A,B,C"``.
    """

    origin: np.ndarray
    basis: np.ndarray
    limits: tuple
    description: str
    axis_labels: tuple
    symbols: tuple
    spec: str

    def __post_init__(self):
        origin = np.array(self.origin, dtype=float)
        basis = np.array(self.basis, dtype=float)
        for array in (origin, basis):
            array.setflags(write=False)
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "basis", basis)
        # The dual basis maps a state-space vector to the coordinates of its
        # orthogonal projection onto the plane.
        object.__setattr__(self, "_dual", np.linalg.pinv(basis))

    def __repr__(self):
        return f"Plane({self.spec!r}: {self.description})"

    @property
    def dimension(self) -> int:
        """Length of a state of the reduced system."""
        return len(self.origin)

    @property
    def span(self) -> float:
        """The larger side of the portrait's box, in plane coordinates."""
        return float(max(hi - lo for lo, hi in self.limits))

    def states(self, coordinates):
        """States at plane coordinates of shape (..., 2); returns (..., d)."""
        return self.origin + np.asarray(coordinates, dtype=float) @ self.basis

    def coordinates(self, states):
        """Coordinates (..., 2) of the projection of states (..., d)."""
        return (np.asarray(states, dtype=float) - self.origin) @ self._dual

    def components(self, vectors):
        """Plane components (..., 2) of tangent vectors (..., d)."""
        return np.asarray(vectors, dtype=float) @ self._dual

    def distance(self, states):
        """Euclidean distance of states (..., d) from the plane."""
        states = np.asarray(states, dtype=float)
        foot = self.states(self.coordinates(states))
        return np.linalg.norm(states - foot, axis=-1)

    def in_plane_fraction(self, vector) -> float:
        """How much of a vector's length lies along the plane (0 to 1)."""
        vector = np.asarray(vector, dtype=float)
        along = self.components(vector) @ self.basis
        return float(np.linalg.norm(along) / max(np.linalg.norm(vector), 1e-300))


def portrait_plane(system, beta, spec=None, fixed_points=None) -> Plane:
    """Choose the plane of a phase portrait.

    Parameters
    ----------
    system : ReducedSystem
        From `hopdyn.symbolic.reduce`; its state has dimension d >= 2.
    beta : float
        Inverse temperature, > 0.
    spec : str, optional
        ``"patterns:I,J"`` (1-based pattern numbers): the plane spanned by
        the states of patterns I and J (``system.from_coefficients`` of the
        unit vectors), through the origin for signed (classical) systems and
        through the uniform state for softmax systems.
        ``"points:A,B,C"``: the plane through three fixed points, numbered
        as in ``find_fixed_points(system, beta).fixed_points``.
        Default: the state plane itself when d = 2, else ``"patterns:1,2"``.
    fixed_points : FixedPointResult, optional
        The fixed points at this beta, if already found; used by
        ``"points:..."`` and to widen the limits so that every fixed point
        near the plane shows.  Found when a ``"points:..."`` spec needs
        them.

    Returns
    -------
    Plane

    Raises
    ------
    InputError
        If the spec is malformed, names a pattern or point that does not
        exist, repeats one, or its states do not span a plane; or if d < 2.

    Examples
    --------
    >>> from hopdyn.models import MeanFieldModel
    >>> from hopdyn.symbolic import reduce
    >>> portrait_plane(reduce(MeanFieldModel(3)), 2.0).description
    'plane of patterns 1 and 2 through the origin'
    """
    beta = check_beta(beta)
    if system.dimension < 2:
        raise InputError(
            f"a phase portrait needs a state of dimension >= 2, got {system.dimension}"
        )

    if spec is None:
        spec = "state" if system.dimension == 2 else "patterns:1,2"
    kind, numbers = _parse_spec(spec)
    if kind == "points" and fixed_points is None:
        fixed_points = find_fixed_points(system, beta)

    builders = {
        "state": _state_plane,
        "patterns": _pattern_plane,
        "points": _point_plane,
    }
    plane = builders[kind](system, beta, numbers, fixed_points)
    return plane if fixed_points is None else _widened(plane, fixed_points)


def _parse_spec(spec):
    """(kind, numbers) of a plane spec, or InputError with the rule."""
    rule = "plane must be 'patterns:I,J' or 'points:A,B,C'"
    if not isinstance(spec, str):
        raise InputError(f"{rule}, got {spec!r}")
    text = spec.strip().lower()
    if text == "state":
        return "state", ()

    match = re.fullmatch(r"(\w+)\s*:\s*([-+\d\s,]+)", text)
    if match is None or match.group(1) not in PLANE_KINDS:
        raise InputError(f"{rule}, got {spec!r}")
    kind = match.group(1)
    try:
        numbers = tuple(int(n) for n in match.group(2).split(","))
    except ValueError:
        raise InputError(f"{rule} with integer numbers, got {spec!r}") from None

    wanted = 2 if kind == "patterns" else 3
    if len(numbers) != wanted:
        raise InputError(f"{kind} plane needs {wanted} numbers, got {spec!r}")
    if len(set(numbers)) != wanted:
        raise InputError(f"{kind} plane needs distinct numbers, got {spec!r}")
    return kind, numbers


def _state_plane(system, beta, numbers, fixed_points):
    if system.dimension != 2:
        raise InputError(
            "plane 'state' needs a two-dimensional state, "
            f"got dimension {system.dimension}; use 'patterns:I,J'"
        )
    letter = _state_letter(system)
    symbols = tuple(f"{letter}_{{{k + 1}}}" for k in range(2))
    labels = tuple(_axis_label(symbols[k], _name_note(system, k)) for k in range(2))
    return Plane(
        origin=np.zeros(2),
        basis=np.eye(2),
        limits=_padded_box(_pattern_states(system, beta)),
        description=f"state plane ({letter}1, {letter}2)",
        axis_labels=labels,
        symbols=symbols,
        spec="state",
    )


def _pattern_plane(system, beta, numbers, fixed_points):
    K = system.n_patterns
    for number in numbers:
        if not 1 <= number <= K:
            raise InputError(
                f"patterns plane: pattern numbers run from 1 to {K}, got {number}"
            )

    first, second = (number - 1 for number in numbers)
    if system.signed:
        origin, through = np.zeros(system.dimension), "origin"
    else:
        uniform = np.full(K, 1.0 / K)
        origin, through = system.from_coefficients(uniform, beta), "uniform state"
    pattern_states = system.from_coefficients(np.eye(K)[[first, second]], beta)
    basis = pattern_states - origin
    _check_independent(basis, f"patterns plane {numbers[0]},{numbers[1]}")

    symbols = (f"c_{{{numbers[0]}}}", f"c_{{{numbers[1]}}}")
    labels = tuple(
        _axis_label(symbols[i], _pattern_axis_note(system, k))
        for i, k in enumerate((first, second))
    )
    anchors = np.concatenate([np.zeros((1, 2)), np.eye(2)])
    projected = _pseudo_coordinates(origin, basis, _pattern_states(system, beta))
    return Plane(
        origin=origin,
        basis=basis,
        limits=_padded_box(np.concatenate([anchors, projected])),
        description=(
            f"plane of patterns {numbers[0]} and {numbers[1]} through the {through}"
        ),
        axis_labels=labels,
        symbols=symbols,
        spec=f"patterns:{numbers[0]},{numbers[1]}",
    )


def _point_plane(system, beta, numbers, fixed_points):
    points = fixed_points.fixed_points
    for number in numbers:
        if not 0 <= number < len(points):
            raise InputError(
                f"points plane: fixed points are numbered 0 to {len(points) - 1}, "
                f"got {number}"
            )

    chosen = [points[n] for n in numbers]
    origin = chosen[0].state
    basis = _orthonormal(np.array([p.state - origin for p in chosen[1:]]), numbers)
    names = [f"{n} ({p.label})" for n, p in zip(numbers, chosen, strict=True)]
    symbols = ("s_{1}", "s_{2}")
    labels = (
        _axis_label(symbols[0], f"along point {numbers[0]} → {numbers[1]}"),
        _axis_label(symbols[1], f"toward point {numbers[2]}"),
    )
    anchors = _pseudo_coordinates(origin, basis, [p.state for p in chosen])
    return Plane(
        origin=origin,
        basis=basis,
        limits=_padded_box(anchors),
        description=(
            f"plane through fixed points {names[0]}, {names[1]} and {names[2]}"
        ),
        axis_labels=labels,
        symbols=symbols,
        spec="points:" + ",".join(str(n) for n in numbers),
    )


def _orthonormal(vectors, numbers):
    """Gram-Schmidt on two vectors, so that the plane keeps its geometry."""
    _check_independent(vectors, "points plane " + ",".join(map(str, numbers)))
    first = vectors[0] / np.linalg.norm(vectors[0])
    second = vectors[1] - (vectors[1] @ first) * first
    return np.array([first, second / np.linalg.norm(second)])


def _check_independent(vectors, what):
    singular = np.linalg.svd(vectors, compute_uv=False)
    if singular[-1] <= 1e-9 * max(singular[0], 1e-300):
        raise InputError(f"{what}: its states lie on one line and span no plane")


def _state_letter(system) -> str:
    """The symbol of the reduced state: h for forms B and D, else m."""
    form = getattr(system.model, "form", None)
    return "h" if form in ("B", "D") else "m"


def _name_note(system, k):
    """The pattern's name, when it says more than its number."""
    name = str(system.pattern_names[k])
    return None if name == str(k + 1) else name


def _pattern_axis_note(system, k):
    name = _name_note(system, k) or f"pattern {k + 1}"
    return name if system.signed else f"uniform → {name}"


def _axis_label(symbol, note):
    return f"${symbol}$" if note is None else f"${symbol}$  ({note})"


def _pseudo_coordinates(origin, basis, states):
    """Plane coordinates of states, before the plane exists."""
    return (np.asarray(states, dtype=float) - origin) @ np.linalg.pinv(basis)


def _pattern_states(system, beta):
    """States of every pattern (and, for signed systems, its negative, and
    the origin; for softmax systems, the uniform state)."""
    K = system.n_patterns
    states = system.from_coefficients(np.eye(K), beta)
    if system.signed:
        return np.concatenate([states, -states, np.zeros((1, states.shape[1]))])
    return np.concatenate([states, system.from_coefficients(np.ones((1, K)) / K, beta)])


def _widened(plane, fixed_points):
    """The plane with limits that also show every fixed point near it."""
    near = _points_near_plane(plane, fixed_points.fixed_points, NEAR_PLANE_TOL)
    if not near:
        return plane
    xy = plane.coordinates(np.array([p.state for p in near]))
    pad = EDGE_MARGIN * plane.span
    limits = tuple(
        (min(low, float(xy[:, k].min()) - pad), max(high, float(xy[:, k].max()) + pad))
        for k, (low, high) in enumerate(plane.limits)
    )
    return replace(plane, limits=limits)


def _padded_box(points):
    """A box around the points, padded, with no side below MIN_ASPECT of
    the other, so that a flat set of points still shows the flow around it."""
    low, high = points.min(axis=0), points.max(axis=0)
    longest = max(float(np.max(high - low)), 1e-3)
    centre = (low + high) / 2
    half = np.maximum(high - low, MIN_ASPECT * longest) / 2 + PADDING * longest
    return tuple(
        (float(c - h), float(c + h)) for c, h in zip(centre, half, strict=True)
    )


# --------------------------------------------------------------------------
# What a portrait shows
# --------------------------------------------------------------------------


@dataclass(eq=False)
class Manifold:
    """One branch of the stable or unstable manifold of a saddle.

    Attributes
    ----------
    saddle : FixedPoint
        The saddle it leaves.
    kind : {"stable", "unstable"}
        A stable branch is integrated backward in time, an unstable one
        forward.
    eigenvalue : float
        Eigenvalue of the eigenvector it starts along.
    states : ndarray, shape (T, d)
        The branch from the saddle outward, in the reduced state space.
    coordinates : ndarray, shape (T, 2)
        Its projection onto the plane.
    outcome : {"settled", "left", "t_max", "failed"}
        Whether it came to rest (at a fixed point, for an unstable branch an
        attractor), left the box of the portrait, ran out of time, or the
        integration failed.
    """

    saddle: object
    kind: str
    eigenvalue: float
    states: np.ndarray
    coordinates: np.ndarray
    outcome: str

    @property
    def end(self) -> np.ndarray:
        """The last state of the branch."""
        return self.states[-1]


@dataclass(eq=False)
class Basins:
    """Which attractor each point of a grid in the plane reaches.

    Attributes
    ----------
    x, y : ndarray, shapes (nx,) and (ny,)
        Plane coordinates of the grid (cell centres).
    index : ndarray of int, shape (ny, nx)
        Index into `attractors`, or -1 when the point had not reached an
        attractor (it sits on a stable manifold or converges slowly).
    attractors : list of FixedPoint
        Every attractor of the system, in the plane or not.
    """

    x: np.ndarray
    y: np.ndarray
    index: np.ndarray
    attractors: list

    def fractions(self) -> np.ndarray:
        """Fraction of the grid that reaches each attractor."""
        counts = np.bincount(
            self.index[self.index >= 0], minlength=len(self.attractors)
        )
        return counts / self.index.size


@dataclass(eq=False)
class Portrait:
    """Everything a phase portrait shows, in plane coordinates.

    Attributes
    ----------
    beta : float
    plane : Plane
    x, y : ndarray, shapes (nx,) and (ny,)
        The field grid.
    field : ndarray, shape (ny, nx, 2)
        Plane components of the field (the field itself when the plane is
        the state plane).
    speed : ndarray, shape (ny, nx)
        |f| of the whole field.
    energy : ndarray of shape (ny, nx), or None
        The energy, for gradient flows.
    fixed_points : list of FixedPoint
        Those in the plane (distance at most ``IN_PLANE_TOL`` times the
        span).
    nearby_points : list of FixedPoint
        Those off the plane by less than ``NEAR_PLANE_TOL`` times the span,
        shown faintly at their projection.
    manifolds : list of Manifold
    basins : Basins or None
    invariant : bool
        Whether the field is tangent to the plane on the whole grid, so that
        the streamlines are trajectories.
    title : str
        The model and beta, and the plane's description.
    speed_label : str
        Colorbar label of the speed, in the symbols of the reduced state.
    """

    beta: float
    plane: Plane
    x: np.ndarray
    y: np.ndarray
    field: np.ndarray
    speed: np.ndarray
    energy: np.ndarray | None
    fixed_points: list
    nearby_points: list
    manifolds: list
    basins: Basins | None
    invariant: bool
    title: str
    speed_label: str


def compute_portrait(
    system, beta, plane=None, basins=False, fixed_points=None
) -> Portrait:
    """Evaluate the field, fixed points, manifolds and basins in a plane.

    Parameters
    ----------
    system : ReducedSystem
    beta : float
        Inverse temperature, > 0.
    plane : Plane, optional
        Default ``portrait_plane(system, beta)``.
    basins : bool, default False
        Integrate a grid of ``BASIN_RESOLUTION`` x ``BASIN_RESOLUTION + 1``
        states of the plane to the attractor each reaches.
    fixed_points : FixedPointResult, optional
        Found with `find_fixed_points` when not given.

    Returns
    -------
    Portrait

    Notes
    -----
    When the plane is not invariant (``Portrait.invariant`` is false) the
    streamlines follow the field projected onto the plane, which is not the
    motion of any state; manifolds and basins are always integrated in the
    whole reduced space, and manifolds are projected.  The limits of the
    plane are widened, if needed, to show every fixed point near it.
    """
    beta = check_beta(beta)
    if fixed_points is None:
        fixed_points = find_fixed_points(system, beta)
    if plane is None:
        plane = portrait_plane(system, beta, fixed_points=fixed_points)
    _check_plane(system, plane)
    plane = _widened(plane, fixed_points)

    in_plane = _points_near_plane(plane, fixed_points.fixed_points, IN_PLANE_TOL)
    near = _points_near_plane(plane, fixed_points.fixed_points, NEAR_PLANE_TOL)
    x, y, field, speed, energy, leak = _sample_field(system, beta, plane)
    invariant = leak <= INVARIANT_TOL
    attractors = [p for p in fixed_points.fixed_points if p.stability == "attractor"]
    basin_grid = None
    if basins:
        basin_grid = basin_map(system, beta, plane, attractors, invariant=invariant)

    return Portrait(
        beta=beta,
        plane=plane,
        x=x,
        y=y,
        field=field,
        speed=speed,
        energy=energy,
        fixed_points=in_plane,
        nearby_points=_without(near, in_plane),
        manifolds=saddle_manifolds(system, beta, plane, in_plane),
        basins=basin_grid,
        invariant=invariant,
        title=_default_title(system, beta, plane),
        speed_label=_speed_label(system),
    )


def _check_plane(system, plane):
    if not isinstance(plane, Plane):
        raise InputError(f"plane must be a Plane from portrait_plane, got {plane!r}")
    if plane.dimension != system.dimension:
        raise InputError(
            f"plane lies in dimension {plane.dimension}, "
            f"the system's state has dimension {system.dimension}"
        )


def _without(points, excluded):
    """Points not in ``excluded``, compared by identity."""
    skip = {id(p) for p in excluded}
    return [p for p in points if id(p) not in skip]


def _points_near_plane(plane, points, tol):
    """The points whose distance from the plane is at most tol * span."""
    if not points:
        return []
    states = np.array([p.state for p in points])
    near = plane.distance(states) <= tol * plane.span
    return [p for p, keep in zip(points, near, strict=True) if keep]


def _grid(limits, n, centred=False):
    """n points along x, and along y too unless ``centred``.

    A centred grid holds the centres of n x (n + 1) cells: with one more row
    than columns, no point of a square box lies exactly on one of its
    diagonals, lines that symmetric systems often have as stable manifolds.
    """
    if not centred:
        return [np.linspace(low, high, n) for low, high in limits]
    axes = []
    for (low, high), count in zip(limits, (n, n + 1), strict=True):
        step = (high - low) / count
        axes.append(low + step * (np.arange(count) + 0.5))
    return axes


def _sample_field(system, beta, plane):
    x, y = _grid(plane.limits, FIELD_RESOLUTION)
    coordinates = np.stack(np.meshgrid(x, y), axis=-1)
    states = plane.states(coordinates)

    f = system.fun(states, beta)
    field = plane.components(f)
    speed = np.linalg.norm(f, axis=-1)
    energy = None if system.energy is None else system.energy(states, beta)

    # How much of the field points out of the plane, relative to its size.
    normal = f - field @ plane.basis
    leak = np.max(np.linalg.norm(normal, axis=-1)) / max(speed.max(), 1e-300)
    return x, y, field, speed, energy, leak


def _default_title(system, beta, plane):
    model = getattr(system, "model", None)
    what = model.describe() if model is not None else "reduced system"
    # Wrapped so that a plane through long-named fixed points stays inside
    # a single-column figure.
    return f"{what}, β = {beta:g}\n" + textwrap.fill(plane.description, width=70)


# --------------------------------------------------------------------------
# Manifolds of saddles
# --------------------------------------------------------------------------


def saddle_manifolds(system, beta, plane, fixed_points) -> list:
    """Stable and unstable manifolds of the saddles among ``fixed_points``.

    Parameters
    ----------
    system : ReducedSystem
    beta : float
    plane : Plane
        Sets the scale of the first step, the box a branch may not leave and
        which eigenvectors count (those mostly along the plane).
    fixed_points : list of FixedPoint
        Typically those in the plane; only saddles are used.

    Returns
    -------
    list of Manifold
        Two branches (either side of the saddle) for every real eigenvalue
        whose eigenvector lies mostly along the plane: the unstable branches
        integrated forward until they come to rest, the stable ones
        backward until they leave the box or come to rest.

    Notes
    -----
    Each branch starts ``MANIFOLD_STEP`` times the plane's span from the
    saddle along the eigenvector, so it follows the true manifold to about
    that distance; `scipy.integrate.solve_ivp` (RK45) does the rest.
    Complex eigenvalues, whose manifolds are surfaces, are skipped.
    """
    manifolds = []
    for point in fixed_points:
        if point.stability != "saddle":
            continue
        for value, vector in _plane_eigenvectors(system, beta, plane, point):
            manifolds.extend(_both_branches(system, beta, plane, point, value, vector))
    return manifolds


def _plane_eigenvectors(system, beta, plane, point):
    """Real (eigenvalue, unit eigenvector) pairs along the plane."""
    values, vectors = np.linalg.eig(system.jac(point.state, beta))
    pairs = []
    for value, vector in zip(values, vectors.T, strict=True):
        if abs(value.imag) > 1e-9 or abs(value.real) <= 1e-9:
            continue
        vector = vector.real / np.linalg.norm(vector.real)
        if plane.in_plane_fraction(vector) >= MIN_IN_PLANE:
            pairs.append((float(value.real), vector))
    return pairs


def _both_branches(system, beta, plane, point, value, vector):
    kind = "unstable" if value > 0 else "stable"
    step = MANIFOLD_STEP * plane.span
    branches = []
    for sign in (1.0, -1.0):
        start = point.state + sign * step * vector
        states, outcome = _integrate_branch(system, beta, plane, start, kind)
        states = np.concatenate([point.state[None, :], states])
        branches.append(
            Manifold(
                saddle=point,
                kind=kind,
                eigenvalue=value,
                states=states,
                coordinates=plane.coordinates(states),
                outcome=outcome,
            )
        )
    return branches


def _integrate_branch(system, beta, plane, start, kind):
    direction = 1.0 if kind == "unstable" else -1.0
    reach = _reach(plane)

    def fun(t, state):
        return direction * system.fun(state, beta)

    def settled(t, state):
        speed = np.linalg.norm(system.fun(state, beta))
        return speed - SETTLED_SPEED * plane.span

    def left(t, state):
        return 1.0 - _box_ratio(plane, state, reach)

    settled.terminal = left.terminal = True
    solution = solve_ivp(
        fun,
        (0.0, MANIFOLD_T_MAX),
        start,
        rtol=1e-7,
        atol=1e-10 * plane.span,
        dense_output=True,
        events=(settled, left),
    )
    return _densified(solution), _outcome(solution)


def _densified(solution):
    """The branch at the solver's steps and three points inside each, so
    that long steps still draw as smooth curves."""
    t = solution.t
    if len(t) < 2:
        return solution.y.T
    inside = t[:-1, None] + np.diff(t)[:, None] * np.array([0.25, 0.5, 0.75])
    times = np.sort(np.concatenate([t, inside.ravel()]))
    return solution.sol(times).T


def _reach(plane):
    """Norm of state beyond which a branch has left for good."""
    corners = plane.states(np.array(np.meshgrid(*plane.limits)).reshape(2, -1).T)
    return 3.0 * max(np.linalg.norm(corners, axis=-1).max(), 1.0)


def _box_ratio(plane, state, reach):
    """Above 1 once a state is outside the portrait's box (padded by 10%)."""
    coordinates = plane.coordinates(state)
    ratios = [np.linalg.norm(state) / reach]
    for value, (low, high) in zip(coordinates, plane.limits, strict=True):
        centre, half = (low + high) / 2, 0.55 * (high - low)
        ratios.append(abs(value - centre) / half)
    return max(ratios)


def _outcome(solution):
    if solution.status == -1:
        return "failed"
    if solution.status == 1:
        return "settled" if len(solution.t_events[0]) else "left"
    return "t_max"


# --------------------------------------------------------------------------
# Basins
# --------------------------------------------------------------------------


def basin_map(
    system, beta, plane, attractors, resolution=BASIN_RESOLUTION, invariant=False
):
    """The attractor that each point of a grid in the plane reaches.

    Parameters
    ----------
    system : ReducedSystem
    beta : float
    plane : Plane
    attractors : list of FixedPoint
        All attractors of the system.
    resolution : int, default BASIN_RESOLUTION
        Grid points along x; y has one more.
    invariant : bool, default False
        The plane is invariant under the flow.  A state of an invariant
        plane that ends at an attractor off the plane got there through
        round-off (it lies on the stable manifold of a saddle in the plane),
        so it is left undecided.

    Returns
    -------
    Basins

    Notes
    -----
    The whole grid is integrated as one system with RK45, in chunks of
    ``BASIN_CHUNK``; after each chunk, states within ``BASIN_RADIUS`` times
    the span of an attractor are assigned to it and dropped.  Points still
    unassigned after ``BASIN_ROUNDS`` chunks keep the index -1.
    """
    x, y = _grid(plane.limits, resolution, centred=True)
    states = plane.states(np.stack(np.meshgrid(x, y), axis=-1)).reshape(
        -1, plane.dimension
    )
    index = np.full(len(states), -1)
    if attractors:
        targets = np.array([p.state for p in attractors])
        index = _settle(system, beta, states, targets, BASIN_RADIUS * plane.span)
    if invariant and attractors:
        off_plane = plane.distance(targets) > IN_PLANE_TOL * plane.span
        index[(index >= 0) & off_plane[np.maximum(index, 0)]] = -1
    return Basins(x=x, y=y, index=index.reshape(len(y), len(x)), attractors=attractors)


def _settle(system, beta, states, targets, radius):
    index = np.full(len(states), -1)
    active = np.arange(len(states))
    current = states.copy()
    tree = cKDTree(targets)

    for _ in range(BASIN_ROUNDS):
        current[active] = _flow(system, beta, current[active], BASIN_CHUNK)
        distance, nearest = tree.query(current[active])
        arrived = distance <= radius
        index[active[arrived]] = nearest[arrived]

        # A state at rest away from every attractor sits on the stable
        # manifold of a saddle: it has no attractor to reach.
        speed = np.linalg.norm(system.fun(current[active], beta), axis=-1)
        stalled = speed <= STALLED_SPEED * radius / BASIN_RADIUS
        active = active[~(arrived | stalled)]
        if active.size == 0:
            break
    return index


def _flow(system, beta, states, duration):
    """Integrate many states at once for ``duration``; returns the ends."""
    shape = states.shape

    def fun(t, flat):
        return system.fun(flat.reshape(shape), beta).ravel()

    solution = solve_ivp(fun, (0.0, duration), states.ravel(), rtol=1e-5, atol=1e-8)
    return solution.y[:, -1].reshape(shape)


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------


def plot_portrait(
    system,
    beta,
    plane=None,
    basins=False,
    title=None,
    *,
    fixed_points=None,
    path=None,
) -> Figure:
    """Phase portrait of a reduced system in a plane, as a figure.

    Parameters
    ----------
    system : ReducedSystem
        From `hopdyn.symbolic.reduce`.
    beta : float
        Inverse temperature, > 0.
    plane : Plane, optional
        From `portrait_plane`; default: the state plane for a
        two-dimensional state, else the plane of patterns 1 and 2.
    basins : bool, default False
        Shade the basin of each attractor (slower: every point of a coarse
        grid is integrated to its attractor).
    title : str, optional
        Default: the model, beta and the plane's description.
    fixed_points : FixedPointResult, optional
        The fixed points at this beta, if already found.
    path : str or path-like, optional
        Save the figure there; the format follows the extension.

    Returns
    -------
    matplotlib.figure.Figure
        Built without pyplot.

    Raises
    ------
    InputError
        If beta is not > 0 or the plane does not belong to the system.

    See Also
    --------
    compute_portrait : what is computed, with the caveats.
    draw_portrait : draw into an existing axes (panels of a larger figure).

    Notes
    -----
    Streamlines follow the field (projected onto the plane when the state
    has more than two dimensions) and are coloured by speed |f|; dashed
    lines are the nullclines of the two plane components; thin grey lines
    are energy levels (gradient flows only).  Fixed points in the plane are
    filled circles (attractors), crosses (saddles) or open circles
    (repellers), labelled as `find_fixed_points` labels them.  Thick black
    curves are the stable manifolds of the saddles (the separatrices between
    basins), purple ones their unstable manifolds.

    Examples
    --------
    >>> from hopdyn.models import MeanFieldModel
    >>> from hopdyn.symbolic import reduce
    >>> fig = plot_portrait(reduce(MeanFieldModel(2)), beta=2.0)
    >>> fig.axes[0].get_xlabel()
    '$m_{1}$'
    """
    portrait = compute_portrait(system, beta, plane, basins, fixed_points)
    with apply_style():
        fig = Figure(figsize=_figure_size(portrait.plane), layout="constrained")
        ax = fig.add_subplot()
        handles = draw_portrait(ax, portrait)
        _legend_below(fig, handles, columns=3)
        fig.suptitle(portrait.title if title is None else title)
        if path is not None:
            fig.savefig(path)
    return fig


def _figure_size(plane, width=5.2):
    """A height that fits the axes at equal scales plus title and legend."""
    (x0, x1), (y0, y1) = plane.limits
    ratio = (y1 - y0) / (x1 - x0) if _comparable_sides(plane.limits) else 1.0
    return width, float(np.clip(3.5 * ratio + 2.0, 3.5, 7.5))


def draw_portrait(ax, portrait, colorbar=True) -> list:
    """Draw a computed portrait into an axes.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    portrait : Portrait
        From `compute_portrait`.
    colorbar : bool, default True
        Add a speed colorbar next to the axes.

    Returns
    -------
    list of matplotlib artists
        Legend handles (with labels) for what was drawn; the caller places
        the legend, so that it covers no data.
    """
    plane = portrait.plane
    handles = []

    colours = _attractor_colours(portrait)
    if portrait.basins is not None:
        handles += _draw_basins(ax, portrait.basins, colours)
    if portrait.energy is not None:
        handles += _draw_energy(ax, portrait)
    stream = _draw_streamlines(ax, portrait)
    handles += _draw_nullclines(ax, portrait)
    handles += _draw_manifolds(ax, portrait.manifolds)
    handles += _draw_fixed_points(ax, portrait, colours)

    if colorbar and stream is not None:
        _speed_colorbar(ax, stream, portrait.speed_label)
    ax.set_xlim(*plane.limits[0])
    ax.set_ylim(*plane.limits[1])
    if _comparable_sides(plane.limits):
        ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(plane.axis_labels[0])
    ax.set_ylabel(plane.axis_labels[1])
    if not portrait.invariant:
        ax.set_title("field projected onto the plane (not invariant)", loc="left")
    return handles


def _comparable_sides(limits):
    """Equal scales on both axes keep angles true, unless the box is long."""
    (x0, x1), (y0, y1) = limits
    return 1 / 3 <= (x1 - x0) / (y1 - y0) <= 3


def _speed_colorbar(ax, stream, label):
    # An inset keeps the bar as tall as the axes when their aspect is fixed.
    cax = ax.inset_axes([1.04, 0.0, 0.045, 1.0])
    bar = ax.figure.colorbar(stream.lines, cax=cax)
    bar.set_label(label)
    ticks = _one_two_five(stream.lines.norm.vmin, stream.lines.norm.vmax)
    bar.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])
    bar.ax.yaxis.set_minor_locator(ticker.NullLocator())


def _one_two_five(low, high):
    """1, 2 and 5 times the powers of ten between low and high."""
    powers = 10.0 ** np.arange(np.floor(np.log10(low)), np.ceil(np.log10(high)) + 1)
    values = np.outer(powers, (1.0, 2.0, 5.0)).ravel()
    return values[(values >= low * (1 - 1e-9)) & (values <= high * (1 + 1e-9))]


def _speed_label(system):
    if getattr(system.model, "form", None) == "C":
        return "speed $|f|$"
    return rf"speed $|\dot{{{_state_letter(system)}}}|$"


def _dot(symbol):
    """``m_{1}`` -> ``\\dot{m}_{1}``."""
    letter, _, rest = symbol.partition("_")
    return rf"\dot{{{letter}}}_{rest}"


def _draw_streamlines(ax, portrait):
    speed = portrait.speed
    positive = speed[speed > 0]
    if positive.size == 0:
        return None
    norm = colors.LogNorm(
        vmin=max(np.percentile(positive, 2), positive.max() * 1e-4),
        vmax=positive.max(),
    )
    return ax.streamplot(
        portrait.x,
        portrait.y,
        portrait.field[..., 0],
        portrait.field[..., 1],
        color=np.clip(speed, norm.vmin, None),
        cmap=_STREAM_CMAP,
        norm=norm,
        density=1.2,
        minlength=0.15,
        linewidth=0.6,
        arrowsize=0.7,
        zorder=2,
    )


def _draw_nullclines(ax, portrait):
    handles = []
    for k, style in enumerate(_NULLCLINE_STYLES):
        component = portrait.field[..., k]
        if not (component.min() < 0 < component.max()):
            continue
        ax.contour(
            portrait.x,
            portrait.y,
            component,
            levels=[0.0],
            linewidths=1.0,
            zorder=3,
            **style,
        )
        label = rf"nullcline ${_dot(portrait.plane.symbols[k])} = 0$"
        handles.append(
            Line2D([], [], color=style["colors"], linestyle="--", label=label)
        )
    return handles


def _draw_energy(ax, portrait):
    energy = portrait.energy
    if not np.all(np.isfinite(energy)) or np.ptp(energy) <= 0:
        return []
    # Levels crowd where the landscape is interesting, not in the steep rim.
    levels = np.unique(np.quantile(energy, np.linspace(0.0, 0.85, 14) ** 1.5))
    if len(levels) < 2:
        return []
    ax.contour(portrait.x, portrait.y, energy, levels=levels, zorder=1, **_ENERGY_STYLE)
    return [Line2D([], [], color="0.55", linewidth=0.6, label="energy level")]


def _draw_manifolds(ax, manifolds):
    handles = {}
    for manifold in manifolds:
        style = _STABLE_MANIFOLD if manifold.kind == "stable" else _UNSTABLE_MANIFOLD
        ax.plot(*manifold.coordinates.T, zorder=4, **style)
        label = (
            "stable manifold (separatrix)"
            if manifold.kind == "stable"
            else "unstable manifold"
        )
        handles[manifold.kind] = Line2D([], [], label=label, **style)
    return [handles[k] for k in ("stable", "unstable") if k in handles]


_MARKERS = {
    "attractor": {"marker": "o", "markersize": 7, "markeredgecolor": "black"},
    "saddle": {"marker": "x", "markersize": 7, "markeredgewidth": 2.0},
    "repeller": {
        "marker": "o",
        "markersize": 7,
        "markerfacecolor": "white",
        "markeredgecolor": "black",
        "markeredgewidth": 1.3,
    },
}


def _draw_fixed_points(ax, portrait, colours):
    plane = portrait.plane
    centre = np.array([np.mean(lim) for lim in plane.limits])
    placed, shown = [], set()
    points = [(p, 1.0) for p in portrait.fixed_points]
    points += [(p, _NEARBY_ALPHA) for p in portrait.nearby_points]
    for point, alpha in points:
        xy = plane.coordinates(point.state)
        style = dict(_MARKERS[point.stability], color="black", linestyle="none")
        if point.stability == "attractor":
            style["markerfacecolor"] = colours.get(id(point), ("0.5", 0))[0]
        ax.plot(*xy, zorder=6, alpha=alpha, **style)
        shown.add(point.stability)

        away = _label_direction(xy, centre, placed, point.label, plane.span)
        if away is not None:
            _annotate(ax, point.label, xy, away, alpha)
            placed.append((xy, point.label, away))

    handles = [
        _marker_handle(s) for s in ("attractor", "saddle", "repeller") if s in shown
    ]
    if portrait.nearby_points:
        handles.append(_nearby_handle())
    return handles


def _nearby_handle():
    style = dict(_MARKERS["attractor"], markerfacecolor="0.6", linestyle="none")
    return Line2D(
        [], [], alpha=_NEARBY_ALPHA, label="near the plane (projected)", **style
    )


def _marker_handle(stability):
    style = dict(_MARKERS[stability], color="black", linestyle="none")
    if stability == "attractor":
        style["markerfacecolor"] = "0.6"
    return Line2D([], [], label=stability, **style)


def _label_direction(xy, centre, placed, label, span):
    """Unit offset of a label, pointing away from the centre of the plot.

    A point close to an already labelled one with the same label needs no
    label of its own; close to one with another label, its label goes on
    the other side.  Returns None when no label is needed.
    """
    away = xy - centre
    if np.linalg.norm(away) < 1e-3 * span:
        away = np.array([1.0, 1.0])
    away = away / np.linalg.norm(away)
    for other_xy, other_label, other_away in placed:
        if np.linalg.norm(xy - other_xy) > LABEL_CLEARANCE * span:
            continue
        if other_label == label:
            return None
        away = -other_away
    return away


def _annotate(ax, label, xy, away, alpha=1.0):
    ax.annotate(
        label,
        xy,
        xytext=8 * away,
        textcoords="offset points",
        ha="left" if away[0] > 0.3 else "right" if away[0] < -0.3 else "center",
        va="bottom" if away[1] > 0.3 else "top" if away[1] < -0.3 else "center",
        fontsize=7,
        alpha=alpha,
        zorder=7,
        path_effects=_LABEL_STROKE,
    )


def _attractor_colours(portrait):
    """(colour, tint) per attractor, keyed by id: the pattern colour for a
    retrieval state, the kind colour otherwise, lighter for repeats."""
    shown = portrait.fixed_points + portrait.nearby_points
    attractors = [p for p in shown if p.stability == "attractor"]
    if portrait.basins is not None:
        attractors = portrait.basins.attractors
    ordered = sorted(attractors, key=lambda p: (tuple(-np.sign(p.patterns)), p.label))

    colours, used = {}, {}
    for point in ordered:
        base = _base_colour(point)
        count = used.get(base, 0)
        used[base] = count + 1
        colours[id(point)] = (base, _BASIN_TINTS[count % len(_BASIN_TINTS)])
    return colours


def _base_colour(point):
    if point.kind == "retrieval" and len(point.patterns) == 1:
        return pattern_color(abs(point.patterns[0]) - 1)
    return ATTRACTOR_KIND_COLORS.get(point.kind, ATTRACTOR_KIND_COLORS["other"])


def _tinted(colour, tint):
    """The colour mixed with white; tint is the share of white."""
    rgb = np.array(colors.to_rgb(colour))
    return tuple((1.0 - tint) * rgb + tint)


def _draw_basins(ax, basins, colours):
    palette = np.ones((len(basins.attractors) + 1, 4))
    palette[-1, 3] = 0.0  # undecided points stay unshaded
    for i, point in enumerate(basins.attractors):
        palette[i, :3] = _tinted(*colours[id(point)])
        palette[i, 3] = _BASIN_ALPHA
    rgba = palette[basins.index]

    dx, dy = basins.x[1] - basins.x[0], basins.y[1] - basins.y[0]
    extent = (
        basins.x[0] - dx / 2,
        basins.x[-1] + dx / 2,
        basins.y[0] - dy / 2,
        basins.y[-1] + dy / 2,
    )
    ax.imshow(
        rgba,
        origin="lower",
        extent=extent,
        interpolation="nearest",
        aspect="auto",
        zorder=0,
    )
    handles = [
        Patch(facecolor=palette[i], edgecolor="none", label=f"basin of {p.label}")
        for i, p in enumerate(basins.attractors)
        if np.any(basins.index == i)
    ]
    if np.mean(basins.index < 0) > 0.02:
        label = "no attractor reached"
        handles.append(Patch(facecolor="white", edgecolor="0.6", label=label))
    return handles


def _legend_below(fig, handles, columns):
    if handles:
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=columns,
            frameon=False,
        )
