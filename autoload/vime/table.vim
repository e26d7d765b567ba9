" vime/table.vim: a page of a table, vime://<file>//<table>.
"
" b:vime holds the page: start, count, rows (-1 until the first reply),
" columns in display order, and where the cursor goes when the page arrives.

function! vime#table#show(path, name) abort
  " :edit! on a table keeps its page, plane and slice.
  let l:old = get(b:, 'vime', {})
  let l:same = get(l:old, 'path', '') ==# a:path && get(l:old, 'name', '') ==# a:name
  call vime#buffer#setup({'kind': 'table', 'path': a:path, 'name': a:name,
        \ 'start': l:same ? l:old.start : 0, 'plane': l:same ? l:old.plane : [],
        \ 'slice': l:same ? get(l:old, 'slice', '') : '',
        \ 'count': max([1, get(g:, 'vime_page_rows', 100)]), 'rows': -1, 'stop': 0,
        \ 'columns': [], 'first_data_line': 0, 'cursor': 'top', 'ticket': 0})
  call vime#plot#map_rows()
  call vime#buffer#set_lines(bufnr('%'), ['loading ' . a:name . ' ...'])
  call vime#table#load(bufnr('%'))
endfunction

function! vime#table#load(bufnr) abort
  let l:state = getbufvar(a:bufnr, 'vime')
  " Only the newest request draws, however fast the keys come.
  let l:state.ticket += 1
  let l:params = {'name': l:state.name, 'start': l:state.start, 'count': l:state.count}
  if !empty(l:state.plane)
    let l:params.plane = l:state.plane
  endif
  if !empty(l:state.slice)
    let l:params.slice = l:state.slice
  endif
  call vime#request(l:state.path, 'table', l:params,
        \ function('s:on_page', [a:bufnr, l:state.ticket]))
endfunction

" :VimePlane {i} [j ...]: the 2-D plane of an N-D dataset to page through
" (indexes of the leading axes; the default plane is all zeros).
function! vime#table#plane(text) abort
  let l:state = get(b:, 'vime', {})
  if get(l:state, 'kind', '') !=# 'table'
    call vime#error(':VimePlane works in a table buffer')
    return
  endif
  let l:state.plane = map(split(a:text, '[, ]\+'), 'str2nr(v:val)')
  let l:state.slice = ''
  let l:state.cursor = 'keep'
  call vime#table#load(bufnr('%'))
endfunction

" :VimeSlice [0, :, 5:10]: numpy indexing of an N-D dataset, checked by the
" backend; without an argument, back to the whole dataset.
function! vime#table#slice(text) abort
  let l:state = get(b:, 'vime', {})
  if get(l:state, 'kind', '') !=# 'table'
    call vime#error(':VimeSlice works in a table buffer')
    return
  endif
  let [l:state.slice, l:state.plane] = [trim(a:text), []]
  let [l:state.start, l:state.cursor] = [0, 'top']
  call vime#table#load(bufnr('%'))
endfunction

function! vime#table#action(name, count) abort
  let l:state = b:vime
  if l:state.rows < 0
    return
  endif
  let l:last = l:state.rows == 0 ? 0 : (l:state.rows - 1) / l:state.count * l:state.count
  if a:name ==# 'next-page'
    call s:turn(min([l:state.start + a:count * l:state.count, l:last]), 'keep', 'last page')
  elseif a:name ==# 'prev-page'
    call s:turn(max([l:state.start - a:count * l:state.count, 0]), 'keep', 'first page')
  elseif a:name ==# 'first-page'
    call s:turn(0, 'top', '')
  elseif a:name ==# 'last-page'
    call s:turn(l:last, 'bottom', '')
  elseif a:name ==# 'column-left'
    call s:move_column(-a:count)
  elseif a:name ==# 'column-right'
    call s:move_column(a:count)
  endif
endfunction

