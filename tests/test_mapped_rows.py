"""Table.mapped_rows: the rows of a numeric plane read in place through a memory map."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from vime.errors import ReadFailed
from vime.loaders import open_source

ROWS, COLS = 37, 11


def values(shape, dtype="f4") -> np.ndarray:
    return (np.arange(np.prod(shape)).reshape(shape) * 1.25 - 100).astype(dtype)


@pytest.fixture
def planes(tmp_path):
    """Datasets that are stored as they are, and others."""
    path = tmp_path / "planes.h5"
    with h5py.File(path, "w") as f:
        f["contiguous"] = values((ROWS, COLS))
        f.create_dataset("rows_chunked", data=values((ROWS, COLS), "f8"), chunks=(8, COLS))
        f.create_dataset("ints", data=values((ROWS, COLS), "i2"), chunks=(5, COLS))
        f["cube"] = values((3, ROWS, COLS))
        f.create_dataset("cube_chunked", data=values((3, ROWS, COLS)), chunks=(1, 16, COLS))
        f.create_dataset("sparse", shape=(ROWS, COLS), dtype="f4", chunks=(8, COLS))
        f["sparse"][:8] = 1.0  # the other chunks were never written
        f.create_dataset("deflated", data=values((ROWS, COLS)), chunks=(8, COLS), compression=1)
        f.create_dataset("column_chunks", data=values((ROWS, COLS)), chunks=(8, 4))
        f["swapped"] = values((ROWS, COLS), ">f4")
        f["records"] = np.zeros(ROWS, dtype=[("a", "<f4"), ("b", "<i4")])
    source = open_source(str(path))
    yield source
    source.close()


def mapped(table, start, stop, plane=None) -> np.ndarray | None:
    blocks = table.mapped_rows(start, stop, plane)
    if blocks is None:
        return None
    blocks = list(blocks)
    assert all(not block.flags.writeable for block in blocks)
    return np.concatenate(blocks) if blocks else np.empty((0, COLS), table.raw(0, 1).dtype)


@pytest.mark.parametrize("name", ["/contiguous", "/rows_chunked", "/ints"])
@pytest.mark.parametrize(("start", "stop"), [(0, ROWS), (3, 30), (8, 16), (36, 40), (5, 5)])
def test_the_rows_of_a_plane_stored_as_is_are_its_bytes(planes, name, start, stop):
    table = planes.table(name)
    got = mapped(table, start, stop)
    assert got is not None
    expected = table.raw(start, stop)
    assert got.dtype == expected.dtype
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("name", ["/cube", "/cube_chunked"])
def test_a_plane_of_a_cube_is_mapped_at_its_own_place(planes, name):
    table = planes.table(name)
    for plane in ([0], [1], [2]):
        got = mapped(table, 4, 33, plane)
        assert np.array_equal(got, values((3, ROWS, COLS))[plane[0], 4:33])


@pytest.mark.parametrize("name", ["/sparse", "/deflated", "/column_chunks", "/swapped", "/records"])
def test_rows_that_are_not_their_bytes_are_read_as_usual(planes, name):
    """Unwritten chunks (the fill value), filters, chunks of part of a row, another
    byte order, records: None, and raw() reads them."""
    assert planes.table(name).mapped_rows(0, ROWS) is None


def test_a_slice_is_read_as_usual(planes):
    assert planes.table("/contiguous").sliced("[2:9, 1:4]").mapped_rows(0, 5) is None


def test_a_file_cut_short_is_an_error_not_a_crash(tmp_path):
    path = tmp_path / "cut.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("plane", data=values((ROWS, COLS)), chunks=(8, COLS))
        f.flush()
    source = open_source(str(path))
    try:
        table = source.table("/plane")
        size = path.stat().st_size
        with open(path, "r+b") as handle:  # cut after vime opened it: the last chunk's
            handle.truncate(size - 8 * COLS * 4 // 2)  # bytes are gone
        blocks = table.mapped_rows(0, ROWS)
        assert blocks is not None
        with pytest.raises(ReadFailed, match=r"/plane: cannot read: the file ends before"):
            list(blocks)
    finally:
        source.close()
