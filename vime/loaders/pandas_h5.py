"""pandas HDFStore keys read with h5py alone, exactly as ``HDFStore.select`` reads them.

pandas writes two layouts (pandas/io/pytables.py), both plain HDF5 underneath:

- format='table': one compound dataset ``table`` holding the index field, one
  field per block of same-typed columns (a ``(k,)`` sub-array per row) and
  one field per data column. The group's attributes, pickled by PyTables,
  name the blocks' columns (``non_index_axes``, ``values_cols``, the table's
  ``<block>_kind``) and their types (``<block>_dtype``, ``_meta``, ``info``);
  the categories of a categorical column are a small table store of their
  own under ``meta/<block>/meta``.
- format='fixed': ``axis0`` holds the column labels, ``axis1`` the index and
  each block ``block<i>_items``/``block<i>_values``. An object block is one
  pickled numpy array (a PyTables VLArray of ObjectAtom).

``store_layout(group)`` parses the metadata without importing pandas (the
listing needs it); ``select``/``frame``/``arrays`` rebuild rows [start, stop)
reading only those rows and only the fields of the columns asked for, then
convert them the way pandas' own readers do, so the result equals
``HDFStore.select(key, start=, stop=)``. The one exception is the format's
own limit: a fixed store's object block is a single pickle, read whole.
Every pickle goes through vime.unpickle. A layout this module does not know
raises ``UnsupportedLayout``, and the caller may fall back to pandas.

Only the part of the h5py API that h5pyd (the HSDS client) also offers is
used: groups and datasets by name, ``in``, ``attrs``, ``[]`` with start:stop
and field names, ``.shape`` and ``.dtype``. What needs h5py itself is in the
section "h5py only" at the end, with a fallback for other clients.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

import numpy as np

from vime import unpickle
from vime.errors import ReadFailed
from vime.loaders.base import PLAIN_KINDS, PageArrays
from vime.loaders.nodes import is_dataset, is_h5py

if TYPE_CHECKING:  # pandas is imported on the first read, not to list a file
    import pandas as pd

TABLE_TYPES = (
    "appendable_frame",
    "appendable_multiframe",
    "appendable_series",
    "appendable_multiseries",
)
SERIES_TABLES = ("appendable_series", "appendable_multiseries")
PLAIN_STORED_KINDS = ("integer", "float", "bool")  # pandas' kinds of plain numpy values
_UNNAMED_LEVEL = re.compile(r"^level_\d+$")


class UnsupportedLayout(Exception):
    """A pandas layout this reader does not rebuild (the caller may ask pandas)."""


# -- attributes --------------------------------------------------------------------
def attr_value(attrs, key: str, default=None):
    """An attribute as PyTables gives it to pandas: pickles loaded (restricted), bytes decoded.

    A refused pickle raises ``unpickle.RefusedPickle``; the safety check of
    vime.loaders.pandas_safety keeps such nodes away from this reader.
    """
    if key not in attrs:
        return default
    value = attrs[key]
    if isinstance(value, str):  # a variable-length string: PyTables reads its bytes
        value = value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytes):
        if unpickle.maybe_pickled(value):
            try:
                return unpickle.loads(value)
            except unpickle.RefusedPickle:
                raise
            except Exception:  # not a pickle after all: PyTables keeps the text
                pass
        return value.decode("utf-8", "replace")
    if type(value).__name__ == "Empty":  # h5py.Empty / h5pyd's: PyTables reads ''
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _text(attrs, key: str, default: str | None = None) -> str | None:
    value = attr_value(attrs, key, default)
    return default if value is None else str(value)


class Cached:
    """A node of a pandas store with its attributes read once, and its children cached.

    pandas' metadata does not change while a file is open, and reading an
    attribute costs more than reading a page of numbers: the safety check,
    the layout and the pages all read the same attributes through one
    Cached tree. Everything else is the node's own (name, shape, dtype, id,
    slicing a dataset).
    """

    def __init__(self, node):
        self.node = node
        self.is_dataset = is_dataset(node)
        self.attrs = {}
        for key in node.attrs:
            try:
                self.attrs[key] = node.attrs[key]
            except Exception:  # a type h5py cannot read: pandas never wrote it
                continue
        self.prepared = False  # filters registered (see _prepare)
        self._children: dict = {}
        self._bitfield_bool = None

    @classmethod
    def of(cls, node) -> Cached:
        return node if isinstance(node, cls) else cls(node)

    def __getattr__(self, name):
        return getattr(self.node, name)

    def __getitem__(self, key):
        if self.is_dataset:
            return self.node[key]
        if key not in self._children:
            self._children[key] = Cached(self.node[key])
        return self._children[key]

    def __contains__(self, name) -> bool:
        return name in self.node

    def __iter__(self):
        return iter(self.node)

    def get(self, name, default=None):
        return self[name] if name in self.node else default

    @property
    def bitfield_bool(self) -> bool:
        if self._bitfield_bool is None:
            self._bitfield_bool = is_bitfield_bool(self.node)
        return self._bitfield_bool


def store_layout(group) -> StoreLayout:
    """The layout of a pandas group: a TableStore or a FixedStore."""
    pandas_type = _text(group.attrs, "pandas_type", "")
    if "table_type" in group.attrs:
        if "table" not in group:
            raise UnsupportedLayout(f"{pandas_type} without its 'table' dataset")
        return TableStore(group)
    if pandas_type in ("frame", "series"):
        return FixedStore(group)
    raise UnsupportedLayout(f"pandas_type {pandas_type!r}")


# -- the common interface -------------------------------------------------------------
class StoreLayout:
    """What the Table classes need: sizes, labels, dtypes and the three readers.

    ``labels`` are the pandas column labels in pandas' order (for a Series,
    its one column); ``dtypes`` the dtypes pandas shows; ``index_names`` the
    index levels as ``reset_index`` would name them.
    """

    rows: int
    labels: list
    dtypes: list[str]
    index_names: list[str]
    series: bool = False
    series_name = None
    index_levels: int = 1

    def select(self, start: int, stop: int):
        """Exactly ``HDFStore.select(key, start=start, stop=stop)``."""
        frame = self.frame(start, stop, list(self.labels))
        if not self.series:
            return frame
        series = frame.iloc[:, 0]
        series.name = self.series_name
        return series

    def frame(self, start: int, stop: int, labels: list) -> pd.DataFrame:
        """Rows [start, stop) of the columns ``labels`` (in that order), with the index."""
        raise NotImplementedError

    @property
    def plain_pages(self) -> bool:
        """Whether ``page_arrays`` gives every page (of all columns), known from the metadata."""
        return False

    def page_arrays(self, start: int, stop: int, labels: list) -> PageArrays | None:
        """``frame``'s rows as numpy arrays, without pandas, when the index and the columns
        asked are plain numbers or bools; None for the other layouts."""
        return None

    def arrays(self, labels: list, levels: list[int], start: int, stop: int) -> dict:
        """{label or level number: numpy array} for rows [start, stop), no DataFrame built.

        Values are what ``frame`` shows, as numpy: strings and categories as
        object arrays, time-zone-aware times as the wall-clock time shown on
        the page (naive datetime64).
        """
        raise NotImplementedError


# -- value conversions (pandas' DataCol.convert and _unconvert_* as functions) ------------
def decode_strings(raw: np.ndarray, nan_rep, encoding: str, errors: str) -> np.ndarray:
    """Fixed-width bytes to an object array of str; ``nan_rep`` cells become NaN."""
    shape = raw.shape
    flat = np.asarray(raw).ravel()
    if flat.dtype.kind == "S" and flat.size:
        try:
            out = np.char.decode(flat, encoding, errors).astype(object)
        except UnicodeDecodeError:  # pandas would fail here; show the text with replacements
            out = np.char.decode(flat, encoding, "replace").astype(object)
    else:
        out = np.array([v.decode(encoding, errors) if isinstance(v, bytes) else v for v in flat])
        out = out.astype(object)
    if nan_rep is not None and out.size:
        out[out == nan_rep] = np.nan
    return out.reshape(shape)


def localize(values: np.ndarray, tz, unit: str):
    """int64 UTC counts as datetime64[unit] values, made time-zone-aware when ``tz`` is set."""
    stamps = np.asarray(values, dtype="i8").view(f"M8[{unit}]")
    if tz is None:
        return stamps
    import pandas as pd

    return pd.DatetimeIndex(stamps).tz_localize("UTC").tz_convert(tz).array


def _unit(dtype: str) -> str:
    """'datetime64[us]' -> 'us'; the bare 'datetime64' of old files meant ns."""
    return np.datetime_data(np.dtype(dtype if "[" in dtype else f"{dtype}[ns]"))[0]


def wall_clock(values) -> np.ndarray:
    """What a page shows of datetime values, as naive numpy datetime64."""
    tz = getattr(values.dtype, "tz", None)
    if tz is None:
        return np.asarray(values)
    import pandas as pd

    return pd.Series(values, copy=False).dt.tz_localize(None).to_numpy()


def as_numpy(values) -> np.ndarray:
    """A column's values for the plot engine: numpy, as the page shows them."""
    if getattr(values.dtype, "kind", "") == "M":
        return wall_clock(values)
    if isinstance(values, np.ndarray):
        return values
    return np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)


