"""Generic HDF5 datasets read with h5py, one slice at a time.

A dataset becomes a table: a compound dataset gives one column per field
(nested fields flattened as 'a.b'); a 1-D dataset one column; a 2-D dataset
columns '0'..'n-1'; an N-D dataset pages its last two axes, with ``plane``
indexing the leading ones; a 0-d dataset is a 1x1 table. Values are made
readable column by column: strings decoded with replacement, enums shown by
label, big-endian swapped to native, references and unreadable types shown
as the type's name in each cell.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable
from typing import TYPE_CHECKING

import h5py
import numpy as np

from vime.errors import InvalidParams, ReadFailed
from vime.loaders.base import CHUNK_ROWS, PLAIN_KINDS, PageArrays, Table
from vime.loaders.columns import Positions, Repeated
from vime.loaders.convert import jsonable_attrs
from vime.loaders.live import check_stored
from vime.loaders.nodes import is_h5py, is_swmr_reader

if TYPE_CHECKING:  # pandas is imported on the first read, not to list a file
    import pandas as pd

log = logging.getLogger("vime.loaders.h5")

Decoder = Callable[[np.ndarray], np.ndarray]


# -- per-type decoders ------------------------------------------------------
def shown_as_stored(dtype: np.dtype) -> bool:
    """Whether values of ``dtype`` show as the numbers or bools they are, or as text
    (strings, enum labels): their pages need no pandas. Array cells, references,
    opaque and vlen sequences do."""
    if dtype.subdtype is not None:
        return False
    if h5py.check_string_dtype(dtype) is not None or h5py.check_enum_dtype(dtype) is not None:
        return True
    return dtype.kind in PLAIN_KINDS


def decoder_for(dtype: np.dtype) -> tuple[Decoder, str]:
    """How to make values of ``dtype`` readable, and the dtype to show."""
    if dtype.subdtype is not None:  # an array-valued field: one array per cell
        base, _ = dtype.subdtype
        decode, shown = decoder_for(base)
        return _cells_of(decode), f"{shown}{list(dtype.shape)}"
    if h5py.check_string_dtype(dtype) is not None:
        info = h5py.check_string_dtype(dtype)
        size = "vlen" if info.length is None else f"fixed {info.length}"
        return _decode_strings, f"str ({info.encoding}, {size})"
    enum = h5py.check_enum_dtype(dtype)
    if enum is not None:
        return _enum_labels(enum), "enum"
    ref = h5py.check_ref_dtype(dtype)
    if ref is not None:
        label = "<region reference>" if ref is h5py.RegionReference else "<object reference>"
        return _constant(label), "reference"
    vlen = h5py.check_vlen_dtype(dtype)
    if vlen is not None:
        return _identity, f"vlen {vlen}"
    if dtype.kind == "V" and dtype.names is None:
        return _constant(f"<opaque {dtype.itemsize} bytes>"), "opaque"
    if dtype.kind == "O":
        return _constant(f"<{dtype}>"), str(dtype)
    if not dtype.isnative:
        native = dtype.newbyteorder("=")
        return (lambda values: values.astype(native)), str(native)
    return _identity, str(dtype)


def _identity(values: np.ndarray) -> np.ndarray:
    return values


def _constant(label: str) -> Decoder:
    def fill(values: np.ndarray) -> np.ndarray:
        return np.full(values.shape, label, dtype=object)

    return fill


def _cells_of(decode: Decoder) -> Decoder:
    """Keep each row's sub-array as one cell."""

    def cells(values: np.ndarray) -> np.ndarray:
        out = np.empty(len(values), dtype=object)
        for i, row in enumerate(values):
            out[i] = decode(np.asarray(row))
        return out

    return cells


def _decode_strings(values: np.ndarray) -> np.ndarray:
    """Bytes (fixed or vlen, ASCII or UTF-8) to str, bad bytes replaced."""
    flat = values.ravel()
    out = np.empty(flat.shape, dtype=object)
    for i, item in enumerate(flat.tolist()):
        out[i] = item.decode("utf-8", "replace") if isinstance(item, bytes) else item
    return out.reshape(values.shape)


