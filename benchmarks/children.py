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
