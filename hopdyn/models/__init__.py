"""Models: full N-dimensional vector fields and their exact reductions."""

from hopdyn.models.base import ColumnReduction, SoftmaxReduction, check_beta
from hopdyn.models.classic import FORMS, ClassicModel
from hopdyn.models.meanfield import MeanFieldModel, sign_vectors
from hopdyn.models.modern import ModernModel, softmax

__all__ = [
    "FORMS",
    "ClassicModel",
    "ColumnReduction",
    "MeanFieldModel",
    "ModernModel",
    "SoftmaxReduction",
    "check_beta",
    "sign_vectors",
    "softmax",
]
