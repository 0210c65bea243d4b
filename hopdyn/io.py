"""Model spec files in, result files out.

`load_spec` reads and strictly validates a TOML model spec (the format is
described in DESIGN.md and in `load_spec`). The writers put JSON, CSV and
text results on disk without ever leaving a half-written file: each writes
to a temporary file in the target's folder and renames it over the target
only once writing has succeeded (`atomic_path`).
"""

import csv
import json
import math
import os
import secrets
import sys
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hopdyn.errors import InputError
from hopdyn.models.base import check_beta
from hopdyn.patterns import (
    NORMALIZE_OPTIONS,
    PatternSet,
    bundled_patterns,
    load_patterns,
    preprocess,
    random_patterns,
    rolling_patterns,
)

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

__all__ = [
    "Spec",
    "atomic_path",
    "check_beta",
    "ensure_out_dir",
    "load_spec",
    "to_jsonable",
    "write_csv",
    "write_json",
    "write_text",
]

KINDS = ("classic", "meanfield", "modern")
FORMS = ("A", "B", "C", "D")
SOURCES = ("random", "rolling", "file", "bundled")

_SECTIONS = ("model", "patterns", "parameters")
_MODEL_KEYS = {
    "classic": ("kind", "form"),
    "meanfield": ("kind", "K"),
    "modern": ("kind", "u"),
}
_PARAMETER_KEYS = {
    "classic": ("field",),
    "meanfield": (),
    "modern": ("w", "readout"),
}
_SOURCE_KEYS = {
    "random": ("N", "K", "seed"),
    "rolling": ("N", "K", "block"),
    "file": ("path",),
    "bundled": ("name",),
}
_PREPROCESS_KEYS = ("normalize", "center", "binarize")


@dataclass(frozen=True, eq=False, repr=False)
class Spec:
    """A validated model spec, ready to build a model from.

    Attributes
    ----------
    kind : {"classic", "meanfield", "modern"}
        Which model family.
    form : {"A", "B", "C", "D"} or None
        Classical form (default "A"); None for the other kinds.
    K : int
        Number of patterns: ``[model] K`` for meanfield, else ``patterns.K``.
    patterns : PatternSet or None
        The preprocessed patterns, shape (K, N); None for meanfield.
    w : ndarray, shape (K,), or None
        Modern pattern weights (default zeros); None for the other kinds.
    field : float or ndarray, shape (N,)
        Classical applied field b (default 0.0); 0.0 for the other kinds.
    readout : ndarray, shape (K, N), or None
        Modern readout Q; None means Q = X, the patterns themselves.
    u : ndarray, shape (N,), or None
        Modern production term; None means no production.
    path : Path
        The spec file.
    raw : dict
        The parsed TOML, as read.
    """

    kind: str
    form: str | None
    K: int
    patterns: PatternSet | None
    w: np.ndarray | None
    field: float | np.ndarray
    readout: np.ndarray | None
    u: np.ndarray | None
    path: Path
    raw: dict

    @property
    def N(self):
        """int or None: Number of features; None for meanfield."""
        return None if self.patterns is None else self.patterns.N

    def __repr__(self):
        return (
            f"Spec(kind={self.kind!r}, form={self.form!r}, K={self.K}, "
            f"N={self.N}, path='{self.path}')"
        )

    def build_model(self):
        """Build the model that this spec describes.

        Returns
        -------
        ClassicModel, MeanFieldModel or ModernModel
        """
        # Imported here so that reading specs does not need the models.
        from hopdyn.models import ClassicModel, MeanFieldModel, ModernModel

        if self.kind == "classic":
            return ClassicModel(self.patterns, form=self.form, field=self.field)
        if self.kind == "meanfield":
            return MeanFieldModel(self.K)
        return ModernModel(self.patterns, readout=self.readout, w=self.w, u=self.u)