def categorical(codes: np.ndarray, categories, ordered: bool):
    """pandas' rebuild of a stored categorical, NaN categories dropped and codes remapped."""
    import pandas as pd

    codes = np.asarray(codes).ravel()
    if categories is None:  # no categories node: PyTables cannot store an empty array
        categories = pd.Index([], dtype=np.float64)
    else:
        missing = np.asarray(pd.isna(categories))
        if missing.any():
            remap = np.full(len(categories), -1, dtype=codes.dtype)
            remap[~missing] = np.arange((~missing).sum(), dtype=codes.dtype)
            categories = categories[~missing]
            codes = np.where(codes < 0, codes, remap[codes])
    return pd.Categorical.from_codes(codes, categories=categories, ordered=bool(ordered))


@functools.cache
def _using_str() -> bool:
    """pandas' using_string_dtype(): strings are the str dtype (pandas 3), else object."""
    import pandas as pd

    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    try:  # pandas 2 could opt in
        return bool(pd.get_option("future.infer_string"))
    except KeyError:  # pandas before 2.1
        return False


def _string_index_dtype():
    return "str" if _using_str() else None


def _frequency(value):
    """A pickled pandas frequency (vime.unpickle.Frequency) as the pandas offset."""
    if isinstance(value, unpickle.Frequency):
        return value.to_offset()
    if value is None or isinstance(value, str):
        return value
    raise UnsupportedLayout(f"frequency {value!r}")


