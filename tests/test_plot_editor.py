"""Plot colours and plot mappings in the real editors (Vim and Neovim).

The scenarios run as in tests/test_editor_plugin.py (its Editor, fixtures
and file). The highlight under a cell is read back the way each editor
stores it: prop_list() and the property's type in Vim,
nvim_buf_get_extmarks() in Neovim.
"""

from __future__ import annotations

import re

from tests.test_editor_plugin import data_file, fresh, open_table, session  # noqa: F401 (fixtures)

# Vim script helpers for the scenarios: the group highlighting a cell, and every
# group on the braille or half-block cells of the plot buffer.
HELPERS = r"""
function! GroupAt(lnum, col) abort
  if has('nvim')
    let l:marks = nvim_buf_get_extmarks(0, nvim_get_namespaces()['vime'],
          \ [a:lnum - 1, 0], [a:lnum - 1, -1], {'details': v:true})
    for [l:id, l:row, l:start, l:details] in l:marks
      if l:start < a:col && a:col <= l:details.end_col
        return l:details.hl_group
      endif
    endfor
  else
    for l:prop in prop_list(a:lnum)
      if l:prop.col <= a:col && a:col < l:prop.col + l:prop.length
        return prop_type_get(l:prop.type).highlight
      endif
    endfor
  endif
  return ''
endfunction
function! GroupsOfCells(pattern) abort
  let l:groups = {}
  for l:lnum in range(3, line('$'))
    let l:text = getline(l:lnum)
    for l:index in range(strchars(l:text))
      if strcharpart(l:text, l:index, 1) =~# a:pattern
        let l:group = GroupAt(l:lnum, byteidx(l:text, l:index) + 1)
        let l:groups[l:group] = get(l:groups, l:group, 0) + 1
      endif
    endfor
  endfor
  return l:groups
endfunction
function! Highlights() abort
  if has('nvim')
    return len(nvim_buf_get_extmarks(0, nvim_get_namespaces()['vime'], 0, -1, {}))
  endif
  return len(prop_list(1, {'end_lnum': line('$')}))
endfunction
function! Attributes(group) abort
  let l:id = hlID(a:group)
  return [synIDattr(l:id, 'fg#', 'gui'), synIDattr(l:id, 'bg#', 'gui'),
        \ synIDattr(l:id, 'fg', 'cterm'), synIDattr(l:id, 'bg', 'cterm')]
endfunction
let g:vime_plot_color = 1
"""

BRAILLE = "[⠁-⣿]"


def test_series_and_their_legend_are_coloured(fresh, data_file):  # noqa: F811
    observed = fresh.run(
        HELPERS
        + open_table(data_file)
        + f"""
VimePlot v0,n
call Wait()
let g:obs.title = getline(1)
let g:obs.legend = [getline(3)[0:4], GroupAt(3, 1), GroupAt(3, 2), GroupAt(3, 5)]
let g:obs.cells = GroupsOfCells('{BRAILLE}')
let g:obs.links = [synIDattr(synIDtrans(hlID('VimeSeries1')), 'name'),
      \\ synIDattr(synIDtrans(hlID('VimeSeries2')), 'name')]
"""
    )
    assert observed["title"] == "Plot: v0, n vs row  (/big)"
    assert observed["legend"] == ["v0, n", "VimeSeries1", "VimeSeries1", "VimeSeries2"]
    cells = observed["cells"]
    assert set(cells) == {"VimeSeries1", "VimeSeries2", "VimeSeriesMixed"}, cells
    assert cells["VimeSeries1"] > 50 and cells["VimeSeries2"] > 50
    assert observed["links"] == ["Identifier", "Constant"]


def test_a_heatmap_colours_each_half_block_from_the_palette(fresh, data_file):  # noqa: F811
    observed = fresh.run(
        HELPERS
        + open_table(data_file, "/cube")
        + """
VimePlane 2
call Wait()
VimePlot heat
call Wait()
let g:obs.lines = getline(1, '$')
let g:obs.cells = GroupsOfCells('[▀▄]')
let g:obs.first = GroupAt(4, len(matchstr(getline(4), '^.\\{-}┤')) + 1)
let g:obs.low = Attributes('VimeHeat0_0')
let g:obs.high = Attributes('VimeHeat31_31')
let g:obs.bar_top = GroupAt(4, match(getline(4), '.*\\zs▀') + 1)
"""
    )
    lines = observed["lines"]
    assert lines[0] == "Plot: heat  (/cube plane [2])"
    groups = observed["cells"]
    assert "" not in groups, "every half block is coloured"
    assert all(re.fullmatch(r"VimeHeat\d+_(\d+|none)", group) for group in groups)
    assert observed["first"] == "VimeHeat0_0"  # cube[2, 0, 0] = 40, the lowest value
    assert observed["low"] == ["#440154", "#440154", "53", "53"]
    assert observed["high"] == ["#fde725", "#fde725", "220", "220"]
    assert observed["bar_top"].startswith("VimeHeat31_")
    assert lines[3].rstrip().endswith("59") and lines[-3].rstrip().endswith("40")


def test_no_colour_draws_dot_density_and_no_highlight(fresh, data_file):  # noqa: F811
    observed = fresh.run(
        HELPERS
        + open_table(data_file, "/cube")
        + """
let g:vime_plot_color = 0
VimePlot heat
call Wait()
let g:obs.lines = getline(1, '$')
let g:obs.highlights = Highlights()
let g:obs.sent = b:vime.request
"""
    )
    body = "".join(observed["lines"][2:])
    assert observed["lines"][0] == "Plot: heat  (/cube plane [0])  no colour: dot density"
    assert re.search(BRAILLE, body) and "▀" not in body
    assert observed["highlights"] == 0


def test_p_plots_the_column_and_visual_p_the_rows(fresh, data_file):  # noqa: F811
    observed = fresh.run(
        HELPERS
        + open_table(data_file)
        + """
" The column header is not in the buffer (it stays in view above it).
call cursor(10, match(b:vime.header, '\\<v1\\>') + 1)
normal p
call Wait()
let g:obs.column = [getline(1), b:vime.request]
wincmd p
call cursor(20, col('.'))
execute "normal Vjjjjp"
call Wait()
let g:obs.rows = [getline(1), b:vime.request, getline('$')]
wincmd p
call cursor(10, 1)
execute "normal p\\<C-U>n logy\\<CR>"
call Wait()
let g:obs.prompt = [getline(1), b:vime.request]
"""
    )
    title, request = observed["column"]
    assert title == "Plot: v1 vs index  (/big)"
    assert {key: request[key] for key in ("y", "x", "name")} == {
        "y": "v1",
        "x": "index",
        "name": "/big",
    }
    title, request, labels = observed["rows"]
    # Line 20 shows row 19 (line 1 is the first row): the five lines are rows 19..23.
    assert (request["start"], request["stop"], request["y"], request["x"]) == (
        19,
        24,
        "v1",
        "index",
    )
    rows = [int(word) for word in labels.split()[:-1]]
    assert len(rows) >= 2 and all(19 <= row <= 23 for row in rows)
    title, request = observed["prompt"]  # on the index, p asks what to plot
    assert title == "Plot: n vs row  (/big)  dropped 1 ≤ 0"
    assert request["logy"] is True and request["y"] == "n"
