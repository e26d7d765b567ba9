"""Braille plots: a canvas of 2x4-dot cells, axes with nice ticks, and
reducers that turn any number of rows into what the canvas can show.

Data arrives as chunks of rows. Each chunk is reduced to per-bucket state
(for a line: the min and max of y plus the points at either end of each
bucket of x; for a scatter: occupancy; for a histogram: bin counts), so a
plot of a whole file column never holds the column, and the picture is the
same as drawing every point: sort the points by x (stable), map them to
sub-pixels, join each consecutive pair with a Bresenham segment.

One pass where the picture allows it. A line keeps y as data, so its y axis
can wait for the end; its x axis must be known while reading, and it is for
row numbers, or for an x column whose first and last rows prove to hold its
extremes (sorted times, an index). Even then the canvas width is not known
(the y labels take their room first), so x is reduced into segments cut at
every pixel boundary of every width the labels may leave; segments merge
exactly into the columns of the width they do leave. A scatter, a histogram
or a line over any other x reads the ranges first, then draws.

Sub-pixel coordinates: ``px`` grows to the right, ``py`` grows downwards
(``py = 0`` is the top row), like the rows of text.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from vime.axes import Axis, Ticks, choose_ticks, log10, pixel_index
from vime.errors import InvalidParams, PlotFailed

BRAILLE_BLANK = 0x2800
# The bit of each dot of a braille cell, indexed [dot row][dot column].
DOT_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint32)

KINDS = ("line", "scatter", "hist")
# Lines of text around the canvas: the y axis name above, the x rule and tick labels below.
TOP_LINES, BOTTOM_LINES = 1, 2
MIN_WIDTH, MIN_HEIGHT = 10, TOP_LINES + BOTTOM_LINES + 1
# In-memory arrays are reduced in blocks of this many rows: cache-friendly, bounded scratch.
BLOCK_ROWS = 1 << 18
NAT = np.iinfo(np.int64).min
# A one-pass line prepares segments for y labels up to this long; longer ones
# (never seen: dates take 29) cost a second pass, not a wrong picture.
LIKELY_GUTTER = 32


# -- canvas ------------------------------------------------------------------
class BrailleCanvas:
    """A grid of ``cols`` x ``rows`` braille cells, i.e. 2*cols x 4*rows sub-pixels."""

    def __init__(self, cols: int, rows: int):
        if cols < 1 or rows < 1:
            raise ValueError(f"a canvas needs at least 1x1 cells, not {cols}x{rows}")
        self.cols, self.rows = cols, rows
        self.width, self.height = 2 * cols, 4 * rows
        self.pixels = np.zeros((self.height, self.width), dtype=bool)

    def set_pixel(self, px: int, py: int) -> None:
        """Light one sub-pixel; points off the canvas are ignored."""
        if 0 <= px < self.width and 0 <= py < self.height:
            self.pixels[py, px] = True

    def set_pixels(self, px, py) -> None:
        """Light many sub-pixels at once; points off the canvas are ignored."""
        px, py = np.asarray(px, dtype=np.intp), np.asarray(py, dtype=np.intp)
        inside = (px >= 0) & (px < self.width) & (py >= 0) & (py < self.height)
        self.pixels[py[inside], px[inside]] = True

    def line(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """A Bresenham segment from (x0, y0) to (x1, y1), both ends included."""
        self.lines([x0], [y0], [x1], [y1])

    def lines(self, x0, y0, x1, y1) -> None:
        """Many Bresenham segments at once, without a Python loop per segment.

        At each step along the longer axis the other coordinate is the ideal
        line's value rounded to the nearest sub-pixel (halves away from the
        start), which is what Bresenham's error term computes.
        """
        x0, y0, x1, y1 = (np.asarray(v, dtype=np.int64).ravel() for v in (x0, y0, x1, y1))
        dx, dy = x1 - x0, y1 - y0
        steps = np.maximum(np.abs(dx), np.abs(dy))
        counts = steps + 1
        segment = np.repeat(np.arange(len(steps)), counts)
        t = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        n = np.maximum(steps, 1)[segment]
        px = x0[segment] + _rounded_step(t, dx[segment], n)
        py = y0[segment] + _rounded_step(t, dy[segment], n)
        self.set_pixels(px, py)

    def vertical_spans(self, px, top, bottom) -> None:
        """Fill rows top..bottom (inclusive) of each of the distinct columns px."""
        px = np.asarray(px, dtype=np.intp)
        rows = np.arange(self.height)[:, None]
        self.pixels[:, px] |= (rows >= np.asarray(top)) & (rows <= np.asarray(bottom))

    def lit_cells(self) -> np.ndarray:
        """rows x cols booleans: which cells have a dot."""
        return self.pixels.reshape(self.rows, 4, self.cols, 2).any(axis=(1, 3))

    def render(self) -> list[str]:
        """One string of ``cols`` braille characters per row of cells."""
        cells = self.pixels.reshape(self.rows, 4, self.cols, 2).astype(np.uint32)
        codes = BRAILLE_BLANK + np.einsum("rycx,yx->rc", cells, DOT_BITS)
        return [row.astype("<u4").tobytes().decode("utf-32-le") for row in codes]


def _rounded_step(t, delta, n):
    """round(t * delta / n) with halves rounded away from zero, in integers."""
    return np.sign(delta) * ((2 * t * np.abs(delta) + n) // (2 * n))


# -- converting columns --------------------------------------------------------
def as_numbers(values, name: str) -> tuple[np.ndarray, str]:
    """A column as float64 (NaN for missing) and its axis kind.

    Datetimes become nanoseconds since the epoch (wall-clock time for
    timezone-aware ones), timedeltas seconds, booleans 0 and 1.
    """
    dtype = values.dtype
    if not isinstance(dtype, np.dtype):  # a pandas extension dtype: only pandas reads it
        return _extension_numbers(values, name)
    if dtype.kind == "M":
        nanoseconds = np.asarray(values, dtype="datetime64[ns]").view(np.int64)
        return np.where(nanoseconds == NAT, np.nan, nanoseconds.astype(np.float64)), "time"
    if dtype.kind == "m":
        nanoseconds = np.asarray(values, dtype="timedelta64[ns]").view(np.int64)
        return np.where(nanoseconds == NAT, np.nan, nanoseconds / 1e9), "number"
    if dtype.kind not in "biuf":
        raise PlotFailed(f"column {name!r} is not numeric (dtype {dtype}): cannot plot it")
    whole = dtype.kind in "biu"
    return np.asarray(values, dtype=np.float64), "integer" if whole else "number"


def _extension_numbers(values, name: str) -> tuple[np.ndarray, str]:
    """as_numbers for pandas' own dtypes: zoned times, nullable numbers and booleans."""
    import pandas as pd

    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return as_numbers(pd.Series(values).dt.tz_localize(None).to_numpy(), name)
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    if not numeric:
        raise PlotFailed(f"column {name!r} is not numeric (dtype {dtype}): cannot plot it")
    whole = pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    return values.to_numpy(dtype=np.float64, na_value=np.nan), "integer" if whole else "number"


