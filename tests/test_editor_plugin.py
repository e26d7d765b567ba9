"""The plugin in real editors: Vim (-es) and Neovim (--headless) drive bin/vime-rpc.

Each test writes a Vim script, runs it in a fresh headless editor with the
plugin on the runtimepath, and reads back what the script observed (buffer
lines, names, options, messages) as JSON. Waiting is ``vime#job#wait``, which
only sleeps so that the editor processes channel messages: nothing polls the
backend. A missing editor is a skip outside CI and a failure in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import editor_or_skip

ROOT = Path(__file__).resolve().parent.parent
ROWS = 20_000

EDITORS = {
    "vim": ["-Nu", "NONE", "-i", "NONE", "-es"],
    "nvim": ["--headless", "-u", "NONE", "-i", "NONE", "-n"],
}

PRELUDE = r"""
set runtimepath^={root}
set columns=160 lines=50 nomore
runtime plugin/vime.vim
let g:obs = {{}}
function! Wait(...) abort
  let l:done = a:0 ? vime#job#wait(20000, a:1) : vime#job#wait(20000)
  if !l:done
    throw 'timed out waiting'
  endif
endfunction
function! Lines() abort
  return getline(1, '$')
endfunction
function! BufLines(name) abort
  return getbufline(vime#buffer#find(a:name), 1, '$')
endfunction
try
"""

EPILOGUE = r"""
catch
  let g:obs.error = v:exception . ' @ ' . v:throwpoint
endtry
let g:obs.log = vime#job#log()
call writefile([json_encode(g:obs)], '{out}')
qall!
"""


class Editor:
    def __init__(self, name: str, executable: str, workdir: Path):
        self.name = name
        self.executable = executable
        self.workdir = workdir

    def run(self, body: str, timeout: float = 90) -> dict:
        """Run the script body in a fresh editor; return what it stored in g:obs."""
        out = self.workdir / "observed.json"
        out.unlink(missing_ok=True)
        script = self.workdir / "script.vim"
        script.write_text(
            PRELUDE.format(root=ROOT) + body + EPILOGUE.format(out=out), encoding="utf-8"
        )
        env = {
            **os.environ,
            "VIME_PYTHON": sys.executable,
            "VIME_CONFIG": str(self.workdir / "config.json"),
        }
        done = subprocess.run(
            [self.executable, *EDITORS[self.name], "-S", str(script)],
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
        )
        assert out.exists(), f"{self.name} wrote nothing (exit {done.returncode}): {done.stderr!r}"
        observed = json.loads(out.read_text(encoding="utf-8"))
        assert "error" not in observed, observed["error"] + "\nlog:\n" + "\n".join(observed["log"])
        return observed


@pytest.fixture(params=sorted(EDITORS))
def editor(request, tmp_path):
    return Editor(request.param, editor_or_skip(request.param), tmp_path)


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
    return path


@pytest.fixture(scope="module")
def netcdf3_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("nc") / "classic.nc"
    path.write_bytes(b"CDF\x01" + bytes(range(256)) * 4)
    return path


def open_table(path: Path, table: str = "/big") -> str:
    return f"edit {path}\ncall Wait()\nVimeTable {table}\ncall Wait()\n"


def test_edit_lists_the_tables_in_a_vime_buffer(editor, data_file):
    observed = editor.run(
        f"""
autocmd User VimeDrawn let g:obs.drawn = get(g:obs, 'drawn', []) + [g:vime_drawn.kind]
edit {data_file}
call Wait()
let g:obs.name = bufname('%')
let g:obs.lines = Lines()
let g:obs.options = [&buftype, &modifiable, &swapfile, &filetype, &buflisted]
let g:obs.buffers = map(filter(range(1, bufnr('$')), 'bufexists(v:val)'), 'bufname(v:val)')
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


def test_enter_opens_a_table_and_pages_to_the_last_page(editor, data_file):
    observed = editor.run(
        f"""
edit {data_file}
call Wait()
call search('/group/fixed')
execute "normal \\<CR>"
call Wait()
let g:obs.fixed = [bufname('%'), getline(1)]
VimeTable /big
call Wait()
let g:obs.first = Lines()
normal G
call Wait()
let g:obs.last = Lines()
let g:obs.last_cursor = line('.') == line('$')
normal [[
call Wait()
let g:obs.before_last = getline(1)
normal gg
call Wait()
let g:obs.top = [getline(1), line('.')]
normal 2]]
call Wait()
let g:obs.third = getline(1)
VimeGoto 12,345
call Wait()
let g:obs.goto = getline('.')
"""
    )
    assert observed["fixed"] == [f"vime://{data_file}//group/fixed", observed["fixed"][1]]
    assert observed["fixed"][1].startswith("/group/fixed")
    first = observed["first"]
    assert first[0].startswith("/big") and "20,000 rows" in first[0] and "rows 0–99" in first[0]
    assert first[2].split()[:5] == ["v0", "v1", "n", "flag", "label"]
    assert [line.split()[0] for line in first[3:]] == [str(n) for n in range(100)]
    last = observed["last"]
    assert "rows 19,900–19,999" in last[0]
    assert last[-1].split()[0] == "19999" and last[-1].endswith("row 19999")
    assert observed["last_cursor"]
    assert "rows 19,800–19,899" in observed["before_last"]
    assert "rows 0–99" in observed["top"][0] and observed["top"][1] == 4
    assert "rows 200–299" in observed["third"]
    assert observed["goto"].split()[0] == "12345"


def test_open_command_reload_and_planes_of_a_cube(editor, data_file):
    observed = editor.run(
        f"""
cd {data_file.parent}
VimeOpen {data_file.name}
call Wait()
let g:obs.name = bufname('%')
VimeTable /big
call Wait()
normal 3]]
call Wait()
edit!
call Wait()
let g:obs.reloaded = getline(1)
VimeTable cube
call Wait()
VimePlane 2
call Wait()
let g:obs.plane = [getline(1), getline(4)]
VimePlane 9
call Wait()
let g:obs.kept = [getline(1), b:vime.plane]
"""
    )
    assert observed["name"] == f"vime://{data_file}"
    assert "rows 300–399" in observed["reloaded"], ":edit! keeps the page"
    title, first_row = observed["plane"]
    assert "plane [2]" in title and first_row.split() == ["0", "40", "41", "42", "43", "44"]
    assert observed["kept"] == [title, [2]], "a bad plane keeps the one on screen"
    assert any("plane index 9" in line for line in observed["log"])


def test_column_order_moves_and_survives_a_restart(editor, data_file):
    observed = editor.run(
        open_table(data_file)
        + """
call cursor(3, 1)
call search('\\<n\\>', '', 3)
normal <
call Wait()
let g:obs.moved = getline(3)
let g:obs.cursor_word = expand('<cword>')
normal >>
call Wait()
let g:obs.moved_back = getline(3)
normal <
call Wait()
let g:obs.pid = vime#job#status().pid
VimeRestart
call Wait()
let g:obs.restarted = [vime#job#status().pid, getline(3)]
"""
    )
    assert observed["moved"].split()[:5] == ["v0", "n", "v1", "flag", "label"]
    assert observed["cursor_word"] == "n", "the cursor stays on the moved column"
    assert observed["moved_back"].split()[:5] == ["v0", "v1", "n", "flag", "label"]
    new_pid, header = observed["restarted"]
    assert new_pid != observed["pid"]
    assert header.split()[:5] == ["v0", "n", "v1", "flag", "label"]


def test_plot_opens_a_split_sized_to_the_window(editor, data_file):
    observed = editor.run(
        open_table(data_file)
        + """
let g:obs.columns = vime#complete#plot('v', 'VimePlot v', 10)
VimePlot v1 n
call Wait()
let g:obs.plot = [bufname('%'), winnr('$'), winwidth(0), winheight(0), &filetype]
let g:obs.lines = Lines()
"""
    )
    assert observed["columns"] == ["v0", "v1"]
    name, windows, width, height, filetype = observed["plot"]
    assert name == f"vime-plot://{data_file}//big" and windows == 2 and filetype == "vime"
    lines = observed["lines"]
    assert lines[0].startswith("Plot: v1 vs n")
    assert any("\u2800" < ch <= "\u28ff" for line in lines for ch in line)
    assert len(lines) <= height and max(len(line) for line in lines) <= width


def test_compute_notification_adds_the_table_to_the_list(editor, data_file):
    observed = editor.run(
        f"""
edit {data_file}
call Wait()
let g:obs.list = bufname('%')
VimeTable /big
call Wait()
VimeCompute query=n >= 19990 and flag name=/picked
call Wait({{-> match(BufLines(g:obs.list), '/picked') >= 0}})
let g:obs.lines = BufLines(g:obs.list)
let g:obs.sent = vime#job#status().sent
VimeTable /picked
call Wait()
let g:obs.table = Lines()
"""
    )
    picked = [line for line in observed["lines"] if "/picked" in line]
    assert picked and "3 × 5" in picked[0] and "virtual" in picked[0]
    assert "compute_status" not in observed["sent"], "completion is pushed, never polled"
    assert any("done: /picked" in line for line in observed["log"])
    assert [line.split()[0] for line in observed["table"][3:]] == [
        str(n) for n in range(19990, 20000) if n % 3 == 0
    ]


def test_netcdf3_file_gives_one_clear_error(editor, netcdf3_file):
    observed = editor.run(
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


def test_backend_killed_is_reported_once_and_the_next_command_restarts_it(editor, data_file):
    observed = editor.run(
        open_table(data_file)
        + """
let g:obs.pid = vime#job#status().pid
call system('kill -9 ' . g:obs.pid)
call Wait({-> !vime#job#status().running})
normal ]]
call Wait()
let g:obs.after = [vime#job#status().pid, getline(1)]
"""
    )
    new_pid, title = observed["after"]
    assert new_pid not in (0, observed["pid"])
    assert "rows 100–199" in title
    exited = [line for line in observed["log"] if "backend exited" in line]
    assert len(exited) == 1 and "next command restarts it" in exited[0]


def test_info_export_status_log_and_close(editor, data_file):
    exported = editor.workdir / "out.csv"
    observed = editor.run(
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


def test_missing_python_package_says_how_to_install(editor, data_file):
    # A Python without site-packages: the backend starts, but has no numpy.
    bare = editor.workdir / "bare-python"
    bare.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    bare.chmod(0o755)
    observed = editor.run(
        f"""
let $VIME_PYTHON = '{bare}'
edit {data_file}
call Wait()
let g:obs.lines = Lines()
"""
    )
    missing = [line for line in observed["log"] if "missing Python package" in line]
    assert missing and "numpy" in missing[0] and "pandas" in missing[0]
    assert "bin/vime-env" in missing[0] and "pip install" in missing[0]
    assert observed["lines"][0].startswith("vime: ") and "No module named" in observed["lines"][0]


def test_compute_arguments_parse_to_params(editor):
    observed = editor.run(
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
