"""The braille plot engine: canvas, goldens, reducers, ticks, streaming."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from vime.axes import Axis, format_numbers
from vime.errors import InvalidParams, PlotFailed
from vime.plot import (
    BrailleCanvas,
    LineReducer,
    PixelColumns,
    ScatterReducer,
    braille_plot,
    plot_chunks,
    segment_boundaries,
)

# -- canvas --------------------------------------------------------------------


def test_each_dot_of_a_cell_has_its_braille_bit():
    expected = {(0, 0): "⠁", (0, 1): "⠂", (0, 2): "⠄", (0, 3): "⡀"}
    expected |= {(1, 0): "⠈", (1, 1): "⠐", (1, 2): "⠠", (1, 3): "⢀"}
    for (px, py), char in expected.items():
        canvas = BrailleCanvas(1, 1)
        canvas.set_pixel(px, py)
        assert canvas.render() == [char]


def test_empty_and_full_cells():
    canvas = BrailleCanvas(2, 1)
    canvas.pixels[:, 2:] = True
    assert canvas.render() == ["⠀⣿"]


def test_set_pixel_ignores_points_off_the_canvas():
    canvas = BrailleCanvas(1, 1)
    canvas.set_pixel(2, 0)
    canvas.set_pixel(-1, 0)
    canvas.set_pixels([0, 5, -3], [0, 0, 9])
    assert canvas.render() == ["⠁"]


def test_line_golden_diagonal_and_vertical():
    canvas = BrailleCanvas(2, 1)
    canvas.line(0, 0, 3, 3)
    assert canvas.render() == ["⠑⢄"]
    canvas = BrailleCanvas(1, 2)
    canvas.line(1, 7, 1, 0)
    assert canvas.render() == ["⢸", "⢸"]


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.integers(-40, 40), min_size=4, max_size=4))
def test_lines_are_bresenham(ends):
    """One pixel per step along the longer axis, within half a pixel of the ideal line."""
    x0, y0, x1, y1 = ends
    canvas = BrailleCanvas(41, 21)  # 82 x 84 sub-pixels; shift the segment inside
    canvas.line(x0 + 41, y0 + 42, x1 + 41, y1 + 42)
    py, px = np.nonzero(canvas.pixels)
    px, py = px - 41, py - 42
    steps = max(abs(x1 - x0), abs(y1 - y0))
    assert len(px) == steps + 1
    assert {(x0, y0), (x1, y1)} <= set(zip(px.tolist(), py.tolist(), strict=True))
    if steps:
        if abs(x1 - x0) >= abs(y1 - y0):
            ideal = y0 + (px - x0) * (y1 - y0) / (x1 - x0)
            assert np.all(np.abs(py - ideal) <= 0.5)
        else:
            ideal = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
            assert np.all(np.abs(px - ideal) <= 0.5)


def test_many_lines_at_once_equal_one_by_one():
    rng = np.random.default_rng(3)
    ends = rng.integers(0, 40, size=(50, 4))
    together, apart = BrailleCanvas(20, 10), BrailleCanvas(20, 10)
    together.lines(*ends.T)
    for x0, y0, x1, y1 in ends.tolist():
        apart.line(x0, y0, x1, y1)
    assert np.array_equal(together.pixels, apart.pixels)


# -- goldens ---------------------------------------------------------------------


def test_golden_diagonal():
    assert braille_plot([0, 10], [0, 10], width=20, height=6) == [
        "y                   ",
        "10┤⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⢀⣀⠤⠔⠒⠉",
        " 5┤⠀⠀⠀⠀⠀⢀⣀⠤⠔⠒⠉⠁⠀⠀⠀⠀⠀",
        " 0┤⣀⠤⠔⠒⠉⠁⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        "  └┬──┬──┬───┬──┬───",
        "   0  2  4   6  8  x",
    ]


def test_golden_horizontal_line():
    assert braille_plot(None, np.full(10, 2.5), width=20, height=6) == [
        "y                   ",
        "   │⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        "2.5┤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤",
        "   │⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        "   └┬──┬───┬──┬─────",
        "    0  2   4  6  row",
    ]


def test_golden_single_point():
    assert braille_plot([3], [7], width=20, height=6) == [
        "y                   ",
        " │⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        "7┤⠀⠀⠀⠀⠀⠀⠀⠀⠠⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        " │⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        " └────────┬─────────",
        "          3        x",
    ]


def test_golden_spike():
    y = np.zeros(101)
    y[50] = 10
    assert braille_plot(None, y, width=20, height=6) == [
        "y                   ",
        "10┤⠀⠀⠀⠀⠀⠀⠀⠀⢸⠀⠀⠀⠀⠀⠀⠀⠀",
        " 5┤⠀⠀⠀⠀⠀⠀⠀⠀⣼⠀⠀⠀⠀⠀⠀⠀⠀",
        " 0┤⣀⣀⣀⣀⣀⣀⣀⣀⣿⣀⣀⣀⣀⣀⣀⣀⣀",
        "  └┬──┬──┬───┬──────",
        "   0  20 40  60  row",
    ]


def test_golden_negative_ranges():
    assert braille_plot([-30, -10], [-5, -1], width=24, height=6) == [
        "y                       ",
        "-2┤⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⣀⣀⠤⠤⠒⠒⠉",
        "  │⠀⠀⠀⠀⠀⠀⠀⣀⡠⠤⠔⠒⠊⠉⠀⠀⠀⠀⠀⠀⠀",
        "-4┤⣀⠤⠤⠒⠒⠉⠉⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        "  └┬────┬────┬────┬─────",
        "  -30  -25  -20  -15   x",
    ]


def test_golden_tiny_magnitudes():
    assert braille_plot([0, 4e-12], [1e-12, 3e-12], width=24, height=6) == [
        "y                       ",
        "3e-12┤⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⣀⣀⠤⠔⠒⠉",
        "2e-12┤⠀⠀⠀⠀⠀⠀⣀⡠⠤⠒⠊⠉⠀⠀⠀⠀⠀⠀",
        "1e-12┤⣀⠤⠔⠒⠉⠉⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        "     └┬────────┬────────",
        "      0      2e-12     x",
    ]


def test_golden_huge_magnitudes():
    assert braille_plot([1e20, 3e20], [-2e15, 6e15], width=24, height=6) == [
        "y                       ",
        "5e15┤⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⣀⡠⠤⠒⠒⠉",
        "    │⠀⠀⠀⠀⠀⠀⣀⣀⠤⠔⠒⠉⠉⠀⠀⠀⠀⠀⠀",
        "   0┤⣀⠤⠤⠒⠊⠉⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        "    └┬────────┬─────────",
        "    1e20     2e20      x",
    ]


def test_golden_scatter_corners():
    assert braille_plot([0, 1, 0, 1], [0, 0, 1, 1], kind="scatter", width=12, height=5) == [
        "y           ",
        "1┤⠁⠀⠀⠀⠀⠀⠀⠀⠀⠈",
        "0┤⡀⠀⠀⠀⠀⠀⠀⠀⠀⢀",
        " └┬─────────",
        "  0        x",
    ]


def test_golden_histogram():
    values = [0, 0, 0, 0, 1, 1, 2, 3]  # counts 4, 2, 1, 1; each bin 5 sub-pixels wide
    assert braille_plot(None, values, kind="hist", width=12, height=6, bins=4) == [
        "count       ",
        "4┤⣿⣿⡇⠀⠀⠀⠀⠀⠀⠀",
        "2┤⣿⣿⣷⣶⣶⠀⠀⠀⠀⠀",
        "0┤⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿",
        " └┬──┬──┬───",
        "  0  1  2  y",
    ]


# -- properties ----------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)
any_float = st.floats(allow_nan=True, allow_infinity=True)
sizes = st.tuples(st.integers(10, 90), st.integers(4, 16))


@settings(max_examples=examples(150), deadline=None)
@given(st.lists(st.tuples(any_float, any_float), min_size=1, max_size=40), st.integers(1, 80))
def test_every_finite_point_lands_inside_the_canvas(pairs, pixels):
    x, y = np.array(pairs).T
    keep = np.isfinite(x) & np.isfinite(y)
    if not keep.any():
        return
    x, y = x[keep], y[keep]
    x_axis = Axis(x.min(), x.max(), 2 * pixels)
    y_axis = Axis(y.min(), y.max(), 4 * pixels)
    px, py = x_axis.pixel(x), y_axis.pixel(y)
    assert np.all((px >= 0) & (px < x_axis.pixels) & (py >= 0) & (py < y_axis.pixels))
    for reducer in (ScatterReducer(x_axis, y_axis), LineReducer(PixelColumns(x_axis))):
        canvas = BrailleCanvas(pixels, pixels)
        reducer.add(x, y)
        reducer.draw(canvas, y_axis)
        assert canvas.pixels[y_axis.pixels - 1 - py, px].all()


@settings(max_examples=examples(150), deadline=None)
@given(
    st.lists(any_float, min_size=1, max_size=30),
    st.sampled_from(["line", "scatter", "hist"]),
    sizes,
    st.booleans(),
)
def test_every_line_is_exactly_width_characters(values, kind, size, with_x):
    width, height = size
    y = np.array(values)
    x = np.arange(len(y))[::-1] * 1.5 if with_x and kind != "hist" else None
    try:
        lines = braille_plot(x, y, kind=kind, width=width, height=height)
    except PlotFailed:
        assert not np.isfinite(y).any()
        return
    assert len(lines) == height
    assert all(len(line) == width for line in lines)


def _labels_with_marks(lines: list[str]):
    """The x tick labels and the column of each '┬' of the rule."""
    rule, labels = lines[-2], lines[-1]
    marks = [m.start() for m in re.finditer("┬", rule)]
    words = [(m.start(), m.group()) for m in re.finditer(r"\S+", labels)]
    return marks, words


@settings(max_examples=examples(200), deadline=None)
@given(finite, finite, finite, finite, sizes)
def test_tick_labels_are_monotone_and_fit_the_width(x0, x1, y0, y1, size):
    width, height = size
    lines = braille_plot([x0, x1], [y0, y1], width=width, height=height, x_name="x")
    assert all(len(line) == width for line in lines)
    marks, words = _labels_with_marks(lines)
    words = words[:-1] if words and words[-1][1] == "x" else words  # the axis name
    assert len(marks) == len(words)
    x_values = [float(word) for _, word in words]
    assert x_values == sorted(set(x_values))
    for mark, (start, word) in zip(marks, words, strict=True):
        assert start <= mark < start + len(word)  # each label sits under its tick
    y_labels = [line.split("┤")[0].strip() for line in lines[1:-2] if "┤" in line]
    y_values = [float(label) for label in y_labels]
    assert y_values == sorted(set(y_values), reverse=True)


def test_ticks_are_nice_values():
    lines = braille_plot(None, np.linspace(-3.3, 7.9, 500), width=72, height=20)
    _, words = _labels_with_marks(lines)
    x_values = [float(word) for _, word in words[:-1]]
    steps = set(np.diff(x_values).tolist())
    assert len(steps) == 1 and steps.pop() in (10, 20, 50, 100)
    y_labels = [line.split("┤")[0].strip() for line in lines if "┤" in line]
    assert y_labels == ["6", "4", "2", "0", "-2"]


def test_labels_stay_distinct_when_the_range_is_tiny_for_its_magnitude():
    labels = format_numbers(np.array([1e9, 1e9 + 1e-6, 1e9 + 2e-6]), 1e-6)
    assert len(set(labels)) == 3
    assert [float(label) for label in labels] == sorted(float(label) for label in labels)


@pytest.mark.parametrize(
    ("start", "stop", "pattern"),
    [
        ("2024-01-01", "2024-03-01", r"^\d{4}-\d{2}-\d{2}$"),
        ("2000-01-01", "2020-01-01", r"^\d{4}$"),
        ("2024-01-01", "2024-09-01", r"^\d{4}-\d{2}$"),
        ("2024-05-01 08:00", "2024-05-01 20:00", r"^(\d{4}-\d{2}-\d{2} )?\d{2}:\d{2}$"),
        ("2024-05-01 08:00:00", "2024-05-01 08:00:50", r"^(\d{4}-\d{2}-\d{2} )?[\d:]{8}$"),
    ],
)
def test_datetime_x_axis_shows_dates(start, stop, pattern):
    times = pd.date_range(start, stop, periods=200)
    lines = braille_plot(pd.Series(times), np.sin(np.arange(200) / 9), width=72, height=10)
    marks, _ = _labels_with_marks(lines)
    labels = re.findall(DATE_LABEL, lines[-1])
    assert len(labels) == len(marks) >= 2
    assert all(re.match(pattern, label) for label in labels), labels
    assert all(len(line) == 72 for line in lines)


DATE_LABEL = "|".join(
    [
        r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?",
        r"\d{2}:\d{2}(?::\d{2})?",
        r"\d{4}-\d{2}-\d{2}",
        r"\d{4}-\d{2}",
        r"\d{4}",
    ]
)


def test_the_first_intraday_label_carries_the_date():
    times = pd.date_range("2024-05-01 08:00", "2024-05-01 20:00", periods=50)
    lines = braille_plot(times.values, np.arange(50.0), width=72, height=8)
    assert "2024-05-01 " in lines[-1]
    assert lines[-1].count("2024-05-01") == 1


# -- reductions: streaming equals drawing every point ----------------------------


def _every_point_reference(x, y, x_axis, y_axis, canvas):
    """The definition: stable sort by x, map to sub-pixels, join consecutive points."""
    order = np.argsort(x, kind="stable")
    px = x_axis.pixel(x[order])
    py = y_axis.pixels - 1 - y_axis.pixel(y[order])
    for i in range(len(px) - 1):
        canvas.line(px[i], py[i], px[i + 1], py[i + 1])
    canvas.set_pixel(px[0], py[0])


points = st.lists(
    st.tuples(st.integers(0, 30).map(float), st.floats(-5, 5)), min_size=1, max_size=60
)


@settings(max_examples=examples(200), deadline=None)
@given(points, st.lists(st.integers(1, 20), min_size=1, max_size=8), st.booleans())
def test_line_reduction_equals_drawing_every_point(pairs, cuts, sort_x):
    pairs = sorted(pairs, key=lambda p: p[0]) if sort_x else pairs
    x, y = (np.array(v) for v in zip(*pairs, strict=True))
    x_axis, y_axis = Axis(x.min(), x.max(), 16), Axis(y.min(), y.max(), 12)
    reference = BrailleCanvas(8, 3)
    _every_point_reference(x, y, x_axis, y_axis, reference)
    reduced, reducer = BrailleCanvas(8, 3), LineReducer(PixelColumns(x_axis))
    start = 0
    for size in [*cuts, len(x)]:
        reducer.add(x[start : start + size], y[start : start + size])
        start += size
    reducer.draw(reduced, y_axis)
    assert reduced.render() == reference.render()


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(st.tuples(any_float, any_float), min_size=1, max_size=80),
    st.integers(1, 30),
    st.sampled_from(["line", "scatter", "hist"]),
)
def test_streaming_equals_in_memory(pairs, chunk, kind):
    x, y = (np.array(v) for v in zip(*pairs, strict=True))
    x = None if kind == "hist" else x

    def read():
        for start in range(0, len(y), chunk):
            yield (None if x is None else x[start : start + chunk]), [y[start : start + chunk]]

    try:
        expected = braille_plot(x, y, kind=kind, width=30, height=8)
    except PlotFailed as failure:
        with pytest.raises(PlotFailed, match=re.escape(failure.message)):
            plot_chunks(read, kind=kind, width=30, height=8, x_name="x", y_names=["y"])
        return
    name = "row" if x is None else "x"
    figure = plot_chunks(read, kind=kind, width=30, height=8, x_name=name, y_names=["y"])
    assert figure.lines == expected


WIDTH = 16  # narrow: many points share a column, and y labels change the canvas width a lot


def _chunked(x, ys, sizes):
    """A reader over the arrays in chunks of the given sizes (cycled), counting its passes."""

    def read():
        read.passes += 1
        start, turn = 0, 0
        while start < len(ys[0]):
            stop = start + sizes[turn % len(sizes)]
            yield (None if x is None else x[start:stop]), [y[start:stop] for y in ys]
            start, turn = stop, turn + 1

    read.passes = 0
    return read


def _canvas_of(lines: list[str]) -> tuple[int, list[str]]:
    """The gutter width and the braille cells of a plot's lines."""
    gutter = lines[1].index("┤") if "┤" in lines[1] else lines[1].index("│")
    return gutter, [line[gutter + 1 :] for line in lines[1:-2]]


