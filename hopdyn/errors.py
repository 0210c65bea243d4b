"""Exceptions raised by hopdyn.

Every exception that hopdyn raises on purpose derives from `HopdynError`, so
callers can catch the package's errors apart from bugs. Numerical trouble
such as a solver that fails to converge is reported in result objects, not
raised.
"""

__all__ = ["HopdynError", "InputError"]


class HopdynError(Exception):
    """Base class of the exceptions raised by hopdyn."""


class InputError(HopdynError, ValueError):
    """The user's input breaks a rule: a missing file, a bad value, a shape.

    The message is a single line that names the argument or file, states the
    rule, and shows the offending value, so that the command line can print
    it as it is and exit with status 2.

    It is also a `ValueError`, so code that already guards against bad values
    with ``except ValueError`` keeps working.
    """