def _enum_labels(mapping: dict) -> Decoder:
    codes = np.array(sorted(mapping.values()))
    by_code = {value: name for name, value in mapping.items()}
    labels = np.array([by_code[code] for code in codes], dtype=object)

    def decode(values: np.ndarray) -> np.ndarray:
        plain = values.astype(codes.dtype)
        position = np.clip(np.searchsorted(codes, plain), 0, codes.size - 1)
        found = codes[position] == plain
        out = plain.astype(str).astype(object)  # an unlabelled value shows its number
        out[found] = labels[position[found]]
        return out

    return decode


# -- columns of a dataset -----------------------------------------------------
class Column:
    """A displayed column: a path of field names into a record, and its decoder."""

    def __init__(self, name: str, fields: tuple[str, ...], dtype: np.dtype):
        self.name = name
        self.fields = fields
        self.decode, self.dtype = decoder_for(dtype)
        self.plain = shown_as_stored(dtype)

    @classmethod
    def unreadable(cls, name: str, type_name: str) -> Column:
        """A member h5py cannot map: every cell shows the type's name."""
        column = cls.__new__(cls)
        column.name, column.fields, column.dtype = name, (), type_name
        column.decode = _constant(f"<{type_name}>")
        column.plain = False
        return column

    def values(self, records: np.ndarray) -> np.ndarray:
        for field in self.fields:
            records = records[field]
        return self.decode(records)


def flatten_fields(dtype: np.dtype, prefix: tuple[str, ...] = ()) -> list[Column]:
    """One Column per leaf field; nested compounds become 'a.b'."""
    columns = []
    for field in dtype.names:
        sub = dtype.fields[field][0]
        path = (*prefix, field)
        if sub.names is not None:
            columns.extend(flatten_fields(sub, path))
        else:
            columns.append(Column(".".join(path), path, sub))
    return columns


