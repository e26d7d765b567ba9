"""Heatmaps: the colour map, goldens, the one-pass reduction, the no-colour fallback."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from vime.axes import Axis
from vime.colormap import LEVELS, VIRIDIS_STOPS, palette, srgb_to_oklab, viridis, xterm_colours
from vime.errors import InvalidParams, PlotFailed
from vime.heatmap import MatrixReducer, heat_histogram, heat_matrix

# -- the colour map ------------------------------------------------------------------


def test_viridis_passes_through_its_published_stops():
    assert viridis(5) == list(VIRIDIS_STOPS)
    assert viridis()[0] == "#440154" and viridis()[-1] == "#fde725"


def test_viridis_is_perceptually_ordered():
    """Lightness rises at a nearly even pace, so the map reads in grey too."""
    rgb = np.array([[int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)] for c in viridis()])
    lightness = srgb_to_oklab(rgb)[:, 0]
    steps = np.diff(lightness)
    assert np.all(steps > 0)
    assert steps.max() / steps.min() < 1.5


def test_the_palette_has_a_truecolor_and_a_nearby_256_colour_per_level():
    colours = palette()
    assert len(colours) == LEVELS
    choices = srgb_to_oklab(xterm_colours())
    for text, number in colours:
        rgb = np.array([int(text[i : i + 2], 16) / 255 for i in (1, 3, 5)])
        distance = np.linalg.norm(choices - srgb_to_oklab(rgb), axis=1)
        assert number == 16 + distance.argmin() and distance.min() < 0.11, (text, number)
    # The 256-colour ramp is coarser, but its lightness never goes back.
    lightness = choices[[number - 16 for _, number in colours], 0]
    assert np.all(np.diff(lightness) >= 0)
    assert colours[0] == ("#440154", 53) and colours[-1] == ("#fde725", 220)


# -- goldens ---------------------------------------------------------------------------


def small_matrix() -> np.ndarray:
    matrix = np.arange(12.0).reshape(3, 4)
    matrix[1, 2] = np.nan
    return matrix


def test_golden_heatmap_with_its_colour_bar():
    matrix = small_matrix()
    figure = heat_matrix(lambda: [matrix[:2], matrix[2:]], rows=3, cols=4, width=30, height=7)
    assert figure.lines == [
        "row                           ",
        "0┤▀▀▀▀▀▀▀▀▀▀▀▀    ▀▀ 11       ",
        "1┤▀▀▀▀▀▀   ▀▀▀    ▀▀          ",
        "2┤▀▀▀▀▀▀▀▀▀▀▀▀    ▀▀          ",
        " │                ▀▀ 0        ",
        " └┬──┬──┬──┬─────             ",
        "  0  1  2  3      column      ",
    ]
    # Each value 3 columns wide and a line tall (two half blocks of the same level);
    # the NaN cell is blank; the bar runs from the top level down to level 0.
    assert figure.cells == [
        (1, 2, 5, 0, 0),
        (1, 5, 8, 2, 2),
        (1, 8, 11, 5, 5),
        (1, 11, 14, 8, 8),
        (1, 18, 20, 31, 27),
        (2, 2, 5, 11, 11),
        (2, 5, 8, 14, 14),
        (2, 11, 14, 20, 20),
        (2, 18, 20, 22, 18),
        (3, 2, 5, 23, 23),
        (3, 5, 8, 26, 26),
        (3, 8, 11, 29, 29),
        (3, 11, 14, 31, 31),
        (3, 18, 20, 13, 9),
        (4, 18, 20, 4, 0),
    ]
    assert (figure.value_range, figure.points, figure.dropped) == ((0.0, 11.0), 11, 1)
    assert figure.palette == palette() and not figure.reduced


def test_golden_no_colour_fallback_is_braille_dot_density():
    matrix = small_matrix()
    figure = heat_matrix(lambda: [matrix], rows=3, cols=4, width=30, height=7, color=False)
    assert figure.lines == [
        "row                           ",
        "0┤⠁⠁⠁⠁⠅⠅⠅⠅⠅⠅⠕⠕⠕⠕⠀ ⢿⢿ 11       ",
        "1┤⢕⢕⢕⢕⢕⢕⢕⠁⠁⠁⢑⢕⢕⢕⠀ ⢝⢝          ",
        "2┤⢵⢵⢵⢵⢵⢵⢵⢤⢤⢤⢼⣽⣽⣽⠀ ⠕⠕          ",
        " │⠽⠽⠽⠽⠿⠿⠿⠿⠿⠿⠿⠿⠿⠿⠀ ⠁⠁ 0        ",
        " └┬──┬───┬──┬────             ",
        "  0  1   2  3     column      ",
    ]
    assert figure.cells == [] and figure.palette == []


def test_dot_density_follows_the_value():
    ramp = np.linspace(0, 1, 30)[None, :].repeat(4, axis=0)  # one column per dot column
    figure = heat_matrix(lambda: [ramp], rows=4, cols=30, width=30, height=7, color=False)
    dots = [
        sum(bin(ord(line[2 + col]) - 0x2800).count("1") for line in figure.lines[1:5])
        for col in range(15)
    ]
    assert dots == sorted(dots) and dots[0] > 0 and dots[-1] == 4 * 8


def test_golden_two_dimensional_histogram():
    x = np.array([0, 0, 1, 2, 2, 2.0])
    y = np.array([0, 0, 0, 1, 1, 1.0])
    figure = heat_histogram(lambda: [(x, y)], width=30, height=6, x_name="a", y_name="b")
    assert figure.lines == [
        "b                             ",
        "1.0┤            ▀ ▀▀ 3        ",
        "0.5┤              ▀▀          ",
        "  0┤▄     ▄       ▀▀ 1        ",
        "   └┬─────┬─────┬             ",
        "    0     1     2 a           ",
    ]
    # Count 3 at (2, 1) in the top level, 2 at (0, 0) half way, 1 at (1, 0) in level 0.
    assert figure.cells == [
        (1, 16, 17, 31, -1),
        (1, 18, 20, 31, 25),
        (2, 18, 20, 19, 12),
        (3, 4, 5, 16, -1),
        (3, 10, 11, 0, -1),
        (3, 18, 20, 6, 0),
    ]
    assert (figure.points, figure.dropped) == (6, 0)


def test_a_constant_matrix_takes_the_middle_colour():
    figure = heat_matrix(lambda: [np.full((2, 2), 7.0)], rows=2, cols=2, width=30, height=6)
    assert {cell[3] for cell in figure.cells if cell[1] < 16} == {LEVELS // 2}
    assert figure.value_range == (7.0, 7.0) and "7" in figure.lines[1]


@pytest.mark.parametrize(
    ("matrix", "error", "message"),
    [
        (np.full((2, 3), np.nan), PlotFailed, "no finite values"),
        (np.empty((0, 3)), PlotFailed, "the matrix is empty"),
    ],
)
def test_matrices_without_values_fail(matrix, error, message):
    rows, cols = matrix.shape
    with pytest.raises(error, match=message):
        heat_matrix(lambda: [matrix], rows=rows, cols=cols)


def test_bad_heat_requests_are_invalid_params():
    with pytest.raises(InvalidParams, match="reduce must be one of mean, max"):
        heat_matrix(lambda: [], rows=1, cols=1, reduce="median")
    with pytest.raises(InvalidParams, match="needs a width of at least"):
        heat_matrix(lambda: [np.ones((1, 1))], rows=1, cols=1, width=12)
    with pytest.raises(PlotFailed, match="no row has finite values in both 'a' and 'b'"):
        heat_histogram(lambda: [(np.array([np.nan]), np.array([1.0]))], x_name="a", y_name="b")


# -- the one-pass reduction ---------------------------------------------------------


def reference_cells(matrix: np.ndarray, row_groups: Axis, col_groups: Axis, reduce: str):
    """The definition: each cell reduces the finite values of the rows and columns
    that the group axes put in it, all at once."""
    rows, cols = matrix.shape
    row_of = row_groups.pixel(np.arange(rows))
    col_of = col_groups.pixel(np.arange(cols))
    out = np.full((row_groups.pixels, col_groups.pixels), np.nan)
    for r in range(row_groups.pixels):
        for c in range(col_groups.pixels):
            values = matrix[np.ix_(row_of == r, col_of == c)]
            values = values[np.isfinite(values)]
            if len(values):
                out[r, c] = values.max() if reduce == "max" else values.mean()
    return out


def reduce_in_chunks(matrix, row_groups, col_groups, reduce: str, sizes: list[int]):
    """A MatrixReducer fed the matrix in chunks of these sizes, in turn."""
    reducer = MatrixReducer(row_groups, col_groups, matrix.shape[1], reduce)
    start, turn = 0, 0
    while start < len(matrix):
        stop = start + sizes[turn % len(sizes)]
        reducer.add(start, matrix[start:stop])
        start, turn = stop, turn + 1
    return reducer


@settings(max_examples=examples(150), deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.integers(1, 40),
    st.integers(1, 40),
    st.lists(st.integers(1, 15), min_size=1, max_size=5),
    st.sampled_from(["mean", "max"]),
    st.sampled_from(["float32", "float64", "int16"]),
    st.integers(0, 2**32 - 1),
    st.sampled_from([0.0, 0.2, 1.0]),
)
def test_the_chunked_reduction_equals_reducing_the_whole_matrix(
    rows, cols, groups_r, groups_c, sizes, reduce, dtype, seed, holes
):
    rng = np.random.default_rng(seed)
    # Magnitudes far apart, so that sums round and their order shows.
    scales = 10.0 ** rng.uniform(-8, 8, size=(rows, cols))
    matrix = (rng.normal(size=(rows, cols)) * scales).astype(dtype)
    if dtype != "int16":
        matrix[rng.random((rows, cols)) < holes] = np.nan
        matrix[rng.random((rows, cols)) < holes / 4] = np.inf
        matrix[rng.random((rows, cols)) < holes / 4] = -np.inf
    row_groups = Axis(0, rows, min(rows, groups_r), edges=True)
    col_groups = Axis(0, cols, min(cols, groups_c), edges=True)
    chunked = reduce_in_chunks(matrix, row_groups, col_groups, reduce, sizes)
    whole = reduce_in_chunks(matrix, row_groups, col_groups, reduce, [rows])
    # The very same numbers, wherever the chunks begin: the picture cannot differ.
    assert np.array_equal(chunked.result(), whole.result(), equal_nan=True)
    expected = reference_cells(matrix.astype(np.float64), row_groups, col_groups, reduce)
    # float32 rows are summed in float32 first: within a few float32 roundings of
    # the largest value.
    rtol = 1e-5 if dtype == "float32" and reduce == "mean" else 1e-12
    finite = np.abs(matrix[np.isfinite(matrix)])
    atol = rtol * (finite.max() if finite.size else 0)
    np.testing.assert_allclose(chunked.result(), expected, rtol=rtol, atol=atol, equal_nan=True)
    assert chunked.finite == int(np.isfinite(matrix).sum()) and chunked.values == matrix.size


@pytest.mark.parametrize("sizes", [[1], [2], [3], [1, 3]])
def test_sums_that_round_do_not_depend_on_the_chunks(sizes):
    """1e16 + 1 rounds to 1e16: the cell's sum depends on the order of the additions,
    which must be the rows' order whatever the chunks."""
    column = np.array([[1e16], [1.0], [-1e16], [1.0]])
    groups = Axis(0, 4, 1, edges=True), Axis(0, 1, 1, edges=True)
    chunked = reduce_in_chunks(column, *groups, "mean", sizes)
    whole = reduce_in_chunks(column, *groups, "mean", [4])
    assert chunked.result()[0, 0] == whole.result()[0, 0] == 0.25  # ((1e16 + 1) - 1e16) + 1