@settings(max_examples=examples(300), deadline=None)
@given(
    st.integers(1, 200),
    st.integers(0, 2**32 - 1),
    st.sampled_from([0.0, 0.05, 0.4]),
    st.sampled_from(["rows", "sorted", "shuffled", "reversed"]),
    st.lists(st.integers(1, 40), min_size=1, max_size=6),
    st.integers(1, 2),
    st.sampled_from([1e-9, 1.0, 1e12]),
)
def test_one_pass_line_equals_drawing_every_point(rows, seed, holes, order, sizes, series, scale):
    """Random data, chunk sizes and x order: one pass draws what every point drawn draws."""
    rng = np.random.default_rng(seed)
    ys = [np.cumsum(rng.normal(size=rows)) * scale for _ in range(series)]
    x = np.round(rng.uniform(-30, 30, rows), 1)  # ties too
    for values in [x, *ys]:
        values[rng.random(rows) < holes] = np.nan
    if order == "sorted":
        x = np.sort(x)  # NaN go last
    elif order == "reversed":
        x = np.sort(x)[::-1]
    elif order == "rows":
        x = None
    names = [f"y{i}" for i in range(series)]
    size = {"width": WIDTH, "height": 9, "y_names": names, "x_name": "x"}
    one = _chunked(x, ys, sizes)
    hints = {"rows": len(ys[0])} if x is None else {"x_ends": (x[:1], x[-1:])}
    two = _chunked(x, ys, sizes[::-1])
    try:
        figure = plot_chunks(one, **size, **hints)
    except PlotFailed as failure:
        with pytest.raises(PlotFailed, match=re.escape(failure.message)):
            plot_chunks(two, **size)
        return
    assert figure == plot_chunks(two, **size)  # lines, counts and spans
    # The definition: the x axis spans the finite x, the y axis the finite pairs;
    # every point is mapped to a sub-pixel and joined to the next one in x order.
    x_values = np.arange(len(ys[0]), dtype=float) if x is None else x
    finite_x = x_values[np.isfinite(x_values)]
    pairs = [np.isfinite(x_values) & np.isfinite(y) for y in ys]
    y_all = np.concatenate([y[keep] for y, keep in zip(ys, pairs, strict=True)])
    gutter, cells = _canvas_of(figure.lines)
    canvas_cols = WIDTH - gutter - 1
    x_axis = Axis(finite_x.min(), finite_x.max(), 2 * canvas_cols)
    y_axis = Axis(y_all.min(), y_all.max(), 4 * 6)
    reference = BrailleCanvas(canvas_cols, 6)
    for y, keep in zip(ys, pairs, strict=True):
        if keep.any():
            _every_point_reference(x_values[keep], y[keep], x_axis, y_axis, reference)
    assert cells == reference.render()
    if x is None:
        expected_passes = 1
    else:
        ends = x[[0, -1]]
        extremes = np.isfinite(ends).all() and ends.min() == finite_x.min()
        expected_passes = 1 if extremes and ends.max() == finite_x.max() else 2
    assert one.passes == expected_passes