# -- the table ------------------------------------------------------------------
class DatasetTable(Table):
    """An h5py dataset of any supported type and rank, or a slice of one.

    Without a selection, rows run along the last axis of a compound dataset
    and the second-to-last of an array; ``plane`` indexes the axes before
    those. With a selection (``sliced``), the result's first axis is the
    rows and its second the columns, and there is no plane.
    """

    def __init__(self, dataset: h5py.Dataset, name: str, file: str, fields=None, selection=None):
        self.dataset = dataset
        self.name = name
        self.file = file
        self.attrs = jsonable_attrs(dataset.attrs)
        self.selection = selection  # a vime.slicing.Selection, None for the whole dataset
        self._given_fields = fields
        self._swmr: bool | None = None  # read as a SWMR reader; known at the first read
        self._lay_out()

    def _lay_out(self) -> None:
        """Everything that follows from the shape (which a SWMR writer may grow)."""
        dataset, fields = self.dataset, self._given_fields
        self.shape = list(dataset.shape or ())  # the full shape; None for a null dataspace
        self.view_shape = self.shape if self.selection is None else self.selection.shape
        self.compound = fields is not None or dataset.dtype.names is not None
        ndim = len(self.shape)
        self.kind = "scalar" if ndim == 0 else "compound" if self.compound else "dataset"
        if self.compound:
            self._compound_layout(fields or flatten_fields(dataset.dtype))
        else:
            self._array_layout(dataset.dtype, posixpath.basename(self.name) or self.name)
        if _is_pytables_bool(dataset):
            self._decode = _as_bool
            self.dtypes = Repeated("bool", len(self.columns))
        self.rows = self._row_count()
        self.raw_by_position = not self.compound and len(self.view_shape) >= 2

    def refresh(self) -> bool:
        """A SWMR writer extends datasets: read the shape again (slices are made per
        request, never kept, so only whole datasets refresh)."""
        if self.selection is not None:
            return False
        self.dataset.refresh()
        if list(self.dataset.shape or ()) != self.shape:
            self._lay_out()
        return True

    def _compound_layout(self, fields: list[Column]) -> None:
        """One column per leaf field; rows run along the last axis."""
        self.plane_axes = 0 if self.selection else max(len(self.shape) - 1, 0)
        self.columns = [c.name for c in fields]
        self.dtypes = [c.dtype for c in fields]
        self._fields = {c.name: c for c in fields}

    def _array_layout(self, dtype: np.dtype, label: str) -> None:
        """One column for 0-d and 1-D; columns '0'..'n-1' along the last axis otherwise.

        Those are computed on demand (Positions): a wide axis has millions.
        """
        view = self.view_shape
        self.plane_axes = 0 if self.selection else max(len(view) - 2, 0)
        self._decode, shown = decoder_for(dtype)
        self._plain = shown_as_stored(dtype)
        self.columns = Positions(view[-1]) if len(view) >= 2 else [label]
        self.dtypes = Repeated(shown, len(self.columns))

    def _row_count(self) -> int:
        view = self.view_shape
        if self.dataset.shape is None:
            return 0
        if not view:
            return 1
        if self.compound or len(view) == 1:
            return view[-1]
        return view[-2]

    def sliced(self, text: str) -> DatasetTable:
        """This dataset through numpy basic indexing; see vime.slicing."""
        from vime import slicing

        max_axes = 1 if self.compound else 2  # a compound's fields are the columns
        selection = slicing.resolve(slicing.parse(text), self.shape, max_axes, self.where)
        return type(self)(self.dataset, self.name, self.file, selection=selection)

    # -- reading ------------------------------------------------------------
    def _axes(self, plane: tuple) -> list[int | range]:
        """Per axis of the dataset: a fixed index, or the range the view keeps."""
        if self.selection is not None:
            return self.selection.axes
        return [*plane, *(range(size) for size in self.shape[len(plane) :])]

    def _key(self, start, stop, plane, positions) -> tuple[tuple, list[int]]:
        """The h5py selection of rows [start, stop), and the result axes to reverse.

        The first kept axis is the rows, the second the columns (all of them,
        or the increasing ``positions``). h5py reads only increasing
        indexes, so a negative step is read forwards and reversed.
        """
        key, flips, kept = [], [], 0
        for item in self._axes(plane):
            if isinstance(item, int):
                key.append(item)
                continue
            part = item[start:stop] if kept == 0 else _picked(item, positions)
            index, flip = _h5_index(part)
            key.append(index)
            if flip:
                flips.append(kept)
            kept += 1
        return tuple(key), flips

    def _read_records(
        self, start, stop, plane, fields=None, positions=None, out=None
    ) -> np.ndarray:
        """The stored values of the slice, read under a clear error on failure.

        ``fields``: top-level compound fields to read; ``positions``: the
        increasing column positions of a 2-D view to read; ``out``: the array
        to fill and return (read into directly when the values need no change).
        """
        ensure_filters(self.dataset)
        if self.dataset.shape is None:
            return np.empty((0,), dtype=self.dataset.dtype)
        source = self.dataset.fields(fields) if fields else self.dataset
        key, flips = self._key(start, stop, plane, positions)
        if self._swmr is None:
            self._swmr = is_swmr_reader(self.dataset)
        if self._swmr:  # HDF5 does not check the end of the file for a SWMR reader
            check_stored(self.dataset, key, self.file, self.where)
        direct = out is not None and not (fields or flips) and self.view_shape
        try:
            if direct and is_h5py(self.dataset):
                self.dataset.read_direct(out, key)
                return out
            data = source[key]
        except (OSError, RuntimeError, TypeError, ValueError) as exc:
            reason = read_error(self.dataset, exc)
            raise ReadFailed(f"{self.where}: cannot read: {reason}") from None
        for axis in flips:
            data = np.flip(data, axis)
        if not self.view_shape:  # 0-d: a 1-row table
            data = np.asarray(data).reshape(1)[: stop - start]
        if fields and len(fields) == 1 and data.dtype.names is None:
            data = _as_records(data, fields[0])
        if out is not None:
            out[...] = data
            return out
        return data

    def mapped_rows(self, start, stop, plane=None):
        start, stop = self.clamp(start, stop)
        spans = self._stored_spans(start, stop, self.check_plane(plane))
        if spans is None:
            return None
        return _mapped_blocks(self.dataset, spans, self.where)

    def _stored_spans(self, start, stop, plane) -> list[tuple[int, int]] | None:
        """(file offset, rows) of each run of rows [start, stop) of the plane that lies
        in the file as it is: a whole dataset of native numbers without filters, in a
        local file, contiguous or in chunks of whole rows; None when any is not."""
        dataset = self.dataset
        if self.selection is not None or self.compound or len(self.shape) < 2:
            return None
        if not is_h5py(dataset) or is_swmr_reader(dataset):
            return None
        plist = dataset.id.get_create_plist()
        if not _maps_as_stored(dataset, plist):
            return None
        row_bytes = self.shape[-1] * dataset.dtype.itemsize
        if plist.get_layout() == h5py.h5d.CONTIGUOUS:
            offset = dataset.id.get_offset()
            if offset is None:  # never written: the fill value, which raw() gives
                return None
            before = int(np.ravel_multi_index(plane, self.shape[:-2])) if plane else 0
            first = offset + (before * self.shape[-2] + start) * row_bytes
            return [(first, stop - start)] if stop > start else []
        if plist.get_layout() != h5py.h5d.CHUNKED:
            return None
        chunks = dataset.chunks
        if chunks[-1] != self.shape[-1] or any(size != 1 for size in chunks[:-2]):
            return None
        return _chunk_spans(dataset, plane, start, stop, chunks[-2], row_bytes)

    def _read(self, start, stop, columns, plane) -> pd.DataFrame:
        import pandas as pd

        data = self._read_data(start, stop, columns, plane)
        return pd.DataFrame(data, index=pd.RangeIndex(start, stop), columns=columns)

    def _read_arrays(self, start, stop, columns, plane) -> PageArrays | None:
        """The page's columns as decoded, when all are numbers, bools or text; the row
        numbers."""
        if not self._all_plain(columns):
            return None
        data = self._read_data(start, stop, columns, plane)
        index = np.arange(start, stop, dtype=np.int64)  # what the page's RangeIndex holds
        return PageArrays([None], [index], list(columns), [data[c] for c in columns])

    def _all_plain(self, columns) -> bool:
        """Whether these columns' values are numbers, bools or text (an array's all are
        alike)."""
        if self.compound:
            return all(self._fields[c].plain for c in columns)
        return self._plain

    @property
    def pages_need_pandas(self) -> bool:
        return not self._all_plain(self.columns)

    def _read_data(self, start, stop, columns, plane) -> dict[str, np.ndarray]:
        """{column: decoded values} of rows [start, stop), reading only those columns."""
        if self.compound:
            wanted = [self._fields[c] for c in columns]
            top = list(dict.fromkeys(c.fields[0] for c in wanted if c.fields))
            records = self._read_records(start, stop, plane, fields=top)
            return {c.name: c.values(records) for c in wanted}
        if len(self.view_shape) <= 1:
            values = self._decode(self._read_records(start, stop, plane))
            return dict.fromkeys(columns, values)
        return self._read_columns(start, stop, plane, columns)

    def _read_columns(self, start, stop, plane, columns) -> dict:
        """Columns of a 2-D view; a few of many are read alone, saving I/O."""
        wanted = sorted({int(c) for c in columns})
        if not wanted:
            return {}
        if len(wanted) * 2 > len(self.columns) or stop <= start:
            block = self._read_records(start, stop, plane)
            return {c: self._decode(block[:, int(c)]) for c in columns}
        block = self._read_records(start, stop, plane, positions=wanted)
        where = {position: i for i, position in enumerate(wanted)}
        return {c: self._decode(block[:, where[int(c)]]) for c in columns}

    def arrays(self, columns=None, start=0, stop=None, chunk_rows=CHUNK_ROWS, plane=None):
        """Only the named columns' bytes: compound fields, or column positions of a plane."""
        start, stop = self.clamp(start, self.rows if stop is None else stop)
        names = self.select_columns(columns)
        read = self.data_columns(names)
        plane = self.check_plane(plane)
        for first in range(start, stop, max(1, chunk_rows)):
            last = min(stop, first + chunk_rows)
            data = self._read_data(first, last, read, plane)
            yield {n: data[n] if n in data else np.arange(first, last) for n in names}

    def _read_raw(self, start, stop, plane, columns=None) -> np.ndarray:
        return self._read_records(start, stop, plane, positions=columns)

    def _read_raw_into(self, start, stop, plane, out) -> np.ndarray:
        return self._read_records(start, stop, plane, out=out)

    def storage(self) -> dict:
        return dataset_storage(self.dataset)

    def info_attrs(self) -> dict:
        return jsonable_attrs(self.dataset.attrs, detail=True)


