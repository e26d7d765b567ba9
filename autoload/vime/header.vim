scriptencoding utf-8
" vime/header.vim: a table's title and column header stay in view.
"
" The title names the table, its shape, the rows on screen (counted from 1),
" the window of columns drawn, what the backend adds (plane, slice) and, for
" a sorted or filtered view, its sort and filter and the table it shows.  vime#job#header_style() decides where they go:
"   'winbar'  the column header is the table window's 'winbar' and the title
"             its status line (Neovim 0.8 and later);
"   'window'  a header window of two lines, the title and the column header,
"             just above each table window, bound to its horizontal scroll
"             ('scrollbind', with 'scrollopt' "hor" while a table or its
"             header is the current window) (Vim, and Neovim 0.7).
" A header window lives as long as its table window shows the table: closing
" the table or showing another buffer in its window closes it, :only brings
" it back, and the cursor does not stay in it.
" vime#header#sync() puts the windows of the tab page right; it runs on the
" window events below.  g:vime_header = 0 turns headers off.

let s:height = 2
let s:sync_queued = 0
" What a table window's 'winbar' and 'statusline' are set to.
let s:winbar = '%!vime#header#winbar()'
let s:title_line = '%{get(w:, "vime_title", "")}'

augroup vime_header
  autocmd!
  autocmd BufWinEnter,WinNew,WinClosed,TabEnter,VimResized * call s:sync_later()
  autocmd WinScrolled * call vime#header#scrolled()
  autocmd QuitPre * call s:before_quit()
  autocmd WinEnter,BufEnter * call s:scroll_sideways_only()
  autocmd WinEnter * call s:leave_header()
augroup END

" After new rows are drawn: every window on the table gets its header and
" the header its text.
function! vime#header#refresh(bufnr) abort
  call s:scroll_sideways_only()
  if s:style() ==# 'window'
    for l:winid in win_findbuf(a:bufnr)
      if !s:has_header(l:winid)
        call s:open(l:winid)
      endif
    endfor
  else
    call s:sync_winbars()
  endif
  call s:update(a:bufnr)
endfunction

" The rows on screen changed: so does the title.  A window changed its size:
" the header windows keep their height.
function! vime#header#scrolled() abort
  let l:seen = {}
  for l:winid in s:tab_windows()
    let l:bufnr = winbufnr(l:winid)
    let l:kind = s:kind(l:winid)
    if l:kind ==# 'table' && !has_key(l:seen, l:bufnr)
      let l:seen[l:bufnr] = 1
      call s:update(l:bufnr)
      call vime#table#check(l:bufnr)
    elseif l:kind ==# 'header' && winheight(l:winid) != s:height
      execute win_id2win(l:winid) . 'resize' s:height
    endif
  endfor
endfunction

" Give each table window of the tab page its header, and close the headers
" whose table has gone.
function! vime#header#sync() abort
  let s:sync_queued = 0
  try
    if s:style() ==# 'winbar'
      call s:sync_winbars()
    else
      call s:sync_windows()
    endif
  catch
    " A mode that forbids window changes: the next window event tries again.
    call vime#job#log_line('header windows: ' . v:exception)
  endtry
endfunction

function! s:sync_windows() abort
  let l:bare = []
  for l:winid in s:tab_windows()
    let l:kind = s:kind(l:winid)
    if l:kind ==# 'header' && !s:owner_ok(l:winid)
      call s:close(l:winid)
    elseif l:kind ==# 'table' && !s:has_header(l:winid)
      call add(l:bare, l:winid)
    elseif l:kind !=# 'table' && getwinvar(l:winid, 'vime_scrollbind', 0)
      " The table left this window; so does the binding, which new windows
      " split from this one would inherit.
      call setwinvar(l:winid, '&scrollbind', 0)
      call setwinvar(l:winid, 'vime_scrollbind', 0)
    endif
  endfor
  for l:winid in l:bare
    if s:open(l:winid)
      call s:update(winbufnr(l:winid))
    endif
  endfor
  call vime#header#scrolled()
endfunction