def _with_frequency(factory, values, freq, **kwargs):
    """Build an index with its stored freq; a freq the rows do not follow is dropped."""
    if freq is None:
        return factory(values, **kwargs)
    try:
        return factory(values, freq=freq, **kwargs)
    except ValueError:
        return factory(values, **kwargs)


# -- format='table' ---------------------------------------------------------------------
class TableColumn:
    """One values column (a block field of k columns, or a data column) of a table store."""

    def __init__(self, field: str, items: list, dtype: str, meta, info: dict, nan_rep):
        self.field = field
        self.items = items
        self.dtype = dtype
        self.meta = meta
        self.tz = info.get("tz")
        self.ordered = info.get("ordered")
        self.nan_rep = nan_rep

    @property
    def kind(self) -> str:
        return _dtype_kind(self.dtype)

    def shown_dtype(self) -> str:
        """The dtype pandas shows, known without reading a row."""
        if self.meta == "category":
            return "category"
        if self.meta in ("str", "string"):
            return self.meta
        if self.kind == "string":
            return "str"
        if self.dtype.startswith("datetime64"):
            unit = _unit(self.dtype)
            return f"datetime64[{unit}, {_tz_name(self.tz)}]" if self.tz else f"datetime64[{unit}]"
        if self.dtype.startswith("timedelta64") and "[" not in self.dtype:
            return "timedelta64[ns]"
        return self.dtype


def _dtype_kind(dtype: str) -> str:
    """pandas' _dtype_to_kind for the dtypes this reader converts."""
    if dtype.startswith(("string", "bytes")):
        return "string"
    for prefix in ("float", "complex", "bool", "datetime64", "timedelta"):
        if dtype.startswith(prefix):
            return prefix if prefix in ("float", "complex", "bool") else dtype
    if dtype.startswith(("int", "uint")):
        return "integer"
    if dtype == "object":
        return "object"
    raise UnsupportedLayout(f"column dtype {dtype!r}")


def _tz_name(tz) -> str:
    import datetime

    if isinstance(tz, datetime.timezone):
        return "UTC" if tz == datetime.timezone.utc else str(tz)
    return str(getattr(tz, "key", tz))