def on_axis(values: np.ndarray, kind: str, log: bool, name: str, param: str) -> np.ndarray:
    """Values in axis units: log10 on a log axis (NaN for values <= 0), else as they are."""
    if not log:
        return values
    if kind == "time":
        raise InvalidParams(f"{param} needs numbers, and column {name!r} holds dates")
    return log10(values)


# -- buckets of x ----------------------------------------------------------------
class PixelColumns:
    """Buckets of x that are the pixel columns of an axis."""

    def __init__(self, axis: Axis):
        self.axis = axis
        self.count = axis.pixels

    def ids(self, x: np.ndarray) -> np.ndarray:
        return self.axis.pixel(x).astype(np.intp)  # ufunc.at is fastest with intp indices

    def starts(self, x_sorted: np.ndarray) -> np.ndarray:
        return _column_starts(x_sorted, self.axis)


class Segments:
    """Buckets of x between consecutive boundaries: [-inf, b0), [b0, b1), ..., [bn, inf)."""

    def __init__(self, boundaries: np.ndarray):
        self.boundaries = boundaries
        self.count = len(boundaries) + 1

    def ids(self, x: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.boundaries, x, side="right")

    def starts(self, x_sorted: np.ndarray) -> np.ndarray:
        inner = np.searchsorted(x_sorted, self.boundaries, side="left")
        return np.concatenate(([0], inner, [len(x_sorted)]))


def _column_starts(x_sorted: np.ndarray, x_axis: Axis) -> np.ndarray:
    """For each column c (and one past the last) the first index whose pixel is >= c.

    A bisection over all columns at once, evaluating the pixel mapping at
    about log2(len(x)) samples per column instead of at every point.
    """
    n, width = len(x_sorted), x_axis.pixels
    target = np.arange(width + 1)
    lo, hi = np.zeros(width + 1, dtype=np.intp), np.full(width + 1, n, dtype=np.intp)
    while np.any(active := lo < hi):
        mid = (lo + hi) // 2
        reached = x_axis.pixel(x_sorted[np.minimum(mid, n - 1)]) >= target
        hi = np.where(active & reached, mid, hi)
        lo = np.where(active & ~reached, mid + 1, lo)
    return lo


def segment_boundaries(lo: float, hi: float, widths: Iterable[int]) -> np.ndarray:
    """Each x in (lo, hi] where the pixel column changes on an axis of any of the widths.

    For every width and column c, the smallest float whose pixel is c or more,
    found by bisection over the floats themselves (at most 64 steps), with the
    very mapping Axis.pixel uses: sorted, distinct.
    """
    widths = [w for w in widths if w > 1]
    if lo == hi or not widths:
        return np.empty(0)
    pixels = np.concatenate([np.full(w - 1, w) for w in widths])
    targets = np.concatenate([np.arange(1, w) for w in widths])
    first = _float_keys(np.array([lo]))
    below = np.zeros(len(targets), dtype=np.uint64)  # offsets from lo: pixel < target
    gap = int(_float_keys(np.array([hi]))[0]) - int(first[0])
    above = np.full(len(targets), gap, dtype=np.uint64)  # pixel >= target
    while np.any(above - below > 1):
        middle = below + (above - below) // 2
        reached = pixel_index(_keyed_floats(first, middle), lo, hi, pixels) >= targets
        above = np.where(reached, middle, above)
        below = np.where(reached, below, middle)
    return np.unique(_keyed_floats(first, above))