def _picked(axis: range, positions) -> range | list[int]:
    """The part of the column axis to read: all of it, a window, or the positions picked."""
    if positions is None:
        return axis
    if len(positions) == 0:
        return axis[:0]
    first, last = positions[0], positions[-1]
    if last - first + 1 == len(positions):
        return axis[first : last + 1]
    return [axis[p] for p in positions]


def _h5_index(part: range | list[int]) -> tuple[slice | list[int], bool]:
    """An h5py index for increasing or decreasing positions, and whether to reverse."""
    if isinstance(part, list):
        return (part[::-1], True) if part[0] > part[-1] else (part, False)
    if len(part) == 0:
        return slice(0, 0), False
    flip = part.step < 0
    if flip:
        part = part[::-1]
    return slice(part.start, part[-1] + 1, part.step), flip


class PartialCompoundTable(DatasetTable):
    """A compound dataset with members h5py cannot map.

    The other members are read through a memory type that leaves those out;
    the unmapped ones show their type's name in each cell.
    """

    def __init__(self, dataset: h5py.Dataset, name: str, file: str):
        file_type = dataset.id.get_type()
        readable, fields = [], []
        for i in range(file_type.get_nmembers()):
            member = file_type.get_member_name(i).decode("utf-8", "replace")
            member_type = file_type.get_member_type(i)
            try:
                readable.append((member, member_type.dtype))
                fields += flatten_fields(np.dtype([readable[-1]]))
            except (TypeError, ValueError):
                fields.append(Column.unreadable(member, unsupported_name(member_type)))
        self._readable = np.dtype(readable)
        super().__init__(dataset, name, file, fields=fields)

    def sliced(self, text: str) -> DatasetTable:
        raise InvalidParams(f"{self.where}: cannot slice a compound with members h5py cannot map")

    def _read_records(self, start, stop, plane, fields=None, positions=None) -> np.ndarray:
        ensure_filters(self.dataset)
        count = stop - start if self.shape else 1
        out = np.empty(count, dtype=self._readable)
        file_space = self.dataset.id.get_space()
        if self.shape:
            if count == 0:
                return out
            file_space.select_hyperslab((*plane, start), (*(1,) * len(plane), count))
        memory_space = h5py.h5s.create_simple((count,))
        try:
            memory_type = h5py.h5t.py_create(self._readable)
            self.dataset.id.read(memory_space, file_space, out, memory_type)
        except (OSError, RuntimeError, TypeError, ValueError) as exc:
            reason = read_error(self.dataset, exc)
            raise ReadFailed(f"{self.where}: cannot read: {reason}") from None
        return out[: stop - start]


