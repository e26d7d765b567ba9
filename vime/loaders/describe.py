"""`info`: shape, columns, attributes, storage and a describe() summary.

The summary reads the table a chunk at a time and only the numeric columns.
Count, mean, std, min and max are merged chunk by chunk; the quartiles need
the values themselves. When every column's values fit a fixed memory budget,
one pass keeps them all (exact, as pandas computes them). Otherwise two passes
find the same exact quartiles in bounded memory: the first keeps an even
sample of each column, whose order statistics bracket each quartile's rank;
the second counts the values below each bracket and keeps only those inside
it (a few percent). A rank the bracket misses (very unlikely) sends that
column back to the budgeted way: its values kept whole if they fit, else an
even sample, and quartiles marked '≈'.

A wide dataset has millions of columns: the reply and the text list the
first ones and say how many more there are, and the summary covers the
first DESCRIBED_COLUMNS numeric columns (saying so).
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
from tabulate import tabulate

from vime.loaders.base import Table
from vime.loaders.columns import Repeated, distinct
from vime.loaders.format import escape_controls, title

VALUES_BUDGET = 64 * 1024 * 1024  # bytes of column values held for the quartiles
CHUNK_ROWS = 256 * 1024
CHUNK_VALUES = CHUNK_ROWS * 10  # values per chunk when all numeric columns are read at once
SAMPLE_VALUES = 1 << 22  # the first pass's samples, all columns together (32 MB)
SAMPLE_MOST = 1 << 18  # values in one column's sample
SAMPLE_LEAST = 1024
BRACKET_SIGMAS = 6  # a bracket spans the sample's rank ± this many standard deviations
QUANTILES = (0.25, 0.5, 0.75)
STATS = ("count", "mean", "std", "min", "25%", "50%", "75%", "max")
LISTED_COLUMNS = 1000  # columns in the reply's list
TEXT_COLUMNS = 200  # columns named in the text
DESCRIBED_COLUMNS = 1000  # numeric columns in the summary

ChunkReader = Callable[[Iterator], Iterable[pd.DataFrame]]


def info(table: Table, storage: dict, read_chunks: ChunkReader, lock=None) -> dict:
    """The `info` result; ``read_chunks`` wraps the chunk iterator (with the lock),
    and ``lock`` is held for the other reads."""
    pairs = zip(table.columns[:LISTED_COLUMNS], table.dtypes[:LISTED_COLUMNS], strict=True)
    with lock or contextlib.nullcontext():
        index = index_summary(table)
        attrs = table.info_attrs()
    summary = describe(table, read_chunks)
    return {
        "name": table.name,
        "shape": list(table.shape),
        "columns": [{"name": n, "dtype": d} for n, d in pairs],
        "column_count": len(table.columns),
        "index": index,
        "attrs": attrs,
        "storage": storage,
        "content": info_text(table, storage, summary, index, attrs),
    }


def numeric_columns(table: Table, limit: int | None = None) -> list[str]:
    """The numeric columns in order, at most ``limit`` of them, found without a full scan."""
    if isinstance(table.dtypes, Repeated):
        return list(table.columns[:limit]) if _is_numeric(table.dtypes.value) else []
    pairs = zip(table.columns, table.dtypes, strict=True)
    return list(itertools.islice((c for c, d in pairs if _is_numeric(d)), limit))


def _is_numeric(dtype: str) -> bool:
    try:
        return np.dtype(dtype).kind in "iuf"
    except (TypeError, ValueError):  # numpy 2 raises ValueError for 'str (ascii, fixed 8)'
        return False


def index_summary(table: Table) -> list[dict]:
    """Each index level with its dtype and first and last values (two one-row reads)."""
    if table.rows == 0:
        return []
    first, last = table.page(0, 1, columns=[]), table.page(table.rows - 1, table.rows, columns=[])
    levels = []
    for level in range(first.index.nlevels):
        values = first.index.get_level_values(level)
        name = table.index_names[level] if level < len(table.index_names) else "index"
        levels.append({
            "name": name,
            "dtype": str(values.dtype),
            "first": str(values[0]),
            "last": str(last.index.get_level_values(level)[0]),
        })  # fmt: skip
    return levels


# -- the summary ----------------------------------------------------------------
class Running:
    """count/mean/std/min/max merged chunk by chunk, plus values for the quartiles."""

    def __init__(self, capacity: int, stride: int):
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.low = math.inf
        self.high = -math.inf
        self.stride = stride  # keep every stride-th value; 1 keeps all (exact)
        self.kept = np.empty(capacity, dtype=np.float64)
        self.filled = 0
        self._seen = 0

    def add(self, values: np.ndarray) -> None:
        finite = values[~np.isnan(values)]
        self._keep(finite)
        if finite.size == 0:
            return
        n, mean = finite.size, float(finite.mean())
        m2 = float(((finite - mean) ** 2).sum())
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total
        self.low = min(self.low, float(finite.min()))
        self.high = max(self.high, float(finite.max()))

    def _keep(self, finite: np.ndarray) -> None:
        offset = (-self._seen) % self.stride
        picked = finite[offset :: self.stride]
        self._seen += finite.size
        room = self.kept.size - self.filled
        picked = picked[:room]
        self.kept[self.filled : self.filled + picked.size] = picked
        self.filled += picked.size

    def row(self, quartiles: list[float] | None = None) -> list:
        """The describe() row; the quartiles from the values kept unless given."""
        if self.count == 0:
            return [0, *[math.nan] * 7]
        std = math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else math.nan
        if quartiles is None:
            kept = self.kept[: self.filled]
            quartiles = np.quantile(kept, QUANTILES, overwrite_input=True).tolist()
            if self.stride > 1:
                quartiles = [f"≈{q:g}" for q in quartiles]
        return [self.count, self.mean, std, self.low, *quartiles, self.high]


def describe(table: Table, read_chunks: ChunkReader) -> pd.DataFrame:
    """One row per numeric column with the describe() statistics."""
    names = numeric_columns(table, DESCRIBED_COLUMNS)
    if _fits(len(names), table.rows):
        rows = _kept_whole(table, names, read_chunks)
    else:
        rows = _selected(table, names, read_chunks)
    summary = pd.DataFrame([rows[n] for n in names], index=names, columns=list(STATS))
    return summary.astype({"count": "int64"})


def passes(table: Table) -> int:
    """How many times ``describe`` reads the rows, as planned (a missed bracket adds one)."""
    names = numeric_columns(table, DESCRIBED_COLUMNS)
    if _fits(len(names), table.rows):
        return min(1, len(names))
    return 1 + len(_selection_batches(names, table.rows))


def _fits(columns: int, rows: int) -> bool:
    return columns * max(rows, 1) * 8 <= VALUES_BUDGET


def _kept_whole(table: Table, names: list[str], read_chunks: ChunkReader) -> dict:
    """The statistics of ``names`` from their values kept whole (or an even sample of a
    column too big for the budget), in batches of columns that fit it."""
    rows = {}
    for batch, stride in _batches(names, table.rows):
        capacity = -(-table.rows // stride)
        running = {name: Running(capacity, stride) for name in batch}
        for chunk in read_chunks(table.chunks(columns=batch, chunk_rows=CHUNK_ROWS)):
            for name in batch:
                running[name].add(_values(chunk, name))
        for name in batch:
            rows[name] = running[name].row()
            running[name].kept = None  # free before the next batch
    return rows


def _values(chunk: pd.DataFrame, name: str) -> np.ndarray:
    return chunk[name].to_numpy(dtype=np.float64, na_value=np.nan)


def _batches(names: list[str], rows: int) -> list[tuple[list[str], int]]:
    """Groups of columns whose values fit VALUES_BUDGET, with the sampling stride."""
    per_column = max(rows, 1) * 8
    if per_column > VALUES_BUDGET:
        stride = -(-per_column // VALUES_BUDGET)
        return [([name], stride) for name in names]
    size = VALUES_BUDGET // per_column
    return [(names[i : i + size], 1) for i in range(0, len(names), size)]


# -- exact quartiles in two passes ---------------------------------------------------
def _selected(table: Table, names: list[str], read_chunks: ChunkReader) -> dict:
    """The statistics of columns too big to keep: a sampling pass, then a selecting one."""
    size = _sample_size(len(names))
    stride = max(1, -(-table.rows // size))
    running = {name: Running(-(-table.rows // stride), stride) for name in names}
    chunk_rows = max(1024, CHUNK_VALUES // max(1, len(names)))
    for chunk in read_chunks(table.chunks(columns=names, chunk_rows=chunk_rows)):
        for name in names:
            running[name].add(_values(chunk, name))
    rows, missed = {}, []
    for batch in _selection_batches(names, table.rows):
        selectors = {name: Selector(running[name]) for name in batch}
        for chunk in read_chunks(table.chunks(columns=batch, chunk_rows=chunk_rows)):
            for name in batch:
                selectors[name].add(_values(chunk, name))
        for name in batch:
            quartiles = selectors[name].quartiles()
            if quartiles is None:
                missed.append(name)
            else:
                rows[name] = running[name].row(quartiles)
    return {**rows, **_kept_whole(table, missed, read_chunks)}


def _sample_size(columns: int) -> int:
    return max(SAMPLE_LEAST, min(SAMPLE_MOST, SAMPLE_VALUES // max(1, columns)))


def _selection_batches(names: list[str], rows: int) -> list[list[str]]:
    """Groups of columns whose bracketed values (about ``_bracket_share`` of each column,
    for each quartile) fit VALUES_BUDGET: one group, but for very wide tables."""
    share = _bracket_share(_sample_size(len(names)))
    per_column = max(1, int(len(QUANTILES) * share * max(rows, 1) * 8))
    size = max(1, VALUES_BUDGET // per_column)
    return [names[i : i + size] for i in range(0, len(names), size)]


def _bracket_share(sample: int) -> float:
    """The share of a column's values inside one quartile's bracket, about."""
    return min(1.0, 2 * (_half_width(sample) + 1) / sample)


def _half_width(sample: int) -> int:
    """Sample ranks on each side of a quartile's: the rank of an order statistic of an
    even sample has a standard deviation of at most sqrt(sample) / 2 ranks."""
    return math.ceil(BRACKET_SIGMAS * math.sqrt(sample) / 2) + 1


class Selector:
    """The values of one column around each quartile's rank, for its exact value.

    numpy's linear quantile q reads the order statistics k and k + 1 around
    (n - 1) q. Each quartile gets a bracket [low, high] of values from the sorted
    sample, around k's place in it; the pass counts the values below it and at its
    ends, and keeps the ones inside.
    """

    def __init__(self, running: Running):
        self.count = running.count
        sample = np.sort(running.kept[: running.filled])
        running.kept = None
        self.brackets = [Bracket(sample, self._rank(q), self.count) for q in QUANTILES]

    def _rank(self, q: float) -> int:
        return math.floor((self.count - 1) * q)

    def add(self, values: np.ndarray) -> None:
        for bracket in self.brackets:
            bracket.add(values)

    def quartiles(self) -> list[float] | None:
        """numpy's linear quantiles, or None when a bracket missed its ranks."""
        if self.count == 0:
            return [math.nan] * len(QUANTILES)
        quartiles = []
        for q, bracket in zip(QUANTILES, self.brackets, strict=True):
            rank = self._rank(q)
            pair = bracket.values(rank, min(rank + 1, self.count - 1))
            if pair is None:
                return None
            virtual = (self.count - 1) * q
            gamma = virtual - math.floor(virtual)
            quartiles.append(float(np.quantile(pair, gamma)))  # numpy's own interpolation
        return quartiles


