"""Find rows in a whole table, a chunk at a time, as the page shows them.

``find`` looks for the next row after (or before) a row, wrapping around the
end, by cell text or by a query; ``count`` counts the rows a query keeps. Both
run in a worker process and read only the columns they need.

Text matches what the page shows: a float is shown as ``format(x, "g")``, so
``3.14`` finds 3.14159 (shown ``3.14159``); an integer as its digits; a
string as it is; a missing value as ``NaN`` (``nan`` for a float). Formatting
millions of numbers to test each one would be slow, so numbers are first
narrowed down arithmetically, for a whole chunk at once: a needle with a point
(``42.5``) only in numbers whose shown value lies in a few ranges, any other
only in numbers whose shown digits contain the needle's digits. Only those
candidates are formatted and checked.

The scan reads as little as it can: the first chunk after ``from_row`` in
small parts (a match nearby comes back at once), and past the first part only
the searched columns' fields, as numpy arrays (``ChunkReader``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from vime.errors import InvalidParams
from vime.loaders.base import numpy_dtype

if TYPE_CHECKING:  # a text search of numbers needs no pandas: it is imported when needed
    import pandas as pd

CHUNK_ROWS = 500_000  # the largest read; benchmarks/heavy.py reads its floor in these
FIRST_CHUNK_ROWS = CHUNK_ROWS // 64  # the first read: a match near from_row comes back at once
SIGNIFICANT = 6  # digits of format(x, "g")
# 10 ** k for k = SIGNIFICANT - 1 - exponent, exponent in -4..SIGNIFICANT - 1 (fixed notation)
SCALES = 10.0 ** np.arange(SIGNIFICANT + 4)


# -- the scan ---------------------------------------------------------------------------
def spans(rows: int, from_row: int, forward: bool, wrap: bool) -> list[tuple[int, int, bool]]:
    """Row ranges [a, b) in scan order, each flagged when it is past the wrap."""
    if forward:
        first, second = (from_row + 1, rows), (0, min(from_row + 1, rows))
    else:
        first, second = (0, max(0, min(from_row, rows))), (max(0, min(from_row, rows)), rows)
    ranges = [(*first, False)] + ([(*second, True)] if wrap else [])
    return [r for r in ranges if r[0] < r[1]]


def chunk_ranges(
    start: int, stop: int, forward: bool, size: int = CHUNK_ROWS, first_size: int = FIRST_CHUNK_ROWS
) -> Iterator[tuple[int, int]]:
    """[a, b) covering [start, stop) in scan order (backward: from stop down).

    The first ``size`` rows are read in parts that double from ``first_size``, so that
    a match near from_row comes back at once; then ``size`` rows at a time, on the
    same boundaries as without the parts.
    """
    done, length = 0, stop - start
    while done < length:
        # each part as long as all before it, up to the next multiple of size
        end = min(length, max(first_size, 2 * done), (done // size + 1) * size)
        if forward:
            yield start + done, start + end
        else:
            yield stop - end, stop - done
        done = end


def find(table, matcher, from_row: int, forward: bool, wrap: bool, progress) -> dict:
    """The first matching row in scan order: {row, column, wrapped}, row None if none."""
    reader = ChunkReader(table, matcher.columns, matcher.with_index)
    scanned = 0
    for start, stop, wrapped in spans(table.rows, from_row, forward, wrap):
        for first, last in chunk_ranges(start, stop, forward):
            hit = matcher.first(reader, first, last, forward)
            if hit is not None:
                offset, column = hit
                return {"row": first + offset, "column": column, "wrapped": wrapped}
            scanned += last - first
            progress(scanned, table.rows, "rows", "searching")
    return {"row": None, "column": None, "wrapped": False}


def count(table, query: str, progress) -> int:
    matcher = QueryMatcher(query, table)
    reader = ChunkReader(table, matcher.columns, matcher.with_index)
    found = scanned = 0
    for first, last in chunk_ranges(0, table.rows, True, first_size=CHUNK_ROWS):
        found += int(matcher.mask(reader.frame(first, last)).sum())
        scanned += last - first
        progress(scanned, table.rows, "rows", "counting")
    return found


# -- reading only what is searched ------------------------------------------------------------
class ChunkReader:
    """The searched columns (and index levels) of a chunk of rows, as the page shows them.

    The first chunk is read as a page (a DataFrame); it tells which of them the page
    shows as plain numpy values (numbers, booleans, naive times). Those are read from
    then on with ``Table.arrays``: only their fields, no DataFrame, no index unless it
    is searched. The others (strings, categories, times with a zone, nullable numbers)
    keep coming from pages.
    """

    def __init__(self, table, columns: list[str], with_index: bool):
        self.table = table
        self.columns = columns
        self.paged = table.data_columns(columns)  # what a page is asked for
        self.with_index = with_index
        # What is searched, in order: (label, level number or None, column name or None)
        self.parts: list[tuple[str, int | None, str | None]] | None = None
        self.keys: dict[int, str] = {}  # part number -> the name Table.arrays reads it by

    def cells(self, first: int, last: int) -> list[tuple[str, np.ndarray]]:
        """(label, values) of each searched index level, then of each column."""
        if self.parts is None and self._learn_from_dtypes():
            got = self._arrays(first, last)
            if all(plain(values.dtype) for values in got.values()):
                return [(part[0], got[n]) for n, part in enumerate(self.parts)]
            self.parts, self.keys = None, {}  # the listing misjudged a column: ask a page
        if self.parts is None:
            frame = self.table.page(first, last, columns=self.paged)
            self._learn(frame)
            values = self._from_frame(frame, range(len(self.parts)))
            return [(part[0], v) for part, v in zip(self.parts, values, strict=True)]
        got = self._arrays(first, last)
        paged = [n for n in range(len(self.parts)) if n not in self.keys]
        if paged:
            names = [self.parts[n][2] for n in paged if self.parts[n][2] is not None]
            frame = self.table.page(first, last, columns=names)
            got.update(zip(paged, self._from_frame(frame, paged), strict=True))
        return [(part[0], got[n]) for n, part in enumerate(self.parts)]

    def frame(self, first: int, last: int) -> pd.DataFrame:
        """The columns as a DataFrame, for a query: built from their arrays when each
        can be read so and no index level is wanted, else a page."""
        import pandas as pd

        if self.parts is not None and not self.with_index and len(self.keys) == len(self.parts):
            arrays = self._arrays(first, last)
            return pd.DataFrame({self.parts[n][0]: arrays[n] for n in arrays}, copy=False)
        frame = self.table.page(first, last, columns=self.paged)
        if self.parts is None:
            self._learn(frame)
        return frame

    def _arrays(self, first: int, last: int) -> dict[int, np.ndarray]:
        if not self.keys:
            return {}
        got = next(self.table.arrays(list(self.keys.values()), first, last, last - first))
        return {n: got[key] for n, key in self.keys.items()}

    def _learn_from_dtypes(self) -> bool:
        """Learn the parts from the listed dtypes, without a page (and without pandas),
        when only columns are searched and each is plain; False when a page must tell."""
        if self.with_index or any(self.table.index_level(n) is not None for n in self.columns):
            return False
        dtypes = [self.table.dtypes[self.table.columns.index(n)] for n in self.columns]
        if not all(plain(numpy_dtype(d)) for d in dtypes):
            return False
        self.parts = [(name, None, name) for name in self.columns]
        self.keys = dict(enumerate(self.columns))
        return True

    def _learn(self, frame: pd.DataFrame) -> None:
        index = frame.index
        levels = range(index.nlevels) if self.with_index else range(0)
        self.parts = [(level_label(index.names[i]), i, None) for i in levels]
        for name in self.columns:  # an index level may be given by name, as a column
            level = self.table.index_level(name)
            self.parts.append((name, level, None) if level is not None else (name, None, name))
        for n, (_, level, name) in enumerate(self.parts):
            if level is not None:
                key = self._level_key(level)
                if key is not None and plain(index.get_level_values(level).dtype):
                    self.keys[n] = key
            elif plain(frame[name].dtype):
                self.keys[n] = name

    def _level_key(self, level: int) -> str | None:
        """The name Table.arrays knows index level ``level`` by, if any."""
        names = [*self.table.index_names[level : level + 1], *(["index"] if level == 0 else [])]
        return next((n for n in names if self.table.index_level(n) == level), None)

    def _from_frame(self, frame: pd.DataFrame, parts) -> list[np.ndarray]:
        """The values of those parts in a page."""
        out = []
        for n in parts:
            _, level, name = self.parts[n]
            values = frame.index.get_level_values(level) if level is not None else frame[name]
            out.append(np.asarray(values))
        return out


def level_label(name) -> str:
    """How a hit in an index level names its column: the level's name, or 'index'."""
    return "index" if name is None else str(name)


