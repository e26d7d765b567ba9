"""Long requests and other backends, in the real editors (Vim and Neovim):
progress in the command line and the statusline, CTRL-C and :VimeCancel,
:VimeExport, and backends on other hosts (ssh://host/...).

The scenarios run as in tests/test_editor_plugin.py (its Session, fixtures
and file). The hosts are reached through a stand-in for ssh: a script that
records its arguments and runs the local bin/vime-rpc, so a "remote" file is
a local one.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests import test_editor_plugin as editor
from tests.test_editor_plugin import ROOT, ROWS, assert_table_on_screen, open_table
from tests.test_worker import wait_until

# The editor sessions and the data file of tests/test_editor_plugin.py.
session, fresh, data_file = editor.session, editor.fresh, editor.data_file

SLOW_ROWS = 4_000_000


@pytest.fixture(scope="module")
def slow_file(tmp_path_factory):
    """4,000,000 rows: a job over them takes seconds, in chunks, with progress. /text is
    exported through pandas' to_csv (vime's own CSV writer takes 1 s for /slow's rows)."""
    import h5py
    import numpy as np

    path = tmp_path_factory.mktemp("slow") / "slow.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("slow", data=np.zeros((SLOW_ROWS, 2), dtype="int8"))
        f.create_dataset("text", data=np.full((SLOW_ROWS, 2), b"ab", dtype="S2"))
    return path


# The backend reads (and exports) in chunks of 200,000 rows: progress comes
# after half a second, then four times a second.
SMALL_CHUNKS = """
call vime#job#stop()
let $VIME_CHUNK_ROWS = '200000'
"""
BACK_TO_DEFAULTS = """
call vime#job#stop()
unlet $VIME_CHUNK_ROWS
"""


def errors(said: list[str]) -> list[str]:
    return [line for line in said if line.startswith("vime: ") and "cancel" not in line]


def test_progress_shows_and_ctrl_c_cancels_the_request(fresh, slow_file):
    target = fresh.workdir / "slow.csv"
    target.unlink(missing_ok=True)
    fresh.run(SMALL_CHUNKS + open_table(slow_file, "/text"))
    fresh.keys(f":VimeExport {target}\r")
    screen = fresh.workdir / "progress-line"
    screen.unlink(missing_ok=True)
    shown = fresh.run(
        f"""
call vime#job#wait(30000, {{-> !empty(vime#progress#text())}})
let g:obs.text = vime#progress#text()
let g:obs.waiting = map(vime#job#waiting(), 'v:val.method')
" Messages are not shown while this script runs (:silent): a timer reads the
" command line once the editor is back to waiting for keys.
function! WatchLine(timer) abort
  let l:line = ScreenText(&lines, &lines)[0]
  if l:line =~# '^vime: exporting'
    call timer_stop(a:timer)
    call writefile([l:line, vime#progress#text()], '{screen}.part')
    call rename('{screen}.part', '{screen}')
  endif
endfunction
if !has('nvim')
  call timer_start(20, 'WatchLine', {{'repeat': -1}})
endif
"""
    )
    if fresh.name == "vim":  # Neovim draws messages on a grid screenstring() does not read
        fresh.wait_for_file(screen)
        line, text = screen.read_text().splitlines()
        assert line.rstrip() == text, "in the command line"
    fresh.keys("\x03")
    cancelled = fresh.run(
        "call Wait()\nlet g:obs.said = Said()\nlet g:obs.text = vime#progress#text()\n"
        "let g:obs.line = ScreenText(&lines, &lines)[0]\n" + BACK_TO_DEFAULTS
    )
    text = shown["text"]
    assert text.startswith("vime: exporting /text ") and text.endswith(" · <C-c> cancels")
    assert "/4,000,000 rows, " in text and shown["waiting"] == ["export"]
    said = cancelled["said"]
    assert said.count("vime: cancelled") == 1 and errors(said) == []
    assert cancelled["text"] == "" and "exporting" not in cancelled["line"]
    assert not target.exists(), "a cancelled export leaves no file"
    # The temp file goes once the killed worker is gone: soon after the reply.
    wait_until(lambda: not list(fresh.workdir.glob("*.tmp*")), "no temp file left")


