" vime/view.vim: (re)load any vime buffer; the info, plot and log splits.

function! vime#view#load(bufnr) abort
  let l:kind = get(getbufvar(a:bufnr, 'vime', {}), 'kind', '')
  if l:kind ==# 'list'
    call vime#list#load(a:bufnr)
  elseif l:kind ==# 'table'
    call vime#table#load(a:bufnr)
  elseif l:kind ==# 'info'
    call s:load_info(a:bufnr)
  elseif l:kind ==# 'plot'
    call s:load_plot(a:bufnr)
  elseif l:kind ==# 'log'
    call vime#buffer#set_lines(a:bufnr, vime#job#log())
    call vime#buffer#in_windows(a:bufnr, 'normal! G')
  endif
endfunction

function! s:load_info(bufnr) abort
  let l:state = getbufvar(a:bufnr, 'vime')
  call vime#buffer#set_lines(a:bufnr, ['loading the info of ' . l:state.name . ' ...'])
  call vime#request(l:state.path, 'info', {'name': l:state.name},
        \ function('s:on_content', [a:bufnr]))
endfunction

" The plot fills its window unless g:vime_plot_size = [width, height] says
" otherwise; the content adds a title line and a blank line to the height.
function! s:load_plot(bufnr) abort
  let l:state = getbufvar(a:bufnr, 'vime')
  let l:windows = win_findbuf(a:bufnr)
  let l:winnr = win_id2win(empty(l:windows) ? win_getid() : l:windows[0])
  let l:size = get(g:, 'vime_plot_size', [])
  let l:request = vime#plot#prepare(extend(copy(l:state.request), len(l:size) == 2
        \ ? {'width': l:size[0], 'height': l:size[1]}
        \ : {'width': max([20, winwidth(l:winnr) - 1]), 'height': max([5, winheight(l:winnr) - 2])}))
  call vime#buffer#set_lines(a:bufnr, ['plotting ' . l:state.name . ' ...'])
  call vime#request(l:state.path, 'plot', l:request, function('s:on_content', [a:bufnr]))
endfunction

function! s:on_content(bufnr, result) abort
  if !bufexists(a:bufnr)
    return
  endif
  if get(a:result, 'ok', 0)
    call vime#buffer#set_lines(a:bufnr, split(a:result.content, "\n", 1))
    call vime#plot#colour(a:bufnr, a:result)
  else
    call vime#fail(a:result)
    call vime#buffer#set_lines(a:bufnr, ['vime: ' . a:result.error])
  endif
  call vime#buffer#in_windows(a:bufnr, 'normal! gg')
  call vime#buffer#drawn(a:bufnr)
endfunction

" 1234567 -> '1,234,567'
function! vime#view#number(value) abort
  if type(a:value) != type(0)
    return type(a:value) == type('') ? a:value : '?'
  endif
  let l:digits = string(abs(a:value))
  let l:grouped = substitute(l:digits, '\d\zs\ze\%(\d\{3}\)\+$', ',', 'g')
  return (a:value < 0 ? '-' : '') . l:grouped
endfunction

" A JSON value as a short line of text.
function! vime#view#value(value) abort
  return type(a:value) == type('') ? a:value : json_encode(a:value)
endfunction
