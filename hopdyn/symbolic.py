"""Symbolic derivation of the reduced dynamics and their derivatives.

Two families of reduced systems cover every model of hopdyn:

* the *column sum* (classical forms A-D and the mean field): with state m in
  R^K and the pattern matrix summarised by its distinct columns s_c, their
  weights omega_c and field values b_c,

      f(m) = -m + sum_c omega_c s_c tanh(beta (s_c . m + b_c)),

  a gradient flow of F(m) = |m|^2 / 2 - (1/beta) sum_c omega_c log 2cosh(.).
  sympy derives the term of one column (its field, Jacobian, d/dbeta and
  energy) with s_c, b_c and beta as symbols; the sum over columns is a
  weighted numpy reduction, so the cost never involves N expanded terms;

* the *softmax* family (modern networks): with G = X Q^T, v = X u,

      f(m) = G softmax(w + beta m) - m + v,

  with G, w and v as symbols.  When Q = X it is the gradient flow
  dm/dt = -G grad F(m) of F(m) = m.H m / 2 - lse(w + beta m) / beta - v.H m,
  H being the (pseudo-)inverse of G.

softmax, log-sum-exp and log 2cosh are sympy functions with known
derivatives, printed as numerically stable numpy routines, so that the
lambdified callables stay finite for beta up to 1e4.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

__all__ = [
    "LogCosh",
    "LogSumExp",
    "SoftmaxComponent",
    "SymbolicSystem",
    "column_term",
    "softmax_system",
]


class LogCosh(sp.Function):
    """log(2 cosh(z)), printed in a form that never overflows."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.tanh(self.args[0])

    def _latex(self, printer):
        return r"\log 2\cosh\left(" + printer._print(self.args[0]) + r"\right)"


class SoftmaxComponent(sp.Function):
    """Component k of softmax(z_0, ..., z_{K-1}); the first argument is k."""

    def fdiff(self, argindex=1):
        if argindex == 1:
            raise sp.ArgumentIndexError(self, argindex)
        k, z = self.args[0], self.args[1:]
        j = argindex - 2
        delta = 1 if int(k) == j else 0
        return self * (delta - SoftmaxComponent(j, *z))

    def _latex(self, printer):
        # 1-based, like the pattern numbers in labels
        return "p_{" + printer._print(self.args[0] + 1) + "}"


class LogSumExp(sp.Function):
    """log sum_k exp(z_k), printed in shifted (overflow-free) form."""

    def fdiff(self, argindex=1):
        return SoftmaxComponent(argindex - 1, *self.args)

    def _latex(self, printer):
        return r"\operatorname{lse}\left(w + \beta m\right)"


def _stable_logcosh(z):
    z = np.abs(z)
    return z + np.log1p(np.exp(-2.0 * z))


def _stack_broadcast(values):
    return np.stack(np.broadcast_arrays(*values), axis=0)


def _stable_softmax_component(k, *z):
    stacked = _stack_broadcast(z)
    shifted = stacked - stacked.max(axis=0)
    weights = np.exp(shifted)
    return weights[int(k)] / weights.sum(axis=0)


def _stable_logsumexp(*z):
    stacked = _stack_broadcast(z)
    top = stacked.max(axis=0)
    return top + np.log(np.exp(stacked - top).sum(axis=0))


_NUMPY_PRINTING = {
    "LogCosh": _stable_logcosh,
    "SoftmaxComponent": _stable_softmax_component,
    "LogSumExp": _stable_logsumexp,
}


def _scalar_logcosh(z):
    z = abs(z)
    return z + math.log1p(math.exp(-2.0 * z))


def _scalar_softmax_component(k, *z):
    top = max(z)
    weights = [math.exp(v - top) for v in z]
    return weights[int(k)] / sum(weights)


def _scalar_logsumexp(*z):
    top = max(z)
    return top + math.log(sum(math.exp(v - top) for v in z))


# Plain-float versions: one state at a time (as continuation evaluates) is
# dominated by numpy's per-call overhead, which pure Python floats avoid.
_MATH_PRINTING = {
    "LogCosh": _scalar_logcosh,
    "SoftmaxComponent": _scalar_softmax_component,
    "LogSumExp": _scalar_logsumexp,
}


def _compile(args, expressions):
    """Lambdify a flat list of expressions into one vectorised callable."""
    flat = [sp.sympify(e) for e in expressions]
    raw = sp.lambdify(args, flat, modules=[_NUMPY_PRINTING, "numpy"], cse=True)
    scalar = sp.lambdify(args, flat, modules=[_MATH_PRINTING, "math"], cse=True)

    @functools.wraps(raw)
    def evaluate(*values):
        return np.broadcast_arrays(*(np.asarray(v, float) for v in raw(*values)))

    evaluate.scalar = scalar
    return evaluate