class TableStore(StoreLayout):
    """format='table' (AppendableFrameTable and its Series and MultiIndex kinds)."""

    def __init__(self, group):
        self.group = Cached.of(group)
        self.table = self.group["table"]
        attrs = self.group.attrs
        self.table_type = _text(attrs, "table_type", "")
        if self.table_type not in TABLE_TYPES:
            raise UnsupportedLayout(f"table_type {self.table_type!r}")
        self.encoding = _text(attrs, "encoding") or "UTF-8"
        self.errors = _text(attrs, "errors") or "strict"
        self.info = attr_value(attrs, "info") or {}
        levels = attr_value(attrs, "levels")
        self.levels = list(levels) if isinstance(levels, list) else []
        self.rows = int(self.table.shape[0])
        self.index_field, self.index_kind, self.index_meta = self._index_column()
        self.columns = self._values_columns(attrs)
        self.series = self.table_type in SERIES_TABLES
        self._category_cache: dict = {}
        self._layout_labels(attrs)

    # -- metadata ------------------------------------------------------------------
    def _index_column(self) -> tuple[str, str, str | None]:
        index_cols = attr_value(self.group.attrs, "index_cols")
        if not (isinstance(index_cols, list) and len(index_cols) == 1):
            raise UnsupportedLayout(f"index_cols {index_cols!r}")
        name = str(index_cols[0][1])
        table_attrs = self.table.attrs
        kind = _text(table_attrs, f"{name}_kind")
        if kind is None:
            raise UnsupportedLayout(f"no kind for the index column {name!r}")
        meta = _text(table_attrs, f"{name}_meta")
        if meta is None and self._categories_node(name) is not None:
            meta = "category"
        self.index_nan_rep = None
        if kind == "string":  # absent: an older file, which stored NaN as 'nan'
            self.index_nan_rep = attr_value(table_attrs, f"{name}_nan_rep", "nan") or None
        return name, kind, meta

    def _values_columns(self, attrs) -> list[TableColumn]:
        table_attrs = self.table.attrs
        table_nan_rep = attr_value(attrs, "nan_rep")
        level_marker = bool(attr_value(attrs, "mi_level_nan_rep", False))
        column_marker = bool(attr_value(attrs, "data_col_nan_rep", False))
        columns = []
        for field in attr_value(attrs, "values_cols") or []:
            field = str(field)
            items = attr_value(table_attrs, f"{field}_kind")
            dtype = _text(table_attrs, f"{field}_dtype")
            if not isinstance(items, list) or dtype is None:
                raise UnsupportedLayout(f"block {field!r} without its kind or dtype")
            if column_marker or (field in self.levels and level_marker):
                nan_rep = attr_value(table_attrs, f"{field}_nan_rep")
            else:  # the table-wide one, which the writer defaulted to 'nan'
                nan_rep = "nan" if table_nan_rep is None else table_nan_rep
            meta = _text(table_attrs, f"{field}_meta")
            info = self.info.get(field) or {}
            columns.append(TableColumn(field, items, dtype, meta, info, nan_rep))
        return columns

    def _categories_node(self, field: str):
        """The small series store pandas writes a categorical's categories to."""
        meta = self.group.get("meta")
        holder = meta.get(field) if meta is not None else None
        return holder.get("meta") if holder is not None else None

    def _layout_labels(self, attrs) -> None:
        axes = attr_value(attrs, "non_index_axes") or []
        if len(axes) != 1 or int(axes[0][0]) != 1:
            raise UnsupportedLayout(f"non_index_axes {axes!r}")
        self.all_labels = list(axes[0][1])
        axis_info = self.info.get(axes[0][0]) or {}
        if axis_info.get("type", "Index") != "Index":
            raise UnsupportedLayout(f"column axis of type {axis_info.get('type')!r}")
        self.column_names = axis_info.get("names")
        self._owner = {}
        for column in self.columns:
            for position, label in enumerate(column.items):
                self._owner[label] = (column, position)
        if set(self._owner) != set(self.all_labels):
            raise UnsupportedLayout("the blocks do not hold exactly the listed columns")
        # pandas looks a str meta up by column label, so only data columns find theirs
        metas = {label: _text(self.table.attrs, f"{label}_meta") for label in self.all_labels}
        self._string_meta = {k: v for k, v in metas.items() if v in ("str", "string")}
        self.labels = [label for label in self.all_labels if label not in self.levels]
        self.dtypes = [self._owner[label][0].shown_dtype() for label in self.labels]
        if self.levels:
            self.index_names = [str(level) for level in self.levels]
            self.index_levels = len(self.levels)
        else:
            name = (self.info.get(self.index_field) or {}).get("index_name")
            self.index_names = ["index" if name is None else str(name)]
        if self.series:
            name = self.labels[0] if self.labels else None
            self.series_name = None if name == "values" else name

    # -- plain pages, without pandas ------------------------------------------------------
    @functools.cached_property
    def _index_is_plain(self) -> bool:
        """One stored index field of numbers or bools, as ``_index`` reads it: no MultiIndex
        levels, no categories, no freq (a PeriodIndex), no times."""
        info = self.info.get(self.index_field) or {}
        return (
            not self.levels
            and self.index_meta is None
            and self.index_kind in PLAIN_STORED_KINDS
            and info.get("freq") is None
        )

    def _plain_column(self, label) -> bool:
        """A column that ``_convert`` makes a numpy array of numbers or bools."""
        column = self._owner[label][0]
        return (
            column.meta is None
            and label not in self._string_meta
            and column.kind in PLAIN_STORED_KINDS
        )

    @functools.cached_property
    def plain_pages(self) -> bool:
        return self._index_is_plain and all(self._plain_column(label) for label in self.labels)

    def page_arrays(self, start, stop, labels) -> PageArrays | None:
        if not (self._index_is_plain and all(self._plain_column(label) for label in labels)):
            return None
        records = self._read(start, stop, self._fields(labels, with_index=True))
        index = np.asarray(records[self.index_field])
        if not _plain_index_dtype(index.dtype):
            return None
        name = (self.info.get(self.index_field) or {}).get("index_name")
        values = [self._column(label, records) for label in labels]
        return PageArrays([name], [index], list(labels), values)

    # -- reading -----------------------------------------------------------------------
    def _read(self, start: int, stop: int, fields: list[str]) -> dict:
        """{field: values} of rows [start, stop), reading only those fields."""
        if not fields:
            return {}
        _prepare(self.table)
        try:
            data = self.table[(slice(start, stop), *fields)]
        except (OSError, RuntimeError, TypeError, ValueError) as exc:
            raise ReadFailed(_failure(self.table, exc)) from None
        if len(fields) == 1:
            return {fields[0]: data}
        return {field: data[field] for field in fields}

    def _fields(self, labels, with_index: bool) -> list[str]:
        owners = [self._owner[label][0].field for label in labels]
        return list(dict.fromkeys(([self.index_field] if with_index else []) + owners))

    def frame(self, start, stop, labels) -> pd.DataFrame:
        """pandas' AppendableFrameTable.read (and its MultiIndex kinds) for some columns."""
        import pandas as pd

        wanted = list(dict.fromkeys([*self.levels, *labels]))
        records = self._read(start, stop, self._fields(wanted, with_index=not self.levels))
        if self.levels:  # the stored index is a RangeIndex the levels replace
            index = pd.RangeIndex(len(next(iter(records.values()))))
        else:
            index = self._index(records[self.index_field])
        data = {position: self._column(label, records) for position, label in enumerate(wanted)}
        frame = pd.DataFrame(data, index=index)
        frame.columns = self._column_index(wanted)
        for label in wanted:
            if label in self._string_meta:
                frame[label] = frame[label].astype(self._string_meta[label])
        if self.levels:
            frame = self._set_levels(frame)
        return frame if list(frame.columns) == list(labels) else frame[labels]

    def _column_index(self, labels):
        import pandas as pd

        index = pd.Index(labels)
        if self.column_names is not None:
            index = index.set_names(self.column_names)
        return index

    def _set_levels(self, frame):
        frame = frame.set_index(self.levels)
        if self.table_type == "appendable_multiframe":
            names = [None if _UNNAMED_LEVEL.search(str(n)) else n for n in frame.index.names]
            frame.index = frame.index.set_names(names)
        return frame

    def _column(self, label, records):
        column, position = self._owner[label]
        raw = records[column.field]
        if raw.ndim == 2:
            raw = raw[:, position]
        return self._convert(column, raw)

    def _convert(self, column: TableColumn, raw: np.ndarray):
        """pandas' DataCol.convert for one column's stored values."""
        dtype = column.dtype
        if dtype.startswith("datetime64"):
            return localize(raw, column.tz, _unit(dtype))
        if dtype.startswith("timedelta64"):
            return np.asarray(raw, dtype=dtype if "[" in dtype else "m8[ns]")
        if column.meta == "category":
            return categorical(raw, self._categories(column.field), column.ordered)
        try:
            values = raw.astype(dtype, copy=False)
        except TypeError:
            values = raw.astype(object, copy=False)
        if column.kind == "string":
            return decode_strings(values, column.nan_rep, self.encoding, self.errors)
        return values

    def _categories(self, field: str):
        """A categorical's categories (a Series), read once from their own small store."""
        if field not in self._category_cache:
            node = self._categories_node(field)
            self._category_cache[field] = None if node is None else TableStore(node).select(0, None)
        return self._category_cache[field]

    def _index(self, raw: np.ndarray):
        """pandas' IndexCol.convert: the stored index field as an Index."""
        import pandas as pd

        info = self.info.get(self.index_field) or {}
        name = info.get("index_name")
        if self.index_meta == "category":
            codes = categorical(raw, self._categories(self.index_field), info.get("ordered"))
            return pd.CategoricalIndex(codes, name=name)
        kind = self.index_kind
        freq = _frequency(info.get("freq"))
        if kind.startswith("datetime64"):
            values = np.asarray(raw, dtype=kind if "[" in kind else "M8[ns]")
            index = _with_frequency(pd.DatetimeIndex, values, freq, name=name)
            if info.get("tz") is not None:
                index = index.tz_localize("UTC").tz_convert(info["tz"])
            return index
        if kind.startswith("timedelta64"):
            values = raw.view(kind if "[" in kind else "m8[ns]")
            return _with_frequency(pd.TimedeltaIndex, values, freq, name=name)
        if freq is not None:  # an integer index with a freq is a PeriodIndex
            raise UnsupportedLayout("a period index")
        if kind == "string":
            values = decode_strings(raw, self.index_nan_rep, self.encoding, self.errors)
            return pd.Index(values, name=name, dtype=_string_index_dtype())
        if kind not in ("integer", "float", "bool", "complex"):
            raise UnsupportedLayout(f"index kind {kind!r}")
        return pd.Index(raw, name=name)

    def arrays(self, labels, levels, start, stop) -> dict:
        # a MultiIndex is stored as data columns; a plain index as the index field
        level_labels = [self.levels[level] for level in levels] if self.levels else []
        plain_index = bool(levels) and not self.levels
        needed = list(dict.fromkeys([*labels, *level_labels]))
        records = self._read(start, stop, self._fields(needed, plain_index))
        columns = {label: as_numpy(self._column(label, records)) for label in needed}
        out = {label: columns[label] for label in labels}
        if self.levels:
            out.update({level: columns[self.levels[level]] for level in levels})
        elif plain_index:
            out[0] = as_numpy(self._index(records[self.index_field]).array)
        return out


