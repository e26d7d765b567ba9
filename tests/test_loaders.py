"""The data layer through its functions: open_source, tables, pages, chunks, info."""

from __future__ import annotations

import logging
import pickle

import h5py
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import h5fixtures as fx
from tests.conftest import examples, run_python
from vime.errors import FileMissing, InvalidParams, NoSuchColumn, NoSuchTable, NotHDF5, ReadFailed
from vime.loaders import describe, detect, open_source
from vime.loaders import format as fmt
from vime.loaders.pandas_h5 import attr_value
from vime.unpickle import RefusedPickle


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Every fixture file, built once for the module (the tests only read them)."""
    directory = tmp_path_factory.mktemp("h5")
    links, _target = fx.linked_file(directory)
    return {
        "store": fx.pandas_store(directory),
        "generic": fx.generic_file(directory),
        "links": links,
        "compressed": fx.compressed_file(directory),
        "netcdf4": fx.netcdf4_file(directory),
        "matlab": fx.matlab_file(directory),
        "pytables": fx.pytables_file(directory),
    }


@pytest.fixture
def opened(files):
    sources = {}

    def open_file(key):
        if key not in sources:
            sources[key] = open_source(str(files[key]))
        return sources[key]

    yield open_file
    for source in sources.values():
        source.close()


def listing(source) -> dict:
    return {t.name: t.summary() for t in source.tables()}


def frames_equal(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """Same labels and values; str columns may come back as object or str."""
    ours = ours.copy()
    theirs = theirs.copy()
    for frame in (ours, theirs):
        for column in frame.columns:
            if frame[column].dtype == object or str(frame[column].dtype) == "str":
                frame[column] = frame[column].astype(object)
    pd.testing.assert_frame_equal(ours, theirs, check_column_type=False)


# -- pandas stores ------------------------------------------------------------------
def test_pandas_store_lists_every_key_with_rows_cols_and_kind(opened):
    tables = listing(opened("store"))
    assert set(tables) == {
        "/exp/rich",
        "/exp/indexed",
        "/exp/fixed",
        "/multi/table",
        "/multi/fixed",
        "/series/fixed",
        "/series/table",
        "/packed",
        "/empty",
    }
    assert tables["/exp/rich"]["kind"] == "pandas-table"
    assert tables["/exp/fixed"]["kind"] == "pandas-fixed"
    assert (tables["/exp/rich"]["rows"], tables["/exp/rich"]["cols"]) == (fx.ROWS, 10)
    assert (tables["/exp/fixed"]["rows"], tables["/exp/fixed"]["cols"]) == (fx.ROWS, 9)
    assert (tables["/multi/table"]["rows"], tables["/multi/table"]["cols"]) == (12, 2)
    assert (tables["/empty"]["rows"], tables["/empty"]["shape"]) == (0, [0, 9])
    assert tables["/exp/rich"]["attrs"] == {
        "pandas_type": "frame_table",
        "table_type": "appendable_frame",
    }


def test_listing_does_not_import_pandas(files):
    """`open` reads the pandas metadata with h5py alone (checked in a fresh process)."""
    code = (
        "import sys; from vime.loaders import open_source; "
        f"s = open_source({str(files['store'])!r}); [t.summary() for t in s.tables()]; "
        "print('pandas' in sys.modules, 'tables' in sys.modules)"
    )
    assert run_python(code).stdout.split() == [b"False", b"False"]


@pytest.mark.parametrize(
    "key", ["/exp/rich", "/exp/indexed", "/exp/fixed", "/multi/table", "/multi/fixed", "/packed"]
)
def test_pandas_columns_and_dtypes_match_pandas(opened, files, key):
    expected = pd.read_hdf(files["store"], key)
    table = opened("store").table(key)
    assert table.columns == [str(c) for c in expected.columns]
    assert table.dtypes == [str(d) for d in expected.dtypes]


@pytest.mark.parametrize("key", ["/exp/rich", "/exp/fixed", "/multi/table", "/multi/fixed"])
@pytest.mark.parametrize(("start", "stop"), [(0, 5), (7, 12), (150, 400)])
def test_pandas_pages_equal_pandas_slices(opened, files, key, start, stop):
    expected = pd.read_hdf(files["store"], key).iloc[start:stop]
    page = opened("store").table(key).page(start, stop)
    frames_equal(page, expected)


def test_pandas_page_reads_only_the_rows_asked_with_h5py(opened, monkeypatch):
    """Pages come from h5py reads of those rows; pandas' HDFStore is never asked."""
    reads = []
    original = h5py.Dataset.__getitem__

    def spy(self, args, **kwargs):
        reads.append((self.name, args))
        return original(self, args, **kwargs)

    def refuse(*args, **kwargs):
        raise AssertionError("HDFStore.select was called")

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    monkeypatch.setattr(pd.HDFStore, "select", refuse)
    store = opened("store")
    store.table("/exp/rich").page(150, 160)
    store.table("/exp/fixed").page(190, 195)
    table_reads = [args for name, args in reads if name == "/exp/rich/table"]
    assert table_reads and all(args[0] == slice(150, 160) for args in table_reads)
    fixed = {name: args for name, args in reads if name.startswith("/exp/fixed/block")}
    assert fixed["/exp/fixed/block0_values"] == slice(190, 195)
    assert fixed["/exp/fixed/block4_values"] == 0  # the str block is one pickle, read whole
    assert ("/exp/fixed/axis1", slice(190, 195)) in reads