def plain(dtype) -> bool:
    """Whether a page shows these values as Table.arrays gives them (plain numpy)."""
    return isinstance(dtype, np.dtype) and dtype.kind in "biufmM"


# -- matching by query --------------------------------------------------------------------
class QueryMatcher:
    def __init__(self, query: str, table):
        # "index" among the names, so that a query that uses it is known to
        from vime import expressions

        known = [*table.columns, *table.index_names, "index"]
        used = expressions.check(query, known, "query")
        self.query = query
        self.columns = [c for c in table.columns if c in used]
        self.column = self.columns[0] if self.columns else None
        # a query that names the index (or no column) is evaluated on pages
        self.with_index = bool(used - set(self.columns)) or not self.columns

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        from vime import expressions

        return expressions.query_mask(frame, self.query, index=self.with_index)

    def first(self, reader: ChunkReader, first: int, last: int, forward: bool):
        hits = np.flatnonzero(self.mask(reader.frame(first, last)))
        if hits.size == 0:
            return None
        return int(hits[0] if forward else hits[-1]), self.column


# -- matching by text -----------------------------------------------------------------------
# A needle such as 42.5 or -0.25: digits around one point, perhaps after a minus sign.
DECIMAL = re.compile(r"(-?)(\d*)\.(\d*)")


