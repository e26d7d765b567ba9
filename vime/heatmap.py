"""Heatmaps: a grid of values drawn with upper half blocks ('▀'), two rows of
values per line of text, the glyph in the upper value's colour on the lower
value's background; or, without colour, as braille dots whose density
follows the value.

Two sources. A matrix (the rows and columns of a table, or a plane of an N-D
dataset) arrives in chunks of rows and is reduced in that one pass to one
value per cell: the mean, or the max, of the values the cell covers. A matrix
smaller than the area is enlarged by a whole factor per axis instead. A 2-D
histogram of two columns counts the rows per cell, after a pass for the
ranges. Values that are not finite are left out; a cell without values stays
blank. A colour bar with the value range sits on the right.

The figure carries what an editor needs to colour it: ``cells``, runs of
(line, col_start, col_end, fg, bg) in character columns, where fg and bg are
levels of ``palette`` (-1: the editor's own colour).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from vime.axes import Axis
from vime.colormap import LEVELS, palette
from vime.errors import InvalidParams, PlotFailed
from vime.plot import (
    BOTTOM_LINES,
    TOP_LINES,
    BrailleCanvas,
    Grid,
    as_numbers,
    compose,
    fit,
    y_axis_ticks,
)

UPPER, LOWER = "▀", "▄"
REDUCES = ("mean", "max")
HALF_BLOCKS = Grid(per_char=1, per_line=2, y_down=True)  # a matrix: row 0 at the top
BRAILLE_DOWN = Grid(per_char=2, per_line=4, y_down=True)
# The colour bar: a space, two characters of colour, a space and the label.
LABEL_WIDTH = 9
BAR_WIDTH = 1 + 2 + 1 + LABEL_WIDTH
# Computed at import, in the fork server, so that every worker finds it made (its
# first computation in a process costs ~3 ms of numpy's first calls).
PALETTE = palette()
# Each cell of 2x4 dots lights k of its dots for a value in the k-th eighth:
# the order of a 2x4 ordered-dither matrix, so that near values look alike.
DITHER = (np.array([[0, 4], [6, 2], [1, 5], [7, 3]]) + 0.5) / 8

Cell = tuple[int, int, int, int, int]  # (line, first column, column after the last, fg, bg)


@dataclass
class HeatFigure:
    lines: list[str]
    cells: list[Cell]  # empty without colour
    palette: list[tuple[str, int]]  # ('#rrggbb', xterm colour) per level; empty without colour
    value_range: tuple[float, float]
    points: int  # finite values drawn
    dropped: int  # values left out (NaN, ±Inf)
    reduced: bool  # whether a cell covers more than one value


@dataclass(frozen=True)
class _Area:
    """The room for the map: lines of text and character columns, and their pixels."""

    grid: Grid
    lines: int
    cols: int

    @property
    def pixel_rows(self) -> int:
        return self.lines * self.grid.per_line

    @property
    def pixel_cols(self) -> int:
        return self.cols * self.grid.per_char


# -- a matrix ---------------------------------------------------------------------------
class MatrixReducer:
    """Per cell of a grid over a rows x cols matrix: the sum and count of its finite
    values (for the mean) or their max; fed chunks of consecutive rows.

    Each data row is reduced first, alone, to one value per column group, in
    the block's own float precision (float32 stays float32: that reduction
    runs at memory speed); those are folded into the cells in float64, row
    after row. A row is never split between chunks, so the numbers do not
    depend on where the chunks begin: the chunked pass draws the very picture
    of the whole matrix in one block.
    """

    def __init__(self, row_groups: Axis, col_groups: Axis, cols: int, reduce: str):
        self.row_groups, self.reduce = row_groups, reduce
        shape = (row_groups.pixels, col_groups.pixels)
        col_of = col_groups.pixel(np.arange(cols))
        self.col_starts = np.searchsorted(col_of, np.arange(col_groups.pixels))
        self.col_sizes = np.diff(np.r_[self.col_starts, cols])
        self.sums, self.counts = np.zeros(shape), np.zeros(shape, dtype=np.int64)
        self.maxima = np.full(shape, np.nan)
        self.finite = self.values = 0

    def add(self, first_row: int, block: np.ndarray) -> None:
        """Fold in rows first_row.. of the matrix (absolute row numbers)."""
        if len(block) == 0:
            return
        block = _summable(block)
        cells, counts, finite = self._row_cells(block)
        self.values += block.size
        self.finite += finite
        row_of = self.row_groups.pixel(np.arange(first_row, first_row + len(block)))
        starts = np.flatnonzero(np.r_[True, row_of[1:] != row_of[:-1]])
        groups = slice(row_of[0], row_of[-1] + 1)
        if counts is None:  # every value is finite
            row_counts = np.diff(np.r_[starts, len(block)])
            self.counts[groups] += row_counts[:, None] * self.col_sizes[None, :]
        else:
            self.counts[groups] += np.add.reduceat(counts, starts, axis=0)
        if self.reduce == "max":
            self.maxima[groups] = np.fmax(self.maxima[groups], np.fmax.reduceat(cells, starts, 0))
            return
        bounds = itertools.pairwise([*starts.tolist(), len(block)])
        for group, (first, last) in zip(row_of[starts].tolist(), bounds, strict=True):
            self.sums[group] = _running_sum(self.sums[group], cells[first:last])

    def _row_cells(self, block: np.ndarray):
        """Per row and column group: the sum (or max) of the finite values, and
        their count (None when every value is finite); and the number of finite
        values in the block.

        A sum is finite only when every value in it is: rows whose sums all
        are (nearly every row) need no mask. The others, and rows whose float32
        sums overflow, are reduced again with the non-finite values left out.
        """
        with np.errstate(over="ignore", invalid="ignore"):  # ±Inf, NaN, overflow: dirty rows
            sums = np.add.reduceat(block, self.col_starts, axis=1)
        clean = np.isfinite(sums).all(axis=1)
        if self.reduce == "max":
            sums = np.maximum.reduceat(block, self.col_starts, axis=1)
        cells = sums.astype(np.float64)
        if clean.all():
            return cells, None, block.size
        dirty = ~clean
        counts = np.repeat(self.col_sizes[None, :], len(block), axis=0)
        cells[dirty], counts[dirty], dirty_finite = self._masked_cells(block[dirty])
        return cells, counts, int(np.count_nonzero(clean)) * block.shape[1] + dirty_finite

    def _masked_cells(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """_row_cells for rows holding NaN or ±Inf, in float64."""
        finite = np.isfinite(rows)
        counts = np.add.reduceat(finite.astype(np.int64), self.col_starts, axis=1)
        if self.reduce == "max":
            cells = np.fmax.reduceat(np.where(finite, rows, np.nan), self.col_starts, axis=1)
        else:
            values = np.where(finite, rows, 0).astype(np.float64)
            cells = np.add.reduceat(values, self.col_starts, axis=1)
        return cells, counts, int(np.count_nonzero(finite))

    def result(self) -> np.ndarray:
        """One value per cell; NaN for cells without a finite value."""
        if self.reduce == "max":
            return self.maxima
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.counts > 0, self.sums / np.maximum(self.counts, 1), np.nan)


def _summable(block: np.ndarray) -> np.ndarray:
    """The block as float32 or float64: float32 is summed as it is, anything else
    (integers, float16, booleans) in float64."""
    if block.dtype in (np.float32, np.float64):
        return block
    return np.asarray(block, dtype=np.float64)


def _running_sum(total: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """total + rows[0] + rows[1] + ..., added in that order (not pairwise, as a
    sum along an axis may be), so that splitting the rows anywhere gives the same."""
    return np.cumsum(np.vstack([total[None, :], rows]), axis=0)[-1]


def heat_matrix(
    read: Callable[[], Iterable[np.ndarray]],
    *,
    rows: int,
    cols: int,
    first_row: int = 0,
    width: int = 72,
    height: int = 20,
    reduce: str = "mean",
    color: bool = True,
    x_name: str = "column",
    y_name: str = "row",
) -> HeatFigure:
    """A heatmap of a rows x cols matrix whose rows ``read()`` yields in 2-D blocks,
    in one pass; row labels count from ``first_row``."""
    if reduce not in REDUCES:
        raise InvalidParams(f"reduce must be one of {', '.join(REDUCES)}, not {reduce!r}")
    if rows == 0 or cols == 0:
        raise PlotFailed("no values to draw: the matrix is empty")
    grid = HALF_BLOCKS if color else BRAILLE_DOWN
    lines = _map_lines(height)
    row_groups, row_factor = _groups(rows, lines * grid.per_line)
    last_row = first_row + rows - 1
    y_axis = Axis(first_row, first_row + rows, row_groups * row_factor, "integer", True, last_row)
    ticks, gutter = _y_labels(y_axis, width, grid)
    area = _Area(grid, lines, _map_cols(width, gutter))
    col_groups, col_factor = _groups(cols, area.pixel_cols)
    x_axis = Axis(0, cols, col_groups * col_factor, "integer", True, cols - 1)
    reducer = MatrixReducer(
        Axis(first_row, first_row + rows, row_groups, edges=True),
        Axis(0, cols, col_groups, edges=True),
        cols,
        reduce,
    )
    row = first_row
    for block in read():
        reducer.add(row, block)
        row += len(block)
    if reducer.finite == 0:
        raise PlotFailed("no finite values to draw (all NaN or ±Inf)")
    values = np.repeat(np.repeat(reducer.result(), row_factor, axis=0), col_factor, axis=1)
    counts = (
        reducer.finite,
        reducer.values - reducer.finite,
        row_groups < rows or col_groups < cols,
    )
    return _draw(values, area, (x_axis, y_axis, ticks, gutter), (x_name, y_name), width, counts)


def _groups(count: int, room: int) -> tuple[int, int]:
    """Cells for count values in room pixels: (groups, whole enlargement factor)."""
    groups = min(count, room)
    return groups, max(1, room // groups)


# -- a 2-D histogram ---------------------------------------------------------------------
def heat_histogram(
    read: Callable[[], Iterable[tuple[object, object]]],
    *,
    width: int = 72,
    height: int = 20,
    color: bool = True,
    x_name: str = "x",
    y_name: str = "y",
) -> HeatFigure:
    """Counts of (x, y) rows per cell; ``read()`` yields (x, y) chunks and is called twice."""
    (x_lo, x_hi, x_kind), (y_lo, y_hi, y_kind), rows, pairs = _ranges(read, x_name, y_name)
    grid = HALF_BLOCKS if color else BRAILLE_DOWN
    grid = Grid(grid.per_char, grid.per_line, y_down=False)  # y grows upwards
    lines = _map_lines(height)
    y_axis = Axis(y_lo, y_hi, lines * grid.per_line, y_kind, edges=True)
    ticks, gutter = _y_labels(y_axis, width, grid)
    area = _Area(grid, lines, _map_cols(width, gutter))
    x_axis = Axis(x_lo, x_hi, area.pixel_cols, x_kind, edges=True)
    counts = np.zeros(x_axis.pixels * y_axis.pixels, dtype=np.int64)
    for x, y in read():
        (x, _), (y, _) = as_numbers(x, x_name), as_numbers(y, y_name)
        keep = np.isfinite(x) & np.isfinite(y)
        key = y_axis.pixel(y[keep]).astype(np.intp) * x_axis.pixels + x_axis.pixel(x[keep])
        counts += np.bincount(key, minlength=len(counts))
    grid_counts = counts.reshape(y_axis.pixels, x_axis.pixels)[::-1].astype(np.float64)
    grid_counts[grid_counts == 0] = np.nan
    frame = (x_axis, y_axis, ticks, gutter)
    return _draw(grid_counts, area, frame, (x_name, y_name), width, (pairs, rows - pairs, True))


def _ranges(read, x_name: str, y_name: str):
    """The first pass: each axis' range and kind over the rows where both are finite."""
    x_lo = y_lo = math.inf
    x_hi = y_hi = -math.inf
    rows = pairs = 0
    x_kind = y_kind = "number"
    for x, y in read():
        (x, x_kind), (y, y_kind) = as_numbers(x, x_name), as_numbers(y, y_name)
        keep = np.isfinite(x) & np.isfinite(y)
        rows += len(x)
        if keep.any():
            pairs += int(np.count_nonzero(keep))
            x_lo, x_hi = min(x_lo, float(x[keep].min())), max(x_hi, float(x[keep].max()))
            y_lo, y_hi = min(y_lo, float(y[keep].min())), max(y_hi, float(y[keep].max()))
    if rows == 0:
        raise PlotFailed("no rows to plot")
    if pairs == 0:
        raise PlotFailed(f"no row has finite values in both {x_name!r} and {y_name!r}")
    return (x_lo, x_hi, x_kind), (y_lo, y_hi, y_kind), rows, pairs


