"""Options of the continuation engine, in one frozen validated dataclass."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hopdyn.errors import InputError
from hopdyn.fixed_points import FinderOptions

__all__ = ["ContinuationOptions"]

_POSITIVE = (
    "ds",
    "ds_min",
    "ds_max",
    "tol",
    "max_angle",
    "locate_tol",
    "eig_tol",
    "imag_tol",
    "switch_delta",
    "merge_tol",
)
_COUNTS = ("max_iter", "max_steps", "max_branches", "locate_max_iter", "max_directions")


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool
    )


def _check_positive(name, value):
    if not _is_number(value) or not np.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a finite number > 0, got {value!r}")


def _check_count(name, value, minimum):
    valid = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not valid or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class ContinuationOptions:
    """Options of `build_diagram` and the branch tracer.

    Lengths along a branch are measured in scaled coordinates (state,
    (beta - beta_min) / beta_scale), so that one step size suits the state
    and the parameter alike.

    Attributes
    ----------
    ds, ds_min, ds_max : float
        Initial, smallest and largest pseudo-arclength step.  A step that
        fails below ``ds_min`` ends the branch ("corrector failed at min
        step").
    beta_scale : float or None
        Unit of beta in the arclength; None uses beta_max - beta_min.
    tol : float
        Residual |f| at which the corrector has converged.
    max_iter : int
        Corrector (Newton) iterations per step.
    max_steps : int
        Steps per direction of one branch ("max steps").
    max_branches : int
        Branches in one diagram; the diagram stops there (status 1).
    max_angle : float
        Largest angle (radians) between successive tangents; a step that
        turns more is retried with half the step.
    locate_tol : float
        Target width in beta of the bracket of a located special point.
    locate_max_iter : int
        Bisection/secant iterations when locating one special point.
    eig_tol : float
        Eigenvalues with real part above this count as unstable.
    imag_tol : float
        Eigenvalues with |imaginary part| below this (relative to
        1 + |eigenvalue|) count as real.
    switch_delta : float
        Branch switching corrects points at beta_BP * (1 +- switch_delta).
    max_directions : int
        Cap on candidate kernel directions tried at one branch point.
    merge_tol : float
        Scaled distance under which a point lies on a known branch.
    symmetry : bool
        Collapse branches that are copies under a signed permutation of the
        patterns mapping the system to itself.
    max_symmetry_K : int
        Up to this many patterns every signed permutation is tried; above
        it, copies are recognised from sorted |coefficients| and verified.
    finder : FinderOptions or None
        Options of the fixed-point searches at beta_min and beta_max.

    Raises
    ------
    InputError
        When a value breaks its rule; the message restates rule and value.

    Examples
    --------
    >>> ContinuationOptions(ds_max=0.02).ds_max
    0.02
    """

    ds: float = 0.01
    ds_min: float = 1e-8
    ds_max: float = 0.05
    beta_scale: float | None = None
    tol: float = 1e-10
    max_iter: int = 12
    max_steps: int = 2000
    max_branches: int = 200
    max_angle: float = 0.3
    locate_tol: float = 1e-10
    locate_max_iter: int = 100
    eig_tol: float = 1e-9
    imag_tol: float = 1e-7
    switch_delta: float = 1e-3
    max_directions: int = 400
    merge_tol: float = 1e-4
    symmetry: bool = True
    max_symmetry_K: int = 6
    finder: FinderOptions | None = None

    def __post_init__(self):
        for name in _POSITIVE:
            _check_positive(name, getattr(self, name))
        for name in _COUNTS:
            _check_count(name, getattr(self, name), minimum=1)
        _check_count("max_symmetry_K", self.max_symmetry_K, minimum=0)
        if self.beta_scale is not None:
            _check_positive("beta_scale", self.beta_scale)
        self._check_relations()

    def _check_relations(self):
        if not self.ds_min <= self.ds <= self.ds_max:
            raise InputError(
                "step sizes must satisfy ds_min <= ds <= ds_max, got "
                f"ds_min={self.ds_min!r}, ds={self.ds!r}, ds_max={self.ds_max!r}"
            )
        if self.max_angle >= np.pi / 2:
            raise InputError(f"max_angle must be < pi/2, got {self.max_angle!r}")
        if self.switch_delta >= 0.5:
            raise InputError(f"switch_delta must be < 0.5, got {self.switch_delta!r}")
        if not isinstance(self.symmetry, bool):
            raise InputError(f"symmetry must be True or False, got {self.symmetry!r}")
        if self.finder is not None and not isinstance(self.finder, FinderOptions):
            raise InputError(
                f"finder must be a FinderOptions or None, got {type(self.finder)!r}"
            )
