"""Pattern sets: the K x N matrices that Hopfield networks store.

A pattern set holds one pattern per row (a cell type, a digit) and one
feature per column (a gene, a pixel), together with the names of both and a
note of where the numbers came from. This module builds pattern sets
(random, rolling, from a file, bundled with the package) and preprocesses
them (centering, binarizing, normalizing).
"""

import csv
import math
import warnings
from dataclasses import dataclass, replace
from importlib.resources import as_file, files
from pathlib import Path
from tokenize import TokenError

import numpy as np

from hopdyn.errors import InputError

__all__ = [
    "BUNDLED_DATASETS",
    "PatternSet",
    "bundled_patterns",
    "load_patterns",
    "preprocess",
    "random_patterns",
    "rolling_patterns",
]

BUNDLED_DATASETS = {
    "pbmc68k": (
        "mean log-normalised expression of 10 blood cell types over 765 genes "
        "(scanpy's pbmc68k_reduced, Zheng et al. 2017)"
    ),
}

_BUNDLED_FILES = {"pbmc68k": "pbmc68k_celltype_means.csv"}

NORMALIZE_OPTIONS = ("none", "unit")

# Random and rolling pattern sets are capped at this many entries (800 MB).
MAX_ENTRIES = 10**8

# Centering leaves rounding residue where a column is constant; entries this
# close to zero, relative to the largest magnitude in their column, are zero.
_ROUNDING = 64 * np.finfo(float).eps

_NPY_MAGIC = b"\x93NUMPY"


@dataclass(frozen=True, eq=False, repr=False)
class PatternSet:
    """A named K x N matrix of patterns, one pattern per row.

    Parameters
    ----------
    values : array_like, shape (K, N)
        Pattern entries; real and finite. Stored as a read-only float copy.
    names : sequence of str, length K
        Pattern names, one per row.
    features : sequence of str, length N
        Feature names, one per column.
    source : str, default "array"
        Where the patterns came from and how they were processed.

    Raises
    ------
    InputError
        If `values` is not a non-empty 2-D array of finite real numbers, or
        if `names` or `features` do not match its shape.

    See Also
    --------
    PatternSet.from_array : build a pattern set with default names.

    Notes
    -----
    Equality is identity: two pattern sets with equal entries are still
    different objects, as comparing arrays elementwise has no single truth
    value.

    Examples
    --------
    >>> patterns = PatternSet.from_array([[1, -1, 1], [-1, -1, 1]])
    >>> patterns.K, patterns.N, patterns.is_binary
    (2, 3, True)
    >>> patterns.names, patterns.features
    (('1', '2'), ('f1', 'f2', 'f3'))
    """

    values: np.ndarray
    names: tuple[str, ...]
    features: tuple[str, ...]
    source: str = "array"

    def __post_init__(self):
        values = _as_matrix(self.values)
        names = _as_labels(self.names, values.shape[0], "pattern names", "row")
        features = _as_labels(self.features, values.shape[1], "feature names", "column")
        _check_finite(values, names, features)

        if not isinstance(self.source, str):
            raise InputError(f"pattern source: must be a string, got {self.source!r}")

        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "features", features)

    @classmethod
    def from_array(cls, values, names=None, features=None, source="array"):
        """Build a pattern set, naming rows "1".."K" and columns "f1".."fN".

        Parameters
        ----------
        values : array_like, shape (K, N)
            Pattern entries, one pattern per row.
        names : sequence of str, length K, optional
            Pattern names; default "1", "2", ..., "K".
        features : sequence of str, length N, optional
            Feature names; default "f1", "f2", ..., "fN".
        source : str, default "array"
            Provenance note.

        Returns
        -------
        PatternSet
        """
        values = _as_matrix(values)
        K, N = values.shape

        if names is None:
            names = tuple(str(k) for k in range(1, K + 1))
        if features is None:
            features = tuple(f"f{i}" for i in range(1, N + 1))

        return cls(values, names, features, source)

    @property
    def K(self):
        """int: Number of patterns (rows)."""
        return self.values.shape[0]

    @property
    def N(self):
        """int: Number of features (columns)."""
        return self.values.shape[1]

    @property
    def is_binary(self):
        """bool: Whether every entry is exactly +1 or -1."""
        return bool(np.all(np.abs(self.values) == 1.0))

    def __repr__(self):
        return f"PatternSet(K={self.K}, N={self.N}, source={self.source!r})"


