"""Find rows in a whole table, a chunk at a time, as the page shows them.

``find`` looks for the next row after (or before) a row, wrapping around the
end, by cell text or by a query; ``count`` counts the rows a query keeps. Both
run in a worker process and read only the columns they need.

Text matches what the page shows: a float is shown as ``format(x, "g")``, so
``3.14`` finds 3.14159 (shown ``3.14159``); an integer as its digits; a
string as it is; a missing value as ``NaN`` (``nan`` for a float). Formatting
millions of numbers to test each one would be slow, so numbers are first
narrowed down arithmetically: a number can show the needle only if the digits
of its shown form contain the needle's digits, which is tested on integers
for a whole chunk at once; only those candidates are formatted and checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pandas as pd

from vime import expressions
from vime.errors import InvalidParams

CHUNK_ROWS = 500_000
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


def chunk_ranges(start: int, stop: int, forward: bool, size: int) -> Iterator[tuple[int, int]]:
    bounds = [(a, min(a + size, stop)) for a in range(start, stop, size)]
    return iter(bounds if forward else reversed(bounds))


def find(table, matcher, from_row: int, forward: bool, wrap: bool, progress) -> dict:
    """The first matching row in scan order: {row, column, wrapped}, row None if none."""
    scanned = 0
    for start, stop, wrapped in spans(table.rows, from_row, forward, wrap):
        for first, last in chunk_ranges(start, stop, forward, CHUNK_ROWS):
            frame = table.page(first, last, columns=matcher.columns)
            hit = matcher.first(frame, forward)
            if hit is not None:
                offset, column = hit
                return {"row": first + offset, "column": column, "wrapped": wrapped}
            scanned += last - first
            progress(scanned, table.rows, "rows", "searching")
    return {"row": None, "column": None, "wrapped": False}


def count(table, query: str, progress) -> int:
    matcher = QueryMatcher(query, table)
    found = scanned = 0
    for first, last in chunk_ranges(0, table.rows, True, CHUNK_ROWS):
        found += int(matcher.mask(table.page(first, last, columns=matcher.columns)).sum())
        scanned += last - first
        progress(scanned, table.rows, "rows", "counting")
    return found


# -- matching by query --------------------------------------------------------------------
class QueryMatcher:
    def __init__(self, query: str, table):
        known = [*table.columns, *table.index_names]
        used = expressions.check(query, known, "query")
        self.query = query
        self.columns = [c for c in table.columns if c in used]
        self.column = self.columns[0] if self.columns else None

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        return expressions.query_mask(frame, self.query)

    def first(self, frame: pd.DataFrame, forward: bool):
        hits = np.flatnonzero(self.mask(frame))
        if hits.size == 0:
            return None
        return int(hits[0] if forward else hits[-1]), self.column


# -- matching by text -----------------------------------------------------------------------
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

    def first(self, frame: pd.DataFrame, forward: bool):
        """(row offset, column) of the first match in scan order, or None."""
        best = None
        levels = range(frame.index.nlevels) if self.with_index else ()
        labelled = [("index", frame.index.get_level_values(i), frame.index.names[i])
                    for i in levels]  # fmt: skip
        cells = [(name, frame[name]) for name in frame.columns]
        for kind, values, label in [*labelled, *((n, v, n) for n, v in cells)]:
            row = self.first_in(np.asarray(values), forward)
            if row is not None and (best is None or (row < best[0] if forward else row > best[0])):
                best = (row, label if kind != "index" else (label or "index"))
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
        digits = re.sub(r"\D", "", self.text)
        if self.regex or not digits:
            return np.arange(len(values))
        if kind == "f":
            return np.flatnonzero(float_may_show(values, digits))
        return np.flatnonzero(int_may_show(values, digits))


def number_text(value) -> str:
    """A number as the page shows it: tabulate formats floats with 'g'."""
    if isinstance(value, (float, np.floating)):
        return format(float(value), "g")
    return str(int(value))


def cell_texts(values: np.ndarray) -> pd.Series:
    """Other cells as the page shows them: strings as they are, missing as NaN."""
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
    zeros; the others (exponents, nan, inf, zero) are always candidates.
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
    fraction = np.clip(SIGNIFICANT - 1 - exponent, 0, None)
    ten = np.uint32(10)
    for _ in range(SIGNIFICANT):  # drop trailing zeros of the fraction only
        strip = (fraction > 0) & (mantissa % ten == 0) & (mantissa > 0)
        mantissa = np.where(strip, mantissa // ten, mantissa)
        fraction = fraction - strip
    return ~fixed | (magnitude == 0) | _contains_digits(mantissa, digits, SIGNIFICANT + 1)


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
