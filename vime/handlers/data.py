"""Handlers for the data methods: open, tables, table, info, columns, close.

numpy, pandas and h5py are imported inside the functions (through
vime.loaders), so that the process starts and answers ``ping`` fast.
"""

from __future__ import annotations

from vime import params as p
from vime.errors import InvalidParams

DEFAULT_COUNT = 100
DEFAULT_COL_COUNT = 50  # columns in a page: wide datasets are paged across too
MAX_LISTED_COLUMNS = 10_000  # `columns` lists at most these (a wide dataset has millions)


def open_file(state, params) -> dict:
    path = p.string(params, "path", None) or p.string(params, "file", None)
    if not path:
        raise InvalidParams("open: missing param 'path'")
    from vime.loaders import warm_up

    source = state.open(path)
    with state.lock:
        found = state.tables(source.path)
        listing = [table.summary() for table in found]
    warm_up(found)  # the first page then finds its readers imported
    return {"path": source.path, "attrs": source.attrs, "tables": listing,
            **source.write_status()}  # fmt: skip


def domains(state, params) -> dict:
    """What an HSDS folder holds, for completion of hdf5:// paths."""
    from vime.loaders.remote import folder_entries

    folder = p.string(params, "folder")
    return {"folder": folder, "entries": folder_entries(folder)}


def tables(state, params) -> dict:
    """The listing, with the current shapes of a file that another program writes."""
    path = p.string(params, "path", None)
    source = state.source(path)
    with state.lock:
        source.sync()
        listing = source.retrying(lambda: _listing(state, path))
    return {"tables": listing, "path": source.path, **source.write_status()}


def _listing(state, path) -> list[dict]:
    with state.lock:
        return [table.summary() for table in state.tables(path)]


def table(state, params) -> dict:
    """A page; rows a writer added since the last look are there (see Source.sync)."""
    p.string(params, "name")  # a missing name is the first error
    source = state.source(p.string(params, "path", None))
    with state.lock:
        source.sync()
        return source.retrying(lambda: _table_page(state, params))


def _table_page(state, params) -> dict:
    name = p.string(params, "name")
    path = p.string(params, "path", None)
    found = state.table(name, path)
    start, stop = _page_range(found, params)
    plane = p.int_list(params, "plane", None)
    selection = p.string(params, "slice", None)
    with state.lock:
        if selection is not None:
            if plane is not None:
                raise InvalidParams(f"{found.where}: give either 'plane' or 'slice', not both")
            found = found.sliced(selection)
        if p.boolean(params, "fast", False):
            page = _fast_page(found, params, start, stop, plane)
        else:
            page = _page(state, found, params, start, stop, plane)
    state.last_table = (found.name, found.file)
    result = {"name": found.name, "shape": [found.rows, len(found.columns)], **page}
    if selection is not None:
        result["slice"] = found.selection.text
        result["full_shape"] = list(found.shape)
    elif found.plane_axes:
        result["plane"] = list(found.check_plane(plane))
        result["full_shape"] = list(found.shape)
    return result


def _page(state, found, params, start, stop, plane) -> dict:
    """A page of the window of shown columns, as tabulate text."""
    from vime.loaders import format as fmt

    shown = _shown_columns(state, found, params)
    col_start, col_stop = _column_window(found, params, len(shown))
    columns = shown[col_start:col_stop]
    # numpy arrays when every value is a number or a bool: no pandas for plain tables
    rows = found.page_arrays(start, stop, columns=columns, plane=plane)
    if rows is None:
        rows = found.page(start, stop, columns=columns, plane=plane)
        dtypes = [str(dtype) for dtype in rows.dtypes]
    else:
        dtypes = rows.dtypes()
    start, stop = found.clamp(start, stop)
    cols, where = len(found.columns), _where_text(found, plane)
    content = fmt.page_content(found.name, found.rows, cols, start, stop, rows, where)
    return _page_fields(start, stop, col_start, col_stop, columns, dtypes, content)


