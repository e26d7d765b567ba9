"""The editor rows: real Vim (or Neovim) with the plugin, timed by its own reltime().

`:edit` on the reference file until the first page is drawn runs headless:
the script polls the editor's own buffers and depends on nothing inside the
plugin but its documented commands (`:edit` on an .h5 file and
`:VimeTable {name}`), so it measures what a user sees. Scrolling key by key
runs Vim in a pseudo-terminal, so that each key's redraw is a real one.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import shutil
import statistics
import struct
import subprocess
import termios
import threading
from pathlib import Path

from benchmarks.processes import ROOT, BenchError, BenchSkipped, Sample

POLL_LIMIT_S = 20

# Table list: some buffer line names the table. First page: a buffer holding the
# tabulate page, whose row 99 starts a line (the index column comes first).
SCRIPT = r"""
set nocompatible
execute 'set runtimepath^=' . fnameescape($VIME_ROOT)
runtime! plugin/*.vim
let s:limit = str2float($VIME_POLL_LIMIT)

function! s:buffer_matches(pattern) abort
  for l:info in getbufinfo({'bufloaded': 1})
    if match(getbufline(l:info.bufnr, 1, '$'), a:pattern) >= 0
      return 1
    endif
  endfor
  return 0
endfunction

function! s:wait_for(pattern, started) abort
  while !s:buffer_matches(a:pattern)
    if reltimefloat(reltime(a:started)) > s:limit
      return -1.0
    endif
    sleep 2m
  endwhile
  return reltimefloat(reltime(a:started))
endfunction

let s:result = {}
try
  let s:started = reltime()
  execute 'edit ' . fnameescape($VIME_FILE)
  let s:result.list = s:wait_for('\V' . escape($VIME_TABLE, '\'), s:started)
  if s:result.list >= 0
    execute 'VimeTable ' . $VIME_TABLE
    let s:result.page = s:wait_for('^\s*99\s', s:started)
  endif
catch
  let s:result.error = v:exception . ' at ' . v:throwpoint
endtry
call writefile([json_encode(s:result)], $VIME_OUT)
qall!
"""


EDITORS = {
    "vim": ["-Nu", "NONE", "-i", "NONE", "-n", "-es"],
    "nvim": ["--headless", "-u", "NONE", "-i", "NONE", "-n"],
}


def first_page(bench, until: str, editor: str = "vim") -> Sample:
    """Seconds from `:edit` to the table list (``until='list'``) or the first page."""
    program = shutil.which(editor)
    if program is None:
        raise BenchSkipped(f"{editor} is not installed")
    script = bench.workdir / "edit-first-page.vim"
    script.write_text(SCRIPT)
    out = bench.workdir / "edit-first-page.json"
    out.unlink(missing_ok=True)
    env = {
        **os.environ,
        "VIME_ROOT": str(ROOT),
        "VIME_PYTHON": bench.python,
        "VIME_CONFIG": str(bench.workdir / "vime-config.json"),
        "VIME_FILE": str(bench.files.table),
        "VIME_TABLE": "/data",
        "VIME_OUT": str(out),
        "VIME_POLL_LIMIT": str(POLL_LIMIT_S),
    }
    command = [program, *EDITORS[editor], "-S", str(script)]
    try:
        subprocess.run(
            command, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=bench.timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{editor} did not exit within {bench.timeout:.0f} s") from exc
    return Sample(read_result(out, until), None)  # the editor's RSS says nothing of vime


def read_result(out: Path, until: str) -> float:
    if not out.exists():
        raise BenchError("the vim script wrote no result")
    result = json.loads(out.read_text())
    if "error" in result:
        raise BenchError(f"editor: {result['error']}")
    if result.get("list", -1) < 0:
        raise BenchError(f"no table list drawn within {POLL_LIMIT_S} s of :edit")
    seconds = result.get(until, -1)
    if seconds < 0:
        raise BenchError(f"no first page drawn within {POLL_LIMIT_S} s of :edit")
    return seconds


# Vim script, inside a try: :edit the file, wait for its table list, open the table. A
# script says where with a line "  OPEN_TABLE" (see ``with_open_table``).
OPEN_TABLE = r"""  execute 'edit ' . fnameescape($VIME_FILE)
  if !vime#job#wait(60000, {-> search('\V' . escape($VIME_TABLE, '\'), 'nw') > 0})
    throw 'no table list within 60 s'
  endif
  execute 'VimeTable ' . $VIME_TABLE
"""


def with_open_table(script: str) -> str:
    return script.replace("  OPEN_TABLE\n", OPEN_TABLE)


# -- scrolling key by key (issue 14) -------------------------------------------------
SCROLL_KEYS = 200
SCREEN = (40, 140)  # lines, columns of the pseudo-terminal

# Typed as `:source` once Vim runs: each key is typed with feedkeys(.., 'xt'), then
# the script waits until no move is pending (its rows have arrived and are placed)
# and redraws. A key's time runs from feedkeys to the end of that redraw. Each
# key must land on the next (or previous) table row, which the cursor line's
# index column must show.
SCROLL_SCRIPT = with_open_table(r"""
let s:result = {}
function! s:settle() abort
  if !vime#job#wait(60000, {-> get(b:vime, 'rows', -1) > 0 && empty(b:vime.pending)
        \ && empty(b:vime.loading)})
    throw 'the rows did not arrive within 60 s'
  endif
  redraw
endfunction
function! s:row() abort
  return b:vime.start + line('.') - 1
endfunction
try
  OPEN_TABLE
  call s:settle()
  if $VIME_FROM ==# 'end'
    call feedkeys('G', 'xt')
  else
    execute 'VimeGoto ' . (b:vime.rows / 2)
  endif
  call s:settle()
  let s:step = $VIME_KEY ==# 'j' ? 1 : -1
  let s:times = []
  let s:bad = []
  let s:loads = vime#job#status().sent.table
  for s:i in range(str2nr($VIME_KEYS))
    let s:want = s:row() + s:step
    let s:started = reltime()
    call feedkeys($VIME_KEY, 'xt')
    if !vime#job#wait(10000, {-> empty(b:vime.pending)})
      throw 'a move still waits after 10 s'
    endif
    redraw
    call add(s:times, reltimefloat(reltime(s:started)))
    let s:shown = str2nr(matchstr(getline('.'), '^\s*\zs\d\+'))
    if s:row() != s:want || s:shown != s:want
      call add(s:bad, [s:want, s:row(), s:shown])
    endif
  endfor
  let s:result = {'times': s:times, 'bad': s:bad,
        \ 'loads': vime#job#status().sent.table - s:loads, 'rows': b:vime.rows}
catch
  let s:result = {'error': v:exception . ' at ' . v:throwpoint}
endtry
call writefile([json_encode(s:result)], $VIME_OUT)
qall!
""")


def scroll_keys(bench, key: str, start: str) -> Sample:
    """``SCROLL_KEYS`` times ``key`` from the last row (``start='end'``) or the middle.

    From the middle the keys must cross a load of rows; after G they may not (the
    buffer holds max(300, 4 screens) rows, asked for a screen before their end).
    """
    program = shutil.which("vim")
    if program is None:
        raise BenchSkipped("vim is not installed")
    script = bench.workdir / "scroll.vim"
    script.write_text(SCROLL_SCRIPT)
    out = bench.workdir / "scroll.json"
    out.unlink(missing_ok=True)
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "VIME_PYTHON": bench.python,
        "VIME_CONFIG": str(bench.workdir / "vime-config.json"),
        "VIME_FILE": str(bench.files.table),
        "VIME_TABLE": "/data",
        "VIME_OUT": str(out),
        "VIME_KEY": key,
        "VIME_KEYS": str(SCROLL_KEYS),
        "VIME_FROM": start,
    }
    command = [
        program,
        "-Nu",
        "NONE",
        "-i",
        "NONE",
        "-n",
        "--cmd",
        f"set rtp^={ROOT}",
        "-c",
        "runtime plugin/vime.vim",
    ]
    run_in_terminal(command, env, f"\x1c\x0e:silent source {script}\r", out, bench.timeout)
    result = json.loads(out.read_text())
    if "error" in result:
        raise BenchError(f"vim: {result['error']}")
    if result["bad"]:
        raise BenchError(
            f"{len(result['bad'])} keys left the cursor off their row: "
            f"{result['bad'][:3]} ([wanted, at, shown])"
        )
    if start == "middle" and result["loads"] < 1:
        raise BenchError("the keys crossed no load of rows: nothing measured")
    times = result["times"]
    extra = {"worst": max(times), "answers": len(times), "unit": "keys", "loads": result["loads"]}
    return Sample(statistics.median(times), None, check=result["rows"], extra=extra)


def run_in_terminal(command: list[str], env: dict, keys: str, out: Path, timeout: float) -> None:
    """Run the editor in a pseudo-terminal, type ``keys``, wait until it writes ``out``."""
    terminal, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", *SCREEN, 0, 0))
    process = subprocess.Popen(
        command, stdin=child, stdout=child, stderr=child, env=env, start_new_session=True
    )
    os.close(child)
    threading.Thread(target=drain, args=(terminal,), daemon=True).start()
    try:
        os.write(terminal, keys.encode())
        process.wait(timeout)
    except subprocess.TimeoutExpired as exc:
        process.kill()
        process.wait()
        raise BenchError(f"{command[0]} did not finish within {timeout:.0f} s") from exc
    finally:
        os.close(terminal)
    if not out.exists():
        raise BenchError(f"{command[0]} exited {process.returncode} without a result")


def drain(terminal: int) -> None:
    """Read what the editor draws, or it blocks on a full terminal."""
    while True:
        try:
            if not os.read(terminal, 65536):
                return
        except OSError:
            return