def test_categorical_datetime_and_timezones_show_as_pandas(opened):
    page = opened("store").table("/exp/rich").page(0, 3)
    assert str(page["colour"].dtype) == "category"
    assert list(page["colour"]) == ["red", "green", "blue"]
    assert str(page["when_tz"].dtype) == "datetime64[us, Europe/Paris]"
    text = fmt.frame_text(page)
    assert "2024-03-30 00:00:00+01:00" in text
    assert "red" in text and "0 days 00:00:01" in text


def test_multiindex_levels_are_index_columns_of_the_text(opened):
    page = opened("store").table("/multi/table").page(0, 5)
    assert list(page.index.names) == ["letter", "number"]
    lines = fmt.frame_text(page).splitlines()
    assert lines[0].split() == ["letter", "number", "value", "label"]
    assert lines[1].split() == ["a", "0", "0", "x"]


def test_series_become_one_column(opened):
    store = opened("store")
    assert store.table("/series/fixed").columns == ["speed"]
    assert store.table("/series/table").columns == ["values"]
    page = store.table("/series/fixed").page(1, 3)
    assert page["speed"].tolist() == [1.0, 2.0]


def test_empty_pandas_table_pages_to_an_empty_frame(opened):
    table = opened("store").table("/empty")
    page = table.page(0, 100)
    assert page.shape == (0, 9)


def test_pandas_fast_page_is_the_stored_rows(opened, files):
    store = opened("store")
    raw = store.table("/exp/rich").raw(3, 5)
    assert raw.dtype.names[0] == "index" and raw["index"].tolist() == [3, 4]
    fixed = store.table("/exp/fixed").raw(3, 5)  # has a str block: built via pandas
    expected = pd.read_hdf(files["store"], "/exp/fixed").iloc[3:5].to_numpy()
    assert fixed.tolist() == expected.tolist()


def test_raw_rows_fill_the_array_given(opened):
    """``out``: h5py reads straight into it; reversed slices and pandas blocks are
    copied into it; either way the rows come back in it."""
    full = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    cube = opened("generic").table("/cube")
    out = np.full((2, 5), -1, dtype=full.dtype)
    assert cube.raw(1, 3, plane=[1, 2], out=out) is out
    assert (out == full[1, 2, 1:3]).all()
    backwards = cube.sliced("[1, 2, ::-1, :]")
    assert backwards.raw(0, 2, out=out) is out and (out == full[1, 2, ::-1][:2]).all()
    fixed = opened("store").table("/exp/fixed")
    rows = fixed.raw(3, 5)
    into = np.empty_like(rows)
    assert fixed.raw(3, 5, out=into) is into and into.tolist() == rows.tolist()


def test_unpickling_pandas_attributes_refuses_code():
    class Attrs(dict):
        pass

    evil = pickle.dumps(pickle.loads, protocol=0)  # any global outside the list is refused
    attrs = Attrs(
        bad=np.bytes_(evil),
        good=np.bytes_(pickle.dumps(["a", 1], protocol=0)),
        text=np.bytes_(b"a sentence."),
    )
    assert attr_value(attrs, "good") == ["a", 1]
    assert attr_value(attrs, "text") == "a sentence."  # ends in '.', is no pickle: kept as text
    with pytest.raises(RefusedPickle, match=r"refusing _?pickle\.loads"):
        attr_value(attrs, "bad")