" The title of the table in window winid, as shown in its header.
function! vime#header#title(winid) abort
  let l:state = getbufvar(winbufnr(a:winid), 'vime', {})
  if get(l:state, 'rows', -1) < 0
    return ''
  endif
  let l:parts = matchlist(l:state.title,
        \ '^\(.\{-}\)  \%(rows [0-9,]\+–[0-9,]\+\|no rows from [0-9,]\+\)\(.*\)$')
  let [l:head, l:tail] = empty(l:parts) ? [l:state.title, ''] : l:parts[1:2]
  if l:state.rows == 0
    let l:shown = 'no rows'
  else
    let l:shown = 'rows ' . vime#view#number(l:state.start + line('w0', a:winid)) . '–'
          \ . vime#view#number(l:state.start + line('w$', a:winid))
  endif
  if l:state.col_start > 0 || l:state.col_stop < l:state.cols
    let l:shown .= printf('  columns %s–%s of %s', vime#view#number(l:state.col_start + 1),
          \ vime#view#number(l:state.col_stop), vime#view#number(l:state.cols))
  endif
  " A sorted or filtered view is named after the table it shows.
  let l:derived = vime#derived#describe(l:state)
  if !empty(l:derived)
    let l:head = l:state.derived.origin . strpart(l:head, stridx(l:head, '  ['))
    let l:tail .= '  ' . l:derived
  endif
  return l:head . '  ' . l:shown . l:tail . vime#follow#title(winbufnr(a:winid))
endfunction

" For 'winbar': the column header, scrolled with the text of the window.  A
" %! expression keeps leading blanks (a %{} item loses one); '%' is doubled.
function! vime#header#winbar() abort
  let l:winid = get(g:, 'statusline_winid', win_getid())
  let l:header = get(getbufvar(winbufnr(l:winid), 'vime', {}), 'header', '')
  let l:text = repeat(' ', getwinvar(l:winid, 'vime_textoff', 0))
        \ . strcharpart(l:header, getwinvar(l:winid, 'vime_leftcol', 0))
  return substitute(l:text, '%', '%%', 'g')
endfunction

" -- header windows ----------------------------------------------------------------

function! s:style() abort
  return vime#job#header_style()
endfunction

function! s:tab_windows() abort
  return map(range(1, winnr('$')), 'win_getid(v:val)')
endfunction

function! s:kind(winid) abort
  return get(getbufvar(winbufnr(a:winid), 'vime', {}), 'kind', '')
endfunction

function! s:has_header(winid) abort
  let l:header = getwinvar(a:winid, 'vime_header', 0)
  return l:header && win_id2win(l:header) > 0 && s:owner_ok(l:header)
endfunction

" A header window is right: its table window shows a table, has it as its
" header, and is just below it (a split may have come between them).
function! s:owner_ok(header) abort
  let l:owner = getwinvar(a:header, 'vime_header_for', 0)
  if win_id2win(l:owner) == 0 || s:kind(l:owner) !=# 'table'
        \ || getwinvar(l:owner, 'vime_header', 0) != a:header
    return 0
  endif
  let [l:row, l:col] = win_screenpos(a:header)
  return win_screenpos(l:owner) == [l:row + winheight(a:header) + 1, l:col]
        \ && winwidth(l:owner) == winwidth(a:header)
endfunction

" A header window above the table window winid; 0 when there is no room or
" headers are off.
function! s:open(winid) abort
  if !get(g:, 'vime_header', 1) || winheight(a:winid) < s:height + 3
    return 0
  endif
  let l:current = win_getid()
  try
    noautocmd call win_gotoid(a:winid)
    let l:leftcol = winsaveview().leftcol
    noautocmd execute 'silent aboveleft' s:height . 'new'
    let b:vime = {'kind': 'header'}
    let w:vime_header_for = a:winid
    setlocal buftype=nofile bufhidden=wipe nobuflisted noswapfile nomodifiable nowrap
    setlocal nonumber norelativenumber nolist nospell nocursorline nocursorcolumn
    setlocal winfixheight scrollbind foldcolumn=0
    if exists('+signcolumn')
      setlocal signcolumn=no
    endif
    if exists('+colorcolumn')
      setlocal colorcolumn=
    endif
    call vime#buffer#syntax()
    let l:header = win_getid()
    noautocmd call win_gotoid(a:winid)
    setlocal scrollbind
    let w:vime_header = l:header
    let w:vime_scrollbind = 1
    call win_execute(l:header, 'call winrestview({"leftcol": ' . l:leftcol . '})')
    return 1
  catch
    " Not now (no room, or a mode that forbids new windows): the next
    " window event tries again.
    call vime#job#log_line('no header window: ' . v:exception)
    return 0
  finally
    noautocmd call win_gotoid(l:current)
  endtry
endfunction

" Close the header window of the table window winid, if it has one.
function! vime#header#close(winid) abort
  if s:has_header(a:winid)
    execute win_id2win(getwinvar(a:winid, 'vime_header')) . 'close'
  endif
endfunction

" Close a header window; the last window of the tab page shows its table
" again instead (as :close refuses to close the last window).
function! s:close(header) abort
  if winnr('$') > 1
    execute win_id2win(a:header) . 'close'
    return
  endif
  let l:table = getwinvar(a:header, 'vime_table_bufnr', 0)
  call win_execute(a:header, 'unlet! w:vime_header_for')
  if l:table > 0 && bufexists(l:table)
    call win_execute(a:header, 'buffer ' . l:table)
  else
    call win_execute(a:header, 'enew')
  endif
endfunction

" The text of the headers of every window on the table; a header window's
" lines are written only when they change (this runs on every move).
function! s:update(bufnr) abort
  let l:state = getbufvar(a:bufnr, 'vime', {})
  if get(l:state, 'rows', -1) < 0
    return
  endif
  let l:winbar = s:style() ==# 'winbar'
  for l:winid in win_findbuf(a:bufnr)
    let l:title = vime#header#title(l:winid)
    let l:textoff = getwininfo(l:winid)[0].textoff
    let l:view = {}
    call win_execute(l:winid, 'let l:view = winsaveview()')
    call setwinvar(l:winid, 'vime_title', l:title)
    call setwinvar(l:winid, 'vime_textoff', l:textoff)
    call setwinvar(l:winid, 'vime_leftcol', l:view.leftcol)
    if !l:winbar && s:has_header(l:winid)
      let l:header = getwinvar(l:winid, 'vime_header')
      let l:pad = repeat(' ', l:textoff)
      let l:lines = [l:pad . l:title, l:pad . l:state.header]
      if getbufline(winbufnr(l:header), 1, '$') != l:lines
        call setwinvar(l:header, 'vime_table_bufnr', a:bufnr)
        call setwinvar(l:header, '&statusline',
              \ ' ' . escape(fnamemodify(l:state.path, ':~'), '%\'))
        call vime#buffer#set_lines(winbufnr(l:header), l:lines)
      endif
      " 'scrollbind' follows the current window only; a table scrolled
      " while another window was current is caught up here.
      call win_execute(l:header, 'if winsaveview().leftcol != ' . l:view.leftcol
            \ . ' | call winrestview({"leftcol": ' . l:view.leftcol . '}) | endif')
    endif
  endfor
  if l:winbar
    " The winbar and the status line read the window variables set above.
    redrawstatus!
  endif
endfunction

function! s:sync_later() abort
  if !s:sync_queued
    let s:sync_queued = 1
    call timer_start(0, {-> vime#header#sync()})
  endif
endfunction

" A header window is no place for the cursor: entering it (CTRL-W k, :close
" of the window below it) goes on to its table.
function! s:leave_header() abort
  let l:owner = getwinvar(win_getid(), 'vime_header_for', 0)
  if l:owner && win_id2win(l:owner) > 0
    call win_gotoid(l:owner)
  endif
endfunction

" :q in a table window closes its header first, so that the editor quits
" when no other window is left.
function! s:before_quit() abort
  call vime#header#close(win_getid())
endfunction

" 'scrollopt' is global: "hor" only while a table or a header is the current
" window, so that their binding never scrolls the header down with the rows.
function! s:scroll_sideways_only() abort
  let l:ours = index(['table', 'header'], s:kind(win_getid())) >= 0
  if l:ours && !exists('s:scrollopt')
    let s:scrollopt = &scrollopt
    set scrollopt=hor
  elseif !l:ours && exists('s:scrollopt')
    let &scrollopt = s:scrollopt
    unlet s:scrollopt
  endif
endfunction

" -- winbar ------------------------------------------------------------------------

" Table windows get the winbar and the title line; other windows lose them
" (a window split from a table window has them too).
function! s:sync_winbars() abort
  for l:winid in s:tab_windows()
    let l:table = s:kind(l:winid) ==# 'table'
    if l:table != (getwinvar(l:winid, '&statusline') ==# s:title_line)
      call vime#job#set_winbar(l:winid, l:table ? s:winbar : '')
      call setwinvar(l:winid, '&statusline', l:table ? s:title_line : '')
    endif
  endfor
endfunction
