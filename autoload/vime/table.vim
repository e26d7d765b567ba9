scriptencoding utf-8
" vime/table.vim: a table, vime://<file>//<table>, scrolled like a text file.
"
" The buffer holds a sliding window of a few pages, one table row a line:
" line 1 is row b:vime.start.  Rows count from 0 here and in the protocol; the
" user counts from 1, as with lines ({count}G, :VimeGoto, b:vime_row).  When
" the view comes near either end of the loaded rows, the window around it is
" asked for, and when it arrives every window on the table keeps the same rows
" on the same screen lines.  A move past the loaded rows waits in
" b:vime.pending and is made when they arrive.  Only the newest request draws
" (b:vime.ticket), so keys faster than the replies never draw twice.  The
" title and the column header stay in view through vime/header.vim.
"
" b:vime: rows and cols of the table (rows -1 until the first reply); start
" and stop of the loaded rows; col_start, col_stop and columns, the window of
" columns drawn; title and header, the backend's title and column header
" lines; dtypes of the columns drawn; plane; ticket; loading, the rows on their
" way; pending, the move that waits for them: {'row', 'top', 'winid'[,
" 'column']}.  A 'top' of -1 lets the editor scroll as little as it needs, -2
" centres the row when it is far.  derived: what a sorted or filtered view
" was made from (vime/derived.vim); search and match: the last search and
" the cell it found (vime/search.vim).

function! vime#table#show(path, name) abort
  let l:old = get(b:, 'vime', {})
  let l:same = get(l:old, 'kind', '') ==# 'table' && l:old.path ==# a:path
        \ && l:old.name ==# a:name && l:old.rows >= 0
  " :edit! keeps the row (the cursor is on line 1 by now), the columns, the
  " plane and the slice.
  let l:pending = l:same ? {'row': max([0, get(b:, 'vime_row', 1) - 1]), 'top': -2}
        \ : {'row': 0, 'top': 0}
  call vime#buffer#setup({'kind': 'table', 'path': a:path, 'name': a:name,
        \ 'rows': -1, 'cols': 0, 'start': 0, 'stop': 0,
        \ 'col_start': l:same ? l:old.col_start : 0, 'col_stop': 0, 'columns': [], 'dtypes': [],
        \ 'plane': l:same ? l:old.plane : [], 'slice': l:same ? l:old.slice : '',
        \ 'title': '', 'header': '',
        \ 'ticket': 0, 'loading': {}, 'pending': extend(l:pending, {'winid': win_getid()}),
        \ 'derived': vime#derived#of(a:path, a:name),
        \ 'search': l:same ? get(l:old, 'search', {}) : {}, 'match': {}, 'search_ticket': 0})
  let b:vime_row = 0
  augroup vime_table
    autocmd! * <buffer>
    autocmd CursorMoved <buffer> call vime#table#cursor_moved()
  augroup END
  call vime#plot#map_rows()
  call vime#buffer#set_lines(bufnr('%'), ['loading ' . a:name . ' ...'])
  call s:request(bufnr('%'), b:vime, s:window_start(b:vime, l:pending.row), {})
endfunction

" Draw the rows on screen again (R, :VimeRestart), keeping the view.
function! vime#table#load(bufnr) abort
  let l:state = getbufvar(a:bufnr, 'vime')
  call s:request(a:bufnr, l:state, l:state.start, {})
endfunction

" :VimePlane {i} [j ...]: the 2-D plane of an N-D dataset to page through
" (indexes of the leading axes; the default plane is all zeros).  A plane the
" backend refuses leaves the one on screen.
function! vime#table#plane(text) abort
  let l:state = get(b:, 'vime', {})
  if get(l:state, 'kind', '') !=# 'table'
    call vime#error(':VimePlane works in a table buffer')
    return
  endif
  let l:plane = map(split(a:text, '[, ]\+'), 'str2nr(v:val)')
  call s:request(bufnr('%'), l:state, l:state.start, {'plane': l:plane, 'slice': ''})
endfunction

