"""Reference files for the benchmarks, written once into a cache directory.

The files live outside the repository (they are gigabytes at full size) and
are skipped when they already exist. Each one is written under a temporary
name and renamed, so an interrupted run never leaves a file that looks done.
The data is seeded, so every machine benchmarks the same bytes.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

# Bump when the layout of the files changes, so that stale caches regenerate.
# v2: the compound dataset has as many rows as the other tables (it had a tenth).
LAYOUT = "v2"
CHUNK_ROWS = 1_000_000
FILTER_COLUMN = "v0"
# v0 is standard normal: P(v0 > 2.3263) is 1%, the filter the compute row runs.
FILTER_QUERY = "v0 > 2.3263"
PANDAS_KEY = "/data"
MATRIX_NAME = "/matrix"
RECORDS_NAME = "/records"
# Where pandas stores each column of the reference table: (field of /data/table, position).
TABLE_FIELDS = {
    **{f"v{i}": ("values_block_0", i) for i in range(6)},
    "n0": ("values_block_1", 0),
    "n1": ("values_block_1", 1),
    "n2": ("values_block_2", 0),
    "flag": ("values_block_3", 0),
}
PLANE_NAME = "/plane"
PLANE_WARMUP_NAME = "/small_plane"  # in the plane's file: warms the heatmap untimed
PLANE_CHUNK_ROWS = 256
PLANE_WRITE_ROWS = 1000


@dataclass(frozen=True)
class ReferenceFiles:
    rows: int
    table: Path  # pandas table format, key /data
    fixed: Path  # pandas fixed format, key /data
    matrix: Path  # h5py rows x 8 float64, chunked, /matrix
    records: Path  # h5py compound dataset, /records
    plane: Path  # h5py side x side float32, /plane, for the heatmap rows
    warmup: Path  # tiny file of every kind, to import the libraries untimed

    def all(self) -> list[Path]:
        return [self.table, self.fixed, self.matrix, self.records, self.plane, self.warmup]

    @property
    def plane_side(self) -> int:
        return plane_side(self.rows)


def plane_side(rows: int) -> int:
    """The plane holds as many values as the 10-column table: 10,000 x 10,000 at 10M rows."""
    return math.isqrt(rows * 10)


def default_cache_dir() -> Path:
    configured = os.environ.get("VIME_BENCH_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vime-bench"


def reference_files(cache_dir: Path, rows: int) -> ReferenceFiles:
    folder = Path(cache_dir) / f"{LAYOUT}-rows-{rows}"
    return ReferenceFiles(
        rows=rows,
        table=folder / "table.h5",
        fixed=folder / "fixed.h5",
        matrix=folder / "matrix.h5",
        records=folder / "records.h5",
        plane=folder / "plane.h5",
        warmup=folder / "warmup.h5",
    )


def ensure(files: ReferenceFiles, log=print) -> None:
    """Write every missing reference file."""
    writers = [
        (files.table, lambda tmp: write_pandas_table(tmp, files.rows)),
        (files.fixed, lambda tmp: write_pandas_fixed(tmp, files.rows)),
        (files.matrix, lambda tmp: write_matrix(tmp, files.rows)),
        (files.records, lambda tmp: write_records(tmp, files.rows)),
        (files.plane, lambda tmp: write_plane(tmp, files.plane_side)),
        (files.warmup, write_warmup),
    ]
    for path, write in writers:
        ensure_file(path, write, log)


def ensure_file(path: Path, write, log=print) -> None:
    """Write ``path`` with ``write(temporary path)`` unless it exists."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    log(f"generating {path} ...")
    tmp = path.with_name(path.name + ".partial")
    tmp.unlink(missing_ok=True)
    write(tmp)
    os.replace(tmp, path)


def free_gb(folder: Path) -> float:
    """Free space on the disk that holds ``folder`` (or its nearest existing parent)."""
    folder = Path(folder)
    while not folder.exists():
        folder = folder.parent
    return shutil.disk_usage(folder).free / 1e9


def frame_chunk(start: int, stop: int):
    """Rows [start, stop) of the 10-column reference frame: 6 floats, 3 ints, 1 bool."""
    import numpy as np
    import pandas as pd

    rows = stop - start
    rng = np.random.default_rng([2024, start])
    walk = np.cumsum(rng.normal(size=rows)) + start * 1e-6
    return pd.DataFrame(
        {
            "v0": rng.standard_normal(rows),
            "v1": walk,
            "v2": rng.uniform(-1.0, 1.0, rows),
            "v3": rng.exponential(2.0, rows),
            "v4": np.sin(np.arange(start, stop) / 50_000.0),
            "v5": rng.normal(100.0, 15.0, rows),
            "n0": np.arange(start, stop, dtype="int64"),
            "n1": rng.integers(0, 1000, rows, dtype="int64"),
            "n2": rng.integers(-50_000, 50_000, rows, dtype="int32"),
            "flag": rng.random(rows) < 0.5,
        },
        index=pd.RangeIndex(start, stop),
    )