class BrokenTable(Table):
    """A listed entry that cannot be read: a dangling link, an unreadable type."""

    kind = "dataset"
    pages_need_pandas = False  # a page is the error

    def __init__(self, name: str, file: str, error: str, shape=(), attrs=None):
        self.name = name
        self.file = file
        self.error = error
        self.shape = list(shape)
        self.rows = 0
        self.columns = []
        self.dtypes = []
        self.attrs = attrs or {}

    def _read(self, start, stop, columns, plane) -> pd.DataFrame:
        raise ReadFailed(f"{self.where}: {self.error}")


class UnsupportedTable(Table):
    """A dataset whose HDF5 type h5py cannot map: each cell shows the type name."""

    kind = "dataset"

    def __init__(self, dataset: h5py.Dataset, name: str, file: str, type_name: str):
        self.dataset = dataset
        self.name = name
        self.file = file
        self.attrs = jsonable_attrs(dataset.attrs)
        self.shape = list(dataset.shape or ())
        self.rows = self.shape[0] if self.shape else 1
        self.columns = [posixpath.basename(name) or name]
        self.type_name = type_name
        self.dtypes = [type_name]

    def sliced(self, text: str) -> Table:
        raise InvalidParams(f"{self.where}: cannot slice a dataset of an {self.type_name}")

    def _read(self, start, stop, columns, plane) -> pd.DataFrame:
        import pandas as pd

        cells = np.full(stop - start, f"<{self.type_name}>", dtype=object)
        return pd.DataFrame({c: cells for c in columns}, index=pd.RangeIndex(start, stop))

    def storage(self) -> dict:
        return dataset_storage(self.dataset)

    def info_attrs(self) -> dict:
        return jsonable_attrs(self.dataset.attrs, detail=True)