def test_progress_in_the_statusline_and_cancel_of_a_compute_job(fresh, slow_file):
    fresh.run(
        SMALL_CHUNKS
        + open_table(slow_file, "/slow")
        + """
let g:vime_progress = 'statusline'
set laststatus=2 statusline=%{vime#statusline()}
VimeFilter index % 7 == 3
call vime#job#wait(30000, {-> !empty(vime#progress#text())})
"""
    )
    shown = fresh.run(
        """
let g:obs.text = vime#progress#text()
let g:obs.status = ScreenRows(&lines - 1, &lines - 1)[0]
let g:obs.name = bufname('%')
"""
    )
    fresh.keys(":VimeCancel\r")
    cancelled = fresh.run(
        "call Wait({-> match(Said(), 'cancelled') >= 0})\ncall Wait()\n"
        "let g:obs.said = Said()\nlet g:obs.text = vime#progress#text()\n"
        "let g:obs.name = bufname('%')\nset laststatus& statusline&\n" + BACK_TO_DEFAULTS
    )
    text = shown["text"]
    assert text.startswith("vime: compute ") and "/4,000,000 rows" in text
    assert shown["status"].strip() == text, "the statusline shows it"
    assert [line for line in cancelled["said"] if "cancelled" in line] == [
        next(line for line in cancelled["said"] if line.startswith("vime: compute "))
    ]
    assert "vime: /slow: filter: index % 7 == 3 ...; CTRL-C cancels" in cancelled["said"]
    assert errors(cancelled["said"]) == []
    assert cancelled["text"] == ""
    assert cancelled["name"] == shown["name"] == f"vime://{slow_file}//slow", "the view stays"


def test_cancel_with_nothing_running_says_so(fresh, data_file):
    observed = fresh.run(open_table(data_file) + "VimeCancel\ncall Wait()\nlet g:obs.said = Said()")
    assert [line for line in observed["said"] if line.startswith("vime: ")] == [
        "vime: nothing to cancel"
    ]


def test_export_picks_the_format_and_speaks_the_editors_language(fresh, data_file):
    import pandas as pd

    for name in ("big.csv", "big.h5"):
        (fresh.workdir / name).unlink(missing_ok=True)
    observed = fresh.run(
        open_table(data_file)
        + """
let g:obs.mtimes = []
VimeExport big.csv
call Wait()
call add(g:obs.mtimes, getftime('big.csv'))
VimeExport big.csv
call Wait()
sleep 1100m
VimeExport! big.csv
call Wait()
call add(g:obs.mtimes, getftime('big.csv'))
VimeExport big.txt
VimeExport big.h5
call Wait()
let g:obs.said = Said()
"""
    )
    said = [line for line in observed["said"] if line.startswith("vime: ")]
    work = fresh.workdir.resolve()
    assert said[0].startswith(f"vime: exported /big to {work}/big.csv: 20,000 rows × 5 cols, ")
    assert said[0].endswith(" MB") or said[0].endswith(" kB")
    assert said[1] == "vime: big.csv exists; use :VimeExport! to replace it"
    assert said[2].startswith(f"vime: exported /big to {work}/big.csv: 20,000 rows")
    assert observed["mtimes"][1] > observed["mtimes"][0], ":VimeExport! replaced it"
    assert said[3] == (
        "vime: cannot tell the format of big.txt: name the file .csv, .h5, .hdf5 or .parquet"
    )
    assert said[4].startswith(f"vime: exported /big to {work}/big.h5: 20,000 rows")
    assert not any("overwrite" in line for line in said)
    assert (work / "big.csv").read_text().count("\n") == ROWS + 1
    assert pd.read_hdf(work / "big.h5").shape == (ROWS, 5)


# -- backends on other hosts ----------------------------------------------------------


def stand_in_ssh(folder: Path, name: str) -> tuple[Path, Path]:
    """A script that records its arguments, one call a line, and runs the local backend."""
    record = folder / f"{name}.calls"
    record.unlink(missing_ok=True)
    script = folder / name
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{record}"\nexec "{ROOT}/bin/vime-rpc"\n')
    script.chmod(0o755)
    return script, record


