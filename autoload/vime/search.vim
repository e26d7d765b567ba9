" vime/search.vim: :VimeSearch, g/, gn and gN: the whole table, searched by
" the backend ('search', in a worker, with progress; CTRL-C cancels it).
"
" / stays Vim's own search over the rows loaded.  :VimeSearch {text} finds
" the next row whose cells show text (a substring, as the page shows it,
" smart case), :VimeSearch! {query} the next row a query keeps; both start
" after the cursor's row and wrap at the end as Vim does.  b:vime.search is
" the last search of the buffer, for gn and gN; b:vime.match the cell found,
" highlighted with Search.  Only the newest search of a buffer moves the
" cursor (b:vime.search_ticket).

" :VimeSearch[!] {text or query}
function! vime#search#start(text, by_query) abort
  let l:state = s:table(':VimeSearch')
  if empty(l:state)
    return
  endif
  let l:text = trim(a:text)
  if empty(l:text)
    call vime#error(a:by_query ? ':VimeSearch! needs a query' : ':VimeSearch needs a text')
    return
  endif
  let l:state.search = a:by_query ? {'query': l:text} : {'text': l:text}
  call s:find(l:state, 'forward')
endfunction

" g/: ask for the text.
function! vime#search#prompt() abort
  if empty(s:table(':VimeSearch'))
    return
  endif
  let l:text = input('VimeSearch ')
  if !empty(trim(l:text))
    call vime#search#start(l:text, 0)
  endif
endfunction

" gn, ]m (forward) and gN, [m (backward): the last search again.
function! vime#search#again(direction) abort
  let l:state = s:table(':VimeSearch')
  if empty(l:state)
    return
  elseif empty(l:state.search)
    call vime#error('no previous search: :VimeSearch {text} or g/ first')
    return
  endif
  call s:find(l:state, a:direction)
endfunction

function! s:table(command) abort
  let l:state = get(b:, 'vime', {})
  if get(l:state, 'kind', '') !=# 'table' || l:state.rows < 0
    call vime#error(a:command . ' works in a table buffer')
    return {}
  elseif !empty(l:state.slice) || !empty(l:state.plane)
    call vime#error(a:command . ' searches 2-D tables; this view is a slice of '
          \ . l:state.name)
    return {}
  endif
  return l:state
endfunction

function! s:find(state, direction) abort
  let a:state.search_ticket += 1
  let l:params = extend({'name': a:state.name, 'from_row': vime#table#current_row(),
        \ 'direction': a:direction, 'wrap': v:true}, a:state.search)
  call vime#request(a:state.path, 'search', l:params, function('s:on_found',
        \ [bufnr('%'), a:state.search_ticket, a:direction, copy(a:state.search)]))
endfunction

function! s:on_found(bufnr, ticket, direction, search, result) abort
  let l:state = getbufvar(a:bufnr, 'vime', {})
  if get(l:state, 'search_ticket', -1) != a:ticket
    return
  elseif !get(a:result, 'ok', 0)
    call vime#fail(a:result)
    return
  elseif a:result.row is v:null
    call vime#error('pattern not found: ' . get(a:search, 'text', get(a:search, 'query', '')))
    return
  endif
  if get(a:result, 'wrapped', v:false) is v:true
    call vime#warning(a:direction ==# 'forward' ? 'search hit BOTTOM, continuing at TOP'
          \ : 'search hit TOP, continuing at BOTTOM')
  endif
  let l:column = type(a:result.column) == type('') ? a:result.column : ''
  let l:state.match = {'row': a:result.row, 'column': l:column,
        \ 'text': get(a:search, 'text', '')}
  let l:windows = win_findbuf(a:bufnr)
  if index(l:windows, win_getid()) >= 0
    call vime#table#reveal(a:result.row, l:column)
  elseif !empty(l:windows)
    call win_execute(l:windows[0], 'call vime#table#reveal(' . a:result.row . ', '
          \ . string(l:column) . ')')
  endif
endfunction

" Highlight the cell found in a table buffer, when its row is loaded: the
" text searched for within it, or the whole cell (a query, a regex).  Runs
" after every draw, as the rows in the buffer change.
function! vime#search#highlight(bufnr) abort
  let l:state = getbufvar(a:bufnr, 'vime', {})
  let l:match = get(l:state, 'match', {})
  call vime#job#clear_highlights(a:bufnr)
  if empty(l:match) || l:match.row < l:state.start || l:match.row >= l:state.stop
    return
  endif
  let l:lnum = l:match.row - l:state.start + 1
  let l:cell = vime#table#cell(a:bufnr, l:lnum, l:match.column)
  if empty(l:cell)
    return
  endif
  let [l:col, l:end] = [l:cell.col, l:cell.end]
  let l:text = l:match.text
  if !empty(l:text)
    " Smart case, as the backend matched it.
    let l:ignore = l:text ==# tolower(l:text)
    let l:at = l:ignore ? stridx(tolower(l:cell.text), l:text) : stridx(l:cell.text, l:text)
    if l:at >= 0
      let l:col += l:at
      let l:end = l:col + len(l:text)
    endif
  endif
  call vime#job#highlight(a:bufnr, [[l:lnum, l:col, l:end, 'Search']])
endfunction

" :VimeCount {query}: how many rows of the current table (in a list: the
" table under the cursor) the query keeps.
function! vime#search#count(query) abort
  let l:context = vime#context()
  if empty(l:context.name)
    call vime#error(':VimeCount works on a table: open one, or put the cursor on one')
    return
  endif
  call vime#request(l:context.path, 'count', {'name': l:context.name, 'query': trim(a:query)},
        \ function('s:on_counted', [trim(a:query)]))
endfunction

function! s:on_counted(query, result) abort
  if !get(a:result, 'ok', 0)
    call vime#fail(a:result)
    return
  endif
  call vime#message(printf('%s of %s rows match %s', vime#view#number(a:result.count),
        \ vime#view#number(a:result.rows), a:query))
endfunction