class Bracket:
    """Counts below, at and inside [low, high], a bracket of the ranks from ``rank``."""

    def __init__(self, sample: np.ndarray, rank: int, count: int):
        where = rank * sample.size / max(count, 1)  # the rank's place in the sample
        half = _half_width(sample.size)
        first, last = math.floor(where) - half, math.ceil(where) + half + 1
        self.low = sample[first] if first > 0 else -math.inf
        self.high = sample[last] if last < sample.size else math.inf
        self.below = self.at_low = self.at_high = 0
        self.inside: list[np.ndarray] = []

    def add(self, values: np.ndarray) -> None:
        self.below += int(np.count_nonzero(values < self.low))
        self.at_low += int(np.count_nonzero(values == self.low))
        if self.high != self.low:
            self.at_high += int(np.count_nonzero(values == self.high))
            self.inside.append(values[(values > self.low) & (values < self.high)])

    def values(self, *ranks: int) -> np.ndarray | None:
        """The order statistics of these ranks, or None when one is outside the bracket."""
        inside = np.sort(np.concatenate(self.inside)) if self.inside else np.empty(0)
        found = [self._value(rank - self.below, inside) for rank in ranks]
        return None if any(v is None for v in found) else np.array(found)

    def _value(self, rank: int, inside: np.ndarray) -> float | None:
        if rank < 0:
            return None
        if rank < self.at_low:
            return float(self.low)
        rank -= self.at_low
        if rank < inside.size:
            return float(inside[rank])
        rank -= inside.size
        return float(self.high) if rank < self.at_high else None