# -- format='fixed' -------------------------------------------------------------------------
class FixedStore(StoreLayout):
    """format='fixed': FrameFixed and SeriesFixed (2-D frames and Series)."""

    def __init__(self, group):
        self.group = Cached.of(group)
        self._columns = None  # the column Index, built on the first full page
        attrs = self.group.attrs
        self.series = _text(attrs, "pandas_type") == "series"
        self.encoding = _text(attrs, "encoding") or "UTF-8"
        self.errors = _text(attrs, "errors") or "strict"
        self.row_axis = "index" if self.series else "axis1"
        if not self.series and int(attr_value(attrs, "ndim", 2)) != 2:
            raise UnsupportedLayout(f"ndim {attr_value(attrs, 'ndim')}")
        self.rows = self._row_count()
        self.blocks = self._blocks()
        self.labels, self.dtypes = self._layout_labels()
        self.index_names = self._index_names()

    # -- metadata ------------------------------------------------------------------
    def _node(self, name: str) -> Cached:
        return self.group[name]

    def _row_count(self) -> int:
        if _text(self.group.attrs, f"{self.row_axis}_variety") == "multi":
            return stored_length(self._node(f"{self.row_axis}_label0"))
        return stored_length(self._node(self.row_axis))

    def _blocks(self) -> list[tuple[str, list]]:
        """(values dataset name, its column labels) per block."""
        if self.series:
            self.series_name = attr_value(self.group.attrs, "name")
            return [("values", ["values" if self.series_name is None else self.series_name])]
        count = int(attr_value(self.group.attrs, "nblocks", 0))
        return [
            (f"block{i}_values", self._plain_labels(self._node(f"block{i}_items")))
            for i in range(count)
        ]

    def _plain_labels(self, node) -> list:
        """Column labels as Python values, read without pandas (the listing needs them)."""
        kind = _text(node.attrs, "kind")
        if kind == "object":
            return list(read_object_array(node))
        if attr_value(node.attrs, "shape") is not None:
            return []
        data = read_rows(node, None, None)
        if kind == "string":
            return [v.decode(self.encoding, "replace") for v in data.tolist()]
        if kind in ("integer", "float", "bool"):
            return data.tolist()
        raise UnsupportedLayout(f"column labels of kind {kind!r}")

    def _layout_labels(self) -> tuple[list, list[str]]:
        if self.series:
            return self.blocks[0][1], [block_dtype(self._node("values"))]
        labels = self._plain_labels(self._node("axis0"))
        self._owner = {}
        for name, items in self.blocks:
            for position, label in enumerate(items):
                self._owner[label] = (name, position)
        if set(self._owner) != set(labels) or len(labels) != len(self._owner):
            raise UnsupportedLayout("the blocks do not hold exactly the listed columns")
        dtypes = {name: block_dtype(self._node(name)) for name, _items in self.blocks}
        return labels, [dtypes[self._owner[label][0]] for label in labels]

    def _index_names(self) -> list[str]:
        axis = self.row_axis
        if _text(self.group.attrs, f"{axis}_variety") == "multi":
            count = int(attr_value(self.group.attrs, f"{axis}_nlevels", 0))
            self.index_levels = count
            levels = [self._node(f"{axis}_level{i}") for i in range(count)]
            names = [attr_value(level.attrs, "name") for level in levels]
            return [f"level_{i}" if n is None else str(n) for i, n in enumerate(names)]
        name = attr_value(self._node(axis).attrs, "name")
        return ["index" if name is None else str(name)]

    # -- plain pages, without pandas ------------------------------------------------------
    @functools.cached_property
    def _index_is_plain(self) -> bool:
        """A regular index of numbers or bools, as ``_index_node`` reads it: no MultiIndex,
        no pickled objects, no categories, no times, no freq, not stored empty."""
        if _text(self.group.attrs, f"{self.row_axis}_variety") != "regular":
            return False
        attrs = self._node(self.row_axis).attrs
        return (
            _text(attrs, "kind") in PLAIN_STORED_KINDS
            and attr_value(attrs, "shape") is None
            and not _text(attrs, "index_class", "")
            and attr_value(attrs, "freq") is None
        )

    def _plain_block(self, name: str) -> bool:
        """A block ``_typed`` leaves numbers or bools: no pickles, no value_type (times),
        not stored empty."""
        node = self._node(name)
        return (
            not is_object_array(node)
            and _text(node.attrs, "value_type") is None
            and attr_value(node.attrs, "shape") is None
        )

    @functools.cached_property
    def plain_pages(self) -> bool:
        return self._index_is_plain and all(self._plain_block(name) for name, _ in self.blocks)

    def page_arrays(self, start, stop, labels) -> PageArrays | None:
        asked = [(name, items) for name, items in self.blocks if set(items) & set(labels)]
        if not (self._index_is_plain and all(self._plain_block(name) for name, _ in asked)):
            return None
        node = self._node(self.row_axis)
        index = np.asarray(read_rows(node, start, stop))
        if not _plain_index_dtype(index.dtype):
            return None
        data = {}
        for name, items in asked:
            columns, _strings = self._block(name, items, start, stop)
            data.update({label: columns[items.index(label)] for label in labels if label in items})
        name = attr_value(node.attrs, "name")
        return PageArrays([name], [index], list(labels), [data[label] for label in labels])

    # -- reading -----------------------------------------------------------------------
    def frame(self, start, stop, labels) -> pd.DataFrame:
        """pandas' BlockManagerFixed.read and SeriesFixed.read, for some columns."""
        import pandas as pd

        index = self._read_index(self.row_axis, start, stop)
        data, as_string = {}, []
        for name, items in self.blocks:
            asked = [label for label in labels if label in items]
            if not asked:
                continue
            columns, strings = self._block(name, items, start, stop)
            for label in asked:
                data[label] = columns[items.index(label)]
            as_string += asked if strings and not self.series and _using_str() else []
        frame = pd.DataFrame({i: data[label] for i, label in enumerate(labels)}, index=index)
        if self.series or list(labels) != list(self.labels):  # a subset, or another order
            frame.columns = pd.Index(labels)
        else:
            if self._columns is None:
                self._columns = self._read_index("axis0", None, None)
            frame.columns = self._columns
        for label in as_string:  # what pandas does to an object block of strings
            frame[label] = frame[label].astype(pd.StringDtype(na_value=np.nan))
        return frame

    def _block(self, name: str, items: list, start, stop) -> tuple[list, bool]:
        """pandas' read_array for one block: its columns as 1-D arrays, rows [start, stop).

        Also says whether pandas turns the block to str (an object block of strings).
        """
        node = self._node(name)
        attrs = node.attrs
        value_type = _text(attrs, "value_type")
        transposed = bool(attr_value(attrs, "transposed", False))
        if is_object_array(node):
            whole = np.asarray(read_object_array(node))
            values = _rows(whole, start, stop, transposed)
            columns = _split(values, len(items), rows_first=transposed)
            if value_type is not None:
                import pandas as pd

                return [pd.array(column, dtype=value_type) for column in columns], False
            self._learn_dtype(items, whole)
            return columns, _is_string_array(values)
        shape = attr_value(attrs, "shape")
        if shape is not None:  # pandas stores an empty array as one element plus its shape
            values = np.empty(tuple(shape), dtype=value_type)
        elif transposed or len(node.shape) == 1:
            values = read_rows(node, start, stop)
        else:  # rows along the last axis: only empty arrays are stored this way
            values = _rows(read_rows(node, None, None), start, stop, transposed)
        columns = _split(values, len(items), rows_first=transposed)
        return [self._typed(node, column, value_type) for column in columns], False

    def _learn_dtype(self, items: list, whole: np.ndarray) -> None:
        """An object block's dtype is known only from its values (pandas shows a block of
        strings as str): the listing says object until the block is read, then this."""
        shown = "str" if _using_str() and _is_string_array(whole) else "object"
        for label in items:
            self.dtypes[self.labels.index(label)] = shown

    def _typed(self, node, values: np.ndarray, value_type: str | None):
        """pandas' read_array conversions by the stored value_type."""
        if value_type is None:
            return values.astype(bool) if node.bitfield_bool else values
        if value_type.startswith("datetime64"):
            tz = attr_value(node.attrs, "tz")
            return localize(values.astype("i8", copy=False), tz, _unit(value_type))
        if value_type.startswith("timedelta64"):
            return np.asarray(values, dtype=value_type if "[" in value_type else "m8[ns]")
        if value_type.startswith("period"):
            raise UnsupportedLayout(f"value_type {value_type!r}")
        return values.astype(value_type, copy=False)

    def _read_index(self, key: str, start, stop):
        """pandas' GenericFixed.read_index: a regular index or a MultiIndex."""
        import pandas as pd

        variety = _text(self.group.attrs, f"{key}_variety")
        if variety == "regular":
            return self._index_node(self._node(key), start, stop)
        if variety != "multi":
            raise UnsupportedLayout(f"{key}_variety {variety!r}")
        levels, codes, names = [], [], []
        for i in range(int(attr_value(self.group.attrs, f"{key}_nlevels", 0))):
            level = self._index_node(self._node(f"{key}_level{i}"), None, None)
            levels.append(level)
            names.append(level.name)
            label_node = self._node(f"{key}_label{i}")
            codes.append(self._typed(label_node, read_rows(label_node, start, stop), None))
        return pd.MultiIndex(levels=levels, codes=codes, names=names, verify_integrity=True)

    def _index_node(self, node, start, stop):
        """pandas' GenericFixed.read_index_node."""
        import pandas as pd

        attrs = node.attrs
        kind = _text(attrs, "kind")
        name = attr_value(attrs, "name")
        if kind == "object":  # one pickle: read whole (pandas cannot slice it at all)
            data = np.asarray(read_object_array(node))[start:stop]
            return pd.Index(data, dtype=object, name=name)
        shape = attr_value(attrs, "shape")
        if shape is not None and int(np.prod(shape)) == 0:
            data = np.empty(tuple(shape), dtype=_text(attrs, "value_type"))
        else:
            data = read_rows(node, start, stop)
        if kind == "category":
            categories = self._read_index(f"{_basename(node)}_categories", None, None)
            ordered = bool(attr_value(attrs, "ordered", False))
            codes = pd.Categorical.from_codes(data, categories=categories, ordered=ordered)
            return pd.CategoricalIndex(codes, name=name)
        index = self._plain_index(data, kind, attrs)
        index.name = name
        return index

    def _plain_index(self, data, kind, attrs):
        import pandas as pd

        index_class = _text(attrs, "index_class", "")
        freq = _frequency(attr_value(attrs, "freq"))
        if index_class not in ("", "datetime"):
            raise UnsupportedLayout(f"index_class {index_class!r}")
        if kind is None:
            raise UnsupportedLayout("an index without its kind")
        if kind.startswith("datetime64"):
            values = data.view(kind if "[" in kind else "M8[ns]")
            index = _with_frequency(pd.DatetimeIndex, values, freq)
            tz = attr_value(attrs, "tz")
            return index.tz_localize("UTC").tz_convert(tz) if tz is not None else index
        if kind.startswith("timedelta64"):
            values = data.view(kind if "[" in kind else "m8[ns]")
            return _with_frequency(pd.TimedeltaIndex, values, freq)
        if freq is not None:
            raise UnsupportedLayout(f"an index of kind {kind!r} with a freq")
        if kind == "string":
            nan_rep = attr_value(attrs, "nan_rep", "nan") or None
            values = decode_strings(data, nan_rep, self.encoding, self.errors)
            return pd.Index(values, dtype=_string_index_dtype())
        if kind not in ("integer", "float", "bool", "complex"):
            raise UnsupportedLayout(f"index kind {kind!r}")
        return pd.Index(np.asarray(data))

    def arrays(self, labels, levels, start, stop) -> dict:
        out = {}
        if levels:
            index = self._read_index(self.row_axis, start, stop)
            for level in levels:
                values = index.get_level_values(level) if self.index_levels > 1 else index
                out[level] = as_numpy(values.array)
        for name, items in self.blocks:
            asked = [label for label in labels if label in items]
            if asked:
                columns, _strings = self._block(name, items, start, stop)
                out.update({label: as_numpy(columns[items.index(label)]) for label in asked})
        return out


