scriptencoding utf-8
" vime/derived.vim: sorted and filtered views of a table: s S f F, :VimeSort
" and :VimeFilter.
"
" A view is one compute job on the original table (its filters ANDed into one
" query, then its sort), whose result opens in place of the view when it is
" done: the editor never waits for it, and CTRL-C cancels it.  The view keeps
" what it was made from in b:vime.derived:
"   {'origin': the original table, 'filters': [query, ...], 'sort': [column, ...],
"    'descending': 0 or 1, 'limit': first rows kept by the sort (0: all)}
" Each new sort replaces the sort and keeps the filters; each new filter adds
" to them.  - goes back to the original table, and CTRL-O to the view before.

" '{path}/{result}' -> the derived of the views made in this session.
let s:views = {}

" What the view of a table was made from; {} for a table as it is.
function! vime#derived#of(path, name) abort
  return copy(get(s:views, a:path . '/' . a:name, {}))
endfunction

" The title's words for a view: 'sorted by signal ↓' and 'filter: query'.
function! vime#derived#describe(state) abort
  let l:derived = get(a:state, 'derived', {})
  if empty(l:derived)
    return ''
  endif
  let l:words = []
  if !empty(l:derived.sort)
    let l:first = l:derived.limit > 0 && get(a:state, 'rows', -1) == l:derived.limit
          \ ? ' (first ' . vime#view#number(l:derived.limit) . ')' : ''
    call add(l:words, 'sorted by ' . join(l:derived.sort, ', ')
          \ . (l:derived.descending ? ' ↓' : ' ↑') . l:first)
  endif
  if !empty(l:derived.filters)
    call add(l:words, 'filter: ' . s:query(l:derived.filters))
  endif
  return join(l:words, '  ')
endfunction

" -- sorting -----------------------------------------------------------------------

" s and S: sort by the column under the cursor.
function! vime#derived#sort_column(descending) abort
  let l:state = s:table(a:descending ? 'S' : 's')
  if empty(l:state)
    return
  endif
  let l:column = vime#table#column_under_cursor()
  if empty(l:column)
    call vime#error('put the cursor on a column to sort by it')
    return
  endif
  call s:sort(l:state, [l:column], a:descending, 0)
endfunction

" :VimeSort[!] [{column} ...] [desc]: sort by the columns (descending with a
" last word desc), the first g:vime_sort_limit rows, or all of them with !.
" Without a column the view loses its sort.
function! vime#derived#sort(text, full) abort
  let l:state = s:table(':VimeSort')
  if empty(l:state)
    return
  endif
  let l:columns = split(a:text, '[, ]\+')
  let l:descending = !empty(l:columns) && l:columns[-1] =~? '^desc\%(ending\)\=$'
  if l:descending
    call remove(l:columns, -1)
  endif
  call s:sort(l:state, l:columns, l:descending, a:full)
endfunction

function! s:sort(state, columns, descending, full) abort
  let l:derived = s:derived(a:state)
  let l:limit = a:full ? 0 : max([0, get(g:, 'vime_sort_limit', 100000)])
  call extend(l:derived, {'sort': a:columns, 'descending': a:descending ? 1 : 0,
        \ 'limit': empty(a:columns) ? 0 : l:limit})
  call s:show(a:state, l:derived)
endfunction

" -- filtering -----------------------------------------------------------------------

" f and F: keep the rows whose cell in this column equals (F: differs from)
" the cell under the cursor.
function! vime#derived#filter_cell(negate) abort
  let l:state = s:table(a:negate ? 'F' : 'f')
  if empty(l:state)
    return
  endif
  let l:cell = vime#table#cell_under_cursor()
  if empty(l:cell)
    call vime#error('put the cursor on a cell to filter by its value')
    return
  endif
  call s:filter(l:state, vime#derived#cell_query(l:cell.column, l:cell.text, l:cell.dtype,
        \ a:negate), 0)
endfunction

" :VimeFilter {query} adds a filter; :VimeFilter! clears them (and with a
" query starts again from it).
function! vime#derived#filter(query, clear) abort
  let l:state = s:table(':VimeFilter')
  if empty(l:state)
    return
  elseif empty(trim(a:query)) && !a:clear
    call vime#error(':VimeFilter needs a query; :VimeFilter! clears the filters')
    return
  endif
  call s:filter(l:state, trim(a:query), a:clear)
endfunction

function! s:filter(state, query, clear) abort
  let l:derived = s:derived(a:state)
  if a:clear
    let l:derived.filters = []
  endif
  if !empty(a:query)
    call add(l:derived.filters, a:query)
  endif
  call s:show(a:state, l:derived)
endfunction

" The query keeping the rows whose cell equals (negate: differs from) a cell
" shown as text: the column by its name (`quoted` when it is not a plain
" name; the index as index), strings quoted, a missing value as isna(), a
" float as the range of the values shown so (a page shows six digits), and a
" date as a string, compared with >= and <= (pandas' query compares a date
" column with == to a string as strings, which never match).
function! vime#derived#cell_query(column, text, dtype, negate) abort
  let l:name = empty(a:column) ? 'index' : s:name(a:column)
  if a:text =~# '^\%(NaN\|nan\|NaT\|None\|<NA>\)$'
    return l:name . (a:negate ? '.notna()' : '.isna()')
  endif
  let l:kind = s:kind(a:dtype, a:text)
  let l:operator = a:negate ? ' != ' : ' == '
  if l:kind ==# 'float'
    return s:float_query(l:name, a:text, a:negate)
  elseif l:kind ==# 'int'
    return l:name . l:operator . a:text
  elseif l:kind ==# 'bool'
    return l:name . l:operator . (a:text =~? '^true$' ? 'True' : 'False')
  elseif l:kind ==# 'date'
    let l:date = s:quote(a:text)
    return a:negate ? printf('%s < %s or %s > %s', l:name, l:date, l:name, l:date)
          \ : printf('%s >= %s and %s <= %s', l:name, l:date, l:name, l:date)
  endif
  return l:name . l:operator . s:quote(a:text)
