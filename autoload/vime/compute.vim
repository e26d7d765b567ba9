scriptencoding utf-8
" vime/compute.vim: :VimeCompute and the job's pushed notifications.
"
" :VimeCompute v0 > 3 and flag          a pandas query on the current table
" :VimeCompute query=v0 > 3 assign=power=v0*v1 groupby=flag agg=v0:mean,v0:max
"     key=value pairs; a value runs up to the next key.  Keys: see s:keys.

let s:keys = ['source', 'query', 'assign', 'columns', 'sort', 'descending', 'groupby', 'agg',
      \ 'limit', 'script', 'name']
let s:lists = ['columns', 'sort', 'groupby']
let s:state = {'status': 'idle', 'job': 0, 'progress': ''}

function! vime#compute#keys() abort
  return copy(s:keys)
endfunction

function! vime#compute#start(text) abort
  try
    let l:params = vime#compute#parse(a:text)
  catch /^vime: /
    call vime#error(substitute(v:exception, '^vime: ', '', ''))
    return
  endtry
  let l:context = vime#context()
  let l:params.source = get(l:params, 'source', l:context.name)
  if empty(l:context.path) || empty(l:params.source)
    call vime#error('no source table: open a table first, or pass source=/name')
    return
  endif
  call vime#request(l:context.path, 'compute_start', l:params,
        \ function('s:on_started', [l:context.path, l:params.source]))
endfunction

" Parse the argument of :VimeCompute into compute_start params.
function! vime#compute#parse(text) abort
  let l:text = trim(a:text)
  let l:key_pattern = '\%(^\|\s\)\zs\%(\%(' . join(s:keys, '\|') . '\)=\|descending\>\)'
  if match(l:text, l:key_pattern) != 0
    return {'query': l:text}
  endif
  let l:params = {}
  let l:starts = []
  let l:at = match(l:text, l:key_pattern)
  while l:at >= 0
    call add(l:starts, l:at)
    let l:at = match(l:text, l:key_pattern, l:at + 1)
  endwhile
  call add(l:starts, len(l:text))
  for l:i in range(len(l:starts) - 1)
    let l:item = trim(strpart(l:text, l:starts[l:i], l:starts[l:i + 1] - l:starts[l:i]))
    let [l:key, l:value] = matchlist(l:item, '^\(\w\+\)=\=\(.*\)$')[1:2]
    let l:params[l:key] = s:value(l:key, trim(l:value))
  endfor
  return l:params
endfunction

function! s:value(key, text) abort
  if a:text =~# '^[[{]'
    try
      return json_decode(a:text)
    catch
      throw 'vime: ' . a:key . '=' . a:text . ' is not valid JSON'
    endtry
  elseif a:key ==# 'descending'
    return a:text =~? '^\%(\|1\|true\|yes\)$' ? v:true : v:false
  elseif a:key ==# 'limit'
    return str2nr(a:text)
  elseif index(s:lists, a:key) >= 0
    return map(split(a:text, ','), 'trim(v:val)')
  elseif a:key ==# 'assign'
    return s:pairs(a:text, ';', '=', 0)
  elseif a:key ==# 'agg'
    return s:pairs(a:text, ',', ':', 1)
  endif
  return a:text
endfunction

" 'a=x*2; b=y' -> {a: 'x*2', b: 'y'}; with many, 'v:mean,v:max' -> {v: [mean, max]}.
function! s:pairs(text, separator, equals, many) abort
  let l:pairs = {}
  for l:item in split(a:text, a:separator)
    let l:at = stridx(l:item, a:equals)
    if l:at < 0
      throw 'vime: expected name' . a:equals . 'value in ' . trim(l:item)
    endif
    let l:name = trim(strpart(l:item, 0, l:at))
    let l:value = trim(strpart(l:item, l:at + 1))
    if a:many
      let l:pairs[l:name] = add(get(l:pairs, l:name, []), l:value)
    else
      let l:pairs[l:name] = l:value
    endif
  endfor
  return l:pairs
endfunction

function! s:on_started(path, source, result) abort
  if !get(a:result, 'ok', 0)
    call vime#fail(a:result)
    return
  endif
  let s:state = {'status': 'running', 'job': get(a:result, 'job', 0), 'progress': '',
        \ 'generation': vime#job#generation(), 'path': a:path}
  call vime#message('compute job ' . s:state.job . ' started on ' . a:source
        \ . '; :VimeCancel stops it')
endfunction

" -- notifications ---------------------------------------------------------------

function! vime#compute#on_progress(params) abort
  let l:done = get(a:params, 'rows_done', 0)
  let l:total = get(a:params, 'rows_total', 0)
  let l:percent = type(l:total) == type(0) && l:total > 0 ? 100 * l:done / l:total : 0
  let s:state.status = 'running'
  let s:state.progress = printf('vime: compute %s %d%% (%s/%s rows, %s s)',
        \ get(a:params, 'job', ''), l:percent, vime#view#number(l:done),
        \ vime#view#number(l:total), s:seconds(get(a:params, 'elapsed', 0)))
  let l:show = get(g:, 'vime_progress', 'echo')
  if l:show ==# 'echo'
    redraw
    echo s:state.progress
  elseif l:show ==# 'statusline'
    redrawstatus!
  endif
endfunction

" The lists show the new table under its source; the message says how to
" open it, or g:vime_open_results = 1 opens it.
function! vime#compute#on_done(params) abort
  let l:path = get(s:state, 'path', '')
  let s:state = {'status': 'done', 'job': get(a:params, 'job', 0), 'progress': ''}
  let l:table = get(a:params, 'table', '')
  let l:open = get(g:, 'vime_open_results', 0) && !empty(l:path) && !empty(l:table)
  call vime#message(printf('compute %s done: %s, %s rows × %s cols in %s s%s',
        \ s:state.job, l:table, vime#view#number(get(a:params, 'rows', '?')),
        \ vime#view#number(get(a:params, 'cols', '?')), s:seconds(get(a:params, 'elapsed', 0)),
        \ l:open ? '' : '; :VimeTable ' . l:table . ' opens it'))
  if !empty(l:path)
    call vime#refresh_tables(l:path)
  endif
  call vime#list#load_all()
  if l:open
    call vime#show_result(l:path, l:table)
  endif
endfunction

function! vime#compute#on_error(params) abort
  let s:state = {'status': 'error', 'job': get(a:params, 'job', 0), 'progress': ''}
  call vime#error('compute ' . s:state.job . ' failed: ' . get(a:params, 'error', '?'))
endfunction

function! vime#compute#on_cancelled(params) abort
  let s:state = {'status': 'cancelled', 'job': get(a:params, 'job', 0), 'progress': ''}
  call vime#message('compute ' . s:state.job . ' cancelled')
endfunction

" For 'statusline': the running job's progress, else ''.
function! vime#compute#progress() abort
  return s:state.progress
endfunction

function! vime#compute#describe() abort
  if get(s:state, 'generation', -1) != vime#job#generation() && s:state.status ==# 'running'
    let s:state = {'status': 'lost in a backend restart', 'job': s:state.job, 'progress': ''}
  endif
  return s:state.status . (empty(s:state.job) ? '' : ' (job ' . s:state.job . ')')
endfunction

function! s:seconds(value) abort
  if type(a:value) == type(0.0)
    return printf('%.1f', a:value)
  endif
  return type(a:value) == type(0) ? string(a:value) : '?'
endfunction