" :VimeSlice [0, :, 5:10]: numpy indexing of an N-D dataset, checked by the
" backend; without an argument, back to the whole dataset.  A slice the
" backend refuses leaves the one on screen.
function! vime#table#slice(text) abort
  let l:state = get(b:, 'vime', {})
  if get(l:state, 'kind', '') !=# 'table'
    call vime#error(':VimeSlice works in a table buffer')
    return
  endif
  let l:state.pending = {'row': 0, 'top': 0, 'winid': win_getid()}
  call s:request(bufnr('%'), l:state, 0, {'slice': trim(a:text), 'plane': []})
endfunction

function! vime#table#action(name, count) abort
  let l:state = b:vime
  if a:name ==# 'column-left'
    call s:move_column(l:state, -max([1, a:count]))
  elseif a:name ==# 'column-right'
    call s:move_column(l:state, max([1, a:count]))
  elseif a:name =~# '^scroll-\|-columns$'
    let l:step = (a:name =~# 'right\|next' ? 1 : -1) * max([1, a:count])
    let l:native = a:name =~# '^scroll-' ? max([1, a:count]) . (l:step > 0 ? 'zl' : 'zh') : ''
    call s:shift_columns(l:state, l:step, l:native)
  else
    call vime#table#move(a:name, a:count)
  endif
endfunction

" -- moving through the rows -------------------------------------------------------

" A key that moves (down, up, half-down, half-up, page-down, page-up,
" next-page, prev-page, first-row, last-row), with its count (0: none).
function! vime#table#move(motion, count) abort
  let l:state = b:vime
  if l:state.rows < 0 && a:motion ==# 'last-row'
    let l:state.pending = {'row': -1, 'top': -1, 'winid': win_getid()}
  endif
  if l:state.rows <= 0
    return
  endif
  let l:pending = l:state.pending
  let l:row = empty(l:pending) ? l:state.start + line('.') - 1 : l:pending.row
  let l:top = empty(l:pending) || l:pending.top < 0 ? l:state.start + line('w0') - 1 : l:pending.top
  let [l:target, l:new_top, l:keys, l:at_end] = s:motion(l:state, a:motion, a:count, l:row, l:top)
  let l:target = max([0, min([l:target, l:state.rows - 1])])
  if l:target == l:row && (l:new_top < 0 || l:new_top == l:top) && !empty(l:at_end)
    call vime#message(l:at_end)
    return
  endif
  call s:go(l:state, l:target, l:new_top, empty(l:pending) ? l:keys : '')
endfunction

" [row, top, native keys or '', message when it cannot move] for a motion
" from row with top the first row on screen.
function! s:motion(state, motion, count, row, top) abort
  let l:height = winheight(0)
  let l:n = max([1, a:count])
  let l:last = a:state.rows - 1
  if a:motion ==# 'down' || a:motion ==# 'up'
    let l:step = a:motion ==# 'down' ? l:n : -l:n
    return [a:row + l:step, -1, l:n . (l:step > 0 ? 'j' : 'k'), '']
  elseif a:motion =~# '^half-'
    let l:half = a:count ? a:count : (&l:scroll > 0 ? &l:scroll : l:height / 2)
    let l:step = a:motion ==# 'half-down' ? l:half : -l:half
    return [a:row + l:step, a:top + l:step,
          \ (a:count ? a:count : '') . (l:step > 0 ? "\<C-d>" : "\<C-u>"), '']
  elseif a:motion ==# 'page-down'
    let l:top = a:top + l:n * max([1, l:height - 2])
    return [max([a:row, l:top]), l:top, l:n . "\<C-f>", '']
  elseif a:motion ==# 'page-up'
    let l:top = a:top - l:n * max([1, l:height - 2])
    return [min([a:row, l:top + l:height - 1]), l:top, l:n . "\<C-b>", '']
  elseif a:motion ==# 'next-page' || a:motion ==# 'prev-page'
    let l:step = l:n * s:page_rows() * (a:motion ==# 'next-page' ? 1 : -1)
    let l:top = max([0, min([a:top + l:step, a:state.rows - l:height])])
    let l:row = a:row + l:top - a:top
    if l:row == a:row
      let l:row = a:row + l:step
    endif
    return [l:row, l:top, '', a:motion ==# 'next-page' ? 'last page' : 'first page']
  elseif a:motion ==# 'first-row'
    return a:count ? [a:count - 1, -2, '', ''] : [0, 0, '', '']
  elseif a:motion ==# 'last-row'
    return a:count ? [a:count - 1, -2, '', ''] : [l:last, a:state.rows - l:height, '', '']
  endif
  throw 'vime: unknown motion ' . a:motion
endfunction

" Go to row (from 0) with top the first row on screen (or -1, -2, see above),
" now when the rows are loaded, else when they arrive.
function! s:go(state, row, top, keys) abort
  let l:height = winheight(0)
  let l:row = max([0, min([a:row, a:state.rows - 1])])
  let l:top = a:top < 0 ? a:top : max([0, min([a:top, a:state.rows - l:height])])
  let l:view_loaded = l:top < 0
        \ || (l:top >= a:state.start && min([l:top + l:height, a:state.rows]) <= a:state.stop)
  if l:row >= a:state.start && l:row < a:state.stop && l:view_loaded
    let a:state.pending = {}
    if empty(a:keys)
      call s:place(a:state, l:row, l:top, s:view_rows(a:state))
    else
      execute 'normal!' a:keys
    endif
  else
    let a:state.pending = {'row': l:row, 'top': l:top, 'winid': win_getid()}
    let l:loading = a:state.loading
    if empty(l:loading) || l:row < l:loading.start || l:row >= l:loading.stop
      call s:request(bufnr('%'), a:state, s:window_start(a:state, l:row), {})
    endif
  endif
  call vime#table#cursor_moved()
endfunction

" The current window's cursor and first row on screen, as rows.
function! s:view_rows(state) abort
  return extend(winsaveview(), {'row': a:state.start + line('.') - 1,
        \ 'top': a:state.start + line('w0') - 1})
endfunction

" Put the current window's cursor on row with top the first row on screen;
" view (from s:view_rows) is where the window was.
function! s:place(state, row, top, view) abort
  let l:lnum = max([1, min([a:row - a:state.start + 1, line('$')])])
  let l:height = winheight(0)
  let l:top = a:top
  if l:top == -2 && a:row >= a:view.top && a:row < a:view.top + l:height
    let l:top = -1  " already on screen: no need to centre it
  endif
  if l:top == -2
    let l:topline = l:lnum - l:height / 2
  elseif l:top == -1
    let l:topline = a:view.top - a:state.start + 1
  else
    let l:topline = l:top - a:state.start + 1
  endif
  " No blank lines past the end of the table when its rows fill the window.
  if a:state.stop >= a:state.rows
    let l:topline = min([l:topline, line('$') - l:height + 1])
  endif
  let l:topline = max([1, min([l:topline, l:lnum])])
  call winrestview(extend(copy(a:view), {'lnum': l:lnum, 'topline': l:topline}))
endfunction

" :VimeGoto {row}: 1-based like {count}G; "1,000,000", "-1" (the last row)
" and "50%" are fine; a row past either end goes to that end.
function! vime#table#goto(text) abort
  let l:state = get(b:, 'vime', {})
  if get(l:state, 'kind', '') !=# 'table' || l:state.rows < 0
    call vime#error(':VimeGoto works in a table buffer')
    return
  endif
  let l:row = s:parse_row(trim(a:text), l:state.rows)
  if l:row < 0
    call vime#error('not a row: ' . trim(a:text))
  elseif l:state.rows > 0
    call s:go(l:state, l:row, -2, '')
  endif
endfunction

" The row (from 0) that text names, or -1 when it names none.
function! s:parse_row(text, rows) abort
  let l:last = max([0, a:rows - 1])
  if a:text ==# '$'
    return l:last
  elseif a:text =~# '^\d\+\%(\.\d*\)\=%$'
    " As N% in Vim: the line at N percent, rounded up.
    let l:row = float2nr(ceil(str2float(a:text) * a:rows / 100.0)) - 1
    return max([0, min([l:row, l:last])])
  elseif a:text !~# '^-\=\%(\d\{1,3}\%(,\d\{3}\)\+\|\d\+\%(_\d\+\)*\)$'
    return -1
  endif
  let l:number = str2nr(substitute(a:text, '[,_]', '', 'g'))
  let l:row = l:number < 0 ? a:rows + l:number : l:number - 1
  return max([0, min([l:row, l:last])])
endfunction

" In a table, ':123' (and ':$') on the command line go to that row: the
" buffer holds only some rows, so line numbers would not mean rows.
function! vime#table#command_line_enter() abort
  let l:line = getcmdline()
  if getcmdtype() ==# ':' && l:line =~# '^\s*\%(\d\+\|\$\)\s*$'
    return "\<C-U>VimeGoto " . trim(l:line) . "\<CR>"
  endif
  return "\<CR>"
endfunction

" b:vime_row is the row under the cursor (from 1); rows near the view load.
function! vime#table#cursor_moved() abort
  let l:state = get(b:, 'vime', {})
  if get(l:state, 'kind', '') !=# 'table' || l:state.rows < 0
    return
  endif
  let b:vime_row = l:state.rows == 0 ? 0 : l:state.start + line('.')
  call vime#header#scrolled()
endfunction

" Ask for the rows around the view of a window on the table when it comes
" within a margin of either end of the loaded rows (and they are not on
" their way already).  The buffer holds one window of rows: the current
" window decides (else the first on the table), and a move waiting for rows
" goes first.
function! vime#table#check(bufnr) abort
  let l:state = getbufvar(a:bufnr, 'vime', {})
  let l:windows = win_findbuf(a:bufnr)
  if get(l:state, 'rows', 0) <= 0 || !empty(l:state.pending) || empty(l:windows)
    return
  endif
  let l:winid = index(l:windows, win_getid()) >= 0 ? win_getid() : l:windows[0]
  let l:margin = s:margin()
  let l:first = l:state.start + line('w0', l:winid) - 1
  let l:last = l:state.start + line('w$', l:winid) - 1
  let l:low = max([0, l:first - l:margin])
  let l:high = min([l:state.rows, l:last + l:margin + 1])
  if (l:low < l:state.start || l:high > l:state.stop) && !s:on_the_way(l:state, l:low, l:high)
    call s:request(a:bufnr, l:state, s:window_start(l:state, (l:first + l:last) / 2), {})
  endif
endfunction

function! s:on_the_way(state, low, high) abort
  let l:loading = a:state.loading
  return !empty(l:loading) && a:low >= l:loading.start
        \ && a:high <= min([l:loading.stop, a:state.rows])
endfunction

" Rows per page for ]] and [[; the buffer holds three pages, and at least
" four screens.
function! s:page_rows() abort
  return max([1, get(g:, 'vime_page_rows', 100)])
endfunction

function! s:span() abort
  return max([3 * s:page_rows(), 4 * &lines])
endfunction

" Within a screen of the end of the loaded rows, the next ones are asked for:
" a burst of keys or wheel turns is read at once, with no event in between.
function! s:margin() abort
  return &lines
endfunction

" The first row of the window of rows centred on row.
function! s:window_start(state, row) abort
  let l:start = a:row - s:span() / 2
  if a:state.rows >= 0
    let l:start = min([l:start, a:state.rows - s:span()])
  endif
  return max([0, l:start])
endfunction

" Columns drawn at once: g:vime_col_count, else as many as might fit.
function! s:col_count() abort
  return max([1, get(g:, 'vime_col_count', max([5, &columns / 8]))])
endfunction

" -- loading and drawing -----------------------------------------------------------

" Ask for the rows from start; overrides (plane, slice, col_start) take effect
" only when the reply is good, so a refused plane keeps the one on screen.
function! s:request(bufnr, state, start, overrides) abort
  let a:state.ticket += 1
  let l:count = s:span()
  let l:plane = get(a:overrides, 'plane', a:state.plane)
  let l:slice = get(a:overrides, 'slice', a:state.slice)
  let l:params = {'name': a:state.name, 'start': a:start, 'count': l:count,
        \ 'col_start': get(a:overrides, 'col_start', a:state.col_start),
        \ 'col_count': s:col_count()}
  if !empty(l:plane)
    let l:params.plane = l:plane
  endif
  if !empty(l:slice)
    let l:params.slice = l:slice
  endif
  let a:state.loading = {'start': a:start, 'stop': a:start + l:count}
  call vime#request(a:state.path, 'table', l:params,
        \ function('s:on_rows', [a:bufnr, a:state.ticket, l:plane, l:slice]))
endfunction

function! s:on_rows(bufnr, ticket, plane, slice, result) abort
  let l:state = getbufvar(a:bufnr, 'vime', {})
  if empty(l:state) || a:ticket != l:state.ticket
    return
  endif
  let l:state.loading = {}
  if !get(a:result, 'ok', 0)
    let l:state.pending = {}
    call vime#fail(a:result)
    if l:state.rows < 0
      call vime#buffer#set_lines(a:bufnr, ['vime: ' . a:result.error])
    endif
    call vime#buffer#drawn(a:bufnr)
    return
  endif
  let l:views = s:views(a:bufnr, l:state)
  if l:state.rows < 0
    " A table opens at its left edge, whatever the window showed before.
    call map(l:views, 'extend(v:val, {"leftcol": 0})')
  endif
  let l:lines = split(a:result.content, "\n", 1)
  while len(l:lines) > 3 && empty(l:lines[-1])
    call remove(l:lines, -1)
  endwhile
  call extend(l:state, {'rows': a:result.shape[0], 'cols': a:result.shape[1],
        \ 'start': a:result.start, 'stop': a:result.stop, 'plane': a:plane, 'slice': a:slice,
        \ 'col_start': get(a:result, 'col_start', 0),
        \ 'col_stop': get(a:result, 'col_stop', len(a:result.columns)),
        \ 'columns': a:result.columns, 'dtypes': get(a:result, 'dtypes', []),
        \ 'title': l:lines[0], 'header': get(l:lines, 2, '')})
  call vime#buffer#set_lines(a:bufnr, l:state.rows == 0 ? ['(no rows)'] : l:lines[3:])
  call vime#search#highlight(a:bufnr)
  call vime#remember_table(l:state.path, l:state.name)
  call s:settle_pending(a:bufnr, l:state)
  for [l:winid, l:view] in items(l:views)
    call win_execute(l:winid, 'call vime#table#restore(' . string(l:view) . ')')
  endfor
  call vime#header#refresh(a:bufnr)
  call vime#buffer#drawn(a:bufnr)
  call vime#table#check(a:bufnr)
endfunction

" Where each window on the table is, in rows, before its lines change.
function! s:views(bufnr, state) abort
  let l:views = {}
  for l:winid in win_findbuf(a:bufnr)
    let l:view = {}
    call win_execute(l:winid, 'let l:view = s:view_rows(a:state)')
    let l:views[l:winid] = l:view
  endfor
  return l:views
endfunction

" A move that waited for the rows goes now, or waits for the next reply.
function! s:settle_pending(bufnr, state) abort
  let l:pending = a:state.pending
  if empty(l:pending) || a:state.rows == 0
    let a:state.pending = {}
    return
  endif
  if l:pending.row < 0  " G before the first reply
    let l:pending.row = a:state.rows - 1
    let l:pending.top = a:state.rows - winheight(l:pending.winid)
  endif
  if l:pending.row < a:state.start || l:pending.row >= a:state.stop
    call s:request(a:bufnr, a:state, s:window_start(a:state, l:pending.row), {})
  endif
endfunction

" Runs in each window on the table after new rows are drawn: the same rows
" stay on the same screen lines, or the move that waited for them is made.
function! vime#table#restore(view) abort
  let l:state = b:vime
  let l:pending = l:state.pending
  if !empty(l:pending) && l:pending.winid == win_getid()
        \ && l:pending.row >= l:state.start && l:pending.row < l:state.stop
    let l:state.pending = {}
    call s:place(l:state, l:pending.row, l:pending.top, a:view)
    if has_key(l:pending, 'column')
      call s:cursor_to_column(l:state, l:pending.column)
    endif
  else
    call s:place(l:state, a:view.row, a:view.top, a:view)
  endif
  let b:vime_row = l:state.rows == 0 ? 0 : l:state.start + line('.')
endfunction

" -- columns -----------------------------------------------------------------------

" zl zh ]c [c: show the next or previous columns of a table wider than the
" columns drawn; zl and zh scroll the screen when every column is drawn.
function! s:shift_columns(state, step, native) abort
  if a:state.rows < 0
    return
  endif
  if a:state.col_stop - a:state.col_start >= a:state.cols
    if !empty(a:native)
      execute 'normal!' a:native
    else
      call vime#message('all ' . a:state.cols . ' columns are shown')
    endif
    return
  endif
  let l:col_start = max([0, min([a:state.col_start + a:step, a:state.cols - 1])])
  if l:col_start == a:state.col_start
    call vime#message(a:step > 0 ? 'last column' : 'first column')
    return
  endif
  let l:view = s:view_rows(a:state)
  let a:state.pending = {'row': l:view.row, 'top': l:view.top, 'winid': win_getid(),
        \ 'column': s:column_under_cursor(a:state)}
  call s:request(bufnr('%'), a:state, a:state.start, {'col_start': l:col_start})
endfunction

" :VimeColumns [name ...]: show only these columns, in this order, or all of
" them again; the choice is saved with the column order.
function! vime#table#choose_columns(text) abort
  let l:state = get(b:, 'vime', {})
  if get(l:state, 'kind', '') !=# 'table'
    call vime#error(':VimeColumns works in a table buffer')
    return
  endif
  if vime#too_many_columns(l:state.path, l:state.name)
    call vime#error(l:state.name . ' has too many columns to choose from ('
          \ . vime#view#number(l:state.cols) . '); ]c and [c move across them')
    return
  endif
  let l:chosen = split(a:text, '[, ]\+')
  let l:params = {'name': l:state.name, 'hidden': []}
  if !empty(l:chosen)
    let l:others = filter(vime#columns(l:state.path, l:state.name),
          \ 'index(l:chosen, v:val) < 0')
    call extend(l:params, {'order': l:chosen + l:others, 'hidden': l:others})
  endif
  call vime#request(l:state.path, 'columns', l:params,
        \ function('s:on_columns', [bufnr('%'), 0, '']))
endfunction

" Move the column under the cursor by step places in the table's whole
" column order; the backend saves it.
function! s:move_column(state, step) abort
  let l:name = s:column_under_cursor(a:state)
  if empty(l:name)
    call vime#message('put the cursor on a column, not the index')
    return
  endif
  if vime#too_many_columns(a:state.path, a:state.name)
    call vime#error(a:state.name . ' has too many columns to reorder')
    return
  endif
  let l:order = vime#columns(a:state.path, a:state.name)
  let l:from = index(l:order, l:name)
  let l:to = max([0, min([l:from + a:step, len(l:order) - 1])])
  if l:from < 0 || l:to == l:from
    return
  endif
  call insert(l:order, remove(l:order, l:from), l:to)
  " Keep the moved column in the window of columns drawn.
  let l:col_start = a:state.col_start
  if l:to < l:col_start
    let l:col_start = l:to
  elseif l:to >= a:state.col_stop
    let l:col_start += l:to - a:state.col_stop + 1
  endif
  call vime#request(a:state.path, 'columns', {'name': a:state.name, 'order': l:order},
        \ function('s:on_columns', [bufnr('%'), l:col_start, l:name]))
