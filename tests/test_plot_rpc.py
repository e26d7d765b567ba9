"""The `plot` method: through the handler, and through the bin/vime-rpc subprocess."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tests.frametable import FrameState, FrameTable
from vime.errors import InvalidParams, NoSuchColumn, PlotFailed
from vime.handlers import plot as handler
from vime.plot import braille_plot

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


def test_streamed_plot_equals_the_in_memory_plot(walk, monkeypatch):
    monkeypatch.setattr(handler, "CHUNK_ROWS", 64)
    monkeypatch.setattr(handler, "KEEP_ROWS", 100)
    table = CountingTable("walk", walk)
    params = {"name": "walk", "x": "t", "y": "y", "width": WIDTH, "height": HEIGHT}
    result = handler.plot(state_with(table), params)
    assert canvas_of(result) == braille_plot(
        walk["t"], walk["y"], width=WIDTH, height=HEIGHT, x_name="t", y_name="y"
    )
    assert max(table.chunk_sizes) == 64  # never the whole column at once
    assert sum(table.chunk_sizes) == 2 * len(walk)  # a pass for the ranges, one to draw
    assert (result["points"], result["dropped"]) == (998, 2)
    top_row = canvas_of(result)[1].split("│")[-1]
    assert len(top_row.replace("⠀", "")) == 1  # the one-row spike reaches the top


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
def opened(rpc, pandas_file):
    return rpc.opened(pandas_file)


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
def odd(rpc, odd_file):
    return rpc.opened(odd_file)


def test_nan_and_inf_pairs_are_dropped_and_counted(odd):
    result = odd.call("plot", name="/odd", y="holes", width=WIDTH, height=HEIGHT)
    assert result["ok"] and (result["points"], result["dropped"]) == (197, 3)


@pytest.mark.parametrize(
    ("column", "words"),
    [("empty", ["'empty'", "no finite values"]), ("same", ["'same'", "constant", "4.5"])],
)
def test_all_nan_and_constant_columns_fail(odd, column, words):
    result = odd.call("plot", name="/odd", y=column)
    assert result["ok"] is False and result["code"] == -32010
    assert all(word in result["error"] for word in words), result["error"]


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