@dataclass(frozen=True)
class SymbolicSystem:
    """Symbolic form of a reduced system and its compiled callables.

    Attributes
    ----------
    state : tuple of sympy.Symbol
        The state variables.
    beta : sympy.Symbol
        The continuation parameter.
    parameters : tuple of sympy.Symbol
        The remaining symbols (pattern data, weights, field), in the order the
        compiled callables expect them after the state and beta.
    field, jacobian, dfdbeta : sympy.Matrix
        f, df/dstate and df/dbeta.
    energy : sympy.Expr or None
        The energy whose (metric) gradient the flow follows, if any.
    """

    state: tuple
    beta: sp.Symbol
    parameters: tuple
    field: sp.Matrix
    jacobian: sp.Matrix
    dfdbeta: sp.Matrix
    energy: sp.Expr | None
    prefix: str = ""
    definitions: str = ""

    @functools.cached_property
    def _arguments(self):
        return [*self.state, self.beta, *self.parameters]

    @functools.cached_property
    def field_function(self):
        return _compile(self._arguments, list(self.field))

    @functools.cached_property
    def jacobian_function(self):
        return _compile(self._arguments, list(self.jacobian))

    @functools.cached_property
    def dfdbeta_function(self):
        return _compile(self._arguments, list(self.dfdbeta))

    @functools.cached_property
    def energy_function(self):
        if self.energy is None:
            return None
        return _compile(self._arguments, [self.energy])

    def latex(self) -> dict:
        """The equations as LaTeX strings, keyed by 'field', 'jacobian',
        'dfdbeta', 'energy' and 'definitions' (the shorthands used)."""
        out = {
            "field": self.prefix + sp.latex(self.field),
            "jacobian": sp.latex(self.jacobian),
            "dfdbeta": sp.latex(self.dfdbeta),
        }
        out["energy"] = None if self.energy is None else sp.latex(self.energy)
        out["definitions"] = self.definitions
        return out


@functools.cache
def column_term(K: int) -> SymbolicSystem:
    """The contribution of one pattern column to the classical reduced field.

    Returns the field s tanh(beta (s.m + b)), its Jacobian in m, its
    derivative in beta and its energy -log(2 cosh(beta (s.m + b))) / beta,
    with parameters (s_1, ..., s_K, b).  The reduced field is -m plus
    the weighted sum of this term over columns; see `hopdyn.models`.
    """
    m = sp.symbols(f"m_1:{K + 1}", real=True)
    s = sp.symbols(f"s_1:{K + 1}", real=True)
    b = sp.Symbol("b", real=True)
    beta = sp.Symbol("beta", positive=True)

    z = beta * (sum(si * mi for si, mi in zip(s, m, strict=True)) + b)
    term = sp.Matrix([si * sp.tanh(z) for si in s])
    energy = -LogCosh(z) / beta

    return SymbolicSystem(
        state=tuple(m),
        beta=beta,
        parameters=(*s, b),
        field=term,
        jacobian=term.jacobian(sp.Matrix(m)),
        dfdbeta=term.diff(beta),
        energy=energy,
        prefix=r"\dot m = -m + \sum_c \omega_c ",
        definitions=r"\omega_c: weight of column s_c, b: its applied field; "
        r"F(m) = |m|^2/2 + \sum_c \omega_c (\text{term energy})",
    )


@functools.cache
def softmax_system(K: int, gradient: bool) -> SymbolicSystem:
    """The modern reduced field G softmax(w + beta m) - m + v and derivatives.

    Parameters are (G_11, ..., G_KK, w_1.., v_1.., H_11..) with G, H
    flattened row by row; H only matters for the energy, present when
    ``gradient`` is true (readout equal to the patterns).
    """
    m = sp.Matrix(sp.symbols(f"m_1:{K + 1}", real=True))
    w = sp.Matrix(sp.symbols(f"w_1:{K + 1}", real=True))
    v = sp.Matrix(sp.symbols(f"v_1:{K + 1}", real=True))
    G = sp.Matrix(K, K, sp.symbols(f"G_1:{K + 1}_1:{K + 1}", real=True))
    H = sp.Matrix(K, K, sp.symbols(f"H_1:{K + 1}_1:{K + 1}", real=True))
    beta = sp.Symbol("beta", positive=True)

    z = list(w + beta * m)
    p = sp.Matrix([SoftmaxComponent(k, *z) for k in range(K)])
    field = G * p - m + v
    energy = None
    if gradient:
        quad = (m.T * H * m)[0] / 2 - (v.T * H * m)[0]
        energy = quad - LogSumExp(*z) / beta

    return SymbolicSystem(
        state=tuple(m),
        beta=beta,
        parameters=(*G, *w, *v, *H),
        field=field,
        jacobian=field.jacobian(m),
        dfdbeta=field.diff(beta),
        energy=energy,
        prefix=r"\dot m = ",
        definitions=r"p = \operatorname{softmax}(w + \beta m), "
        r"\operatorname{lse}(z) = \log \sum_k e^{z_k}",
    )