@settings(max_examples=examples(200), deadline=None)
@given(
    st.floats(-1e300, 1e300),
    st.floats(-1e300, 1e300),
    st.lists(st.integers(2, 60), min_size=1, max_size=5),
)
def test_segment_boundaries_are_exactly_where_some_pixel_column_changes(a, b, widths):
    lo, hi = min(a, b), max(a, b)
    boundaries = segment_boundaries(lo, hi, widths)
    assert np.all(np.diff(boundaries) > 0) and np.all((boundaries > lo) & (boundaries <= hi))
    before = np.nextafter(boundaries, -np.inf)
    starts = np.r_[lo, boundaries]
    lasts = np.r_[before, hi]  # each segment's last float
    changed = np.zeros(len(boundaries), dtype=bool)
    for width in widths:
        axis = Axis(lo, hi, width)
        assert np.array_equal(axis.pixel(starts), axis.pixel(lasts))  # one column per segment
        changed |= axis.pixel(boundaries) > axis.pixel(before)
        assert len(np.unique(axis.pixel(starts))) == (width if lo < hi else 1)
    assert changed.all()  # no boundary without a change


def test_a_one_row_spike_in_many_rows_stays_visible_when_streamed():
    rows, spike = 200_000, 123_457
    y = np.zeros(rows)
    y[spike] = 1.0

    def read():
        for start in range(0, rows, 7_000):
            yield None, [y[start : start + 7_000]]

    for kind in ("line", "scatter"):
        figure = plot_chunks(read, kind=kind, width=40, height=8, y_names=["y"])
        top_row = figure.lines[1].split("┤")[-1].split("│")[-1]
        lit = [i for i, char in enumerate(top_row) if char != "⠀"]
        assert len(lit) == 1, (kind, top_row)
        assert abs(lit[0] / len(top_row) - spike / rows) < 0.05