def random_patterns(N, K, seed=0):
    """Draw K independent patterns of N independent, uniform +-1 entries.

    Parameters
    ----------
    N : int
        Number of features, positive.
    K : int
        Number of patterns, positive.
    seed : int, default 0
        Seed for ``numpy.random.default_rng``; the same seed gives the same
        patterns.

    Returns
    -------
    PatternSet
        Binary patterns, shape (K, N).

    Raises
    ------
    InputError
        If `N` or `K` is not a positive integer, or `seed` is not a
        non-negative integer.

    Examples
    --------
    >>> patterns = random_patterns(100, 3, seed=1)
    >>> patterns.values.shape, patterns.is_binary
    ((3, 100), True)
    """
    N, K = _check_size(N, K)
    seed = _check_count(seed, "seed", minimum=0)

    rng = np.random.default_rng(seed)
    values = rng.choice([-1.0, 1.0], size=(K, N))

    return PatternSet.from_array(values, source=f"random(N={N}, K={K}, seed={seed})")


def rolling_patterns(N, K, block=None):
    """Build K non-overlapping blocks of +1 on a background of -1.

    Pattern k (counting from 0) is +1 on features ``k * block`` to
    ``(k + 1) * block - 1`` and -1 everywhere else.

    Parameters
    ----------
    N : int
        Number of features, positive.
    K : int
        Number of patterns, positive.
    block : int, optional
        Length of each block of +1s; default ``N // K``. The blocks must fit:
        ``K * block <= N``.

    Returns
    -------
    PatternSet
        Binary patterns, shape (K, N).

    Raises
    ------
    InputError
        If `N`, `K` or `block` is not a positive integer, or the blocks do
        not fit into N features.

    Notes
    -----
    When ``K * block < N`` the last ``N - K * block`` features are -1 in
    every pattern. With ``block = N / K`` every pair of patterns has the
    overlap ``1 - 4 / K``.

    Examples
    --------
    >>> rolling_patterns(6, 3).values
    array([[ 1.,  1., -1., -1., -1., -1.],
           [-1., -1.,  1.,  1., -1., -1.],
           [-1., -1., -1., -1.,  1.,  1.]])
    """
    N, K = _check_size(N, K)
    block = _rolling_block(N, K, block)

    owner = np.arange(N) // block
    values = np.where(owner == np.arange(K)[:, None], 1.0, -1.0)

    return PatternSet.from_array(values, source=f"rolling(N={N}, K={K}, block={block})")


def load_patterns(path):
    """Read a pattern set from a CSV or .npy file.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` file whose first row holds a label for the name column
        followed by the feature names, and whose other rows each hold a
        pattern name followed by N numbers; or a ``.npy`` file holding a
        K x N array, whose rows and columns get default names.

    Returns
    -------
    PatternSet
        The patterns, with `source` set to `path`.

    Raises
    ------
    InputError
        If the file is missing or unreadable, has another extension, is
        empty, holds no pattern, has rows of different lengths, or has a
        cell that is not a finite number. The message names the file and,
        for a bad cell, its line and column.

    Warns
    -----
    UserWarning
        If every feature name in a CSV header is a number, which suggests a
        file without a header whose first pattern became the header.

    Notes
    -----
    CSV cells are stripped of surrounding spaces and blank lines are
    skipped. Files are read as UTF-8 (a leading byte-order mark is allowed).
    """
    path = Path(path)
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise InputError(f"pattern file '{path}' {what}")

    readers = {".csv": _read_csv, ".npy": _read_npy}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise InputError(
            f"pattern file '{path}': extension must be one of .csv, .npy, "
            f"got {path.suffix!r}"
        )

    return reader(path)


def bundled_patterns(name):
    """Load a pattern set shipped with hopdyn.

    Parameters
    ----------
    name : str
        A key of `BUNDLED_DATASETS`. ``"pbmc68k"``: mean expression profiles
        of 10 blood cell types over 765 genes; see ``hopdyn/data/README.md``
        for its provenance.

    Returns
    -------
    PatternSet
        The patterns, with `source` ``"bundled:<name>"``.

    Raises
    ------
    InputError
        If `name` is not a bundled data set.

    Examples
    --------
    >>> cells = bundled_patterns("pbmc68k")
    >>> cells.K, cells.N
    (10, 765)
    """
    if name not in BUNDLED_DATASETS:
        valid = ", ".join(sorted(BUNDLED_DATASETS))
        raise InputError(f"bundled data set: unknown name {name!r}; valid: {valid}")

    resource = files("hopdyn") / "data" / _BUNDLED_FILES[name]
    with as_file(resource) as path:
        patterns = load_patterns(path)

    return replace(patterns, source=f"bundled:{name}")


