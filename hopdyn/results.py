"""The base of hopdyn's result objects: dataclasses readable as mappings.

Every analysis returns a dataclass (with status, message, success and its
own fields) that can also be read like a dict, as scipy's results can:
``result["message"]``, ``list(result)``, ``dict(result)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields

__all__ = ["Result"]


class Result(Mapping):
    """Dict-like read access to the public (repr=True) fields of a dataclass.

    Subclasses are declared with ``@dataclass(eq=False)``: two results are
    equal only when they are the same object, since their fields hold arrays
    that have no single truth value.
    """

    @classmethod
    def _names(cls) -> tuple:
        return tuple(f.name for f in fields(cls) if f.repr)

    def __getitem__(self, key):
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__