def test_unsorted_x_is_drawn_as_sorted():
    x = np.array([3.0, 0.0, 2.0, 1.0])
    y = np.array([3.0, 0.0, 2.0, 1.0])
    order = np.argsort(x)
    assert braille_plot(x, y, width=20, height=6) == braille_plot(
        x[order], y[order], width=20, height=6
    )


# -- data handling ---------------------------------------------------------------


def test_nan_and_inf_pairs_are_dropped_and_counted():
    y = np.array([1.0, np.nan, 3.0, np.inf, -np.inf, 2.0])
    x = np.array([0.0, 1.0, np.nan, 3.0, 4.0, 5.0])

    def read():
        yield x, [y]

    figure = plot_chunks(read, x_name="x", y_names=["y"], width=30, height=8)
    assert (figure.points, figure.dropped) == (2, 4)
    assert figure.lines == braille_plot([0.0, 5.0], [1.0, 2.0], width=30, height=8)


def test_overlaid_series_are_all_drawn():
    up, down = np.arange(10.0), 9 - np.arange(10.0)
    both = braille_plot(None, [up, down], width=30, height=8, y_name=["up", "down"])
    assert both[0].startswith("up, down")
    alone = [
        braille_plot(None, up, width=30, height=8),
        braille_plot(None, down, width=30, height=8),
    ]
    for row in range(1, 7):
        cells = zip(both[row][3:], alone[0][row][3:], alone[1][row][3:], strict=True)
        for cell, a, b in cells:
            assert ord(cell) - 0x2800 == (ord(a) - 0x2800) | (ord(b) - 0x2800)


