"""The handler table: every method name, its handler, its summary and params.

Handlers take ``(state, params)`` and return a dict of result fields; the
loop adds ``ok``. A param name ending in ``?`` is optional. Handler modules
import the heavy libraries inside their functions, so that start-up and
``ping`` stay fast. A method marked ``worker`` may read more than a page: the
loop runs its handler in a worker process (vime/worker.py), where it can be
cancelled and pushes progress, and goes on answering meanwhile.
"""

from __future__ import annotations

import importlib


def _resolve(where: str):
    """'data.table' -> vime.handlers.data.table, imported on first use: start-up
    and ``ping`` import no handler module but the table itself."""
    module, _, name = where.rpartition(".")
    return getattr(importlib.import_module(f"vime.handlers.{module}"), name)


class Method:
    __slots__ = ("_handler", "params", "summary", "where", "worker")

    def __init__(self, handler, summary: str, params: dict, worker: bool = False):
        """``handler``: 'module.function' under vime.handlers, or the function."""
        self.where = handler if isinstance(handler, str) else None
        self._handler = None if isinstance(handler, str) else handler
        self.summary = summary
        self.params = params
        self.worker = worker

    @property
    def handler(self):
        if self._handler is None:
            self._handler = _resolve(self.where)
        return self._handler

    def accepts(self) -> set[str]:
        return {name.rstrip("?") for name in self.params}


PATH = {"path?": "file path (default: the file opened last)"}

