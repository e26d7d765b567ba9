"""Builders for the HDF5 files the data-layer tests open: one per case of issue 4.

Each builder writes under a given directory and returns the path. They use
pandas, h5py, PyTables and netCDF4 the way users' programs do.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

ROWS = 200


# -- pandas HDFStore ------------------------------------------------------------------
def pandas_rich_frame(rows: int = ROWS) -> pd.DataFrame:
    """Every kind of column pandas stores in format='table'."""
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "x": rng.normal(size=rows),
            "count": np.arange(rows, dtype="int32"),
            "small": np.arange(rows, dtype="uint16") % 7,
            "flag": np.arange(rows) % 3 == 0,
            "name": [f"item-{i}" for i in range(rows)],
            "colour": pd.Categorical(np.array(["red", "green", "blue"])[np.arange(rows) % 3]),
            "when": pd.date_range("2024-01-01", periods=rows, freq="h"),
            "when_tz": pd.date_range("2024-03-30", periods=rows, freq="h", tz="Europe/Paris"),
            "utc": pd.date_range("2024-01-01", periods=rows, freq="min", tz="UTC"),
            "took": pd.to_timedelta(np.arange(rows), unit="s"),
        }
    )


def pandas_fixed_frame(rows: int = ROWS) -> pd.DataFrame:
    """format='fixed' cannot hold categoricals; everything else stays."""
    return pandas_rich_frame(rows).drop(columns=["colour"])


def pandas_multiindex_frame(rows: int = 12) -> pd.DataFrame:
    index = pd.MultiIndex.from_product(
        [["a", "b", "c"], range(rows // 3)], names=["letter", "number"]
    )
    return pd.DataFrame(
        {"value": np.arange(rows) * 1.5, "label": list("xyzw") * (rows // 4)}, index=index
    )


def pandas_store(directory: Path) -> Path:
    """Several keys in groups, both formats, a Series, MultiIndex, compression."""
    path = directory / "store.h5"
    rich = pandas_rich_frame()
    rich.to_hdf(path, key="exp/rich", format="table")
    rich.to_hdf(path, key="exp/indexed", format="table", data_columns=["x", "name"])
    pandas_fixed_frame().to_hdf(path, key="exp/fixed", format="fixed")
    pandas_multiindex_frame().to_hdf(path, key="multi/table", format="table")
    pandas_multiindex_frame().to_hdf(path, key="multi/fixed", format="fixed")
    pd.Series(np.arange(5.0), name="speed").to_hdf(path, key="series/fixed", format="fixed")
    pd.Series(np.arange(5.0)).to_hdf(path, key="series/table", format="table")
    rich.to_hdf(path, key="packed", format="table", complib="blosc:zstd", complevel=5)
    pandas_fixed_frame(0).to_hdf(path, key="empty", format="fixed")
    return path


# -- generic HDF5 ------------------------------------------------------------------------
COMPOUND = np.dtype(
    [
        ("id", "<i4"),
        ("pos", [("x", "<f8"), ("y", "<f8"), ("inner", [("z", "<f4")])]),
        ("label", h5py.string_dtype("utf-8")),
        ("ok", "?"),
        ("wave", "<c16"),
        ("hist", "<i2", (3,)),
    ]
)
COLOURS = {"RED": 0, "GREEN": 1, "BLUE": 7}


def compound_records(rows: int = 5) -> np.ndarray:
    records = np.zeros(rows, dtype=COMPOUND)
    records["id"] = np.arange(rows)
    records["pos"]["x"] = np.arange(rows) * 0.5
    records["pos"]["y"] = -np.arange(rows)
    records["pos"]["inner"]["z"] = 2.5
    records["label"] = [f"née-{i}" for i in range(rows)]
    records["ok"] = np.arange(rows) % 2 == 0
    records["wave"] = np.arange(rows) + 1j
    records["hist"] = np.arange(rows * 3).reshape(rows, 3)
    return records


def generic_file(directory: Path) -> Path:
    """One dataset per type and rank h5py can store, plus one it cannot read."""
    path = directory / "generic.h5"
    with h5py.File(path, "w") as f:
        f.attrs["title"] = "generic fixture"
        f.attrs["version"] = np.int64(3)
        f.create_dataset("compound", data=compound_records())
        colours = h5py.enum_dtype(COLOURS, basetype="i1")
        f.create_dataset("enum", data=np.array([0, 1, 7, 3, 0], dtype="i1"), dtype=colours)
        strings = f.create_group("strings")
        strings["fixed_ascii"] = np.array([b"alpha", b"be\xfft", b""], dtype="S6")
        fixed_utf8 = h5py.string_dtype("utf-8", 8)
        strings["fixed_utf8"] = np.array(["é".encode(), "ü".encode(), b"z\xff"], dtype=fixed_utf8)
        strings.create_dataset(
            "vlen_utf8", data=["héllo", "wörld", "日本"], dtype=h5py.string_dtype("utf-8")
        )
        strings.create_dataset(
            "vlen_ascii", data=[b"plain", b"bad\xff", b"x"], dtype=h5py.string_dtype("ascii")
        )
        f["bool"] = np.array([True, False, True])
        f["complex"] = np.array([1 + 2j, -3.5j], dtype="<c8")
        f["big_endian_f8"] = np.arange(4, dtype=">f8") * 1.25
        f["big_endian_i4"] = np.array([1, -2, 3000000], dtype=">i4")
        f["big_endian_compound"] = np.array([(1, 2.5)], dtype=[("a", ">i2"), ("b", ">f4")])
        f.create_dataset("empty", shape=(0,), dtype="f8")
        f.create_dataset("empty_2d", shape=(0, 3), dtype="i4")
        f["scalar"] = 42.5
        f["scalar_string"] = "just one"
        f.create_dataset("null", data=h5py.Empty("f4"))
        f["matrix"] = np.arange(12, dtype="i8").reshape(3, 4)
        f["cube"] = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
        refs = f.create_dataset("refs", shape=(2,), dtype=h5py.ref_dtype)
        refs[0] = f["matrix"].ref
        refs[1] = f["scalar"].ref
        regions = f.create_dataset("region_refs", shape=(1,), dtype=h5py.regionref_dtype)
        regions[0] = f["matrix"].regionref[0:2, 1]
        vlen = f.create_dataset("vlen_int", shape=(2,), dtype=h5py.vlen_dtype("i4"))
        vlen[0] = [1, 2, 3]
        vlen[1] = [4]
        f["opaque"] = np.array([b"\x01\x02", b"\x03\x04"], dtype="V2")
        _add_time_typed(f, "unix_time")
        f["matrix"].attrs["units"] = "m/s"
        f["matrix"].attrs["scale"] = np.array([1.0, 2.0])
        f["matrix"].attrs["long"] = np.arange(100)
        f["matrix"].attrs["ref"] = f["scalar"].ref
        f["long_column"] = np.arange(2500, dtype="f4")
    return path


def _add_time_typed(f: h5py.File, name: str) -> None:
    """A dataset of the HDF5 time type, which h5py has no numpy type for, and a
    compound with one such member among readable ones."""
    space = h5py.h5s.create_simple((3,))
    h5py.h5d.create(f.id, name.encode(), h5py.h5t.UNIX_D64LE, space)
    record = h5py.h5t.create(h5py.h5t.COMPOUND, 20)
    record.insert(b"id", 0, h5py.h5t.NATIVE_INT32)
    record.insert(b"stamp", 4, h5py.h5t.UNIX_D64LE)
    record.insert(b"value", 12, h5py.h5t.NATIVE_DOUBLE)
    dataset = h5py.h5d.create(f.id, b"with_time", record, space)
    readable = np.array([(1, 0.5), (2, 1.5), (3, 2.5)], dtype=[("id", "<i4"), ("value", "<f8")])
    dataset.write(h5py.h5s.ALL, h5py.h5s.ALL, readable, h5py.h5t.py_create(readable.dtype))


def linked_file(directory: Path) -> tuple[Path, Path]:
    """Soft, external, dangling soft and dangling external links; a link cycle."""
    target = directory / "target.h5"
    with h5py.File(target, "w") as f:
        f["remote"] = np.arange(6.0)
    path = directory / "links.h5"
    with h5py.File(path, "w") as f:
        f["data/values"] = np.arange(4)
        f["soft"] = h5py.SoftLink("/data/values")
        f["dangling"] = h5py.SoftLink("/nowhere/at/all")
        f["external"] = h5py.ExternalLink("target.h5", "/remote")
        f["external_missing"] = h5py.ExternalLink("missing.h5", "/x")
        f["data/loop"] = h5py.SoftLink("/data")  # a cycle the listing must not follow
    return path, target


def compressed_file(directory: Path) -> Path:
    """gzip, lzf, shuffle, and the hdf5plugin filters blosc, blosc2, zstd, lz4, bitshuffle."""
    import hdf5plugin

    data = np.arange(1000, dtype="f8").reshape(250, 4)
    path = directory / "compressed.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("gzip", data=data, compression="gzip", shuffle=True, chunks=(50, 4))
        f.create_dataset("lzf", data=data, compression="lzf")
        f.create_dataset("blosc", data=data, chunks=(50, 4), **hdf5plugin.Blosc(cname="lz4"))
        f.create_dataset("blosc2", data=data, chunks=(50, 4), **hdf5plugin.Blosc2())
        f.create_dataset("zstd", data=data, chunks=(50, 4), **hdf5plugin.Zstd())
        f.create_dataset("lz4", data=data, chunks=(50, 4), **hdf5plugin.LZ4())
        f.create_dataset("bitshuffle", data=data, chunks=(50, 4), **hdf5plugin.Bitshuffle())
        _add_missing_filter(f, "lzo")
    return path


LZO = 305  # registered filter id of LZO: neither h5py nor hdf5plugin ships it


def _add_missing_filter(f: h5py.File, name: str) -> None:
    """A chunked dataset stored through the LZO filter, written as raw chunks."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((4,))
    dcpl.set_filter(LZO, h5py.h5z.FLAG_OPTIONAL, ())
    space = h5py.h5s.create_simple((8,))
    dataset = h5py.h5d.create(f.id, name.encode(), h5py.h5t.NATIVE_INT32, space, dcpl=dcpl)
    for offset in (0, 4):
        chunk = np.arange(offset, offset + 4, dtype="i4").tobytes()
        dataset.write_direct_chunk((offset,), chunk, 0)  # mask 0: stored as if filtered


