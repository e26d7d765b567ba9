"""Plot axes: mapping values to pixels, and nice ticks with their labels.

An axis maps a data range onto ``pixels`` pixels. Ticks are chosen from
candidate sets, densest first: multiples of 1, 2 or 5 x 10^k for numbers,
calendar steps (seconds to years) for dates, powers of ten for log axes.
Labels are as short as they can be while staying distinct.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Axis:
    """A data range drawn over ``pixels`` pixels.

    ``kind`` is 'number', 'integer' (ticks at whole values), 'time' (values
    are nanoseconds since the epoch) or 'log' (values are log10 of the data).
    With ``edges`` pixel p covers the p-th of ``pixels`` equal slices of the
    range (histogram bins); otherwise lo and hi sit on the centres of the
    first and last pixel. ``last``, if given, is the last value a tick may
    take (the last row of a matrix whose edges axis ends one row later).
    """

    lo: float
    hi: float
    pixels: int
    kind: str = "number"
    edges: bool = False
    last: float | None = None

    def pixel(self, values) -> np.ndarray:
        """Pixel index (int32) of each value in [lo, hi]; monotone, so min/max commute with it."""
        return pixel_index(values, self.lo, self.hi, self.pixels, self.edges)


def pixel_index(values, lo: float, hi: float, pixels, edges: bool = False) -> np.ndarray:
    """Axis.pixel for one range and one or many pixel counts (an array broadcast with values).

    int32, not int64: numpy converts float64 to int32 with SIMD, to int64
    several times slower, and this runs on every point of a scatter.
    """
    values = np.asarray(values, dtype=np.float64)
    pixels = int(pixels) if np.ndim(pixels) == 0 else np.asarray(pixels)  # a scalar stays fast
    if lo == hi:
        return np.broadcast_to((pixels - 1) // 2, values.shape).astype(np.int32)
    scaled = _scaled_offsets(values, lo, hi, pixels if edges else pixels - 1)
    if edges:  # hi itself lands on the boundary past the last slice
        return np.minimum(scaled.astype(np.int32), pixels - 1).astype(np.int32, copy=False)
    scaled += 0.5  # round to the nearest pixel centre
    return scaled.astype(np.int32)


def _scaled_offsets(values: np.ndarray, lo: float, hi: float, slots) -> np.ndarray:
    """(values - lo) / (hi - lo) * slots as a new array: exact near lo, safe for any range.

    Every step is a correctly rounded operation by a positive constant, so the
    result is monotone in the values and at most a few ulps past slots. slots
    may be an array: each element then gets exactly the operations it would
    get alone.
    """
    lo, hi = float(lo), float(hi)  # Python floats: overflow gives inf without a warning
    span = hi - lo
    if math.isinf(span):  # e.g. -1e308..1e308: work in halves, which cannot overflow
        values, lo, span = values * 0.5, lo * 0.5, hi * 0.5 - lo * 0.5
    out = np.subtract(values, lo)
    with np.errstate(over="ignore"):
        factor = np.divide(slots, span)
    tiny = np.isinf(factor)  # a tiny span: divide first
    if not tiny.any():
        out *= factor
    elif tiny.all():
        out /= span
        out *= slots
    else:
        out = np.where(tiny, out / span * slots, out * np.where(tiny, 0.0, factor))
    return out


# -- ticks -----------------------------------------------------------------------
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
    """Tick sets for the axis, densest first (log axes: powers of ten first)."""
    lo, hi = axis.lo, axis.hi if axis.last is None else axis.last
    if lo == hi:
        value = np.array([lo])
        if axis.kind == "time":
            labels = time_labels(value, 1)
        else:
            labels = [short_number(10**lo if axis.kind == "log" else lo)]
        yield Ticks(value, labels)
    elif axis.kind == "time":
        yield from _time_candidates(lo, hi, axis.pixels)
    elif axis.kind == "log":
        yield from _log_candidates(lo, hi, axis.pixels)
    else:
        yield from _number_candidates(lo, hi, axis.pixels, axis.kind == "integer")


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


def short_number(value: float) -> str:
    return f"{value:.6g}" if value != 0 else "0"


# -- log axes ------------------------------------------------------------------------
def log10(values: np.ndarray) -> np.ndarray:
    """log10 of positive values; NaN for the others (no warnings)."""
    out = np.full(values.shape, np.nan)
    np.log10(values, out=out, where=values > 0)
    return out


def _log_candidates(lo: float, hi: float, most: int) -> Iterator[Ticks]:
    """Powers of ten every 1, 2, 5, 10, ... decades; in a range too narrow for two
    of them, 1-2-5 multiples of powers of ten, then plain nice values."""
    first, last = math.ceil(lo), math.floor(hi)
    decades = 1
    while last >= first and (last - first) / decades > 2 * most:
        decades = _next_decades(decades)
    while decades <= max(1, last - first):
        powers = [k for k in range(first, last + 1) if k % decades == 0]
        yield Ticks(np.array(powers, dtype=np.float64), [_decade_label(1, k) for k in powers])
        decades = _next_decades(decades)
    if last - first >= 1:
        return
    steps = [(m, k) for k in range(math.floor(lo), math.ceil(hi) + 1) for m in (1, 2, 5)]
    positions = [(k + math.log10(m), m, k) for m, k in steps]
    inside = [(p, m, k) for p, m, k in positions if lo <= p <= hi]
    if inside:
        yield Ticks(
            np.array([p for p, _, _ in inside]), [_decade_label(m, k) for _, m, k in inside]
        )
    for ticks in _number_candidates(10.0**lo, 10.0**hi, most, integer=False):
        values = ticks.values[ticks.values > 0]
        places = np.log10(values)
        keep = (places >= lo) & (places <= hi)
        yield Ticks(places[keep], [label for label, k in zip(ticks.labels, keep, strict=True) if k])


def _next_decades(decades: int) -> int:
    mantissa = int(str(decades)[0])
    return decades * 5 // 2 if mantissa == 2 else decades * 2


def _decade_label(mantissa: int, exponent: int) -> str:
    """m x 10^k written out for ordinary sizes (0.002, 50, 1000), else as 2e-7, 1e12."""
    if -4 <= exponent <= 5:
        return f"{float(f'{mantissa}e{exponent}'):.{max(0, -exponent)}f}"
    return f"{mantissa}e{exponent}"


# -- time axes -----------------------------------------------------------------------
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