endfunction

function! s:on_columns(bufnr, col_start, column, result) abort
  let l:state = getbufvar(a:bufnr, 'vime', {})
  if empty(l:state)
    return
  elseif !get(a:result, 'ok', 0)
    call vime#fail(a:result)
    return
  endif
  let l:pending = {'row': l:state.start, 'top': l:state.start, 'winid': 0, 'column': a:column}
  let l:windows = win_findbuf(a:bufnr)
  if !empty(l:windows)
    let l:view = {}
    call win_execute(l:windows[0], 'let l:view = s:view_rows(l:state)')
    let l:pending = extend(l:pending, {'row': l:view.row, 'top': l:view.top, 'winid': l:windows[0]})
  endif
  let l:state.pending = l:pending
  call s:request(a:bufnr, l:state, l:state.start, {'col_start': a:col_start})
endfunction

function! s:column_under_cursor(state) abort
  let l:spans = s:column_spans(a:state, bufnr('%'))
  if empty(l:spans)
    return ''
  endif
  let l:index = s:span_at(l:spans, virtcol('.') - 1)
  return l:index < 0 ? '' : get(a:state.columns, l:index, '')
endfunction

" The cursor to the column named, at its first screen column; to the index
" (the start of the line) for a name that is not a column drawn.
function! s:cursor_to_column(state, name) abort
  let l:index = index(a:state.columns, a:name)
  let l:spans = s:column_spans(a:state, bufnr('%'))
  if l:index >= 0 && l:index < len(l:spans)
    execute 'normal! ' . (l:spans[l:index][0] + 1) . '|'
  elseif !empty(l:spans)
    normal! ^
  endif