def netcdf4_file(directory: Path) -> Path:
    import netCDF4

    path = directory / "climate.nc"
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        nc.title = "test climate"
        nc.createDimension("time", 4)
        nc.createDimension("lat", 3)
        nc.createDimension("lon", 2)
        time = nc.createVariable("time", "f8", ("time",))
        time[:] = np.arange(4)
        temp = nc.createVariable("temperature", "f4", ("time", "lat", "lon"), zlib=True)
        temp.units = "K"
        temp[:] = np.arange(24, dtype="f4").reshape(4, 3, 2) + 270
        station = nc.createVariable("station", str, ("lat",))
        station[:] = np.array(["north", "middle", "south"], dtype=object)
    return path


def netcdf3_file(directory: Path) -> Path:
    import netCDF4

    path = directory / "classic.nc"
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as nc:
        nc.createDimension("x", 3)
        nc.createVariable("v", "f4", ("x",))[:] = [1, 2, 3]
    return path


MATLAB_HEADER = (
    b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 "
    b"HDF5 schema 1.00 ."
)


def matlab_file(directory: Path) -> Path:
    """A MATLAB v7.3 file: HDF5 behind a 512-byte header, arrays stored transposed."""
    path = directory / "session.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        signal = f.create_dataset("signal", data=np.arange(6.0).reshape(2, 3).T)
        signal.attrs["MATLAB_class"] = np.bytes_("double")
        name = f.create_dataset(
            "name", data=np.frombuffer("hi".encode("utf-16-le"), "<u2")[:, None]
        )
        name.attrs["MATLAB_class"] = np.bytes_("char")
        refs = f.create_group("#refs#")
        refs["a"] = np.array([[1.0, 2.0]])
        cell = f.create_dataset("cell", shape=(1, 1), dtype=h5py.ref_dtype)
        cell[0, 0] = refs["a"].ref
        cell.attrs["MATLAB_class"] = np.bytes_("cell")
    with open(path, "r+b") as handle:
        handle.write(MATLAB_HEADER.ljust(116) + b"\x00" * 8 + b"\x00\x02IM")
    return path