# --------------------------------------------------------------------------
# Reduced systems built from a model's reduction
# --------------------------------------------------------------------------

_CHUNK_BUDGET = 2_000_000  # floats per evaluated (state, column) entry block


class ReducedSystem:
    """A reduced vector field with its derivatives, vectorised over states.

    Every callable takes ``state`` of shape (..., dimension) and a scalar
    ``beta``; ``fun`` and ``dfdbeta`` return (..., dimension), ``jac``
    returns (..., dimension, dimension) and ``energy`` returns (...).

    Parameters
    ----------
    fun, jac, dfdbeta : callable
        The field, its Jacobian in the state and its derivative in beta.
    dimension : int
        Length of a state.
    energy : callable, optional
        A Lyapunov function (the flow is a gradient flow in some metric).
    coefficients : callable, optional
        ``coefficients(state, beta) -> (..., K)``: how much each pattern takes
        part in a state (signed coefficients for classical models, softmax
        weights for modern ones); default: the state itself.
    from_coefficients : callable, optional
        The inverse direction, used to build seeds from pattern mixtures.
    pattern_names : sequence of str, optional
        Names of the K patterns (default "1".."K").
    signed : bool
        Patterns may enter with either sign (classical models).
    symbolic : SymbolicSystem, optional
        The derivation behind the callables (for `latex`).
    """

    def __init__(
        self,
        fun,
        jac,
        dfdbeta,
        dimension,
        energy=None,
        coefficients=None,
        from_coefficients=None,
        pattern_names=None,
        signed=False,
        symbolic=None,
        model=None,
    ):
        self.fun, self.jac, self.dfdbeta = fun, jac, dfdbeta
        self.dimension = int(dimension)
        self.energy = energy
        self._coefficients = coefficients
        self._from_coefficients = from_coefficients
        names = pattern_names or [str(k + 1) for k in range(self.dimension)]
        self.pattern_names = tuple(names)
        self.signed = signed
        self.symbolic = symbolic
        self.model = model

    @property
    def n_patterns(self) -> int:
        return len(self.pattern_names)

    @property
    def is_gradient(self) -> bool:
        return self.energy is not None

    def coefficients(self, state, beta):
        state = np.asarray(state, float)
        if self._coefficients is None:
            return state
        return self._coefficients(state, beta)

    def from_coefficients(self, coefficients, beta):
        coefficients = np.asarray(coefficients, float)
        if self._from_coefficients is None:
            return coefficients
        return self._from_coefficients(coefficients, beta)

    def latex(self) -> dict:
        """The derived equations as LaTeX (empty when built from callables)."""
        return {} if self.symbolic is None else self.symbolic.latex()


def _flatten_states(state, dimension):
    state = np.asarray(state, dtype=float)
    if state.shape[-1] != dimension:
        raise ValueError(f"state must end in length {dimension}, got {state.shape}")
    return state.reshape(-1, dimension), state.shape[:-1]