METHODS: dict[str, Method] = {
    "ping": Method("core.ping", "Version, pid, Python and library versions", {}),
    "methods": Method("core.methods", "Every method with its summary and params; error codes", {}),
    "shutdown": Method("core.shutdown", "Reply, close every file and exit 0", {}),
    "cancel": Method(
        "core.cancel",
        "Cancel a running request (plot, info, export, ...); it replies error -32006",
        {"id?": "id of the request to cancel (default: the newest running one)"},
    ),
    "$/cancelRequest": Method(
        "core.cancel", "LSP's form of cancel, usually sent as a notification", {"id": "request id"}
    ),
    "open": Method(
        "data.open_file",
        "Open an HDF5 file read-only; list its tables",
        {"path": "file to open (alias: file)", "file?": "the seed's name for path"},
    ),
    "domains": Method(
        "data.domains",
        "The domains and folders in an HSDS folder, for completion",
        {"folder": "hdf5://home/u/: an HSDS folder, ending in /"},
        worker=True,
    ),
    "tables": Method("data.tables", "List the tables of a file and its compute results", {**PATH}),
    "table": Method(
        "data.table",
        "A page of rows as text, with columns and dtypes",
        {
            "name": "table name, e.g. /exp/results",
            **PATH,
            "start?": "first row (default 0)",
            "count?": "rows in the page (default 100)",
            "head?": "rows from the start; 0 means all (the seed's form)",
            "columns?": "column names to show, in order",
            "col_start?": "first shown column of the window (default 0)",
            "col_count?": "columns in the window (default 50)",
            "plane?": "index of the 2-D plane of an N-D dataset, e.g. [0, 3]",
            "slice?": "numpy basic indexing of an N-D dataset, e.g. '[0, :, 5:10]' (integers, "
            "start:stop:step, negatives, ...); the result is at most 2-D",
            "fast?": "raw page via numpy, no DataFrame (default false)",
        },
    ),
    "info": Method(
        "data.info",
        "Shape, dtypes, attributes, storage and a describe() summary",
        {"name": "table name", **PATH},
        worker=True,
    ),
    "columns": Method(
        "data.columns",
        "Save the column order of a table and return the merged list",
        {
            "name": "table name",
            **PATH,
            "order?": "column names in the wanted order",
            "hidden?": "column names to hide",
        },
    ),
    "close": Method("data.close", "Close one file, or every file without path", {**PATH}),
    "plot": Method(
        "plot.plot",
        "A braille plot or a heatmap of columns as text, with the cells to colour",
        {
            "name?": "table (default: the table paged last)",
            **PATH,
            "x?": "x column name or position, or the index by its name or as 'index' "
            "(default: row number)",
            "y?": "y column, or a list of them to overlay",
            "cols?": "[x, y], the seed's form",
            "type?": "line | scatter | hist | heat (default line); heat without x/y draws "
            "the table (a plane) as a matrix, with x and y their 2-D histogram",
            "width?": "characters, labels included (default 72)",
            "height?": "lines, labels included (default 20)",
            "start?": "first row (default 0)",
            "stop?": "row after the last (default: all rows)",
            "plane?": "index of the 2-D plane of an N-D dataset, e.g. [0, 3]",
            "bins?": "histogram bins (default: one per character column)",
            "logx?": "log10 x axis (hist: the values); values <= 0 are dropped (default false)",
            "logy?": "log10 y axis (hist: the counts); values <= 0 are dropped (default false)",
            "reduce?": "heat: mean | max of the values a cell covers (default mean)",
            "color?": "heat: colour cells (true, default) or draw braille dot density",
        },
        worker=True,
    ),
    "search": Method(
        "search.search",
        "Find the next row whose cells show a text, or that a query keeps",
        {
            "name": "table name",
            **PATH,
            "text?": "text as the page shows it (a substring, or a regex with regex: true)",
            "query?": "a query expression instead of text, e.g. 'signal > 3'",
            "columns?": "search only these columns (default: the index and every column)",
            "from_row?": "search after this row (backward: before it); default 0, -1 for the top",
            "direction?": "forward | backward (default forward)",
            "wrap?": "go on from the other end (default true); the reply says 'wrapped'",
            "regex?": "text is a regular expression (default false)",
            "case?": "smart | ignore | match (default smart: ignore unless text has capitals)",
        },
        worker=True,
    ),
    "count": Method(
        "search.count",
        "Count the rows a query keeps",
        {"name": "table name", **PATH, "query": "a query expression"},
        worker=True,
    ),
    "compute_start": Method(
        "compute.start",
        "Start a background job; compute_done/compute_error is pushed when it ends",
        {
            "source": "table to read",
            **PATH,
            "query?": "pandas query string, e.g. 'v0 > 3 and label == \"a\"' (checked: columns, "
            "constants, operators, math functions, column.str/.dt; nothing else)",
            "assign?": "object: new column -> pandas expression",
            "columns?": "columns to keep",
            "sort?": "column (or list) to sort the result by",
            "descending?": "sort descending (default false)",
            "groupby?": "column (or list) to group by; without agg, counts rows per group",
            "agg?": "object: column -> aggregation or list of them (count size sum prod min max "
            "first last mean var std median nunique); result columns are <column>_<agg>",
            "limit?": "keep the first N rows of the result",
            "script?": "'file.py:func' runs YOUR code: func(df) -> DataFrame",
            "name?": "name of the result, under /__computed__/ (default: from the request)",
        },
    ),
    "compute_status": Method("compute.status", "State of the running or last job", {}),
    "compute_cancel": Method("compute.cancel", "Cancel the running job", {"job?": "job id"}),
    "drop": Method(
        "compute.drop",
        "Remove a compute result and its file",
        {"name": "result name, /__computed__/...", **PATH},
    ),
    "export": Method(
        "compute.export",
        "Write a table to a new CSV, HDF5 or Parquet file, atomically",
        {
            "name": "table name",
            **PATH,
            "to": "file to write",
            "format?": "csv | hdf5 | parquet (default: from the extension of 'to')",
            "overwrite?": "replace an existing file (default false)",
        },
        worker=True,
    ),
    "watch": Method(
        "watch.watch",
        "Follow a table (or every table) of a file being written; grown is pushed as it grows",
        {
            "name?": "table to follow (default: every table of the file)",
            **PATH,
        },
    ),
    "unwatch": Method(
        "watch.unwatch",
        "Stop following a table (or, without name, the file's tables)",
        {"name?": "table followed (default: the watch of every table)", **PATH},
    ),
}

# Work that only a worker runs, started by a method above (compute_start, watch).
WORKER_TASKS = {"compute_run": "compute.run", "watch_run": "watch.run"}


def handler_for(name: str):
    """The handler a worker runs for a method or a worker task."""
    return _resolve(WORKER_TASKS[name]) if name in WORKER_TASKS else METHODS[name].handler
