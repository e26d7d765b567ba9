"""Finding rows from the table view, in the real editors (Vim and Neovim):
:VimeSearch, g/, gn and gN over the whole table, :VimeCount, and the sorted
and filtered views (s S f F, :VimeSort, :VimeFilter).

The scenarios run as in tests/test_editor_plugin.py (its Session, fixtures
and file). The Search highlight of the cell found is read back as each editor
stores it (prop_list() in Vim, extmarks in Neovim) and as drawn
(screenattr()).
"""

from __future__ import annotations

import re

import pytest

from tests import test_editor_plugin as editor
from tests.test_editor_plugin import ROWS, open_table

# The editor sessions and the data file of tests/test_editor_plugin.py.
session, fresh, data_file = editor.session, editor.fresh, editor.data_file

HELPERS = r"""
" The groups highlighting the text of the current window: [lnum, col, end_col, group].
function! Highlighted() abort
  let l:found = []
  if has('nvim')
    for [l:id, l:row, l:col, l:details] in nvim_buf_get_extmarks(0,
          \ nvim_get_namespaces()['vime'], 0, -1, {'details': v:true})
      call add(l:found, [l:row + 1, l:col + 1, l:details.end_col + 1, l:details.hl_group])
    endfor
  else
    for l:prop in prop_list(1, {'end_lnum': line('$')})
      call add(l:found, [l:prop.lnum, l:prop.col, l:prop.col + l:prop.length,
            \ prop_type_get(l:prop.type).highlight])
    endfor
  endif
  return l:found
endfunction
" The cursor's row (from 0), the cell under the cursor and what is highlighted.
function! Found() abort
  let l:view = View()
  let l:cell = vime#table#cell_under_cursor()
  let l:marks = Highlighted()
  let l:text = empty(l:marks) ? '' : strpart(getline(l:marks[0][0]), l:marks[0][1] - 1,
        \ l:marks[0][2] - l:marks[0][1])
  " As drawn: the highlighted cell looks unlike the same cell of another row.
  let l:row = l:view.cursor
  let l:col = empty(l:marks) ? 1 : virtcol([l:marks[0][0], l:marks[0][1]]) + win_screenpos(0)[1]
        \ - winsaveview().leftcol - 1 + getwininfo(win_getid())[0].textoff
  let l:other = l:row > l:view.top ? l:row - 1 : l:row + 1
  return {'row': b:vime_row - 1, 'cell': l:cell, 'marks': l:marks, 'text': l:text,
        \ 'line': l:view.rows[l:view.cursor - l:view.top],
        \ 'drawn': screenattr(l:row, l:col) != screenattr(l:other, l:col),
        \ 'loaded': [b:vime.start, b:vime.stop], 'name': bufname('%')}
endfunction
"""


def found(session, keys: str = "", command: str = "") -> dict:
    """Type keys (or source a command), wait for the backend, read what was found."""
    session.keys(keys)
    return session.run(HELPERS + command + "\ncall Wait()\nlet g:obs.found = Found()")["found"]


def said_errors(observed: dict) -> list[str]:
    return [line for line in observed["log"] if re.match(r"^[\d:]+ vime: ", line)]


# -- search -----------------------------------------------------------------------


