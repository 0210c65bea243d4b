"""Continuation of fixed points in beta: branches, special points, switching.

The entry point is `build_diagram`, which traces every branch of fixed
points over a range of beta, locates the special points on them and
switches branches at every branch point.
"""

from hopdyn.continuation.diagram import build_diagram
from hopdyn.continuation.options import ContinuationOptions
from hopdyn.continuation.results import Branch, Diagram, SpecialPoint, apply_element

__all__ = [
    "Branch",
    "ContinuationOptions",
    "Diagram",
    "SpecialPoint",
    "apply_element",
    "build_diagram",
]