" :VimeGoto {row}: the page holding the row, with the cursor on it.  A
" negative row counts from the end; 1,000,000 and 1_000_000 are fine.
function! vime#table#goto(text) abort
  let l:state = get(b:, 'vime', {})
  if get(l:state, 'kind', '') !=# 'table' || l:state.rows < 0
    call vime#error(':VimeGoto works in a table buffer')
    return
  endif
  let l:row = str2nr(substitute(a:text, '[,_ ]', '', 'g'))
  let l:row = l:row < 0 ? l:state.rows + l:row : l:row
  if l:row < 0 || l:row >= l:state.rows
    call vime#error('row ' . a:text . ' is outside 0..' . (l:state.rows - 1))
    return
  endif
  let l:state.start = l:row / l:state.count * l:state.count
  let l:state.cursor = {'row': l:row}
  call vime#table#load(bufnr('%'))
endfunction

function! s:turn(start, cursor, at_end) abort
  let l:state = b:vime
  if a:start == l:state.start
    if empty(a:at_end)
      call s:place_cursor(l:state, a:cursor)
    else
      call vime#message(a:at_end)
    endif
    return
  endif
  let l:state.start = a:start
  let l:state.cursor = a:cursor
  call vime#table#load(bufnr('%'))
endfunction

function! s:on_page(bufnr, ticket, result) abort
  let l:state = getbufvar(a:bufnr, 'vime', {})
  if empty(l:state) || a:ticket != l:state.ticket
    return
  endif
  if !get(a:result, 'ok', 0)
    call vime#fail(a:result)
    if l:state.rows < 0
      call vime#buffer#set_lines(a:bufnr, ['vime: ' . a:result.error])
    endif
    " Go on from the page on screen, not from the one that failed.
    call extend(l:state, get(l:state, 'shown', {}))
    call vime#buffer#drawn(a:bufnr)
    return
  endif
  let l:state.shown = {'start': a:result.start, 'plane': l:state.plane,
        \ 'slice': l:state.slice}
  let l:lines = split(a:result.content, "\n", 1)
  while len(l:lines) > 1 && empty(l:lines[-1])
    call remove(l:lines, -1)
  endwhile
  call extend(l:state, {'rows': a:result.shape[0], 'start': a:result.start,
        \ 'stop': a:result.stop, 'columns': a:result.columns})
  let l:state.first_data_line = len(l:lines) - (l:state.stop - l:state.start) + 1
  call vime#buffer#set_lines(a:bufnr, l:lines)
  call vime#remember_table(l:state.path, l:state.name, l:state.columns)
  call vime#buffer#in_windows(a:bufnr, 'call vime#table#place_cursor()')
  call vime#buffer#drawn(a:bufnr)
endfunction

" Runs in each window showing the table, after a page is drawn.
function! vime#table#place_cursor() abort
  call s:place_cursor(b:vime, b:vime.cursor)
endfunction

function! s:place_cursor(state, where) abort
  let l:first = max([1, a:state.first_data_line])
  if type(a:where) == type({}) && has_key(a:where, 'row')
    call cursor(l:first + a:where.row - a:state.start, 1)
  elseif type(a:where) == type({}) && has_key(a:where, 'column')
    call cursor(a:where.line, 1)
    let l:spans = s:column_spans(a:state)
    if a:where.column < len(l:spans)
      execute 'normal! ' . (l:spans[a:where.column][0] + 1) . '|'
    endif
  elseif a:where ==# 'top'
    call cursor(l:first, col('.'))
  elseif a:where ==# 'bottom'
    call cursor(line('$'), col('.'))
  else
    " 'keep': the same line and column, clamped to a shorter last page.
    call cursor(min([line('.'), line('$')]), col('.'))
  endif
  let a:state.cursor = 'keep'
endfunction

" -- column order ------------------------------------------------------------------

