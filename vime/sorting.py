"""Sorting a compute job's rows, out of core when there are many.

Rows sort as ``DataFrame.sort_values(by, ascending=not descending,
kind="stable")`` sorts them: missing values last, ties in source order. A sort
key names a column, or the index by a level's name or as ``index``.

``ExternalSort`` sorts any number of rows with about one chunk in memory, the
known way: each chunk is sorted and spilled as a *run* to one temp file
(``RunFile``), and at the end the runs are merged chunk by chunk into the
sink. A run stores each column (index levels first) as raw numpy bytes, so
spilling and reading back cost little more than a copy; text is UTF-8 with
offsets. The merge keeps a buffer per run (together a quarter of a chunk).
Each round it takes the *bound*: the smallest last row among the buffers of
runs with rows still on disk. No unread row sorts before it, so every
buffered row up to the bound can be written. Only buffers whose first row
comes before the bound take part in the round's sort, so presorted input
costs no more than random input. Ties go to the earlier run, which keeps
source order across runs.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vime.errors import InvalidParams

MIN_BUFFER_ROWS = 1024  # rows a run's merge buffer holds at least, however many runs
# The merge buffers of all runs together hold this share of the largest run (a
# chunk): a round's rows, their sorted copy and the writer's own copy come on
# top, so the merge stays below the peak of reading a chunk.
BUFFER_SHARE = 0.25


# -- sort keys ----------------------------------------------------------------------------
def key_names(columns: Sequence[str], index_names: Sequence[str] = ()) -> list[str]:
    """The names a sort may use: the columns, the index levels' names and ``index``."""
    return list(dict.fromkeys([*columns, *index_names, "index"]))


def key_values(frame: pd.DataFrame, name: str, index_names: Sequence[str] = ()):
    """The values a sort key names: a column (which wins), else an index level."""
    if name in frame.columns:
        return plain(frame[name].array)
    names = list(frame.index.names)
    if name in names:
        level = names.index(name)
    elif name in index_names and list(index_names).index(name) < frame.index.nlevels:
        level = list(index_names).index(name)
    elif name == "index":
        level = 0
    else:
        raise KeyError(name)
    return plain(frame.index.get_level_values(level).array)


def plain(values):
    """A pandas array as numpy when it is numpy's, else as it is."""
    return values.to_numpy() if isinstance(values, pd.arrays.NumpyExtensionArray) else values


def frame_of(arrays: Sequence, rows: int) -> pd.DataFrame:
    """Arrays as columns 0, 1, ... with their own dtypes (pandas would make text of object
    columns), indexed by position."""
    columns = {i: pd.Series(a, dtype=a.dtype, copy=False) for i, a in enumerate(arrays)}
    return pd.DataFrame(columns, index=pd.RangeIndex(rows))


def key_frame(frame: pd.DataFrame, by: Sequence[str], index_names=()) -> pd.DataFrame:
    """The sort keys of ``frame`` as columns 0, 1, ... of a frame indexed by position."""
    return frame_of([key_values(frame, name, index_names) for name in by], len(frame))


def order_of(keys: pd.DataFrame, descending: bool) -> np.ndarray:
    """Row positions in sorted order: pandas' own stable sort, missing values last."""
    ordered = keys.sort_values(list(keys.columns), ascending=not descending, kind="stable")
    return ordered.index.to_numpy()


def sort_order(frame: pd.DataFrame, by: Sequence[str], descending: bool, index_names=()):
    return order_of(key_frame(frame, by, index_names), descending)


def sort_rows(frame: pd.DataFrame, by: Sequence[str], descending: bool, index_names=()):
    """A stable sort, so that ties keep their source order chunk after chunk."""
    return frame.take(sort_order(frame, by, descending, index_names))


# -- columns as raw arrays ------------------------------------------------------------------
class Unspillable(InvalidParams):
    """A column the run file cannot hold (a table format result could not either)."""


class Plain:
    """numpy values of fixed width: numbers, booleans, naive times, durations."""

    def __init__(self, dtype):
        self.dtype = dtype

    def encode(self, values) -> list[np.ndarray]:
        return [np.asarray(values)]

    def decode(self, read, start: int, stop: int):
        return read(0, start, stop)


