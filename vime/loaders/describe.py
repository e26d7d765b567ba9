"""`info`: shape, columns, attributes, storage and a describe() summary.

The summary reads the table a chunk at a time and only the numeric columns.
Count, mean, std, min and max are merged chunk by chunk; the quartiles need
the values themselves, so the columns are read in batches whose values fit a
fixed memory budget (exact, as pandas computes them). A column too big for
the budget on its own gets its quartiles from an even sample, marked '≈'.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
from tabulate import tabulate

from vime.loaders.base import Table
from vime.loaders.format import title

VALUES_BUDGET = 192 * 1024 * 1024  # bytes of column values held for the quartiles
CHUNK_ROWS = 256 * 1024
QUANTILES = (0.25, 0.5, 0.75)
STATS = ("count", "mean", "std", "min", "25%", "50%", "75%", "max")

ChunkReader = Callable[[Iterator], Iterable[pd.DataFrame]]


def info(table: Table, storage: dict, read_chunks: ChunkReader) -> dict:
    """The `info` result; ``read_chunks`` wraps the chunk iterator (with the lock)."""
    columns = [{"name": n, "dtype": d} for n, d in zip(table.columns, table.dtypes, strict=True)]
    summary = describe(table, read_chunks)
    return {
        "name": table.name,
        "shape": list(table.shape),
        "columns": columns,
        "attrs": table.attrs,
        "storage": storage,
        "content": info_text(table, storage, summary),
    }


def numeric_columns(table: Table) -> list[str]:
    return [c for c, d in zip(table.columns, table.dtypes, strict=True) if _is_numeric(d)]


def _is_numeric(dtype: str) -> bool:
    try:
        return np.dtype(dtype).kind in "iuf"
    except TypeError:
        return False


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

    def row(self) -> list:
        if self.count == 0:
            return [0, *[math.nan] * 7]
        std = math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else math.nan
        kept = self.kept[: self.filled]
        quartiles = np.quantile(kept, QUANTILES, overwrite_input=True).tolist()
        if self.stride > 1:
            quartiles = [f"≈{q:g}" for q in quartiles]
        return [self.count, self.mean, std, self.low, *quartiles, self.high]


def describe(table: Table, read_chunks: ChunkReader) -> pd.DataFrame:
    """One row per numeric column with the describe() statistics."""
    names = numeric_columns(table)
    rows = {}
    for batch, stride in _batches(names, table.rows):
        capacity = -(-table.rows // stride)
        running = {name: Running(capacity, stride) for name in batch}
        for chunk in read_chunks(table.chunks(columns=batch, chunk_rows=CHUNK_ROWS)):
            for name in batch:
                running[name].add(chunk[name].to_numpy(dtype=np.float64, na_value=np.nan))
        for name in batch:
            rows[name] = running[name].row()
            running[name].kept = None  # free before the next batch
    summary = pd.DataFrame([rows[n] for n in names], index=names, columns=list(STATS))
    return summary.astype({"count": "int64"})


def _batches(names: list[str], rows: int) -> list[tuple[list[str], int]]:
    """Groups of columns whose values fit VALUES_BUDGET, with the sampling stride."""
    per_column = max(rows, 1) * 8
    if per_column > VALUES_BUDGET:
        stride = -(-per_column // VALUES_BUDGET)
        return [([name], stride) for name in names]
    size = VALUES_BUDGET // per_column
    return [(names[i : i + size], 1) for i in range(0, len(names), size)]


# -- the text ---------------------------------------------------------------------
def info_text(table: Table, storage: dict, summary: pd.DataFrame) -> str:
    lines = [title(table.name, table.rows, len(table.columns))]
    lines.append(f"kind: {table.kind}    shape: {list(table.shape)}")
    if table.plane_axes:
        lines.append(f"pages show the last two axes; summary of plane {[0] * table.plane_axes}")
    lines.append(f"storage: {_storage_text(storage)}")
    if table.error:
        lines.append(f"error: {table.error}")
    if table.warning:
        lines.append(f"warning: {table.warning}")
    lines += ["", "columns:"]
    column_rows = zip(table.columns, table.dtypes, strict=True)
    names = tabulate(list(column_rows), ["name", "dtype"], "plain", disable_numparse=True)
    lines.append(_indent(names))
    lines += ["", "attributes:"]
    lines += [f"  {key}: {value}" for key, value in table.attrs.items()] or ["  (none)"]
    lines += ["", "summary of the numeric columns (describe):"]
    if summary.empty:
        lines.append("  (no numeric columns)")
    else:
        lines.append(_indent(tabulate(summary, headers="keys", tablefmt="plain")))
    return "\n".join(lines)


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