# -- generic HDF5 ---------------------------------------------------------------------
def test_compound_gives_one_column_per_field_nested_as_dotted(opened):
    table = opened("generic").table("/compound")
    assert table.kind == "compound"
    assert table.columns == ["id", "pos.x", "pos.y", "pos.inner.z", "label", "ok", "wave", "hist"]
    page = table.page(1, 3)
    assert page["pos.x"].tolist() == [0.5, 1.0]
    assert page["pos.inner.z"].tolist() == [2.5, 2.5]
    assert page["label"].tolist() == ["née-1", "née-2"]
    assert page["ok"].tolist() == [False, True]
    assert page["wave"].tolist() == [1 + 1j, 2 + 1j]
    assert page["hist"].iloc[0].tolist() == [3, 4, 5]
    assert page.index.tolist() == [1, 2]


def test_compound_columns_subset_reads_those_fields(opened):
    page = opened("generic").table("/compound").page(0, 2, columns=["pos.y", "id"])
    assert list(page.columns) == ["pos.y", "id"]
    assert page["id"].tolist() == [0, 1]


def test_strings_are_decoded_with_replacement(opened):
    generic = opened("generic")
    cells = {
        name: generic.table(f"/strings/{name}").page(0, 3).iloc[:, 0].tolist()
        for name in ("fixed_ascii", "fixed_utf8", "vlen_utf8", "vlen_ascii")
    }
    assert cells["fixed_ascii"] == ["alpha", "be\ufffdt", ""]
    assert cells["fixed_utf8"] == ["é", "ü", "z\ufffd"]
    assert cells["vlen_utf8"] == ["héllo", "wörld", "日本"]
    assert cells["vlen_ascii"] == ["plain", "bad\ufffd", "x"]


def test_enum_shows_labels_and_unlabelled_values_as_numbers(opened):
    page = opened("generic").table("/enum").page(0, 5)
    assert page["enum"].tolist() == ["RED", "GREEN", "BLUE", "3", "RED"]


def test_bool_complex_and_big_endian(opened):
    generic = opened("generic")
    assert generic.table("/bool").page(0, 3)["bool"].tolist() == [True, False, True]
    assert generic.table("/complex").page(0, 2)["complex"].tolist() == [1 + 2j, -3.5j]
    floats = generic.table("/big_endian_f8").page(0, 4)["big_endian_f8"]
    assert floats.tolist() == [0.0, 1.25, 2.5, 3.75] and floats.dtype.isnative
    ints = generic.table("/big_endian_i4")
    assert ints.page(0, 3)["big_endian_i4"].tolist() == [1, -2, 3000000]
    assert ints.dtypes == ["int32"]
    compound = generic.table("/big_endian_compound").page(0, 1)
    assert compound.iloc[0].tolist() == [1, 2.5]
    assert all(dtype.isnative for dtype in compound.dtypes)


def test_empty_datasets_have_zero_rows_and_empty_pages(opened):
    generic = opened("generic")
    empty = generic.table("/empty")
    assert (empty.rows, empty.columns) == (0, ["empty"])
    assert empty.page(0, 100).shape == (0, 1)
    empty_2d = generic.table("/empty_2d")
    assert (empty_2d.rows, empty_2d.columns) == (0, ["0", "1", "2"])
    assert empty_2d.page(5, 10).shape == (0, 3)


def test_scalars_are_one_by_one_tables(opened):
    generic = opened("generic")
    scalar = generic.table("/scalar")
    assert (scalar.kind, scalar.rows, scalar.shape) == ("scalar", 1, [])
    assert scalar.page(0, 100)["scalar"].tolist() == [42.5]
    assert generic.table("/scalar_string").page(0, 1).iloc[0, 0] == "just one"
    null = generic.table("/null")
    assert (null.rows, null.page(0, 5).shape) == (0, (0, 1))


def test_two_d_dataset_has_numbered_columns(opened):
    matrix = opened("generic").table("/matrix")
    assert (matrix.rows, matrix.columns) == (3, ["0", "1", "2", "3"])
    assert matrix.page(1, 2).iloc[0].tolist() == [4, 5, 6, 7]
    assert matrix.page(0, 3, columns=["3", "0"]).iloc[2].tolist() == [11, 8]


def test_n_d_dataset_pages_a_plane(opened):
    cube = opened("generic").table("/cube")  # shape (2, 3, 4, 5)
    assert (cube.rows, len(cube.columns), cube.shape) == (4, 5, [2, 3, 4, 5])
    full = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    assert (cube.page(0, 4).to_numpy() == full[0, 0]).all()
    assert (cube.page(1, 3, plane=[1, 2]).to_numpy() == full[1, 2, 1:3]).all()
    assert (cube.raw(0, 4, plane=[1, 0]) == full[1, 0]).all()