def load_spec(path):
    """Read and validate a TOML model spec.

    Parameters
    ----------
    path : str or path-like
        The spec file. Pattern and readout files named inside it are
        relative to the folder that holds it.

    Returns
    -------
    Spec

    Raises
    ------
    InputError
        If the file is missing or is not valid TOML, or if anything in it
        breaks the format below: an unknown section or key (the message
        lists the valid ones), a value of the wrong type, an unknown kind,
        form or source, lengths that do not match K or N, NaN or inf, or a
        pattern file that cannot be read. The message is one line that
        starts with the spec's path.

    Notes
    -----
    The format, with every key; keys that do not apply to the chosen kind
    or source are errors rather than silently ignored::

        [model]
        kind = "modern"      # "classic" | "meanfield" | "modern"
        form = "A"           # classic only: "A" | "B" | "C" | "D"; default "A"
        K = 3                # meanfield only, required
        u = [0.0, ...]       # modern only: production term, length N

        [patterns]           # required for classic and modern, else absent
        source = "file"      # "random" | "rolling" | "file" | "bundled"
        path = "cells.csv"   # file: a .csv or .npy pattern file
        name = "pbmc68k"     # bundled: a data set shipped with hopdyn
        N = 5000             # random and rolling
        K = 4                # random and rolling
        seed = 0             # random only; default 0
        block = 100          # rolling only; default N // K
        normalize = "none"   # "none" | "unit"; default "none"
        center = false       # default false
        binarize = false     # default false

        [parameters]
        w = [0.0, 0.05, 0.0]     # modern: length K; default zeros
        readout = "patterns"     # modern: "patterns" (Q = X) or a pattern file
        field = 0.0              # classic: a number, or a list of 1 or N

    ``source = "bundled"`` extends DESIGN.md's list of sources; see
    `hopdyn.patterns.BUNDLED_DATASETS` for the names. Preprocessing is
    applied in the order center, binarize, normalize. A readout file has
    the format of a pattern file, holds a K x N matrix, and is used as read.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "net.toml").write_text(
    ...     '[model]\\nkind = "classic"\\n'
    ...     '[patterns]\\nsource = "rolling"\\nN = 9\\nK = 3\\n'
    ... )
    >>> spec = load_spec(folder / "net.toml")
    >>> spec.kind, spec.form, spec.K, spec.N
    ('classic', 'A', 3, 9)
    """
    path = Path(path)
    raw = _read_toml(path)
    check = _Checker(path)

    check.sections(raw)
    model = check.table(raw, "model", required=True)
    kind = check.choice(model, "model", "kind", KINDS, required=True)
    check.keys(model, "model", _MODEL_KEYS[kind], f"keys for kind {kind!r}")
    form = _spec_form(check, model, kind)

    patterns, K = _spec_patterns(check, raw, kind)
    parameters = _spec_parameters(check, raw, kind, patterns)
    u = _spec_production(check, model, kind, patterns)

    return Spec(kind, form, K, patterns, u=u, path=path, raw=raw, **parameters)


def ensure_out_dir(path, files=()):
    """Create the output folder `path`, with its parents, if it is missing.

    Parameters
    ----------
    path : str or path-like
    files : sequence of str, optional
        Names of the files that will be written into the folder; each must
        be absent or a regular file.

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    InputError
        If `path` exists but is not a folder, cannot be created or written
        to, or one of `files` exists in it and is not a regular file.
    """
    path = Path(path)
    try:
        if path.exists() and not path.is_dir():
            raise InputError(f"output folder '{path}': exists and is not a folder")
        path.mkdir(parents=True, exist_ok=True)
        _probe_writable(path)
    except OSError as exc:
        raise InputError(
            f"output folder '{path}': cannot be created or written to "
            f"({exc.strerror or exc})"
        ) from exc

    for name in files:
        target = path / name
        if target.exists() and not target.is_file():
            raise InputError(f"output file '{target}': exists and is not a file")

    return path


def _probe_writable(folder):
    """Create and remove an empty file in `folder`; OSError if it cannot."""
    probe = folder / f".hopdyn-probe.{secrets.token_hex(6)}"
    probe.touch(exist_ok=False)
    probe.unlink()