endfunction

" The screen-column spans [first, last] of the data columns drawn, in order,
" or [] when they cannot be told apart.  tabulate separates columns by at
" least two spaces, so a run of two blanks down the header and every row is
" a border, and a single blank is inside a cell ("2024-01-01 10:00").  They
" are kept until the buffer's lines change (state.spans).
function! s:column_spans(state, bufnr) abort
  if empty(a:state.columns) || empty(a:state.header)
    return []
  endif
  let l:tick = getbufvar(a:bufnr, 'changedtick')
  let l:kept = get(a:state, 'spans', {})
  if get(l:kept, 'tick', -1) == l:tick && get(l:kept, 'header', '') ==# a:state.header
    return l:kept.spans
  endif
  " Rows with their blanks in the same places have the same words: ASCII
  " rows are reduced to that pattern, and each pattern is read once.
  let l:lines = [a:state.header] + getbufline(a:bufnr, 1, '$')
  let l:wide = filter(copy(l:lines), 'v:val =~# "[^\\x00-\\x7f]"')
  let l:ascii = filter(l:lines, 'v:val !~# "[^\\x00-\\x7f]"')
  let l:runs = []
  for l:line in uniq(sort(map(l:ascii, 'substitute(v:val, ''\S'', "x", "g")'))) + l:wide
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
  let l:spans = l:index_spans < 0 ? [] : l:spans[l:index_spans :]
  let a:state.spans = {'tick': l:tick, 'header': a:state.header, 'spans': l:spans}
  return l:spans
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