def test_a_large_matrix_is_read_once_in_row_chunks():
    rng = np.random.default_rng(4)
    matrix = rng.random((3000, 2000), dtype=np.float32)
    chunks = []

    def read():
        for start in range(0, 3000, 256):
            chunks.append(start)
            yield matrix[start : start + 256]

    mean = heat_matrix(read, rows=3000, cols=2000, width=80, height=24)
    assert chunks == list(range(0, 3000, 256)) and mean.reduced
    peak = heat_matrix(lambda: [matrix], rows=3000, cols=2000, width=80, height=24, reduce="max")
    assert peak.value_range[1] == float(matrix.max())
    assert mean.value_range[1] < peak.value_range[0]  # means of ~1600 values sit near 0.5


@pytest.mark.parametrize("reduce", ["mean", "max"])
def test_nan_in_one_chunk_of_an_uneven_plane_draws_what_the_whole_plane_draws(reduce):
    """997 columns do not split evenly into cells; the holes sit in the second chunk."""
    rng = np.random.default_rng(16)
    matrix = rng.normal(size=(700, 997)).astype(np.float32)
    matrix[300:310, 40:400] = np.nan
    matrix[305, 500] = np.inf
    size = {"rows": 700, "cols": 997, "width": 72, "height": 20, "reduce": reduce}

    def chunks():
        return (matrix[start : start + 256] for start in range(0, 700, 256))

    chunked, whole = heat_matrix(chunks, **size), heat_matrix(lambda: [matrix], **size)
    assert chunked.lines == whole.lines and chunked.cells == whole.cells
    assert chunked.value_range == whole.value_range
    assert (
        (chunked.points, chunked.dropped)
        == (700 * 997 - 3601, 3601)
        == (
            whole.points,
            whole.dropped,
        )
    )


def test_rows_whose_float32_sums_overflow_are_summed_in_float64():
    huge = np.full((4, 6), 3e38, dtype=np.float32)  # any two of them overflow float32
    figure = heat_matrix(lambda: [huge[:1], huge[1:]], rows=4, cols=6, width=30, height=7)
    assert figure.value_range == (float(np.float32(3e38)),) * 2
    assert (figure.points, figure.dropped) == (24, 0)


def test_a_cell_of_minus_infinity_alone_is_blank_by_max():
    matrix = np.array([[-np.inf, 1.0], [2.0, 3.0]])
    reducer = reduce_in_chunks(matrix, Axis(0, 2, 2, edges=True), Axis(0, 2, 2, edges=True),
                               "max", [1])  # fmt: skip
    assert np.array_equal(reducer.result(), [[np.nan, 1.0], [2.0, 3.0]], equal_nan=True)
    assert (reducer.finite, reducer.values) == (3, 4)