def pytables_file(directory: Path) -> Path:
    """A file written by PyTables directly: a Table, an EArray, a bool array."""
    import tables

    class Particle(tables.IsDescription):
        name = tables.StringCol(8)
        energy = tables.Float64Col()
        hits = tables.Int32Col(shape=(2,))

    path = directory / "pytables.h5"
    with tables.open_file(path, "w") as f:
        table = f.create_table("/", "particles", Particle)
        for i in range(5):
            table.row["name"] = f"p{i}"
            table.row["energy"] = i * 1.5
            table.row["hits"] = (i, -i)
            table.row.append()
        earray = f.create_earray("/", "growing", tables.Float32Atom(), (0, 3))
        earray.append(np.ones((4, 3), dtype="f4"))
        f.create_array("/", "flags", np.array([True, False]))
    return path


# -- not HDF5, or broken ------------------------------------------------------------------
def bad_files(directory: Path) -> dict[str, Path]:
    """Files vime must refuse with a clear reason, by case."""
    files = {
        "empty": directory / "empty.h5",
        "text": directory / "notes.h5",
        "binary": directory / "noise.h5",
        "truncated": directory / "truncated.h5",
        "netcdf3": netcdf3_file(directory),
        "netcdf3_magic": directory / "magic.nc",
        "directory": directory / "folder.h5",
    }
    files["empty"].write_bytes(b"")
    files["text"].write_text("time,value\n0,1.5\n1,2.5\n")
    files["binary"].write_bytes(bytes(range(256)) * 4)
    files["netcdf3_magic"].write_bytes(b"CDF\x01" + b"\x00" * 60)
    files["directory"].mkdir()
    whole = directory / "whole.h5"
    with h5py.File(whole, "w") as f:
        f.create_dataset("data", data=np.arange(100_000.0))
    files["truncated"].write_bytes(whole.read_bytes()[:3000])
    whole.unlink()
    return files