" The name of the column under the cursor; '' on the index.
function! vime#table#column_under_cursor() abort
  return s:column_under_cursor(b:vime)
endfunction

" The cell under the cursor: {'column': name ('' for the index), 'text': as
" shown, 'dtype': the column's ('' for the index)}; {} off the rows.
function! vime#table#cell_under_cursor() abort
  let l:state = b:vime
  if l:state.rows <= 0
    return {}
  endif
  let l:spans = s:column_spans(l:state, bufnr('%'))
  let l:index = empty(l:spans) ? -1 : s:span_at(l:spans, virtcol('.') - 1)
  let l:column = l:index < 0 ? '' : get(l:state.columns, l:index, '')
  let l:cell = s:cell(l:state, getline('.'), l:spans, l:column)
  return empty(l:cell) ? {} : {'column': l:column, 'text': l:cell.text,
        \ 'dtype': l:index < 0 ? '' : get(l:state.dtypes, l:index, '')}
endfunction

" The cell of a column (a name; '' or a name not drawn: the index) on line
" lnum of a table buffer: {'text', 'col', 'end'}, the text as shown and its
" byte columns (from 1, end excluded); {} when there is none.
function! vime#table#cell(bufnr, lnum, column) abort
  let l:state = getbufvar(a:bufnr, 'vime', {})
  let l:lines = getbufline(a:bufnr, 1, '$')
  if get(l:state, 'rows', 0) <= 0 || a:lnum < 1 || a:lnum > len(l:lines)
    return {}
  endif
  return s:cell(l:state, l:lines[a:lnum - 1], s:column_spans(l:state, a:bufnr), a:column)
