"""Braille plots: a canvas of 2x4-dot cells, axes with nice ticks, and
reducers that turn any number of rows into what the canvas can show.

Data arrives as chunks of rows. Each chunk is reduced to per sub-pixel column
state (for a line: the min and max of y plus the points at either end; for a
scatter: occupancy; for a histogram: bin counts), so a plot of a whole file
column never holds the column, and the picture is the same as drawing every
point: sort the points by x (stable), map them to sub-pixels, join each
consecutive pair with a Bresenham segment.

Sub-pixel coordinates: ``px`` grows to the right, ``py`` grows downwards
(``py = 0`` is the top row), like the rows of text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

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

    def render(self) -> list[str]:
        """One string of ``cols`` braille characters per row of cells."""
        cells = self.pixels.reshape(self.rows, 4, self.cols, 2).astype(np.uint32)
        codes = BRAILLE_BLANK + np.einsum("rycx,yx->rc", cells, DOT_BITS)
        return [row.astype("<u4").tobytes().decode("utf-32-le") for row in codes]


def _rounded_step(t, delta, n):
    """round(t * delta / n) with halves rounded away from zero, in integers."""
    return np.sign(delta) * ((2 * t * np.abs(delta) + n) // (2 * n))


# -- axes --------------------------------------------------------------------
@dataclass(frozen=True)
class Axis:
    """A data range drawn over ``pixels`` sub-pixels.

    ``kind`` is 'number', 'integer' (ticks at whole values) or 'time'
    (values are nanoseconds since the epoch). With ``edges`` pixel p covers
    the p-th of ``pixels`` equal slices of the range (histogram bins);
    otherwise lo and hi sit on the centres of the first and last pixel.
    """

    lo: float
    hi: float
    pixels: int
    kind: str = "number"
    edges: bool = False

    def pixel(self, values) -> np.ndarray:
        """Pixel index (int32) of each value in [lo, hi]; monotone, so min/max commute with it.

        int32, not int64: numpy converts float64 to int32 with SIMD, to int64
        several times slower, and this runs on every point of a scatter.
        """
        values = np.asarray(values, dtype=np.float64)
        if self.lo == self.hi:
            return np.full(values.shape, (self.pixels - 1) // 2, dtype=np.int32)
        slots = self.pixels if self.edges else self.pixels - 1
        scaled = _scaled_offsets(values, self.lo, self.hi, slots)
        if self.edges:  # hi itself lands on the boundary past the last slice
            return np.minimum(scaled.astype(np.int32), self.pixels - 1)
        scaled += 0.5  # round to the nearest pixel centre
        return scaled.astype(np.int32)


def _scaled_offsets(values: np.ndarray, lo: float, hi: float, slots: int) -> np.ndarray:
    """(values - lo) / (hi - lo) * slots as a new array: exact near lo, safe for any range.

    Every step is a correctly rounded operation by a positive constant, so the
    result is monotone in the values and at most a few ulps past slots.
    """
    lo, hi = float(lo), float(hi)  # Python floats: overflow gives inf without a warning
    span = hi - lo
    if math.isinf(span):  # e.g. -1e308..1e308: work in halves, which cannot overflow
        values, lo, span = values * 0.5, lo * 0.5, hi * 0.5 - lo * 0.5
    out = np.subtract(values, lo)
    factor = slots / span
    if math.isinf(factor):  # a tiny span: divide first
        out /= span
        out *= slots
    else:
        out *= factor
    return out


@dataclass
class Ticks:
    values: np.ndarray
    labels: list[str]


NO_TICKS = Ticks(np.empty(0), [])


def choose_ticks(axis: Axis, keep: Callable[[Ticks], Ticks | None]) -> Ticks:
    """The densest nice ticks ``keep`` accepts, preferring two or more.

    ``keep`` returns the ticks that can be shown (it may leave out some at
    the edges), or None to reject the set.
    """
    single = None
    for ticks in tick_candidates(axis):
        kept = keep(ticks) if len(ticks.values) else None
        if kept is None or len(kept.values) == 0:
            continue
        if len(kept.values) >= 2:
            return kept
        single = single or kept
    return single or NO_TICKS


def tick_candidates(axis: Axis) -> Iterator[Ticks]:
    """Tick sets for the axis, densest first."""
    if axis.lo == axis.hi:
        value = np.array([axis.lo])
        labels = time_labels(value, 1) if axis.kind == "time" else [_short_number(axis.lo)]
        yield Ticks(value, labels)
    elif axis.kind == "time":
        yield from _time_candidates(axis.lo, axis.hi, axis.pixels)
    else:
        yield from _number_candidates(axis.lo, axis.hi, axis.pixels, axis.kind == "integer")


def _number_candidates(lo: float, hi: float, most: int, integer: bool) -> Iterator[Ticks]:
    half_span = hi * 0.5 - lo * 0.5  # cannot overflow
    mantissa, exponent = _nice_at_least(half_span / most * 2)
    if integer and exponent < 0:
        mantissa, exponent = 1, 0
    for _ in range(30):  # from at most `most` ticks to steps far wider than the range
        step = float(f"{mantissa}e{exponent}")
        if math.isinf(step):
            return
        values = _multiples(lo, hi, mantissa, exponent, most)
        if values is not None:
            yield Ticks(values, format_numbers(values, step))
        mantissa, exponent = _next_nice(mantissa, exponent)


def _nice_at_least(value: float) -> tuple[int, int]:
    """The smallest 1, 2 or 5 x 10^k not below value, as (mantissa, k)."""
    if not value > 0:
        return 1, -323
    exponent = math.floor(math.log10(value))
    for mantissa in (1, 2, 5, 10):
        if float(f"{mantissa}e{exponent}") >= value:
            return (1, exponent + 1) if mantissa == 10 else (mantissa, exponent)
    return 1, exponent + 1


def _next_nice(mantissa: int, exponent: int) -> tuple[int, int]:
    return {1: (2, exponent), 2: (5, exponent), 5: (1, exponent + 1)}[mantissa]


def _multiples(lo: float, hi: float, mantissa: int, exponent: int, most: int):
    """The multiples of mantissa x 10^exponent in [lo, hi], or None when too many.

    Each value is parsed from its decimal text, so 3 x 1e-9 is exactly the
    float 3e-9, not 3.0000000000000004e-09.
    """
    step = float(f"{mantissa}e{exponent}")
    first, last = lo / step, hi / step
    if not (math.isfinite(first) and math.isfinite(last)) or last - first > 2 * most:
        return None
    counts = range(math.ceil(first), math.floor(last) + 1)
    values = np.unique([float(f"{k * mantissa}e{exponent}") for k in counts])
    return values[(values >= lo) & (values <= hi)]


def format_numbers(values: np.ndarray, step: float) -> list[str]:
    """Labels for ticks ``step`` apart: as short as possible, all distinct."""
    magnitude = float(np.max(np.abs(values))) if len(values) else 0.0
    step_exponent = math.floor(math.log10(step))
    fixed = magnitude == 0 or (1e-4 <= magnitude < 1e6 and step >= 1e-4)
    if fixed:
        digits = max(0, -step_exponent)
    else:
        digits = max(0, math.floor(math.log10(magnitude)) - step_exponent)
    for precision in range(digits, digits + 18):
        labels = [_number_label(v, precision, fixed) for v in values]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def _number_label(value: float, precision: int, fixed: bool) -> str:
    if value == 0:
        return "0"
    if fixed:
        return f"{value:.{precision}f}"
    mantissa, exponent = f"{value:.{precision}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _short_number(value: float) -> str:
    return f"{value:.6g}" if value != 0 else "0"


# Time steps, finest first: (numpy unit, count, nanoseconds). Months and years
# come from calendar arithmetic; their nanoseconds are only used to skip steps.
NS = {"s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "D": 86400 * 10**9}
TIME_STEPS = (
    [("ns", m * 10**k, m * 10**k) for k in range(9) for m in (1, 2, 5)]
    + [("s", c, c * NS["s"]) for c in (1, 2, 5, 10, 15, 30)]
    + [("m", c, c * NS["m"]) for c in (1, 2, 5, 10, 15, 30)]
    + [("h", c, c * NS["h"]) for c in (1, 2, 3, 6, 12)]
    + [("D", c, c * NS["D"]) for c in (1, 2, 7, 14)]
    + [("M", c, c * 2_629_746 * 10**9) for c in (1, 2, 3, 6)]
    + [("Y", c * 10**k, c * 10**k * 31_556_952 * 10**9) for k in range(4) for c in (1, 2, 5)]
)
MONDAY = 4 * NS["D"]  # 1970-01-01 was a Thursday; weekly ticks fall on Mondays


def _time_candidates(lo: float, hi: float, most: int) -> Iterator[Ticks]:
    lo_ns, hi_ns = math.ceil(lo), math.floor(hi)
    for unit, count, step_ns in TIME_STEPS:
        if (hi_ns - lo_ns) / step_ns > 2 * most:
            continue
        values = _time_multiples(lo_ns, hi_ns, unit, count, step_ns)
        if len(values) == 0 and unit == "Y":
            return
        yield Ticks(values.astype(np.float64), time_labels(values, step_ns))


def _time_multiples(lo_ns: int, hi_ns: int, unit: str, count: int, step_ns: int) -> np.ndarray:
    """Aligned tick times in [lo, hi] as int64 nanoseconds."""
    if unit in ("M", "Y"):
        first = np.datetime64(lo_ns, "ns").astype(f"datetime64[{unit}]").astype(np.int64)
        last = np.datetime64(hi_ns, "ns").astype(f"datetime64[{unit}]").astype(np.int64)
        origin = 1970 if unit == "Y" else 0  # years align on multiples of count AD
        first -= (first + origin) % count
        units = np.arange(first, last + 1, count).astype(f"datetime64[{unit}]")
        values = units.astype("datetime64[ns]").astype(np.int64)
    else:
        origin = MONDAY if count in (7, 14) and unit == "D" else 0
        first = -((origin - lo_ns) // step_ns) * step_ns + origin  # first aligned time >= lo
        values = np.arange(first, hi_ns + 1, step_ns, dtype=np.int64)
    return values[(values >= lo_ns) & (values <= hi_ns)]


def time_labels(values: np.ndarray, step_ns: int) -> list[str]:
    """Dates for ticks ``step_ns`` apart; below a day, the date only where it changes."""
    unit = _label_unit(step_ns)
    texts = np.datetime_as_string(np.asarray(values, dtype=np.int64).astype("datetime64[ns]"), unit)
    if unit in ("Y", "M", "D"):
        return list(texts)
    labels, shown_date = [], None
    for text in texts:
        date, clock = text.split("T")
        labels.append(clock if date == shown_date else f"{date} {clock}")
        shown_date = date
    return labels


# The coarsest date/time precision a tick step needs, coarsest first.
LABEL_UNITS = (("Y", 365 * NS["D"]), ("M", 28 * NS["D"]), ("D", NS["D"]), ("m", NS["m"]))
LABEL_UNITS += (("s", NS["s"]), ("ms", 10**6), ("us", 10**3), ("ns", 0))


def _label_unit(step_ns: int) -> str:
    return next(unit for unit, size in LABEL_UNITS if step_ns >= size)


# -- converting columns --------------------------------------------------------
def as_numbers(values, name: str) -> tuple[np.ndarray, str]:
    """A column as float64 (NaN for missing) and its axis kind.

    Datetimes become nanoseconds since the epoch (wall-clock time for
    timezone-aware ones), timedeltas seconds, booleans 0 and 1.
    """
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        values, dtype = pd.Series(values).dt.tz_localize(None), np.dtype("datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        nanoseconds = np.asarray(values, dtype="datetime64[ns]").view(np.int64)
        return np.where(nanoseconds == NAT, np.nan, nanoseconds.astype(np.float64)), "time"
    if pd.api.types.is_timedelta64_dtype(dtype):
        nanoseconds = np.asarray(values, dtype="timedelta64[ns]").view(np.int64)
        return np.where(nanoseconds == NAT, np.nan, nanoseconds / 1e9), "number"
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    if not numeric:
        raise PlotFailed(f"column {name!r} is not numeric (dtype {dtype}): cannot plot it")
    whole = pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    if isinstance(dtype, np.dtype):
        return np.asarray(values, dtype=np.float64), "integer" if whole else "number"
    return values.to_numpy(dtype=np.float64, na_value=np.nan), "integer" if whole else "number"


# -- reducers ------------------------------------------------------------------
class LineReducer:
    """Per sub-pixel column: the y range and the y at the lowest and highest x.

    That is all a polyline through the points sorted by x shows: inside a
    column it runs between its min and max, and it leaves a column at the
    point with the highest x for the point with the lowest x of the next one.
    """

    def __init__(self, x_axis: Axis, y_axis: Axis):
        width = x_axis.pixels
        self.x_axis, self.y_axis = x_axis, y_axis
        self.y_min, self.y_max = np.full(width, np.inf), np.full(width, -np.inf)
        self.first_x, self.first_y = np.full(width, np.inf), np.zeros(width)
        self.last_x, self.last_y = np.full(width, -np.inf), np.zeros(width)

    def add(self, x: np.ndarray, y: np.ndarray, x_sorted: bool = False) -> None:
        """Fold in finite points; x_sorted says x is known to be non-decreasing."""
        if len(x) == 0:
            return
        if x_sorted or bool(np.all(x[1:] >= x[:-1])):
            self._merge(*_sorted_columns(x, y, self.x_axis))
        else:
            self._merge(*_unsorted_columns(x, y, self.x_axis))

    def _merge(self, cols, y_min, y_max, first_x, first_y, last_x, last_y) -> None:
        self.y_min[cols] = np.minimum(self.y_min[cols], y_min)
        self.y_max[cols] = np.maximum(self.y_max[cols], y_max)
        earlier = first_x < self.first_x[cols]  # on a tie the earlier row stays first
        self.first_x[cols[earlier]] = first_x[earlier]
        self.first_y[cols[earlier]] = first_y[earlier]
        later = last_x >= self.last_x[cols]  # on a tie the later row becomes last
        self.last_x[cols[later]] = last_x[later]
        self.last_y[cols[later]] = last_y[later]

    def draw(self, canvas: BrailleCanvas) -> None:
        cols = np.flatnonzero(self.first_x < np.inf)
        if len(cols) == 0:
            return

        def rows(values):
            return canvas.height - 1 - self.y_axis.pixel(values[cols])

        canvas.vertical_spans(cols, rows(self.y_max), rows(self.y_min))
        canvas.lines(cols[:-1], rows(self.last_y)[:-1], cols[1:], rows(self.first_y)[1:])


def _sorted_columns(x, y, x_axis: Axis):
    """Column reduction of points with non-decreasing x: contiguous runs per column."""
    starts = _column_starts(x, x_axis)
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


def _unsorted_columns(x, y, x_axis: Axis):
    """Column reduction of points in any order."""
    width = x_axis.pixels
    px = x_axis.pixel(x).astype(np.intp)  # ufunc.at is fastest with intp indices
    y_min, y_max = np.full(width, np.inf), np.full(width, -np.inf)
    np.minimum.at(y_min, px, y)
    np.maximum.at(y_max, px, y)
    first_x, last_x = np.full(width, np.inf), np.full(width, -np.inf)
    np.minimum.at(first_x, px, x)
    np.maximum.at(last_x, px, x)
    cols = np.flatnonzero(first_x < np.inf)
    first_y, last_y = np.zeros(width), np.zeros(width)
    # Among the points at a column's lowest x the earliest row is first;
    # among those at its highest x the latest row is last.
    at_first = np.flatnonzero(x == first_x[px])
    hit, index = np.unique(px[at_first], return_index=True)
    first_y[hit] = y[at_first[index]]
    at_last = np.flatnonzero(x == last_x[px])[::-1]
    hit, index = np.unique(px[at_last], return_index=True)
    last_y[hit] = y[at_last[index]]
    return (
        cols,
        y_min[cols],
        y_max[cols],
        first_x[cols],
        first_y[cols],
        last_x[cols],
        last_y[cols],
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

    def draw(self, canvas: BrailleCanvas) -> None:
        grid = self.occupied.reshape(self.y_axis.pixels, self.x_axis.pixels)
        canvas.pixels |= grid[::-1]


REDUCERS = {"line": LineReducer, "scatter": ScatterReducer}


# -- plots ---------------------------------------------------------------------
@dataclass
class Figure:
    lines: list[str]
    points: int
    dropped: int


Chunk = tuple[object, Sequence[object]]  # (x values or None for row numbers, [y values, ...])
ChunkReader = Callable[[], Iterable[Chunk]]


@dataclass
class _Series:
    name: str
    rows: int = 0
    finite_x: int = 0
    finite_y: int = 0
    points: int = 0
    lo: float = math.inf
    hi: float = -math.inf
    kind: str = "number"


@dataclass
class _Extent:
    """What the first pass learns: ranges and counts over the finite pairs, axis kinds."""

    series: list[_Series]
    rows: int = 0
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


@dataclass
class _Points:
    """One converted chunk: x (row numbers when the plot has no x column) and each y."""

    x: np.ndarray
    x_kind: str
    x_finite: np.ndarray | None  # None: every x is finite
    ys: list[tuple[np.ndarray, str]]
    x_sorted: bool

    def pairs(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pairs where both values are finite (no copy when all are)."""
        keep = np.isfinite(y)
        if self.x_finite is not None:
            keep &= self.x_finite
        if keep.all():
            return self.x, y
        return self.x[keep], y[keep]


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
    reject_constant: bool = False,
) -> Figure:
    """Plot chunks of rows; ``read()`` yields (x, [y, ...]) chunks and is called twice.

    The first pass finds the ranges, the second draws. x None means the row
    number, counted from ``first_row``. Pairs with a NaN or an infinite value
    are dropped and counted. With ``reject_constant`` a column holding one
    value is an error instead of a flat line. Returns ``height`` lines of
    exactly ``width`` characters.
    """
    _check_size(width, height)
    if kind not in KINDS:
        raise InvalidParams(f"plot type must be one of {', '.join(KINDS)}, not {kind!r}")
    extent = _scan(read, x_name, y_names, first_row)
    _check_extent(extent, x_name, reject_constant)
    if kind == "hist":
        return _histogram(read, extent, width, height, bins, first_row)
    canvas_rows = height - TOP_LINES - BOTTOM_LINES
    y_axis = Axis(extent.y_lo, extent.y_hi, 4 * canvas_rows, extent.y_kind)
    y_ticks = _y_ticks(y_axis, max(1, width // 3))
    gutter = max(map(len, y_ticks.labels), default=0)
    canvas = BrailleCanvas(width - gutter - 1, canvas_rows)
    x_axis = Axis(extent.x_lo, extent.x_hi, canvas.width, extent.x_kind)
    reducers = [REDUCERS[kind](x_axis, y_axis) for _ in y_names]
    for points in _converted(read, x_name, y_names, first_row):
        for reducer, (y, _) in zip(reducers, points.ys, strict=True):
            reducer.add(*points.pairs(y), points.x_sorted)
    for reducer in reducers:
        reducer.draw(canvas)
    lines = _compose(canvas, x_axis, y_axis, y_ticks, gutter, x_name, ", ".join(y_names))
    return Figure(lines, extent.points, extent.dropped)


def braille_plot(
    x,
    y,
    kind: str = "line",
    width: int = 72,
    height: int = 20,
    x_name: str | None = None,
    y_name: str | Sequence[str] | None = None,
    bins: int | None = None,
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
    x_label = x_name or ("row" if x is None else "x")
    figure = plot_chunks(
        read, kind=kind, width=width, height=height, x_name=x_label, y_names=y_name, bins=bins
    )
    return figure.lines


def _as_array(values):
    return values if isinstance(values, pd.Series | np.ndarray) else np.asarray(values)


def _check_size(width: int, height: int) -> None:
    if width < MIN_WIDTH:
        raise InvalidParams(f"plot width must be at least {MIN_WIDTH}, got {width}")
    if height < MIN_HEIGHT:
        raise InvalidParams(f"plot height must be at least {MIN_HEIGHT}, got {height}")


def _converted(read: ChunkReader, x_name: str, y_names: Sequence[str], first_row: int):
    """Each non-empty chunk as float64 numbers (see as_numbers)."""
    row = first_row
    for x, ys in read():
        converted = [as_numbers(v, name) for v, name in zip(ys, y_names, strict=True)]
        rows = len(converted[0][0])
        if rows == 0:
            continue
        if x is None:
            x_values, x_kind = np.arange(row, row + rows, dtype=np.float64), "integer"
            yield _Points(x_values, x_kind, None, converted, x_sorted=True)
        else:
            x_values, x_kind = as_numbers(x, x_name)
            finite = np.isfinite(x_values)
            yield _Points(x_values, x_kind, None if finite.all() else finite, converted, False)
        row += rows


def _scan(read: ChunkReader, x_name: str, y_names: Sequence[str], first_row: int) -> _Extent:
    """First pass: ranges and counts over the finite pairs, axis kinds."""
    extent = _Extent([_Series(name) for name in y_names])
    for points in _converted(read, x_name, y_names, first_row):
        rows = len(points.x)
        extent.rows += rows
        extent.x_kind = points.x_kind
        finite_x = rows if points.x_finite is None else int(np.count_nonzero(points.x_finite))
        for series, (y, y_kind) in zip(extent.series, points.ys, strict=True):
            series.kind = y_kind
            series.rows += rows
            series.finite_x += finite_x
            series.finite_y += int(np.count_nonzero(np.isfinite(y)))
            x, y = points.pairs(y)
            if len(x):
                series.points += len(x)
                series.lo = min(series.lo, float(y.min()))
                series.hi = max(series.hi, float(y.max()))
                extent.x_lo = min(extent.x_lo, float(x.min()))
                extent.x_hi = max(extent.x_hi, float(x.max()))
    return extent


def _check_extent(extent: _Extent, x_name: str, reject_constant: bool) -> None:
    if extent.rows == 0:
        raise PlotFailed("no rows to plot")
    for series in extent.series:
        if series.finite_y == 0:
            raise PlotFailed(f"column {series.name!r} has no finite values (all NaN or ±Inf)")
        if series.finite_x == 0:
            raise PlotFailed(f"column {x_name!r} has no finite values (all NaN or ±Inf)")
        if series.points == 0:
            raise PlotFailed(f"no row has finite values in both {x_name!r} and {series.name!r}")
    if not reject_constant:
        return
    if extent.y_lo == extent.y_hi:
        names = ", ".join(repr(s.name) for s in extent.series)
        value = _short_number(extent.y_lo)
        raise PlotFailed(f"column {names} is constant (every value is {value}): nothing to plot")
    if extent.x_lo == extent.x_hi:
        raise PlotFailed(
            f"column {x_name!r} is constant (every value is {_short_number(extent.x_lo)})"
            ": nothing to plot"
        )


def _histogram(
    read: ChunkReader, extent: _Extent, width: int, height: int, bins: int | None, first_row: int
) -> Figure:
    """Counts of the one column in equal bins, as bars."""
    if len(extent.series) != 1:
        raise InvalidParams("a histogram takes one column")
    series = extent.series[0]
    # The count labels are not known before the counting, but none is longer
    # than the number of points: reserve that much room for them.
    gutter = min(len(str(series.points)), max(1, width // 3))
    canvas = BrailleCanvas(width - gutter - 1, height - TOP_LINES - BOTTOM_LINES)
    bins = bins or canvas.cols
    if not 1 <= bins <= canvas.width:
        raise InvalidParams(f"bins must be 1..{canvas.width} at width {width}, got {bins}")
    bin_axis = Axis(series.lo, series.hi, bins, edges=True)  # a single value: the middle bin
    counts = np.zeros(bins, dtype=np.int64)
    for points in _converted(read, "row", [series.name], first_row):
        values = points.ys[0][0]
        counts += np.bincount(bin_axis.pixel(values[np.isfinite(values)]), minlength=bins)
    value_axis = Axis(series.lo, series.hi, canvas.width, series.kind, edges=True)
    count_axis = Axis(0, float(counts.max()), canvas.height, "integer")
    # Pixel column p shows the bin whose slice of the width holds it.
    bin_of_pixel = np.arange(canvas.width) * bins // canvas.width
    heights = counts[bin_of_pixel]
    filled = np.flatnonzero(heights > 0)
    tops = canvas.height - 1 - count_axis.pixel(heights[filled])
    canvas.vertical_spans(filled, tops, canvas.height - 1)
    y_ticks = _y_ticks(count_axis, gutter)
    lines = _compose(canvas, value_axis, count_axis, y_ticks, gutter, series.name, "count")
    return Figure(lines, extent.points, extent.dropped)


# -- layout ----------------------------------------------------------------------
def _y_ticks(axis: Axis, longest: int) -> Ticks:
    """Ticks on distinct text rows (a blank row between when there is room)."""
    gap = 2 if axis.pixels >= 24 else 1

    def keep(ticks: Ticks) -> Ticks | None:
        rows = _text_rows(axis, ticks.values)
        short = max(map(len, ticks.labels)) <= longest
        return ticks if short and np.all(np.abs(np.diff(rows)) >= gap) else None

    return choose_ticks(axis, keep)


def _text_rows(axis: Axis, values: np.ndarray) -> np.ndarray:
    return (axis.pixels - 1 - axis.pixel(values)) // 4


def _compose(canvas, x_axis, y_axis, y_ticks, gutter, x_name, y_name) -> list[str]:
    """The canvas framed by the axis names, the y labels, the x rule and its labels."""
    width = gutter + 1 + canvas.cols
    labels = dict(zip(_text_rows(y_axis, y_ticks.values).tolist(), y_ticks.labels, strict=True))
    lines = [_fit(y_name, width)]
    for row, cells in enumerate(canvas.render()):
        label = labels.get(row)
        mark = "│" if label is None else "┤"
        lines.append((label or "").rjust(gutter) + mark + cells)
    x_name = _fit(x_name, max(1, width // 3)).rstrip()
    room = width - (len(x_name) + 1 if x_name else 0)
    x_ticks = choose_ticks(x_axis, lambda ticks: _x_labels_that_fit(x_axis, ticks, gutter, room))
    columns = _x_columns(x_axis, x_ticks, gutter)
    rule = ["─"] * canvas.cols
    for col in columns:
        rule[col - gutter - 1] = "┬"
    lines.append(" " * gutter + "└" + "".join(rule))
    lines.append(_x_label_line(columns, x_ticks.labels, room) + x_name.rjust(width - room))
    return lines


def _x_columns(axis: Axis, ticks: Ticks, gutter: int) -> list[int]:
    return (gutter + 1 + axis.pixel(ticks.values) // 2).tolist()


def _x_label_start(col: int, label: str, room: int) -> int | None:
    """Where a label starts: centred on its tick, nudged inside; None if it cannot cover it."""
    start = min(max(col - (len(label) - 1) // 2, 0), room - len(label))
    return start if start >= 0 and start <= col < start + len(label) else None


def _x_labels_that_fit(axis: Axis, ticks: Ticks, gutter: int, room: int) -> Ticks | None:
    """The ticks whose labels fit in the room; None if two labels would touch."""
    kept, free_from = [], 0
    columns = _x_columns(axis, ticks, gutter)
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


def _fit(text: str, width: int) -> str:
    """text cut (with an ellipsis) or padded to exactly width characters."""
    if len(text) > width:
        return text[: width - 1] + "…"
    return text.ljust(width)
