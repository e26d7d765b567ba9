"""The `plot` method: braille plots and heatmaps of table columns, read in chunks.

Columns come as numpy arrays (``Table.arrays``), a chunk at a time, so memory
holds one chunk whatever the table's length. A line over row numbers, or over
an x column whose first and last rows hold its extremes, is drawn in one pass;
other plots read the ranges first (see vime/plot.py). A range of at most
KEEP_ROWS rows is kept between the passes instead of being read again. Every
chunk read is reported through ``state.progress``.
"""

from __future__ import annotations

import itertools

from vime import params as p
from vime.errors import InvalidParams, NoSuchColumn, PlotFailed

# Rows per read. A read costs more than its plotted columns (a pandas table's
# field holds a block of columns; the engine makes a few temporaries per value):
# 64k rows hold a worker's own memory to ~18 MB (250k: ~40 MB) on the benchmark
# table, and plot as fast (its blocks stay in the CPU's cache).
CHUNK_ROWS = 65_536
KEEP_ROWS = 1_000_000
# A heatmap reads row chunks of about this many bytes of its matrix.
HEAT_CHUNK_BYTES = 16 << 20
MAX_WIDTH, MAX_HEIGHT = 1000, 1000
TYPES = ("line", "scatter", "hist", "heat")


class PlotRequest:
    """The plot params, checked. A plain class: dataclasses cost start-up time."""

    def __init__(self, params: dict, kind: str, x, ys: list | None):
        from vime.plot import MIN_HEIGHT, MIN_WIDTH

        self.kind = kind
        self.x = x  # None: the row number
        self.ys = ys
        self.width = _bounded(params, "width", 72, MIN_WIDTH, MAX_WIDTH)
        self.height = _bounded(params, "height", 20, MIN_HEIGHT, MAX_HEIGHT)
        self.bins = p.integer(params, "bins", None, minimum=1)
        self.log_x = p.boolean(params, "logx", False)
        self.log_y = p.boolean(params, "logy", False)
        self.reduce = p.choice(params, "reduce", ("mean", "max"), "mean")
        self.color = p.boolean(params, "color", True)
        self.plane = p.int_list(params, "plane", None)


def plot(state, params) -> dict:
    request = _read_request(params)
    table = state.table(p.string(params, "name", None), p.string(params, "path", None))
    start, stop = _row_range(table, params)
    if request.kind == "heat":
        return _heat(state, table, request, start, stop)
    x = None if request.x is None else _column_name(table, request.x)
    ys = [_column_name(table, ref) for ref in request.ys]
    return _braille(state, table, request, x, ys, start, stop)


def _read_request(params: dict) -> PlotRequest:
    kind = p.choice(params, "type", TYPES, "line")
    x = p.column_ref(params, "x", None)
    ys = p.column_refs(params, "y", None)
    cols = p.column_refs(params, "cols", None)
    if cols is not None:
        if x is not None or ys is not None:
            raise InvalidParams("plot: give either 'cols' or 'x'/'y', not both")
        if len(cols) not in (1, 2):
            raise InvalidParams(f"param 'cols' must be [x, y] or [y], got {len(cols)} columns")
        x, ys = (None, cols) if len(cols) == 1 else (cols[0], cols[1:])
    if kind == "hist" and ys is None and x is not None:
        x, ys = None, [x]
    request = PlotRequest(params, kind, x, ys)
    _check_request(request, params)
    return request


def _check_request(request: PlotRequest, params: dict) -> None:
    kind, x, ys = request.kind, request.x, request.ys
    if kind == "hist" and (x is not None or (ys is not None and len(ys) != 1)):
        raise InvalidParams("plot: type 'hist' takes one column, given as 'y'")
    if request.bins is not None and kind != "hist":
        raise InvalidParams("param 'bins' is only for type 'hist'")
    if "reduce" in params and kind != "heat":
        raise InvalidParams("param 'reduce' is only for type 'heat'")
    if kind == "heat":
        if (x is None) != (ys is None) or (ys is not None and len(ys) != 1):
            raise InvalidParams(
                "plot: type 'heat' takes no columns (the table as a matrix) "
                "or one 'x' and one 'y' (their 2-D histogram)"
            )
        if request.log_x or request.log_y:
            raise InvalidParams("params 'logx' and 'logy' are not for type 'heat'")
    elif not ys:
        raise InvalidParams("plot: missing param 'y' (the column to plot)")


def _bounded(params: dict, key: str, default: int, minimum: int, maximum: int) -> int:
    value = p.integer(params, key, default, minimum=minimum)
    if value > maximum:
        raise InvalidParams(f"param '{key}' must be <= {maximum}, got {value}")
    return value


def _column_name(table, ref) -> str:
    """A column by name or position, or an index level by name (or as "index"); a
    digit string that names nothing is a position."""
    columns = table.columns
    if isinstance(ref, str) and table.index_level(ref) is not None:
        return ref
    if type(ref) is int or (ref not in columns and ref.isdigit()):
        index = int(ref)
        if not 0 <= index < len(columns):
            raise NoSuchColumn(
                f"{table.where}: no column at position {index}; positions are 0..{len(columns) - 1}"
            )
        return columns[index]
    return table.select_columns([ref])[0]  # raises NoSuchColumn naming the columns