def test_booleans_and_nullable_integers_plot_as_numbers():
    flags = pd.Series([True, False, True, True], dtype="boolean")
    counts = pd.Series([1, None, 3, 4], dtype="Int64")
    assert len(braille_plot(None, flags, width=20, height=6)) == 6

    def read():
        yield None, [counts]

    assert plot_chunks(read, width=20, height=6, y_names=["n"]).dropped == 1


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.array(["a", "b"], dtype=object), "column 'y' is not numeric"),
        (np.array([1 + 2j, 3j]), "column 'y' is not numeric"),
        (np.array([np.nan, np.inf]), "column 'y' has no finite values"),
        (np.array([], dtype=float), "no rows to plot"),
    ],
)
def test_unplottable_data_fails_with_a_message(values, message):
    with pytest.raises(PlotFailed, match=re.escape(message)):
        braille_plot(None, values, width=20, height=6)


def test_golden_constant_y_is_a_flat_line_in_the_middle_with_its_value():
    def read():
        yield np.array([1.0, 2.0]), [np.array([4.0, 4.0])]

    assert plot_chunks(read, x_name="t", y_names=["v"], width=20, height=6).lines == [
        "v                   ",
        " │⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        "4┤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤",
        " │⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        " └┬────────┬────────",
        " 1.0      1.5      t",
    ]


