"""The Table contract every loader implements.

A table is a lazy view: its metadata (name, kind, shape, columns, dtypes,
attrs) is cheap, and rows are read only through ``page``, ``raw`` and
``chunks``, a slice at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from vime.errors import InvalidParams, NoSuchColumn

if TYPE_CHECKING:  # pandas is imported on the first read, not to list a file
    import numpy as np
    import pandas as pd

KINDS = ("pandas-table", "pandas-fixed", "dataset", "compound", "scalar", "virtual")
CHUNK_ROWS = 1_000_000


class Table:
    """Base class. Subclasses set the attributes and implement ``_read``.

    ``name``: HDF5 path such as '/exp/results'; ``kind``: one of KINDS;
    ``rows``: rows of a page (for N-D datasets, rows of one plane);
    ``columns``: display names; ``dtypes``: one string per column;
    ``shape``: the full shape; ``attrs``: JSON-able HDF5 attributes;
    ``file``: the file path, used in error messages (None when virtual).
    """

    name: str
    kind: str
    rows: int
    columns: list[str]
    dtypes: list[str]
    shape: list[int]
    attrs: dict
    file: str | None = None
    plane_axes: int = 0  # leading axes that ``plane`` indexes (N-D datasets)
    # Names of the index levels of pandas tables, [] for row numbers. Wherever a
    # column is named (pages, queries, plots, sorts), these and "index" name the index.
    index_names: list[str] = []  # noqa: RUF012 - never mutated, only replaced
    error: str | None = None  # set when the table is listed but cannot be read

    # -- the contract ------------------------------------------------------
    def page(self, start: int, stop: int, columns=None, plane=None) -> pd.DataFrame:
        """Rows [start, stop) as a DataFrame; only those rows are read."""
        start, stop = self.clamp(start, stop)
        names = self.select_columns(columns)
        return self._read(start, stop, names, self.check_plane(plane))

    def raw(self, start: int, stop: int, plane=None) -> np.ndarray:
        """Rows [start, stop) as stored, without building a DataFrame."""
        start, stop = self.clamp(start, stop)
        return self._read_raw(start, stop, self.check_plane(plane))

    def chunks(
        self,
        columns=None,
        start: int = 0,
        stop: int | None = None,
        chunk_rows: int = CHUNK_ROWS,
        plane=None,
    ) -> Iterator[pd.DataFrame]:
        """Consecutive pages of at most ``chunk_rows`` rows, read one at a time."""
        start, stop = self.clamp(start, self.rows if stop is None else stop)
        names = self.select_columns(columns)
        plane = self.check_plane(plane)
        for first in range(start, stop, max(1, chunk_rows)):
            yield self._read(first, min(stop, first + chunk_rows), names, plane)

    def arrays(
        self,
        columns=None,
        start: int = 0,
        stop: int | None = None,
        chunk_rows: int = CHUNK_ROWS,
        plane=None,
    ) -> Iterator[dict[str, np.ndarray]]:
        """Like ``chunks``, as {column: values} numpy arrays, for the plot engine.

        Index levels are named by their names and by "index" (see
        ``is_index_name``). Timezone-aware times come as wall-clock
        datetime64, nullable numbers as float64 with NaN. Loaders that can
        read single fields override this to read only the named columns'
        bytes, without building a DataFrame.
        """
        wanted = list(self.columns) if columns is None else list(columns)
        levels = [name for name in wanted if self.is_index_name(name)]
        names = [name for name in wanted if name not in levels]
        for frame in self.chunks(names, start, stop, chunk_rows, plane):
            arrays = {name: plain_array(frame[name]) for name in names}
            for name in levels:
                arrays[name] = plain_array(_index_level(frame.index, name, self.index_names))
            yield arrays

    def is_index_name(self, name) -> bool:
        """Whether a name names an index level: one of ``index_names``, or "index"
        for the first level (the row number when there is no index). A column
        of that name wins."""
        return name not in self.columns and (name == "index" or name in self.index_names)

    def storage(self) -> dict:
        return {"chunks": None, "compression": None, "filters": [], "bytes": None}

    def summary(self) -> dict:
        """The entry of this table in the `open` and `tables` listings."""
        entry = {
            "name": self.name,
            "rows": self.rows,
            "cols": len(self.columns),
            "kind": self.kind,
            "dtype": summary_dtype(self.dtypes),
            "shape": list(self.shape),
            "attrs": self.attrs,
        }
        if self.error:
            entry["error"] = self.error
        return entry

    # -- for subclasses ----------------------------------------------------
    def _read(self, start: int, stop: int, columns: list[str], plane: tuple) -> pd.DataFrame:
        raise NotImplementedError

    def _read_raw(self, start: int, stop: int, plane: tuple) -> np.ndarray:
        return self._read(start, stop, list(self.columns), plane).to_numpy()

    # -- checks shared by every table ---------------------------------------
    @property
    def where(self) -> str:
        """How error messages name this table: 'file.h5:/exp/results'."""
        return f"{self.file}:{self.name}" if self.file else f"virtual table {self.name}"

    def clamp(self, start: int, stop: int) -> tuple[int, int]:
        """Clip a row range to the table; past the end gives an empty range."""
        if start < 0 or stop < 0:
            raise InvalidParams(f"{self.where}: rows must be >= 0, got {start}..{stop}")
        start = min(start, self.rows)
        return start, max(start, min(stop, self.rows))

    def select_columns(self, columns) -> list[str]:
        """Validate requested column names (None means all), keeping their order."""
        if columns is None:
            return list(self.columns)
        known = set(self.columns)
        missing = [c for c in columns if c not in known]
        if missing:
            raise NoSuchColumn(
                f"{self.where}: no column {', '.join(map(repr, missing))}; "
                f"columns are {', '.join(self.columns[:20])}"
                + (", ..." if len(self.columns) > 20 else "")
            )
        return list(columns)

    def check_plane(self, plane) -> tuple:
        """The plane index of an N-D dataset; all zeros when not given."""
        if plane is None or (len(plane) == 0 and self.plane_axes == 0):
            return (0,) * self.plane_axes
        leading = self.shape[: self.plane_axes]
        if len(plane) != self.plane_axes:
            raise InvalidParams(
                f"{self.where}: plane needs {self.plane_axes} indices for shape "
                f"{list(self.shape)}, got {list(plane)}"
            )
        for axis, (index, size) in enumerate(zip(plane, leading, strict=True)):
            if not 0 <= index < size:
                raise InvalidParams(
                    f"{self.where}: plane index {index} on axis {axis} is outside 0..{size - 1}"
                )
        return tuple(plane)


def plain_array(values) -> np.ndarray:
    """A Series or an Index as a numpy array the plot engine can read."""
    import numpy as np
    import pandas as pd

    values = pd.Series(values, copy=False)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_localize(None).to_numpy()
    if not isinstance(values.dtype, np.dtype) and pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    return values.to_numpy()


def _index_level(index, name: str, index_names: list[str]):
    level = index_names.index(name) if name in index_names else 0
    return index.get_level_values(level)


def summary_dtype(dtypes: list[str]) -> str:
    """One dtype when all columns share it, else the distinct ones in order."""
    distinct = list(dict.fromkeys(dtypes))
    return distinct[0] if len(distinct) == 1 else ", ".join(distinct) if distinct else ""
