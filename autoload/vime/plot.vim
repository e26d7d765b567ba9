scriptencoding utf-8
" vime/plot.vim: plot views: the :VimePlot words, their colours, plots from a table.
"
" A plot reply says what to colour, in character columns of its content lines:
" 'spans' of a braille plot ({series, line, col_start, col_end}; series 0 is a
" cell two series share) and 'cells' of a heatmap ([line, col_start, col_end,
" fg, bg], levels of 'palette', -1 for none).  Series take VimeSeries1..8,
" linked by default to common groups so that any colour scheme works, and
" VimeSeriesMixed; heat cells take VimeHeat{fg}_{bg}, defined from the palette
" with both truecolor (used with 'termguicolors' or in a GUI) and 256-colour
" attributes.  The job layer draws them: text properties or extmarks.

let s:types = ['line', 'scatter', 'hist', 'heat']
let s:flags = ['logx', 'logy', 'follow']
let s:keys = ['x', 'y', 'start', 'stop', 'bins', 'plane', 'reduce']
let s:series_links = ['Identifier', 'Constant', 'Statement', 'PreProc', 'Type', 'Special',
      \ 'String', 'Function']

" Whether plots are in colour: g:vime_plot_color, else whether the editor shows
" at least 256 colours.
function! vime#plot#color() abort
  if exists('g:vime_plot_color')
    return g:vime_plot_color ? 1 : 0
  endif
  return has('gui_running') || &termguicolors || str2nr(&t_Co) >= 256
endfunction

" The words :VimePlot and completion know besides column names.
function! vime#plot#keywords() abort
  return s:types + s:flags + map(copy(s:keys), 'v:val . "="')
endfunction

" :VimePlot words as plot params: {y[,y2...]} [x] [type] [logx] [logy] [key=value ...]
function! vime#plot#request(words, name) abort
  let l:request = {'name': a:name}
  for l:word in a:words
    let l:pair = matchlist(l:word, '^\(\w\+\)=\(.*\)$')
    if index(s:types, l:word) >= 0
      let l:request.type = l:word
    elseif index(s:flags, l:word) >= 0
      let l:request[l:word] = v:true
    elseif !empty(l:pair) && index(s:keys, l:pair[1]) >= 0
      let l:request[l:pair[1]] = s:value(l:pair[1], l:pair[2])
    else
      let l:request[has_key(l:request, 'y') ? 'x' : 'y'] = s:value('y', l:word)
    endif
  endfor
  return l:request
endfunction

function! s:value(key, text) abort
  if index(['start', 'stop', 'bins'], a:key) >= 0
    return str2nr(substitute(a:text, '[,_]', '', 'g'))
  elseif a:key ==# 'plane'
    return map(split(a:text, ','), 'str2nr(v:val)')
  elseif a:key ==# 'y' && a:text =~# ','
    return split(a:text, ',')
  endif
  return a:text
endfunction

" Open (or reuse) the plot split of a table and draw the request in it; from a
" table, the plane on screen unless the request names one.
" mods: the command's <mods> (:vertical, :tab, ...), '' for g:vime_split.
function! vime#plot#show(target, request, mods) abort
  let l:state = get(b:, 'vime', {})
  if get(l:state, 'kind', '') ==# 'table' && !empty(get(l:state, 'plane', []))
    call extend(a:request, {'plane': l:state.plane}, 'keep')
  endif
  let l:bufnr = vime#buffer#split('vime-plot://' . a:target.path . '/' . a:target.name,
        \ {'kind': 'plot', 'path': a:target.path, 'name': a:target.name, 'request': a:request},
        \ get(g:, 'vime_plot_height', max([12, &lines / 2])), a:mods)
  call vime#follow#plot(l:bufnr)
endfunction

" The request as sent: with colour or without.
function! vime#plot#prepare(request) abort
  let a:request.color = vime#plot#color() ? v:true : v:false
  return vime#follow#plot_params(a:request)
endfunction

" -- colours --------------------------------------------------------------------

