"""AUTO-07p (Debian's auto-07p package) driven through its Python interface.

The problem is written as an AUTO equation file in Fortran 90 (field and
analytic Jacobian, JAC=1) with a constants file, into a fresh folder.  One
`auto.run` starts at the origin at beta_min and switches branches
automatically (MXBF) at every branch point it meets, in both directions.
The first run in a folder compiles the equation file with gfortran.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

AUTO_DIR = Path(os.environ.get("AUTO_DIR", "/usr/lib/auto-07p"))
EQUATION = "hopnet"

# Automatic branch switching budget; more than any problem here needs.
MXBF = 200

# How special points are located: the default ITMX (8 iterations) and one
# with more iterations.  At the mean-field origin the branch-point test
# function has a K-fold zero, the secant iteration converges slowly, and
# with 8 iterations AUTO only notes "Possible special point" (fort.9).
SETTINGS = {
    "default": {"itmx": 8, "epss": 1e-4},
    "itmx100": {"itmx": 100, "epss": 1e-4},
}

_FUNC = """\
SUBROUTINE FUNC(NDIM, U, ICP, PAR, IJAC, F, DFDU, DFDP)
  ! du/dt = -u + A tanh(beta B u), beta = PAR(1)
  IMPLICIT NONE
  INTEGER, INTENT(IN) :: NDIM, ICP(*), IJAC
  DOUBLE PRECISION, INTENT(IN) :: U(NDIM), PAR(*)
  DOUBLE PRECISION, INTENT(OUT) :: F(NDIM)
  DOUBLE PRECISION, INTENT(INOUT) :: DFDU(NDIM, NDIM), DFDP(NDIM, *)
  INTEGER, PARAMETER :: D = {d}, N = {n}
  DOUBLE PRECISION, PARAMETER :: A(D, N) = RESHAPE([ &
{a_values} ], [D, N])
  DOUBLE PRECISION, PARAMETER :: B(N, D) = RESHAPE([ &
{b_values} ], [N, D])
  DOUBLE PRECISION :: Z(N), TH(N), S2(N)
  INTEGER :: J

  Z = MATMUL(B, U)
  TH = TANH(PAR(1) * Z)
  F = -U + MATMUL(A, TH)
  IF (IJAC == 0) RETURN

  S2 = 1.0D0 - TH**2
  DO J = 1, D
    DFDU(:, J) = PAR(1) * MATMUL(A, S2 * B(:, J))
    DFDU(J, J) = DFDU(J, J) - 1.0D0
  END DO
  IF (IJAC == 1) RETURN

  DFDP(:, 1) = MATMUL(A, S2 * Z)
END SUBROUTINE FUNC

SUBROUTINE STPNT(NDIM, U, PAR, T)
  IMPLICIT NONE
  INTEGER, INTENT(IN) :: NDIM
  DOUBLE PRECISION, INTENT(INOUT) :: U(NDIM), PAR(*)
  DOUBLE PRECISION, INTENT(IN) :: T
  U = 0.0D0
  PAR(1) = {beta_min}
END SUBROUTINE STPNT

SUBROUTINE BCND
END SUBROUTINE BCND

SUBROUTINE ICND
END SUBROUTINE ICND

SUBROUTINE FOPT
END SUBROUTINE FOPT

SUBROUTINE PVLS
END SUBROUTINE PVLS
"""

_CONSTANTS = """\
NDIM={d}, IPS=1, IRS=0, ILP=1
ICP=[1]
NTST=20, NCOL=4, IAD=3, ISP=2, ISW=1, IPLT=0, NBC=0, NINT=0
NMX=2000, NPR=100000, MXBF={mxbf}, IID=0, ITMX={itmx}, ITNW=5, NWTN=3, JAC=1
EPSL=1e-7, EPSU=1e-7, EPSS={epss}
DS=0.01, DSMIN=1e-6, DSMAX=0.05, IADS=1
RL0={beta_min}, RL1={beta_max}, A0=0, A1=100
THL={{}}, THU={{}}
UZSTOP={{}}
"""


def _fortran_values(values, per_line=3):
    numbers = [f"{v:.17e}".replace("e", "D") for v in values]
    lines = [
        "    " + ", ".join(numbers[i : i + per_line])
        for i in range(0, len(numbers), per_line)
    ]
    return ", &\n".join(lines)


def write_problem(problem, folder: Path, setting="default") -> None:
    """Write hopnet.f90 and c.hopnet for `problem` into `folder`."""
    d, n = problem.A.shape
    source = _FUNC.format(
        d=d,
        n=n,
        a_values=_fortran_values(problem.A.ravel(order="F")),
        b_values=_fortran_values(problem.B.ravel(order="F")),
        beta_min=f"{problem.beta_min:.17e}".replace("e", "D"),
    )
    constants = _CONSTANTS.format(
        d=d,
        mxbf=MXBF,
        beta_min=problem.beta_min,
        beta_max=problem.beta_max,
        **SETTINGS[setting],
    )
    (folder / f"{EQUATION}.f90").write_text(source)
    (folder / f"c.{EQUATION}").write_text(constants)


@contextlib.contextmanager
def _silenced():
    """Send file descriptors 1 and 2 to /dev/null (AUTO prints from Fortran)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def import_auto():
    """Import AUTO-07p's Python package from the Debian install."""
    path = str(AUTO_DIR / "python")
    if path not in sys.path:
        sys.path.insert(0, path)
    import auto  # noqa: PLC0415

    return auto


class Runner:
    """One AUTO problem in its own folder; `run` may be called repeatedly."""

    def __init__(self, problem, setting="default", folder=None):
        self.problem = problem
        self.auto = import_auto()
        self._tmp = None
        if folder is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="bench-auto-")
            folder = self._tmp.name
        self.folder = Path(folder)
        write_problem(problem, self.folder, setting)

    def run(self):
        """Compile if needed, continue, and return the bifurcation diagram."""
        cwd = os.getcwd()
        os.chdir(self.folder)
        try:
            with _silenced():
                return self.auto.run(e=EQUATION, c=EQUATION, verbose="no")
        finally:
            os.chdir(cwd)

    def close(self):
        if self._tmp is not None:
            self._tmp.cleanup()


def extract(diagram, problem):
    """Curves and special points from a run.

    The branch data (fort.7) is read through the interface; the solution
    file (fort.8) is not, since its reader fails under NumPy 2 (see the
    README), and every state needed is on the branch data.
    """
    d = problem.dimension
    curves, special = [], []
    for branch in diagram:
        beta = np.asarray(branch["PAR(1)"], dtype=float)
        states = np.column_stack(
            [np.asarray(branch[f"U({i + 1})"], float) for i in range(d)]
        )
        curves.append(np.column_stack([beta, states]))
        for label in branch.getLabels():
            point = branch.getLabel(label)
            kind = point["TY name"]
            if kind in ("BP", "LP", "HB"):
                row = abs(int(point["PT"])) - 1
                special.append(
                    {
                        "kind": kind,
                        "beta": float(beta[row]),
                        "state": states[row].tolist(),
                        "kernel": None,
                        "multiplicity": 1,
                    }
                )
    return {
        "curves": curves,
        "copies": None,
        "special_points": special,
        "n_branches": len(curves),
        "branch_note": "AUTO branch records (one per direction from a BP)",
    }