class _ColumnSum:
    """Evaluates sum_c weights_c term_c(m) for the derived column term."""

    def __init__(self, reduction):
        self.K = reduction.columns.shape[1]
        self.term = column_term(self.K)
        self.columns = [c[None, :] for c in reduction.columns.T]
        self.field = reduction.field[None, :]
        self.weights = reduction.weights
        self.chunk = max(1, _CHUNK_BUDGET // (len(self.weights) * self.K * self.K))

    def __call__(self, function, m, beta, width):
        flat, lead = _flatten_states(m, self.K)
        out = np.empty((len(flat), width))
        for start in range(0, len(flat), self.chunk):
            block = flat[start : start + self.chunk]
            args = [*(mk[:, None] for mk in block.T), beta, *self.columns, self.field]
            stacked = np.stack(function(*args), axis=1)
            shape = (len(block), width, len(self.weights))
            out[start : start + self.chunk] = np.broadcast_to(stacked, shape) @ (
                self.weights
            )
        return out.reshape(*lead, width)

    def field_sum(self, m, beta):
        return self(self.term.field_function, m, beta, self.K)

    def jacobian_sum(self, m, beta):
        flat = self(self.term.jacobian_function, m, beta, self.K * self.K)
        return flat.reshape(*flat.shape[:-1], self.K, self.K)

    def dfdbeta_sum(self, m, beta):
        return self(self.term.dfdbeta_function, m, beta, self.K)

    def energy_sum(self, m, beta):
        return self(self.term.energy_function, m, beta, 1)[..., 0]


def _one_layer_system(reduction, names, model):
    total = _ColumnSum(reduction)
    K = total.K
    gram_inverse = np.linalg.pinv(reduction.gram)
    return ReducedSystem(
        fun=lambda m, beta: total.field_sum(m, beta) - m,
        jac=lambda m, beta: total.jacobian_sum(m, beta) - np.eye(K),
        dfdbeta=total.dfdbeta_sum,
        energy=lambda m, beta: (
            0.5 * np.sum(np.square(m), -1) + total.energy_sum(m, beta)
        ),
        dimension=K,
        coefficients=lambda m, beta: m @ gram_inverse.T,
        from_coefficients=lambda c, beta: c @ reduction.gram.T,
        pattern_names=names,
        signed=True,
        symbolic=total.term,
        model=model,
    )


def _two_layer_system(reduction, names, model):
    total = _ColumnSum(reduction)
    K = total.K
    gram_inverse = np.linalg.pinv(reduction.gram)

    def fun(state, beta):
        a, h = state[..., :K], state[..., K:]
        return np.concatenate([h - a, total.field_sum(a, beta) - h], axis=-1)

    def jac(state, beta):
        inner = total.jacobian_sum(state[..., :K], beta)
        eye = np.broadcast_to(np.eye(K), inner.shape)
        upper = np.concatenate([-eye, eye], axis=-1)
        lower = np.concatenate([inner, -eye], axis=-1)
        return np.concatenate([upper, lower], axis=-2)

    def dfdbeta(state, beta):
        a = state[..., :K]
        return np.concatenate([np.zeros_like(a), total.dfdbeta_sum(a, beta)], -1)

    def from_coefficients(c, beta):
        m = c @ reduction.gram.T
        return np.concatenate([m, m], axis=-1)

    return ReducedSystem(
        fun=fun,
        jac=jac,
        dfdbeta=dfdbeta,
        dimension=2 * K,
        coefficients=lambda s, beta: s[..., :K] @ gram_inverse.T,
        from_coefficients=from_coefficients,
        pattern_names=names,
        signed=True,
        symbolic=total.term,
        model=model,
    )


class _SoftmaxEvaluator:
    """Evaluates the derived softmax-family callables at numeric parameters."""

    def __init__(self, reduction):
        self.K = len(reduction.w)
        self.symbolic = softmax_system(self.K, reduction.gradient)
        self.parameters = [
            float(v)
            for v in (
                *reduction.G.ravel(),
                *reduction.w,
                *reduction.v,
                *reduction.inverse_gram.ravel(),
            )
        ]

    def __call__(self, function, m, beta, width):
        flat, lead = _flatten_states(m, self.K)
        if len(flat) == 1:
            values = function.scalar(*flat[0].tolist(), float(beta), *self.parameters)
            return np.array(values, dtype=float).reshape(*lead, width)
        stacked = np.stack(function(*flat.T, beta, *self.parameters), axis=-1)
        full = np.broadcast_to(stacked, (len(flat), width))
        return full.reshape(*lead, width).copy()


def _softmax_reduced(reduction, names, model):
    evaluate = _SoftmaxEvaluator(reduction)
    symbolic, K = evaluate.symbolic, evaluate.K

    def jac(m, beta):
        flat = evaluate(symbolic.jacobian_function, m, beta, K * K)
        return flat.reshape(*flat.shape[:-1], K, K)

    def energy(m, beta):
        return evaluate(symbolic.energy_function, m, beta, 1)[..., 0]

    def weights(m, beta):
        z = reduction.w + beta * np.asarray(m, float)
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    return ReducedSystem(
        fun=lambda m, beta: evaluate(symbolic.field_function, m, beta, K),
        jac=jac,
        dfdbeta=lambda m, beta: evaluate(symbolic.dfdbeta_function, m, beta, K),
        energy=energy if reduction.gradient else None,
        dimension=K,
        coefficients=weights,
        from_coefficients=lambda p, beta: p @ reduction.G.T + reduction.v,
        pattern_names=names,
        signed=False,
        symbolic=symbolic,
        model=model,
    )


def reduce(model) -> ReducedSystem:
    """Derive the exact reduced system of a hopdyn model.

    Parameters
    ----------
    model : ClassicModel, MeanFieldModel or ModernModel

    Returns
    -------
    ReducedSystem
        Vectorised field, Jacobian, d/dbeta and (for gradient flows) energy,
        lambdified from the sympy derivation and cached per model structure.

    Examples
    --------
    >>> from hopdyn.models import MeanFieldModel
    >>> system = reduce(MeanFieldModel(2))
    >>> system.fun([0.0, 0.0], 2.0).tolist()
    [0.0, 0.0]
    """
    reduction = model.reduction()
    names = model.pattern_names
    if hasattr(reduction, "columns"):
        if reduction.two_layer:
            return _two_layer_system(reduction, names, model)
        return _one_layer_system(reduction, names, model)
    return _softmax_reduced(reduction, names, model)