# -- the text ---------------------------------------------------------------------
def info_text(table: Table, storage: dict, summary: pd.DataFrame, index, attrs) -> str:
    lines = [title(table.name, table.rows, len(table.columns))]
    lines.append(f"kind: {table.kind}    shape: {list(table.shape)}")
    if table.plane_axes:
        lines.append(
            f"pages show the last two axes (or any slice, e.g. [0, :, 5:10]); "
            f"summary of plane {[0] * table.plane_axes}"
        )
    lines.append(f"storage: {_storage_text(storage)}")
    if table.error:
        lines.append(f"error: {table.error}")
    if table.warning:
        lines.append(f"warning: {table.warning}")
    lines += ["", "index:"]
    rows = [[i["name"], i["dtype"], f"{i['first']} … {i['last']}"] for i in index]
    listed = tabulate(rows, ["name", "dtype", "range"], "plain", disable_numparse=True)
    lines.append(_indent(listed) if rows else "  (no rows)")
    lines += ["", "columns:"]
    lines += _column_lines(table)
    lines += ["", "attributes:"]
    lines += [f"  {key}: {escape_controls(str(value))}" for key, value in attrs.items()]
    lines += [] if attrs else ["  (none)"]
    lines += ["", _summary_heading(table, summary)]
    if summary.empty:
        lines.append("  (no numeric columns)")
    else:
        # Rows of Python values: tabulate would read a frame as one float array, and
        # show a count of 1,234,567 as 1.23457e+06.
        rows = [list(row) for row in summary.itertuples()]  # the column's name first
        lines.append(_indent(tabulate(rows, headers=["", *summary.columns], tablefmt="plain")))
    return "\n".join(lines)