class TimeZoned:
    """Time-zone aware times, kept as UTC wall-clock times."""

    def __init__(self, dtype):
        self.dtype = dtype

    def encode(self, values) -> list[np.ndarray]:
        return [np.asarray(values.tz_convert("UTC").tz_localize(None))]

    def decode(self, read, start: int, stop: int):
        return pd.array(read(0, start, stop)).tz_localize("UTC").tz_convert(self.dtype.tz)


class Categories:
    """Categoricals as their codes; the categories stay in memory."""

    def __init__(self, dtype):
        self.dtype = dtype

    def encode(self, values) -> list[np.ndarray]:
        return [np.asarray(values.codes)]

    def decode(self, read, start: int, stop: int):
        return pd.Categorical.from_codes(read(0, start, stop), dtype=self.dtype)


class Masked:
    """Nullable numbers and booleans (Int64, Float64, boolean): values and a mask."""

    def __init__(self, dtype):
        self.dtype = dtype

    def encode(self, values) -> list[np.ndarray]:
        data = values.to_numpy(dtype=self.dtype.numpy_dtype, na_value=0)
        return [data, np.asarray(values.isna())]

    def decode(self, read, start: int, stop: int):
        array_type = self.dtype.construct_array_type()
        return array_type(read(0, start, stop), read(1, start, stop))