def test_golden_constant_x_is_a_column_in_the_middle_with_its_value():
    assert braille_plot([2.0, 2.0, 2.0], [1.0, 5.0, 3.0], kind="scatter", width=20, height=6) == [
        "y                   ",
        "4┤⠀⠀⠀⠀⠀⠀⠀⠀⠈⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        " │⠀⠀⠀⠀⠀⠀⠀⠀⠐⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        "2┤⠀⠀⠀⠀⠀⠀⠀⠀⢀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        " └────────┬─────────",
        "          2        x",
    ]


def test_golden_log_x_ticks_at_powers_of_ten():
    assert braille_plot([1, 10, 100, 1000], [1, 2, 3, 4], log_x=True, width=24, height=6) == [
        "y                       ",
        "4┤⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⢀⣀⡠⠤⠒⠒⠉",
        "2┤⠀⠀⠀⠀⠀⠀⢀⣀⡠⠤⠤⠒⠒⠊⠉⠁⠀⠀⠀⠀⠀⠀",
        " │⣀⠤⠤⠒⠊⠉⠁⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        " └┬──────┬──────┬───────",
        "  1      10    100     x",
    ]


def test_golden_log_y_ticks_at_powers_of_ten():
    assert braille_plot(None, [0.5, 5, 50, 500, 5000], log_y=True, width=24, height=8) == [
        "y                       ",
        "1000┤⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⢀⡠⠔⠊",
        "    │⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⢀⡠⠔⠊⠁⠀⠀⠀",
        " 100┤⠀⠀⠀⠀⠀⠀⠀⣀⠤⠒⠊⠁⠀⠀⠀⠀⠀⠀⠀",
        "  10┤⠀⠀⠀⢀⡠⠒⠉⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        "   1┤⡠⠔⠊⠁⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        "    └┬───┬────┬────┬────",
        "     0   1    2    3 row",
    ]