endfunction

function! s:cell(state, line, spans, column) abort
  let l:index = index(a:state.columns, a:column)
  if l:index >= 0 && l:index < len(a:spans)
    let [l:first, l:last] = a:spans[l:index]
  elseif !empty(a:spans)
    let [l:first, l:last] = [0, a:spans[0][0] - 1]
  else
    let [l:first, l:last] = [0, strdisplaywidth(a:line) - 1]
  endif
  let l:start = s:byte_at(a:line, l:first)
  let l:raw = strpart(a:line, l:start, s:byte_at(a:line, l:last + 1) - l:start)
  let l:text = trim(l:raw)
  if empty(l:text)
    return {}
  endif
  let l:col = l:start + len(matchstr(l:raw, '^\s*')) + 1
  return {'text': l:text, 'col': l:col, 'end': l:col + len(l:text)}
endfunction

" The byte index (from 0) of screen column vcol (from 0) of a line.
function! s:byte_at(line, vcol) abort
  if a:line !~# '[^\x00-\x7f]'
    return min([a:vcol, len(a:line)])
  endif
  let l:width = 0
  let l:byte = 0
  for l:char in split(a:line, '\zs')
    if l:width >= a:vcol
      return l:byte
    endif
    let l:width += strdisplaywidth(l:char)
    let l:byte += len(l:char)
  endfor
  return l:byte