@pytest.mark.parametrize("plane", [[1], [0, 3], [2, 0], [-1, 0], [0, 0, 0]])
def test_bad_plane_names_the_table_and_the_reason(opened, plane):
    with pytest.raises(InvalidParams, match=r"generic\.h5:/cube: plane"):
        opened("generic").table("/cube").page(0, 4, plane=plane)


def test_plane_on_a_two_d_table_is_refused(opened):
    with pytest.raises(InvalidParams, match="plane needs 0 indices"):
        opened("generic").table("/matrix").page(0, 2, plane=[0])


def test_references_and_unsupported_types_show_type_names(opened):
    generic = opened("generic")
    assert generic.table("/refs").page(0, 2)["refs"].tolist() == ["<object reference>"] * 2
    assert generic.table("/region_refs").page(0, 1).iloc[0, 0] == "<region reference>"
    odd = generic.table("/unix_time")
    assert odd.rows == 3
    assert odd.page(0, 3).iloc[:, 0].tolist() == ["<unsupported HDF5 type TypeTimeID>"] * 3
    assert generic.table("/opaque").page(0, 1).iloc[0, 0] == "<opaque 2 bytes>"
    partial = generic.table("/with_time")
    assert partial.columns == ["id", "stamp", "value"]
    assert partial.dtypes == ["int32", "unsupported HDF5 type TypeTimeID", "float64"]
    page = partial.page(1, 3)
    assert page["id"].tolist() == [2, 3] and page["value"].tolist() == [1.5, 2.5]
    assert page["stamp"].tolist() == ["<unsupported HDF5 type TypeTimeID>"] * 2
    assert partial.page(0, 3, columns=["stamp"]).shape == (3, 1)
    vlen = generic.table("/vlen_int").page(0, 2)["vlen_int"]
    assert vlen.iloc[0].tolist() == [1, 2, 3]


def test_attrs_are_json_able_and_root_attrs_are_kept(opened):
    generic = opened("generic")
    assert generic.attrs == {"title": "generic fixture", "version": 3}
    attrs = generic.table("/matrix").attrs
    assert attrs["units"] == "m/s"
    assert attrs["scale"] == [1.0, 2.0]
    assert attrs["long"] == "<int64 array of shape [100]>"
    assert attrs["ref"] == "<object reference>"


def test_pytables_root_bookkeeping_is_hidden(opened):
    """pandas files carry PyTables' own root attributes; a person sees none of them."""
    hidden = {"PYTABLES_FORMAT_VERSION", "CLASS", "VERSION", "TITLE"}
    assert hidden & set(opened("store").attrs) == set()


def test_unknown_table_names_table_and_file(opened, files):
    with pytest.raises(NoSuchTable, match=rf"{files['generic']}: no table '/nope'"):
        opened("generic").table("/nope")


def test_a_table_is_found_without_walking_the_file(files, monkeypatch):
    """A worker opens a file for one table: table(name) resolves that node alone."""
    from vime.loaders import Source

    sources = {key: open_source(str(files[key])) for key in ("generic", "links", "store")}
    fresh = {}
    try:
        expected = {key: listing(source) for key, source in sources.items()}

        def no_walk(*args):
            raise AssertionError("the file was walked")

        monkeypatch.setattr(Source, "_walk", no_walk)
        fresh.update((key, open_source(str(files[key]))) for key in sources)
        wanted = {
            "generic": ["/matrix", "/strings/vlen_utf8", "/unix_time", "/with_time", "/scalar"],
            "links": ["/soft", "/external", "/dangling", "/external_missing", "data/values"],
            "store": ["/exp/rich", "/multi/fixed", "/series/table", "/empty"],
        }
        for key, names in wanted.items():
            for name in names:
                found = fresh[key].table(name)
                listed = expected[key]["/" + name.lstrip("/")]
                assert found.summary() == listed, name
        monkeypatch.undo()
        made = fresh["generic"].table("/matrix")
        assert any(table is made for table in fresh["generic"].tables()), "the listing reuses it"
        assert listing(fresh["generic"]) == expected["generic"]
    finally:
        for source in [*sources.values(), *fresh.values()]:
            source.close()


def test_a_group_is_not_a_table(opened, files):
    with pytest.raises(
        NoSuchTable, match=rf"{files['store']}: no table '/exp'; tables: /empty, /exp/"
    ):
        opened("store").table("/exp")