def _is_pytables_bool(dataset: h5py.Dataset) -> bool:
    """PyTables stores bool arrays as 8-bit bitfields, which h5py reads as uint8.

    (HSDS has no bitfield type: a domain's such array is plain uint8.)
    """
    if not is_h5py(dataset):
        return False
    kind = dataset.id.get_type()
    return (
        kind.get_class() == h5py.h5t.BITFIELD and kind.get_size() == 1 and "CLASS" in dataset.attrs
    )


def _as_bool(values: np.ndarray) -> np.ndarray:
    return values.astype(bool)


def _as_records(values: np.ndarray, field: str) -> np.ndarray:
    """h5py returns a plain array when one field is asked; wrap it back."""
    records = np.empty(values.shape, dtype=[(field, values.dtype)])
    records[field] = values
    return records


def dataset_table(dataset: h5py.Dataset, name: str, file: str) -> Table:
    try:
        dataset.dtype  # noqa: B018 - raises for types h5py cannot map
    except (TypeError, ValueError) as exc:
        file_type = dataset.id.get_type()
        log.info("%s:%s: type without a numpy equivalent (%s)", file, name, exc)
        if file_type.get_class() == h5py.h5t.COMPOUND:
            return PartialCompoundTable(dataset, name, file)
        return UnsupportedTable(dataset, name, file, unsupported_name(file_type))
    return DatasetTable(dataset, name, file)


def unsupported_name(file_type) -> str:
    """'unsupported HDF5 type TypeTimeID' for a type h5py cannot map."""
    return f"unsupported HDF5 type {type(file_type).__name__}"


# -- values read in place ------------------------------------------------------------------
def _maps_as_stored(dataset: h5py.Dataset, plist) -> bool:
    """Native numbers without filters, in a file of the default driver without a user
    block: the bytes at a chunk's address are its values."""
    dtype, file = dataset.dtype, dataset.file
    return (
        dtype.kind in "iuf"
        and dtype.isnative
        and file.driver == "sec2"
        and file.userblock_size == 0
        and plist.get_nfilters() == 0
    )


def _chunk_spans(dataset, plane, start, stop, chunk_rows, row_bytes) -> list | None:
    """(file offset, rows) per chunk of rows holding [start, stop); None when a chunk
    was never written (its rows are the fill value)."""
    spans = []
    for chunk_start in range(start - start % chunk_rows, stop, chunk_rows):
        try:
            info = dataset.id.get_chunk_info_by_coord((*plane, chunk_start, 0))
        except (AttributeError, RuntimeError, ValueError):  # an HDF5 without the call
            return None
        if info.byte_offset is None or info.filter_mask:
            return None
        first, last = max(start, chunk_start), min(stop, chunk_start + chunk_rows)
        spans.append((info.byte_offset + (first - chunk_start) * row_bytes, last - first))
    return spans