def test_golden_log_counts_of_a_histogram():
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100, 1000]  # 11 in the first bin, 1 in the last
    assert braille_plot(None, values, kind="hist", log_y=True, width=20, height=8, bins=4) == [
        "count               ",
        "10┤⣿⣿⣿⣿⡇⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        "  │⣿⣿⣿⣿⡇⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        "  │⣿⣿⣿⣿⡇⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        "  │⣿⣿⣿⣿⡇⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀",
        " 1┤⣿⣿⣿⣿⡇⠀⠀⠀⠀⠀⠀⠀⠀⣀⣀⣀⣀",
        "  └────────┬────────",
        "          500      y",
    ]


@pytest.mark.parametrize(
    ("lo", "hi", "labels"),
    [
        (1e-3, 1e6, ["0.01", "1", "100", "10000", "1e6"]),
        (1e-12, 1e12, ["1e-10", "1e-5", "1", "100000", "1e10"]),
        (2.5, 40, ["5", "10", "20"]),
        (3, 7, ["3", "4", "5", "6", "7"]),
    ],
)
def test_log_ticks_are_powers_of_ten_else_one_two_five_else_plain(lo, hi, labels):
    lines = braille_plot(None, np.geomspace(lo, hi, 50), log_y=True, width=40, height=14)
    shown = [line.split("┤")[0].strip() for line in lines if "┤" in line]
    assert shown == labels[::-1]


