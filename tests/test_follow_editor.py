"""Following a file another program writes, in real Vim and Neovim.

A writer subprocess (tests/livewriters.py) appends rows; the editor shows them
without a key press: :VimeFollow keeps a table's last rows in view, :VimePlot
... follow draws the last rows again, and the list marks the tables that grew.
The scenario scripts wait inside the editor (``vime#job#wait`` only sleeps so
that the editor reads its channel) for what the screen must come to show.
"""

from __future__ import annotations

import pytest

from tests import livewriters as lw
from tests import test_editor_plugin as editor
from tests.test_editor_plugin import open_table

session, fresh = editor.session, editor.fresh  # one editor per module, as there

WAIT_MS = 30000


@pytest.fixture
def writer(tmp_path):
    started = lw.LiveWriter("swmr", tmp_path / "growing.h5", rows=1000)
    yield started
    started.kill()


def until(condition: str) -> str:
    """A script line that waits, key-less, until the editor's condition holds."""
    return (f"if !vime#job#wait({WAIT_MS}, {{-> {condition}}})\n"
            f"  throw 'timed out waiting for: ' . {condition!r}\nendif\n")  # fmt: skip


def row_numbers(rows: list[str]) -> list[int]:
    return [int(row.split()[0]) for row in rows if row.split() and row.split()[0].isdigit()]


def test_follow_shows_the_newest_rows_without_a_key_press(fresh, writer):
    opened = open_table(writer.path, "/x") + "VimeFollow\ncall Wait()\n"
    fresh.run(opened + until("b:vime_row == 1000"))
    writer.append(500)
    followed = fresh.run(until("b:vime.rows == 1500 && b:vime_row == 1500")
                         + "call Wait()\nlet g:obs.view = View()\n"
                         + "let g:obs.following = vime#follow#following(bufnr('%'))")  # fmt: skip
    view = followed["view"]
    shown = row_numbers(view["rows"])
    assert shown[-1] == 1499, view["rows"]
    assert view["rows"][-1].split() == ["1499", "749.5"]
    assert view["cursor"] == view["top"] + view["height"] - 1, "the last row on the last line"
    assert "following · +500 rows" in view["title"] and " s ago" in view["title"], view
    assert "1,500 rows" in view["title"]
    assert followed["following"] == 1

    writer.append(20)
    again = fresh.run(until("b:vime_row == 1520") + "call Wait()\nlet g:obs.view = View()")
    assert row_numbers(again["view"]["rows"])[-1] == 1519
    assert "following · +20 rows" in again["view"]["title"]

    fresh.keys("5k")
    writer.append(30)
    moved = fresh.run(until("!vime#follow#following(bufnr('%'))")
                      + "call Wait()\nlet g:obs.view = View()")  # fmt: skip
    assert moved["view"]["row"] == 1515, "a motion away from the end stops following"
    assert "following" not in moved["view"]["title"]

    toggled = fresh.run("VimeFollow\ncall Wait()\n" + until("b:vime_row == 1550")
                        + "let g:obs.on = vime#follow#following(bufnr('%'))\n"
                        + "VimeFollow!\ncall Wait()\n"
                        + "let g:obs.off = vime#follow#following(bufnr('%'))")  # fmt: skip
    assert (toggled["on"], toggled["off"]) == (1, 0)
    assert any("stopped following /x" in line for line in toggled["log"])


def test_plot_follow_draws_the_last_rows_as_they_arrive(fresh, writer):
    observed = fresh.run(
        open_table(writer.path, "/x")
        + "let g:vime_follow_rows = 300\nVimePlot x follow\ncall Wait()\n"
        + until("get(b:vime.request, 'stop', 0) == 1000")
        + "let g:obs.first = [b:vime.request.start, b:vime.request.stop, getline(1)]"
    )
    assert observed["first"][:2] == [700, 1000]
    assert observed["first"][2].startswith("Plot: x vs row")
    writer.append(400)
    observe = "call Wait()\nlet g:obs.request = b:vime.request\nlet g:obs.lines = Lines()"
    redrawn = fresh.run(until("get(b:vime.request, 'stop', 0) == 1400") + observe)
    assert (redrawn["request"]["start"], redrawn["request"]["stop"]) == (1100, 1400)
    assert any("\u2800" < ch <= "\u28ff" for line in redrawn["lines"] for ch in line)
    axis = redrawn["lines"][-1]
    assert "1100" in axis.replace(",", "") or "1200" in axis.replace(",", ""), redrawn["lines"]


def test_the_list_says_the_file_is_written_and_marks_tables_that_grew(fresh, writer):
    first = fresh.run(f"edit {writer.path}\ncall Wait()\nlet g:obs.lines = Lines()")
    assert "  being written (SWMR): :VimeFollow in a table follows it" in first["lines"]
    assert not any("rows)" in line for line in first["lines"]), first["lines"]
    writer.append(250)
    grown = fresh.run(until("!empty(filter(Lines(), 'v:val =~# \"+250 rows\"'))")
                      + "call Wait()\nlet g:obs.lines = Lines()")  # fmt: skip
    marked = {line.split()[0]: line for line in grown["lines"] if line.startswith("  /")}
    assert "1,250 × 1" in marked["/x"] and marked["/x"].endswith("(+250 rows)"), marked
    assert marked["/m"].endswith("(+250 rows)"), marked
