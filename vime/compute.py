"""The compute engine: filter, derive, aggregate and script a table out of core.

A job (run in a worker process, see vime/handlers/compute.py) reads its source
a chunk of rows at a time (``VIME_CHUNK_ROWS``, 250,000 by default) and runs this
pipeline:

1. per chunk: ``assign`` and ``query`` (the query runs first unless it uses an
   assigned column, so derived columns are computed for surviving rows only),
   then only the columns the rest of the pipeline needs are kept;
2. a plain filter (no sort, group-by or script) streams each chunk's rows to
   the result file at once, so memory holds one chunk whatever the result's
   size; ``limit`` stops reading once enough rows are found;
3. ``script`` 'file.py:func' runs the USER'S OWN CODE: ``func(df)`` receives
   every surviving row at once (it may need the whole table) and returns a
   DataFrame;
4. ``groupby`` / ``agg``: without a script, each chunk is reduced to partial
   aggregates per group (count, sum, min, max, first, last, prod, and count /
   mean / M2 for var and std, merged with Chan's formula), so memory holds one
   chunk plus one row per group; ``median`` and ``nunique`` cannot be merged
   from partials, so they keep the group keys and that column of every row.
   Result columns are named ``<column>_<agg>``; ``groupby`` alone counts rows
   per group in a ``count`` column; ``agg`` alone aggregates the whole table
   into one row;
5. ``sort`` / ``descending``, ``columns`` (the columns of the result, in order)
   and ``limit`` apply to the reduced result; sort plus limit keeps only the
   best ``limit`` rows of each chunk. A sort of the rows themselves (no
   group-by, script or limit) is an external merge sort (vime/sorting.py):
   each chunk is sorted and spilled to a run file, and the runs are merged
   into the sink, so memory holds about one chunk whatever the table's size.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vime import expressions
from vime.errors import (
    BadExpression,
    FileMissing,
    InvalidParams,
    NoSuchColumn,
)
from vime.sorting import ExternalSort, key_names, sort_rows

log = logging.getLogger("vime.compute")

CHUNK_ROWS = 250_000  # a chunk of a 10-column table is ~20 MB: a worker stays under ~200 MB

# Aggregations merged from per-chunk partial results, and the partials they need.
PARTIALS = {
    "count": ("count",),
    "size": ("size",),
    "sum": ("sum",),
    "prod": ("prod",),
    "min": ("min",),
    "max": ("max",),
    "first": ("first",),
    "last": ("last",),
    "mean": ("sum", "count"),
    "var": ("count", "mu", "m2"),
    "std": ("count", "mu", "m2"),
}
# How partials of the same group merge; "mu" and "m2" merge together (Chan).
MERGE = {
    "count": "sum",
    "size": "sum",
    "sum": "sum",
    "prod": "prod",
    "min": "min",
    "max": "max",
    "first": "first",
    "last": "last",
}
HOLISTIC = ("median", "nunique")  # need every value of the group
AGGREGATIONS = (*PARTIALS, *HOLISTIC)
COMPACT_EVERY = 16  # merge the partial results every this many chunks


def chunk_rows_setting() -> int:
    """Rows per chunk: VIME_CHUNK_ROWS if set to a positive integer, else 250,000."""
    value = os.environ.get("VIME_CHUNK_ROWS", "")
    return int(value) if value.isdigit() and int(value) > 0 else CHUNK_ROWS


# -- the plan -----------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """What a job computes; the params of compute_start, checked for shape."""

    query: str | None = None
    assign: dict[str, str] = field(default_factory=dict)
    columns: list[str] | None = None
    sort: list[str] | None = None
    descending: bool = False
    groupby: list[str] | None = None
    agg: dict[str, list[str]] | None = None
    limit: int | None = None
    script: str | None = None

    def __post_init__(self):
        for column, aggs in (self.agg or {}).items():
            unknown = [a for a in aggs if a not in AGGREGATIONS]
            if unknown or not aggs:
                raise InvalidParams(
                    f"agg for {column!r}: unknown aggregation {', '.join(map(repr, unknown))}; "
                    f"use {', '.join(AGGREGATIONS)}"
                )
        if self.script is not None:
            script_parts(self.script)

    @property
    def aggregates(self) -> bool:
        return bool(self.groupby or self.agg)


def normalise_agg(agg: dict) -> dict[str, list[str]]:
    """``{"v0": "mean"}`` and ``{"v0": ["mean", "max"]}`` as lists of names."""
    normal = {}
    for column, value in agg.items():
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InvalidParams(f"agg for {column!r} must be a name or a list of names")
        normal[column] = names
    return normal


def script_parts(script: str) -> tuple[str, str]:
    """'path/to/file.py:func' as (path, func)."""
    path, sep, func = script.rpartition(":")
    if not sep or not path or not func.isidentifier():
        raise InvalidParams(f"script must look like 'path/to/file.py:func', got {script!r}")
    return os.path.expanduser(path), func


# -- per-chunk steps ----------------------------------------------------------
class Steps:
    """The checked row-wise steps of a plan: assign and query on one chunk."""

    def __init__(self, plan: Plan, source_columns: list[str], index_names=()):
        self.plan = plan
        available = list(source_columns)
        self.used: set[str] = set()
        for name, text in plan.assign.items():
            self.used |= expressions.check(text, available, f"assign {name!r}", index_names)
            available.append(name)
        self.query_needs_assign = False
        if plan.query is not None:
            used = expressions.check(plan.query, available, "query", index_names)
            self.query_needs_assign = bool(used & set(plan.assign))
            self.used |= used
        self.used -= set(plan.assign)
        self.columns_after = list(dict.fromkeys(available))

    def apply(self, chunk: pd.DataFrame) -> pd.DataFrame:
        if self.query_needs_assign:
            return self.filter(self.derive(chunk))
        return self.derive(self.filter(chunk))

    def filter(self, chunk: pd.DataFrame) -> pd.DataFrame:
        text = self.plan.query
        if text is None:
            return chunk
        return chunk[expressions.query_mask(chunk, text)]

    def derive(self, chunk: pd.DataFrame) -> pd.DataFrame:
        if not self.plan.assign:
            return chunk
        chunk = chunk.copy(deep=False)
        for name, text in self.plan.assign.items():
            chunk[name] = expressions.evaluate(chunk, text, f"assign {name!r}")
        return chunk


def require_columns(names: Iterable[str], available: Iterable[str], what: str) -> None:
    known = list(available)
    missing = [name for name in names if name not in known]
    if missing:
        listed = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
        raise NoSuchColumn(f"{what}: no column {', '.join(map(repr, missing))} (columns: {listed})")


# -- reducers -----------------------------------------------------------------
class Rows:
    """Collects the surviving rows; with sort+limit, only the best rows so far."""

    def __init__(self, columns: list[str], sort=None, descending=False, limit=None,
                 index_names=()):  # fmt: skip
        self.sort, self.descending, self.limit = sort, descending, limit
        self.index_names = index_names
        self.empty = pd.DataFrame(columns=columns)  # the result if no row survives
        self.parts: list[pd.DataFrame] = []
        self.count = 0

    def add(self, frame: pd.DataFrame) -> None:
        self.empty = frame.iloc[:0].copy()  # the real dtypes; a view would keep the chunk
        if len(frame) == 0:
            return
        if self.limit is not None and self.sort:
            frame = self.best(frame)
        elif self.limit is not None:
            frame = frame.head(self.limit - self.count)
        self.parts.append(frame)
        self.count += len(frame)
        if self.sort and self.limit is not None and len(self.parts) >= COMPACT_EVERY:
            self.parts = [self.result()]

    @property
    def full(self) -> bool:
        """Unsorted and the limit reached: no later row can be kept."""
        return not self.sort and self.limit is not None and self.count >= self.limit

    def result(self) -> pd.DataFrame:
        if not self.parts:
            return self.empty
        frame = concat(self.parts)
        if self.limit is not None and self.sort:
            frame = self.best(frame)
        return frame

    def best(self, frame: pd.DataFrame) -> pd.DataFrame:
        return sort_rows(frame, self.sort, self.descending, self.index_names).head(self.limit)


class Stream:
    """Hands each chunk's surviving rows to the sink at once: a filter of any size
    keeps one chunk in memory, never its whole result."""

    def __init__(self, sink, columns: list[str], limit: int | None):
        self.sink, self.columns, self.limit = sink, columns, limit
        self.count = 0
        self.started = False

    def add(self, frame: pd.DataFrame) -> None:
        if self.limit is not None:
            frame = frame.head(self.limit - self.count)
        if len(frame) or not self.started:  # an empty first chunk still gives the schema
            self.sink.append(frame[self.columns])
        self.started = True
        self.count += len(frame)

    @property
    def full(self) -> bool:
        return self.limit is not None and self.count >= self.limit

    def finish(self) -> None:
        if not self.started:  # a source with no rows at all
            self.sink.append(pd.DataFrame(columns=self.columns))


@dataclass(frozen=True)
class Output:
    name: str  # result column
    column: str | None  # None: group size
    how: str


class Groups:
    """Group-by aggregation merged across chunks from partial aggregates."""

    def __init__(self, keys: list[str] | None, agg: dict[str, list[str]] | None):
        self.keys = keys
        if agg:
            self.outputs = [Output(f"{c}_{how}", c, how) for c, aggs in agg.items() for how in aggs]
        else:
            self.outputs = [Output("count", None, "size")]
        self.partial_stats: dict = {}  # (column, stat) -> None, in order
        for out in self.outputs:
            for stat in PARTIALS.get(out.how, ()):
                self.partial_stats[(out.column, stat)] = None
        self.holistic = [out for out in self.outputs if out.how in HOLISTIC]
        self.partials: list[pd.DataFrame] = []
        self.raw: list[pd.DataFrame] = []
        self.full = False  # every row may change a group

    @property
    def needed_columns(self) -> list[str]:
        names = [*(self.keys or []), *(out.column for out in self.outputs if out.column)]
        return list(dict.fromkeys(names))

    def result_columns(self) -> list[str]:
        return [*(self.keys or []), *(out.name for out in self.outputs)]

    def group_keys(self, frame: pd.DataFrame):
        return self.keys if self.keys else np.zeros(len(frame), dtype=np.int8)

    def add(self, frame: pd.DataFrame) -> None:
        if len(frame) == 0:
            return
        if self.partial_stats:
            self.partials.append(self.partial(frame))
            if len(self.partials) >= COMPACT_EVERY:
                self.partials = [self.merge(self.partials)]
        if self.holistic:
            columns = list(dict.fromkeys([*(self.keys or []), *(o.column for o in self.holistic)]))
            self.raw.append(frame[columns])

    def partial(self, frame: pd.DataFrame) -> pd.DataFrame:
        grouped = frame.groupby(self.group_keys(frame), sort=False, observed=True, dropna=True)
        parts = {}
        for column, stat in self.partial_stats:
            if stat == "size":
                parts[(column, stat)] = grouped.size()
                continue
            values = grouped[column]
            if stat == "mu":
                parts[(column, stat)] = values.mean()
            elif stat == "m2":
                parts[(column, stat)] = values.var(ddof=0) * values.count()
            else:
                parts[(column, stat)] = getattr(values, stat)()
        return pd.DataFrame(parts)

    def merge(self, partials: list[pd.DataFrame]) -> pd.DataFrame:
        frame = pd.concat(partials)
        levels = list(range(frame.index.nlevels))
        merged = {}
        for column, stat in self.partial_stats:
            if stat in MERGE:
                grouped = frame[(column, stat)].groupby(level=levels, sort=False)
                merged[(column, stat)] = getattr(grouped, MERGE[stat])()
            elif stat == "mu":
                mu, m2 = _merge_moments(frame, column, levels)
                merged[(column, "mu")], merged[(column, "m2")] = mu, m2
        return pd.DataFrame(merged)[list(self.partial_stats)]

    def result(self) -> pd.DataFrame:
        pieces = {}
        if self.partials:
            partial = self.merge(self.partials)
            for out in self.outputs:
                if out.how not in HOLISTIC:
                    pieces[out.name] = _final(partial, out)
        if self.raw:
            raw = pd.concat(self.raw)
            grouped = raw.groupby(self.group_keys(raw), observed=True, dropna=True)
            for out in self.holistic:
                pieces[out.name] = getattr(grouped[out.column], out.how)()
        if not pieces:
            return pd.DataFrame(columns=self.result_columns())
        frame = pd.DataFrame(pieces)[[out.name for out in self.outputs]].sort_index()
        if not self.keys:
            return frame.reset_index(drop=True)
        frame.index.names = self.keys
        return frame.reset_index()


def _merge_moments(frame: pd.DataFrame, column: str, levels: list[int]):
    """Merge per-chunk (count, mean, M2) of each group (Chan et al.)."""
    n = frame[(column, "count")]
    has_values = n > 0
    mu = frame[(column, "mu")].where(has_values, 0.0)
    m2 = frame[(column, "m2")].where(has_values, 0.0)
    total = n.groupby(level=levels, sort=False).transform("sum")
    grand = (n * mu).groupby(level=levels, sort=False).transform("sum") / total
    spread = (m2 + n * (mu - grand) ** 2).groupby(level=levels, sort=False).sum()
    return grand.groupby(level=levels, sort=False).first(), spread


def _final(partial: pd.DataFrame, out: Output) -> pd.Series:
    if out.how == "mean":
        total = partial[(out.column, "sum")]
        count = partial[(out.column, "count")]
        return total / count.where(count > 0)
    if out.how in ("var", "std"):
        count = partial[(out.column, "count")]
        var = partial[(out.column, "m2")] / (count - 1).where(count > 1)
        return np.sqrt(var) if out.how == "std" else var
    return partial[(out.column, out.how)]


# -- running a plan -------------------------------------------------------------
def concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return parts[0] if len(parts) == 1 else pd.concat(parts)


def read_columns(plan: Plan, source_columns: list[str], index_names=()) -> list[str] | None:
    """The source columns a plan reads; None for all of them."""
    if plan.script or (plan.columns is None and not plan.aggregates):
        return None
    steps = Steps(plan, source_columns, index_names)
    wanted = set(steps.used)
    if plan.aggregates:
        wanted |= set(Groups(plan.groupby, plan.agg).needed_columns)
    else:
        wanted |= set(plan.columns or []) | set(plan.sort or [])
    return [name for name in source_columns if name in wanted]


def run_plan(
    plan: Plan,
    chunks: Iterable[pd.DataFrame],
    source_columns: list[str],
    sink,
    on_chunk: Callable[[int], None] = lambda rows: None,
    result_rows: int = CHUNK_ROWS,
    index_names=(),
    spill: str | None = None,
) -> None:
    """Run a plan over a source's chunks, appending the result to ``sink`` (``append(frame)``).

    A plain filter streams each chunk's rows to the sink, and a sort of the
    rows merges sorted runs into it; group-bys and scripts reduce first and
    write their (small) result at the end, in slices of ``result_rows``.
    ``on_chunk(rows_read)`` may raise to stop the run. ``index_names``: the
    source's index levels, which query, assign and sort may name. ``spill``:
    the file for a sort's runs (created only if needed, removed at the end),
    else a temp file in the system's temp folder.
    """
    steps = Steps(plan, source_columns, index_names)
    spill = spill or os.path.join(tempfile.gettempdir(), f"vime-sort-{uuid.uuid4().hex}.runs")
    reducer, keep = _reducer(plan, steps.columns_after, sink, spill, index_names)
    try:
        for chunk in chunks:
            rows = len(chunk)
            reduced = steps.apply(chunk)
            del chunk  # drop each chunk before the next is read: one in memory at a time
            reducer.add(reduced if keep is None else reduced[keep])
            del reduced
            on_chunk(rows)
            if reducer.full:
                break
    except BaseException:
        if isinstance(reducer, ExternalSort):
            reducer.discard()
        raise
    if isinstance(reducer, (Stream, ExternalSort)):
        reducer.finish()
        return
    result = reducer.result()
    if plan.script:
        result = run_script(plan.script, result)
        if plan.aggregates:
            groups = Groups(plan.groupby, plan.agg)
            require_columns(groups.needed_columns, result.columns, "groupby/agg")
            groups.add(result)
            result = groups.result()
    # Rows straight from the source keep its index; a script's or a group-by's do not.
    result = finish(plan, result, () if plan.script or plan.aggregates else index_names)
    for start in range(0, max(len(result), 1), result_rows):
        sink.append(result.iloc[start : start + result_rows])


Reducer = Rows | Groups | Stream | ExternalSort


def _reducer(plan: Plan, available: list[str], sink, spill: str,
             index_names=()) -> tuple[Reducer, list | None]:  # fmt: skip
    """The reducer of the chunks and the columns it keeps (None: all)."""
    if plan.script:
        return Rows(available), None
    if plan.aggregates:
        groups = Groups(plan.groupby, plan.agg)
        require_columns(groups.needed_columns, available, "groupby/agg")
        return groups, groups.needed_columns
    require_columns(plan.columns or [], available, "columns")
    require_columns(plan.sort or [], key_names(available, index_names), "sort")
    if not plan.sort:
        keep = list(available if plan.columns is None else plan.columns)
        return Stream(sink, keep, plan.limit), None
    # The sort keys that are columns travel with the rows; the index always does.
    keys = [name for name in plan.sort if name in available]
    keep = list(dict.fromkeys(available if plan.columns is None else [*plan.columns, *keys]))
    if plan.limit is not None:
        return Rows(keep, plan.sort, plan.descending, plan.limit, index_names), keep
    return ExternalSort(sink, plan.sort, plan.descending, spill, keep, plan.columns,
                        index_names), keep  # fmt: skip


def finish(plan: Plan, frame: pd.DataFrame, index_names=()) -> pd.DataFrame:
    """Sort, select the result columns and limit, on the reduced result (in memory).

    The sort may name the frame's index levels, by their names or as the
    source's ``index_names`` name them.
    """
    if plan.sort:
        named = [*(name for name in frame.index.names if name is not None), *index_names]
        require_columns(plan.sort, key_names(frame.columns, named), "sort")
        frame = sort_rows(frame, plan.sort, plan.descending, index_names)
    if plan.columns is not None:
        require_columns(plan.columns, frame.columns, "columns")
        frame = frame[plan.columns]
    if plan.limit is not None:
        frame = frame.head(plan.limit)
    return frame


def run_script(script: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Run the user's own ``func(df)`` from 'file.py:func'. This runs THEIR code."""
    path, name = script_parts(script)
    if not os.path.isfile(path):
        raise FileMissing(f"script {path}: no such file")
    spec = importlib.util.spec_from_file_location(f"vime_user_script_{name}", path)
    if spec is None or spec.loader is None:
        raise BadExpression(f"script {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        func = getattr(module, name, None)
        if not callable(func):
            raise BadExpression(f"script {path}: no function {name!r}")
        result = func(frame)
    except (BadExpression, MemoryError):
        raise
    except Exception as exc:
        log.exception("script %s failed", script)
        raise BadExpression(f"script {script}: {type(exc).__name__}: {exc}") from None
    if isinstance(result, pd.Series):
        result = result.to_frame()
    if not isinstance(result, pd.DataFrame):
        raise BadExpression(f"script {script} returned {type(result).__name__}, not a DataFrame")
    return result
