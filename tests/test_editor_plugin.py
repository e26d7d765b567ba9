"""The plugin in real editors: Vim and Neovim drive bin/vime-rpc.

Each editor runs in a pseudo-terminal of its own, with its real screen, and
serves every scenario of the module (``Session``, fixture ``fresh``): keys are
typed into the terminal as a user types them, and a scenario script, sourced
by typed keys, reports as JSON what it observed: the screen (read back with
``screenstring()``, which both editors answer from their own grid), buffer
lines, names, options and the plugin's log.

Waiting is ``vime#job#wait``, which only sleeps so that the editor processes
channel messages and timers: nothing polls the backend. A missing editor is a
skip outside CI and a failure in CI.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import editor_or_skip

ROOT = Path(__file__).resolve().parent.parent
ROWS = 20_000
BIG_ROWS = 1_000_000
LINES, COLUMNS = 40, 140

EDITORS = {
    "vim": ["-Nu", "NONE", "-i", "NONE", "-n"],
    "nvim": ["-u", "NONE", "-i", "NONE", "-n"],
}


def editor_env(workdir: Path) -> dict:
    return {
        **os.environ,
        "VIME_PYTHON": sys.executable,
        "VIME_CONFIG": str(workdir / "config.json"),
    }


# -- an editor on a real screen ----------------------------------------------------

SESSION_PRELUDE = r"""
set runtimepath^={root}
set nomore noswapfile mouse=a shortmess+=F
if !has('nvim')
  set ttymouse=sgr
endif
runtime plugin/vime.vim
" Until the backend has answered everything and no timer is left.
function! Wait(...) abort
  let l:Done = a:0 ? a:1 : {{-> 1}}
  if !vime#job#wait(20000, {{-> !vime#job#status().pending && empty(timer_info()) && l:Done()}})
    throw 'timed out waiting'
  endif
endfunction
" Screen rows first..last (from 1), as drawn.
function! ScreenRows(first, last) abort
  redraw
  return ScreenText(a:first, a:last)
endfunction
" The same, as they are now (a message on the command line stays), and
" only their first columns when a width is given.
function! ScreenText(first, last, ...) abort
  let l:rows = []
  for l:row in range(a:first, a:last)
    let l:text = ''
    for l:col in range(1, a:0 ? a:1 : &columns)
      let l:text .= screenstring(l:row, l:col)
    endfor
    call add(l:rows, l:text)
  endfor
  return l:rows
endfunction
" Screen rows of the current window: [title, column header, first text row,
" status line of the header window]: a header window of two lines above the
" window, or (Neovim 0.8+) the winbar and the window's own status line.
function! TableRows() abort
  let l:top = win_screenpos(0)[0]
  if exists('+winbar') && !empty(&l:winbar)
    return [l:top + 1 + winheight(0), l:top, l:top + 1, 0]
  endif
  return [l:top - 3, l:top - 2, l:top, l:top - 1]