def _row_range(table, params: dict) -> tuple[int, int]:
    start = p.integer(params, "start", 0, minimum=0)
    stop = p.integer(params, "stop", None, minimum=0)
    first, last = table.clamp(start, table.rows if stop is None else stop)
    if first < last:
        return first, last
    if table.rows == 0:
        why = "the table has no rows"
    elif start >= table.rows:
        why = f"start {start} is past the end (the table has {table.rows} rows)"
    else:
        why = f"start {start} and stop {stop} select no rows"
    raise PlotFailed(f"{table.where}: {why}: nothing to plot")


def _title(what: str, table, plane, notes: list[str]) -> str:
    where = table.name + (f" plane {list(table.check_plane(plane))}" if table.plane_axes else "")
    return "  ".join([f"Plot: {what}  ({where})", *notes])


# -- braille plots ------------------------------------------------------------------
def _braille(state, table, request: PlotRequest, x, ys, start: int, stop: int) -> dict:
    from vime import plot as engine

    reader = ChunkReader(state, table, [x, *ys] if x else ys, start, stop, request.plane)
    x_ends = reader.ends(x) if x and request.kind == "line" else None
    try:
        figure = engine.plot_chunks(
            reader.pairs(x, ys),
            kind=request.kind,
            width=request.width,
            height=request.height,
            x_name=x or "row",
            y_names=ys,
            bins=request.bins,
            first_row=start,
            rows=stop - start,
            x_ends=x_ends,
            log_x=request.log_x,
            log_y=request.log_y,
        )
    except PlotFailed as failure:
        raise PlotFailed(f"{table.where}: {failure.message}") from None
    hist = request.kind == "hist"
    x_label, y_label = (ys[0], "count") if hist else (x or "row", ", ".join(ys))
    notes = [f"dropped {figure.nonpositive} ≤ 0"] if figure.nonpositive else []
    title = _title(f"{y_label} vs {x_label}", table, request.plane, notes)
    return {
        "content": "\n".join([title, "", *figure.lines]),
        "x": x_label,
        "y": ys if len(ys) > 1 else y_label,
        "points": figure.points,
        "dropped": figure.dropped,
        "nonpositive": figure.nonpositive,
        "spans": [
            {"series": series, "line": line + 2, "col_start": first, "col_end": end}
            for series, line, first, end in figure.spans
        ],
    }


class ChunkReader:
    """The named columns of rows [start, stop), chunk by chunk, for any number of passes.

    Reports progress per chunk (a second pass doubles the total) and keeps
    a short range in memory after the first pass.
    """

    def __init__(self, state, table, names: list[str], start: int, stop: int, plane):
        self.state, self.table = state, table
        self.names = list(dict.fromkeys(names))
        self.start, self.stop, self.plane = start, stop, plane
        self.kept: list | None = None
        self.passes = self.done = 0

    def chunks(self):
        if self.kept is not None:
            yield from self.kept
            return
        keep = [] if self.stop - self.start <= KEEP_ROWS else None
        self.passes += 1
        total = (self.stop - self.start) * self.passes
        read = self.table.arrays(self.names, self.start, self.stop, CHUNK_ROWS, self.plane)
        for chunk in self.state.locked_chunks(read):
            self.done += len(next(iter(chunk.values())))
            self.state.progress(self.done, total, unit="rows")
            if keep is not None:  # compact: a column may be a view of a whole block's read
                keep.append({name: _compact(values) for name, values in chunk.items()})
            yield chunk
        self.kept = keep

    def pairs(self, x: str | None, ys: list[str]):
        """The engine's reader: (x or None, [y, ...]) per chunk."""

        def read():
            for chunk in self.chunks():
                yield (chunk[x] if x else None), [chunk[y] for y in ys]

        return read

    def ends(self, name: str) -> tuple:
        """The column's values in the first and the last row, read alone."""
        return tuple(self.row(name, row) for row in (self.start, self.stop - 1))

    def row(self, name: str, row: int):
        read = self.table.arrays([name], row, row + 1, 1, self.plane)
        return next(iter(self.state.locked_chunks(read)))[name]


def _compact(values):
    """The values in an array of their own: a pandas table's column comes as a view of
    its block's field (six columns of the benchmark's table), which keeping would keep."""
    import numpy as np

    if isinstance(values, np.ndarray) and values.base is not None:
        return values.copy()
    return values