" Move the column under the cursor by step places; the backend saves the order.
function! s:move_column(step) abort
  let l:state = b:vime
  let l:spans = s:column_spans(l:state)
  if empty(l:spans)
    call vime#error('cannot tell the columns of this page apart')
    return
  endif
  let l:from = s:span_at(l:spans, virtcol('.') - 1)
  if l:from < 0
    call vime#message('put the cursor on a column, not the index')
    return
  endif
  let l:to = max([0, min([l:from + a:step, len(l:state.columns) - 1])])
  if l:to == l:from
    return
  endif
  let l:order = copy(l:state.columns)
  call insert(l:order, remove(l:order, l:from), l:to)
  call vime#request(l:state.path, 'columns', {'name': l:state.name, 'order': l:order},
        \ function('s:on_columns', [bufnr('%'), l:to, line('.')]))
endfunction

function! s:on_columns(bufnr, column, line, result) abort
  let l:state = getbufvar(a:bufnr, 'vime', {})
  if empty(l:state)
    return
  elseif !get(a:result, 'ok', 0)
    call vime#fail(a:result)
    return
  endif
  let l:state.cursor = {'column': a:column, 'line': a:line}
  call vime#table#load(a:bufnr)
endfunction

" The screen-column spans [first, last] of the data columns on the page, in
" order, or [] when they cannot be told apart.  tabulate separates columns by
" at least two spaces, so a run of two blanks down the header and every row
" is a border, and a single blank is inside a cell ("2024-01-01 10:00").
function! s:column_spans(state) abort
  let l:header = a:state.first_data_line - 1
  if l:header < 1 || empty(a:state.columns)
    return []
  endif
  let l:runs = []
  for l:line in getline(l:header, '$')
    call extend(l:runs, s:words(l:line))
  endfor
  call sort(l:runs, {a, b -> a[0] - b[0]})
  let l:spans = []
  for l:run in l:runs
    if !empty(l:spans) && l:run[0] <= l:spans[-1][1] + 2
      let l:spans[-1][1] = max([l:spans[-1][1], l:run[1]])
    else
      call add(l:spans, copy(l:run))
    endif
  endfor
  " The index comes first and may take several spans (a MultiIndex).
  let l:index_spans = len(l:spans) - len(a:state.columns)
  return l:index_spans < 0 ? [] : l:spans[l:index_spans :]
endfunction

" [first, last] screen columns (from 0) of each word of a line.
function! s:words(line) abort
  let l:words = []
  let l:ascii = a:line !~# '[^\x00-\x7f]'
  let l:from = 0
  while 1
    let [l:word, l:start, l:end] = matchstrpos(a:line, '\S\+', l:from)
    if l:start < 0
      return l:words
    endif
    if l:ascii
      call add(l:words, [l:start, l:end - 1])
    else
      call add(l:words, [strdisplaywidth(strpart(a:line, 0, l:start)),
            \ strdisplaywidth(strpart(a:line, 0, l:end)) - 1])
    endif
    let l:from = l:end
  endwhile
endfunction

" The name of the column under the cursor; '' on the index or above the header.
function! vime#table#column_under_cursor() abort
  let l:state = b:vime
  let l:spans = s:column_spans(l:state)
  if empty(l:spans) || line('.') < l:state.first_data_line - 1
    return ''
  endif
  let l:index = s:span_at(l:spans, virtcol('.') - 1)
  return l:index < 0 ? '' : l:state.columns[l:index]
endfunction

" The span holding screen column col; between spans, the nearer one; -1 for
" the index, left of the first span.
function! s:span_at(spans, col) abort
  if a:col < a:spans[0][0] - 1
    return -1
  endif
  for l:i in range(len(a:spans))
    if a:col <= a:spans[l:i][1]
      return l:i == 0 || a:col >= a:spans[l:i][0]
            \ || a:spans[l:i][0] - a:col < a:col - a:spans[l:i - 1][1] ? l:i : l:i - 1
    endif
  endfor
  return len(a:spans) - 1
endfunction