def _plain_index_dtype(dtype: np.dtype) -> bool:
    """An index dtype pandas keeps as it is (it refuses float16 indexes)."""
    return dtype.kind in PLAIN_KINDS and dtype != np.float16


def _rows(values: np.ndarray, start, stop, rows_first: bool) -> np.ndarray:
    """Rows [start, stop) of a block read whole; rows run along the first axis when transposed."""
    if values.ndim == 1 or rows_first:
        return values[start:stop]
    return values[:, start:stop]


def _split(values: np.ndarray, count: int, rows_first: bool) -> list:
    """A block's columns: rows run along the first axis when stored transposed."""
    if values.ndim == 1:
        return [values]
    if rows_first:
        return [values[:, i] for i in range(count)]
    return [values[i] for i in range(count)]


def _is_string_array(values: np.ndarray) -> bool:
    """pandas' lib.is_string_array(values, skipna=True) for an object block."""
    if values.dtype != object or values.size == 0:
        return False
    import pandas as pd

    return pd.api.types.infer_dtype(values.ravel(), skipna=True) in ("string", "empty")


def _basename(node) -> str:
    return node.name.rsplit("/", 1)[-1]


def stored_length(dataset) -> int:
    """pandas stores an empty array as one element plus a 'shape' attribute."""
    shape = attr_value(dataset.attrs, "shape")
    if shape is not None:
        return int(np.asarray(shape).ravel()[0])
    return int(dataset.shape[0])