endfunction

function! s:kind(dtype, text) abort
  if a:dtype =~? '^u\=int'
    return 'int'
  elseif a:dtype =~? '^float'
    return 'float'
  elseif a:dtype =~? '^bool'
    return 'bool'
  elseif a:dtype =~? '^datetime'
    return 'date'
  elseif !empty(a:dtype)
    return 'text'
  elseif a:text =~# '^-\=\d\+$'
    return 'int'
  endif
  return a:text =~? '^[-+]\=\%(\d\+\.\=\d*\%(e[-+]\=\d\+\)\=\|inf\)$' ? 'float' : 'text'
endfunction

" A float shown with six significant digits stands for the values that round
" to it: half a unit of its sixth digit either side.
function! s:float_query(name, text, negate) abort
  if a:text =~? 'inf'
    return a:name . (a:negate ? ' != ' : ' == ') . (a:text =~# '^-' ? '-inf' : 'inf')
  endif
  let l:value = str2float(a:text)
  if l:value == 0.0
    return a:name . (a:negate ? ' != ' : ' == ') . '0'
  endif
  let l:half = 0.5 * pow(10.0, floor(log10(abs(l:value))) - 5)
  return (a:negate ? '~' : '') . a:name . '.between('
        \ . printf('%.10g', l:value - l:half) . ', ' . printf('%.10g', l:value + l:half) . ')'
endfunction

let s:keywords = ['and', 'or', 'not', 'in', 'is', 'if', 'else', 'True', 'False', 'None',
      \ 'lambda', 'for', 'def', 'class', 'return', 'import', 'from', 'as', 'with', 'while',
      \ 'try', 'except', 'finally', 'raise', 'pass', 'break', 'continue', 'del', 'global',
      \ 'nonlocal', 'assert', 'yield', 'async', 'await', 'elif']

" A column name as a query names it: plain, or in backticks.
function! s:name(column) abort
  if a:column =~# '^[A-Za-z_][A-Za-z0-9_]*$' && index(s:keywords, a:column) < 0
    return a:column
  endif
  return '`' . a:column . '`'
endfunction

" A string literal of the query language (Python's).
function! s:quote(text) abort
  let l:text = escape(a:text, '\')
  if stridx(l:text, "'") < 0
    return "'" . l:text . "'"
  elseif stridx(l:text, '"') < 0
    return '"' . l:text . '"'
  endif
  return "'" . escape(l:text, "'") . "'"
endfunction

" -- the view ------------------------------------------------------------------------

function! s:table(command) abort
  let l:state = get(b:, 'vime', {})
  if get(l:state, 'kind', '') !=# 'table' || l:state.rows < 0
    call vime#error(a:command . ' works in a table buffer')
    return {}
  endif
  return l:state
endfunction

" A copy of the view's derived, or a new one for a table as it is.
function! s:derived(state) abort
  let l:derived = deepcopy(get(a:state, 'derived', {}))
  return empty(l:derived) ? {'origin': a:state.name, 'filters': [], 'sort': [],
        \ 'descending': 0, 'limit': 0} : l:derived
endfunction

function! s:query(filters) abort
  return len(a:filters) == 1 ? a:filters[0] : join(map(copy(a:filters), '"(" . v:val . ")"'),
        \ ' and ')
endfunction

" Start the job making the view, or with neither sort nor filter left, show
" the original table.
function! s:show(state, derived) abort
  if empty(a:derived.sort) && empty(a:derived.filters)
    call vime#table(a:derived.origin)
    return
  endif
  let l:params = {'source': a:derived.origin}
  if !empty(a:derived.filters)
    let l:params.query = s:query(a:derived.filters)
  endif
  if !empty(a:derived.sort)
    call extend(l:params, {'sort': a:derived.sort,
          \ 'descending': a:derived.descending ? v:true : v:false})
    if a:derived.limit > 0
      let l:params.limit = a:derived.limit
    endif
  endif
  let l:what = vime#derived#describe({'derived': a:derived})
  call vime#message(a:derived.origin . ': ' . l:what . ' ...; CTRL-C cancels')
  call vime#compute#run(a:state.path, l:params,
        \ function('s:on_done', [bufnr('%'), a:derived]))
endfunction

" The job is done: its result replaces the view it was asked from, in that
" window (the current one when it shows the view).
function! s:on_done(bufnr, derived, path, done) abort
  let l:table = get(a:done, 'table', '')
  let s:views[a:path . '/' . l:table] = a:derived
  let l:rows = get(a:done, 'rows', -1)
  let l:what = a:derived.origin . ': '
        \ . vime#derived#describe({'derived': a:derived, 'rows': l:rows})
        \ . ': ' . vime#view#number(l:rows) . ' rows'
  let l:windows = win_findbuf(a:bufnr)
  if empty(l:windows)
    call vime#message(l:what . '; :VimeTable ' . l:table . ' opens it')
    return
  endif
  if index(l:windows, win_getid()) < 0
    call win_gotoid(l:windows[0])
  endif
  execute 'edit' fnameescape(vime#buffer#uri(a:path, l:table))
  call vime#message(l:what)
endfunction
