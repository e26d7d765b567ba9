scriptencoding utf-8
" vime/buffer.vim: names, options, contents, syntax and mappings of vime buffers.
"
" Every vime buffer keeps its state in b:vime, a dict with at least 'kind'
" (list, table, info, plot, log) and, for data views, 'path' and 'name'.
" Replies arrive asynchronously, so contents are written by buffer number and
" the buffer need not be the current one.

let s:scheme = 'vime://'
let s:remote = '^ssh://\([^/]\+\)/'
" An HSDS domain, read by this machine's backend: hdf5://{domain} on the
" endpoint of h5pyd's settings (HS_ENDPOINT, ~/.hscfg), or the endpoint's URL
" and then the domain (http://host:5101/home/u/f.h5, http+unix://...).
let s:domain = '^\%(hdf5\|https\=\|http+unix\)://'
" What comes before the domain's own path (/home/u/f.h5): hdf5:/ or the endpoint.
let s:domain_root = '^\%(hdf5:/\ze/\|\%(https\=\|http+unix\)://[^/]*\)'

function! vime#buffer#is_domain(path) abort
  return a:path =~# s:domain
endfunction

" A name Vim made a local path: it takes no digit or + in a URL's scheme, so
" `vim hdf5://home/u/f.h5` reaches an autocommand as {cwd}/hdf5://home/u/f.h5.
" The domain in it, else the name unchanged.
function! vime#buffer#unmangle(name) abort
  let l:domain = matchstr(a:name, '^/.\{-}/\zs\%(hdf5\|http+unix\)://.*')
  return empty(l:domain) ? a:name : l:domain
endfunction

" A file is a path on this machine, or ssh://{host}/{path} on another: the
" path is relative to the home folder there, or absolute after a second
" slash (ssh://host//data/f.h5), as in netrw.  A domain stays as written.
function! vime#buffer#abspath(path) abort
  if a:path =~# s:remote || vime#buffer#is_domain(a:path)
    return a:path
  endif
  return fnamemodify(resolve(expand(a:path)), ':p')
endfunction

" [host, path on that host] of a file; the host is '' for this machine
" (which also reads domains).
function! vime#buffer#where(path) abort
  let l:parts = matchlist(a:path, s:remote . '\(.*\)$')
  return empty(l:parts) ? ['', a:path] : l:parts[1:2]
endfunction

" vime://<file> names a file's table list, vime://<file>//<table> a table;
" a domain is the file as written: vime://hdf5://home/u/f.h5//table.
function! vime#buffer#uri(path, ...) abort
  return s:scheme . a:path . (a:0 && !empty(a:1) ? '/' . a:1 : '')
endfunction

" {'path': file, 'name': table or ''} from a vime:// name.  The table
" follows the first // after the file's first character (which is the / of
" an absolute path, also on a host: vime://ssh://host//data/f.h5//table, and
" of a domain's path: vime://hdf5://home/u/f.h5//table).
function! vime#buffer#parse(uri) abort
  let l:rest = strpart(a:uri, len(s:scheme))
  let l:root = vime#buffer#is_domain(l:rest) ? matchstr(l:rest, s:domain_root)
        \ : matchstr(l:rest, s:remote)
  let l:file = strpart(l:rest, len(l:root))
  let l:split = stridx(l:file, '//', 1)
  if l:split < 0
    return {'path': l:rest, 'name': ''}
  endif
  return {'path': l:root . strpart(l:file, 0, l:split),
        \ 'name': substitute(strpart(l:file, l:split + 1), '^/\+', '/', '')}
endfunction

