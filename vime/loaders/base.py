"""The Table contract every loader implements.

A table is a lazy view: its metadata (name, kind, shape, columns, dtypes,
attrs) is cheap, and rows are read only through ``page``, ``page_arrays``,
``raw``, ``chunks`` and ``arrays``, a slice at a time. ``page_arrays`` gives a
page of numbers and bools as numpy arrays, so that paging such tables never
imports pandas (36 MB and half a second); other pages are DataFrames.

The index is a column too: wherever a column is named, a pandas table's
index levels are named by their own names (``Table.index_names``) and the
index by ``index`` (row numbers for tables without one); a real column of the
same name wins. ``page`` and ``chunks`` give frames whose index *is* that
column (frames never repeat it as a data column); ``arrays`` gives its values
under the name asked.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from vime.errors import InvalidParams, NoSuchColumn
from vime.loaders.columns import distinct, fast_membership

if TYPE_CHECKING:  # pandas is imported on the first read, not to list a file
    import numpy as np
    import pandas as pd

PLAIN_KINDS = "biuf"  # numpy kinds a page shows without pandas: bools and numbers


class PageArrays(NamedTuple):
    """A page as numpy arrays, for tables whose shown values are all numbers or bools,
    or text in columns (object arrays of str: decoded strings, enum labels).

    ``index_names``: one per index level, None for an unnamed one (as
    ``DataFrame.index.names``); ``index``: the levels' values; ``names`` and
    ``values``: the shown columns, in order. vime.loaders.format writes it as the
    text of the DataFrame ``page`` gives, so the page needs no pandas.
    """

    index_names: list
    index: list[np.ndarray]
    names: list[str]
    values: list[np.ndarray]

    def is_plain(self) -> bool:
        """Every index level a numpy array of a plain kind, every column one or text
        (the check behind the metadata's)."""
        return all(is_plain_array(a) for a in self.index) and all(
            is_plain_array(a) or is_text_array(a) for a in self.values
        )

    def dtypes(self) -> list[str]:
        """The columns' dtypes as the DataFrame of the same page shows them."""
        return [text_dtype() if a.size and is_text_array(a) else str(a.dtype) for a in self.values]


def is_plain_array(values) -> bool:
    import numpy as np

    return isinstance(values, np.ndarray) and values.dtype.kind in PLAIN_KINDS


def is_text_array(values) -> bool:
    """An object array of str: a DataFrame column of it has pandas' text dtype (an empty
    one keeps 'object')."""
    import numpy as np

    return (
        isinstance(values, np.ndarray)
        and values.dtype.kind == "O"
        and all(type(item) is str for item in values.tolist())
    )


@functools.cache
def text_dtype() -> str:
    """The dtype pandas gives a column of str: 'str' from pandas 3, 'object' before it
    (read from the installed version, so that a page of text needs no pandas import)."""
    from importlib.metadata import version

    return "str" if int(version("pandas").split(".")[0]) >= 3 else "object"


def numpy_dtype(text: str):
    """The numpy dtype a listed dtype names, or None for pandas' own ('category', 'Int64')."""
    import numpy as np

    try:
        return np.dtype(text)
    except (TypeError, ValueError, SyntaxError):
        return None


KINDS = ("pandas-table", "pandas-fixed", "dataset", "compound", "scalar", "computed")
CHUNK_ROWS = 1_000_000


class Table:
    """Base class. Subclasses set the attributes and implement ``_read``.

    ``name``: HDF5 path such as '/exp/results'; ``kind``: one of KINDS;
    ``rows``: rows of a page (for N-D datasets, rows of one plane);
    ``columns``: display names; ``dtypes``: one string per column (both
    may be lazy sequences, see vime.loaders.columns, never copy them whole);
    ``shape``: the full shape; ``attrs``: JSON-able HDF5 attributes;
    ``file``: the file path (a compute result's is its source file's).
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
    raw_by_position: bool = False  # raw rows are arrays along the columns (2-D views)
    selection = None  # the vime.slicing.Selection of a ``sliced`` view, else None
    # Names of the index levels of pandas tables, [] for row numbers. Wherever a
    # column is named (pages, queries, plots, sorts), these and "index" name the index.
    index_names: list[str] = []  # noqa: RUF012 - never mutated, only replaced
    error: str | None = None  # set when the table is listed but cannot be read
    warning: str | None = None  # e.g. a pandas store shown raw: its pickles were refused

    # -- the contract ------------------------------------------------------
    def page(self, start: int, stop: int, columns=None, plane=None) -> pd.DataFrame:
        """Rows [start, stop) as a DataFrame; only those rows are read."""
        start, stop = self.clamp(start, stop)
        names = self.data_columns(self.select_columns(columns))
        return self._read(start, stop, names, self.check_plane(plane))

    def page_arrays(self, start: int, stop: int, columns=None, plane=None) -> PageArrays | None:
        """The rows ``page`` gives as numpy arrays, when its index is numbers or bools and
        its columns are those or text; None for a table or page that needs pandas (then
        ask ``page``)."""
        start, stop = self.clamp(start, stop)
        names = self.data_columns(self.select_columns(columns))
        arrays = self._read_arrays(start, stop, names, self.check_plane(plane))
        return arrays if arrays is not None and arrays.is_plain() else None

    @property
    def pages_need_pandas(self) -> bool:
        """Whether some page of this table needs pandas (``page_arrays`` gives None),
        judged from the metadata without reading a row; True when unsure."""
        return True

    def raw(
        self, start: int, stop: int, plane=None, columns: range | None = None, out=None
    ) -> np.ndarray:
        """Rows [start, stop) as stored, without building a DataFrame.

        ``columns``: a window of column positions, for tables whose raw rows
        are arrays along the columns (``raw_by_position``). ``out``: an array
        of the rows' shape and stored dtype to read into and return, so that
        a reader of many blocks reuses one buffer (h5py reads straight into it).
        """
        start, stop = self.clamp(start, stop)
        plane = self.check_plane(plane)
        if out is not None:
            return self._read_raw_into(start, stop, plane, out)
        if columns is None:
            return self._read_raw(start, stop, plane)
        if not self.raw_by_position:
            raise InvalidParams(f"{self.where}: raw rows are records; they have no column window")
        return self._read_raw(start, stop, plane, columns)

    def mapped_rows(self, start: int, stop: int, plane=None) -> Iterator[np.ndarray] | None:
        """Rows [start, stop) of a 2-D numeric plane as the file's own bytes, read-only
        blocks of consecutive rows in order, when they are stored as they are (no copy,
        no conversion); None otherwise (then read them with ``raw``)."""
        return None

    def sliced(self, text: str) -> Table:
        """This table through numpy basic indexing (``[0, :, 5:10]``); N-D datasets only."""
        raise InvalidParams(f"{self.where}: slice applies to h5py datasets, not to {self.kind}")

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
        names = self.data_columns(self.select_columns(columns))
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
        ``index_level``). Timezone-aware times come as wall-clock
        datetime64, nullable numbers as float64 with NaN. Loaders that can
        read single fields override this to read only the named columns'
        bytes, without building a DataFrame.
        """
        names = self.select_columns(columns)
        for frame in self.chunks(names, start, stop, chunk_rows, plane):
            yield {name: self.column_values(frame, name) for name in names}

    def column_values(self, frame: pd.DataFrame, name: str) -> np.ndarray:
        """A column of a page or chunk as numpy values; an index name gives the index's."""
        level = self.index_level(name)
        if level is None:
            return plain_array(frame[name])
        return plain_array(frame.index.get_level_values(level))

    def refresh(self) -> bool:
        """Catch up in place with a SWMR writer (the shape may have grown); False when
        this kind of table cannot, and its file must be opened again instead."""
        return False

    def storage(self) -> dict:
        return {"chunks": None, "compression": None, "filters": [], "bytes": None}

    def info_attrs(self) -> dict:
        """The attributes ``info`` shows: more of each than a listing, still bounded."""
        return self.attrs

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
        if self.warning:
            entry["warning"] = self.warning
        return entry

    # -- for subclasses ----------------------------------------------------
    def _read(self, start: int, stop: int, columns: list[str], plane: tuple) -> pd.DataFrame:
        raise NotImplementedError

    def _read_arrays(self, start, stop, columns: list[str], plane: tuple) -> PageArrays | None:
        """``_read`` as numpy arrays; None where the page needs pandas (the default)."""
        return None

    def _read_raw(self, start: int, stop: int, plane: tuple) -> np.ndarray:
        return self._read(start, stop, list(self.columns), plane).to_numpy()

    def _read_raw_into(self, start: int, stop: int, plane: tuple, out: np.ndarray) -> np.ndarray:
        out[...] = self._read_raw(start, stop, plane)
        return out

    # -- checks shared by every table ---------------------------------------
    @property
    def where(self) -> str:
        """How error messages name this table: 'file.h5:/exp/results'."""
        return f"{self.file}:{self.name}" if self.file else self.name

    def clamp(self, start: int, stop: int) -> tuple[int, int]:
        """Clip a row range to the table; past the end gives an empty range."""
        if start < 0 or stop < 0:
            raise InvalidParams(f"{self.where}: rows must be >= 0, got {start}..{stop}")
        start = min(start, self.rows)
        return start, max(start, min(stop, self.rows))

    def select_columns(self, columns) -> list[str]:
        """Validate requested column names (None means all), keeping their order.

        Index names (see ``index_level``) are valid names.
        """
        if columns is None:
            return list(self.columns)
        known = fast_membership(self.columns)
        missing = [c for c in columns if c not in known and self.index_level(c) is None]
        if missing:
            raise NoSuchColumn(
                f"{self.where}: no column {', '.join(map(repr, missing))}; "
                f"columns are {', '.join(self.columns[:20])}"
                + (", ..." if len(self.columns) > 20 else "")
                + f"; the index is {self.index_label()}"
            )
        return list(columns)

    def index_level(self, name) -> int | None:
        """The index level a name stands for, None if it names a column or nothing.

        A real column wins over an index of the same name; ``index`` names
        the first level (the row numbers when the table has no index).
        """
        if name != "index" and name not in self.index_names:
            return None  # the common case, decided without a look at the columns
        if name in self.columns:
            return None
        return self.index_names.index(name) if name in self.index_names else 0

    def data_columns(self, names: list[str]) -> list[str]:
        """The names that are columns to read, without the index ones."""
        return [name for name in names if self.index_level(name) is None]

    def index_label(self) -> str:
        """How messages name the index: 'time (or index)', 'index' for row numbers."""
        named = [n for n in self.index_names if n != "index"]
        return f"{', '.join(map(repr, named))} (or 'index')" if named else "'index'"

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


def summary_dtype(dtypes) -> str:
    """One dtype when all columns share it, else the distinct ones in order."""
    return ", ".join(distinct(dtypes))
