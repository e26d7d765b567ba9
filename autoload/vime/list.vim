scriptencoding utf-8
" vime/list.vim: the list of a file's tables, vime://<file>.

" Make the current buffer the list of the file at path, and fill it.
function! vime#list#show(path) abort
  call vime#buffer#setup({'kind': 'list', 'path': a:path, 'lines': {}})
  call vime#buffer#set_lines(bufnr('%'), ['loading ' . a:path . ' ...'])
  call vime#list#load(bufnr('%'))
endfunction

function! vime#list#load(bufnr) abort
  let l:state = getbufvar(a:bufnr, 'vime')
  call vime#request(l:state.path, 'tables', {}, function('s:on_tables', [a:bufnr]))
endfunction

" Every list buffer (a compute job added a table).
function! vime#list#load_all() abort
  for l:bufnr in vime#buffer#all('list', '')
    call vime#list#load(l:bufnr)
  endfor
endfunction

function! vime#list#name_under_cursor() abort
  return get(get(get(b:, 'vime', {}), 'lines', {}), line('.'), '')
endfunction

" Show the list of the file at path in the current window, with the cursor
" on the table name (now, or when the list is drawn).
function! vime#list#open(path, name) abort
  let l:uri = vime#buffer#uri(a:path)
  let l:bufnr = vime#buffer#find(l:uri)
  execute l:bufnr > 0 ? 'buffer ' . l:bufnr : 'edit ' . fnameescape(l:uri)
  if get(get(b:, 'vime', {}), 'kind', '') ==# 'list' && !empty(a:name)
    let b:vime.focus = a:name
    call s:focus(b:vime)
  endif
endfunction

" Put the cursor on the table named in state.focus, once the list shows it.
function! s:focus(state) abort
  let l:line = s:line_of(a:state, get(a:state, 'focus', ''))
  if l:line > 0
    call cursor(l:line, 3)
    unlet a:state.focus
  endif
endfunction

function! s:line_of(state, name) abort
  for [l:line, l:name] in items(a:state.lines)
    if l:name ==# a:name
      return str2nr(l:line)
    endif
  endfor
  return 0
endfunction

function! s:on_tables(bufnr, result) abort
  let l:state = getbufvar(a:bufnr, 'vime', {})
  if empty(l:state)
    return
  endif
  if !get(a:result, 'ok', 0)
    call vime#fail(a:result)
    if empty(l:state.lines)
      call vime#buffer#set_lines(a:bufnr, ['vime: ' . a:result.error])
    endif
    call vime#buffer#drawn(a:bufnr)
    return
  endif
  call vime#remember_tables(l:state.path, a:result.tables)
  call vime#follow#listed(a:bufnr, l:state.path, a:result)
  let l:first_draw = empty(l:state.lines)
  " Each window keeps the cursor on its table, wherever the table moves.
  let l:views = {}
  for l:winid in win_findbuf(a:bufnr)
    let l:view = {}
    call win_execute(l:winid, 'let l:view = winsaveview()')
    let l:views[l:winid] = [get(l:state.lines, l:view.lnum, ''), l:view]
  endfor
  let [l:lines, l:map] = s:render(l:state.path, a:result.tables)
  let l:state.lines = l:map
  call vime#buffer#set_lines(a:bufnr, l:lines)
  let l:first = l:first_draw && !empty(l:map) ? min(map(keys(l:map), 'str2nr(v:val)')) : 0
  for [l:winid, l:where] in items(l:views)
    let [l:name, l:view] = l:where
    let l:line = l:first_draw ? l:first : s:line_of(l:state, l:name)
    let l:view.topline += l:line > 0 && !l:first_draw ? l:line - l:view.lnum : 0
    let l:view.lnum = l:line > 0 ? l:line : l:view.lnum
    let l:view.col = l:line > 0 && l:first_draw ? 2 : l:view.col
    call win_execute(l:winid, 'call winrestview(' . string(l:view) . ')')
  endfor
  if has_key(l:state, 'focus')
    call vime#buffer#in_windows(a:bufnr, 'call vime#list#focus()')
  endif
  call vime#buffer#drawn(a:bufnr)
endfunction

" Runs in a window on the list after it is drawn.
function! vime#list#focus() abort
  call s:focus(b:vime)
endfunction