" Colour a plot buffer from its reply, after its lines are set.
function! vime#plot#colour(bufnr, result) abort
  if get(getbufvar(a:bufnr, 'vime', {}), 'kind', '') !=# 'plot'
    return
  endif
  call vime#job#clear_highlights(a:bufnr)
  if !get(a:result, 'ok', 0) || !vime#plot#color()
    return
  endif
  call s:define_series_groups()
  let l:lines = getbufline(a:bufnr, 1, '$')
  let l:items = []
  for l:span in get(a:result, 'spans', [])
    call add(l:items, s:item(l:lines, l:span.line, l:span.col_start, l:span.col_end,
          \ l:span.series == 0 ? 'VimeSeriesMixed' : 'VimeSeries' . ((l:span.series - 1) % 8 + 1)))
  endfor
  let l:defined = {}
  for [l:line, l:start, l:end, l:fg, l:bg] in get(a:result, 'cells', [])
    let l:group = s:heat_group(a:result.palette, l:fg, l:bg, l:defined)
    call add(l:items, s:item(l:lines, l:line, l:start, l:end, l:group))
  endfor
  call vime#job#highlight(a:bufnr, l:items)
endfunction

" [lnum, col, end_col, group] in bytes from a 0-based line and character columns.
function! s:item(lines, line, start, end, group) abort
  let l:text = a:lines[a:line]
  return [a:line + 1, byteidx(l:text, a:start) + 1, byteidx(l:text, a:end) + 1, a:group]
endfunction

" Defined on every draw: a colour scheme clears highlight groups.
function! s:define_series_groups() abort
  for l:number in range(1, 8)
    execute 'highlight default link VimeSeries' . l:number s:series_links[l:number - 1]
  endfor
  highlight default link VimeSeriesMixed Normal
endfunction

" The group of a half block: foreground level fg on background level bg.
function! s:heat_group(palette, fg, bg, defined) abort
  let l:name = 'VimeHeat' . a:fg . '_' . (a:bg < 0 ? 'none' : a:bg)
  if !has_key(a:defined, l:name)
    let [l:gui, l:cterm] = a:palette[a:fg]
    let [l:gui_bg, l:cterm_bg] = a:bg < 0 ? ['NONE', 'NONE'] : a:palette[a:bg]
    execute 'highlight' l:name 'guifg=' . l:gui 'ctermfg=' . l:cterm
          \ 'guibg=' . l:gui_bg 'ctermbg=' . l:cterm_bg
    let a:defined[l:name] = 1
  endif
  return l:name
endfunction

" -- plots from a table ------------------------------------------------------------

" p in a table: the column under the cursor against the index; elsewhere, ask.
function! vime#plot#column() abort
  let l:column = vime#table#column_under_cursor()
  if empty(l:column)
    call vime#action('plot')
    return
  endif
  let l:target = vime#context()
  call vime#plot#show(l:target, {'name': l:target.name, 'y': l:column, 'x': 'index'}, '')
endfunction

" p on lines selected in a table: plot those rows only, the column under the
" cursor against the index, or what the prompt asks for.
function! vime#plot#rows() abort
  let l:state = get(b:, 'vime', {})
  if get(l:state, 'kind', '') !=# 'table' || l:state.rows < 0
    return
  endif
  " Line 1 holds the row at start: the header stays out of the buffer.
  let l:first = max([line("'<"), 1])
  let l:last = min([line("'>"), l:state.stop - l:state.start])
  if l:first > l:last
    call vime#error('select rows of the table to plot them')
    return
  endif
  let l:target = vime#context()
  let l:rows = {'start': l:state.start + l:first - 1, 'stop': l:state.start + l:last}
  let l:column = vime#table#column_under_cursor()
  if !empty(l:column)
    let l:request = {'name': l:target.name, 'y': l:column, 'x': 'index'}
  else
    let l:answer = input('VimePlot ', '', 'customlist,vime#complete#plot')
    if empty(trim(l:answer))
      return
    endif
    let l:request = vime#plot#request(split(l:answer), l:target.name)
  endif
  call vime#plot#show(l:target, extend(l:request, l:rows), '')
endfunction

" Visual p in a table plots the selected rows, unless the user chose otherwise.
function! vime#plot#map_rows() abort
  if !get(g:, 'vime_no_mappings', 0) && !hasmapto('<Plug>(vime-plot-rows)', 'x')
    xmap <buffer> <nowait> <silent> p <Plug>(vime-plot-rows)
  endif
endfunction