def test_hidden_dataset_of_a_store_opens_by_path(opened):
    raw_table = opened("store").table("/exp/rich/table")
    assert raw_table.kind == "compound" and raw_table.rows == fx.ROWS


def test_unknown_column_is_named(opened):
    with pytest.raises(NoSuchColumn, match="no column 'nope'"):
        opened("generic").table("/matrix").page(0, 1, columns=["nope"])


def test_start_past_the_end_is_an_empty_page_and_negative_rows_fail(opened):
    matrix = opened("generic").table("/matrix")
    assert matrix.clamp(10, 20) == (3, 3)
    assert matrix.page(10, 20).shape == (0, 4)
    with pytest.raises(InvalidParams, match="rows must be >= 0"):
        matrix.page(-1, 2)


# -- links, formats, filters --------------------------------------------------------------
def test_links_resolve_or_are_listed_with_their_error(opened):
    tables = listing(opened("links"))
    assert set(tables) == {"/data/values", "/soft", "/external", "/dangling", "/external_missing"}
    assert tables["/dangling"]["error"] == "dangling soft link to /nowhere/at/all"
    assert "missing.h5:/x does not resolve" in tables["/external_missing"]["error"]
    links = opened("links")
    assert links.table("/soft").page(0, 4)["soft"].tolist() == [0, 1, 2, 3]
    assert links.table("/external").page(0, 2)["external"].tolist() == [0.0, 1.0]
    with pytest.raises(ReadFailed, match="dangling soft link"):
        links.table("/dangling").page(0, 1)


def test_netcdf4_opens_as_hdf5(opened):
    nc = opened("netcdf4")
    tables = listing(nc)
    assert set(tables) == {"/time", "/temperature", "/station"}  # no dimension placeholders
    assert nc.attrs["title"] == "test climate"
    temperature = nc.table("/temperature")
    assert temperature.shape == [4, 3, 2] and temperature.attrs == {"units": "K"}
    assert temperature.page(0, 3, plane=[2]).iloc[0].tolist() == [282.0, 283.0]
    assert nc.table("/station").page(0, 3)["station"].tolist() == ["north", "middle", "south"]


def test_matlab_v73_opens_as_hdf5(opened):
    mat = opened("matlab")
    signal = mat.table("/signal")
    assert signal.attrs == {"MATLAB_class": "double"}
    assert signal.page(0, 3).to_numpy().tolist() == [[0, 3], [1, 4], [2, 5]]
    assert mat.table("/cell").page(0, 1).iloc[0, 0] == "<object reference>"


def test_pytables_table_and_bool_array(opened):
    pyt = opened("pytables")
    assert pyt.table("/particles").columns == ["energy", "hits", "name"]
    assert pyt.table("/particles").page(1, 2)["name"].tolist() == ["p1"]
    assert pyt.table("/flags").page(0, 2)["flags"].tolist() == [True, False]


@pytest.mark.parametrize(
    "name", ["/gzip", "/lzf", "/blosc", "/blosc2", "/zstd", "/lz4", "/bitshuffle"]
)
def test_compressed_datasets_read(opened, name):
    table = opened("compressed").table(name)
    expected = np.arange(1000, dtype="f8").reshape(250, 4)
    assert (table.page(100, 110).to_numpy() == expected[100:110]).all()
    assert table.storage()["filters"]


def test_missing_filter_lists_and_names_the_filter_on_read(opened):
    compressed = opened("compressed")
    assert "/lzo" in listing(compressed)
    table = compressed.table("/lzo")
    assert table.storage()["filters"] == ["lzo"]
    with pytest.raises(ReadFailed, match=r"compressed\.h5:/lzo: cannot read: filter 'lzo'"):
        table.page(0, 4)


# -- bad input ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    return fx.bad_files(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize(
    ("case", "error", "reason"),
    [
        ("empty", NotHDF5, "empty file"),
        ("text", NotHDF5, "a text file, not HDF5"),
        ("binary", NotHDF5, "no HDF5 signature"),
        ("truncated", NotHDF5, "truncated"),
        ("netcdf3", NotHDF5, "NetCDF-3 classic, not HDF5"),
        ("netcdf3_magic", NotHDF5, "NetCDF-3 classic, not HDF5"),
        ("directory", NotHDF5, "is a directory"),
    ],
)
def test_bad_files_are_refused_naming_path_and_reason(bad, case, error, reason):
    with pytest.raises(error) as caught:
        open_source(str(bad[case]))
    assert str(bad[case]) in caught.value.message
    assert reason in caught.value.message