" The lines, and a dict from line number to table name.
function! s:render(path, tables) abort
  let l:count = len(a:tables)
  let l:lines = [a:path . '  (' . l:count . (l:count == 1 ? ' table)' : ' tables)')]
  if get(g:, 'vime_hints', 1)
    call add(l:lines, '  <CR> open · i info · p plot · c compute · R refresh · :help vime')
  endif
  call extend(l:lines, vime#follow#notes(a:path))
  let l:attrs = vime#file_attrs(a:path)
  for l:key in sort(keys(l:attrs))
    call add(l:lines, '  @' . l:key . ' = ' . vime#view#value(l:attrs[l:key]))
  endfor
  call add(l:lines, '')
  let l:tables = s:in_order(a:path, a:tables)
  let l:names = map(copy(l:tables), 'v:val.name')
  let l:shapes = map(copy(l:tables), 's:shape(v:val)')
  let l:name_width = max(map(copy(l:names), 'strdisplaywidth(v:val)'))
  let l:shape_width = max(map(copy(l:shapes), 'strdisplaywidth(v:val)'))
  let l:map = {}
  for l:i in range(l:count)
    let l:table = l:tables[l:i]
    let l:map[len(l:lines) + 1] = l:table.name
    call add(l:lines, '  ' . s:pad(l:names[l:i], l:name_width) . '  '
          \ . s:pad(l:shapes[l:i], -l:shape_width) . '  ' . s:describe(l:table)
          \ . vime#follow#mark(a:path, l:table))
  endfor
  if l:count == 0
    call add(l:lines, '  (no tables)')
  endif
  return [l:lines, l:map]
endfunction

" The file's tables in the backend's order, each computed table right under
" the table it came from (its 'source'), the others last.
function! s:in_order(path, tables) abort
  let l:ordered = filter(copy(a:tables), '!vime#is_computed(v:val)')
  let l:unplaced = []
  let l:file = vime#backend_path(a:path)
  for l:table in filter(copy(a:tables), 'vime#is_computed(v:val)')
    let l:source = get(l:table, 'source', {})
    let l:at = type(l:source) == type({}) && get(l:source, 'path', l:file) ==# l:file
          \ ? s:index_of(l:ordered, get(l:source, 'table', '')) : -1
    if l:at < 0
      call add(l:unplaced, l:table)
      continue
    endif
    " After the source and the results already placed under it.
    let l:at += 1
    while l:at < len(l:ordered) && get(get(l:ordered[l:at], 'source', {}), 'table', '')
          \ ==# l:source.table
      let l:at += 1
    endwhile
    call insert(l:ordered, l:table, l:at)
  endfor
  return l:ordered + l:unplaced
endfunction

function! s:index_of(tables, name) abort
  for l:i in range(len(a:tables))
    if a:tables[l:i].name ==# a:name
      return l:i
    endif
  endfor
  return -1
endfunction

function! s:shape(table) abort
  return vime#view#number(get(a:table, 'rows', 0)) . ' × ' . vime#view#number(get(a:table, 'cols', 0))
endfunction

" Kind, then what the shape line cannot say: N-D shape, dtype, a link error.
function! s:describe(table) abort
  let l:words = [get(a:table, 'kind', '?')]
  let l:shape = get(a:table, 'shape', [])
  if type(l:shape) == type([]) && len(l:shape) > 2
    call add(l:words, 'shape ' . join(l:shape, '×'))
  endif
  if get(a:table, 'kind', '') ==# 'dataset' && type(get(a:table, 'dtype', 0)) == type('')
    call add(l:words, a:table.dtype)
  endif
  if type(get(a:table, 'error', 0)) == type('')
    call add(l:words, '(' . a:table.error . ')')
  endif
  if get(a:table, 'stale', v:false) is v:true
    call add(l:words, '(stale: its source changed)')
  endif
  call extend(l:words, s:provenance(get(a:table, 'provenance', {})))
  return join(l:words)
endfunction

" What made a computed table, briefly: query=..., groupby=..., ...
function! s:provenance(provenance) abort
  if type(a:provenance) != type({})
    return []
  endif
  let l:words = []
  for l:key in ['query', 'assign', 'groupby', 'agg', 'sort', 'limit']
    let l:value = get(a:provenance, l:key, '')
    if !empty(l:value)
      call add(l:words, l:key . '=' . vime#view#value(l:value))
    endif
  endfor
  return l:words
endfunction

" Pad to width display cells, on the left when width is negative.
function! s:pad(text, width) abort
  let l:fill = repeat(' ', abs(a:width) - strdisplaywidth(a:text))
  return a:width < 0 ? l:fill . a:text : a:text . l:fill
endfunction