endfunction

" The row (from 0) the current window is on: where a move waiting for its
" rows goes, else the cursor's.
function! vime#table#current_row() abort
  let l:state = b:vime
  return empty(l:state.pending) ? l:state.start + line('.') - 1 : l:state.pending.row
endfunction

" Go to row (from 0) in the current window, the cursor on the cell of column
" (a name; '' for the index): now when the row is loaded, else when it
" arrives.  A column outside the window of columns drawn moves that window.
function! vime#table#reveal(row, column) abort
  let l:state = b:vime
  let l:outside = !empty(a:column) && index(l:state.columns, a:column) < 0
        \ && (l:state.col_start > 0 || l:state.col_stop < l:state.cols)
  if l:outside && !vime#too_many_columns(l:state.path, l:state.name)
    call vime#request(l:state.path, 'columns', {'name': l:state.name},
          \ function('s:on_column_order', [bufnr('%'), a:row, a:column]))
    return
  endif
  call s:go(l:state, a:row, -2, '')
  if empty(l:state.pending)
    call s:cursor_to_column(l:state, a:column)
  else
    let l:state.pending.column = a:column
  endif
  call vime#search#highlight(bufnr('%'))
endfunction

" The column order came: the window of columns starts at the column.
function! s:on_column_order(bufnr, row, column, result) abort
  let l:state = getbufvar(a:bufnr, 'vime', {})
  let l:windows = win_findbuf(a:bufnr)
  let l:at = get(a:result, 'ok', 0) ? index(a:result.columns, a:column) : -1
  if empty(l:state) || empty(l:windows)
    return
  elseif l:at < 0
    call win_execute(l:windows[0], 'call s:go(b:vime, ' . a:row . ', -2, "")')
    return
  endif
  let l:state.pending = {'row': a:row, 'top': -2, 'winid': l:windows[0], 'column': a:column}
  call s:request(a:bufnr, l:state, s:window_start(l:state, a:row), {'col_start': l:at})
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