def _float_keys(values: np.ndarray) -> np.ndarray:
    """int64 keys in the order of the floats: the bits, negatives mirrored below zero."""
    bits = values.view(np.int64)
    return np.where(bits >= 0, bits, np.iinfo(np.int64).min - bits)


def _keyed_floats(first: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The floats whose keys are first + offsets (uint64 arithmetic wraps like int64)."""
    keys = (first.view(np.uint64) + offsets).view(np.int64)
    return np.where(keys >= 0, keys, np.iinfo(np.int64).min - keys).view(np.float64)


# -- reducers ------------------------------------------------------------------
class LineReducer:
    """Per bucket of x: the y range and the y at the lowest and highest x.

    That is all a polyline through the points sorted by x shows: inside a
    column it runs between its min and max, and it leaves a column at the
    point with the highest x for the point with the lowest x of the next one.
    y stays in data units, so the y axis is only needed to draw.
    """

    def __init__(self, buckets: PixelColumns | Segments):
        self.buckets = buckets
        count = buckets.count
        self.y_min, self.y_max = np.full(count, np.inf), np.full(count, -np.inf)
        self.first_x, self.first_y = np.full(count, np.inf), np.zeros(count)
        self.last_x, self.last_y = np.full(count, -np.inf), np.zeros(count)

    def add(self, x: np.ndarray, y: np.ndarray, x_sorted: bool = False) -> None:
        """Fold in finite points; x_sorted says x is known to be non-decreasing."""
        if len(x) == 0:
            return
        if x_sorted or bool(np.all(x[1:] >= x[:-1])):
            self._merge(*_sorted_buckets(x, y, self.buckets.starts(x)))
        else:
            self._merge(*_unsorted_buckets(x, y, self.buckets.ids(x), self.buckets.count))

    def _merge(self, ids, y_min, y_max, first_x, first_y, last_x, last_y) -> None:
        self.y_min[ids] = np.minimum(self.y_min[ids], y_min)
        self.y_max[ids] = np.maximum(self.y_max[ids], y_max)
        earlier = first_x < self.first_x[ids]  # on a tie the earlier row stays first
        self.first_x[ids[earlier]] = first_x[earlier]
        self.first_y[ids[earlier]] = first_y[earlier]
        later = last_x >= self.last_x[ids]  # on a tie the later row becomes last
        self.last_x[ids[later]] = last_x[later]
        self.last_y[ids[later]] = last_y[later]

    def in_columns(self, x_axis: Axis) -> LineReducer | None:
        """The same state per pixel column of x_axis, merged exactly from the buckets
        (which run in x order); None if a bucket holds points of two columns."""
        used = np.flatnonzero(self.first_x < np.inf)
        cols = x_axis.pixel(self.first_x[used])
        if not np.array_equal(cols, x_axis.pixel(self.last_x[used])):
            return None
        merged = LineReducer(PixelColumns(x_axis))
        if len(used):
            runs = np.flatnonzero(np.r_[True, cols[1:] != cols[:-1]])
            ends = np.r_[runs[1:], len(used)] - 1
            first, last = used[runs], used[ends]
            merged._merge(
                cols[runs].astype(np.intp),
                np.minimum.reduceat(self.y_min[used], runs),
                np.maximum.reduceat(self.y_max[used], runs),
                self.first_x[first],
                self.first_y[first],
                self.last_x[last],
                self.last_y[last],
            )
        return merged

    def draw(self, canvas: BrailleCanvas, y_axis: Axis) -> None:
        """Draw on a canvas as wide as the pixel columns these buckets are."""
        cols = np.flatnonzero(self.first_x < np.inf)
        if len(cols) == 0:
            return

        def rows(values):
            return canvas.height - 1 - y_axis.pixel(values[cols])

        canvas.vertical_spans(cols, rows(self.y_max), rows(self.y_min))
        canvas.lines(cols[:-1], rows(self.last_y)[:-1], cols[1:], rows(self.first_y)[1:])


def _sorted_buckets(x, y, starts):
    """Bucket reduction of points with non-decreasing x: contiguous runs per bucket."""
    present = np.flatnonzero(starts[1:] > starts[:-1])
    begin = starts[present]
    end = starts[present + 1] - 1
    return (
        present,
        np.minimum.reduceat(y, begin),
        np.maximum.reduceat(y, begin),
        x[begin],
        y[begin],
        x[end],
        y[end],
    )


def _unsorted_buckets(x, y, ids, count):
    """Bucket reduction of points in any order."""
    y_min, y_max = np.full(count, np.inf), np.full(count, -np.inf)
    np.minimum.at(y_min, ids, y)
    np.maximum.at(y_max, ids, y)
    first_x, last_x = np.full(count, np.inf), np.full(count, -np.inf)
    np.minimum.at(first_x, ids, x)
    np.maximum.at(last_x, ids, x)
    used = np.flatnonzero(first_x < np.inf)
    first_y, last_y = np.zeros(count), np.zeros(count)
    # Among the points at a bucket's lowest x the earliest row is first;
    # among those at its highest x the latest row is last.
    at_first = np.flatnonzero(x == first_x[ids])
    hit, index = np.unique(ids[at_first], return_index=True)
    first_y[hit] = y[at_first[index]]
    at_last = np.flatnonzero(x == last_x[ids])[::-1]
    hit, index = np.unique(ids[at_last], return_index=True)
    last_y[hit] = y[at_last[index]]
    return (
        used,
        y_min[used],
        y_max[used],
        first_x[used],
        first_y[used],
        last_x[used],
        last_y[used],
    )


class ScatterReducer:
    """Which sub-pixels hold at least one point."""

    def __init__(self, x_axis: Axis, y_axis: Axis):
        self.x_axis, self.y_axis = x_axis, y_axis
        self.occupied = np.zeros(x_axis.pixels * y_axis.pixels, dtype=bool)

    def add(self, x: np.ndarray, y: np.ndarray, x_sorted: bool = False) -> None:
        key = self.y_axis.pixel(y)
        key *= self.x_axis.pixels
        key += self.x_axis.pixel(x)
        self.occupied[key.astype(np.intp)] = True  # numpy indexes fastest with intp

    def draw(self, canvas: BrailleCanvas, y_axis: Axis) -> None:
        grid = self.occupied.reshape(self.y_axis.pixels, self.x_axis.pixels)
        canvas.pixels |= grid[::-1]


# -- plots ---------------------------------------------------------------------
Span = tuple[int, int, int, int]  # (series, line, first column, column after the last)


@dataclass
class Figure:
    """The lines of a plot and what was drawn.

    ``spans``: runs of cells each series owns, (series, line, col_start,
    col_end) in character columns of ``lines``, end exclusive; series count
    from 1, and 0 marks cells two or more series share.
    """

    lines: list[str]
    points: int
    dropped: int
    nonpositive: int = 0  # pairs dropped for a value <= 0 on a log axis
    spans: list[Span] = field(default_factory=list)


Chunk = tuple[object, Sequence[object]]  # (x values or None for row numbers, [y values, ...])
ChunkReader = Callable[[], Iterable[Chunk]]


@dataclass(frozen=True)
class _Spec:
    """What to draw. For a histogram the values are the y column and logx their axis."""

    kind: str
    width: int
    height: int
    x_name: str
    y_names: list[str]
    bins: int | None
    log_x: bool
    log_y: bool

    @property
    def log_values(self) -> bool:
        return self.log_x if self.kind == "hist" else self.log_y

    @property
    def log_rows(self) -> bool:
        return self.log_x and self.kind != "hist"


@dataclass
class _Series:
    name: str
    rows: int = 0
    finite: int = 0  # finite values
    usable: int = 0  # of those, the ones the axis can show (> 0 on a log axis)
    points: int = 0
    nonpositive: int = 0
    lo: float = math.inf
    hi: float = -math.inf
    kind: str = "number"


@dataclass
class _Extent:
    """What reading learns: ranges (in axis units) and counts, axis kinds."""

    series: list[_Series]
    rows: int = 0
    finite_x: int = 0
    usable_x: int = 0
    x_lo: float = math.inf
    x_hi: float = -math.inf
    x_kind: str = "integer"

    @property
    def y_lo(self) -> float:
        return min(s.lo for s in self.series)

    @property
    def y_hi(self) -> float:
        return max(s.hi for s in self.series)

    @property
    def y_kind(self) -> str:
        kinds = {s.kind for s in self.series}
        return kinds.pop() if len(kinds) == 1 else "number"

    @property
    def points(self) -> int:
        return sum(s.points for s in self.series)

    @property
    def dropped(self) -> int:
        return sum(s.rows for s in self.series) - self.points

    @property
    def nonpositive(self) -> int:
        return sum(s.nonpositive for s in self.series)


@dataclass
class _Values:
    """One converted column of a chunk, in axis units (NaN where unusable)."""

    values: np.ndarray
    kind: str
    finite: np.ndarray | None  # finite as read; None: all are
    usable: np.ndarray | None  # shown on the axis (a log axis drops values <= 0); None: all are
    logged: bool = False


def _both(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """Elementwise and of two masks, where None means all true."""
    if a is None or b is None:
        return b if a is None else a
    return a & b


def _count(mask: np.ndarray | None, size: int) -> int:
    return size if mask is None else int(np.count_nonzero(mask))


@dataclass
class _Points:
    """One converted chunk: x (row numbers when the plot has no x column) and each y."""

    x: _Values
    ys: list[_Values]
    x_sorted: bool

    def pairs(self, y: _Values) -> tuple[np.ndarray, np.ndarray]:
        """The pairs where both values are usable (no copy when all are)."""
        keep = _both(self.x.usable, y.usable)
        if keep is None:
            return self.x.values, y.values
        return self.x.values[keep], y.values[keep]

    def nonpositive(self, y: _Values) -> int:
        """Pairs of finite values dropped only for a value <= 0 on a log axis."""
        if not (self.x.logged or y.logged):
            return 0
        size = len(y.values)
        finite = _count(_both(self.x.finite, y.finite), size)
        return finite - _count(_both(self.x.usable, y.usable), size)


def plot_chunks(
    read: ChunkReader,
    *,
    kind: str = "line",
    width: int = 72,
    height: int = 20,
    x_name: str = "row",
    y_names: Sequence[str] = ("y",),
    bins: int | None = None,
    first_row: int = 0,
    rows: int | None = None,
    x_ends: tuple[object, object] | None = None,
    log_x: bool = False,
    log_y: bool = False,
) -> Figure:
    """Plot chunks of rows; ``read()`` yields (x, [y, ...]) chunks and may be called twice.

    x None means the row number, counted from ``first_row``. A line takes
    one pass when its x range is known before reading: give ``rows`` (how
    many rows read() yields) for row numbers, or ``x_ends`` (the x values of
    the first and last row, as 1-element columns) for an x column; those
    prove right or cost a second pass. Pairs with a NaN, an infinite value
    or a value <= 0 on a log axis are dropped and counted. A constant column
    is drawn as a flat line in the middle. Returns ``height`` lines of
    exactly ``width`` characters.
    """
    _check_size(width, height)
    if kind not in KINDS:
        raise InvalidParams(f"plot type must be one of {', '.join(KINDS)}, not {kind!r}")
    spec = _Spec(kind, width, height, x_name, list(y_names), bins, log_x, log_y)
    guess = _known_x_range(spec, first_row, rows, x_ends) if kind == "line" else None
    extent, segments = _scan(read, spec, first_row, guess)
    _check_extent(extent, spec)
    if kind == "hist":
        return _histogram(read, extent, spec, first_row)
    canvas_rows = height - TOP_LINES - BOTTOM_LINES
    y_kind = "log" if spec.log_values else extent.y_kind
    y_axis = Axis(extent.y_lo, extent.y_hi, 4 * canvas_rows, y_kind)
    y_ticks = y_axis_ticks(y_axis, max(1, width // 3), BRAILLE)
    gutter = max(map(len, y_ticks.labels), default=0)
    canvas_cols = width - gutter - 1
    x_kind = "log" if spec.log_rows else extent.x_kind
    x_axis = Axis(extent.x_lo, extent.x_hi, 2 * canvas_cols, x_kind)
    reducers = None if segments is None else _in_columns(segments, x_axis)
    if reducers is None:
        reducers = _draw_pass(read, spec, first_row, x_axis, y_axis)
    canvases = [BrailleCanvas(canvas_cols, canvas_rows) for _ in reducers]
    for reducer, canvas in zip(reducers, canvases, strict=True):
        reducer.draw(canvas, y_axis)
    together = BrailleCanvas(canvas_cols, canvas_rows)
    together.pixels = np.logical_or.reduce([canvas.pixels for canvas in canvases])
    y_label = ", ".join(spec.y_names)
    lines = compose(together.render(), BRAILLE, x_axis, y_axis, y_ticks, gutter, x_name, y_label)
    owned = [canvas.lit_cells() for canvas in canvases]
    spans = _legend_spans(spec.y_names, width) + _cell_spans(owned, TOP_LINES, gutter + 1)
    return Figure(lines, extent.points, extent.dropped, extent.nonpositive, spans)


def braille_plot(
    x,
    y,
    kind: str = "line",
    width: int = 72,
    height: int = 20,
    x_name: str | None = None,
    y_name: str | Sequence[str] | None = None,
    bins: int | None = None,
    log_x: bool = False,
    log_y: bool = False,
) -> list[str]:
    """Plot in-memory arrays: ``height`` lines of exactly ``width`` characters.

    x None means the position; y may be a list of 1-D arrays to overlay. The
    arrays are reduced block by block, exactly as a file column is.
    """
    overlay = isinstance(y, list | tuple) and len(y) > 0 and np.ndim(y[0]) == 1
    ys = [_as_array(v) for v in (y if overlay else [y])]
    x = None if x is None else _as_array(x)
    rows = len(ys[0])
    if any(len(v) != rows for v in ys) or (x is not None and len(x) != rows):
        raise ValueError("x and every y must have the same length")

    def read() -> Iterator[Chunk]:
        for start in range(0, rows, BLOCK_ROWS):
            block = slice(start, start + BLOCK_ROWS)
            yield (None if x is None else x[block]), [v[block] for v in ys]

    if y_name is None or isinstance(y_name, str):
        base = y_name or "y"
        y_name = [base] if len(ys) == 1 else [f"{base}{i}" for i in range(len(ys))]
    figure = plot_chunks(
        read,
        kind=kind,
        width=width,
        height=height,
        x_name=x_name or ("row" if x is None else "x"),
        y_names=y_name,
        bins=bins,
        rows=rows if x is None else None,
        x_ends=(x[:1], x[-1:]) if x is not None and rows else None,
        log_x=log_x,
        log_y=log_y,
    )
    return figure.lines


def _as_array(values):
    """numpy arrays and pandas Series as they are (a Series keeps its dtype), else an array."""
    pandas = sys.modules.get("pandas")  # without pandas imported, nothing is a Series
    if isinstance(values, np.ndarray) or (pandas and isinstance(values, pandas.Series)):
        return values
    return np.asarray(values)


def _check_size(width: int, height: int) -> None:
    if width < MIN_WIDTH:
        raise InvalidParams(f"plot width must be at least {MIN_WIDTH}, got {width}")
    if height < MIN_HEIGHT:
        raise InvalidParams(f"plot height must be at least {MIN_HEIGHT}, got {height}")


# -- reading ---------------------------------------------------------------------
def _converted(read: ChunkReader, spec: _Spec, first_row: int) -> Iterator[_Points]:
    """Each non-empty chunk in axis units (see as_numbers and on_axis)."""
    y_param = "logx" if spec.kind == "hist" else "logy"
    row = first_row
    for x, ys in read():
        converted = [
            _values(*as_numbers(v, name), name, spec.log_values, y_param)
            for v, name in zip(ys, spec.y_names, strict=True)
        ]
        rows = len(converted[0].values)
        if rows == 0:
            continue
        if x is None:
            numbers = np.arange(row, row + rows, dtype=np.float64)
            x_values = _values(numbers, "integer", spec.x_name, spec.log_rows, "logx")
            yield _Points(x_values, converted, x_sorted=True)
        else:
            x_values = _values(*as_numbers(x, spec.x_name), spec.x_name, spec.log_rows, "logx")
            yield _Points(x_values, converted, x_sorted=False)
        row += rows


def _values(numbers: np.ndarray, kind: str, name: str, log: bool, param: str) -> _Values:
    finite = np.isfinite(numbers)
    finite = None if finite.all() else finite
    if not log:
        return _Values(numbers, kind, finite, finite)
    numbers = on_axis(numbers, kind, True, name, param)
    usable = np.isfinite(numbers)
    return _Values(numbers, kind, finite, None if usable.all() else usable, logged=True)


def _known_x_range(spec: _Spec, first_row: int, rows: int | None, x_ends) -> tuple | None:
    """The x range in axis units if it is known before reading: row numbers, or the
    x column's first and last values (which reading then checks); else None."""
    if x_ends is not None:
        converted = [as_numbers(_as_array(end), spec.x_name) for end in x_ends]
        if any(len(values) != 1 for values, _ in converted):
            return None
        ends, kind = np.array([values[0] for values, _ in converted]), converted[0][1]
    elif rows:
        first = max(first_row, 1) if spec.log_rows else first_row
        ends, kind = np.array([first, first_row + rows - 1], dtype=np.float64), "integer"
    else:
        return None
    ends = on_axis(ends, kind, spec.log_rows, spec.x_name, "logx")
    if not np.isfinite(ends).all():
        return None
    return float(ends.min()), float(ends.max())


def _scan(read: ChunkReader, spec: _Spec, first_row: int, guess: tuple | None):
    """One pass for the ranges and counts; given the x range, also the line reduction.

    Returns the extent and, when the guessed x range held, a reducer per
    series over segments of x (else None).
    """
    extent = _Extent([_Series(name) for name in spec.y_names])
    reducers = None
    if guess is not None:
        gutters = range(min(max(1, spec.width // 3), LIKELY_GUTTER) + 1)
        boundaries = segment_boundaries(*guess, [2 * (spec.width - g - 1) for g in gutters])
        reducers = [LineReducer(Segments(boundaries)) for _ in spec.y_names]
    for points in _converted(read, spec, first_row):
        x_lo, x_hi = _measure(extent, points)
        if reducers is not None and (x_lo < guess[0] or x_hi > guess[1]):
            reducers = None  # a wrong guess: the draw pass reads again
        if reducers is not None:
            for reducer, y in zip(reducers, points.ys, strict=True):
                reducer.add(*points.pairs(y), points.x_sorted)
    if (extent.x_lo, extent.x_hi) != guess:
        reducers = None
    return extent, reducers


def _measure(extent: _Extent, points: _Points) -> tuple[float, float]:
    """Fold a chunk's counts and ranges into the extent; return the chunk's x range."""
    x = points.x
    rows = len(x.values)
    extent.rows += rows
    extent.x_kind = x.kind
    extent.finite_x += _count(x.finite, rows)
    usable_x = _count(x.usable, rows)
    extent.usable_x += usable_x
    x_lo, x_hi = math.inf, -math.inf
    if usable_x and points.x_sorted and x.usable is None:
        x_lo, x_hi = float(x.values[0]), float(x.values[-1])
    elif usable_x:
        values = x.values if x.usable is None else x.values[x.usable]
        x_lo, x_hi = float(values.min()), float(values.max())
    extent.x_lo, extent.x_hi = min(extent.x_lo, x_lo), max(extent.x_hi, x_hi)
    for series, y in zip(extent.series, points.ys, strict=True):
        series.kind = y.kind
        series.rows += rows
        series.finite += _count(y.finite, rows)
        series.usable += _count(y.usable, rows)
        series.nonpositive += points.nonpositive(y)
        _, values = points.pairs(y)
        if len(values):
            series.points += len(values)
            series.lo = min(series.lo, float(values.min()))
            series.hi = max(series.hi, float(values.max()))
    return x_lo, x_hi


def _check_extent(extent: _Extent, spec: _Spec) -> None:
    if extent.rows == 0:
        raise PlotFailed("no rows to plot")
    x_name = spec.x_name
    for series in extent.series:
        if series.finite == 0:
            raise PlotFailed(f"column {series.name!r} has no finite values (all NaN or ±Inf)")
        if series.usable == 0:
            raise PlotFailed(f"column {series.name!r} has no values > 0 to plot on a log axis")
        if extent.finite_x == 0:
            raise PlotFailed(f"column {x_name!r} has no finite values (all NaN or ±Inf)")
        if extent.usable_x == 0:
            raise PlotFailed(f"{x_name!r} has no values > 0 to plot on a log axis")
        if series.points == 0:
            raise PlotFailed(f"no row has values to plot in both {x_name!r} and {series.name!r}")


def _in_columns(reducers: list[LineReducer], x_axis: Axis) -> list[LineReducer] | None:
    merged = [reducer.in_columns(x_axis) for reducer in reducers]
    return None if any(m is None for m in merged) else merged


def _draw_pass(read, spec: _Spec, first_row: int, x_axis: Axis, y_axis: Axis) -> list:
    """A pass with both axes known: a reducer per series."""
    if spec.kind == "line":
        reducers = [LineReducer(PixelColumns(x_axis)) for _ in spec.y_names]
    else:
        reducers = [ScatterReducer(x_axis, y_axis) for _ in spec.y_names]
    for points in _converted(read, spec, first_row):
        for reducer, y in zip(reducers, points.ys, strict=True):
            reducer.add(*points.pairs(y), points.x_sorted)
    return reducers


def _histogram(read: ChunkReader, extent: _Extent, spec: _Spec, first_row: int) -> Figure:
    """Counts of the one column in equal bins, as bars; logx bins the log of the
    values, logy draws the counts on a log axis."""
    if len(extent.series) != 1:
        raise InvalidParams("a histogram takes one column")
    series = extent.series[0]
    width, height = spec.width, spec.height
    # The count labels are not known before the counting, but none is longer
    # than the number of points: reserve that much room for them.
    gutter = min(len(str(series.points)), max(1, width // 3))
    canvas = BrailleCanvas(width - gutter - 1, height - TOP_LINES - BOTTOM_LINES)
    bins = spec.bins or canvas.cols
    if not 1 <= bins <= canvas.width:
        raise InvalidParams(f"bins must be 1..{canvas.width} at width {width}, got {bins}")
    value_kind = "log" if spec.log_x else series.kind
    bin_axis = Axis(series.lo, series.hi, bins, edges=True)  # a single value: the middle bin
    counts = np.zeros(bins, dtype=np.int64)
    for points in _converted(read, spec, first_row):
        _, values = points.pairs(points.ys[0])
        counts += np.bincount(bin_axis.pixel(values), minlength=bins)
    value_axis = Axis(series.lo, series.hi, canvas.width, value_kind, edges=True)
    # Pixel column p shows the bin whose slice of the width holds it.
    heights = counts[np.arange(canvas.width) * bins // canvas.width]
    filled = np.flatnonzero(heights > 0)
    if spec.log_y:
        count_axis = Axis(0.0, math.log10(counts.max()), canvas.height, "log")
        tops = count_axis.pixel(np.log10(heights[filled]))
    else:
        count_axis = Axis(0, float(counts.max()), canvas.height, "integer")
        tops = count_axis.pixel(heights[filled])
    canvas.vertical_spans(filled, canvas.height - 1 - tops, canvas.height - 1)
    y_ticks = y_axis_ticks(count_axis, gutter, BRAILLE)
    lines = compose(
        canvas.render(), BRAILLE, value_axis, count_axis, y_ticks, gutter, series.name, "count"
    )
    spans = _cell_spans([canvas.lit_cells()], TOP_LINES, gutter + 1)
    return Figure(lines, extent.points, extent.dropped, extent.nonpositive, spans)


# -- colour spans ------------------------------------------------------------------
def _cell_spans(owned: list[np.ndarray], first_line: int, first_col: int) -> list[Span]:
    """Runs of cells lit by one series (1, 2, ...) or by several (0), line by line."""
    if not owned:
        return []
    count = np.sum(owned, axis=0)
    owner = np.full(count.shape, -1)
    for number, mask in enumerate(owned, 1):
        owner[mask] = number
    owner[count > 1] = 0
    spans = []
    for row, owners in enumerate(owner):
        edges = np.flatnonzero(owners[1:] != owners[:-1]) + 1
        starts, ends = np.r_[0, edges], np.r_[edges, len(owners)]
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            if owners[start] >= 0:
                spans.append(
                    (int(owners[start]), first_line + row, first_col + start, first_col + end)
                )
    return spans


def _legend_spans(names: list[str], width: int) -> list[Span]:
    """Each series' name on the first line ("a, b, c"), cut where the line is."""
    text = ", ".join(names)
    shown = len(text) if len(text) <= width else width - 1  # an ellipsis ends a cut line
    spans, start = [], 0
    for number, name in enumerate(names, 1):
        end = min(start + len(name), shown)
        if start < end:
            spans.append((number, 0, start, end))
        start += len(name) + 2
    return spans


# -- layout ----------------------------------------------------------------------
@dataclass(frozen=True)
class Grid:
    """How axis pixels fall on text: pixels per character and per line; which way y grows."""

    per_char: int
    per_line: int
    y_down: bool = False

    def lines_of(self, axis: Axis, values: np.ndarray) -> np.ndarray:
        pixels = axis.pixel(values)
        return (pixels if self.y_down else axis.pixels - 1 - pixels) // self.per_line

    def columns_of(self, axis: Axis, values: np.ndarray, gutter: int) -> list[int]:
        return (gutter + 1 + axis.pixel(values) // self.per_char).tolist()


BRAILLE = Grid(per_char=2, per_line=4)


def y_axis_ticks(axis: Axis, longest: int, grid: Grid) -> Ticks:
    """Ticks on distinct text rows (a blank row between when there is room)."""
    gap = 2 if axis.pixels >= 6 * grid.per_line else 1

    def keep(ticks: Ticks) -> Ticks | None:
        rows = grid.lines_of(axis, ticks.values)
        short = max(map(len, ticks.labels)) <= longest
        return ticks if short and np.all(np.abs(np.diff(rows)) >= gap) else None

    return choose_ticks(axis, keep)


def compose(rows, grid, x_axis, y_axis, y_ticks, gutter, x_name, y_name) -> list[str]:
    """Text rows framed by the axis names, the y labels, the x rule and its labels."""
    cols = len(rows[0])
    width = gutter + 1 + cols
    y_lines = grid.lines_of(y_axis, y_ticks.values).tolist()
    labels = dict(zip(y_lines, y_ticks.labels, strict=True))
    lines = [fit(y_name, width)]
    for row, cells in enumerate(rows):
        label = labels.get(row)
        mark = "│" if label is None else "┤"
        lines.append((label or "").rjust(gutter) + mark + cells)
    x_name = fit(x_name, max(1, width // 3)).rstrip()
    room = width - (len(x_name) + 1 if x_name else 0)
    x_ticks = choose_ticks(
        x_axis, lambda ticks: _x_labels_thatfit(grid, x_axis, ticks, gutter, room)
    )
    columns = grid.columns_of(x_axis, x_ticks.values, gutter)
    rule = ["─"] * cols
    for col in columns:
        rule[col - gutter - 1] = "┬"
    lines.append(" " * gutter + "└" + "".join(rule))
    lines.append(_x_label_line(columns, x_ticks.labels, room) + x_name.rjust(width - room))
    return lines


def _x_label_start(col: int, label: str, room: int) -> int | None:
    """Where a label starts: centred on its tick, nudged inside; None if it cannot cover it."""
    start = min(max(col - (len(label) - 1) // 2, 0), room - len(label))
    return start if start >= 0 and start <= col < start + len(label) else None


def _x_labels_thatfit(grid: Grid, axis: Axis, ticks: Ticks, gutter: int, room: int):
    """The ticks whose labels fit in the room; None if two labels would touch."""
    kept, free_from = [], 0
    columns = grid.columns_of(axis, ticks.values, gutter)
    for index, (col, label) in enumerate(zip(columns, ticks.labels, strict=True)):
        start = _x_label_start(col, label, room)
        if start is None:
            continue
        if start < free_from:
            return None
        kept.append(index)
        free_from = start + len(label) + 1
    return Ticks(ticks.values[kept], [ticks.labels[i] for i in kept])


def _x_label_line(columns: list[int], labels: list[str], room: int) -> str:
    line = [" "] * room
    for col, label in zip(columns, labels, strict=True):
        start = _x_label_start(col, label, room)
        line[start : start + len(label)] = label
    return "".join(line)


def fit(text: str, width: int) -> str:
    """text cut (with an ellipsis) or padded to exactly width characters."""
    if len(text) > width:
        return text[: width - 1] + "…"
    return text.ljust(width)