class TextMatcher:
    """Cell text: a substring or a regex, smart case by default, in the shown columns."""

    def __init__(self, text: str, columns: list[str], regex: bool, case: str,
                 with_index: bool = True):  # fmt: skip
        if not text:
            raise InvalidParams("search: 'text' must not be empty")
        ignore_case = case == "ignore" or (case == "smart" and text == text.lower())
        flags = re.IGNORECASE if ignore_case else 0
        try:
            self.pattern = re.compile(text if regex else re.escape(text), flags)
        except re.error as exc:
            raise InvalidParams(f"search: not a regex: {text!r} ({exc})") from None
        self.text = text
        self.regex = regex
        self.ignore_case = ignore_case
        self.columns = columns
        self.with_index = with_index
        self.digits = "" if regex else re.sub(r"\D", "", text)
        self.decimal = None if regex else DECIMAL.fullmatch(text)

    def first(self, reader: ChunkReader, first: int, last: int, forward: bool):
        """(row offset, column) of the first match in scan order, or None."""
        best = None
        for label, values in reader.cells(first, last):
            row = self.first_in(values, forward)
            if row is not None and (best is None or (row < best[0] if forward else row > best[0])):
                best = (row, label)
        return best

    def first_in(self, values: np.ndarray, forward: bool) -> int | None:
        numeric = values.dtype.kind in "iuf"
        order = slice(None) if forward else slice(None, None, -1)
        for position in self.candidates(values)[order]:
            if not numeric or self.pattern.search(number_text(values[position])):
                return int(position)
        return None

    def candidates(self, values: np.ndarray) -> np.ndarray:
        """Positions that may match, in row order; every match is among them (and,
        for other than numbers, only matches)."""
        kind = values.dtype.kind
        if kind not in "iuf":
            return np.flatnonzero(cell_texts(values).str.contains(self.pattern, regex=True))
        if self.decimal is not None:  # an integer shows no point
            if kind != "f":
                return np.empty(0, dtype=np.intp)
            sign, whole, fraction = self.decimal.groups()
            return np.flatnonzero(float_may_show_decimal(values, sign, whole, fraction))
        if not self.digits:
            return np.arange(len(values))
        if kind == "f":
            return np.flatnonzero(float_may_show(values, self.digits))
        return np.flatnonzero(int_may_show(values, self.digits))