def test_files_on_other_hosts_run_their_own_backend(fresh, data_file):
    ssh, ssh_calls = stand_in_ssh(fresh.workdir, "fake-ssh")
    other, other_calls = stand_in_ssh(fresh.workdir, "other-ssh")
    link = fresh.workdir / "remote.h5"  # relative to the "remote" home: the editor's cwd
    if not link.exists():
        link.symlink_to(data_file)
    command = [str(ssh), "-T", "-o", "BatchMode=yes", "{host}", "vime-rpc"]
    remote = f"ssh://fakehost/{data_file}"  # ssh://fakehost//tmp/...: an absolute path
    observed = fresh.run(
        f"""
let g:vime_ssh_command = {json.dumps(command)}
let g:vime_hosts = {{'other': ['{other}', 'via-hosts', '{{host}}']}}
VimeOpen {data_file}
call Wait()
let g:obs.local_pid = vime#job#status().pid
edit {remote}
call Wait()
let g:obs.list = [bufname('%'), getline(1), vime#list#name_under_cursor()]
let g:obs.lines = getline(1, '$')
execute "normal \\<CR>"
call Wait()
let g:obs.table = View()
let g:obs.hosts = vime#job#hosts()
let g:obs.remote_pid = vime#job#status('fakehost').pid
VimePlot v1
call Wait()
let g:obs.plot = [bufname('%'), getline(1)]
close
call system('kill -9 ' . g:obs.remote_pid)
call Wait({{-> !vime#job#status('fakehost').running}})
VimeGoto 5000
call Wait()
let g:obs.after = [vime#job#status('fakehost').pid, b:vime_row, getline('.')]
VimeOpen ssh://other/remote.h5
call Wait()
let g:obs.other = [bufname('%'), getline(1), vime#job#status('other').running]
let g:obs.local_after = vime#job#status().pid
let g:obs.said = Said()
unlet g:vime_ssh_command g:vime_hosts
call vime#job#stop('fakehost')
call vime#job#stop('other')
"""
    )
    unreachable = fresh.workdir / "unreachable-ssh"
    unreachable.write_text(
        '#!/bin/sh\necho "ssh: Could not resolve hostname $1: Name or service not known" >&2\n'
        "exit 255\n"
    )
    unreachable.chmod(0o755)
    failed = fresh.run(
        f"""
let g:log_start = len(vime#job#log())
let g:vime_ssh_command = ['{unreachable}', '{{host}}']
edit ssh://nohost//data/file.h5
call Wait({{-> !vime#job#status('nohost').running}})
call Wait()
let g:obs.lines = getline(1, '$')
let g:obs.said = Said()
unlet g:vime_ssh_command
"""
    )
    uri = f"vime://{remote}"
    assert observed["list"] == [uri, remote + "  (7 tables)", "/big"]
    assert any("/big" in line and "20,000 × 5" in line for line in observed["lines"])
    table = observed["table"]
    assert table["name"] == f"{uri}//big"
    assert assert_table_on_screen(table)[0] == 0
    assert table["header"].split() == ["v0", "v1", "n", "flag", "label"]
    assert observed["hosts"] == ["", "fakehost"]
    assert observed["remote_pid"] not in (0, observed["local_pid"])
    assert observed["plot"] == [f"vime-plot://{remote}//big", "Plot: v1 vs row  (/big)"]
    new_pid, row, line = observed["after"]
    assert new_pid not in (0, observed["remote_pid"]), "the next command restarted it"
    assert row == 5000 and line.split()[0] == "4999"
    exited = [line for line in observed["said"] if line.startswith("vime: ") and "exited" in line]
    assert len(exited) == 1 and re.fullmatch(
        r"vime: the backend on fakehost exited \(signal (9|kill)\); the next command restarts "
        r"it\. :VimeLog shows its output",
        exited[0],
    ), exited
    other_list = ["vime://ssh://other/remote.h5", "ssh://other/remote.h5  (7 tables)", 1]
    assert observed["other"] == other_list
    assert observed["local_after"] == observed["local_pid"], "the local backend is untouched"
    assert ssh_calls.read_text().splitlines() == ["-T -o BatchMode=yes fakehost vime-rpc"] * 2
    assert other_calls.read_text().splitlines() == ["via-hosts other"]
    assert os.path.exists(link)
    why = "ssh: Could not resolve hostname nohost: Name or service not known"
    assert [line for line in failed["said"] if line.startswith("vime: ")] == [
        f"vime: the backend on nohost exited (status 255: {why}); the next command restarts "
        "it. :VimeLog shows its output"
    ]
    assert failed["lines"] == ["vime: the backend on nohost exited"]