def test_search_goes_to_the_cell_across_pages_and_wraps(fresh, data_file):
    fresh.run(open_table(data_file))
    first = found(fresh, command="VimeSearch row 1234")
    # 'row 1234' is in rows 1234 and 12340-12349; the buffer holds rows 0-299.
    nexts = [found(fresh, "gn") for _ in range(10)]
    wrapped = fresh.run(HELPERS + "let g:log_start = len(vime#job#log())")
    around = found(fresh, "gn")
    said = fresh.run("let g:obs.said = Said()")["said"]
    back = found(fresh, "gN")
    said_back = fresh.run("let g:obs.said = Said()")["said"]
    assert wrapped  # the log is read from here on
    assert first["row"] == 1234
    assert (first["cell"]["column"], first["cell"]["text"]) == ("label", "row 1234")
    assert first["line"].split()[0] == "1234" and first["line"].rstrip().endswith("row 1234")
    assert first["marks"] == [[first["marks"][0][0], *first["marks"][0][1:3], "Search"]]
    assert first["text"] == "row 1234" and first["drawn"], "the match is highlighted"
    assert first["loaded"][0] > 0, "the rows of the match were loaded"
    assert [n["row"] for n in nexts] == list(range(12340, 12350))
    assert nexts[0]["loaded"][0] > first["loaded"][1], "gn crossed into rows not loaded"
    assert all(n["text"] == "row 1234" and n["drawn"] for n in nexts)
    assert [n["line"].split()[0] for n in nexts] == [str(r) for r in range(12340, 12350)]
    assert around["row"] == 1234, "gn past the last match wraps to the top"
    assert "search hit BOTTOM, continuing at TOP" in said
    assert back["row"] == 12349, "gN before the first match wraps to the bottom"
    assert "search hit TOP, continuing at BOTTOM" in said_back


def test_search_by_query_prompt_memory_and_no_match(fresh, data_file):
    fresh.run(open_table(data_file))
    by_query = found(fresh, command="VimeSearch! n > 5000 and flag")
    fresh.keys("g/")
    prompted = found(fresh, "row 77\r")
    other = fresh.run(
        "VimeTable /group/fixed\ncall Wait()\nlet g:log_start = len(vime#job#log())\n"
        "call feedkeys('gn', 'xt')\ncall Wait()\nlet g:obs.said = Said()"
    )
    again = found(fresh, "", "VimeTable /big\ncall Wait()\ncall feedkeys('gn', 'xt')")
    missing = fresh.run(
        "let g:log_start = len(vime#job#log())\nlet s:row = b:vime_row\n"
        "VimeSearch zzz\ncall Wait()\nlet g:obs.row = [s:row, b:vime_row]"
    )
    assert by_query["row"] == 5001 and by_query["cell"]["column"] == "n"
    assert by_query["cell"]["text"] == "5001" and by_query["text"] == "5001", "the whole cell"
    assert by_query["drawn"]
    assert prompted["row"] == 7700 and prompted["text"] == "row 77", "after the cursor's row"
    assert other["said"] == ["vime: no previous search: :VimeSearch {text} or g/ first"]
    # /big remembers its last search (g/ row 77): gn goes on from the cursor.
    assert again["name"].endswith("//big") and again["row"] == 7701
    assert missing["row"][0] == missing["row"][1], "no match: the cursor stays"
    assert "vime: pattern not found: zzz" in said_errors(missing)[0]


def test_count_says_how_many_rows_match(fresh, data_file):
    observed = fresh.run(
        open_table(data_file)
        + "VimeCount flag and n < 100\ncall Wait()\nVimeCount nope > 1\ncall Wait()\n"
        + "let g:obs.said = Said()"
    )
    said = [line for line in observed["said"] if line.startswith("vime: ")]
    assert said[0] == "vime: 34 of 20,000 rows match flag and n < 100"
    assert len(said) == 2 and "no column 'nope'" in said[1], said


# -- sorted and filtered views -----------------------------------------------------


def column_values(view_rows: list[str], position: int) -> list[str]:
    return [row.split()[position] for row in view_rows if row.strip()]


