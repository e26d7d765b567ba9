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
  let l:first_draw = empty(l:state.lines)
  let [l:lines, l:map] = s:render(l:state.path, a:result.tables)
  let l:state.lines = l:map
  call vime#buffer#set_lines(a:bufnr, l:lines)
  if l:first_draw && !empty(l:state.lines)
    let l:first = min(map(keys(l:state.lines), 'str2nr(v:val)'))
    call vime#buffer#in_windows(a:bufnr, 'call cursor(' . l:first . ', 3)')
  endif
  call vime#buffer#drawn(a:bufnr)
endfunction

" The lines, and a dict from line number to table name.
function! s:render(path, tables) abort
  let l:count = len(a:tables)
  let l:lines = [a:path . '  (' . l:count . (l:count == 1 ? ' table)' : ' tables)')]
  if get(g:, 'vime_hints', 1)
    call add(l:lines, '  <CR> open · i info · p plot · c compute · R refresh · :help vime')
  endif
  let l:attrs = vime#file_attrs(a:path)
  for l:key in sort(keys(l:attrs))
    call add(l:lines, '  @' . l:key . ' = ' . vime#view#value(l:attrs[l:key]))
  endfor
  call add(l:lines, '')
  let l:names = map(copy(a:tables), 'v:val.name')
  let l:shapes = map(copy(a:tables), 's:shape(v:val)')
  let l:name_width = max(map(copy(l:names), 'strdisplaywidth(v:val)'))
  let l:shape_width = max(map(copy(l:shapes), 'strdisplaywidth(v:val)'))
  let l:map = {}
  for l:i in range(l:count)
    let l:table = a:tables[l:i]
    let l:map[len(l:lines) + 1] = l:table.name
    call add(l:lines, '  ' . s:pad(l:names[l:i], l:name_width) . '  '
          \ . s:pad(l:shapes[l:i], -l:shape_width) . '  ' . s:describe(l:table))
  endfor
  if l:count == 0
    call add(l:lines, '  (no tables)')
  endif
  return [l:lines, l:map]
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
  return join(l:words)
endfunction

" Pad to width display cells, on the left when width is negative.
function! s:pad(text, width) abort
  let l:fill = repeat(' ', abs(a:width) - strdisplaywidth(a:text))
  return a:width < 0 ? l:fill . a:text : a:text . l:fill
endfunction
