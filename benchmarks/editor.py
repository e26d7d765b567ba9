"""`:edit` on the reference file in real, headless Vim (or Neovim), until the first page is drawn.

The script polls the editor's own buffers with reltime(): it depends on
nothing inside the plugin but its documented commands (`:edit` on an .h5
file and `:VimeTable {name}`), so it measures what a user sees.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
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