def test_missing_file(tmp_path):
    with pytest.raises(FileMissing, match=f"{tmp_path}/nope.h5: no such file"):
        open_source(str(tmp_path / "nope.h5"))


def test_permission_denied(tmp_path, monkeypatch):
    path = tmp_path / "secret.h5"
    path.write_bytes(detect.HDF5_SIGNATURE)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(detect, "open", refuse, raising=False)
    with pytest.raises(ReadFailed, match=f"{path}: permission denied"):
        open_source(str(path))


def test_signature_after_a_user_block_is_found(files):
    assert files["matlab"].read_bytes()[:6] == b"MATLAB"
    detect.check_file(str(files["matlab"]))  # no error


# -- chunks ------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("store", "/exp/rich"),
        ("store", "/exp/fixed"),
        ("generic", "/compound"),
        ("generic", "/long_column"),
    ],
)
def test_chunks_cover_the_range_once_in_order(opened, key, name):
    table = opened(key).table(name)
    whole = table.page(0, table.rows)
    parts = list(table.chunks(chunk_rows=7))
    assert all(len(p) <= 7 for p in parts)
    frames_equal(pd.concat(parts), whole)
    middle = pd.concat(table.chunks(start=3, stop=20, chunk_rows=5))
    frames_equal(middle, whole.iloc[3:20])


def test_chunks_of_a_plane(opened):
    cube = opened("generic").table("/cube")
    parts = list(cube.chunks(chunk_rows=3, plane=[1, 1], columns=["4"]))
    assert [len(p) for p in parts] == [3, 1]
    expected = np.arange(120).reshape(2, 3, 4, 5)[1, 1, :, 4]
    assert pd.concat(parts)["4"].tolist() == expected.tolist()


# -- info -------------------------------------------------------------------------------------
def eager(chunks):
    return chunks


def test_describe_matches_pandas(opened, files):
    table = opened("store").table("/exp/rich")
    ours = describe.describe(table, eager)
    theirs = pd.read_hdf(files["store"], "/exp/rich").describe().T
    assert list(ours.index) == ["x", "count", "small"]
    for column in ours.index:
        expected = theirs.loc[column, list(describe.STATS)].astype(float)
        np.testing.assert_allclose(ours.loc[column].astype(float), expected, rtol=1e-9)


def counting_passes(passes: list):
    def counting(chunks):
        passes.append(1)
        return chunks

    return counting


def test_describe_of_columns_over_the_budget_is_exact_in_two_passes(opened, monkeypatch):
    """Values that do not fit the budget: a sampling pass, then a selecting one."""
    table = opened("store").table("/exp/rich")
    whole = describe.describe(table, eager)
    monkeypatch.setattr(describe, "VALUES_BUDGET", fx.ROWS * 8)  # one column's values
    monkeypatch.setattr(describe, "SAMPLE_LEAST", 16)
    monkeypatch.setattr(describe, "SAMPLE_VALUES", 48)  # 16 of each column's 200 values
    monkeypatch.setattr(describe, "CHUNK_VALUES", 64)
    passes = []
    pd.testing.assert_frame_equal(describe.describe(table, counting_passes(passes)), whole)
    # A sample, then selections in batches whose bracketed values fit the budget: here
    # one column each (the brackets of a 16-value sample span the whole column).
    assert len(passes) == describe.passes(table) == 1 + 3


def test_a_missed_bracket_falls_back_to_a_sample_marked_approximate(tmp_path, monkeypatch):
    """Every 8th value is 0 and the sample takes every 8th: its brackets hold only 0, and
    the column's quartiles come from the budgeted way (a sample, as it does not fit)."""
    values = np.where(np.arange(4000) % 8 == 0, 0.0, np.arange(4000, dtype="f8"))
    path = tmp_path / "periodic.h5"
    with h5py.File(path, "w") as f:
        f["v"] = values
    table = open_source(str(path)).table("/v")
    monkeypatch.setattr(describe, "VALUES_BUDGET", 8 * 1000)
    monkeypatch.setattr(describe, "SAMPLE_LEAST", 500)
    monkeypatch.setattr(describe, "SAMPLE_MOST", 500)
    passes = []
    row = describe.describe(table, counting_passes(passes)).loc["v"]
    assert len(passes) == 3  # sample, select (missed), then the budgeted pass
    assert row["count"] == 4000 and row["max"] == 3999
    assert [str(row[q])[0] for q in ("25%", "50%", "75%")] == ["≈"] * 3