@contextmanager
def atomic_path(path):
    """Give a temporary path to write to, then move it onto `path`.

    The temporary file is in the same folder as `path` (so the final rename
    is atomic) and has the same extension (so writers that pick a format by
    extension, such as matplotlib's ``savefig``, choose the right one). If
    the block raises, the temporary file is deleted and `path` is left as it
    was; an OSError (a full disk, a folder in the way) becomes an InputError
    that names `path`.

    Parameters
    ----------
    path : str or path-like
        The file to create or replace; its folder must exist.

    Yields
    ------
    Path
        Where the block should write.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(6)}.tmp{path.suffix}")

    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(
            f"output file '{path}': cannot be written ({exc.strerror or exc})"
        ) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path, text):
    """Write `text` to `path` as UTF-8, atomically.

    Parameters
    ----------
    path : str or path-like
    text : str
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path, obj):
    """Write `obj` to `path` as indented, strict JSON, atomically.

    Parameters
    ----------
    path : str or path-like
    obj : object
        Anything `to_jsonable` accepts.

    Raises
    ------
    TypeError
        If `obj` holds a value that has no JSON form.
    """
    text = json.dumps(to_jsonable(obj), indent=2, allow_nan=False)
    write_text(path, text + "\n")


def write_csv(path, header, rows):
    """Write a table to `path` as CSV, atomically.

    Parameters
    ----------
    path : str or path-like
    header : sequence of str
        Column names.
    rows : iterable of sequences
        One sequence per row, as long as `header`. Floats are written in
        full precision; NaN as ``nan``.

    Raises
    ------
    ValueError
        If a row's length differs from the header's.
    """
    header = list(header)

    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for number, row in enumerate(rows, start=1):
            row = [_csv_cell(value) for value in row]
            if len(row) != len(header):
                raise ValueError(
                    f"write_csv: row {number} has {len(row)} cells, "
                    f"the header {len(header)}"
                )
            writer.writerow(row)


def to_jsonable(obj):
    """Convert `obj` to plain lists, dicts, str, int, float, bool and None.

    Parameters
    ----------
    obj : object
        Nested dicts (any mapping), lists and tuples of numpy arrays, numpy
        scalars, Python scalars, paths and None.

    Returns
    -------
    object
        The same structure, JSON-ready: arrays and tuples become lists,
        numpy scalars Python ones, paths strings, dict keys strings, and
        complex numbers ``[re, im]`` pairs (as eigenvalues are stored).

    Raises
    ------
    TypeError
        If `obj` holds a value of any other type.

    Notes
    -----
    NaN and +-inf become None (JSON null): JSON has no non-finite numbers,
    and a null marks an undefined value such as the energy of a state with
    none.

    Examples
    --------
    >>> to_jsonable({"m": np.array([0.5, np.nan]), "n": np.int64(2)})
    {'m': [0.5, None], 'n': 2}
    """
    if isinstance(obj, Mapping):
        return {_json_key(key): to_jsonable(value) for key, value in obj.items()}
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(item) for item in obj]
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())

    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, complex):
        return [to_jsonable(obj.real), to_jsonable(obj.imag)]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)

    raise TypeError(f"to_jsonable: cannot convert {type(obj).__name__} to JSON")


def _json_key(key):
    """Return a dict key as a JSON object key (a string)."""
    if isinstance(key, np.generic):
        key = key.item()

    if isinstance(key, str):
        return key
    if isinstance(key, (bool, int, float)) or key is None:
        return json.dumps(key)

    raise TypeError(f"to_jsonable: cannot use a {type(key).__name__} as a key")


def _csv_cell(value):
    """Return one CSV cell: numbers in full precision, text as it is."""
    if isinstance(value, np.generic):
        value = value.item()

    if isinstance(value, float):
        return repr(value)

    return value


def _read_toml(path):
    """Return the parsed TOML of the spec file, or raise InputError."""
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise InputError(f"spec file '{path}' {what}")

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"spec file '{path}': invalid TOML: {exc}") from exc
    except RecursionError:
        raise InputError(
            f"spec file '{path}': arrays or tables nested too deeply"
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"spec file '{path}': not UTF-8 text ({exc})") from exc
    except OSError as exc:
        raise InputError(f"spec file '{path}': {exc.strerror}") from exc


def _spec_form(check, model, kind):
    """Return the classical form, "A" by default; None for other kinds."""
    if kind != "classic":
        return None

    return check.choice(model, "model", "form", FORMS, default="A")


