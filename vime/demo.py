"""Write the demo file: ``python -m vime.demo [path] [--rows N] [--force]``.

One HDF5 file with every kind of table vime shows: a pandas time series in
``table`` format, a ``fixed``-format frame, an h5py compound dataset, a 3-D
cube and attributes on the file and the datasets. An existing file is kept
unless ``--force`` is given, so the demo command starts fast the second time.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from vime.atomic import replaced_on_success

ROWS = 1_000_000


def default_path() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "vime" / "vime-demo.h5"


def time_series(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """A sensor log: a slow wave with noise, a random walk, counts and a flag."""
    t = np.arange(rows)
    signal = np.sin(2 * np.pi * t / 50_000) * 3 + rng.normal(scale=0.5, size=rows)
    return pd.DataFrame(
        {
            "signal": signal,
            "temperature": 20 + np.cumsum(rng.normal(scale=0.01, size=rows)),
            "pressure": rng.normal(1013, 5, size=rows).astype("float32"),
            "count": rng.poisson(4, size=rows).astype("int64"),
            "alarm": signal > 3,
            "station": pd.Categorical(rng.choice(["north", "south", "east"], size=rows)),
        },
        index=pd.date_range("2024-01-01", periods=rows, freq="s", name="time"),
    )


def summary_frame(rng: np.random.Generator) -> pd.DataFrame:
    runs = 500
    return pd.DataFrame(
        {
            "run": np.arange(runs),
            "label": [f"run-{i:03d}" for i in range(runs)],
            "mean": rng.normal(size=runs),
            "std": rng.gamma(2.0, size=runs),
            "ok": rng.random(runs) > 0.1,
        }
    )


def events(rng: np.random.Generator) -> np.ndarray:
    """Detector hits as a compound dataset with a nested position field."""
    position = np.dtype([("x", "f4"), ("y", "f4")])
    kind = np.dtype([("id", "i8"), ("energy", "f8"), ("detector", "S8"), ("position", position)])
    count = 20_000
    hits = np.zeros(count, dtype=kind)
    hits["id"] = np.arange(count)
    hits["energy"] = rng.exponential(50.0, size=count)
    hits["detector"] = rng.choice([b"alpha", b"beta", b"gamma"], size=count)
    hits["position"]["x"] = rng.normal(size=count)
    hits["position"]["y"] = rng.normal(size=count)
    return hits


def cube(rng: np.random.Generator) -> np.ndarray:
    """A 3-D field: 12 time steps of a 64 x 64 grid."""
    y, x = np.mgrid[0:64, 0:64] / 64.0
    steps = [np.sin(6 * x + k / 2) * np.cos(4 * y) for k in range(12)]
    return (np.stack(steps) + rng.normal(scale=0.05, size=(12, 64, 64))).astype("float32")


def write_demo(path: Path, rows: int = ROWS) -> Path:
    """Write the demo file under a temporary name, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_on_success(path) as partial:
        rng = np.random.default_rng(7)
        time_series(rows, rng).to_hdf(
            partial, key="sensors/timeseries", format="table", data_columns=["signal", "count"]
        )
        summary_frame(rng).to_hdf(partial, key="runs/summary", format="fixed")
        with h5py.File(partial, "a") as f:
            f.attrs["title"] = "vime demo file"
            f.attrs["created_by"] = "python -m vime.demo"
            f.attrs["rows"] = rows
            hits = f.create_dataset("detector/events", data=events(rng), chunks=True,
                                    compression="gzip")  # fmt: skip
            hits.attrs["units"] = "keV"
            field = f.create_dataset("field/cube", data=cube(rng), chunks=(1, 64, 64))
            field.attrs["axes"] = ["time", "y", "x"]
            field.attrs["description"] = "12 time steps of a 64 x 64 grid"
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vime.demo", description=__doc__)
    parser.add_argument("path", nargs="?", type=Path, default=default_path())
    parser.add_argument("--rows", type=int, default=ROWS, help="rows of the time series")
    parser.add_argument("--force", action="store_true", help="rewrite an existing file")
    args = parser.parse_args(argv)
    if args.force or not args.path.exists():
        sys.stderr.write(f"vime: writing the demo file {args.path}\n")
        write_demo(args.path, args.rows)
    # The path is the command's output, for scripts such as bin/vime-demo.
    sys.stdout.write(f"{args.path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