@settings(max_examples=examples(200), deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.sampled_from([0.0, 1.0, -2.5, 1e300]),  # many equal values
        ),
        min_size=1,
        max_size=400,
    ),
    stride=st.integers(1, 50),
    chunk=st.integers(1, 120),
)
def test_selected_quartiles_equal_numpy_s(values, stride, chunk):
    """Whatever the sample, a bracket gives numpy's exact quartile or says it missed."""
    array = np.array(values, dtype="f8")
    running = describe.Running(-(-array.size // stride), stride)
    for first in range(0, array.size, chunk):
        running.add(array[first : first + chunk])
    selector = describe.Selector(running)
    for first in range(0, array.size, chunk):
        selector.add(array[first : first + chunk])
    finite = array[~np.isnan(array)]
    quartiles = selector.quartiles()
    if finite.size == 0:
        assert quartiles is not None and all(np.isnan(quartiles))
    elif quartiles is not None:
        expected = np.quantile(finite, describe.QUANTILES)
        np.testing.assert_array_equal(np.array(quartiles), expected)


def test_info_lists_shape_columns_attrs_storage_and_summary(opened):
    table = opened("generic").table("/matrix")
    result = describe.info(table, table.storage(), eager)
    assert result["shape"] == [3, 4]
    assert result["columns"][0] == {"name": "0", "dtype": "int64"}
    assert result["storage"] == {"chunks": None, "compression": None, "filters": [], "bytes": 96}
    content = result["content"]
    assert content.startswith("/matrix  [3 rows x 4 cols]")
    assert "units: m/s" in content
    assert "summary of the numeric columns" in content
    summary_line = [line for line in content.splitlines() if line.split()[:1] == ["3"]][-1]
    assert summary_line.split() == ["3", "3", "7", "4", "3", "5", "7", "9", "11"]


def test_info_of_an_n_d_table_shows_the_full_shape(opened):
    cube = opened("generic").table("/cube")
    content = describe.info(cube, cube.storage(), eager)["content"]
    assert "shape: [2, 3, 4, 5]" in content and "summary of plane [0, 0]" in content


# -- text ------------------------------------------------------------------------------------
def test_header_line():
    assert fmt.header("/exp/results", 10_000_000, 10, 0, 100) == (
        "/exp/results  [10,000,000 rows x 10 cols]  rows 0–99"
    )
    assert fmt.header("/t", 5, 1, 9, 9).endswith("no rows from 9")


def test_page_content_is_header_blank_line_and_table_with_index():
    frame = pd.DataFrame({"s": ["1e5", "007"], "x": [1.5, 2.0]}, index=[10, 11])
    content = fmt.page_content("/t", 50, 2, 10, 12, frame)
    lines = content.splitlines()
    assert lines[0] == "/t  [50 rows x 2 cols]  rows 10–11" and lines[1] == ""
    assert lines[2].split() == ["s", "x"]
    assert lines[3].split() == ["10", "1e5", "1.5"]  # strings verbatim, not parsed
    assert lines[4].split() == ["11", "007", "2"]


def test_missing_values_show_as_nan():
    frame = pd.DataFrame({"s": ["a", None], "x": [1.0, np.nan]})
    lines = fmt.frame_text(frame).splitlines()
    assert lines[2].split() == ["1", "NaN", "nan"]


# -- the page text: written directly as tabulate would ---------------------------------------
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from(
    [0.0, -0.0, 1e-5, 1.5e-7, 123456789.0, 1e16, 3.0, -2.5, 1e100]
)
ASCII_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12) | (
    st.sampled_from(["True", "False", "", "  padded ", "1e5", "nan", "007", "-3.5"])
)
ASCII_HEADER = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=14)


@st.composite
def page_columns(draw):
    """The cells of a page's columns as ``frame_text`` hands them over, with the headers."""
    rows = draw(st.integers(1, 12))
    kinds = draw(st.lists(st.sampled_from(["int", "float", "text", "time", "bool", "bool?"]),
                          min_size=1, max_size=5))  # fmt: skip
    cells = {
        "int": st.integers(-(2**63), 2**64 - 1),
        "float": FLOATS,
        "text": ASCII_TEXT,
        "time": st.datetimes().map(pd.Timestamp),
        "bool": st.booleans(),
        "bool?": st.booleans() | st.sampled_from(["NaN", "", " x "]),  # nullable, or objects
    }
    columns = [draw(st.lists(cells[kind], min_size=rows, max_size=rows)) for kind in kinds]
    headers = draw(st.lists(ASCII_HEADER, min_size=len(kinds), max_size=len(kinds)))
    return headers, columns, [kind in ("int", "float") for kind in kinds]