def preprocess(patterns, normalize="none", center=False, binarize=False):
    """Center, binarize and normalize a pattern set, in that order.

    Parameters
    ----------
    patterns : PatternSet
        The patterns to transform; left unchanged.
    normalize : {"none", "unit"}, default "none"
        ``"unit"`` scales each pattern (row) to Euclidean length 1.
    center : bool, default False
        Subtract from each feature (column) its mean over the patterns.
    binarize : bool, default False
        Replace each entry by its sign, +1 or -1; zeros become +1.

    Returns
    -------
    PatternSet
        New patterns with the same names; `source` lists the steps applied.

    Raises
    ------
    InputError
        If `normalize` is not a valid option, `center` or `binarize` is not
        a bool, or normalizing meets a pattern of length zero.

    Notes
    -----
    Centering a feature that is constant across patterns leaves rounding
    residue instead of exact zeros. So that binarizing such a feature gives
    +1 and not a sign chosen by rounding, entries within 64 machine epsilons
    of zero, relative to the largest magnitude in their column before
    centering, count as zero. The same rule decides whether a pattern has
    length zero.

    Examples
    --------
    >>> raw = PatternSet.from_array([[3.0, 0.0], [3.0, 4.0]])
    >>> preprocess(raw, normalize="unit").values
    array([[1. , 0. ],
           [0.6, 0.8]])
    >>> preprocess(raw, center=True, binarize=True).values
    array([[ 1., -1.],
           [ 1.,  1.]])
    """
    _check_options(normalize, center, binarize)

    values = patterns.values
    zero = _ROUNDING * np.max(np.abs(values), axis=0)
    steps = []

    if center:
        values = values - values.mean(axis=0)
        steps.append("center")

    if binarize:
        values = np.where((values > 0) | (np.abs(values) <= zero), 1.0, -1.0)
        steps.append("binarize")

    if normalize == "unit":
        values = _unit_rows(values, zero, patterns.names)
        steps.append("normalize=unit")

    source = "; ".join([patterns.source, *steps])
    return PatternSet(values, patterns.names, patterns.features, source)