def _mapped_blocks(dataset, spans, where):
    """Each span as a read-only array over a memory map of its bytes alone (the worker's
    address-space limit stays far from a whole file's size); a span past the end of
    the file (a truncated file) is an error, not a crash when it is touched."""
    import mmap
    import os

    handle = dataset.file.id.get_vfd_handle()
    size = os.fstat(handle).st_size
    dtype, cols = dataset.dtype, dataset.shape[-1]
    populate = getattr(mmap, "MAP_POPULATE", 0)  # one call maps the pages: fewer faults
    for offset, rows in spans:
        length = rows * cols * dtype.itemsize
        if offset + length > size:
            raise ReadFailed(f"{where}: cannot read: the file ends before its data (truncated?)")
        if rows == 0:
            continue
        aligned = offset - offset % mmap.ALLOCATIONGRANULARITY
        region = mmap.mmap(handle, offset - aligned + length, offset=aligned,
                           flags=mmap.MAP_SHARED | populate, prot=mmap.PROT_READ)  # fmt: skip
        values = np.frombuffer(region, dtype=dtype, count=rows * cols, offset=offset - aligned)
        yield values.reshape(rows, cols)


# -- storage and filters ---------------------------------------------------------
def dataset_filters(dataset: h5py.Dataset) -> list[tuple[int, str]]:
    """(filter id, name) of each filter in the dataset's pipeline."""
    plist = dataset.id.get_create_plist()
    filters = []
    for i in range(plist.get_nfilters()):
        code, _flags, _values, name = plist.get_filter(i)
        label = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
        filters.append((code, label or FILTER_NAMES.get(code, f"filter {code}")))
    return filters


def dataset_storage(dataset: h5py.Dataset) -> dict:
    if not is_h5py(dataset):
        return dataset.storage()
    return {
        "chunks": list(dataset.chunks) if dataset.chunks else None,
        "compression": dataset.compression,
        "filters": [name for _code, name in dataset_filters(dataset)],
        "bytes": int(dataset.id.get_storage_size()),
    }


_plugins_loaded = False


def ensure_filters(dataset: h5py.Dataset) -> None:
    """Register the hdf5plugin filters the first time a dataset needs one."""
    global _plugins_loaded
    if _plugins_loaded or not is_h5py(dataset):
        return
    if all(h5py.h5z.filter_avail(code) for code, _name in dataset_filters(dataset)):
        return
    try:
        import hdf5plugin  # noqa: F401 - importing registers blosc, zstd, lz4, ...
    except ImportError:
        log.warning("hdf5plugin is not installed; compressed datasets may not read")
    _plugins_loaded = True


# Registered filter ids (support.hdfgroup.org) for naming a filter the file does not name.
FILTER_NAMES = {
    1: "deflate",
    2: "shuffle",
    3: "fletcher32",
    4: "szip",
    5: "nbit",
    6: "scaleoffset",
    305: "lzo",
    307: "bzip2",
    32000: "lzf",
    32001: "blosc",
    32004: "lz4",
    32008: "bitshuffle",
    32013: "zfp",
    32015: "zstd",
    32017: "sz",
    32026: "blosc2",
}


def read_error(dataset: h5py.Dataset, exc: Exception) -> str:
    """Name the missing filter when that is why a read failed."""
    if not is_h5py(dataset):
        return f"{type(exc).__name__}: {exc}"
    missing = [
        f"{name!r} (id {code})"
        for code, name in dataset_filters(dataset)
        if not h5py.h5z.filter_avail(code)
    ]
    if missing:
        return f"filter {', '.join(missing)} is not available (no plugin installed for it)"
    return f"{type(exc).__name__}: {exc}"