def test_s_sorts_by_the_column_and_minus_goes_back(fresh, data_file):
    view = r"""
call Wait({-> b:vime.name !=# g:before && b:vime.rows >= 0})
call Wait()
let g:obs[g:step] = extend(View(), {'derived': b:vime.derived, 'rows_total': b:vime.rows})
"""
    observed = fresh.run(
        open_table(data_file)
        + r"""
call search('^\s*3\>')
call cursor(line('.'), stridx(b:vime.header, ' n ') + 2)
let g:step = 'descending'
let g:before = b:vime.name
normal S
"""
        + view
        + r"""
call cursor(1, stridx(b:vime.header, 'v0') + 1)
let g:step = 'ascending'
let g:before = b:vime.name
normal s
"""
        + view
        + r"""
normal -
call Wait()
let g:obs.back = [bufname('%'), b:vime.start + line('.') - 1]
execute "normal \<C-o>"
call Wait()
let g:obs.jump = [bufname('%'), View().title]
let g:vime_sort_limit = 50
call cursor(1, stridx(b:vime.header, 'v1') + 1)
let g:step = 'limited'
let g:before = b:vime.name
normal S
"""
        + view
        + """
let g:step = 'full'
let g:before = b:vime.name
VimeSort! v1 desc
"""
        + view
        + "unlet g:vime_sort_limit\nlet g:obs.said = Said()\n"
    )
    said = observed["said"]
    assert said.index("vime: /big: sorted by n ↓ ...; CTRL-C cancels") < said.index(
        "vime: /big: sorted by n ↓: 20,000 rows"
    ), "the editor goes on while the job runs, and says when it is done"
    assert "vime: /big: sorted by v1 ↓ (first 50): 50 rows" in said
    desc = observed["descending"]
    assert "sorted by n ↓" in desc["title"] and "[20,000 rows x 5 cols]" in desc["title"]
    assert desc["header"].split() == ["v0", "v1", "n", "flag", "label"]
    assert column_values(desc["rows"], 3)[:5] == ["19999", "19998", "19997", "19996", "19995"]
    assert desc["derived"]["origin"] == "/big" and desc["derived"]["limit"] == 100000
    ascending = observed["ascending"]
    assert "sorted by v0 ↑" in ascending["title"] and "n ↓" not in ascending["title"]
    v0 = [float(value) for value in column_values(ascending["rows"], 1)]
    assert v0 == sorted(v0) and v0[0] < -3, "the smallest values of 20,000 normal draws"
    assert ascending["derived"]["origin"] == "/big", "a view is made from the original table"
    assert observed["back"][0] == f"vime://{data_file}//big", "- goes back to the table"
    assert observed["back"][1] == 3, "on the row it was on"
    assert observed["jump"][0] == ascending["name"] and "sorted by v0" in observed["jump"][1]
    limited = observed["limited"]
    assert limited["rows_total"] == 50 and "sorted by v1 ↓ (first 50)" in limited["title"]
    full = observed["full"]
    assert full["rows_total"] == ROWS and "sorted by v1 ↓" in full["title"]
    assert "(first" not in full["title"] and full["derived"]["limit"] == 0
    assert column_values(full["rows"], 3)[0] == str(ROWS - 1)


def test_f_filters_to_the_cell_and_filters_stack(fresh, data_file):
    wait_view = r"""
call Wait({-> b:vime.name =~# '__computed__' && b:vime.rows >= 0 && b:vime.rows != g:rows})
call Wait()
let g:rows = b:vime.rows
let g:obs[g:step] = extend(View(), {'rows_total': b:vime.rows, 'lines': getline(1, '$'),
      \ 'full_title': vime#header#title(win_getid())})
"""
    observed = fresh.run(
        open_table(data_file)
        + r"""
let g:rows = -1
call cursor(1, stridx(b:vime.header, 'flag') + 2)
let g:step = 'equal'
normal f
"""
        + wait_view
        + r"""
call search('row 3\>')
normal $
let g:step = 'not_equal'
normal F
"""
        + wait_view
        + """
let g:step = 'query'
VimeFilter n < 10
"""
        + wait_view
        + r"""
call cursor(2, stridx(b:vime.header, ' v0') + 4)
let g:step = 'float'
normal f
"""
        + wait_view
        + """
VimeFilter!
call Wait()
let g:obs.cleared = [bufname('%'), View().title]
"""
    )
    equal = observed["equal"]
    assert equal["title"].rstrip() == "/big  [6,667 rows x 5 cols]  rows 1–35  filter: flag == True"
    assert equal["rows_total"] == 6667 and set(column_values(equal["lines"], 4)) == {"True"}
    not_equal = observed["not_equal"]
    assert not_equal["title"].rstrip().endswith("filter: (flag == True) and (label != 'row 3')")
    assert not_equal["rows_total"] == 6666
    assert column_values(not_equal["lines"], 3)[:3] == ["0", "6", "9"]
    query = observed["query"]
    stacked = "filter: (flag == True) and (label != 'row 3') and (n < 10)"
    assert query["title"].rstrip().endswith(stacked)
    assert column_values(query["lines"], 3) == ["0", "6", "9"]
    float_view = observed["float"]
    assert float_view["rows_total"] == 1 and column_values(float_view["lines"], 3) == ["6"]
    assert float_view["title"].startswith("/big  [1 rows x 5 cols]  rows 1–1  filter: (flag")
    assert re.search(r"and \(v0\.between\([-\d.e]+, [-\d.e]+\)\)$", float_view["full_title"])
    assert observed["cleared"][0] == f"vime://{data_file}//big", ":VimeFilter! clears them"
    assert "filter" not in observed["cleared"][1]


