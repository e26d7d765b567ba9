"""Numpy slicing of N-D datasets: the grammar, its errors, and `table {slice}` end to end."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from vime import slicing
from vime.errors import InvalidParams

SHAPE = (3, 4, 5)
CUBE = np.arange(np.prod(SHAPE)).reshape(SHAPE)


def sliced(text: str, shape=SHAPE, max_axes: int = 2) -> slicing.Selection:
    return slicing.resolve(slicing.parse(text), list(shape), max_axes, "f.h5:/cube")


def numpy_index(text: str) -> tuple:
    """The same text as a Python index, built by hand for the comparison."""
    items = []
    for item in text.strip("[] ").split(","):
        item = item.strip()
        if item == "...":
            items.append(Ellipsis)
        elif ":" in item:
            items.append(slice(*(int(b) if b.strip() else None for b in item.split(":"))))
        elif item:
            items.append(int(item))
    return tuple(items)


def selected(selection: slicing.Selection) -> np.ndarray:
    """What a selection picks out of CUBE, through its resolved axes (last axis first,
    so that dropping an axis leaves the numbers of the earlier ones as they are)."""
    out = CUBE
    for axis in reversed(range(len(selection.axes))):
        item = selection.axes[axis]
        out = np.take(out, list(item) if isinstance(item, range) else item, axis=axis)
    return out


# -- the grammar ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "normal", "shape"),
    [
        ("[0, :, 5:10]", "[0, :, 0:0]", [4, 0]),
        ("[0, -9::-1]", "[0, 0:0, :]", [0, 5]),
        ("[0, :, 1:3]", "[0, :, 1:3]", [4, 2]),
        ("0,:,1:3", "[0, :, 1:3]", [4, 2]),
        ("[1]", "[1, :, :]", [4, 5]),
        ("[1, ...]", "[1, :, :]", [4, 5]),
        ("[..., 2]", "[:, :, 2]", [3, 4]),
        ("[:, ..., 2]", "[:, :, 2]", [3, 4]),
        ("[-1, -2]", "[2, 2, :]", [5]),
        ("[-1, ::2, 4:1:-1]", "[2, 0:4:2, 4:1:-1]", [2, 3]),
        ("[0, ::-1, -1]", "[0, 3::-1, 4]", [4]),
        ("[0, -100:100, 0]", "[0, :, 0]", [4]),
        ("[2, 3, 4]", "[2, 3, 4]", []),
        ("[ 1 , 1: , :-1 , ]", "[1, 1:4, 0:4]", [3, 4]),
        ("[+1, 0]", "[1, 0, :]", [5]),
    ],
)
def test_every_kind_of_item_resolves_as_numpy_does(text, normal, shape):
    selection = sliced(text)
    assert selection.text == normal
    assert selection.shape == shape
    assert selected(selection).shape == CUBE[numpy_index(text)].shape
    np.testing.assert_array_equal(selected(selection), CUBE[numpy_index(text)])
    assert sliced(normal).axes == selection.axes, "the normalised text means the same"


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(-6, 6).map(str),
            st.tuples(
                st.one_of(st.none(), st.integers(-7, 7)),
                st.one_of(st.none(), st.integers(-7, 7)),
                st.one_of(st.none(), st.integers(-3, 3).filter(bool)),
            ).map(lambda t: ":".join("" if b is None else str(b) for b in t)),
        ),
        max_size=3,
    )
)
def test_any_valid_selection_matches_numpy(items):
    text = "[" + ", ".join(items) + "]"
    try:
        expected = CUBE[numpy_index(text)]
    except IndexError:
        with pytest.raises(InvalidParams, match="out of range on axis"):
            sliced(text, max_axes=3)
        return
    np.testing.assert_array_equal(selected(sliced(text, max_axes=3)), expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("[0, a]", "unexpected 'a]' at character 5"),
        ("[0.5]", "unexpected '.5]' at character 3"),
        ("[0, 1 2]", "item 2: two numbers without ':'"),
        ("[0:1:2:3]", "item 1: at most start:stop:step"),
        ("[0, 0:4:0]", "item 2: the step must not be 0"),
        ("[..., ...]", "'...' may appear only once"),
        ("[1:...]", "'...' must stand alone"),
        ("[0,,1]", "item 2 is empty"),
        ("[0", "missing the closing ']'"),
        ("[[0]]", "unexpected '['"),
        ("__import__('os')", "unexpected '__import__"),
    ],
)
def test_bad_text_says_what_and_where(text, fragment):
    with pytest.raises(InvalidParams) as caught:
        slicing.parse(text)
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[3]", "slice index 3 is out of range on axis 0 of size 3 (valid: -3..2)"),
        ("[0, -5]", "slice index -5 is out of range on axis 1 of size 4 (valid: -4..3)"),
        ("[0, 0, 0, 0]", "slice has 4 indices but the dataset has 3 axes (shape [3, 4, 5])"),
        ("[:]", "keeps 3 axes (0, 1, 2, of sizes 3, 4, 5) but a table shows at most 2"),
        ("[:, :, 0:2]", "a table shows at most 2: index axis 0 with an integer"),
    ],
)
def test_a_wrong_axis_is_named(text, fragment):
    with pytest.raises(InvalidParams) as caught:
        sliced(text)
    assert caught.value.message.startswith("f.h5:/cube: ")
    assert fragment in caught.value.message


def test_two_axes_too_many_names_both():
    with pytest.raises(InvalidParams, match="index axes 0, 1 with integers"):
        sliced("[...]", shape=(2, 3, 4, 5))


# -- `table {slice}` through bin/vime-rpc ---------------------------------------------------
@pytest.fixture
def nd_file(tmp_path):
    path = tmp_path / "nd.h5"
    with h5py.File(path, "w") as f:
        f["cube"] = CUBE
        f.create_dataset("chunked", data=np.arange(2 * 6 * 7, dtype="f4").reshape(2, 6, 7),
                         chunks=(1, 2, 3), compression="gzip")  # fmt: skip
        records = np.zeros((2, 3), dtype=[("id", "i4"), ("energy", "f8")])
        records["id"] = np.arange(6).reshape(2, 3)
        records["energy"] = np.arange(6).reshape(2, 3) * 0.5
        f["events"] = records
    return path


def page_rows(result: dict) -> list[list[str]]:
    return [line.split() for line in result["content"].splitlines()[3:]]


def test_a_2d_slice_pages_with_columns_from_its_last_axis(shared_rpc, nd_file):
    shared_rpc.opened(nd_file)
    result = shared_rpc.call("table", name="/cube", slice="[1, :, 1:4]", count=2, start=1)
    assert result["ok"], result
    assert (result["slice"], result["full_shape"]) == ("[1, :, 1:4]", [3, 4, 5])
    assert (result["shape"], result["start"], result["stop"]) == ([4, 3], 1, 3)
    assert result["columns"] == ["0", "1", "2"] and result["dtypes"] == ["int64"] * 3
    lines = result["content"].splitlines()
    assert lines[0] == "/cube  [4 rows x 3 cols]  rows 1–2  slice [1, :, 1:4]"
    expected = [[str(row), *map(str, CUBE[1, row, 1:4])] for row in (1, 2)]
    assert page_rows(result) == expected


def test_negative_steps_and_column_windows_read_the_right_cells(shared_rpc, nd_file):
    shared_rpc.opened(nd_file)
    result = shared_rpc.call(
        "table", name="/chunked", slice="[-1, ::-2, ::-3]", col_start=1, col_count=2
    )
    assert result["ok"], result
    expected = np.arange(2 * 6 * 7, dtype="f4").reshape(2, 6, 7)[-1, ::-2, ::-3]
    assert result["shape"] == [3, 3] and result["columns"] == ["1", "2"]
    assert [[float(v) for v in row[1:]] for row in page_rows(result)] == expected[:, 1:].tolist()
    fast = shared_rpc.call(
        "table", name="/chunked", slice="[-1, ::-2, ::-3]", fast=True, col_start=1
    )
    assert fast["ok"] and (fast["col_start"], fast["col_stop"]) == (1, 3)
    assert fast["content"].splitlines()[2:] == str(expected[:, 1:]).splitlines()


def test_a_1d_slice_is_one_column_and_an_all_integer_slice_one_cell(shared_rpc, nd_file):
    shared_rpc.opened(nd_file)
    column = shared_rpc.call("table", name="/cube", slice="[2, :, -1]")
    assert column["shape"] == [4, 1] and column["columns"] == ["cube"]
    assert page_rows(column) == [[str(i), str(v)] for i, v in enumerate(CUBE[2, :, -1])]
    cell = shared_rpc.call("table", name="/cube", slice="[2, 3, 4]")
    assert cell["shape"] == [1, 1] and page_rows(cell) == [["0", str(CUBE[2, 3, 4])]]


def test_a_compound_slice_keeps_its_fields_as_columns(shared_rpc, nd_file):
    shared_rpc.opened(nd_file)
    result = shared_rpc.call("table", name="/events", slice="[:, 2]")
    assert result["ok"], result
    assert result["columns"] == ["id", "energy"] and result["shape"] == [2, 2]
    assert page_rows(result) == [["0", "2", "1"], ["1", "5", "2.5"]]
    too_wide = shared_rpc.call("table", name="/events", slice="[:, :]")
    assert too_wide["ok"] is False and "at most 1: index axis 0" in too_wide["error"]


@pytest.mark.parametrize(
    ("params", "code", "fragment"),
    [
        ({"slice": "[3, 0]"}, -32602, "slice index 3 is out of range on axis 0 of size 3"),
        ({"slice": "[0, 1; 2]"}, -32602, "unexpected '; 2]' at character 6"),
        ({"slice": "[:, :, :]"}, -32602, "keeps 3 axes"),
        ({"slice": "[0]", "plane": [0]}, -32602, "either 'plane' or 'slice'"),
        ({"slice": 3}, -32602, "param 'slice' must be a string"),
    ],
)
def test_bad_slices_are_refused_and_the_process_goes_on(
    shared_rpc, nd_file, params, code, fragment
):
    shared_rpc.opened(nd_file)
    result = shared_rpc.call("table", name="/cube", **params)
    assert (result["ok"], result["code"]) == (False, code), result
    assert fragment in result["error"]
    assert shared_rpc.call("table", name="/cube", slice="[0]", count=1)["ok"] is True


def test_slice_of_a_pandas_table_is_refused(shared_rpc, pandas_file):
    shared_rpc.opened(pandas_file)
    result = shared_rpc.call("table", name="/data", slice="[0]")
    assert result["ok"] is False and result["code"] == -32602
    assert "slice applies to h5py datasets, not to pandas-table" in result["error"]


def test_plane_stays_a_shorthand_and_info_shows_the_full_shape(shared_rpc, nd_file):
    shared_rpc.opened(nd_file)
    plane = shared_rpc.call("table", name="/cube", plane=[2])
    same = shared_rpc.call("table", name="/cube", slice="[2, :, :]")
    assert page_rows(plane) == page_rows(same)
    assert plane["content"].splitlines()[0].endswith("plane [2]")
    info = shared_rpc.call("info", name="/cube")
    assert info["ok"] and info["shape"] == [3, 4, 5]
    assert "shape: [3, 4, 5]" in info["content"] and "slice" in info["content"]