def _spec_patterns(check, raw, kind):
    """Return the pattern set (None for meanfield) and K."""
    if kind == "meanfield":
        if "patterns" in raw:
            check.fail(
                "[patterns]", "must be absent for kind 'meanfield'; set [model] K"
            )
        return None, check.count(raw["model"], "model", "K", required=True)

    table = check.table(raw, "patterns", required=True)
    source = check.choice(table, "patterns", "source", SOURCES, required=True)
    valid = ("source", *_SOURCE_KEYS[source], *_PREPROCESS_KEYS)
    check.keys(table, "patterns", valid, f"keys for source {source!r}")

    patterns = _source_patterns(check, table, source)
    options = {
        "normalize": check.choice(
            table, "patterns", "normalize", NORMALIZE_OPTIONS, default="none"
        ),
        "center": check.flag(table, "patterns", "center"),
        "binarize": check.flag(table, "patterns", "binarize"),
    }
    patterns = check.guard("[patterns]", preprocess, patterns, **options)
    check.products("[patterns]", "X X^T", patterns.values, patterns.values)

    return patterns, patterns.K


def _source_patterns(check, table, source):
    """Make the pattern set of one source, before preprocessing."""
    if source == "file":
        file = check.file(table, "patterns", "path")
        return check.guard("[patterns] path", load_patterns, file)
    if source == "bundled":
        name = check.text(table, "patterns", "name")
        return check.guard("[patterns] name", bundled_patterns, name)

    N = check.count(table, "patterns", "N", required=True)
    K = check.count(table, "patterns", "K", required=True)
    if source == "random":
        seed = check.count(table, "patterns", "seed", default=0, minimum=0)
        return check.guard("[patterns]", random_patterns, N, K, seed=seed)

    block = check.count(table, "patterns", "block", default=None)
    return check.guard("[patterns]", rolling_patterns, N, K, block=block)


def _spec_parameters(check, raw, kind, patterns):
    """Return the Spec fields w, field and readout from [parameters]."""
    table = check.table(raw, "parameters", required=False)
    check.keys(table, "parameters", _PARAMETER_KEYS[kind], f"keys for kind {kind!r}")
    fields = {"w": None, "field": 0.0, "readout": None}

    if kind == "classic":
        fields["field"] = check.field(table, patterns.N)
    if kind == "modern":
        K, N = patterns.values.shape
        fields["w"] = check.vector(table, "parameters", "w", ("K", K), np.zeros(K))
        fields["readout"] = _spec_readout(check, table, K, N)
        if fields["readout"] is not None:
            X, Q = patterns.values, fields["readout"]
            check.products("[parameters] readout", "X Q^T", X, Q)

    return fields


def _spec_readout(check, table, K, N):
    """Return the readout matrix Q, or None when Q = X."""
    value = table.get("readout", "patterns")
    if value == "patterns":
        return None
    if not isinstance(value, str):
        check.fail(
            "[parameters] readout",
            f'must be "patterns" or the path of a K x N file, got {value!r}',
        )

    file = check.file(table, "parameters", "readout")
    readout = check.guard("[parameters] readout", load_patterns, file).values
    if readout.shape != (K, N):
        check.fail(
            "[parameters] readout",
            f"must be a K x N = {K} x {N} matrix, got {readout.shape[0]} x "
            f"{readout.shape[1]} in '{file}'",
        )

    return readout


def _spec_production(check, model, kind, patterns):
    """Return the modern production term u, or None when absent."""
    if kind != "modern":
        return None

    return check.vector(model, "model", "u", ("N", patterns.N), None)


