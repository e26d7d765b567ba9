scriptencoding utf-8
" vime/follow.vim: follow a file another program is writing, like tail -f.
"
" The backend watches (method 'watch', in a worker) and pushes 'grown {name,
" path, rows, previous}' when a table's row count changes; the editor never
" polls.  Three kinds of views follow:
"   a table buffer after :VimeFollow: the last rows stay in view and the title
"       says 'following · +1,000 rows 0.4 s ago'; :VimeFollow! or a motion away
"       from the end (the cursor above the row it was put on) stops it;
"   a plot after :VimePlot ... follow: the last g:vime_follow_rows rows
"       (default 10,000), drawn again as rows arrive, one plot at a time;
"   the list of a file the backend says is being written: it watches every
"       table, and marks the ones that grew since the list first drew them.
" A table is watched once however many views follow it (s:watches counts
" them); the last view to stop sends 'unwatch'.

" bufnr -> {'kind', 'path', 'name', 'rows' (the last count told), 'added' and
" 'at' (how many rows the last growth added, and when), ...}
let s:following = {}
let s:watches = {}    " path . "\n" . name -> {'count', 'generation'}
let s:writing = {}    " path -> the 'writing' and 'warning' of its last listing
let s:drawn = {}      " path -> {name: rows when the list first drew the table}
let s:stale_lists = {}  " bufnr -> 1: a hidden list to reload when it is shown
let s:subscribed = 0

function! s:subscribe() abort
  if !s:subscribed
    let s:subscribed = 1
    call vime#job#on('grown', function('vime#follow#on_grown'))
    call vime#job#on('watch_error', function('vime#follow#on_watch_error'))
  endif
endfunction

" -- :VimeFollow -------------------------------------------------------------------

" :VimeFollow in a table buffer; with ! (stop) it stops.
function! vime#follow#command(stop) abort
  let l:state = get(b:, 'vime', {})
  if get(l:state, 'kind', '') !=# 'table'
    call vime#error(':VimeFollow works in a table buffer')
  elseif a:stop
    call vime#follow#stop(bufnr('%'))
  elseif has_key(s:following, bufnr('%'))
    call vime#message('already following ' . l:state.name . ' (:VimeFollow! stops)')
  else
    call s:start(bufnr('%'), {'kind': 'table', 'path': l:state.path, 'name': l:state.name,
          \ 'rows': -1, 'added': 0, 'at': [], 'target': -1})
    augroup vime_follow
      autocmd! CursorMoved <buffer>
      autocmd CursorMoved <buffer> call s:cursor_moved()
    augroup END
    call vime#message('following ' . l:state.name . ' (:VimeFollow! stops)')
  endif
endfunction

" Stop following in a buffer (its watch ends when no other view follows it).
function! vime#follow#stop(bufnr) abort
  if !has_key(s:following, a:bufnr)
    return
  endif
  let l:follow = remove(s:following, a:bufnr)
  call s:unwatch(l:follow.path, l:follow.name)
  if l:follow.kind ==# 'table'
    call s:redraw_title(a:bufnr)
    call vime#message('stopped following ' . l:follow.name)
  endif
endfunction

function! vime#follow#following(bufnr) abort
  return has_key(s:following, a:bufnr)
endfunction