# -- untrusted files: pickles that run code ---------------------------------------------------
# Each key of untrusted_store() hides one payload where pandas or PyTables unpickles
# with plain pickle. A payload touches marker_<key> in the marker folder and then
# leaves the value it replaced, so that pandas reads the store as if nothing happened.
UNTRUSTED = {
    "table_attr": "a table store: its group attribute non_index_axes",
    "table_column_attr": "a table store: the table's values_block_0_kind",
    "table_categories_attr": "a table store: the group holding a categorical's categories",
    "fixed_attr": "a fixed store: the column labels' name attribute",
    "fixed_block": "a fixed store: its pickled str block (the data itself)",
    "fallback_attr": "a store only pandas reads (a period column): its group's own note",
    "index_attr": "a table store: PyTables' index of a column, which only PyTables reads",
}


def code_then(marker: Path, original: bytes) -> bytes:
    """A pickle that runs ``touch marker`` and then loads ``original`` as if untouched.

    Protocol 0 text (os.system, its argument, REDUCE, POP) followed by the
    original protocol-0 pickle, as PyTables writes attributes.
    """
    command = f"touch {marker}".encode()
    return b"cos\nsystem\n(V" + command + b"\ntR0" + original


def code_then_binary(marker: Path, original: bytes) -> bytes:
    """The same for a binary pickle (protocol 2 to 5): the payload runs first."""
    command = f"touch {marker}".encode()
    prefix = pickle.dumps(0, protocol=2)[:2]  # PROTO 2
    call = b"cos\nsystem\n" + b"X" + len(command).to_bytes(4, "little") + command + b"\x85R0"
    body = original[2:] if original[:1] == b"\x80" else original
    return prefix + call + body


def untrusted_store(directory: Path, markers: Path) -> Path:
    """One pandas store per UNTRUSTED key, each with its payload, plus a clean /clean."""
    path = directory / "untrusted.h5"
    frame = pd.DataFrame(
        {
            "x": np.arange(6.0),
            "label": [f"row{i}" for i in range(6)],
            "colour": pd.Categorical(list("rgbrgb")),
        },
        index=pd.Index(np.arange(6) * 10, name="key"),
    )
    for key in ("table_attr", "table_column_attr", "table_categories_attr", "index_attr", "clean"):
        frame.to_hdf(path, key=key, format="table", data_columns=["x"])
    for key in ("fixed_attr", "fixed_block"):
        frame.drop(columns="colour").to_hdf(path, key=key, format="fixed")
    periods = frame.assign(month=pd.period_range("2024-01", periods=6, freq="M"))
    periods.to_hdf(path, key="fallback_attr", format="table")
    with h5py.File(path, "r+") as f:
        _poison_attr(f["table_attr"], "non_index_axes", markers / "marker_table_attr")
        _poison_attr(
            f["table_column_attr/table"],
            "values_block_0_kind",
            markers / "marker_table_column_attr",
        )
        categories = f["table_categories_attr/meta"]
        (holder,) = categories.values()
        _poison_attr(holder["meta"], "info", markers / "marker_table_categories_attr")
        _poison_attr(f["fixed_attr/axis0"], "name", markers / "marker_fixed_attr")
        _poison_block(f["fixed_block"], markers / "marker_fixed_block")
        index = f["index_attr/_i_table/x"]
        index.attrs["TITLE"] = np.bytes_(pickle.dumps(index.attrs["TITLE"].decode(), 0))
        _poison_attr(index, "TITLE", markers / "marker_index_attr")
        f["fallback_attr"].attrs["note"] = np.bytes_(pickle.dumps("written by hand", 0))
        _poison_attr(f["fallback_attr"], "note", markers / "marker_fallback_attr")
    return path


def _poison_attr(node, name: str, marker: Path) -> None:
    original = bytes(node.attrs[name])
    node.attrs[name] = np.bytes_(code_then(marker, original))


def _poison_block(group, marker: Path) -> None:
    """Rewrite the str block's one pickle (a PyTables VLArray row) in place."""
    for key in group:
        node = group[key]
        if "PSEUDOATOM" in node.attrs:
            original = node[0].tobytes()
            node[0] = np.frombuffer(code_then_binary(marker, original), dtype=np.uint8)
            return
    raise AssertionError(f"{group.name} has no pickled block")
