"""The `plot` method: through the handler, and through the bin/vime-rpc subprocess."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

from tests.frametable import FrameState, FrameTable
from vime.errors import InvalidParams, NoSuchColumn, PlotFailed
from vime.handlers import plot as handler
from vime.heatmap import heat_matrix
from vime.plot import braille_plot
from vime.state import State

WIDTH, HEIGHT = 40, 10


def canvas_of(result: dict) -> list[str]:
    """The plot below the title line and the blank line."""
    title, blank, *lines = result["content"].split("\n")
    assert title.startswith("Plot: ") and blank == ""
    return lines


# -- through the handler ---------------------------------------------------------


class CountingTable(FrameTable):
    """An in-memory table that records every chunk it hands out."""

    def __init__(self, name, frame):
        super().__init__(name, frame)
        self.chunk_sizes: list[int] = []

    def chunks(self, columns=None, start=0, stop=None, chunk_rows=1_000_000, plane=None):
        for chunk in super().chunks(columns, start, stop, chunk_rows, plane):
            self.chunk_sizes.append(len(chunk))
            yield chunk


@pytest.fixture
def walk():
    rng = np.random.default_rng(7)
    y = np.cumsum(rng.normal(size=1000))
    y[613] = 80.0  # a one-row spike
    y[[5, 77]] = np.nan
    return pd.DataFrame({"t": np.arange(1000) * 0.5, "y": y, "z": -y})


def state_with(table) -> FrameState:
    return FrameState(table)


def test_a_sorted_x_is_plotted_in_one_pass_equal_to_the_in_memory_plot(walk, monkeypatch):
    monkeypatch.setattr(handler, "CHUNK_ROWS", 64)
    monkeypatch.setattr(handler, "KEEP_ROWS", 100)
    table = CountingTable("walk", walk)
    state = state_with(table)
    progress = []
    state.progress = lambda done, total, unit: progress.append((done, total, unit))
    params = {"name": "walk", "x": "t", "y": "y", "width": WIDTH, "height": HEIGHT}
    result = handler.plot(state, params)
    assert canvas_of(result) == braille_plot(
        walk["t"], walk["y"], width=WIDTH, height=HEIGHT, x_name="t", y_name="y"
    )
    # The first and the last x alone, then one pass: never the whole column at once.
    assert table.chunk_sizes == [1, 1] + [64] * 15 + [40]
    assert progress == [(min(64 * n, 1000), 1000, "rows") for n in range(1, 17)]
    assert (result["points"], result["dropped"]) == (998, 2)
    top_row = canvas_of(result)[1].split("│")[-1]
    assert len(top_row.replace("⠀", "")) == 1  # the one-row spike reaches the top


def test_an_unsorted_x_reads_the_ranges_then_draws(walk, monkeypatch):
    monkeypatch.setattr(handler, "CHUNK_ROWS", 64)
    monkeypatch.setattr(handler, "KEEP_ROWS", 100)
    shuffled = walk.sample(frac=1, random_state=3).reset_index(drop=True)
    table = CountingTable("walk", shuffled)
    state = state_with(table)
    progress = []
    state.progress = lambda done, total, unit: progress.append((done, total))
    params = {"name": "walk", "x": "t", "y": "y", "width": WIDTH, "height": HEIGHT}
    result = handler.plot(state, params)
    assert canvas_of(result) == braille_plot(
        walk["t"], walk["y"], width=WIDTH, height=HEIGHT, x_name="t", y_name="y"
    )
    assert table.chunk_sizes == [1, 1] + ([64] * 15 + [40]) * 2
    assert progress[15:17] == [(1000, 1000), (1064, 2000)]  # the second pass doubles the total
    assert progress[-1] == (2000, 2000)


def test_a_line_against_row_numbers_takes_one_pass(walk, monkeypatch):
    monkeypatch.setattr(handler, "CHUNK_ROWS", 300)
    monkeypatch.setattr(handler, "KEEP_ROWS", 100)
    table = CountingTable("walk", walk)
    result = handler.plot(state_with(table), {"name": "walk", "y": ["y", "z"]})
    assert table.chunk_sizes == [300, 300, 300, 100]
    assert canvas_of(result) == braille_plot(None, [walk["y"], walk["z"]], y_name=["y", "z"])


def test_a_short_range_is_read_once(walk, monkeypatch):
    monkeypatch.setattr(handler, "CHUNK_ROWS", 64)
    table = CountingTable("walk", walk)
    handler.plot(state_with(table), {"name": "walk", "y": "y", "start": 100, "stop": 300})
    assert table.chunk_sizes == [64, 64, 64, 8]


def test_row_numbers_count_from_start(walk):
    table = FrameTable("walk", walk)
    result = handler.plot(state_with(table), {"name": "walk", "y": "z", "start": 500})
    labels = [int(word) for word in canvas_of(result)[-1].split()[:-1]]
    assert labels[0] >= 500 and labels == sorted(labels)
    assert result["points"] == 500


def test_result_fields_and_title(walk):
    state = state_with(FrameTable("walk", walk))
    result = handler.plot(state, {"name": "walk", "x": "t", "y": ["y", "z"]})
    assert result["content"].startswith("Plot: y, z vs t  (walk)\n\n")
    assert (result["x"], result["y"]) == ("t", ["y", "z"])
    assert (result["points"], result["dropped"]) == (1996, 4)
    hist = handler.plot(state, {"name": "walk", "y": "y", "type": "hist", "bins": 12})
    assert hist["content"].startswith("Plot: count vs y  (walk)\n\n")
    assert (hist["x"], hist["y"]) == ("y", "count")


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"y": "nope"}, NoSuchColumn, "no column 'nope'"),
        ({"y": 7}, NoSuchColumn, "no column at position 7"),
        ({"x": "t"}, InvalidParams, "missing param 'y'"),
        ({"y": "y", "cols": ["t", "y"]}, InvalidParams, "either 'cols' or 'x'/'y'"),
        ({"cols": ["t", "y", "z"]}, InvalidParams, "'cols' must be [x, y]"),
        ({"y": ["y", "z"], "type": "hist"}, InvalidParams, "takes one column"),
        ({"y": "y", "bins": 5}, InvalidParams, "only for type 'hist'"),
        ({"y": "y", "type": "pie"}, InvalidParams, "param 'type' must be one of"),
        ({"y": "y", "width": 5000}, InvalidParams, "'width' must be <= 1000"),
        ({"y": "y", "height": 1}, InvalidParams, "'height' must be >= 4"),
        ({"y": "y", "start": 2000}, PlotFailed, "start 2000 is past the end (the table has 1000"),
        ({"y": "y", "start": 9, "stop": 3}, PlotFailed, "start 9 and stop 3 select no rows"),
    ],
)
def test_bad_requests(walk, params, error, message):
    with pytest.raises(error, match=re.escape(message)):
        handler.plot(state_with(FrameTable("walk", walk)), {"name": "walk", **params})


# -- through the subprocess --------------------------------------------------------


@pytest.fixture
def opened(shared_rpc, pandas_file):
    return shared_rpc.opened(pandas_file)


def test_plot_a_column_against_row_numbers(opened):
    result = opened.call("plot", name="/data", y="v0", width=WIDTH, height=HEIGHT)
    assert result["ok"], result
    assert result["content"].startswith("Plot: v0 vs row  (/data)\n\n")
    lines = canvas_of(result)
    assert len(lines) == HEIGHT and all(len(line) == WIDTH for line in lines)
    assert (result["x"], result["y"], result["points"], result["dropped"]) == ("row", "v0", 1000, 0)
    assert re.search("[⠁-⣿]", "".join(lines))


def test_default_size_is_72_by_20(opened):
    lines = canvas_of(opened.call("plot", name="/data", y="v1"))
    assert len(lines) == 20 and {len(line) for line in lines} == {72}


def test_name_defaults_to_the_table_paged_last(opened):
    assert opened.call("table", name="/group/fixed")["ok"]
    result = opened.call("plot", y="v1", width=WIDTH, height=HEIGHT)
    assert result["ok"], result
    assert result["content"].startswith("Plot: v1 vs row  (/group/fixed)")
    assert result["points"] == 100


def test_columns_by_name_position_and_the_seed_cols_form(opened):
    by_name = opened.call("plot", name="/data", x="n", y="v1", width=WIDTH, height=HEIGHT)
    by_position = opened.call("plot", name="/data", x=2, y=1, width=WIDTH, height=HEIGHT)
    seed_form = opened.call("plot", name="/data", cols=[2, "v1"], width=WIDTH, height=HEIGHT)
    assert by_name["ok"] and by_name["content"].startswith("Plot: v1 vs n  (/data)")
    assert by_position == by_name == seed_form


def test_overlay_scatter_and_hist(opened):
    overlay = opened.call("plot", name="/data", y=["v0", "v1"], width=WIDTH, height=HEIGHT)
    assert overlay["ok"] and overlay["y"] == ["v0", "v1"] and overlay["points"] == 2000
    assert canvas_of(overlay)[0].startswith("v0, v1")
    scatter = opened.call(
        "plot", name="/data", x="v0", y="v1", type="scatter", width=WIDTH, height=HEIGHT
    )
    assert scatter["ok"] and scatter["content"].startswith("Plot: v1 vs v0  (/data)")
    assert canvas_of(scatter) != canvas_of(
        opened.call("plot", name="/data", x="v0", y="v1", width=WIDTH, height=HEIGHT)
    )
    hist = opened.call("plot", name="/data", y="v0", type="hist", bins=8, height=HEIGHT)
    assert hist["ok"] and (hist["x"], hist["y"]) == ("v0", "count")
    assert canvas_of(hist)[0].startswith("count")


def test_start_and_stop_select_rows(opened):
    result = opened.call("plot", name="/data", y="n", start=100, stop=300, width=WIDTH)
    assert result["ok"] and result["points"] == 200
    y_labels = [int(line.split("┤")[0]) for line in canvas_of(result) if "┤" in line]
    assert min(y_labels) >= 100 and max(y_labels) <= 299


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"y": "label"}, -32010, ["'label'", "not numeric"]),
        ({"y": "nope"}, -32004, ["'nope'", "v0, v1, n"]),
        ({"y": 9}, -32004, ["position 9"]),
        ({"y": "v0", "start": 5, "stop": 5}, -32010, ["select no rows"]),
        ({"y": "v0", "type": "pie"}, -32602, ["type"]),
        ({"y": "v0", "colour": "red"}, -32602, ["colour"]),
        ({"x": "v0"}, -32602, ["'y'"]),
    ],
)
def test_plot_errors_name_the_problem(opened, params, code, words):
    result = opened.call("plot", name="/data", **params)
    assert result["ok"] is False and result["code"] == code, result
    assert all(word in result["error"] for word in words), result["error"]


@pytest.fixture
def odd_file(tmp_path):
    """Columns that exercise the data checks: NaN/Inf, all-NaN, constant, dates, flags."""
    rows = 200
    values = np.sin(np.arange(rows) / 10.0)
    values[[3, 4]] = np.nan
    values[10] = np.inf
    frame = pd.DataFrame(
        {
            "when": pd.date_range("2024-01-01", periods=rows, freq="h"),
            "holes": values,
            "empty": np.full(rows, np.nan),
            "same": np.full(rows, 4.5),
            "flag": np.arange(rows) % 3 == 0,
        }
    )
    path = tmp_path / "odd.h5"
    frame.to_hdf(path, key="odd", format="table")
    return path


@pytest.fixture
def odd(shared_rpc, odd_file):
    return shared_rpc.opened(odd_file)


def test_nan_and_inf_pairs_are_dropped_and_counted(odd):
    result = odd.call("plot", name="/odd", y="holes", width=WIDTH, height=HEIGHT)
    assert result["ok"] and (result["points"], result["dropped"]) == (197, 3)


def test_an_all_nan_column_fails(odd):
    result = odd.call("plot", name="/odd", y="empty")
    assert result["ok"] is False and result["code"] == -32010
    assert "'empty'" in result["error"] and "no finite values" in result["error"]


def test_a_constant_column_is_a_flat_line_in_the_middle_with_its_value(odd):
    result = odd.call("plot", name="/odd", y="same", width=WIDTH, height=HEIGHT)
    assert result["ok"], result
    lines = canvas_of(result)
    flat = [i for i, line in enumerate(lines) if "⠤" in line]
    assert len(flat) == 1 and lines[flat[0]].startswith("4.5┤")
    assert set(lines[flat[0]].split("┤")[1]) == {"⠤"}
    assert flat[0] in ((HEIGHT - 3) // 2, (HEIGHT - 3) // 2 + 1)  # the middle row
    assert (result["points"], result["dropped"]) == (200, 0)


def test_a_datetime_x_axis_shows_dates(odd):
    result = odd.call("plot", name="/odd", x="when", y="holes", width=72, height=HEIGHT)
    assert result["ok"], result
    dates = re.findall(r"2024-01-\d{2}", canvas_of(result)[-1])
    assert len(dates) >= 2 and dates == sorted(dates)


def test_a_boolean_column_plots_as_zero_and_one(odd):
    result = odd.call("plot", name="/odd", y="flag", type="scatter", width=WIDTH, height=HEIGHT)
    assert result["ok"], result
    y_labels = [line.split("┤")[0].strip() for line in canvas_of(result) if "┤" in line]
    assert y_labels == ["1", "0"]


# -- log axes, colours, the index, planes ----------------------------------------------


def y_labels(result: dict) -> list[str]:
    return [line.split("┤")[0].strip() for line in canvas_of(result) if "┤" in line]


def x_labels(result: dict) -> list[str]:
    return canvas_of(result)[-1].split()[:-1]  # the last word is the axis name


def test_log_axes_have_powers_of_ten_and_count_what_they_drop(opened, pandas_file):
    result = opened.call("plot", name="/data", y="n", logy=True, width=WIDTH, height=HEIGHT)
    assert result["ok"], result
    assert result["content"].startswith("Plot: n vs row  (/data)  dropped 1 ≤ 0\n")
    assert (result["points"], result["dropped"], result["nonpositive"]) == (999, 1, 1)
    assert y_labels(result) == ["100", "10", "1"]
    result = opened.call("plot", name="/data", x="n", y="v1", logx=True, logy=True, width=60)
    assert result["ok"], result
    v1 = pd.read_hdf(pandas_file, "data")["v1"]
    dropped = int(((v1 <= 0) | (v1.index == 0)).sum())  # n is the row number: n = 0 too
    assert (result["nonpositive"], result["dropped"]) == (dropped, dropped)
    assert f"dropped {dropped} ≤ 0" in result["content"].split("\n")[0]
    assert x_labels(result) == ["1", "10", "100"]


def test_log_of_dates_is_refused(odd):
    result = odd.call("plot", name="/odd", x="when", y="holes", logx=True)
    assert result["ok"] is False and result["code"] == -32602
    assert "logx" in result["error"] and "'when' holds dates" in result["error"]


def test_overlaid_series_come_with_the_cells_each_one_owns(opened):
    result = opened.call("plot", name="/data", y=["n", "v1"], width=WIDTH, height=HEIGHT)
    assert result["ok"], result
    lines = result["content"].split("\n")
    spans = result["spans"]
    assert spans[:2] == [
        {"series": 1, "line": 2, "col_start": 0, "col_end": 1},
        {"series": 2, "line": 2, "col_start": 3, "col_end": 5},
    ]
    assert lines[2][0:1] == "n" and lines[2][3:5] == "v1"
    cells = spans[2:]
    assert {span["series"] for span in cells} == {0, 1, 2}
    covered = set()
    for span in cells:
        text = lines[span["line"]][span["col_start"] : span["col_end"]]
        assert text and all("⠁" <= char <= "⣿" for char in text), span
        covered |= {(span["line"], col) for col in range(span["col_start"], span["col_end"])}
    lit = {
        (row, col)
        for row, line in enumerate(lines[3:-2], 3)
        for col, char in enumerate(line)
        if "⠁" <= char <= "⣿"
    }
    assert covered == lit  # every lit cell, and only those, belongs to a series or to several
    for earlier, later in itertools.pairwise(cells):  # coalesced, in reading order
        assert (earlier["line"], earlier["col_end"]) <= (later["line"], later["col_start"])
        if earlier["line"] == later["line"] and earlier["col_end"] == later["col_start"]:
            assert earlier["series"] != later["series"]


@pytest.fixture
def timed_file(tmp_path):
    """A pandas table indexed by hourly times, and one indexed by days."""
    path = tmp_path / "timed.h5"
    hours = pd.date_range("2024-03-01", periods=72, freq="h", name="time")
    frame = pd.DataFrame({"level": np.sin(np.arange(72) / 6)}, index=hours)
    frame.to_hdf(path, key="hourly", format="table")
    days = pd.date_range("2023-01-01", periods=600, freq="D", name="day")
    pd.DataFrame({"level": np.arange(600.0)}, index=days).to_hdf(path, key="daily", format="table")
    return path


def test_the_index_is_an_x_axis_with_calendar_ticks(shared_rpc, timed_file):
    shared_rpc.opened(timed_file)
    result = shared_rpc.call("plot", name="/hourly", x="index", y="level", width=72, height=HEIGHT)
    assert result["ok"], result
    assert result["x"] == "index" and result["content"].startswith("Plot: level vs index")
    assert x_labels(result) == ["2024-03-01", "2024-03-02", "2024-03-03"]  # days at midnight
    result = shared_rpc.call("plot", name="/hourly", x="index", y="level", width=150, height=HEIGHT)
    labels = " ".join(x_labels(result))
    assert labels == (
        "2024-03-01 00:00 12:00 2024-03-02 00:00 12:00 2024-03-03 00:00 12:00"
    )  # the date where it changes
    result = shared_rpc.call("plot", name="/daily", x="index", y="level", width=72, height=HEIGHT)
    labels = canvas_of(result)[-1].split()[:-1]
    assert labels and all(re.fullmatch(r"\d{4}-(01|04|07|10)", label) for label in labels)


def test_an_index_level_is_named_by_its_name(walk):
    walk = walk.set_index(pd.date_range("2024-01-01", periods=1000, freq="min", name="time"))
    table = FrameTable("walk", walk)
    table.index_names = ["time"]
    state = state_with(table)
    by_name = handler.plot(state, {"name": "walk", "x": "time", "y": "y"})
    as_index = handler.plot(state, {"name": "walk", "x": "index", "y": "y"})
    assert canvas_of(by_name)[:-1] == canvas_of(as_index)[:-1]
    assert by_name["x"] == "time" and "2024-01-01" in canvas_of(by_name)[-1]
    with pytest.raises(NoSuchColumn, match="no column 'when'"):
        handler.plot(state, {"name": "walk", "x": "when", "y": "y"})


@pytest.fixture
def cube_file(tmp_path):
    import h5py

    path = tmp_path / "cube.h5"
    with h5py.File(path, "w") as handle:
        handle["cube"] = np.arange(60, dtype="int32").reshape(3, 4, 5)
    return path


def test_a_plane_of_a_cube_plots_its_columns(shared_rpc, cube_file):
    shared_rpc.opened(cube_file)
    result = shared_rpc.call("plot", name="/cube", y="2", plane=[1], width=WIDTH, height=HEIGHT)
    assert result["ok"], result
    assert result["content"].startswith("Plot: 2 vs row  (/cube plane [1])")
    assert result["points"] == 4  # cube[1, :, 2] = 22, 27, 32, 37
    labels = [float(label) for label in y_labels(result)]
    assert min(labels) >= 22 and max(labels) <= 37
    result = shared_rpc.call("plot", name="/cube", y="2", plane=[7])
    assert result["ok"] is False and result["code"] == -32602 and "plane" in result["error"]


# -- heatmaps ---------------------------------------------------------------------------


@pytest.fixture
def heat_file(tmp_path):
    """A cube, a large float32 plane and a pandas table with a text column."""
    import h5py

    path = tmp_path / "heat.h5"
    rng = np.random.default_rng(8)
    with h5py.File(path, "w") as handle:
        handle["cube"] = np.arange(3 * 40 * 60, dtype="float32").reshape(3, 40, 60)
        handle["big"] = rng.random((1500, 1200), dtype=np.float32)
    frame = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000)})
    frame.to_hdf(path, key="pairs", format="table")
    frame.assign(label="x").to_hdf(path, key="labelled", format="table")
    return path


@pytest.fixture
def heat(shared_rpc, heat_file):
    return shared_rpc.opened(heat_file)


HALVES = {"▀", "▄"}


def check_cells(result: dict) -> list[str]:
    """Every half block is in exactly one coloured run; runs name palette levels."""
    lines = result["content"].split("\n")
    palette = result["palette"]
    assert len(palette) == 32
    assert all(
        re.fullmatch("#[0-9a-f]{6}", text) and 16 <= number <= 255 for text, number in palette
    )
    covered = set()
    for line, start, end, fg, bg in result["cells"]:
        assert set(lines[line][start:end]) <= HALVES, (line, start, end)
        assert 0 <= fg < 32 and -1 <= bg < 32
        cells = {(line, col) for col in range(start, end)}
        assert not covered & cells
        covered |= cells
    blocks = {
        (n, col) for n, text in enumerate(lines) for col, char in enumerate(text) if char in HALVES
    }
    assert covered == blocks
    return lines


def test_heat_of_a_plane_comes_with_its_colours(heat):
    result = heat.call("plot", name="/cube", type="heat", plane=[1], width=60, height=14)
    assert result["ok"], result
    lines = check_cells(result)
    assert lines[0] == "Plot: heat, mean per cell  (/cube plane [1])"
    assert (result["x"], result["y"], result["reduce"]) == ("column", "row", "mean")
    assert (result["points"], result["dropped"]) == (2400, 0)
    low, high = result["range"]
    assert 2400 <= low < 2500 and 4700 < high <= 4799  # plane 1 holds 2400..4799
    levels = {(line, start): fg for line, start, end, fg, bg in result["cells"]}
    first_line = min(line for line, _ in levels)
    assert levels[(first_line, 3)] < 4  # the top left is the low end of the colour bar
    bar_column = max(start for line, start, end, fg, bg in result["cells"])
    bar = [cell for cell in result["cells"] if cell[1] == bar_column]
    assert len(bar) == 11 and all(lines[line][start:end] == "▀▀" for line, start, end, *_ in bar)
    assert bar[0][3] == 31 and bar[-1][4] == 0  # from the top level down to the bottom one
    # The bar's labels: the range of the cells (means), not of the values read.
    assert lines[bar[0][0]].split()[-1] == heat_label(high)
    assert lines[bar[-1][0]].split()[-1] == heat_label(low)


def heat_label(value: float) -> str:
    from vime.heatmap import _value_label

    return _value_label(value)


def test_heat_reduces_a_large_plane_by_mean_or_by_max(heat, heat_file):
    import h5py

    with h5py.File(heat_file, "r") as handle:
        peak = float(handle["big"][()].max())
    by_max = heat.call("plot", name="/big", type="heat", reduce="max", width=80, height=24)
    by_mean = heat.call("plot", name="/big", type="heat", width=80, height=24)
    assert by_max["ok"] and by_mean["ok"]
    assert by_max["range"][1] == pytest.approx(peak)
    assert by_mean["range"][1] < by_max["range"][0]  # means of ~800 values sit near 0.5
    assert by_max["content"].startswith("Plot: heat, max per cell  (/big)")
    check_cells(by_max)


def test_a_large_plane_is_read_once_in_row_chunks_without_dataframes(heat_file, monkeypatch):
    monkeypatch.setattr(handler, "HEAT_CHUNK_BYTES", 1200 * 4 * 100)  # 100 rows a read
    state = State()
    state.open(str(heat_file))
    table = state.table("/big")
    reads = []
    raw = table.raw

    def counting_raw(start, stop, plane=None, out=None):
        reads.append((start, stop))
        return raw(start, stop, plane, out=out)

    monkeypatch.setattr(table, "raw", counting_raw)
    monkeypatch.setattr(table, "mapped_rows", unmapped)  # the path of compressed planes
    monkeypatch.setattr(table, "page", lambda *args, **kwargs: pytest.fail("a DataFrame page"))
    progress = []
    state.progress = lambda done, total, unit: progress.append((done, total, unit))
    result = handler.plot(state, {"name": "/big", "type": "heat", "width": 80, "height": 24})
    assert reads[0] == (0, 1)  # the probe: a plain float32 array
    assert reads[1:] == [(start, start + 100) for start in range(0, 1500, 100)]
    assert progress == [(start + 100, 1500, "rows") for start in range(0, 1500, 100)]
    assert result["points"] == 1500 * 1200


def unmapped(start, stop, plane=None):
    """Table.mapped_rows of a plane not stored as it is (compressed, remote...)."""
    return None


def test_a_plane_stored_as_it_is_is_reduced_in_place_with_no_read(tmp_path, monkeypatch):
    """An uncompressed plane in chunks of whole rows: blocks are its bytes in the file,
    one chunk each, in order; nothing is copied into a buffer."""
    path = tmp_path / "chunked.h5"
    plane = chunked_plane(path, 300, 50, 64)
    state = State()
    state.open(str(path))
    table = state.table("/plane")
    blocks, mapped_rows = [], table.mapped_rows

    def counting_mapped(start, stop, plane=None):
        for block in mapped_rows(start, stop, plane):
            blocks.append(len(block))
            yield block

    def probe_only(start, stop, plane=None, out=None):
        """The one-row probe MatrixReader reads to learn the stored type, no more."""
        assert out is None and stop - start == 1, "a copying read"
        return type(table).raw(table, start, stop, plane)

    monkeypatch.setattr(table, "mapped_rows", counting_mapped)
    monkeypatch.setattr(table, "raw", probe_only)
    params = {"name": "/plane", "type": "heat", "start": 100, "width": 60, "height": 14}
    result = handler.plot(state, params)
    assert blocks == [28, 64, 64, 44]  # rows 100..127, the chunks of 64, then 256..299
    whole = heat_matrix(lambda: [plane[100:]], rows=200, cols=50, first_row=100,
                        width=60, height=14)  # fmt: skip
    assert result["content"].split("\n")[2:] == whole.lines
    assert result["range"] == list(whole.value_range)


def chunked_plane(path, rows: int, cols: int, chunk_rows: int) -> np.ndarray:
    """A float32 plane stored in chunks of whole rows, written to ``path``; returned."""
    import h5py

    plane = np.random.default_rng(rows).normal(size=(rows, cols)).astype(np.float32)
    with h5py.File(path, "w") as handle:
        handle.create_dataset("plane", data=plane, chunks=(chunk_rows, cols))
    return plane


@pytest.mark.parametrize(
    ("chunk_rows", "start", "reads"),
    [
        (64, 0, [(0, 128), (128, 256), (256, 300)]),  # 150 rows a read: whole chunks of 64
        (64, 100, [(100, 128), (128, 256), (256, 300)]),  # cut where the chunks are
        (256, 0, [(0, 150), (150, 300)]),  # a chunk bigger than a read
    ],
)
def test_a_chunked_plane_is_read_in_whole_chunks_into_one_buffer(
    tmp_path, monkeypatch, chunk_rows, start, reads
):
    path = tmp_path / "chunked.h5"
    plane = chunked_plane(path, 300, 50, chunk_rows)
    monkeypatch.setattr(handler, "HEAT_CHUNK_BYTES", 50 * 4 * 150)
    state = State()
    state.open(str(path))
    table = state.table("/plane")
    seen, buffers = [], set()
    raw = table.raw

    def counting_raw(first, last, plane=None, out=None):
        if out is not None:
            seen.append((first, last))
            buffers.add(id(out.base))
        return raw(first, last, plane, out=out)

    monkeypatch.setattr(table, "raw", counting_raw)
    monkeypatch.setattr(table, "mapped_rows", unmapped)  # the path of compressed planes
    params = {"name": "/plane", "type": "heat", "start": start, "width": 60, "height": 14}
    result = handler.plot(state, params)
    assert seen == reads and len(buffers) == 1
    whole = heat_matrix(lambda: [plane[start:]], rows=300 - start, cols=50, first_row=start,
                        width=60, height=14)  # fmt: skip
    assert result["content"].split("\n")[2:] == whole.lines
    assert result["range"] == list(whole.value_range)


def test_a_plane_of_small_integers_is_read_in_blocks_sized_as_they_are_summed(
    tmp_path, monkeypatch
):
    """int16 is summed in float64: 150 rows of 8-byte values a read, not 600 of 2."""
    import h5py

    path = tmp_path / "counts.h5"
    plane = np.random.default_rng(5).integers(-1000, 1000, size=(300, 50), dtype=np.int16)
    with h5py.File(path, "w") as handle:
        handle.create_dataset("plane", data=plane, chunks=(64, 50))
    monkeypatch.setattr(handler, "HEAT_CHUNK_BYTES", 50 * 8 * 150)
    state = State()
    state.open(str(path))
    table = state.table("/plane")
    seen, raw = [], table.raw

    def counting_raw(first, last, plane=None, out=None):
        if out is not None:
            seen.append((first, last))
        return raw(first, last, plane, out=out)

    monkeypatch.setattr(table, "raw", counting_raw)
    monkeypatch.setattr(table, "mapped_rows", unmapped)  # the path of compressed planes
    result = handler.plot(state, {"name": "/plane", "type": "heat", "width": 60, "height": 14})
    assert seen == [(0, 128), (128, 256), (256, 300)]  # whole chunks of 64 rows
    whole = heat_matrix(lambda: [plane], rows=300, cols=50, width=60, height=14)
    assert result["content"].split("\n")[2:] == whole.lines


def test_heat_of_a_plane_read_in_two_chunks_equals_the_plane_drawn_at_once(shared_rpc, tmp_path):
    """Through the worker: 2,100 x 2,099 float32 (over 16 MB: two reads), NaN and
    infinities in the second read only, 2,099 columns in cells of uneven widths."""
    path = tmp_path / "wide.h5"
    plane = chunked_plane(path, 2100, 2099, 256)
    import h5py

    with h5py.File(path, "a") as handle:
        handle["plane"][2000:2010, 100:900] = np.nan
        handle["plane"][2050, :3] = [np.inf, -np.inf, np.nan]
        plane = handle["plane"][()]
    for reduce in ("mean", "max"):
        result = shared_rpc.opened(path).call(
            "plot", name="/plane", type="heat", reduce=reduce, width=72, height=20
        )
        assert result["ok"], result
        whole = heat_matrix(lambda: [plane], rows=2100, cols=2099, reduce=reduce)
        assert result["content"].split("\n")[2:] == whole.lines
        assert result["cells"] == [[line + 2, *rest] for line, *rest in whole.cells]
        assert result["range"] == list(whole.value_range)
        assert (result["points"], result["dropped"]) == (2100 * 2099 - 8003, 8003)


def test_heat_of_two_columns_is_their_histogram(heat):
    result = heat.call("plot", name="/pairs", type="heat", x="a", y="b", width=50, height=12)
    assert result["ok"], result
    check_cells(result)
    assert result["content"].startswith("Plot: heat of counts, b vs a  (/pairs)")
    assert (result["x"], result["y"], result["points"], result["dropped"]) == ("a", "b", 3000, 0)
    assert result["range"][0] >= 1 and "reduce" not in result


def test_heat_without_colour_is_braille_dot_density(heat):
    result = heat.call("plot", name="/cube", type="heat", color=False, width=60, height=14)
    assert result["ok"], result
    assert result["cells"] == [] and result["palette"] == []
    assert "no colour: dot density" in result["content"].split("\n")[0]
    body = "".join(result["content"].split("\n")[2:])
    assert not set(body) & HALVES and re.search("[⠁-⣿]", body)


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"type": "heat", "x": "a"}, -32602, ["'heat' takes no columns"]),
        ({"type": "heat", "x": "a", "y": ["a", "b"]}, -32602, ["one 'x' and one 'y'"]),
        ({"type": "heat", "logx": True}, -32602, ["'logx'", "not for type 'heat'"]),
        ({"type": "line", "y": "a", "reduce": "max"}, -32602, ["'reduce' is only for"]),
        ({"type": "heat", "reduce": "median"}, -32602, ["reduce", "mean, max"]),
        ({"type": "heat", "width": 12}, -32602, ["width of at least"]),
        ({"type": "heat", "name": "/labelled"}, -32010, ["'label'", "not numeric"]),
    ],
)
def test_bad_heat_requests_name_the_problem(heat, params, code, words):
    result = heat.call("plot", **{"name": "/pairs", **params})
    assert result["ok"] is False and result["code"] == code, result
    assert all(word in result["error"] for word in words), result["error"]


def test_timezone_aware_times_and_nullable_numbers_plot_as_wall_clock_and_floats():
    times = pd.date_range("2024-06-01 22:00", periods=48, freq="h", tz="Europe/Paris")
    counts = pd.array([1, None, *range(3, 49)], dtype="Int64")
    frame = pd.DataFrame({"n": counts}, index=times.rename("time"))
    result = handler.plot(
        state_with(FrameTable("tz", frame)), {"name": "tz", "x": "index", "y": "n"}
    )
    assert (result["points"], result["dropped"]) == (47, 1)
    assert x_labels(result)[0] == "2024-06-02"  # wall-clock midnight, not UTC's


def test_a_kept_range_holds_its_columns_not_the_blocks_they_were_read_from(tmp_path):
    """A pandas table's column comes as a view of its block's field (here six columns):
    the range kept for a second pass holds the plotted column's values alone."""
    path = tmp_path / "blocks.h5"
    frame = pd.DataFrame({f"v{i}": np.arange(1000) * (i + 1.5) for i in range(6)})
    frame.to_hdf(path, key="data", format="table")
    state = State()
    state.open(str(path))
    table = state.table("/data")
    reader = handler.ChunkReader(state, table, ["v1"], 0, 1000, ())
    read = np.concatenate([chunk["v1"] for chunk in reader.chunks()])
    assert read.tolist() == (np.arange(1000) * 2.5).tolist()
    kept = [chunk["v1"] for chunk in reader.kept]
    held = sum((values if values.base is None else values.base).nbytes for values in kept)
    assert held == 1000 * 8