class _Checker:
    """Validate the values of one spec file; every failure names the file."""

    def __init__(self, path):
        self.path = path

    def fail(self, where, message):
        """Raise InputError about `where`, e.g. "[model] kind", in this spec."""
        raise InputError(f"spec file '{self.path}': {where}: {message}")

    def guard(self, where, build, *args, **kwargs):
        """Call `build`, prefixing any InputError with this spec and `where`."""
        try:
            return build(*args, **kwargs)
        except InputError as exc:
            self.fail(where, str(exc))

    def sections(self, raw):
        """Reject top-level keys that are not known sections."""
        for key in raw:
            if key not in _SECTIONS:
                valid = ", ".join(f"[{name}]" for name in _SECTIONS)
                self.fail(f"top-level key {key!r}", f"unknown; valid sections: {valid}")

    def keys(self, table, section, valid, what):
        """Reject keys of `table` that are not in `valid`."""
        for key in table:
            if key not in valid:
                listed = ", ".join(valid) if valid else "none"
                self.fail(
                    f"[{section}] key {key!r}", f"unknown; valid {what}: {listed}"
                )

    def table(self, raw, section, required):
        """Return the table `[section]`, or {} when it is optional and absent."""
        if section not in raw:
            if required:
                self.fail(f"[{section}]", "required section, but missing")
            return {}

        table = raw[section]
        if not isinstance(table, dict):
            self.fail(f"[{section}]", f"must be a table, got {table!r}")

        return table

    def require(self, table, section, key):
        """Return table[key], raising InputError when it is missing."""
        if key not in table:
            self.fail(f"[{section}] {key}", "required, but missing")

        return table[key]

    def choice(self, table, section, key, options, required=False, default=None):
        """Return a string that must be one of `options`."""
        if not required and key not in table:
            return default

        value = self.require(table, section, key)
        if not isinstance(value, str) or value not in options:
            valid = ", ".join(repr(option) for option in options)
            self.fail(f"[{section}] {key}", f"must be one of {valid}, got {value!r}")

        return value

    def text(self, table, section, key):
        """Return a required string."""
        value = self.require(table, section, key)
        if not isinstance(value, str):
            self.fail(f"[{section}] {key}", f"must be a string, got {value!r}")

        return value

    def file(self, table, section, key):
        """Return a required path, resolved against the spec's folder."""
        return self.path.parent / self.text(table, section, key)

    def flag(self, table, section, key):
        """Return a boolean that defaults to false."""
        value = table.get(key, False)
        if not isinstance(value, bool):
            self.fail(f"[{section}] {key}", f"must be true or false, got {value!r}")

        return value

    def count(self, table, section, key, required=False, default=None, minimum=1):
        """Return an integer >= `minimum`."""
        if not required and key not in table:
            return default

        value = self.require(table, section, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            self.fail(f"[{section}] {key}", f"must be {rule}, got {value!r}")

        return value

    def number(self, value, where):
        """Return `value` as a float, unless it is not a finite real number."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(where, f"must be a number, got {value!r}")
        if not math.isfinite(value):
            self.fail(where, f"must be finite, got {value!r}")

        return float(value)

    def products(self, where, name, X, Y):
        """Fail unless X Y^T, from which the models are built, is finite."""
        with np.errstate(over="ignore", invalid="ignore"):
            finite = np.all(np.isfinite(X @ Y.T))
        if not finite:
            largest = max(np.max(np.abs(X)), np.max(np.abs(Y)))
            self.fail(
                where,
                f"values too large: {name} overflows (largest magnitude "
                f"{largest:.3g}); scale them down",
            )

    def vector(self, table, section, key, size, default):
        """Return table[key] as an array; `size` is e.g. ("K", 3), its length."""
        if key not in table:
            return default

        value = table[key]
        where = f"[{section}] {key}"
        symbol, length = size
        if not isinstance(value, list) or len(value) != length:
            is_list = isinstance(value, list)
            got = f"a list of {len(value)}" if is_list else repr(value)
            self.fail(
                where, f"must be a list of {symbol} = {length} numbers, got {got}"
            )

        return np.array([self.number(item, where) for item in value])

    def field(self, table, N):
        """Return the classical field: a number, or a list of 1 or N numbers."""
        value = table.get("field", 0.0)
        where = "[parameters] field"
        if not isinstance(value, list):
            return self.number(value, where)
        if len(value) not in (1, N):
            self.fail(
                where,
                f"must be a number or a list of 1 or N = {N} numbers, "
                f"got a list of {len(value)}",
            )

        numbers = np.array([self.number(item, where) for item in value])
        return float(numbers[0]) if len(numbers) == 1 else numbers
