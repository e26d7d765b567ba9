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


def seed_page(args: dict) -> dict:
    """read the whole table, keep 100 rows, tabulate them (the seed's `table`)."""
    from tabulate import tabulate

    def page():
        frame = seed_frame(args["path"], args["key"], args["kind"])
        rows = frame.iloc[args["start"] : args["start"] + PAGE_ROWS]
        return tabulate(rows, headers="keys", tablefmt="plain")

    seconds, text = timed(page)
    return {"seconds": seconds, "check": len(text.splitlines()) - 1}


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
    """read the whole table, describe() it and tabulate the summary (the seed's `info`)."""
    from tabulate import tabulate

    def info():
        frame = seed_frame(args["path"], args["key"], args["kind"])
        dtypes = tabulate(frame.dtypes.astype(str).to_frame("dtype"), tablefmt="plain")
        return dtypes + "\n" + tabulate(frame.describe(), headers="keys", tablefmt="plain")

    seconds, text = timed(info)
    return {"seconds": seconds, "check": len(text)}


def seed_filter(args: dict) -> dict:
    """read the whole table, then DataFrame.query (the seed's compute)."""
    import pandas as pd

    pd.DataFrame({"v0": [0.0]}).query(args["query"])  # load numexpr before the clock
    seconds, result = timed(lambda: pd.read_hdf(args["path"], args["key"]).query(args["query"]))
    return {"seconds": seconds, "check": len(result)}


def seed_file_plot(args: dict) -> dict:
    """read the whole table, then draw one column with vime's engine."""
    import numpy as np
    import pandas as pd

    from vime.plot import braille_plot

    def plot():
        column = pd.read_hdf(args["path"], args["key"])[args["y"]].to_numpy(dtype="float64")
        return braille_plot(np.arange(len(column), dtype="float64"), column, **PLOT_SIZE)

    seconds, text = timed(plot)
    return {"seconds": seconds, "check": len(as_lines(text))}


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