def number_text(value) -> str:
    """A number as the page shows it: tabulate formats floats with 'g'."""
    if isinstance(value, (float, np.floating)):
        return format(float(value), "g")
    return str(int(value))


def cell_texts(values: np.ndarray) -> pd.Series:
    """Other cells as the page shows them: strings as they are, missing as NaN."""
    import pandas as pd

    series = pd.Series(values)
    texts = series.map(_object_text) if values.dtype.kind == "O" else series.astype(str)
    return texts.where(series.notna(), "NaN")


def _object_text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else str(value)


def int_may_show(values: np.ndarray, digits: str) -> np.ndarray:
    """Integers whose decimal digits may contain ``digits``."""
    return _contains_digits(np.abs(values.astype(np.int64)).astype(np.uint64), digits, 20)


def float_may_show(values: np.ndarray, digits: str) -> np.ndarray:
    """Floats whose format(x, "g") may contain ``digits`` (never a false no).

    In fixed notation (1e-4 <= |x| < 1e6) the shown digits are the six
    significant ones, trailing fraction zeros dropped, after implied leading
    zeros; the others (exponents, nan, inf, zero) are always candidates. Digits
    without a zero can only match among the significant ones, zeros or not.
    """
    magnitude = np.abs(values.astype(np.float64))
    with np.errstate(all="ignore"):
        exponent = np.floor(np.log10(magnitude))
        fixed = np.isfinite(exponent) & (exponent >= -4) & (exponent < SIGNIFICANT)
        exponent = np.where(fixed, exponent, 0).astype(np.int32)
        mantissa = np.rint(magnitude * SCALES[SIGNIFICANT - 1 - exponent])
    # Rounding may carry to seven digits (999999.5 -> 1000000): still the right digits,
    # and still 32-bit numbers (their division is several times faster than 64-bit).
    mantissa = np.where(fixed, mantissa, 0).astype(np.uint32)
    if "0" in digits:  # zeros: those shown (leading) and those not (trailing) matter
        mantissa = _strip_fraction_zeros(mantissa, exponent)
    return ~fixed | (magnitude == 0) | _contains_digits(mantissa, digits, SIGNIFICANT + 1)