endfunction
" The current window on screen: a table's title and column header, its rows,
" and the screen row of the cursor.
function! View() abort
  let [l:title, l:header, l:top, l:status] = TableRows()
  let l:rows = ScreenRows(l:top, l:top + winheight(0) - 1)
  let l:Text = {{row -> row > 0 ? ScreenText(row, row)[0] : ''}}
  return {{'title': l:Text(l:title), 'header': l:Text(l:header), 'status': l:Text(l:status),
        \ 'rows': l:rows, 'top': l:top, 'cursor': l:top + winline() - 1,
        \ 'row': get(b:, 'vime_row', -1), 'loaded': get(get(b:, 'vime', {{}}), 'start', -1),
        \ 'height': winheight(0), 'scroll': &l:scroll,
        \ 'style': vime#job#header_style(), 'windows': winnr('$'), 'name': bufname('%')}}
endfunction
" The log since the scenario began.
function! Log() abort
  return vime#job#log()[g:log_start :]
endfunction
" What vime said in the scenario: every message it showed is in its log,
" also those that scripts sourced with :silent do not keep in :messages.
function! Said() abort
  return map(Log(), 'substitute(v:val, "^[0-9:]* ", "", "")')
endfunction
function! Lines() abort
  return getline(1, '$')
endfunction
function! BufLines(name) abort
  return getbufline(vime#buffer#find(a:name), 1, '$')
endfunction
let g:log_start = 0
" Back to one empty window, every buffer and option of a scenario gone.
function! Reset() abort
  silent! only!
  for l:bufnr in range(1, bufnr('$'))
    if bufexists(l:bufnr) && l:bufnr != bufnr('%')
      execute 'silent! bwipeout!' l:bufnr
    endif
  endfor
  enew!
  silent! bwipeout! #
  setlocal noscrollbind
  set cmdheight&
  call winrestview({{'leftcol': 0}})
  for l:name in ['vime_leader_keys', 'vime_open_results', 'vime_split', 'vime_rpc_command',
        \ 'vime_header', 'vime_col_count', 'vime_progress']
    execute 'unlet! g:' . l:name
  endfor
  call Wait()
  let g:log_start = len(vime#job#log())
endfunction
"""


class Session:
    """One editor in a pseudo-terminal of LINES x COLUMNS, driven by typed keys.

    The session's backend runs on ``sys.executable`` and keeps its column
    orders in the session's folder.
    """

    def __init__(self, name: str, executable: str, workdir: Path, root: Path = ROOT):
        self.name = name
        self.workdir = workdir
        self.scripts = 0
        init = workdir / "init.vim"
        init.write_text(SESSION_PRELUDE.format(root=root), encoding="utf-8")
        self.terminal, child = pty.openpty()
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        self.process = subprocess.Popen(
            [executable, *EDITORS[name], "-S", str(init)],
            stdin=child,
            stdout=child,
            stderr=child,
            cwd=workdir,
            env={**editor_env(workdir), "TERM": "xterm-256color"},
            start_new_session=True,
        )
        os.close(child)
        # What the editor writes to its terminal must be read, or it blocks.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            try:
                if not os.read(self.terminal, 65536):
                    return
            except OSError:
                return

    def keys(self, text: str) -> None:
        """Type keys into the editor's terminal."""
        os.write(self.terminal, text.encode())

    def run(self, body: str, timeout: float = 60) -> dict:
        """Source the script body (typed as a command); return what it stored in g:obs."""
        self.scripts += 1
        script = self.workdir / f"scenario-{self.scripts}.vim"
        out = self.workdir / f"scenario-{self.scripts}.json"
        script.write_text(
            "let g:obs = {}\ntry\n"
            + body
            + "\ncatch\n  let g:obs.error = v:exception . ' @ ' . v:throwpoint\nendtry\n"
            + "let g:obs.log = Log()\n"
            + f"call writefile([json_encode(g:obs)], '{out}.part')\n"
            + f"call rename('{out}.part', '{out}')\n",
            encoding="utf-8",
        )
        self.keys(f"\x1c\x0e:silent source {script}\r")
        self.wait_for_file(out, timeout)
        observed = json.loads(out.read_text(encoding="utf-8"))
        assert "error" not in observed, observed["error"] + "\nlog:\n" + "\n".join(observed["log"])
        return observed

    def view(self, keys: str = "") -> dict:
        """Type keys, wait until the editor is done with them, and read the window."""
        self.keys(keys)
        return self.run("call Wait()\nlet g:obs.view = View()")["view"]

    def wait_for_file(self, path: Path, timeout: float = 60) -> None:
        """Wait until the editor has written the file (a scenario's report)."""
        deadline = time.monotonic() + timeout
        while not path.exists():
            assert self.process.poll() is None, f"{self.name} exited"
            assert time.monotonic() < deadline, f"{self.name} did not write {path.name}"
            time.sleep(0.005)

    def close(self) -> None:
        self.keys("\x1c\x0e:qall!\r")
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self.terminal)


@pytest.fixture(scope="module", params=sorted(EDITORS))
def session(request, tmp_path_factory):
    name = request.param
    started = Session(name, editor_or_skip(name), tmp_path_factory.mktemp(f"session-{name}"))
    yield started
    started.close()


@pytest.fixture
def fresh(session):
    """The module's session, reset to one empty window."""
    session.run("call Reset()")
    return session


# -- data -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    """A pandas table (many rows), a fixed frame, a compound dataset and a 3-D cube."""
    import h5py
    import numpy as np
    import pandas as pd

    path = tmp_path_factory.mktemp("data") / "sample.h5"
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "v0": rng.normal(size=ROWS),
            "v1": np.linspace(0, 1, ROWS),
            "n": np.arange(ROWS, dtype="int64"),
            "flag": np.arange(ROWS) % 3 == 0,
            "label": [f"row {i}" for i in range(ROWS)],
        }
    )
    frame.to_hdf(path, key="big", format="table", data_columns=True)
    frame.iloc[:50].to_hdf(path, key="group/fixed", format="fixed")
    with h5py.File(path, "a") as f:
        f.attrs["title"] = "editor test file"
        hits = np.zeros(30, dtype=[("id", "i4"), ("energy", "f8")])
        hits["id"] = np.arange(30)
        f.create_dataset("events", data=hits)
        f.create_dataset("cube", data=np.arange(60, dtype="int32").reshape(3, 4, 5))
        # Wide: 4 rows of 5,000 columns; only a window of columns is drawn.
        f.create_dataset("wide", data=np.arange(4 * 5000, dtype="int64").reshape(4, 5000))
        # A million rows whose index (the row number) is all the test reads.
        f.create_dataset("million", data=np.zeros((BIG_ROWS, 2), dtype="int8"))
        f.create_dataset("empty", data=np.zeros((0, 3), dtype="float64"))
    return path


@pytest.fixture(scope="module")
def netcdf3_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("nc") / "classic.nc"
    path.write_bytes(b"CDF\x01" + bytes(range(256)) * 4)
    return path


def open_table(path: Path, table: str = "/big") -> str:
    return f"edit {path}\ncall Wait()\nVimeTable {table}\ncall Wait()\n"


def index_column(rows: list[str]) -> list[int | None]:
    """The first word of each screen row as a number (None when it is not one)."""
    words = [row.split()[0] if row.split() else "" for row in rows]
    return [int(word) if word.isdigit() else None for word in words]


def shown_range(title: str) -> tuple[int, int]:
    found = re.search(r"rows ([\d,]+)–([\d,]+)", title)
    assert found, title
    return int(found.group(1).replace(",", "")), int(found.group(2).replace(",", ""))


def assert_table_on_screen(view: dict, name: str = "/big") -> list[int]:
    """The title and the column header above consecutive rows; returns the rows' index."""
    title, header = view["title"], view["header"]
    assert title.startswith(name + "  ["), (title, header)
    assert header.strip(), "the column header"
    indexes = index_column(view["rows"])
    assert None not in indexes, view["rows"]
    assert indexes == list(range(indexes[0], indexes[0] + len(indexes))), indexes
    first, last = shown_range(title)
    assert (first, last) == (indexes[0] + 1, indexes[-1] + 1), (title, indexes)
    return indexes


# -- help -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EDITORS))
def test_help_tags_are_made_on_first_use_and_help_opens(name, tmp_path):
    plugin = tmp_path / "plugin-copy"
    for part in ("plugin", "autoload", "doc", "bin"):
        shutil.copytree(ROOT / part, plugin / part, ignore=shutil.ignore_patterns("tags"))
    stale = plugin / "doc" / "tags"
    stale.write_text("vime\tnowhere.txt\t/*vime*\n")
    os.utime(stale, (1, 1))  # older than doc/vime.txt: it is made again
    work = tmp_path / "work"
    work.mkdir()
    session = Session(name, editor_or_skip(name), work, root=plugin)
    try:
        observed = session.run(
            """
let g:obs.help = []
for s:topic in ['vime', ':VimePlot', 'vime-mappings', 'vime-leader-keys']
  execute 'help' s:topic
  let s:view = View()
  call add(g:obs.help, [fnamemodify(bufname('%'), ':t'), getline('.'),
        \\ s:view.rows[s:view.cursor - s:view.top]])
  helpclose
endfor
"""
        )
    finally:
        session.close()
    assert stale.read_text() != "vime\tnowhere.txt\t/*vime*\n"
    for topic, (buffer, line, on_screen) in zip(
        ["*vime*", "*:VimePlot*", "*vime-mappings*", "*vime-leader-keys*"],
        observed["help"],
        strict=True,
    ):
        assert buffer == "vime.txt"
        assert topic in line and topic.strip("*") in on_screen, (topic, line, on_screen)


# -- the header -------------------------------------------------------------------


def test_title_and_column_header_stay_on_screen(fresh, data_file):
    fresh.run(open_table(data_file))
    top = fresh.view()
    bottom = fresh.view("G")
    fresh.view("gg")
    fresh.run("call search('row 1\\>')")
    sideways = fresh.view("30zl")
    assert assert_table_on_screen(top)[0] == 0
    assert top["header"].split() == ["v0", "v1", "n", "flag", "label"]
    if top["style"] == "window":
        assert top["status"].strip() == str(data_file), "the header window's status line"
    assert assert_table_on_screen(bottom)[-1] == ROWS - 1
    assert "rows 19,9" in bottom["title"] and "20,000 rows x 5 cols" in bottom["title"]
    assert bottom["header"].split() == ["v0", "v1", "n", "flag", "label"]
    assert bottom["cursor"] == LINES - 2, "G: the last row on the window's last line"
    # Scrolled sideways, the header follows: 'label' sits above the labels.
    header, rows = sideways["header"], sideways["rows"]
    assert not header.startswith("       v0"), "the header scrolled"
    at = header.index("label")
    assert rows[1][at : at + 5] == "row 1", (header, rows[1])


def test_header_window_follows_its_table(fresh, data_file):
    fresh.run(open_table(data_file))
    layout = (
        "let g:obs.layout = map(range(1, winnr('$')), "
        "'[winheight(v:val), bufname(winbufnr(v:val))]')"
    )
    seen = {}
    for keys in ["", ":split\r", ":close\r", ":only\r", ":resize 10\r", "\x17=", ":below new\r",
                 "\x17p:close\r"]:  # fmt: skip
        fresh.keys(keys)
        seen[keys] = fresh.run("call Wait()\nlet g:obs.view = View()\n" + layout)
    for observed in seen.values():
        if observed["view"]["name"].endswith("//big"):
            assert_table_on_screen(observed["view"])
    table = f"vime://{data_file}//big"
    names = {keys: [name for _, name in observed["layout"]] for keys, observed in seen.items()}
    if seen[""]["view"]["style"] == "winbar":  # Neovim 0.8+: no header windows at all
        assert names[""] == [table] and names[":split\r"] == [table, table]
        assert names["\x17p:close\r"] == [""]
        return
    opened = seen[""]["layout"]
    assert opened == [[2, ""], [LINES - 5, table]], "a header window of two lines above the table"
    assert names[":split\r"] == ["", table, "", table], "each table window has one"
    assert seen[":close\r"]["layout"] == opened, "closing a table window closes its header"
    assert seen[":only\r"]["layout"] == opened, ":only keeps the table's header"
    assert seen[":resize 10\r"]["layout"][0] == [2, ""], "the header keeps its height"
    assert seen["\x17="]["layout"][0] == [2, ""]
    assert seen[":below new\r"]["layout"][0] == [2, ""]
    assert names["\x17p:close\r"] == [""], "no header is left behind"
    off = fresh.run("let g:vime_header = 0\nVimeTable /events\ncall Wait()\n" + layout)
    assert [name for _, name in off["layout"]] == [f"vime://{data_file}//events"]


# -- scrolling through the rows --------------------------------------------------


def test_keys_past_the_loaded_rows_load_the_next_ones(fresh, data_file):
    first = fresh.run(open_table(data_file) + "let g:obs.loaded = [b:vime.start, b:vime.stop]")
    assert first["loaded"] == [0, 3 * 100]
    views = {keys: fresh.view(keys) for keys in ["400j", "\x04", "3\x06", "300k", "\x15",
                                                 "3\x02", "gg"]}  # fmt: skip
    height = views["400j"]["height"]
    rows = {keys: assert_table_on_screen(view) for keys, view in views.items()}
    assert views["400j"]["row"] == 401 and views["400j"]["loaded"] > 0, "j loaded rows"
    cursor = views["400j"]["cursor"] - views["400j"]["top"]
    assert rows["400j"][cursor] == 400, "far, the cursor's row is shown mid-window, as in Vim"
    half = views["400j"]["scroll"]
    assert views["\x04"]["row"] == 401 + half and rows["\x04"][0] == rows["400j"][0] + half
    pages = 3 * (height - 2)
    assert rows["3\x06"][0] == rows["\x04"][0] + pages
    assert views["300k"]["row"] == views["3\x06"]["row"] - 300
    assert views["300k"]["loaded"] < views["3\x06"]["loaded"], "k loaded earlier rows"
    assert rows["\x15"][0] == rows["300k"][0] - half
    assert rows["3\x02"][0] == max(0, rows["\x15"][0] - pages)
    assert views["gg"]["row"] == 1 and rows["gg"][0] == 0


def test_held_j_across_loads_never_shows_a_blank_or_repeated_row(fresh, data_file):
    # j held down: a timer feeds a key every millisecond, so that the editor
    # draws, runs its callbacks and fires CursorMoved between keys. After each
    # move and each draw the screen is read and checked.
    done = fresh.workdir / "held-j.done"
    done.unlink(missing_ok=True)
    fresh.run(
        open_table(data_file, "/million")
        + f"""
VimeGoto 500000
call Wait()
let g:bad = []
let g:checks = 0
let g:fed = 0
let g:loads = vime#job#status().sent.table
function! Check() abort
  redraw
  let g:checks += 1
  let [l:title_row, l:header_row, l:top, l:status_row] = TableRows()
  let l:title = ScreenText(l:title_row, l:title_row, 60)[0]
  let l:rows = ScreenText(l:top, l:top + winheight(0) - 1, 8)
  let l:index = map(copy(l:rows), 'str2nr(matchstr(v:val, ''^\\s*\\zs\\d\\+\\ze\\s''))')
  let l:shown = matchlist(l:title, 'rows \\([0-9,]\\+\\)–\\([0-9,]\\+\\)')
  let l:shown = map(l:shown[1:2], 'str2nr(substitute(v:val, ",", "", "g"))')
  if l:index != range(l:index[0], l:index[0] + len(l:index) - 1)
        \\ || l:shown != [l:index[0] + 1, l:index[-1] + 1]
    call add(g:bad, [l:title, l:rows[0], l:rows[-1]])
  endif
endfunction
augroup held
  autocmd CursorMoved <buffer> call Check()
  autocmd User VimeDrawn call Check()
augroup END
function! Feed(timer) abort
  call feedkeys('j', 't')
  let g:fed += 1
  if g:fed == 400
    call timer_start(5, 'Settled', {{'repeat': -1}})
  endif
endfunction
function! Settled(timer) abort
  if b:vime_row == 500400 && !vime#job#status().pending
    call timer_stop(a:timer)
    call writefile([], '{done}')
  endif
endfunction
call timer_start(1, 'Feed', {{'repeat': 400}})
"""
    )
    fresh.wait_for_file(done)
    observed = fresh.run(
        """
autocmd! held
let g:obs.result = [g:checks, g:bad, b:vime_row, vime#job#status().sent.table - g:loads]
let g:obs.view = View()
"""
    )
    checks, bad, row, loads = observed["result"]
    assert bad == []
    assert row == 500_000 + 400
    assert checks >= 100, "the screen was read during the run"
    assert loads >= 2, "the run crossed loads of rows"
    assert assert_table_on_screen(observed["view"], "/million")[-1] == 500_399


def test_mouse_wheel_scrolls_past_the_loaded_rows(fresh, data_file):
    fresh.run(open_table(data_file))
    for _ in range(15):
        # 10 wheel turns (3 lines each) over the table, as xterm sends them.
        fresh.keys("\x1b[<65;20;15M" * 10)
        fresh.run("call Wait()")
    rows = assert_table_on_screen(fresh.view())
    assert rows[0] == 15 * 10 * 3, "every turn scrolled three rows, across two loads"


def test_rows_by_number_and_pages(fresh, data_file):
    fresh.run(open_table(data_file))
    observed = {}
    for keys in ["5G", ":12345\r", ":$\r", "gg", "]]", "2]]", "[[", "G", "[[ ", "]] "]:
        observed[keys] = fresh.view(keys)
    assert observed["5G"]["row"] == 5, "{count}G: the row, counted from 1"
    assert observed[":12345\r"]["row"] == 12345 and observed[":$\r"]["row"] == ROWS
    rows = {keys: assert_table_on_screen(view) for keys, view in observed.items()}
    assert rows["5G"][observed["5G"]["cursor"] - observed["5G"]["top"]] == 4
    assert observed["gg"]["row"] == 1
    line = observed["gg"]["cursor"]
    for keys, first in [("]]", 100), ("2]]", 300), ("[[", 200)]:
        assert rows[keys][0] == first, keys
        assert observed[keys]["cursor"] == line, f"{keys} keeps the screen line"
    assert rows["G"][-1] == ROWS - 1
    assert rows["[[ "][-1] == ROWS - 1 - 100
    assert observed["[[ "]["cursor"] == observed["G"]["cursor"]
    assert rows["]] "][-1] == ROWS - 1


def test_goto_takes_numbers_negatives_and_percents(fresh, data_file):
    observed = fresh.run(
        open_table(data_file)
        + """
let g:obs.rows = {}
for s:row in ['12,345', '1_000', '-1', '50%', '0', '99999999', '$']
  execute 'VimeGoto' s:row
  call Wait()
  let g:obs.rows[s:row] = [b:vime_row, View().rows]
endfor
"""
    )
    # Typed (so not :silent): the message is in the history; Neovim draws
    # messages on a grid of their own, which screenstring() does not read.
    fresh.keys(":VimeGoto abc\r")
    error = fresh.run("let g:obs.last = split(execute('messages'), '\\n')[-1]")["last"]
    rows = observed["rows"]
    expected = {"12,345": 12345, "1_000": 1000, "-1": ROWS, "50%": ROWS // 2, "0": 1,
                "99999999": ROWS, "$": ROWS}  # fmt: skip
    for text, row in expected.items():
        assert rows[text][0] == row, text
        assert row - 1 in index_column(rows[text][1]), f"row {row} is on screen"
    assert error.rstrip() == "vime: not a row: abc"


def test_keys_faster_than_the_rows_draw_once(fresh, data_file):
    observed = fresh.run(
        open_table(data_file)
        + """
let g:drawn = []
autocmd User VimeDrawn call add(g:drawn, [b:vime.ticket, line('w0') + b:vime.start])
let s:ticket = b:vime.ticket
call feedkeys('50]]100]]', 'xt')
call Wait()
let g:obs.drawn = g:drawn
let g:obs.first_ticket = s:ticket
let g:obs.view = View()
autocmd! User VimeDrawn
"""
    )
    drawn = observed["drawn"]
    tickets = [ticket for ticket, _ in drawn]
    assert tickets == sorted(set(tickets)), "no reply is drawn twice"
    assert observed["first_ticket"] + 1 not in tickets, "the superseded reply is not drawn"
    assert drawn[0][1] == 15000 + 1, "the first rows drawn are where the last key went"
    assert assert_table_on_screen(observed["view"])[0] == 15000


def test_cursor_stays_on_its_row_when_rows_are_reloaded(fresh, data_file):
    observed = fresh.run(
        open_table(data_file)
        + """
VimeGoto 7000
call Wait()
let g:obs.before = View()
normal R
call Wait()
let g:obs.after = View()
"""
    )
    before, after = observed["before"], observed["after"]
    assert after["row"] == before["row"] == 7000
    assert after["cursor"] == before["cursor"] and after["rows"] == before["rows"]


# -- columns -----------------------------------------------------------------------


def test_wide_dataset_draws_a_window_of_columns(fresh, data_file):
    observed = fresh.run(
        open_table(data_file, "/wide")
        + """
let g:obs.first = View()
let g:obs.window = [b:vime.col_start, b:vime.col_stop]
let g:obs.views = {}
for s:keys in ['zl', '3]c', '[c', 'zh']
  call feedkeys(s:keys, 'xt')
  call Wait()
  let g:obs.views[s:keys] = [View().title, View().header]
endfor
let g:obs.completion = vime#complete#columns('499', 'VimeColumns 4999 499', 20)
VimeColumns 4999 7 3
call Wait()
let g:obs.chosen = View()
"""
    )
    first = observed["first"]
    col_start, col_stop = observed["window"]
    assert col_start == 0 and 5 <= col_stop < 5000
    title, header = first["title"], first["header"]
    assert "[4 rows x 5,000 cols]" in title and f"columns 1–{col_stop} of 5,000" in title
    assert header.split() == [str(i) for i in range(col_stop)][: len(header.split())]
    assert first["rows"][1].split()[:3] == ["1", "5000", "5001"]
    views = observed["views"]
    assert views["zl"][1].split()[0] == "1" and "columns 2–" in views["zl"][0]
    assert views["3]c"][1].split()[0] == "4" and views["[c"][1].split()[0] == "3"
    assert views["zh"][1].split()[0] == "2"
    assert observed["completion"] == ["499"] + [str(n) for n in range(4990, 4999)]
    chosen = observed["chosen"]
    assert chosen["header"].split() == ["4999", "7", "3"]
    assert chosen["rows"][0].split() == ["0", "4999", "7", "3"]
    assert "[4 rows x 5,000 cols]" in chosen["title"]
    saved = json.loads((fresh.workdir / "config.json").read_text())
    entry = saved["tables"][str(data_file)]["/wide"]
    assert entry["order"][:3] == ["4999", "7", "3"] and len(entry["hidden"]) == 4997


def test_column_order_moves_and_survives_a_restart(fresh, data_file):
    observed = fresh.run(
        open_table(data_file)
        + """
call search('row 1\\>')
call cursor(line('.'), stridx(b:vime.header, ' n ') + 2)
normal <
call Wait()
let g:obs.moved = b:vime.header
let g:obs.cursor_word = expand('<cword>')
normal >
call Wait()
let g:obs.moved_back = b:vime.header
normal <
call Wait()
let g:obs.pid = vime#job#status().pid
VimeRestart
call Wait()
let g:obs.restarted = [vime#job#status().pid, View().header]
" The session's later scenarios see the table as it was.
call vime#request_sync(b:vime.path, 'columns',
      \\ {'name': '/big', 'order': ['v0', 'v1', 'n', 'flag', 'label']}, 5000)
"""
    )
    assert observed["moved"].split()[:5] == ["v0", "n", "v1", "flag", "label"]
    assert observed["cursor_word"] == "1", "the cursor stays on the moved column (n)"
    assert observed["moved_back"].split()[:5] == ["v0", "v1", "n", "flag", "label"]
    new_pid, header = observed["restarted"]
    assert new_pid != observed["pid"]
    assert header.split()[:5] == ["v0", "n", "v1", "flag", "label"]


# -- navigation -------------------------------------------------------------------


def test_minus_goes_back_to_the_list_on_the_table(fresh, data_file):
    observed = fresh.run(
        f"""
edit {data_file}
call Wait()
let g:obs.back = []
for s:view in ['VimeTable /events', 'VimeInfo /group/fixed', 'VimePlot v1']
  if s:view =~# 'Plot'
    VimeTable /big
    call Wait()
  endif
  execute s:view
  call Wait()
  call feedkeys('-', 'xt')
  call Wait()
  let s:view = View()
  call add(g:obs.back, [bufname('%'), s:view.rows[s:view.cursor - s:view.top],
        \\ vime#list#name_under_cursor()])
endfor
"""
    )
    list_name = f"vime://{data_file}"
    (table, table_line, _), (info, info_line, _), (plot, plot_line, _) = observed["back"]
    assert table == info == plot == list_name
    assert "/events" in table_line and "/group/fixed" in info_line and "/big" in plot_line


def test_a_finished_compute_keeps_the_list_cursor_and_offers_the_result(fresh, data_file):
    picked, first = f"kept_{fresh.name}", f"first_{fresh.name}"  # results persist: one each
    observed = fresh.run(
        f"""
edit {data_file}
call Wait()
call search('/group/fixed')
let g:obs.before = [line('.'), View().cursor]
VimeCompute source=/big query=n >= 19990 and flag name={picked}
call Wait({{-> match(getline(1, '$'), '/{picked}') >= 0}})
let g:obs.after = [line('.'), View().cursor, vime#list#name_under_cursor()]
let g:obs.lines = getline(1, '$')
let g:obs.said = Said()
let g:vime_open_results = 1
VimeCompute source=/big query=n < 3 name={first}
call Wait({{-> bufname('%') =~# '/{first}$'}})
call Wait()
let g:obs.opened = View()
"""
    )
    lines = observed["lines"]
    assert observed["after"][2] == "/group/fixed", "the cursor stays on its table"
    # The result is listed under /big, above /group/fixed: the cursor line moves with it.
    assert observed["after"][0] == observed["before"][0] + 1
    at = next(i for i, line in enumerate(lines) if f"/{picked}" in line)
    assert "3 × 5" in lines[at] and "computed" in lines[at]
    source = next(i for i, line in enumerate(lines) if line.split()[:1] == ["/big"])
    between = lines[source + 1 : at]
    assert source < at and all("/__computed__/" in line for line in between), (
        "a result is listed under its source table"
    )
    done = [line for line in observed["said"] if f"done: /__computed__/{picked}" in line]
    assert done and done[0].endswith(f":VimeTable /__computed__/{picked} opens it")
    opened = observed["opened"]
    assert opened["name"] == f"vime://{data_file}//__computed__/{first}"
    assert index_column(opened["rows"])[:3] == [0, 1, 2]


FAKE_BACKEND = r'''
"""A backend that keeps compute results as files: listings carry kind
"computed" and their source, and a new process lists the results again."""
import json
import sys
from pathlib import Path

saved = Path(sys.argv[1])
results = json.loads(saved.read_text()) if saved.exists() else []
tables = [
    {"name": name, "rows": 3, "cols": 1, "kind": "pandas-table", "shape": [3, 1]}
    for name in ("/a", "/b", "/c")
]


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def page(name):
    content = f"{name}  [3 rows x 1 cols]  rows 0–2\n\n   x\n 0  1\n 1  2\n 2  3"
    return {"ok": True, "name": name, "shape": [3, 1], "start": 0, "stop": 3,
            "col_start": 0, "col_stop": 1, "columns": ["x"], "dtypes": ["int64"],
            "content": content}


for line in sys.stdin:
    token, body = json.loads(line)
    method, params = body["method"], body.get("params", {})
    pushed = None
    if method == "ping":
        reply = {"ok": True, "version": "fake", "pid": 0, "python": "3", "executable": "fake",
                 "libraries": {name: "1" for name in ("numpy", "pandas", "h5py", "tables",
                                                      "tabulate", "hdf5plugin")}}
    elif method in ("open", "tables"):
        reply = {"ok": True, "path": params.get("path"), "attrs": {}, "tables": tables + results}
    elif method == "table":
        reply = page(params["name"])
    elif method == "compute_start":
        name = params["name"]
        results.append({"name": name, "rows": 1, "cols": 1, "kind": "computed", "shape": [1, 1],
                        "source": {"path": params["path"], "table": params["source"]},
                        "stale": False, "provenance": {"query": params.get("query", "")}})
        saved.write_text(json.dumps(results))
        reply = {"ok": True, "status": "running", "job": len(results)}
        pushed = {"method": "compute_done", "params": {"job": len(results), "status": "done",
                  "table": name, "rows": 1, "cols": 1, "elapsed": 0.0}}
    else:
        reply = {"ok": False, "error": f"fake backend: no {method}", "code": -32601}
    send([token, reply])
    if pushed:
        send([0, pushed])
    if method == "shutdown":
        break
'''


def test_results_sit_under_their_source_and_a_restart_keeps_them(fresh, tmp_path):
    backend = tmp_path / "fake_backend.py"
    backend.write_text(FAKE_BACKEND)
    data = tmp_path / "results.h5"
    data.write_bytes(b"")
    command = [sys.executable, str(backend), str(tmp_path / "results.json")]
    observed = fresh.run(
        f"""
let g:vime_rpc_command = {json.dumps(command)}
call vime#job#stop()
edit {data}
call Wait()
call search('/b')
VimeCompute source=/a query=x > 1 name=/__computed__/x_gt_1
call Wait({{-> match(getline(1, '$'), 'x_gt_1') >= 0}})
VimeCompute source=/a query=x > 2 name=/__computed__/x_gt_2
call Wait({{-> match(getline(1, '$'), 'x_gt_2') >= 0}})
let g:obs.list = View()
let g:obs.on = vime#list#name_under_cursor()
VimeRestart
call Wait({{-> match(Said(), 'restarted') >= 0}})
let g:obs.said = Said()
unlet g:vime_rpc_command
call vime#job#stop()
"""
    )
    names = [row.split()[0] for row in observed["list"]["rows"] if row.startswith("  /")]
    assert names == ["/a", "/__computed__/x_gt_1", "/__computed__/x_gt_2", "/b", "/c"]
    result = next(row for row in observed["list"]["rows"] if "x_gt_1" in row)
    assert "computed" in result and "query=x > 1" in result
    assert observed["on"] == "/b", "the cursor stays on its table"
    restarted = [line for line in observed["said"] if "restarted" in line]
    assert restarted[-1].endswith(
        "; computed tables kept: /__computed__/x_gt_1, /__computed__/x_gt_2"
    )


def test_restart_keeps_the_computed_tables_and_says_so(fresh, data_file):
    name = f"small_{fresh.name}"
    observed = fresh.run(
        open_table(data_file)
        + f"""
VimeCompute query=n < 5 name={name}
call Wait({{-> match(Said(), 'done: /__computed__/{name}') >= 0}})
VimeRestart
call Wait({{-> match(Said(), 'restarted') >= 0}})
let g:obs.said = Said()
"""
    )
    restarted = [line for line in observed["said"] if "restarted" in line][-1]
    kept = re.search(r"; computed tables kept: (.*)", restarted)
    assert kept and f"/__computed__/{name}" in kept.group(1).split(", "), restarted
    lost = re.search(r"; computed tables lost: ([^;]*) \(run", restarted)
    assert not lost or f"/__computed__/{name}" not in lost.group(1), restarted


def test_splits_follow_the_command_modifiers(fresh, data_file):
    observed = fresh.run(
        open_table(data_file)
        + """
let s:table = win_getid()
function! Place(winid) abort
  let [l:row, l:col] = win_screenpos(a:winid)
  return [l:row, l:col, winheight(a:winid), winwidth(a:winid), bufname(winbufnr(a:winid))]
endfunction
vertical VimePlot v1
call Wait()
let g:obs.vertical = [Place(win_getid()), Place(s:table)]
close
call win_gotoid(s:table)
botright VimePlot v0
call Wait()
let g:obs.botright = Place(win_getid())
close
call win_gotoid(s:table)
tab VimeInfo
call Wait()
let g:obs.tab = [tabpagenr('$'), tabpagenr(), bufname('%')]
tabclose
let g:vime_split = 'vertical'
VimeInfo
call Wait()
let g:obs.default = [Place(win_getid()), Place(s:table)]
"""
    )
    plot, table = observed["vertical"]
    assert plot[4] == f"vime-plot://{data_file}//big"
    assert table[1] + table[3] + 1 == plot[1] or plot[1] + plot[3] + 1 == table[1], "side by side"
    botright = observed["botright"]
    assert botright[1] == 1 and botright[3] == COLUMNS, "full width"
    assert botright[0] + botright[2] >= LINES - 2, "at the bottom"
    assert observed["tab"] == [2, 2, f"vime-info://{data_file}//big"]
    info, table = observed["default"]
    assert info[1] != table[1], "g:vime_split is the default place: beside the table"


def test_leader_keys_are_opt_in_and_go_through_the_plug_maps(fresh, data_file):
    observed = fresh.run(
        open_table(data_file)
        + """
let g:obs.without = maparg(',i', 'n')
nmap <C-k> <Plug>(vime-info)
let g:vime_leader_keys = 1
VimeTable /group/fixed
call Wait()
let g:obs.maps = {}
for s:key in ['p', 'pv', 'ph', 'i', 'c', 'r', 'b', 'h', 'q']
  let g:obs.maps[s:key] = maparg(',' . s:key, 'n')
endfor
nunmap <C-k>
"""
    )
    assert observed["without"] == ""
    maps = observed["maps"]
    assert maps.pop("i") == "", "an action the user mapped keeps only the user's keys"
    assert maps == {
        "p": "<Plug>(vime-plot)",
        "pv": "<Plug>(vime-plot-vertical)",
        "ph": "<Plug>(vime-plot-horizontal)",
        "c": "<Plug>(vime-compute)",
        "r": "<Plug>(vime-refresh)",
        "b": "<Plug>(vime-list)",
        "h": "<Plug>(vime-help)",
        "q": "<Plug>(vime-close-view)",
    }
    fresh.run("call Reset()\nlet g:vime_leader_keys = 1\n" + open_table(data_file))
    fresh.keys(",pv")
    fresh.keys("v1\r")
    plot = fresh.run("call Wait()\nlet g:obs.plot = [bufname('%'), winwidth(0) < &columns]")
    assert plot["plot"] == [f"vime-plot://{data_file}//big", True]
    fresh.keys(",q")
    fresh.keys(",b")
    back = fresh.run("call Wait()\nlet g:obs.back = [bufname('%'), vime#list#name_under_cursor()]")
    assert back["back"] == [f"vime://{data_file}", "/big"]
    fresh.keys(",h")
    helped = fresh.run("let g:obs.help = [fnamemodify(bufname('%'), ':t'), getline('.')]")
    assert helped["help"][0] == "vime.txt" and "*vime-list*" in helped["help"][1]


# -- lists, pages, views and the backend -------------------------------------------


def test_edit_lists_the_tables_in_a_vime_buffer(fresh, data_file):
    observed = fresh.run(
        f"""
autocmd User VimeDrawn let g:obs.drawn = get(g:obs, 'drawn', []) + [g:vime_drawn.kind]
edit {data_file}
call Wait()
let g:obs.name = bufname('%')
let g:obs.lines = Lines()
let g:obs.options = [&buftype, &modifiable, &swapfile, &filetype, &buflisted]
let g:obs.buffers = map(filter(range(1, bufnr('$')), 'buflisted(v:val)'), 'bufname(v:val)')
let g:obs.under_cursor = vime#list#name_under_cursor()
let g:obs.completion = vime#complete#tables('/gr', 'VimeTable /gr', 13)
let g:obs.syntax = exists('b:current_syntax') ? b:current_syntax : ''
normal i
call Wait()
let g:obs.info = [bufname('%'), winnr('$')]
close
execute "normal pv1 n scatter\\<CR>"
call Wait()
let g:obs.plot = [bufname('%'), getline(1)]
autocmd! User VimeDrawn
"""
    )
    assert observed["name"] == f"vime://{data_file}"
    assert observed["buffers"] == [f"vime://{data_file}"], "the file's own buffer is gone"
    text = "\n".join(observed["lines"])
    assert observed["lines"][0].startswith(str(data_file))
    assert "@title = editor test file" in text
    assert any("/big" in line and "20,000 × 5" in line and "pandas-table" in line
               for line in observed["lines"])  # fmt: skip
    assert any("/group/fixed" in line and "pandas-fixed" in line for line in observed["lines"])
    assert any("/events" in line and "compound" in line for line in observed["lines"])
    assert any("/cube" in line and "shape 3×4×5" in line for line in observed["lines"])
    assert observed["options"] == ["nofile", 0, 0, "vime", 1]
    assert observed["under_cursor"] == "/big", "the cursor starts on the first table"
    assert observed["completion"] == ["/group/fixed"]
    assert observed["syntax"] == "vime"
    assert observed["drawn"] == ["list", "info", "plot"]
    assert observed["info"] == [f"vime-info://{data_file}//big", 2], "i: info of the table"
    assert observed["plot"] == [f"vime-plot://{data_file}//big", "Plot: v1 vs n  (/big)"]


def test_enter_opens_a_table_a_window_of_rows(fresh, data_file):
    observed = fresh.run(
        f"""
edit {data_file}
call Wait()
call search('/group/fixed')
execute "normal \\<CR>"
call Wait()
let g:obs.fixed = [bufname('%'), b:vime.title]
VimeTable /big
call Wait()
let g:obs.first = [b:vime.title, b:vime.header, Lines()]
VimeTable /empty
call Wait()
normal Gjk
call Wait()
let g:obs.empty = View()
"""
    )
    assert observed["fixed"][0] == f"vime://{data_file}//group/fixed"
    assert observed["fixed"][1].startswith("/group/fixed")
    title, header, lines = observed["first"]
    assert title.startswith("/big") and "20,000 rows" in title
    assert header.split() == ["v0", "v1", "n", "flag", "label"]
    assert len(lines) == 300, "three pages of rows"
    assert [line.split()[0] for line in lines] == [str(n) for n in range(300)]
    empty = observed["empty"]
    assert empty["title"].startswith("/empty  [0 rows x 3 cols]  no rows")
    assert empty["rows"][0].strip() == "(no rows)" and empty["row"] == 0


def test_open_command_reload_and_planes_of_a_cube(fresh, data_file):
    observed = fresh.run(
        f"""
cd {data_file.parent}
VimeOpen {data_file.name}
call Wait()
let g:obs.name = bufname('%')
VimeTable /big
call Wait()
VimeGoto 5000
call Wait()
edit!
call Wait()
let g:obs.reloaded = b:vime_row
cd -
VimeTable cube
call Wait()
VimePlane 2
call Wait()
let g:obs.plane = [b:vime.title, getline(1)]
VimePlane 9
call Wait()
let g:obs.kept = [b:vime.title, b:vime.plane]
"""
    )
    assert observed["name"] == f"vime://{data_file}"
    assert observed["reloaded"] == 5000, ":edit! keeps the row"
    title, first_row = observed["plane"]
    assert "plane [2]" in title and first_row.split() == ["0", "40", "41", "42", "43", "44"]
    assert observed["kept"] == [title, [2]], "a bad plane keeps the one on screen"
    assert any("plane index 9" in line for line in observed["log"])


def test_plot_opens_a_split_sized_to_the_window(fresh, data_file):
    observed = fresh.run(
        open_table(data_file)
        + """
let g:obs.columns = vime#complete#plot('v', 'VimePlot v', 10)
VimePlot v1 n
call Wait()
let g:obs.plot = [bufname('%'), winwidth(0), winheight(0), &filetype]
let g:obs.lines = Lines()
"""
    )
    assert observed["columns"] == ["v0", "v1"]
    name, width, height, filetype = observed["plot"]
    assert name == f"vime-plot://{data_file}//big" and filetype == "vime"
    lines = observed["lines"]
    assert lines[0].startswith("Plot: v1 vs n")
    assert any("\u2800" < ch <= "\u28ff" for line in lines for ch in line)
    assert len(lines) <= height and max(len(line) for line in lines) <= width


def test_compute_notification_adds_the_table_to_the_list(fresh, data_file):
    name = f"picked_{fresh.name}"  # results persist: the other editor's run made its own
    observed = fresh.run(
        f"""
edit {data_file}
call Wait()
let g:obs.list = bufname('%')
VimeTable /big
call Wait()
VimeCompute query=n >= 19990 and flag name={name}
call Wait({{-> match(BufLines(g:obs.list), '/{name}') >= 0}})
let g:obs.lines = BufLines(g:obs.list)
let g:obs.sent = vime#job#status().sent
VimeTable /__computed__/{name}
call Wait()
let g:obs.table = Lines()
"""
    )
    picked = [line for line in observed["lines"] if f"/{name}" in line]
    assert picked and "3 × 5" in picked[0] and "computed" in picked[0]
    assert "compute_status" not in observed["sent"], "completion is pushed, never polled"
    assert any(f"done: /__computed__/{name}" in line for line in observed["log"])
    assert [line.split()[0] for line in observed["table"]] == [
        str(n) for n in range(19990, 20000) if n % 3 == 0
    ]


def test_netcdf3_file_gives_one_clear_error(fresh, netcdf3_file):
    observed = fresh.run(
        f"""
edit {netcdf3_file}
call Wait()
let g:obs.lines = Lines()
let g:obs.name = bufname('%')
"""
    )
    assert observed["name"] == f"vime://{netcdf3_file}"
    assert len(observed["lines"]) == 1
    assert observed["lines"][0].startswith("vime: ") and "NetCDF-3" in observed["lines"][0]
    errors = [line for line in observed["log"] if "vime: " in line]
    assert len(errors) == 1 and "NetCDF-3" in errors[0]


def test_backend_killed_is_reported_once_and_the_next_command_restarts_it(fresh, data_file):
    observed = fresh.run(
        open_table(data_file)
        + """
let g:obs.pid = vime#job#status().pid
call system('kill -9 ' . g:obs.pid)
call Wait({-> !vime#job#status().running})
VimeGoto 1000
call Wait()
let g:obs.after = [vime#job#status().pid, b:vime_row, getline('.')]
"""
    )
    new_pid, row, line = observed["after"]
    assert new_pid not in (0, observed["pid"])
    assert row == 1000 and line.split()[0] == "999"
    exited = [line for line in observed["log"] if "backend exited" in line]
    assert len(exited) == 1 and "next command restarts it" in exited[0]


def test_info_export_status_log_and_close(fresh, data_file):
    exported = fresh.workdir / "out.csv"
    exported.unlink(missing_ok=True)
    observed = fresh.run(
        open_table(data_file)
        + f"""
normal K
call Wait()
let g:obs.info = [bufname('%'), Lines()]
wincmd p
VimeExport {exported}
call Wait()
VimeExport {exported}
call Wait()
VimeStatus
VimeLog
let g:obs.log_view = [bufname('%'), line('$') > 1]
wincmd p
VimeClose
let g:obs.after_close = map(filter(range(1, bufnr('$')), 'bufexists(v:val)'), 'bufname(v:val)')
close
"""
    )
    name, lines = observed["info"]
    assert name == f"vime-info://{data_file}//big"
    text = "\n".join(lines)
    assert "v0" in text and "label" in text and "20000" in text.replace(",", "")
    assert exported.read_text().count("\n") == ROWS + 1
    refused = [line for line in observed["log"] if "vime: " in line and "out.csv" in line]
    assert refused and "exist" in refused[-1], "a second export does not overwrite"
    assert any("backend pid" in line and "request(s) sent" in line for line in observed["log"])
    assert observed["log_view"] == ["vime-log", True]
    assert not [name for name in observed["after_close"] if str(data_file) in name]


def test_missing_python_package_says_how_to_install(fresh, data_file):
    # A Python without site-packages: the backend starts, but has no numpy.
    bare = fresh.workdir / "bare-python"
    bare.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    bare.chmod(0o755)
    observed = fresh.run(
        f"""
call vime#job#stop()
let $VIME_PYTHON = '{bare}'
edit {data_file}
call Wait()
let g:obs.lines = Lines()
call vime#job#stop()
let $VIME_PYTHON = '{sys.executable}'
"""
    )
    missing = [line for line in observed["log"] if "missing Python package" in line]
    assert missing and "numpy" in missing[0] and "pandas" in missing[0]
    assert "bin/vime-env" in missing[0] and "pip install" in missing[0]
    assert observed["lines"][0].startswith("vime: ") and "No module named" in observed["lines"][0]


def test_compute_arguments_parse_to_params(fresh):
    observed = fresh.run(
        r"""
let g:obs.query = vime#compute#parse('v0 > 3 and flag')
let g:obs.pairs = vime#compute#parse(
      \ 'query=v0 > 3 assign=power=v0 * v1; half=n / 2 groupby=flag,label '
      \ . 'agg=v0:mean,v0:max,n:sum descending limit=5 name=/x')
let g:obs.json = vime#compute#parse('source=/big assign={"a": "v0 == 1"}')
let g:vime_progress = 'statusline'
call vime#compute#on_progress({'job': 3, 'rows_done': 500000, 'rows_total': 1000000,
      \ 'elapsed': 1.5})
let g:obs.progress = vime#statusline()
"""
    )
    assert observed["progress"] == "vime: compute 3 50% (500,000/1,000,000 rows, 1.5 s)"
    assert observed["query"] == {"query": "v0 > 3 and flag"}
    assert observed["pairs"] == {
        "query": "v0 > 3",
        "assign": {"power": "v0 * v1", "half": "n / 2"},
        "groupby": ["flag", "label"],
        "agg": {"v0": ["mean", "max"], "n": ["sum"]},
        "descending": True,
        "limit": 5,
        "name": "/x",
    }
    assert observed["json"] == {"source": "/big", "assign": {"a": "v0 == 1"}}


def test_slice_command_pages_a_numpy_slice_and_keeps_the_view_on_errors(fresh, data_file):
    observed = fresh.run(
        open_table(data_file, "/cube")
        + """
VimeSlice [1, :, 2:4]
call Wait()
let g:obs.sliced = [b:vime.title, b:vime.header, getline(1), getline(4), b:vime.slice]
VimeSlice [-1, ::-2, 0]
call Wait()
let g:obs.column = [b:vime.title, b:vime.header, getline(1), getline(2)]
VimeSlice [9, :, :]
call Wait()
let g:obs.kept = [b:vime.title, b:vime.slice]
VimeSlice
call Wait()
let g:obs.whole = b:vime.title
"""
    )
    title, header, first, last, kept_slice = observed["sliced"]
    assert "[4 rows x 2 cols]" in title and title.endswith("slice [1, :, 2:4]")
    assert header.split() == ["0", "1"] and first.split() == ["0", "22", "23"]
    assert last.split() == ["3", "37", "38"] and kept_slice == "[1, :, 2:4]"
    title, header, first, second = observed["column"]
    assert title.endswith("slice [2, 3::-2, 0]") and header.split() == ["cube"]
    assert first.split() == ["0", "55"] and second.split() == ["1", "45"]
    assert observed["kept"] == [title, "[-1, ::-2, 0]"], "a bad slice keeps the one on screen"
    assert any("index 9 is out of range on axis 0" in line for line in observed["log"])
    assert "slice" not in observed["whole"] and "plane [0]" in observed["whole"]


# -- the commands around the editor ---------------------------------------------


def test_vime_demo_opens_the_given_file_and_writes_no_demo(tmp_path):
    record = tmp_path / "editor-args"
    stub = tmp_path / "stub-editor"
    stub.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    stub.chmod(0o755)
    mine = tmp_path / "my data.h5"
    mine.write_bytes(b"")
    cache = tmp_path / "cache"
    env = {**os.environ, "VIME_EDITOR": str(stub), "XDG_CACHE_HOME": str(cache)}
    subprocess.run([ROOT / "bin" / "vime-demo", str(mine)], env=env, check=True, timeout=120)
    assert record.read_text().splitlines()[-1] == str(mine)
    assert not (cache / "vime" / "vime-demo.h5").exists(), "no demo file for a given FILE"
    assert (ROOT / "doc" / "tags").stat().st_mtime >= (ROOT / "doc" / "vime.txt").stat().st_mtime
    assert "vime-leader-keys\tvime.txt\t" in (ROOT / "doc" / "tags").read_text()


def test_readme_and_help_say_how_to_use_vime_and_what_is_tested():
    readme = (ROOT / "README.md").read_text()
    help_text = (ROOT / "doc" / "vime.txt").read_text()
    using = readme.index("## Using vime")
    assert using < readme.index("## The protocol")
    section = readme[using : readme.index("## ", using + 3)]
    for key in ["<CR>", "`-`", "`G`", ":VimeGoto", ":VimePlot", ":VimeCompute", ":VimeExport",
                ":help vime"]:  # fmt: skip
        assert key in section, key
    for text in (readme, help_text):
        assert "Vim 9.0" in text and "Neovim 0.7.2" in text