def _column_lines(table: Table) -> list[str]:
    """The first TEXT_COLUMNS columns with their dtypes, then how many more."""
    names = map(escape_controls, table.columns[:TEXT_COLUMNS])
    pairs = list(zip(names, table.dtypes[:TEXT_COLUMNS], strict=True))
    lines = [_indent(tabulate(pairs, ["name", "dtype"], "plain", disable_numparse=True))]
    more = len(table.columns) - TEXT_COLUMNS
    if more > 0:
        kinds = ", ".join(distinct(table.dtypes[TEXT_COLUMNS:]))
        last = escape_controls(table.columns[-1])
        lines.append(f"  … and {more:,} more columns, the last {last} ({kinds})")
    return lines


def _summary_heading(table: Table, summary: pd.DataFrame) -> str:
    numeric = len(summary)
    if numeric == DESCRIBED_COLUMNS and len(table.columns) > numeric:
        return f"summary of the first {numeric:,} numeric columns (describe):"
    return "summary of the numeric columns (describe):"


def _storage_text(storage: dict) -> str:
    if storage.get("bytes") is None:
        return "none"
    parts = [
        f"chunks {storage['chunks']}" if storage.get("chunks") else "not chunked",
        f"compression {storage['compression']}" if storage.get("compression") else "",
        f"filters {', '.join(storage['filters'])}" if storage.get("filters") else "",
        f"{storage['bytes']:,} bytes" if storage.get("bytes") is not None else "",
    ]
    return ", ".join(p for p in parts if p)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