def block_dtype(dataset) -> str:
    """The dtype pandas shows for a fixed-format block, from its attributes."""
    value_type = _text(dataset.attrs, "value_type")
    if value_type is not None:
        if value_type.startswith("datetime64"):
            tz = attr_value(dataset.attrs, "tz")
            unit = _unit(value_type)
            return f"datetime64[{unit}, {_tz_name(tz)}]" if tz is not None else value_type
        return value_type
    if is_object_array(dataset):
        return "object"
    return "bool" if is_bitfield_bool(dataset) else str(dataset.dtype)


def is_object_array(dataset) -> bool:
    """A PyTables VLArray of pickled objects (pandas' object blocks)."""
    return _text(dataset.attrs, "PSEUDOATOM") == "object"


def read_object_array(dataset):
    """The one pickled object a pandas object block holds, loaded by vime's unpickler."""
    _prepare(dataset)
    try:
        raw = dataset[0]
    except (OSError, RuntimeError, TypeError, ValueError) as exc:
        raise ReadFailed(_failure(dataset, exc)) from None
    try:
        return unpickle.loads(np.asarray(raw, dtype=np.uint8).tobytes())
    except unpickle.RefusedPickle as refused:
        raise ReadFailed(
            f"{_where(dataset)}: unsafe pickled data, not loaded ({refused}); "
            "its raw bytes open as a table of their own"
        ) from None