def _fast_page(found, params, start, stop, plane) -> dict:
    """numpy's printing of the rows as stored: a 2-D view keeps its column window
    (in stored order), records show every field."""
    from vime.loaders import format as fmt

    col_start, col_stop = _column_window(found, params, len(found.columns))
    window = None
    if found.raw_by_position:
        window = range(col_start, col_stop)
    else:
        col_start, col_stop = 0, len(found.columns)
    raw = found.raw(start, stop, plane=plane, columns=window)
    start, stop = found.clamp(start, stop)
    cols, where = len(found.columns), _where_text(found, plane)
    content = fmt.raw_content(found.name, found.rows, cols, start, stop, raw, where)
    columns, dtypes = found.columns[col_start:col_stop], found.dtypes[col_start:col_stop]
    return _page_fields(start, stop, col_start, col_stop, columns, dtypes, content)


def _page_fields(start, stop, col_start, col_stop, columns, dtypes, content) -> dict:
    return {
        "start": start,
        "stop": stop,
        "col_start": col_start,
        "col_stop": col_stop,
        "columns": list(columns),
        "dtypes": list(dtypes),
        "content": content,
    }


def _where_text(found, plane) -> str:
    """What the title line adds after the rows: the plane or the slice shown."""
    if found.selection is not None:
        return f"slice {found.selection.text}"
    if found.plane_axes:
        return f"plane {list(found.check_plane(plane))}"
    return ""


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


def _shown_columns(state, found, params):
    """The columns asked for, else the saved order (file tables only), index names left out.

    A wide dataset's columns stay lazy (vime.loaders.columns): never a list of them all.
    """
    asked = p.string_list(params, "columns", None)
    if asked is not None:
        return found.data_columns(found.select_columns(asked))
    if found.selection is not None:
        return found.columns
    return _saved_order(state.config, found.file, found)


def _saved_order(config, key: str, found):
    """The table's columns in the user's saved order, hidden ones left out."""
    from vime.loaders.columns import Positions, Reordered

    if not isinstance(found.columns, Positions):
        return config.merged(key, found.name, list(found.columns))
    entry = config.entry(key, found.name)
    if not entry.get("order") and not entry.get("hidden"):
        return found.columns
    return Reordered(found.columns, entry.get("order", []), entry.get("hidden", []))


def info(state, params) -> dict:
    from vime.loaders import describe

    found = state.table(p.string(params, "name"), p.string(params, "path", None))
    with state.lock:
        storage = found.storage()
    total = found.rows * describe.passes(found)
    done = 0

    def read_chunks(chunks):
        nonlocal done
        for chunk in state.locked_chunks(chunks):
            done += len(chunk)
            state.progress(done, total, unit="rows")
            yield chunk

    return describe.info(found, storage, read_chunks, lock=state.lock)


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
        config.save(key, found.name, _saved_columns(config, key, found, order, hidden),
                    order=order, hidden=hidden)  # fmt: skip
    merged = _saved_order(config, key, found)
    return {
        "name": found.name,
        "columns": list(merged[:MAX_LISTED_COLUMNS]),
        "column_count": len(merged),
        "hidden": list(config.entry(key, found.name).get("hidden", [])),
    }


def _saved_columns(config, key, found, order, hidden) -> list[str]:
    """The columns the config merges against: all of them, or for a wide dataset
    only the ones named (the rest follow in order, never written out)."""
    from vime.loaders.columns import Positions

    if not isinstance(found.columns, Positions):
        return list(found.columns)
    entry = config.entry(key, found.name)
    named = list(entry.get("order", []) if order is None else order)
    named += entry.get("hidden", []) if hidden is None else hidden
    return list(dict.fromkeys(named))


def close(state, params) -> dict:
    from vime.handlers.watch import stop_watches

    closed = state.close(p.string(params, "path", None))
    stop_watches(state, closed)  # a closed file is followed no more
    return {"closed": closed}