@pytest.fixture(scope="module")
def odd_file(tmp_path_factory):
    """Dates, missing values, a column name with a space, strings with quotes."""
    import numpy as np
    import pandas as pd

    path = tmp_path_factory.mktemp("odd") / "odd.h5"
    frame = pd.DataFrame(
        {
            "when": pd.date_range("2024-01-01", periods=6, freq="h"),
            "my value": [1.5, np.nan, 2.25, 1.5, np.nan, 3.0],
            "name": ["it's", "plain", "it's", 'x"y', "plain", "z"],
        }
    )
    frame.to_hdf(path, key="odd", format="table")
    return path


def test_filter_quotes_names_strings_dates_and_missing_values(fresh, odd_file):
    observed = fresh.run(
        open_table(odd_file, "/odd")
        + r"""
let g:obs.queries = {}
let g:obs.titles = {}
let g:obs.rows = {}
for [s:step, s:column, s:line, s:key] in [['quote', 'name', 1, 'f'], ['nan', 'my value', 2, 'f'],
      \ ['date', 'when', 3, 'f'], ['not_date', 'when', 3, 'F'], ['index', '', 4, 'f'],
      \ ['double', 'name', 4, 'F']]
  VimeTable /odd
  call Wait()
  call cursor(s:line, empty(s:column) ? 1 : stridx(b:vime.header, s:column) + 2)
  let s:before = b:vime.name
  execute 'normal' s:key
  call Wait({-> b:vime.name !=# s:before && b:vime.rows >= 0})
  call Wait()
  let g:obs.queries[s:step] = matchstr(vime#header#title(win_getid()), 'filter: \zs.*')
  let g:obs.titles[s:step] = View().title
  let g:obs.rows[s:step] = map(getline(1, '$'), 'str2nr(matchstr(v:val, ''^\s*\zs\d\+''))')
endfor
"""
    )
    queries, rows = observed["queries"], observed["rows"]
    assert observed["titles"]["quote"].rstrip() == "/odd  [2 rows x 3 cols]  rows 1–2  " + (
        'filter: name == "it\'s"'
    )
    assert queries["quote"] == 'name == "it\'s"' and rows["quote"] == [0, 2]
    assert queries["nan"] == "`my value`.isna()" and rows["nan"] == [1, 4]
    assert queries["date"] == "when >= '2024-01-01 02:00:00' and when <= '2024-01-01 02:00:00'"
    assert rows["date"] == [2]
    assert rows["not_date"] == [0, 1, 3, 4, 5]
    assert queries["index"] == "index == 3" and rows["index"] == [3]
    assert queries["double"] == "name != 'x\"y'" and rows["double"] == [0, 1, 2, 4, 5]