@settings(max_examples=examples(300), deadline=None)
@given(page_columns())
def test_the_page_text_is_written_as_tabulate_writes_it(page):
    headers, columns, numeric = page
    fast = fmt.plain_table(headers, columns, numeric)
    assert fast is not None  # numbers, ASCII text, times and bools never need tabulate
    assert fast == fmt.tabulated(headers, columns, numeric)


@pytest.mark.parametrize(
    "cells",
    [[b"bytes", b"x"], [True, 2], ["née", "x"], [np.array([1, 2]), np.array([3])]],
    ids=["bytes", "bools and numbers", "non-ascii", "arrays"],
)
def test_cells_tabulate_measures_its_own_way_are_left_to_it(cells):
    headers, columns, numeric = ["n", "c"], [[1, 2], cells], [True, False]
    assert fmt.plain_table(headers, columns, numeric) is None
    values = np.empty(2, dtype=object)
    values[:] = cells
    frame = pd.DataFrame({"c": values}, index=pd.Index([1, 2], name="n"))
    assert fmt.frame_text(frame) == fmt.tabulated(headers, [[1, 2], cells], numeric)


@pytest.mark.parametrize(
    "key", ["/exp/rich", "/exp/fixed", "/multi/table", "/series/fixed", "/empty"]
)
def test_real_pages_read_the_same_through_both_writers(opened, key):
    page = opened("store").table(key).page(0, 5)
    headers, columns, numeric = fmt.page_cells(page)
    assert fmt.frame_text(page) == fmt.tabulated(headers, columns, numeric)


def test_a_page_of_times_numbers_and_text_is_written_directly(tmp_path):
    path = tmp_path / "t.h5"
    frame = pd.DataFrame(
        {"x": [0.5, -1e-7, np.nan], "n": [1, -20, 300], "s": ["a", " b ", ""]},
        index=pd.date_range("2024-01-01", periods=3, freq="s", name="time"),
    )
    frame.to_hdf(path, key="t", format="table", data_columns=["s"])
    page = open_source(str(path)).table("/t").page(0, 3)
    headers, columns, numeric = fmt.page_cells(page)
    assert fmt.plain_table(headers, columns, numeric) is not None
    assert fmt.frame_text(page).splitlines() == [
        "time                       x    n  s",
        "2024-01-01 00:00:00    0.5      1  a",
        "2024-01-01 00:00:01   -1e-07  -20  b",
        "2024-01-01 00:00:02  nan      300",
    ]
    assert fmt.frame_text(page) == fmt.tabulated(headers, columns, numeric)


def test_close_releases_the_file(files):
    source = open_source(str(files["generic"]))
    source.close()
    with h5py.File(files["generic"], "r") as handle:  # still readable by others
        assert "matrix" in handle


def test_a_broken_dataset_does_not_break_the_listing(files, monkeypatch, caplog):
    from vime.loaders import h5

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(h5, "DatasetTable", explode)
    with caplog.at_level(logging.ERROR):
        source = open_source(str(files["generic"]))
    try:
        broken = listing(source)["/matrix"]
        assert broken["error"] == "cannot describe: boom"
    finally:
        source.close()


def test_pandas_layout_unknown_to_the_reader_falls_back_to_pandas(files, monkeypatch, caplog):
    from vime.loaders import pandas_store
    from vime.loaders.pandas_h5 import UnsupportedLayout

    def unknown(group):
        raise UnsupportedLayout("a layout from the future")

    monkeypatch.setattr(pandas_store, "store_layout", unknown)
    caplog.set_level(logging.INFO, logger="vime.loaders.pandas")
    source = open_source(str(files["store"]))
    try:
        rich = source.table("/exp/rich")  # tables are made on first use
        expected = pd.read_hdf(files["store"], "/exp/rich")
        assert rich.columns == list(expected.columns)
        assert rich.dtypes[5] == "category"
        assert source.table("/series/fixed").columns == ["speed"]
        assert source.table("/series/table").columns == ["values"]
        assert source.table("/multi/table").index_names == ["letter", "number"]
        frames_equal(rich.page(3, 9), expected.iloc[3:9])
        assert "a layout from the future; pages come from pandas" in caplog.text
    finally:
        source.close()