def chunk_bounds(rows: int):
    for start in range(0, rows, CHUNK_ROWS):
        yield start, min(start + CHUNK_ROWS, rows)


def write_pandas_table(path: Path, rows: int) -> None:
    import pandas as pd

    with pd.HDFStore(path, mode="w") as store:
        for start, stop in chunk_bounds(rows):
            store.append(PANDAS_KEY, frame_chunk(start, stop), format="table", expectedrows=rows)


def write_pandas_fixed(path: Path, rows: int) -> None:
    import pandas as pd

    # The fixed format cannot be appended to: build the whole frame once.
    frame = pd.concat([frame_chunk(start, stop) for start, stop in chunk_bounds(rows)])
    frame.to_hdf(path, key=PANDAS_KEY, format="fixed", mode="w")


def write_matrix(path: Path, rows: int) -> None:
    import h5py
    import numpy as np

    with h5py.File(path, "w") as handle:
        matrix = handle.create_dataset(
            MATRIX_NAME, shape=(rows, 8), dtype="float64", chunks=(min(rows, 65536), 8)
        )
        matrix.attrs["units"] = "volts"
        for start, stop in chunk_bounds(rows):
            rng = np.random.default_rng([7, start])
            matrix[start:stop] = rng.standard_normal((stop - start, 8))


RECORD_DTYPE = [
    ("time", "f8"),
    ("sensor", "i4"),
    ("value", "f4"),
    ("ok", "?"),
    ("label", "S12"),
    ("pos", [("x", "f4"), ("y", "f4")]),
]


def record_chunk(start: int, stop: int):
    import numpy as np

    rng = np.random.default_rng([11, start])
    records = np.zeros(stop - start, dtype=RECORD_DTYPE)
    records["time"] = np.arange(start, stop) * 0.001
    records["sensor"] = rng.integers(0, 64, stop - start)
    records["value"] = rng.normal(size=stop - start)
    records["ok"] = rng.random(stop - start) < 0.9
    records["label"] = np.char.add(b"s", records["sensor"].astype("S3"))
    records["pos"]["x"] = rng.uniform(0, 1, stop - start)
    records["pos"]["y"] = rng.uniform(0, 1, stop - start)
    return records


def write_records(path: Path, rows: int) -> None:
    import h5py

    with h5py.File(path, "w") as handle:
        records = handle.create_dataset(
            RECORDS_NAME, shape=(rows,), dtype=RECORD_DTYPE, chunks=(min(rows, 32768),)
        )
        for start, stop in chunk_bounds(rows):
            records[start:stop] = record_chunk(start, stop)


def plane_rows(start: int, stop: int, side: int):
    """Rows [start, stop) of the plane: smooth waves plus seeded noise, float32."""
    import numpy as np

    rng = np.random.default_rng([13, start])
    y = np.arange(start, stop, dtype=np.float64)[:, None] / side
    x = np.arange(side, dtype=np.float64)[None, :] / side
    waves = np.sin(6 * np.pi * x) * np.cos(4 * np.pi * y) + 2 * x * y
    return (waves + 0.1 * rng.standard_normal((stop - start, side))).astype(np.float32)


def write_plane(path: Path, side: int) -> None:
    """A side x side float32 matrix in chunks of PLANE_CHUNK_ROWS full rows."""
    import h5py

    with h5py.File(path, "w") as handle:
        plane = handle.create_dataset(
            PLANE_NAME,
            shape=(side, side),
            dtype="float32",
            chunks=(min(side, PLANE_CHUNK_ROWS), side),
        )
        for start in range(0, side, PLANE_WRITE_ROWS):
            stop = min(start + PLANE_WRITE_ROWS, side)
            plane[start:stop] = plane_rows(start, stop, side)
        handle.create_dataset(PLANE_WARMUP_NAME, data=plane_rows(0, 64, 64), chunks=(16, 64))


def write_warmup(path: Path) -> None:
    """One small table of every kind: the harness pages it before timing."""
    import h5py

    write_pandas_table(path, 1000)
    frame_chunk(0, 100).to_hdf(path, key="/fixed", format="fixed", mode="a")
    with h5py.File(path, "a") as handle:
        handle.create_dataset(MATRIX_NAME, data=frame_chunk(0, 100).iloc[:, :8].to_numpy())
        handle.create_dataset(RECORDS_NAME, data=record_chunk(0, 100), chunks=True)