def _strip_fraction_zeros(mantissa: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """The shown digits: trailing zeros of the fraction dropped, so that fewer digits
    leave more implied leading zeros (0.00425: 425000 becomes 425, read 0000425)."""
    fraction = np.clip(SIGNIFICANT - 1 - exponent, 0, None)
    ten = np.uint32(10)
    for _ in range(SIGNIFICANT):
        strip = (fraction > 0) & (mantissa % ten == 0) & (mantissa > 0)
        mantissa = np.where(strip, mantissa // ten, mantissa)
        fraction = fraction - strip
    return mantissa


# How far format(x, "g") may round |x|: half a unit of the sixth digit is at most 5e-6 |x|;
# twice that covers the float error of the arithmetic below.
ROUNDING = 1e-5
FIXED_LOW, FIXED_HIGH = 1e-4, 1e6  # format(x, "g") shows |x| in [1e-4, 1e6) without exponent


def float_may_show_decimal(values: np.ndarray, sign: str, whole: str, fraction: str) -> np.ndarray:
    """Floats whose format(x, "g") may contain ``sign + whole + "." + fraction`` (never a
    false no, and few false yeses).

    The shown text has one point at most, between the integer part and the fraction
    (of the mantissa, in scientific notation). It contains the needle when the shown
    value lies in [whole.fraction, whole.fraction + 10 ** -len(fraction)), plus any
    multiple of 10 ** len(whole) (more digits before ``whole``), or exactly there after
    a minus sign. The shown value is |x| rounded to six digits, within ROUNDING |x|.
    """
    found = np.zeros(len(values), dtype=bool)
    if sign and not whole:  # "-.5": the page shows "-0.5"
        return found
    low = float(f"{whole or 0}.{fraction}")
    span = 10.0 ** -len(fraction)
    period = None if sign else 10.0 ** len(whole)
    magnitude = np.abs(values.astype(np.float64, copy=False))
    # One comparison drops most numbers: those too small to show the needle, unless
    # they show a mantissa (which has one digit before its point).
    maybe = magnitude >= max(low, FIXED_LOW) * (1 - ROUNDING)
    if len(whole) <= 1:
        maybe |= magnitude < FIXED_LOW * (1 + ROUNDING)
    rows = np.flatnonzero(maybe)
    magnitude = magnitude[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        fixed = (magnitude >= FIXED_LOW * (1 - ROUNDING)) & (magnitude < FIXED_HIGH)
        hit = fixed & _in_window(magnitude, low, span, period)
        if len(whole) <= 1:
            near_ends = (magnitude < FIXED_LOW * (1 + ROUNDING)) | (
                magnitude >= FIXED_HIGH * (1 - ROUNDING)
            )
            scientific = np.flatnonzero(near_ends & (magnitude > 0) & np.isfinite(magnitude))
            hit[scientific] |= _in_window(_mantissa(magnitude[scientific]), low, span, period)
    found[rows[hit]] = True
    if sign:
        found &= np.signbit(values)
    return found


def _mantissa(magnitude: np.ndarray) -> np.ndarray:
    """Positive finite numbers scaled into [1, 10), about (as scientific notation shows them)."""
    power = -np.floor(np.log10(magnitude))
    half = np.floor(power / 2)  # 10 ** 323 overflows; subnormals need 10 ** 324
    return magnitude * 10.0**half * 10.0 ** (power - half)


def _in_window(magnitude: np.ndarray, low: float, span: float, period: float | None) -> np.ndarray:
    """Whether |x| rounded as shown may lie in [low, low + span) + k * period, k >= 0
    (k = 0 when period is None)."""
    slack = ROUNDING * magnitude
    offset = magnitude - low
    if period is None:
        return (offset >= -slack) & (offset < span + slack)
    turns = offset / period
    phase = (turns - np.floor(turns)) * period  # offset modulo the period, in [0, period)
    return (offset >= -slack) & ((phase < span + slack) | (phase > period - slack))


NARROW = 9  # decimal digits that always fit in 32 bits


def _contains_digits(numbers: np.ndarray, digits: str, width: int) -> np.ndarray:
    """Whether each number's digits (with implied leading zeros) contain ``digits``."""
    size = len(digits)
    if size > width:
        return np.zeros(len(numbers), dtype=bool)
    if width > NARROW and size <= NARROW and len(numbers) and numbers.max() < 10**NARROW:
        width = NARROW  # no digit of these numbers lies further left
    # 32-bit division is several times faster than 64-bit: the scan's main cost.
    kind = np.uint32 if width <= NARROW else np.uint64
    numbers = numbers.astype(kind, copy=False)
    wanted, modulus = kind(int(digits)), kind(10**size)
    found = np.zeros(len(numbers), dtype=bool)
    for shift in range(width - size + 1):
        found |= (numbers // kind(10**shift)) % modulus == wanted
    return found