def read_rows(dataset, start, stop) -> np.ndarray:
    _prepare(dataset)
    try:
        return dataset[slice(start, stop)]
    except (OSError, RuntimeError, TypeError, ValueError) as exc:
        raise ReadFailed(_failure(dataset, exc)) from None


def _where(node) -> str:
    return f"{node.file.filename}:{node.name}"


def _failure(dataset, exc: Exception) -> str:
    return f"{_where(dataset)}: cannot read: {_read_failure(dataset, exc)}"


# -- h5py only ------------------------------------------------------------------------------
# The three things below use h5py's low-level API. Other clients (h5pyd) get
# the neutral answer: no filters to register, the exception's own text, and
# a bool block only when the client already reads it as bool.
def _prepare(dataset) -> None:
    """Register the hdf5plugin filters a dataset needs (h5py); once per Cached node."""
    if getattr(dataset, "prepared", False):
        return
    if is_h5py(dataset):
        from vime.loaders.h5 import ensure_filters

        ensure_filters(dataset)
    if isinstance(dataset, Cached):
        dataset.prepared = True


def _read_failure(dataset, exc: Exception) -> str:
    if is_h5py(dataset):
        from vime.loaders.h5 import read_error

        return read_error(dataset, exc)
    return f"{type(exc).__name__}: {exc}"


def is_bitfield_bool(dataset) -> bool:
    """PyTables stores bool arrays as 8-bit bitfields, which h5py reads as uint8."""
    if dataset.dtype == np.bool_:
        return True
    get_type = getattr(getattr(dataset, "id", None), "get_type", None)
    if get_type is None:
        return False
    import h5py

    kind = get_type()
    return kind.get_class() == h5py.h5t.BITFIELD and kind.get_size() == 1
