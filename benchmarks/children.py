"""The operations a fresh child interpreter runs: the baselines and vime's engine.

Run as ``python -m benchmarks.children OPERATION 'JSON-ARGS'``; the child
prints one JSON line ``{"seconds": ..., "check": ...}``. Unless an operation
says otherwise, the libraries are imported before the clock starts, so the
time is the operation's own, as in a server that has already imported them.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

PAGE_ROWS = 100


def timed(function, *args):
    started = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - started, value


def seed_frame(path: str, key: str, kind: str):
    """The seed's load_table: the whole table as a DataFrame."""
    import h5py
    import pandas as pd

    if kind.startswith("pandas"):
        return pd.read_hdf(path, key)
    with h5py.File(path, "r") as handle:
        return pd.DataFrame(handle[key][()])


def plain(value):
    """A cell as vime shows it: numpy scalars as Python values, bytes decoded."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value.item() if hasattr(value, "item") else value


def page_check(frame) -> dict:
    """The values of a page, as benchmarks.checks compares them with vime's text.

    A nested compound field (a column of records) gives one column per member,
    named as vime names it ('pos.x').
    """
    columns, cells = [], []
    for name in frame.columns:
        values = frame[name].to_numpy()
        for member in values.dtype.names or [None]:
            columns.append(str(name) if member is None else f"{name}.{member}")
            cells.append([plain(v) for v in (values if member is None else values[member])])
    index = [plain(v) for v in frame.index]
    return {"columns": columns, "rows": [list(row) for row in zip(index, *cells, strict=True)]}


def seed_page(args: dict) -> dict:
    """read the whole table, keep 100 rows, tabulate them (the seed's `table`)."""
    from tabulate import tabulate

    def page():
        frame = seed_frame(args["path"], args["key"], args["kind"])
        rows = frame.iloc[args["start"] : args["start"] + PAGE_ROWS]
        return rows, tabulate(rows, headers="keys", tablefmt="plain")

    seconds, (rows, _) = timed(page)
    return {"seconds": seconds, "check": page_check(rows)}


def reference_page(args: dict) -> dict:
    """The page's values regenerated from the seeded writer of the reference table."""
    from benchmarks.generate import chunk_bounds, frame_chunk

    start = args["start"]
    first, last = next((a, b) for a, b in chunk_bounds(args["rows"]) if a <= start < b)
    chunk = frame_chunk(first, last)
    page = chunk.iloc[start - first : start - first + PAGE_ROWS]
    return {"seconds": 0.0, "check": page_check(page)}


def h5py_slice(args: dict) -> dict:
    """The floor: h5py reads of exactly the page's rows from the file's own datasets."""
    import h5py

    with h5py.File(args["path"], "r") as handle:
        datasets = [handle[name] for name in args["datasets"]]
        start, stop = args["start"], args["start"] + PAGE_ROWS
        seconds, arrays = timed(lambda: [dataset[start:stop] for dataset in datasets])
    return {"seconds": seconds, "check": len(arrays[0])}


def pandas_open(args: dict) -> dict:
    """pd.HDFStore + keys + every storer's rows and cols, pandas import included."""
    started = time.perf_counter()
    import pandas as pd

    shapes = {}
    with pd.HDFStore(args["path"], mode="r") as store:
        keys = store.keys()
        for key in keys:
            storer = store.get_storer(key)
            if storer.nrows is not None:
                shapes[key] = [int(storer.nrows), int(storer.ncols)]
            else:  # fixed format: the storer knows its shape, not nrows
                shapes[key] = [int(n) for n in storer.shape]
    return {"seconds": time.perf_counter() - started, "check": shapes}


def seed_info(args: dict) -> dict:
    """read the whole table, describe() it and tabulate the summary (the seed's `info`).

    describe()'s statistics are the check.
    """
    from tabulate import tabulate

    def info():
        frame = seed_frame(args["path"], args["key"], args["kind"])
        summary = frame.describe()
        dtypes = tabulate(frame.dtypes.astype(str).to_frame("dtype"), tablefmt="plain")
        return summary, dtypes + "\n" + tabulate(summary, headers="keys", tablefmt="plain")

    seconds, (summary, _) = timed(info)
    check = {column: {k: float(v) for k, v in stats.items()} for column, stats in summary.items()}
    return {"seconds": seconds, "check": check}


def seed_filter(args: dict) -> dict:
    """read the whole table, then DataFrame.query (the seed's compute)."""
    import pandas as pd

    pd.DataFrame({"v0": [0.0]}).query(args["query"])  # load numexpr before the clock
    seconds, result = timed(lambda: pd.read_hdf(args["path"], args["key"]).query(args["query"]))
    return {"seconds": seconds, "check": page_check(result) if args["check"] else len(result)}


def seed_file_plot(args: dict) -> dict:
    """read the whole table, then draw one column against row numbers with vime's engine.

    Its lines are the check: vime's streamed plot of the file must be this picture.
    """
    import pandas as pd

    from vime.plot import braille_plot

    def plot():
        column = pd.read_hdf(args["path"], args["key"])[args["y"]].to_numpy(dtype="float64")
        return braille_plot(None, column, y_name=args["y"], **PLOT_SIZE)

    seconds, lines = timed(plot)
    return {"seconds": seconds, "check": lines}


PLOT_SIZE = {"width": 72, "height": 20}
# uniplot sizes its canvas without labels; this gives about the same braille area.
UNIPLOT_SIZE = {"width": 60, "height": 17}


def as_lines(text) -> list[str]:
    return text if isinstance(text, list) else text.splitlines()


def memory_points(count: int):
    """The same seeded arrays for both engines: a random walk against row numbers."""
    import numpy as np

    rng = np.random.default_rng(5)
    return np.arange(count, dtype="float64"), np.cumsum(rng.standard_normal(count))


def engine_plot(args: dict) -> dict:
    """One in-memory plot of ``count`` points by vime's engine or by uniplot."""
    x, y = memory_points(args["count"])
    line = args["type"] == "line"
    if args["engine"] == "uniplot":
        from uniplot import plot_to_string

        def draw(xs, ys):
            return plot_to_string(ys, xs, lines=line, **UNIPLOT_SIZE)
    else:
        from vime.plot import braille_plot

        def draw(xs, ys):
            return braille_plot(xs, ys, kind=args["type"], **PLOT_SIZE)

    draw(x[:1000], y[:1000])  # first-call costs (imports, caches) stay off the clock
    seconds, text = timed(draw, x, y)
    return {"seconds": seconds, "check": len(as_lines(text))}


# -- floors: one chunked read of only what an operation needs ------------------------
def field_floor(args: dict) -> dict:
    """One chunked PyTables read of the fields that hold the columns (the plot's floor).

    The check is the rows read per field.
    """
    import tables

    with tables.open_file(args["path"], "r") as handle:
        table = handle.get_node(args["key"]).table

        def read():
            total = 0
            for start in range(0, table.nrows, args["chunk_rows"]):
                stop = min(start + args["chunk_rows"], table.nrows)
                for field in args["fields"]:
                    total += len(table.read(start, stop, field=field))
            return total // len(args["fields"])

        seconds, rows = timed(read)
    return {"seconds": seconds, "check": rows}


def plane_floor(args: dict) -> dict:
    """One read of a 2-D dataset in whole chunks of rows, about 16 MB a read at most.

    Reads are aligned to the dataset's chunks, so that no chunk is read twice.
    """
    import h5py

    with h5py.File(args["path"], "r") as handle:
        plane = handle[args["name"]]
        rows, cols = plane.shape
        chunk = plane.chunks[0] if plane.chunks else 1
        step = max(chunk, (16 << 20) // (cols * plane.dtype.itemsize) // chunk * chunk)
        seconds, total = timed(lambda: sum(len(plane[s : s + step]) for s in range(0, rows, step)))
    return {"seconds": seconds, "check": total}


# -- vime's handler without the worker: the floor of the worker's overhead -----------
def inprocess_handler(args: dict) -> dict:
    """A method's handler run in this process, as the request loop once ran it.

    The handler first runs on the warm-up request (imports, caches), and the
    file is opened before the clock, as the backend has it open; the check is
    the reply's fields named in ``check``.
    """
    from vime.handlers import METHODS
    from vime.state import State

    handler = METHODS[args["method"]].handler
    files = [args["warmup_path"], args["path"]]
    snapshot = {"files": files, "swmr": [], "current": args["path"], "last_table": None}
    state = State.in_worker(snapshot)  # as the loop's snapshot: files nobody writes
    handler(state, {**args["warmup_params"], "path": args["warmup_path"]})
    state.source(args["path"])
    seconds, result = timed(handler, state, {**args["params"], "path": args["path"]})
    state.close()
    return {"seconds": seconds, "check": {key: result[key] for key in args["check"]}}


# -- pictures of in-memory data: what a plot from the file must equal ------------------
def column_picture(args: dict) -> dict:
    """vime's engine drawing whole columns read into memory (PyTables, one read each)."""
    import numpy as np
    import tables

    from vime.plot import braille_plot

    with tables.open_file(args["path"], "r") as handle:
        table = handle.get_node(args["key"]).table
        columns = {}
        for name, (field, position) in args["columns"].items():
            columns[name] = np.asarray(table.read(field=field)[:, position], dtype="float64")
    x = columns[args["x"]] if args.get("x") else None
    y = columns[args["y"]]
    lines = braille_plot(
        x, y, kind=args["type"], x_name=args.get("x") or "row", y_name=args["y"], **PLOT_SIZE
    )
    return {"seconds": 0.0, "check": as_lines(lines)}


def plane_picture(args: dict) -> dict:
    """vime's heatmap of the whole plane read into memory at once."""
    import h5py

    from vime.heatmap import heat_matrix

    with h5py.File(args["path"], "r") as handle:
        plane = handle[args["name"]][()]
    rows, cols = plane.shape
    figure = heat_matrix(lambda: [plane], rows=rows, cols=cols, **PLOT_SIZE)
    return {
        "seconds": 0.0,
        "check": {
            "lines": figure.lines,
            "range": list(figure.value_range),
            "cells": [list(c) for c in figure.cells],
        },
    }


# -- pandas' way of the compute and export rows -----------------------------------------
def pages_at(frame, starts: list[int]) -> dict:
    """The pages of ``frame`` at these row positions, by position (JSON keys are text)."""
    return {str(start): page_check(frame.iloc[start : start + PAGE_ROWS]) for start in starts}


def result_starts(rows: int) -> list[int]:
    """Where the compute rows check a result: its first, middle and last page."""
    return sorted({0, max(0, rows // 2 - PAGE_ROWS // 2), max(0, rows - PAGE_ROWS)})


def seed_filter_to_file(args: dict) -> dict:
    """read_hdf + query + to_hdf of the result (pandas table format, as vime writes)."""
    import pandas as pd

    pd.DataFrame({"v0": [0.0]}).query(args["query"])  # load numexpr before the clock

    def compute():
        result = pd.read_hdf(args["path"], args["key"]).query(args["query"])
        result.to_hdf(args["to"], key="result", format="table", mode="w")
        return result

    seconds, result = timed(compute)
    check = {"rows": len(result)}
    if args["check"]:
        check["pages"] = pages_at(result, result_starts(len(result)))
    return {"seconds": seconds, "check": check}


def seed_sort(args: dict) -> dict:
    """read_hdf + sort_values (the whole table in memory)."""
    import pandas as pd

    def compute():
        return pd.read_hdf(args["path"], args["key"]).sort_values(args["by"], kind="stable")

    seconds, result = timed(compute)
    check = {"rows": len(result)}
    if args["check"]:
        check["pages"] = pages_at(result, result_starts(len(result)))
    return {"seconds": seconds, "check": check}


def filtered_page(args: dict) -> dict:
    """A page of a query's result, from pandas (the check of the result-page row)."""
    import pandas as pd

    result = pd.read_hdf(args["path"], args["key"]).query(args["query"])
    return {"seconds": 0.0, "check": page_check(result.iloc[args["start"] : args["start"] + 100])}


def reference_count(args: dict) -> dict:
    """How many rows of the reference table a query keeps, from its seeded writer."""
    from benchmarks.generate import chunk_bounds, frame_chunk

    kept = sum(len(frame_chunk(a, b).query(args["query"])) for a, b in chunk_bounds(args["rows"]))
    return {"seconds": 0.0, "check": kept}


def pandas_to_csv(args: dict) -> dict:
    """DataFrame.to_csv of the table (its index first, pandas' default), read before the
    clock; the check is the file's hash."""
    import pandas as pd

    frame = pd.read_hdf(args["path"], args["key"])
    seconds, _ = timed(lambda: frame.to_csv(args["to"]))
    return {"seconds": seconds, "check": file_digest(args["to"])}


def file_digest(path: str) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- HSDS domains (issue 17): loading them, and the bare h5pyd floors --------------------
# The service and its credentials come from the environment (HS_ENDPOINT, HS_USERNAME,
# HS_PASSWORD), as h5pyd reads them; ``service`` lists the service's processes, whose
# CPU time during the timed part is reported beside the child's own time.
def hsds_copy(args: dict) -> dict:
    """A local file copied into a domain with h5pyd directly, as the tests load theirs."""
    from tests.hsds import copy_to_domain

    seconds, _ = timed(copy_to_domain, Path(args["path"]), args["domain"], {})
    return {"seconds": seconds, "check": None}


def hsds_copy_rows(args: dict) -> dict:
    """The first ``rows`` rows of a local dataset written into a new domain, in its chunks
    (as many as fit), a quarter of a million rows a request."""
    import h5py
    import h5pyd

    def copy():
        with h5py.File(args["path"], "r") as source, h5pyd.File(args["domain"], "w") as target:
            local = source[args["name"]]
            rows = args["rows"]
            chunks = (min(local.chunks[0], rows), *local.chunks[1:])
            dataset = target.create_dataset(
                args["name"], shape=(rows, *local.shape[1:]), dtype=local.dtype, chunks=chunks
            )
            for start in range(0, rows, 250_000):
                stop = min(rows, start + 250_000)
                dataset[start:stop] = local[start:stop]

    seconds, _ = timed(copy)
    return {"seconds": seconds, "check": None}


def service_timed(args: dict, function):
    """``function()`` timed, with the CPU time the service's processes spent meanwhile."""
    from benchmarks.processes import cpu_seconds

    before = cpu_seconds(args["service"])
    seconds, value = timed(function)
    return seconds, value, cpu_seconds(args["service"]) - before


def hsds_slice(args: dict) -> dict:
    """The page's floor on a domain: h5pyd reads exactly its rows (the domain and the
    dataset opened before the clock, so the connection is made)."""
    import h5pyd

    with h5pyd.File(args["domain"], "r") as handle:
        dataset = handle[args["name"]]
        start, stop = args["start"], args["start"] + PAGE_ROWS
        seconds, rows, cpu = service_timed(args, lambda: dataset[start:stop])
    return {"seconds": seconds, "check": len(rows), "service_cpu": cpu}


def hsds_column(args: dict) -> dict:
    """A plot's floor on a domain: one column read through h5pyd in chunks of
    ``chunk_rows`` rows, one request after another; of a compound dataset, the field
    that holds it (HSDS sends whole records), then its ``column``."""
    import h5pyd

    with h5pyd.File(args["domain"], "r") as handle:
        dataset = handle[args["name"]]
        field, column, step = args.get("field"), args["column"], args["chunk_rows"]

        def read() -> int:
            total = 0
            for start in range(0, dataset.shape[0], step):
                rows = dataset[start : start + step]
                values = rows[field][:, column] if field else rows[:, column]
                total += len(values)
            return total

        seconds, total, cpu = service_timed(args, read)
    return {"seconds": seconds, "check": total, "service_cpu": cpu}


def dataset_page(args: dict) -> dict:
    """The page of a local 2-D dataset's rows, as vime's check compares it."""
    import h5py
    import pandas as pd

    start, stop = args["start"], args["start"] + PAGE_ROWS
    with h5py.File(args["path"], "r") as handle:
        values = handle[args["name"]][start:stop]
    return {"seconds": 0.0, "check": page_check(pd.DataFrame(values, index=range(start, stop)))}


def dataset_picture(args: dict) -> dict:
    """vime's engine drawing one column of the first ``rows`` rows of a local 2-D dataset."""
    import h5py
    import numpy as np

    from vime.plot import braille_plot

    with h5py.File(args["path"], "r") as handle:
        column = handle[args["name"]][: args["rows"], args["column"]]
    lines = braille_plot(
        None, np.asarray(column, dtype="float64"), y_name=str(args["column"]), **PLOT_SIZE
    )
    return {"seconds": 0.0, "check": as_lines(lines)}


OPERATIONS = {
    "seed_page": seed_page,
    "reference_page": reference_page,
    # The same page in a fresh process with its imports, timed by the parent.
    "cold_seed_page": seed_page,
    "h5py_slice": h5py_slice,
    "pandas_open": pandas_open,
    "seed_info": seed_info,
    "seed_filter": seed_filter,
    "seed_file_plot": seed_file_plot,
    "engine_plot": engine_plot,
    "field_floor": field_floor,
    "plane_floor": plane_floor,
    "inprocess_handler": inprocess_handler,
    "column_picture": column_picture,
    "plane_picture": plane_picture,
    "seed_filter_to_file": seed_filter_to_file,
    "seed_sort": seed_sort,
    "filtered_page": filtered_page,
    "reference_count": reference_count,
    "pandas_to_csv": pandas_to_csv,
    "hsds_copy": hsds_copy,
    "hsds_copy_rows": hsds_copy_rows,
    "hsds_slice": hsds_slice,
    "hsds_column": hsds_column,
    "dataset_page": dataset_page,
    "dataset_picture": dataset_picture,
}

# Imported before the clock starts for the warm operations.
WARM_IMPORTS = ("numpy", "pandas", "h5py", "tables", "tabulate")
COLD = {"pandas_open", "cold_seed_page"}


def main(argv: list[str]) -> None:
    operation, args = argv[0], json.loads(argv[1])
    if operation not in COLD:
        for module in WARM_IMPORTS:
            __import__(module)
    result = OPERATIONS[operation](args)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