" What the title line of a table adds while it follows.
function! vime#follow#title(bufnr) abort
  let l:follow = get(s:following, a:bufnr, {})
  if get(l:follow, 'kind', '') !=# 'table'
    return ''
  elseif empty(l:follow.at)
    return '  following'
  endif
  return printf('  following · %s%s rows %.1f s ago', l:follow.added < 0 ? '' : '+',
        \ vime#view#number(l:follow.added), reltimefloat(reltime(l:follow.at)))
endfunction

function! s:start(bufnr, follow) abort
  call s:subscribe()
  let s:following[a:bufnr] = a:follow
  augroup vime_follow
    execute 'autocmd! BufWipeout <buffer=' . a:bufnr . '>'
    execute 'autocmd BufWipeout <buffer=' . a:bufnr . '> call vime#follow#stop(' . a:bufnr . ')'
  augroup END
  call s:watch(a:follow.path, a:follow.name, function('s:on_watching', [a:bufnr]))
endfunction

function! s:on_watching(bufnr, result) abort
  let l:follow = get(s:following, a:bufnr, {})
  if empty(l:follow)
    return
  elseif !get(a:result, 'ok', 0)
    call remove(s:following, a:bufnr)
    call vime#fail(a:result)
    return
  endif
  call s:arrived(a:bufnr, l:follow, a:result.rows)
endfunction

" Rows to show: the table goes to its last row, the plot draws the last ones
" (the list reloads on 'grown', see vime#follow#on_grown()).
function! s:arrived(bufnr, follow, rows) abort
  let a:follow.rows = a:rows
  if a:follow.kind ==# 'plot'
    call s:plot(a:bufnr, a:follow)
    return
  elseif a:follow.kind !=# 'table'
    return
  endif
  let l:state = getbufvar(a:bufnr, 'vime', {})
  if get(l:state, 'rows', -1) < 0
    " Not drawn yet: its first rows will do.
    return
  endif
  if s:moved_away(a:bufnr, l:state, a:follow)
    " Keys typed ahead move the cursor without a CursorMoved event.
    call vime#follow#stop(a:bufnr)
    return
  endif
  let l:state.rows = max([a:rows, 0])
  let l:windows = win_findbuf(a:bufnr)
  if empty(l:windows)
    " Hidden: it goes to the end at the next growth after it is shown.
    return
  endif
  let a:follow.target = a:rows - 1
  for l:winid in l:windows
    if l:winid == win_getid()
      call vime#table#move('last-row', 0)
    else
      call win_execute(l:winid, 'call vime#table#move("last-row", 0)')
    endif
  endfor
  call s:redraw_title(a:bufnr)
endfunction

" Whether a window on the table has its cursor above the row following put it on.
function! s:moved_away(bufnr, state, follow) abort
  if a:follow.target < 0 || !empty(a:state.pending)
    return 0
  endif
  for l:winid in win_findbuf(a:bufnr)
    if a:state.start + line('.', l:winid) - 1 < a:follow.target
      return 1
    endif
  endfor
  return 0
endfunction

function! s:redraw_title(bufnr) abort
  if bufexists(a:bufnr) && !empty(win_findbuf(a:bufnr))
    call vime#header#refresh(a:bufnr)
  endif
endfunction

" A motion that leaves the end of the table stops following.
function! s:cursor_moved() abort
  let l:follow = get(s:following, bufnr('%'), {})
  let l:state = get(b:, 'vime', {})
  if get(l:follow, 'kind', '') !=# 'table' || get(l:state, 'rows', -1) <= 0
    return
  endif
  if s:moved_away(bufnr('%'), l:state, l:follow)
    call vime#follow#stop(bufnr('%'))
  endif
endfunction

" -- pushed notifications ------------------------------------------------------------

function! vime#follow#on_grown(params) abort
  let l:path = get(a:params, 'path', '')
  let l:name = get(a:params, 'name', '')
  for [l:bufnr, l:follow] in items(s:following)
    " The watch of the table and the list's watch of the file both tell.
    if l:follow.path ==# l:path && l:follow.name ==# l:name && a:params.rows != l:follow.rows
      let l:follow.added = a:params.rows - max([0, l:follow.rows])
      let l:follow.at = reltime()
      call s:arrived(str2nr(l:bufnr), l:follow, a:params.rows)
    endif
  endfor
  for l:bufnr in vime#buffer#all('list', l:path)
    call s:reload_list(l:bufnr)
  endfor
endfunction

function! vime#follow#on_watch_error(params) abort
  let l:what = empty(a:params.name) ? a:params.path : a:params.name
  call vime#error('stopped following ' . l:what . ': ' . a:params.error)
  for [l:bufnr, l:follow] in items(s:following)
    if l:follow.path ==# a:params.path && (l:follow.name ==# a:params.name
          \ || empty(a:params.name) && l:follow.kind ==# 'list')
      call remove(s:following, l:bufnr)
      let l:key = s:key(l:follow.path, l:follow.name)
      if has_key(s:watches, l:key)
        call remove(s:watches, l:key)
      endif
    endif
  endfor
endfunction

" -- watches, counted ---------------------------------------------------------------

function! s:key(path, name) abort
  return a:path . "\n" . a:name
endfunction

" Watch a table (name '' for every table of the file); Callback gets the reply,
" or a made-up one when the table is watched already.
function! s:watch(path, name, Callback) abort
  let l:key = s:key(a:path, a:name)
  let l:watch = get(s:watches, l:key, {'count': 0, 'generation': -1})
  let l:watch.count += 1
  let s:watches[l:key] = l:watch
  if l:watch.generation == vime#job#generation() && l:watch.count > 1
    call vime#request(a:path, 'tables', {}, function('s:as_watch_reply', [a:name, a:Callback]))
    return
  endif
  let l:watch.generation = vime#job#generation()
  let l:params = empty(a:name) ? {} : {'name': a:name}
  call vime#request(a:path, 'watch', l:params, a:Callback)
endfunction

" The rows of a table already watched, from a listing.
function! s:as_watch_reply(name, Callback, result) abort
  if !get(a:result, 'ok', 0)
    call a:Callback(a:result)
    return
  endif
  let l:rows = 0
  for l:table in a:result.tables
    if l:table.name ==# a:name
      let l:rows = l:table.rows
    endif
  endfor
  call a:Callback({'ok': 1, 'rows': l:rows, 'name': a:name})
endfunction

function! s:unwatch(path, name) abort
  let l:key = s:key(a:path, a:name)
  let l:watch = get(s:watches, l:key, {})
  if empty(l:watch)
    return
  endif
  let l:watch.count -= 1
  if l:watch.count > 0
    return
  endif
  call remove(s:watches, l:key)
  if l:watch.generation == vime#job#generation() && vime#job#status().running
    let l:params = empty(a:name) ? {} : {'name': a:name}
    call vime#request(a:path, 'unwatch', l:params, function('s:on_unwatched'))
  endif
endfunction

function! s:on_unwatched(result) abort
  if !get(a:result, 'ok', 0)
    call vime#fail(a:result)
  endif
endfunction

" -- :VimePlot ... follow ---------------------------------------------------------------

" Draw a plot buffer; a request with 'follow' draws the last rows, and again as
" they arrive.
function! vime#follow#plot(bufnr) abort
  let l:state = getbufvar(a:bufnr, 'vime')
  call vime#follow#stop(a:bufnr)
  if !get(l:state.request, 'follow', 0)
    call vime#view#load(a:bufnr)
    return
  endif
  call vime#buffer#set_lines(a:bufnr, ['waiting for the rows of ' . l:state.name . ' ...'])
  call s:start(a:bufnr, {'kind': 'plot', 'path': l:state.path, 'name': l:state.name,
        \ 'added': 0, 'at': [], 'drawing': 0, 'rows': -1})
endfunction

function! s:plot(bufnr, follow) abort
  let l:rows = a:follow.rows
  if a:follow.drawing || !bufexists(a:bufnr)
    " Drawn again with the newest rows once this plot is drawn.
    return
  endif
  let l:request = getbufvar(a:bufnr, 'vime').request
  let l:request.stop = l:rows
  let l:request.start = max([0, l:rows - max([1, get(g:, 'vime_follow_rows', 10000)])])
  let a:follow.drawing = l:rows
  call vime#view#load(a:bufnr)
endfunction

" A view was drawn (User VimeDrawn): a plot or a list that rows passed meanwhile
" is drawn again.
function! s:drawn() abort
  let l:bufnr = get(get(g:, 'vime_drawn', {}), 'bufnr', 0)
  let l:follow = get(s:following, l:bufnr, {})
  if get(l:follow, 'kind', '') ==# 'plot' && l:follow.drawing
    let l:behind = l:follow.rows != l:follow.drawing
    let l:follow.drawing = 0
    if l:behind
      call s:plot(l:bufnr, l:follow)
    endif
  endif
endfunction

augroup vime_follow
  autocmd!
  autocmd User VimeDrawn call s:drawn()
  autocmd BufWinEnter * call s:shown(str2nr(expand('<abuf>')))
augroup END

" Drop the 'follow' word before a plot request is sent.
function! vime#follow#plot_params(request) abort
  if has_key(a:request, 'follow')
    call remove(a:request, 'follow')
  endif
  return a:request
endfunction

" -- the list ---------------------------------------------------------------------------

" A listing arrived for the list buffer bufnr: note what is being written, the
" rows each table had when first drawn, and watch the tables of a file being
" written.
function! vime#follow#listed(bufnr, path, result) abort
  let s:writing[a:path] = {'writing': get(a:result, 'writing', v:null),
        \ 'warning': get(a:result, 'warning', '')}
  let l:drawn = get(s:drawn, a:path, {})
  for l:table in a:result.tables
    if !has_key(l:drawn, l:table.name) && type(get(l:table, 'rows', '')) == type(0)
      let l:drawn[l:table.name] = l:table.rows
    endif
  endfor
  let s:drawn[a:path] = l:drawn
  let l:follow = get(s:following, a:bufnr, {})
  if !empty(l:follow) && l:follow.reload
    let l:follow.reload = 0
    call vime#list#load(a:bufnr)
  elseif !empty(l:follow)
    let l:follow.loading = 0
  endif
  if empty(l:follow) && type(s:writing[a:path].writing) == type('')
    call s:start(a:bufnr, {'kind': 'list', 'path': a:path, 'name': '', 'rows': -1,
          \ 'added': 0, 'at': [], 'loading': 0, 'reload': 0})
  endif
endfunction

" Reload a list once at a time: rows that arrive meanwhile reload it after.  A
" hidden list reloads when it is shown: in Vim, writing the lines of a hidden
" buffer moves the view of the current window.
function! s:reload_list(bufnr) abort
  let l:follow = get(s:following, a:bufnr, {})
  if empty(win_findbuf(a:bufnr))
    let s:stale_lists[a:bufnr] = 1
  elseif empty(l:follow)
    call vime#list#load(a:bufnr)
  elseif l:follow.loading
    let l:follow.reload = 1
  else
    let l:follow.loading = 1
    call vime#list#load(a:bufnr)
  endif
endfunction

function! s:shown(bufnr) abort
  if has_key(s:stale_lists, a:bufnr)
    call remove(s:stale_lists, a:bufnr)
    call s:reload_list(a:bufnr)
  endif
endfunction

" Lines under the list's title for a file being written.
function! vime#follow#notes(path) abort
  let l:status = get(s:writing, a:path, {})
  let l:writing = get(l:status, 'writing', v:null)
  if type(l:writing) != type('')
    return []
  elseif !empty(get(l:status, 'warning', ''))
    return ['  ' . l:status.warning]
  endif
  return ['  being written (' . (l:writing ==# 'swmr' ? 'SWMR' : l:writing)
        \ . '): :VimeFollow in a table follows it']
endfunction

" The mark of a table that grew since the list first drew it.
function! vime#follow#mark(path, table) abort
  let l:before = get(get(s:drawn, a:path, {}), a:table.name, -1)
  let l:rows = get(a:table, 'rows', 0)
  if l:before < 0 || type(l:rows) != type(0) || l:rows == l:before
    return ''
  endif
  return printf('  (%s%s rows)', l:rows > l:before ? '+' : '', vime#view#number(l:rows - l:before))
endfunction
