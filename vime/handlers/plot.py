"""The `plot` method: a braille plot of table columns, streamed chunk by chunk.

The engine reads the rows twice (ranges first, then drawing). A range of at
most KEEP_ROWS rows is read once and kept for both passes; a longer one is
read again, so that whole columns are never held in memory.
"""

from __future__ import annotations

from vime import params as p
from vime.errors import InvalidParams, NoSuchColumn, PlotFailed

# Rows per read. PyTables reads whole records of a pandas table, so a chunk costs
# more than its plotted columns: 250k rows keep a 10-column table under ~170 MB peak.
CHUNK_ROWS = 250_000
KEEP_ROWS = 1_000_000
MAX_WIDTH, MAX_HEIGHT = 1000, 1000


class PlotRequest:
    """The plot params, checked. A plain class: dataclasses cost start-up time."""

    def __init__(self, kind: str, width: int, height: int, x, ys: list, bins: int | None):
        self.kind = kind
        self.width = width
        self.height = height
        self.x = x  # None: the row number
        self.ys = ys
        self.bins = bins


def plot(state, params) -> dict:
    from vime import plot as engine

    request = _read_request(params, engine)
    table = state.table(p.string(params, "name", None), p.string(params, "path", None))
    x = None if request.x is None else _column_name(table, request.x)
    ys = [_column_name(table, ref) for ref in request.ys]
    start, stop = _row_range(table, params)
    try:
        figure = engine.plot_chunks(
            _reader(state, table, x, ys, start, stop),
            kind=request.kind,
            width=request.width,
            height=request.height,
            x_name=x or "row",
            y_names=ys,
            bins=request.bins,
            first_row=start,
            reject_constant=True,
        )
    except PlotFailed as failure:
        raise PlotFailed(f"{table.where}: {failure.message}") from None
    x_label, y_label = (ys[0], "count") if request.kind == "hist" else (x or "row", ", ".join(ys))
    title = f"Plot: {y_label} vs {x_label}  ({table.name})"
    return {
        "content": "\n".join([title, "", *figure.lines]),
        "x": x_label,
        "y": ys if len(ys) > 1 else y_label,
        "points": figure.points,
        "dropped": figure.dropped,
    }


def _read_request(params: dict, engine) -> PlotRequest:
    kind = p.choice(params, "type", engine.KINDS, "line")
    width = _bounded(params, "width", 72, engine.MIN_WIDTH, MAX_WIDTH)
    height = _bounded(params, "height", 20, engine.MIN_HEIGHT, MAX_HEIGHT)
    x = p.column_ref(params, "x", None)
    ys = p.column_refs(params, "y", None)
    cols = p.column_refs(params, "cols", None)
    if cols is not None:
        if x is not None or ys is not None:
            raise InvalidParams("plot: give either 'cols' or 'x'/'y', not both")
        if len(cols) not in (1, 2):
            raise InvalidParams(f"param 'cols' must be [x, y] or [y], got {len(cols)} columns")
        x, ys = (None, cols) if len(cols) == 1 else (cols[0], cols[1:])
    bins = p.integer(params, "bins", None, minimum=1)
    if kind == "hist":
        if ys is None and x is not None:
            x, ys = None, [x]
        if x is not None or (ys is not None and len(ys) != 1):
            raise InvalidParams("plot: type 'hist' takes one column, given as 'y'")
    elif bins is not None:
        raise InvalidParams("param 'bins' is only for type 'hist'")
    if not ys:
        raise InvalidParams("plot: missing param 'y' (the column to plot)")
    return PlotRequest(kind, width, height, x, ys, bins)


def _bounded(params: dict, key: str, default: int, minimum: int, maximum: int) -> int:
    value = p.integer(params, key, default, minimum=minimum)
    if value > maximum:
        raise InvalidParams(f"param '{key}' must be <= {maximum}, got {value}")
    return value


def _column_name(table, ref) -> str:
    """A column by name or by position; a digit string that names no column is a position."""
    columns = table.columns
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


def _reader(state, table, x: str | None, ys: list[str], start: int, stop: int):
    """The engine's chunk reader: (x or None, [y, ...]) per chunk of rows."""
    names = list(dict.fromkeys([x, *ys] if x else ys))

    def frames():
        chunks = table.chunks(columns=names, start=start, stop=stop, chunk_rows=CHUNK_ROWS)
        return state.locked_chunks(chunks)

    kept = list(frames()) if stop - start <= KEEP_ROWS else None  # one read, both passes

    def column(frame, name: str):
        """A column, or the index when the name is the index's (frames keep it as their index)."""
        level = table.index_level(name)
        return frame[name] if level is None else frame.index.get_level_values(level).to_series()

    def read():
        for frame in frames() if kept is None else kept:
            yield (column(frame, x) if x else None), [column(frame, y) for y in ys]

    return read
