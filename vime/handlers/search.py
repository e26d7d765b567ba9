"""Handlers for search and count: whole-table scans, run in a worker process."""

from __future__ import annotations

from vime import params as p
from vime.errors import InvalidParams

DIRECTIONS = ("forward", "backward")
CASES = ("smart", "ignore", "match")


def search(state, params) -> dict:
    """The next row after (or before) from_row whose cells show text, or that a query keeps."""
    from vime import search as engine

    table = state.table(p.string(params, "name"), p.string(params, "path", None))
    text, query = p.string(params, "text", None), p.string(params, "query", None)
    if (text is None) == (query is None):
        raise InvalidParams("search: give either 'text' or 'query'")
    from_row = p.integer(params, "from_row", 0, minimum=-1)
    forward = p.choice(params, "direction", DIRECTIONS, "forward") == "forward"
    if query is not None:
        matcher = engine.QueryMatcher(query, table)
    else:
        columns = p.string_list(params, "columns", None)
        shown = table.select_columns(columns) if columns is not None else list(table.columns)
        regex = p.boolean(params, "regex", False)
        case = p.choice(params, "case", CASES, "smart")
        # Given columns are the only ones searched; by default the index is too.
        matcher = engine.TextMatcher(text, shown, regex, case, with_index=columns is None)
    wrap = p.boolean(params, "wrap", True)
    return {"name": table.name, **engine.find(table, matcher, from_row, forward, wrap,
                                              state.progress)}  # fmt: skip


def count(state, params) -> dict:
    """How many rows a query keeps."""
    from vime import search as engine

    table = state.table(p.string(params, "name"), p.string(params, "path", None))
    query = p.string(params, "query")
    return {"name": table.name, "count": engine.count(table, query, state.progress),
            "rows": table.rows}  # fmt: skip