# -- drawing ----------------------------------------------------------------------------
def _map_lines(height: int) -> int:
    return height - TOP_LINES - BOTTOM_LINES


def _y_labels(y_axis: Axis, width: int, grid: Grid):
    ticks = y_axis_ticks(y_axis, max(1, width // 3), grid)
    return ticks, max(map(len, ticks.labels), default=0)


def _map_cols(width: int, gutter: int) -> int:
    cols = width - gutter - 1 - BAR_WIDTH
    if cols < 2:
        needed = width - cols + 2
        raise InvalidParams(f"a heatmap needs a width of at least {needed}, got {width}")
    return cols


def _draw(values, area: _Area, frame, names, width: int, counts) -> HeatFigure:
    """The map (pixels top row first), its frame and the colour bar.

    frame: (x axis, y axis, y ticks, gutter); names: (x, y); counts: (points,
    dropped, reduced).
    """
    x_axis, y_axis, ticks, gutter = frame
    finite = values[np.isfinite(values)]
    value_range = (float(finite.min()), float(finite.max()))
    rows = np.full((area.pixel_rows, area.pixel_cols), np.nan)
    rows[: values.shape[0], : values.shape[1]] = values
    if area.grid.per_line == 2:
        map_text, cells = _half_blocks(_levels(rows, *value_range), gutter + 1)
        bar_text, bar_cells = _half_blocks(_bar_levels(area.lines), gutter + 2 + area.cols)
        cells = _merge_lines(cells, bar_cells)
        colours = list(PALETTE)
    else:
        map_text = _dots(_shares(rows, *value_range))
        bar_text, cells, colours = _dots(_bar_shares(area.lines)), [], []
    x_name, y_name = names
    map_lines = compose(map_text, area.grid, x_axis, y_axis, ticks, gutter, "", y_name)
    labels = _bar_labels(area.lines, *value_range)
    map_lines[-1] += " " + x_name  # under the bar, where there is room for it
    lines = []
    for number, line in enumerate(map_lines):
        row = number - TOP_LINES
        if 0 <= row < area.lines:
            line += " " + bar_text[row] + " " + labels.get(row, "")
        lines.append(fit(line, width))
    shifted = [(line + TOP_LINES, *rest) for line, *rest in cells]
    return HeatFigure(lines, shifted, colours, value_range, *counts)


def _levels(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The palette level of each value (-1 for NaN): LEVELS equal slices of [lo, hi]."""
    if lo == hi:
        levels = np.full(values.shape, LEVELS // 2)
    else:
        scaled = np.nan_to_num((values - lo) / (hi - lo) * LEVELS, nan=0.0)
        levels = np.clip(scaled.astype(np.int64), 0, LEVELS - 1)
    return np.where(np.isnan(values), -1, levels)


def _bar_levels(lines: int) -> np.ndarray:
    """A column of two pixels per line, from the top level down to the bottom one."""
    pixels = 2 * lines
    levels = np.round((pixels - 1 - np.arange(pixels)) / max(1, pixels - 1) * (LEVELS - 1))
    return np.repeat(levels.astype(np.int64)[:, None], 2, axis=1)


def _half_blocks(levels: np.ndarray, first_col: int) -> tuple[list[str], list[Cell]]:
    """Text lines of half blocks for two pixel rows each, and the coloured runs."""
    if len(levels) % 2:
        levels = np.vstack([levels, np.full((1, levels.shape[1]), -1)])
    top, bottom = levels[0::2], levels[1::2]
    fg = np.where(top >= 0, top, bottom)
    bg = np.where(top >= 0, bottom, -1)
    glyphs = np.where(top >= 0, UPPER, np.where(bottom >= 0, LOWER, " "))
    text = ["".join(row) for row in glyphs.tolist()]
    # A run starts where a line starts or its colours change; it ends where the next
    # run of its line starts, or at the line's end.
    starts = np.ones(fg.shape, dtype=bool)
    starts[:, 1:] = (fg[:, 1:] != fg[:, :-1]) | (bg[:, 1:] != bg[:, :-1])
    line, start = np.nonzero(starts)
    end = np.r_[start[1:], 0]
    end[np.r_[line[1:] != line[:-1], True]] = fg.shape[1]
    coloured = fg[line, start] >= 0
    line, start, end = line[coloured], start[coloured], end[coloured]
    runs = zip(
        line.tolist(),
        (start + first_col).tolist(),
        (end + first_col).tolist(),
        fg[line, start].tolist(),
        bg[line, start].tolist(),
        strict=True,
    )
    return text, list(runs)


def _merge_lines(cells: list[Cell], more: list[Cell]) -> list[Cell]:
    """Runs of two regions in reading order."""
    return sorted(cells + more, key=lambda cell: (cell[0], cell[1]))


def _shares(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Each value's dot density: 1/8 (one dot in eight) at lo to 1 at hi, so that the
    lowest value still differs from no value (NaN stays NaN); a constant is half."""
    if lo == hi:
        return np.where(np.isnan(values), np.nan, 0.5)
    return 0.125 + (values - lo) / (hi - lo) * 0.875


def _bar_shares(lines: int) -> np.ndarray:
    pixels = 4 * lines
    shares = 0.125 + (pixels - 1 - np.arange(pixels)) / max(1, pixels - 1) * 0.875
    return np.repeat(shares[:, None], 4, axis=1)


def _dots(shares: np.ndarray) -> list[str]:
    """Braille lines whose dot density follows the shares (ordered dither); NaN: no dot."""
    rows, cols = shares.shape
    canvas = BrailleCanvas(cols // 2, rows // 4)
    thresholds = np.tile(DITHER, (rows // 4, cols // 2))
    canvas.pixels = np.nan_to_num(shares, nan=-1.0) > thresholds
    return canvas.render()


def _bar_labels(lines: int, lo: float, hi: float) -> dict[int, str]:
    """The value range beside the bar: hi on the top line, lo on the bottom one, the
    middle between when there is room."""
    labels = {lines - 1: _value_label(lo), 0: _value_label(hi)}  # one line: hi
    if lines >= 5 and lo != hi:
        labels.setdefault(lines // 2, _value_label((lo + hi) / 2))
    return labels


def _value_label(value: float) -> str:
    """The value in at most LABEL_WIDTH characters, with as many digits as fit (up to 6)."""
    for digits in range(6, 0, -1):
        mantissa, _, exponent = f"{value:.{digits}g}".partition("e")
        label = mantissa + (f"e{int(exponent)}" if exponent else "")
        if len(label) <= LABEL_WIDTH:
            return label
    return label