" The buffer with exactly this name (or this full path), else 0.  bufnr()
" accepts a partial match: vime://f.h5 would find vime://f.h5//table.
function! vime#buffer#find(name) abort
  for l:bufnr in range(1, bufnr('$'))
    if bufexists(l:bufnr) && (bufname(l:bufnr) ==# a:name
          \ || fnamemodify(bufname(l:bufnr), ':p') ==# a:name)
      return l:bufnr
    endif
  endfor
  return 0
endfunction

" Every buffer whose b:vime matches the given kind (and path, if not empty).
function! vime#buffer#all(kind, path) abort
  let l:found = []
  for l:bufnr in range(1, bufnr('$'))
    let l:state = getbufvar(l:bufnr, 'vime', {})
    if !empty(l:state) && (empty(a:kind) || l:state.kind ==# a:kind)
          \ && (empty(a:path) || get(l:state, 'path', '') ==# a:path)
      call add(l:found, l:bufnr)
    endif
  endfor
  return l:found
endfunction

" Turn the current buffer into a vime buffer of the given kind.
function! vime#buffer#setup(state) abort
  let b:vime = a:state
  let l:scratch = index(['info', 'plot', 'log'], a:state.kind) >= 0
  setlocal buftype=nofile noswapfile nomodifiable nowrap nolist nospell undolevels=-1
  let &l:bufhidden = l:scratch ? 'wipe' : 'hide'
  let &l:buflisted = !l:scratch
  if l:scratch
    setlocal nonumber norelativenumber foldcolumn=0
    if exists('+signcolumn')
      setlocal signcolumn=no
    endif
  endif
  " FileType first: a user's ftplugin may map the <Plug> names, and 'syntax on'
  " clears syntax on FileType; the Syntax autocmd then calls vime#buffer#syntax().
  setlocal filetype=vime
  if get(b:, 'current_syntax', '') !=# 'vime'
    call vime#buffer#syntax()
  endif
  call s:map_defaults(a:state.kind)
endfunction

" Replace a buffer's lines; the buffer may be hidden or in another window.
function! vime#buffer#set_lines(bufnr, lines) abort
  if !bufloaded(a:bufnr)
    return 0
  endif
  call setbufvar(a:bufnr, '&modifiable', 1)
  silent call deletebufline(a:bufnr, 1, '$')
  call setbufline(a:bufnr, 1, empty(a:lines) ? [''] : a:lines)
  call setbufvar(a:bufnr, '&modifiable', 0)
  call setbufvar(a:bufnr, '&modified', 0)
  return 1
endfunction

" Run an Ex command in every window that shows the buffer.
function! vime#buffer#in_windows(bufnr, command) abort
  if !exists('*win_execute')  " before Vim 8.1.1418: the current window only
    if bufnr('%') == a:bufnr
      execute a:command
    endif
    return
  endif
  for l:winid in win_findbuf(a:bufnr)
    call win_execute(l:winid, a:command)
  endfor
endfunction

" Whether command modifiers (<q-mods>) say where a new window goes:
" :vertical, :tab, :botright, ... (and not only :silent or :keepalt).
function! vime#buffer#splits(mods) abort
  return a:mods =~# '\<\%(aboveleft\|belowright\|botright\|topleft\|vertical\|horizontal\|\d*tab\)\>'
endfunction

" Open (or reuse) a split for a view of `kind` named `name`; return its bufnr.
" Modifiers that place windows open a new split as they say; without them
" the view's own window is reused, else g:vime_split places it.
function! vime#buffer#split(name, state, height, mods) abort
  let l:bufnr = vime#buffer#find(a:name)
  let l:windows = l:bufnr > 0 ? win_findbuf(l:bufnr) : []
  if vime#buffer#splits(a:mods)
    call s:close_windows(l:windows)
    let l:size = a:mods =~# '\<\%(vert\%[ical]\|tab\)\>' ? '' : a:height
    execute 'silent keepalt' a:mods l:size . 'new' fnameescape(a:name)
  elseif !empty(l:windows)
    call win_gotoid(l:windows[0])
  else
    let l:reuse = s:window_of_kind(a:state.kind)
    if l:reuse
      call win_gotoid(l:reuse)
      execute 'silent keepalt edit' fnameescape(a:name)
    else
      execute 'silent keepalt' get(g:, 'vime_split', 'botright') a:height . 'new'
            \ fnameescape(a:name)
    endif
  endif
  call vime#buffer#setup(a:state)
  return bufnr('%')
endfunction

" Close these windows of the tab page, unless one is the last window.
function! s:close_windows(windows) abort
  for l:winid in a:windows
    if win_id2win(l:winid) > 0 && winnr('$') > 1
      execute win_id2win(l:winid) . 'close'
    endif
  endfor
endfunction

function! s:window_of_kind(kind) abort
  for l:winnr in range(1, winnr('$'))
    let l:state = getbufvar(winbufnr(l:winnr), 'vime', {})
    if get(l:state, 'kind', '') ==# a:kind
      return win_getid(l:winnr)
    endif
  endfor
  return 0
endfunction

" Tell listeners (a benchmark, a statusline) that a view was drawn.
function! vime#buffer#drawn(bufnr) abort
  let l:state = getbufvar(a:bufnr, 'vime', {})
  let g:vime_drawn = {'bufnr': a:bufnr, 'kind': get(l:state, 'kind', ''),
        \ 'path': get(l:state, 'path', ''), 'name': get(l:state, 'name', ''),
        \ 'time': reltimestr(reltime())}
  if exists('#User#VimeDrawn')
    doautocmd <nomodeline> User VimeDrawn
  endif
endfunction

" -- syntax --------------------------------------------------------------------

function! vime#buffer#syntax() abort
  let l:kind = get(get(b:, 'vime', {}), 'kind', '')
  syntax clear
  syntax match vimeError /^vime: .*/
  syntax match vimeNaN /\v<(nan|NaN|NaT|None|null)>|\<NA\>/ contained
  if l:kind ==# 'list'
    syntax match vimeTitle /\%1l.*/
    syntax match vimeAttr /^\s\+@\S*/
    syntax match vimeTableName /^\s\+\/\S*/ nextgroup=vimeShape skipwhite
    syntax match vimeShape /[0-9,]\+ × [0-9,]\+/ contained nextgroup=vimeKind skipwhite
    syntax match vimeKind /\S\+/ contained
  elseif l:kind ==# 'table'
    syntax match vimeIndex /^\s*\S\+/ nextgroup=vimeRow
    syntax match vimeRow /.*/ contained contains=vimeNaN
  elseif l:kind ==# 'header'
    syntax match vimeTitle /\%1l.*/
    syntax match vimeHeader /\%2l.*/
  elseif l:kind ==# 'plot'
    syntax match vimeTitle /\%1l.*/
    syntax match vimePlot /[\u2801-\u28ff]\+/
  elseif l:kind ==# 'info'
    syntax match vimeTitle /\%1l.*/
    syntax match vimeInfoKey /^\s*\w[^:]*:/
    syntax match vimeNaN /\v<(nan|NaN|NaT|None)>/
  elseif l:kind ==# 'log'
    syntax match vimeLogTime /^\d\d:\d\d:\d\d/
    syntax match vimeError /\c\<\(error\|traceback\|exception\)\>.*/
  endif
  highlight default link vimeError ErrorMsg
  highlight default link vimeTitle Title
  highlight default link vimeHeader Statement
  highlight default link vimeIndex Identifier
  highlight default link vimeNaN Comment
  highlight default link vimeAttr PreProc
  highlight default link vimeTableName Directory
  highlight default link vimeShape Number
  highlight default link vimeKind Type
  highlight default link vimePlot Constant
  highlight default link vimeInfoKey Statement
  highlight default link vimeLogTime Comment
  let b:current_syntax = 'vime'
endfunction

" -- mappings ------------------------------------------------------------------

let s:defaults = {
      \ 'list': [['<CR>', 'open'], ['i', 'info'], ['p', 'plot'], ['c', 'compute'],
      \          ['R', 'refresh'], ['<C-c>', 'cancel']],
      \ 'table': [['j', 'down'], ['<Down>', 'down'], ['k', 'up'], ['<Up>', 'up'],
      \           ['<C-d>', 'half-down'], ['<C-u>', 'half-up'], ['<C-f>', 'page-down'],
      \           ['<PageDown>', 'page-down'], ['<C-b>', 'page-up'], ['<PageUp>', 'page-up'],
      \           [']]', 'next-page'], ['[[', 'prev-page'], ['gg', 'first-row'],
      \           ['G', 'last-row'], ['zl', 'scroll-right'], ['zh', 'scroll-left'],
      \           [']c', 'next-columns'], ['[c', 'prev-columns'], ['<', 'column-left'],
      \           ['>', 'column-right'], ['-', 'list'], ['K', 'info'], ['p', 'plot-column'],
      \           ['c', 'compute'], ['R', 'refresh'], ['g/', 'search'], ['gn', 'search-next'],
      \           ['gN', 'search-prev'], [']m', 'search-next'], ['[m', 'search-prev'],
      \           ['s', 'sort'], ['S', 'sort-descending'], ['f', 'filter'], ['F', 'filter-not'],
      \           ['<C-c>', 'cancel']],
      \ 'info': [['q', 'close-view'], ['-', 'list'], ['<C-c>', 'cancel']],
      \ 'plot': [['q', 'close-view'], ['R', 'refresh'], ['-', 'list'], ['<C-c>', 'cancel']],
      \ 'log': [['q', 'close-view'], ['R', 'refresh']],
      \ }

" The original tool's keys, after a prefix: g:vime_leader_keys = 1 uses ','.
let s:leader_keys = [['p', 'plot'], ['pv', 'plot-vertical'], ['ph', 'plot-horizontal'],
      \ ['i', 'info'], ['c', 'compute'], ['r', 'refresh'], ['b', 'list'], ['h', 'help'],
      \ ['q', 'close-view']]

" Map the keys of a buffer's kind to the <Plug> maps, once per buffer.  The
" user's own choice wins: an action they mapped themselves (to its <Plug>
" name) keeps only their keys, and a key with a buffer-local map (from an
" ftplugin) keeps it.
function! s:map_defaults(kind) abort
  if get(g:, 'vime_no_mappings', 0) || exists('b:vime_mapped')
    return
  endif
  let b:vime_mapped = 1
  let l:keys = map(copy(get(s:defaults, a:kind, [])), 'v:val + ["<nowait>"]')
  let l:prefix = get(g:, 'vime_leader_keys', 0)
  if !empty(l:prefix)
    let l:prefix = type(l:prefix) == type('') ? l:prefix : ','
    call extend(l:keys, map(copy(s:leader_keys), '[l:prefix . v:val[0], v:val[1], ""]'))
  endif
  let l:theirs = filter(map(copy(l:keys), 'v:val[1]'),
        \ 'hasmapto("<Plug>(vime-" . v:val . ")", "n")')
  for [l:lhs, l:action, l:nowait] in l:keys
    if index(l:theirs, l:action) < 0 && !get(maparg(l:lhs, 'n', 0, 1), 'buffer', 0)
      execute 'nmap <buffer> <silent>' l:nowait l:lhs '<Plug>(vime-' . l:action . ')'
    endif
  endfor
  if a:kind ==# 'table' && empty(maparg('<CR>', 'c'))
    " :123 goes to row 123 (see vime#table#command_line_enter()).
    cnoremap <buffer> <expr> <CR> vime#table#command_line_enter()
  endif
endfunction