class Text:
    """Strings (or bytes) as UTF-8 bytes, their offsets and a missing-value mask."""

    def __init__(self, dtype, raw_bytes: bool):
        self.dtype, self.raw_bytes = dtype, raw_bytes

    def encode(self, values) -> list[np.ndarray]:
        missing = np.asarray(pd.isna(values), dtype=bool)
        pieces = np.asarray(values, dtype=object)[~missing]
        if not self.raw_bytes:
            pieces = [v.encode("utf-8", "surrogatepass") for v in pieces]
        lengths = np.zeros(len(missing), dtype=np.int64)
        lengths[~missing] = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        offsets = np.zeros(len(missing) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return [offsets, np.frombuffer(b"".join(pieces), dtype=np.uint8), missing]

    def decode(self, read, start: int, stop: int):
        offsets = read(0, start, stop + 1)
        data = read(1, int(offsets[0]), int(offsets[-1])).tobytes()
        ends = (offsets - offsets[0]).tolist()
        bounds = itertools.pairwise(ends)
        if self.raw_bytes:
            cells = [data[a:b] for a, b in bounds]
        else:
            cells = [data[a:b].decode("utf-8", "surrogatepass") for a, b in bounds]
        values = np.empty(stop - start, dtype=object)
        values[:] = cells
        values[read(2, start, stop)] = None
        return values if self.dtype == object else pd.array(values, dtype=self.dtype)


MASKED = (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)


def codec_for(values, label) -> Plain | TimeZoned | Categories | Masked | Text:
    """How a column (a pandas array) is stored in a run."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
        return Plain(dtype)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return TimeZoned(dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        return Categories(dtype)
    if isinstance(values, MASKED):
        return Masked(dtype)
    if isinstance(dtype, pd.StringDtype):
        return Text(dtype, raw_bytes=False)
    if dtype == np.dtype(object):
        return Text(dtype, raw_bytes=_object_kind(values, label) is bytes)
    raise Unspillable(f"sort: column {label!r} has dtype {dtype}, which a sort cannot spill to "
                      "disk; give a limit to sort in memory")  # fmt: skip


def _object_kind(values, label) -> type:
    """str or bytes: the one kind of value an object column may hold to be sorted on disk."""
    kinds = {type(v) for v in np.asarray(values, dtype=object)[~np.asarray(pd.isna(values))]}
    if kinds <= {str}:
        return str
    if kinds == {bytes}:
        return bytes
    names = ", ".join(sorted(kind.__name__ for kind in kinds))
    raise Unspillable(f"sort: column {label!r} holds {names} values; only text columns can "
                      "be sorted on disk; give a limit to sort in memory")  # fmt: skip


# -- the run file ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Part:
    """One raw array in the run file."""

    offset: int
    dtype: np.dtype
    count: int


@dataclass(frozen=True)
class Stored:
    codec: Plain | TimeZoned | Categories | Masked | Text
    parts: list[Part]


@dataclass(frozen=True)
class Run:
    """A sorted run: its rows, labels and index names in memory, its columns in the file."""

    rows: int
    labels: list
    index_names: list
    columns: list[Stored]  # the index levels first


class RunFile:
    """Sorted runs, appended to one temp file; it exists from the first run to ``remove``.

    Unbuffered: a run is on disk (in the page cache) once written, and reads
    go straight into the arrays they fill.
    """

    def __init__(self, path: str):
        self.path = path
        self.runs: list[Run] = []
        self._fd: int | None = None
        self._size = 0

    def write(self, frame: pd.DataFrame, order: np.ndarray) -> None:
        """Append ``frame``'s rows in ``order`` as a run, a column at a time."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        index = frame.index
        named = [(name, index.get_level_values(i).array) for i, name in enumerate(index.names)]
        named += [(label, frame.iloc[:, i].array) for i, label in enumerate(frame.columns)]
        stored = []
        for label, values in named:
            taken = plain(values.take(order))
            codec = codec_for(taken, label)
            stored.append(Stored(codec, [self._append(part) for part in codec.encode(taken)]))
        self.runs.append(Run(len(order), list(frame.columns), list(index.names), stored))

    def read(self, run: Run, start: int, stop: int) -> pd.DataFrame:
        """Rows [start, stop) of a run, as the frame that was written."""
        arrays = []
        for column in run.columns:
            reader = self._reader(column.parts)
            arrays.append(column.codec.decode(reader, start, stop))
        levels = [pd.Index(a, dtype=a.dtype) for a in arrays[: len(run.index_names)]]
        frame = frame_of(arrays[len(run.index_names) :], stop - start)
        frame.columns = run.labels
        if len(levels) == 1:
            frame.index = levels[0].rename(run.index_names[0])
        else:
            frame.index = pd.MultiIndex.from_arrays(levels, names=run.index_names)
        return frame

    def remove(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            with contextlib.suppress(OSError):
                os.remove(self.path)

    def _append(self, values: np.ndarray) -> Part:
        values = np.ascontiguousarray(values)
        data = memoryview(values.view(np.uint8))
        while data:  # a write may be short (over 2 GiB on Linux)
            data = data[os.write(self._fd, data) :]
        part = Part(self._size, values.dtype, len(values))
        self._size += values.nbytes
        return part

    def _reader(self, parts: list[Part]) -> Callable[[int, int, int], np.ndarray]:
        def read(which: int, start: int, stop: int) -> np.ndarray:
            part = parts[which]
            values = np.empty(stop - start, dtype=part.dtype)
            view = memoryview(values.view(np.uint8))
            offset = part.offset + start * part.dtype.itemsize
            while view:
                done = os.preadv(self._fd, [view], offset)
                if not done:
                    raise OSError(f"{self.path}: a sorted run is shorter than written")
                view, offset = view[done:], offset + done
            return values

        return read


# -- the merge ------------------------------------------------------------------------------
class Cursor:
    """A run's rows being merged: a buffer read ahead, its sort keys, and their edges
    (the keys of its first and last rows)."""

    def __init__(self, runs: RunFile, run: Run, rows: int, keys_of):
        self.runs, self.run, self.rows, self.keys_of = runs, run, rows, keys_of
        self.read_to = 0  # rows of the run read so far
        self.buffer = self.keys = self.edges = None
        self.fill()

    @property
    def unread(self) -> bool:
        return self.read_to < self.run.rows

    def fill(self) -> None:
        """Top the buffer up to ``rows`` rows."""
        held = 0 if self.buffer is None else len(self.buffer)
        stop = min(self.run.rows, self.read_to + self.rows - held)
        if stop <= self.read_to:
            return
        more = self.runs.read(self.run, self.read_to, stop)
        self.read_to = stop
        self.buffer = more if not held else pd.concat([self.buffer, more])
        self._keys(self.keys_of(self.buffer))

    def consume(self, count: int) -> None:
        """Drop the first ``count`` rows (written); refill when half empty."""
        self.buffer = self.buffer.iloc[count:]
        self._keys(self.keys.iloc[count:].reset_index(drop=True))
        if len(self.buffer) <= self.rows // 2:
            self.fill()

    def _keys(self, keys: pd.DataFrame) -> None:
        self.keys = keys
        self.edges = keys.iloc[[0, -1]] if len(keys) else None


def merge(runs: RunFile, keys_of, descending: bool, write, buffer_rows: int) -> None:
    """Merge the sorted runs, writing rows in order with ``write(frame)``, round by round."""
    per_run = max(buffer_rows // max(len(runs.runs), 1), MIN_BUFFER_ROWS)
    cursors = [Cursor(runs, run, per_run, keys_of) for run in runs.runs]
    while live := [c for c in cursors if len(c.buffer)]:
        taking, bound = _round(live, descending)
        rows, counts = _take(taking, bound, descending)
        write(rows)
        del rows  # written before the buffers are refilled: one round's rows at a time
        # A run that sorts alone (presorted input) reads more at a time, so that rounds
        # stay large; it shrinks back when others take part again.
        for cursor in taking:
            alone = len(taking) == 1
            cursor.rows = min(cursor.rows * 2, max(buffer_rows, per_run)) if alone else per_run
        for cursor, count in zip(taking, counts, strict=True):
            cursor.consume(count)


def _round(live: list[Cursor], descending: bool) -> tuple[list[Cursor], Cursor | None]:
    """The cursors whose buffers take part in a round, and the bound's (None: write all).

    The edges of every buffer are sorted together; listed in run order, a
    stable sort breaks ties by run, as the merge does.
    """
    if len(live) == 1:
        return live, live[0] if live[0].unread else None
    edges = pd.concat([c.edges for c in live], ignore_index=True)
    rank = np.empty(len(edges), dtype=np.int64)
    rank[order_of(edges, descending)] = np.arange(len(edges))
    unread = [i for i, c in enumerate(live) if c.unread]
    if not unread:
        return live, None
    bound = min(unread, key=lambda i: rank[2 * i + 1])
    return [c for i, c in enumerate(live) if rank[2 * i] < rank[2 * bound + 1]], live[bound]


def _take(taking: list[Cursor], bound: Cursor | None, descending: bool):
    """Sort the taking buffers' rows together: the rows up to the bound, in order, and
    how many rows of each buffer they are."""
    if len(taking) == 1:  # the bound's own buffer: every row sorts before the unread ones
        return taking[0].buffer, [len(taking[0].buffer)]
    starts = np.cumsum([0] + [len(c.buffer) for c in taking])
    order = order_of(pd.concat([c.keys for c in taking], ignore_index=True), descending)
    cut = len(order)
    if bound is not None:
        last_of_bound = starts[taking.index(bound) + 1] - 1
        cut = int(np.flatnonzero(order == last_of_bound)[0]) + 1
    chosen = order[:cut]
    which = np.searchsorted(starts, chosen, side="right") - 1
    counts = np.bincount(which, minlength=len(taking))
    # Each buffer gives a prefix of its rows: gather the prefixes, then put them in order.
    firsts = np.cumsum(np.concatenate(([0], counts[:-1])))
    pieces = [c.buffer.iloc[:n] for c, n in zip(taking, counts, strict=True) if n]
    return pd.concat(pieces).take(chosen - starts[which] + firsts[which]), counts.tolist()


# -- the reducer ----------------------------------------------------------------------------
class ExternalSort:
    """A compute reducer: sorts every surviving row, spilling sorted runs to ``path``.

    ``add`` sorts and spills each chunk (of ``columns``); ``finish`` merges the
    runs into the sink, ``output`` (None: all) of the columns of each row.
    Memory holds about one chunk.
    """

    full = False  # every row may sort first

    def __init__(self, sink, by, descending: bool, path: str, columns: list[str],
                 output: list[str] | None = None, index_names=()):  # fmt: skip
        self.sink, self.by, self.descending = sink, list(by), descending
        self.output, self.index_names = output, tuple(index_names)
        self.runs = RunFile(path)
        self.empty = pd.DataFrame(columns=columns)  # the result if no row survives
        self.largest = 0

    def add(self, frame: pd.DataFrame) -> None:
        self.empty = frame.iloc[:0].copy()  # the real dtypes; a view would keep the chunk
        if len(frame):
            self.runs.write(frame, sort_order(frame, self.by, self.descending, self.index_names))
            self.largest = max(self.largest, len(frame))

    def finish(self) -> None:
        """Write the sorted rows to the sink, and remove the runs."""
        try:
            if not self.runs.runs:
                self._write(self.empty)
                return
            buffer_rows = int(self.largest * BUFFER_SHARE)
            merge(self.runs, self._keys, self.descending, self._write, buffer_rows)
        finally:
            self.discard()

    def discard(self) -> None:
        self.runs.remove()

    def _keys(self, frame: pd.DataFrame) -> pd.DataFrame:
        return key_frame(frame, self.by, self.index_names)

    def _write(self, frame: pd.DataFrame) -> None:
        self.sink.append(frame if self.output is None else frame[self.output])