# -- heatmaps ---------------------------------------------------------------------------
def _heat(state, table, request: PlotRequest, start: int, stop: int) -> dict:
    from vime import heatmap

    size = {"width": request.width, "height": request.height, "color": request.color}
    try:
        if request.x is None:
            x_label, y_label = "column", "row"
            blocks = MatrixReader(state, table, start, stop, request.plane)
            figure = heatmap.heat_matrix(
                blocks.blocks, rows=stop - start, cols=len(table.columns), first_row=start,
                reduce=request.reduce, x_name=x_label, y_name=y_label, **size,
            )  # fmt: skip
            what = f"heat, {request.reduce} per cell" if figure.reduced else "heat"
        else:
            x_label, y_label = _column_name(table, request.x), _column_name(table, request.ys[0])
            reader = ChunkReader(state, table, [x_label, y_label], start, stop, request.plane)

            def pairs():
                return ((chunk[x_label], chunk[y_label]) for chunk in reader.chunks())

            figure = heatmap.heat_histogram(pairs, x_name=x_label, y_name=y_label, **size)
            what = f"heat of counts, {y_label} vs {x_label}"
    except PlotFailed as failure:
        raise PlotFailed(f"{table.where}: {failure.message}") from None
    notes = [] if request.color else ["no colour: dot density"]
    result = {
        "content": "\n".join([_title(what, table, request.plane, notes), "", *figure.lines]),
        "x": x_label,
        "y": y_label,
        "points": figure.points,
        "dropped": figure.dropped,
        "range": list(figure.value_range),
        "palette": [list(colour) for colour in figure.palette],
        "cells": [[line + 2, *rest] for line, *rest in figure.cells],
    }
    if request.x is None:
        result["reduce"] = request.reduce
    return result


class MatrixReader:
    """Rows [start, stop) of a table (a plane) as 2-D float blocks of about
    HEAT_CHUNK_BYTES: as stored when the table is a plain numeric array (no
    DataFrame): the file's own bytes when they are the values (``mapped_rows``),
    else read into one reused buffer in whole storage chunks; other tables
    column by column. A block is valid until the next one is read.

    Reading the next block in a thread while this one is reduced does not
    pay: the reduction holds the GIL, and the two contend for memory
    bandwidth (measured: no faster on 2 cores, and one more buffer)."""

    def __init__(self, state, table, start: int, stop: int, plane):
        import numpy as np

        self.state, self.table = state, table
        self.start, self.stop, self.plane = start, stop, plane
        with state.lock:
            probe = table.raw(start, start + 1, plane)
            columns = len(table.columns)
            plain = probe.dtype.names is None and probe.dtype.kind in "biuf"
            self.stored = plain and probe.ndim == 2 and probe.shape[1] == columns
            stored_rows = _rows_per_storage_chunk(table) if self.stored else 1
        self.dtype = probe.dtype
        # The bytes of a block as it is reduced: float32 and float64 as stored, any
        # other type as float64 (vime.heatmap sums it so).
        as_stored = self.stored and probe.dtype in (np.float32, np.float64)
        item = probe.dtype.itemsize if as_stored else 8
        self.chunk_rows = _rows_per_read(columns * item, stored_rows)

    def blocks(self):
        import numpy as np

        from vime.plot import as_numbers

        mapped = self.table.mapped_rows(self.start, self.stop, self.plane) if self.stored else None
        if mapped is not None:
            # The file's own bytes, through the page cache: no copy to make at all.
            reads = mapped
        elif self.stored:
            # One buffer for every read: no new memory to fault in per block, and
            # the block is still in the cache when it is reduced.
            rows = min(self.chunk_rows, self.stop - self.start)
            buffer = np.empty((rows, len(self.table.columns)), dtype=self.dtype)
            reads = (
                self.table.raw(first, last, self.plane, out=buffer[: last - first])
                for first, last in _aligned_reads(self.start, self.stop, self.chunk_rows)
            )
        else:
            names = list(self.table.columns)
            chunks = self.table.arrays(names, self.start, self.stop, self.chunk_rows, self.plane)
            reads = (
                np.column_stack([as_numbers(chunk[name], name)[0] for name in names])
                for chunk in chunks
            )
        done = 0
        for block in self.state.locked_chunks(reads):
            done += len(block)
            self.state.progress(done, self.stop - self.start, unit="rows")
            yield block


def _rows_per_storage_chunk(table) -> int:
    """Rows per storage chunk of a whole dataset whose last two axes are the rows and
    the columns; 1 when unknown (a slice, a contiguous dataset)."""
    chunks = table.storage().get("chunks")
    if table.selection is not None or not chunks or len(chunks) != len(table.shape):
        return 1
    return int(chunks[-2]) if len(chunks) >= 2 else 1


def _rows_per_read(row_bytes: int, stored_rows: int) -> int:
    """About HEAT_CHUNK_BYTES of rows, in whole storage chunks when one fits: a chunk
    split between two reads would be read (and decompressed) twice."""
    rows = max(1, HEAT_CHUNK_BYTES // max(1, row_bytes))
    return rows // stored_rows * stored_rows if stored_rows <= rows else rows


def _aligned_reads(start: int, stop: int, step: int):
    """(first, last) row ranges covering [start, stop), cut at the multiples of step."""
    cuts = range((start // step + 1) * step, stop, step)
    return itertools.pairwise([start, *cuts, stop])