def _as_matrix(values):
    """Return `values` as a new 2-D float array, or raise InputError."""
    try:
        array = np.array(values)
    except (TypeError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        raise InputError(
            f"pattern values: must be a K x N array of numbers ({reason})"
        ) from exc

    if np.iscomplexobj(array):
        raise InputError("pattern values: must be real numbers, got complex ones")
    if array.dtype.kind not in "iuf":
        raise InputError(
            f"pattern values: must be real numbers, got dtype {array.dtype}"
        )

    if array.ndim != 2 or 0 in array.shape:
        raise InputError(
            "pattern values: must be a K x N array with K, N >= 1, "
            f"got shape {array.shape}"
        )

    return array.astype(float)


def _as_labels(labels, count, what, axis):
    """Return `labels` as a tuple of `count` strings, or raise InputError."""
    if isinstance(labels, str):
        raise InputError(
            f"{what}: must be a sequence of strings, got the string {labels!r}"
        )

    labels = tuple(str(label) for label in labels)
    if len(labels) != count:
        raise InputError(
            f"{what}: need one per {axis} of the values ({count}), got {len(labels)}"
        )

    return labels


def _check_finite(values, names, features):
    """Raise InputError, locating the bad entries, unless all are finite."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return

    rows, columns = np.nonzero(bad)
    entries = _plural(rows.size, "entry", "entries")
    spread = (
        f"{_plural(np.unique(rows).size, 'row', 'rows')} and "
        f"{_plural(np.unique(columns).size, 'column', 'columns')}"
    )
    raise InputError(
        f"pattern values: must be finite, got NaN or inf in {entries} "
        f"({spread}), first at pattern {names[rows[0]]!r}, "
        f"feature {features[columns[0]]!r}"
    )


def _plural(count, one, many):
    """Return e.g. "1 row" or "3 rows"."""
    return f"{count} {one if count == 1 else many}"


def _check_count(value, name, minimum=1):
    """Return `value` as an int, unless it is not an integer >= `minimum`."""
    is_integer = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not is_integer or value < minimum:
        rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise InputError(f"{name}: must be {rule}, got {value!r}")

    return int(value)


def _check_size(N, K):
    """Return N and K, unless they are not positive or N * K is too large."""
    N = _check_count(N, "N")
    K = _check_count(K, "K")
    if N * K > MAX_ENTRIES:
        raise InputError(
            f"pattern size: N * K must be at most {MAX_ENTRIES:.0e}, got N={N}, K={K}"
        )

    return N, K


def _rolling_block(N, K, block):
    """Return the checked block length of rolling patterns."""
    if block is None:
        if N < K:
            raise InputError(
                f"rolling patterns: need N >= K for blocks of N // K, got N={N}, K={K}"
            )
        return N // K

    block = _check_count(block, "block")
    if K * block > N:
        raise InputError(
            f"rolling patterns: K * block must not exceed N, "
            f"got K={K}, block={block}, N={N}"
        )

    return block


def _check_options(normalize, center, binarize):
    """Raise InputError unless the preprocessing options are valid."""
    if normalize not in NORMALIZE_OPTIONS:
        valid = ", ".join(repr(option) for option in NORMALIZE_OPTIONS)
        raise InputError(f"normalize: must be one of {valid}, got {normalize!r}")

    for name, flag in (("center", center), ("binarize", binarize)):
        if not isinstance(flag, (bool, np.bool_)):
            raise InputError(f"{name}: must be true or false, got {flag!r}")


def _unit_rows(values, zero, names):
    """Scale each row to length 1; `zero` bounds each column's rounding."""
    is_zero = np.all(np.abs(values) <= zero, axis=1)
    if is_zero.any():
        empty = ", ".join(repr(names[k]) for k in np.flatnonzero(is_zero))
        raise InputError(
            f"normalize='unit': cannot scale a pattern of length zero to "
            f"length 1, got zero patterns {empty}"
        )

    # Divide by each row's largest magnitude first, so that the norm of
    # rows of huge (1e308) or subnormal (1e-320) entries is still finite.
    values = values / np.max(np.abs(values), axis=1, keepdims=True)
    return values / np.linalg.norm(values, axis=1, keepdims=True)


def _read_csv(path):
    """Read a pattern CSV: a header row, then one named pattern per row."""
    rows = _csv_rows(path)
    if not rows:
        raise InputError(f"pattern file '{path}' is empty")

    _, header = rows[0]
    if len(header) < 2:
        raise InputError(
            f"pattern file '{path}': the header must hold a label for the name "
            f"column and at least one feature name, got {header!r}"
        )
    if len(rows) < 2:
        raise InputError(f"pattern file '{path}': no pattern rows after the header")

    if all(_cell_number(cell) is not None for cell in header[1:]):
        warnings.warn(
            f"pattern file '{path}': the header holds only numbers; it is read "
            "as feature names, not as a pattern",
            UserWarning,
            stacklevel=3,
        )

    values = [_csv_numbers(path, line, cells, header) for line, cells in rows[1:]]
    names = [cells[0] for _, cells in rows[1:]]

    return PatternSet(np.array(values), names, header[1:], source=str(path))


def _csv_rows(path):
    """Return (line number, stripped cells) for every non-blank CSV row."""
    rows = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            for cells in reader:
                cells = [cell.strip() for cell in cells]
                if any(cells):
                    rows.append((reader.line_num, cells))
    except UnicodeDecodeError as exc:
        raise InputError(f"pattern file '{path}': not UTF-8 text ({exc})") from exc
    except csv.Error as exc:
        raise InputError(f"pattern file '{path}': malformed CSV ({exc})") from exc
    except OSError as exc:
        raise InputError(f"pattern file '{path}': {exc.strerror or exc}") from exc

    return rows


def _csv_numbers(path, line, cells, header):
    """Parse the numbers of one CSV row, naming the cell that is bad."""
    if len(cells) != len(header):
        raise InputError(
            f"pattern file '{path}': line {line} has {len(cells)} cells, "
            f"but the header has {len(header)}"
        )

    numbers = [_cell_number(cell) for cell in cells[1:]]
    for column, value in enumerate(numbers, start=2):
        if value is None or not math.isfinite(value):
            rule = "not a number" if value is None else "not finite"
            raise InputError(
                f"pattern file '{path}': line {line}, column {column} "
                f"({header[column - 1]!r}): {cells[column - 1]!r} is {rule}"
            )

    return numbers


def _cell_number(cell):
    """Return the float in `cell`, or None when it holds none."""
    try:
        return float(cell)
    except ValueError:
        return None


def _read_npy(path):
    """Read a K x N array of real numbers from a .npy file."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise InputError(f"pattern file '{path}': {exc.strerror or exc}") from exc
    if magic != _NPY_MAGIC:
        raise InputError(f"pattern file '{path}': not in .npy format (no .npy header)")

    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, MemoryError, TokenError) as exc:
        # A corrupt header can fail to parse (TokenError) or claim a shape
        # far larger than the file, which np.load tries to allocate.
        reason = " ".join(str(exc).split())
        raise InputError(f"pattern file '{path}': unreadable .npy ({reason})") from exc

    try:
        return PatternSet.from_array(array, source=str(path))
    except InputError as exc:
        raise InputError(f"pattern file '{path}': {exc}") from exc
