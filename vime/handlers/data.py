"""Handlers for the data methods: open, tables, table, info, columns, close.

numpy, pandas and h5py are imported inside the functions (through
vime.loaders), so that the process starts and answers ``ping`` fast.
"""

from __future__ import annotations

from vime import params as p
from vime.errors import InvalidParams

DEFAULT_COUNT = 100
DEFAULT_COL_COUNT = 50  # columns in a page: wide datasets are paged across too


def open_file(state, params) -> dict:
    path = p.string(params, "path", None) or p.string(params, "file", None)
    if not path:
        raise InvalidParams("open: missing param 'path'")
    from vime.loaders import warm_up

    source = state.open(path)
    listing = _listing(state, source.path)
    warm_up(source)  # the first page then finds pandas imported
    return {"path": source.path, "attrs": source.attrs, "tables": listing}


def tables(state, params) -> dict:
    path = p.string(params, "path", None)
    return {"tables": _listing(state, path), "path": state.source(path).path}


def _listing(state, path) -> list[dict]:
    with state.lock:
        return [table.summary() for table in state.tables(path)]


def table(state, params) -> dict:
    from vime.loaders import format as fmt

    name = p.string(params, "name")
    path = p.string(params, "path", None)
    found = state.table(name, path)
    start, stop = _page_range(found, params)
    plane = p.int_list(params, "plane", None)
    with state.lock:
        if p.boolean(params, "fast", False):
            col_start, col_stop = 0, len(found.columns)
            raw = found.raw(start, stop, plane=plane)
            start, stop = found.clamp(start, stop)
            columns, dtypes = list(found.columns), list(found.dtypes)
            content = fmt.raw_content(
                found.name, found.rows, len(found.columns), start, stop, raw, plane or ()
            )
        else:
            shown = _shown_columns(state, found, params)
            col_start, col_stop = _column_window(found, params, len(shown))
            columns = shown[col_start:col_stop]
            frame = found.page(start, stop, columns=columns, plane=plane)
            start, stop = found.clamp(start, stop)
            dtypes = [str(dtype) for dtype in frame.dtypes]
            content = fmt.page_content(
                found.name, found.rows, len(found.columns), start, stop, frame, plane or ()
            )
    state.last_table = (found.name, found.file)
    result = {
        "name": found.name,
        "shape": [found.rows, len(found.columns)],
        "start": start,
        "stop": stop,
        "col_start": col_start,
        "col_stop": col_stop,
        "columns": columns,
        "dtypes": dtypes,
        "content": content,
    }
    if found.plane_axes:
        result["plane"] = list(found.check_plane(plane))
        result["full_shape"] = list(found.shape)
    return result


def _page_range(found, params) -> tuple[int, int]:
    """[start, stop) from start/count, or from the seed's head (0 means all rows)."""
    head = p.integer(params, "head", None)
    start = p.integer(params, "start", 0)
    count = p.integer(params, "count", DEFAULT_COUNT)
    if head is not None:
        start, count = 0, (found.rows if head == 0 else head)
    for key, value in (("start", start), ("count", count), ("head", head)):
        if value is not None and value < 0:
            raise InvalidParams(f"{found.where}: {key} must be >= 0, got {value}")
    return start, start + count


def _column_window(found, params, shown: int) -> tuple[int, int]:
    """[col_start, col_stop) of the shown columns; past the end gives an empty window."""
    col_start = p.integer(params, "col_start", 0, minimum=0)
    col_count = p.integer(params, "col_count", DEFAULT_COL_COUNT, minimum=1)
    col_start = min(col_start, shown)
    return col_start, min(shown, col_start + col_count)


def _shown_columns(state, found, params) -> list[str]:
    """The columns asked for, else the saved order (file tables only)."""
    asked = p.string_list(params, "columns", None)
    if asked is not None:
        return found.select_columns(asked)
    return state.config.merged(found.file, found.name, list(found.columns))


def info(state, params) -> dict:
    from vime.loaders import describe

    found = state.table(p.string(params, "name"), p.string(params, "path", None))
    with state.lock:
        storage = found.storage()
    return describe.info(found, storage, state.locked_chunks)


def columns(state, params) -> dict:
    found = state.table(p.string(params, "name"), p.string(params, "path", None))
    order = p.string_list(params, "order", None)
    hidden = p.string_list(params, "hidden", None)
    for names in (order, hidden):
        if names is not None:
            found.select_columns(names)  # unknown names fail, naming them
    key = found.file
    config = state.config
    if order is not None or hidden is not None:
        config.save(key, found.name, list(found.columns), order=order, hidden=hidden)
    entry = config.entry(key, found.name)
    return {
        "name": found.name,
        "columns": config.merged(key, found.name, list(found.columns)),
        "hidden": list(entry.get("hidden", [])),
    }


def close(state, params) -> dict:
    return {"closed": state.close(p.string(params, "path", None))}