def test_log_axes_drop_values_at_or_below_zero_and_count_them():
    def read():
        yield (
            np.array([0.0, 1, 2, 3, 4]),
            [
                np.array([-1.0, 0.0, 1, 10, 100]),
                np.array([1.0, 2, np.nan, 8, 16]),
            ],
        )

    figure = plot_chunks(read, x_name="x", y_names=["a", "b"], log_y=True, width=24, height=6)
    assert (figure.points, figure.dropped, figure.nonpositive) == (7, 3, 2)
    figure = plot_chunks(read, x_name="x", y_names=["a", "b"], log_x=True, width=24, height=6)
    assert (figure.points, figure.dropped, figure.nonpositive) == (7, 3, 2)  # x = 0 twice
    with pytest.raises(PlotFailed, match="'a' has no values > 0"):
        plot_chunks(lambda: [(None, [np.array([-1.0, 0.0])])], y_names=["a"], log_y=True)
    with pytest.raises(InvalidParams, match="logx needs numbers, and column 't' holds dates"):
        times = pd.Series(pd.date_range("2024-01-01", periods=3))
        plot_chunks(lambda: [(times, [np.ones(3)])], x_name="t", log_x=True)


def test_golden_series_spans_colour_each_series_and_mark_shared_cells():
    def read():
        yield (
            np.array([0.0, 1, 2, 3, 4]),
            [
                np.array([-1.0, 0.0, 1, 10, 100]),
                np.array([1.0, 2, 4, 8, 16]),
            ],
        )

    figure = plot_chunks(read, x_name="x", y_names=["a", "b"], log_y=True, width=24, height=6)
    assert figure.lines == [
        "a, b                    ",
        "100┤⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⣀⠤⠒⠉",
        " 10┤⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⢀⣀⡠⠴⠭⠒⠒⠊⠉",
        "  1┤⣀⡠⠤⠤⠒⠒⠒⠊⠉⠉⡩⠕⠉⠀⠀⠀⠀⠀⠀⠀",
        "   └┬────┬────┬───┬─────",
        "    0    1    2   3    x",
    ]
    # (series, line, first column, column after the last); series 0: shared cells.
    assert figure.spans == [
        (1, 0, 0, 1),
        (2, 0, 3, 4),
        (1, 1, 20, 24),
        (2, 2, 15, 17),
        (0, 2, 17, 20),
        (2, 2, 20, 24),
        (2, 3, 4, 14),
        (0, 3, 14, 16),
        (1, 3, 16, 17),
    ]
    for series, line, start, end in figure.spans[2:]:
        assert all(char != "⠀" for char in figure.lines[line][start:end]), (series, line)


def test_bad_sizes_and_bins_are_invalid_params():
    with pytest.raises(InvalidParams, match="width"):
        braille_plot(None, [1, 2], width=5)
    with pytest.raises(InvalidParams, match="height"):
        braille_plot(None, [1, 2], height=2)
    with pytest.raises(InvalidParams, match="bins"):
        braille_plot(None, [1, 2], kind="hist", width=20, bins=500)
    with pytest.raises(InvalidParams, match="type"):
        braille_plot(None, [1, 2], kind="pie")


def test_golden_log_histogram_bins_the_log_of_the_values():
    values = np.array([-1.0, 0.0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000])

    def read():
        yield None, [values]

    figure = plot_chunks(read, kind="hist", y_names=["v"], log_x=True, width=30, height=8, bins=3)
    assert (figure.points, figure.dropped, figure.nonpositive) == (10, 2, 2)
    assert figure.lines == [  # a decade per bin: 1 2 5 | 10 20 50 | 100 200 500 1000
        "count                         ",
        " 4┤⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⠀⣿⣿⣿⣿⣿⣿⣿⣿⣿",
        " 3┤⣶⣶⣶⣶⣶⣶⣶⣶⣶⣶⣶⣶⣶⣶⣶⣶⣶⣶⣿⣿⣿⣿⣿⣿⣿⣿⣿",
        " 2┤⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿",
        " 1┤⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿",
        " 0┤⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿",
        "  └┬────────┬────────┬────────",
        "   1        10      100      v",
    ]
