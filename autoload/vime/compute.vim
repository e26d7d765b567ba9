scriptencoding utf-8
" vime/compute.vim: :VimeCompute and the job's pushed notifications.
"
" :VimeCompute v0 > 3 and flag          a pandas query on the current table
" :VimeCompute query=v0 > 3 assign=power=v0*v1 groupby=flag agg=v0:mean,v0:max
"     key=value pairs; a value runs up to the next key.  Keys: see s:keys.

let s:keys = ['source', 'query', 'assign', 'columns', 'sort', 'descending', 'groupby', 'agg',
      \ 'limit', 'script', 'name']
let s:lists = ['columns', 'sort', 'groupby']
" The jobs started here and still running: '{host}#{job}' -> {'host', 'job',
" 'path', 'source', 'Done', 'order'}; Done(path, params of compute_done) is
" called for a job that a view started (sort, filter) instead of announcing
" the result.
let s:jobs = {}
let s:started = 0
let s:state = {'status': 'idle', 'job': 0, 'host': '', 'generation': 0}  " the latest job

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
  call vime#compute#run(l:context.path, l:params, 0)
endfunction

" Start a job on a table of the file at path; Done(path, params) is called
" with compute_done's params ({table, rows, cols, elapsed, ...}) when it is
" done (0: announce the result).
function! vime#compute#run(path, params, Done) abort
  call vime#request(a:path, 'compute_start', a:params,
        \ function('s:on_started', [a:path, a:params.source, a:Done]))
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

function! s:on_started(path, source, Done, result) abort
  if !get(a:result, 'ok', 0)
    call vime#fail(a:result)
    return
  endif
  let l:host = vime#buffer#where(a:path)[0]
  let l:job = get(a:result, 'job', 0)
  let s:started += 1
  let s:jobs[l:host . '#' . l:job] = {'host': l:host, 'job': l:job, 'path': a:path,
        \ 'source': a:source, 'Done': a:Done, 'order': s:started}
  let s:state = {'status': 'running', 'job': l:job, 'host': l:host,
        \ 'generation': vime#job#generation(l:host)}
  if type(a:Done) != type(function('tr'))
    call vime#message('compute job ' . l:job . ' started on ' . a:source
          \ . '; :VimeCancel stops it')
  endif
endfunction

" Cancel the newest job started here that still runs; 0 when none does.
function! vime#compute#cancel() abort
  let l:running = sort(values(s:jobs), {a, b -> a.order - b.order})
  if empty(l:running)
    return 0
  endif
  let l:newest = l:running[-1]
  call vime#job#request('compute_cancel', {'job': l:newest.job},
        \ function('s:on_cancel_sent'), l:newest.host)
  return 1
endfunction

function! s:on_cancel_sent(result) abort
  if !get(a:result, 'ok', 0)
    call vime#fail(a:result)
  elseif get(a:result, 'status', '') !=# 'cancelling'
    call vime#message(get(a:result, 'message', 'no job is running'))
  endif
endfunction

" -- notifications ---------------------------------------------------------------

" The job a notification is about, taken from the running ones when it ends.
function! s:job(params, ending) abort
  let l:key = vime#job#sender() . '#' . get(a:params, 'job', 0)
  let l:job = get(s:jobs, l:key, {'host': vime#job#sender(), 'path': '', 'Done': 0})
  if a:ending && has_key(s:jobs, l:key)
    call remove(s:jobs, l:key)
  endif
  return l:job
endfunction

function! s:where(host) abort
  return empty(a:host) ? '' : ' on ' . a:host
endfunction

function! vime#compute#on_progress(params) abort
  let l:host = vime#job#sender()
  let l:done = get(a:params, 'rows_done', 0)
  let l:total = get(a:params, 'rows_total', 0)
  let l:percent = type(l:total) == type(0) && l:total > 0 ? 100 * l:done / l:total : 0
  let s:state.status = 'running'
  call vime#progress#show(l:host, printf('vime: compute %s%s %d%% (%s/%s rows, %s s)',
        \ get(a:params, 'job', ''), s:where(l:host), l:percent, vime#view#number(l:done),
        \ vime#view#number(l:total), vime#progress#seconds(get(a:params, 'elapsed', 0))))
endfunction

" The lists show the new table under its source; the message says how to
" open it, or g:vime_open_results = 1 opens it.  A job a view started opens
" its result in that view.
function! vime#compute#on_done(params) abort
  let l:job = s:job(a:params, 1)
  let s:state = {'status': 'done', 'job': get(a:params, 'job', 0), 'host': l:job.host,
        \ 'generation': vime#job#generation(l:job.host)}
  call vime#progress#clear(l:job.host)
  let l:path = l:job.path
  let l:table = get(a:params, 'table', '')
  if !empty(l:path)
    call vime#refresh_tables(l:path)
  endif
  call vime#list#load_all()
  if type(l:job.Done) == type(function('tr'))
    call l:job.Done(l:path, a:params)
    return
  endif
  let l:open = get(g:, 'vime_open_results', 0) && !empty(l:path) && !empty(l:table)
  call vime#message(printf('compute %s done: %s, %s rows × %s cols in %s s%s',
        \ s:state.job, l:table, vime#view#number(get(a:params, 'rows', '?')),
        \ vime#view#number(get(a:params, 'cols', '?')),
        \ vime#progress#seconds(get(a:params, 'elapsed', 0)),
        \ l:open ? '' : '; :VimeTable ' . l:table . ' opens it'))
  if l:open
    call vime#show_result(l:path, l:table)
  endif
endfunction

function! vime#compute#on_error(params) abort
  let l:job = s:job(a:params, 1)
  let s:state = {'status': 'error', 'job': get(a:params, 'job', 0), 'host': l:job.host,
        \ 'generation': vime#job#generation(l:job.host)}
  call vime#progress#clear(l:job.host)
  call vime#error('compute ' . s:state.job . ' failed: ' . get(a:params, 'error', '?'))
endfunction

function! vime#compute#on_cancelled(params) abort
  let l:job = s:job(a:params, 1)
  let s:state = {'status': 'cancelled', 'job': get(a:params, 'job', 0), 'host': l:job.host,
        \ 'generation': vime#job#generation(l:job.host)}
  call vime#progress#clear(l:job.host)
  call vime#message('compute ' . s:state.job . ' cancelled')
endfunction

" What the latest job does or did, for :VimeStatus.
function! vime#compute#describe() abort
  if s:state.status ==# 'running' && s:state.generation != vime#job#generation(s:state.host)
    let s:state.status = 'lost in a backend restart'
    call filter(s:jobs, 'v:val.host !=# s:state.host')
  endif
  return s:state.status . (empty(s:state.job) ? '' : ' (job ' . s:state.job
        \ . s:where(s:state.host) . ')')
endfunction
