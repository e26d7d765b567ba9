scriptencoding utf-8
" vime.vim: the commands, the files open in the backend, and messages.
"
" Views ask for data with vime#request(path, method, params, Callback).  The
" backend forgets its files when it restarts, so a request on a file that is
" not open in the running backend first sends 'open' and queues behind it.

let s:files = {}    " path -> {'generation': n, 'attrs': {...}, 'tables': [...]}
let s:opening = {}  " path -> [[method, params, Callback]] waiting for 'open'
let s:last = {}     " {'path', 'name'}: the table paged last
let s:restarted = {} " the report of the last :VimeRestart, while its listings come

call vime#job#on('compute_progress', function('vime#compute#on_progress'))
call vime#job#on('compute_done', function('vime#compute#on_done'))
call vime#job#on('compute_error', function('vime#compute#on_error'))
call vime#job#on('compute_cancelled', function('vime#compute#on_cancelled'))
call vime#job#on('progress', function('vime#progress#on_progress'))

" Methods that run in a worker process: they may take long, push progress,
" and :VimeCancel (or CTRL-C) cancels the newest of them.
let s:worker_methods = ['plot', 'info', 'export', 'search', 'count']
let s:cancelled = -32006

" -- messages ------------------------------------------------------------------

" One ErrorMsg line, prefixed, never a stack dump; the whole text goes to the log.
function! vime#error(message) abort
  let l:line = 'vime: ' . s:one_line(a:message)
  call vime#job#log_line(l:line)
  echohl ErrorMsg
  echomsg s:fit(l:line)
  echohl None
endfunction

function! vime#message(message) abort
  let l:line = 'vime: ' . s:one_line(a:message)
  call vime#job#log_line(l:line)
  echomsg s:fit(l:line)
endfunction

" A warning without the prefix, as Vim's own ("search hit BOTTOM, ...").
function! vime#warning(message) abort
  call vime#job#log_line(a:message)
  echohl WarningMsg
  echomsg s:fit(a:message)
  echohl None
endfunction

" Report a failed reply, unless the job layer has already said why.  A
" request the user cancelled says so, once, as a message.
function! vime#fail(result) abort
  if get(a:result, 'quiet', 0)
    return
  elseif get(a:result, 'code', 0) == s:cancelled
    call vime#message('cancelled')
    return
  endif
  let l:error = get(a:result, 'error', 'request failed')
  let l:module = matchstr(l:error, "No module named '\\zs[^'.]\\+")
  if !empty(l:module)
    let l:error .= '; install it: ' . vime#job#install_hint([l:module])
  endif
  call vime#error(l:error)
endfunction

function! s:one_line(text) abort
  return substitute(substitute(a:text, '\s*\n\s*', ' ', 'g'), '\s\+$', '', '')
endfunction

" A message wider than the screen would ask for Enter.
function! s:fit(line) abort
  let l:room = &columns - 20
  return strdisplaywidth(a:line) <= l:room ? a:line : strcharpart(a:line, 0, l:room) . '…'
endfunction

" -- requests on files -----------------------------------------------------------

" A file on another host (ssh://host/...) is asked of that host's backend,
" by its path there.  The reply of a request that runs in a worker clears its
" progress line.
function! vime#request(path, method, params, Callback) abort
  if empty(a:path)
    return vime#job#request(a:method, a:params, a:Callback)
  endif
  let [l:host, l:file] = vime#buffer#where(a:path)
  if !vime#job#start(l:host)
    call a:Callback({'ok': 0, 'error': 'the backend is not running', 'quiet': 1})
    return 0
  endif
  let l:params = extend({'path': l:file}, a:params)
  let l:Callback = index(s:worker_methods, a:method) < 0 ? a:Callback
        \ : function('s:after_worker', [l:host, a:Callback])
  if get(get(s:files, a:path, {}), 'generation', 0) == vime#job#generation(l:host)
    return vime#job#request(a:method, l:params, l:Callback, l:host)
  endif
  let l:queued = [a:method, l:params, l:Callback]
  if has_key(s:opening, a:path)
    call add(s:opening[a:path], l:queued)
    return 0
  endif
  let s:opening[a:path] = [l:queued]
  return vime#job#request('open', {'path': l:file},
        \ function('s:on_opened', [a:path, vime#job#generation(l:host)]), l:host)
endfunction

function! s:after_worker(host, Callback, result) abort
  call vime#progress#clear(a:host)
  call a:Callback(a:result)
endfunction

" The same, waiting up to timeout ms (for completion and prompts).
function! vime#request_sync(path, method, params, timeout) abort
  let l:box = {}
  call vime#request(a:path, a:method, a:params, {result -> extend(l:box, {'result': result})})
  if !vime#job#wait(a:timeout, {-> has_key(l:box, 'result')})
    return {'ok': 0, 'error': a:method . ': no reply within ' . a:timeout . ' ms'}
  endif
  return l:box.result
endfunction

function! s:on_opened(path, generation, result) abort
  let l:queue = remove(s:opening, a:path)
  let l:host = vime#buffer#where(a:path)[0]
  if get(a:result, 'ok', 0)
    let s:files[a:path] = {'generation': a:generation, 'attrs': get(a:result, 'attrs', {}),
          \ 'tables': get(a:result, 'tables', []), 'opened': get(a:result, 'path', '')}
    for [l:method, l:params, l:Callback] in l:queue
      call vime#job#request(l:method, l:params, l:Callback, l:host)
    endfor
    return
  endif
  " Every waiting view learns of the failure; the user is told once.
  let l:result = a:result
  for [l:method, l:params, l:Callback] in l:queue
    call l:Callback(l:result)
    let l:result = extend(copy(a:result), {'quiet': 1})
  endfor
endfunction

" The file's path as its backend names it (in compute results' 'source').
function! vime#backend_path(path) abort
  let l:opened = get(get(s:files, a:path, {}), 'opened', '')
  return type(l:opened) == type('') && !empty(l:opened) ? l:opened : vime#buffer#where(a:path)[1]
endfunction

function! vime#file_attrs(path) abort
  return get(get(s:files, a:path, {}), 'attrs', {})
endfunction

function! vime#remember_tables(path, tables) abort
  if has_key(s:files, a:path)
    let s:files[a:path].tables = a:tables
  endif
endfunction

function! vime#remember_table(path, name) abort
  let s:last = {'path': a:path, 'name': a:name}
endfunction

" Ask for a file's listing again (a compute job added a table to it).
function! vime#refresh_tables(path) abort
  call vime#request(a:path, 'tables', {}, function('s:on_listing', [a:path]))
endfunction

function! s:on_listing(path, result) abort
  if get(a:result, 'ok', 0)
    call vime#remember_tables(a:path, a:result.tables)
  endif
endfunction

" Table names of a file, from the last listing or asked for now.
function! vime#tables(path) abort
  if empty(a:path)
    return []
  endif
  if !has_key(s:files, a:path)
    let l:result = vime#request_sync(a:path, 'tables', {}, 2000)
    if get(l:result, 'ok', 0)
      call vime#remember_tables(a:path, l:result.tables)
    endif
  endif
  return map(copy(get(get(s:files, a:path, {}), 'tables', [])), 'v:val.name')
endfunction

" Past this many columns a table's names are not fetched (for completion,
" :VimeColumns, < and >): 20 million names would not fit in a reply.
let s:most_columns = 100000

" Every column name of a table, in the saved order, the hidden ones last (a
" page holds only a window of the columns of a wide table); [] when it has
" too many to list.
function! vime#columns(path, name) abort
  if empty(a:path) || empty(a:name) || vime#too_many_columns(a:path, a:name)
    return []
  endif
  let l:result = vime#request_sync(a:path, 'columns', {'name': a:name}, 2000)
  return get(l:result, 'ok', 0) ? l:result.columns + l:result.hidden : []
endfunction

function! vime#too_many_columns(path, name) abort
  for l:table in get(get(s:files, a:path, {}), 'tables', [])
    if l:table.name ==# a:name
      return get(l:table, 'cols', 0) > s:most_columns
    endif
  endfor
  return 0
endfunction

" The file and table a command applies to: the current vime buffer's (in a
" list, the table under the cursor), else the table paged last.
function! vime#context() abort
  let l:state = get(b:, 'vime', {})
  if get(l:state, 'kind', '') ==# 'list'
    return {'path': l:state.path, 'name': vime#list#name_under_cursor()}
  elseif !empty(get(l:state, 'path', ''))
    return {'path': l:state.path, 'name': get(l:state, 'name', '')}
  endif
  return extend({'path': '', 'name': ''}, s:last)
endfunction

function! s:target(name) abort
  let l:context = vime#context()
  if !empty(a:name)
    let l:context.name = a:name =~# '^/' ? a:name : '/' . a:name
  endif
  if empty(l:context.path)
    call vime#error('no file is open: :VimeOpen {file} first')
    return {}
  elseif empty(l:context.name)
    call vime#error('no table here: open one, or name it')
    return {}
  endif
  return l:context
endfunction

" -- autocommands ----------------------------------------------------------------

" `:edit results.h5`: show the list in a buffer named vime://<file>.
function! vime#read_file(name, bufnr) abort
  " vime://f.h5 matches *.h5 too: vime#read_uri() reads it; so does
  " hdf5://home/u/f.h5: vime#read_domain() reads it.
  if a:name =~# '^vime://' || vime#buffer#unmangle(a:name) !=# a:name
    return
  endif
  call s:read(vime#buffer#abspath(a:name), a:bufnr)
endfunction

" `:edit hdf5://home/u/f.h5`: the list of an HSDS domain, in a buffer named
" vime://hdf5://home/u/f.h5 (see vime#buffer#unmangle()).
function! vime#read_domain(name, bufnr) abort
  call s:read(vime#buffer#unmangle(a:name), a:bufnr)
endfunction

function! s:read(path, bufnr) abort
  let l:uri = vime#buffer#uri(a:path)
  let l:existing = vime#buffer#find(l:uri)
  if l:existing > 0 && l:existing != a:bufnr
    setlocal bufhidden=wipe
    execute 'keepalt buffer' l:existing
    return
  endif
  execute 'silent keepalt file' fnameescape(l:uri)
  " :file left a buffer holding the old name; nothing will use it.
  let l:leftover = vime#buffer#find(a:path)
  if l:leftover > 0 && l:leftover != a:bufnr && !buflisted(l:leftover)
    execute 'silent! bwipeout' l:leftover
  endif
  call vime#list#show(a:path)
endfunction

function! vime#read_uri(uri, bufnr) abort
  let l:target = vime#buffer#parse(a:uri)
  let l:path = vime#buffer#abspath(l:target.path)
  if empty(l:target.name)
    call vime#list#show(l:path)
  else
    call vime#table#show(l:path, l:target.name)
  endif
endfunction

" -- commands --------------------------------------------------------------------

" The commands take their modifiers (<q-mods>): `:vertical VimeTable /t`
" opens a vertical split, `:tab VimeInfo` a tab page.
function! vime#open(path, ...) abort
  call s:edit(vime#buffer#uri(vime#buffer#abspath(a:path)), a:0 ? a:1 : '')
endfunction

function! vime#table(name, ...) abort
  let l:target = s:target(a:name)
  if !empty(l:target)
    call s:edit(vime#buffer#uri(l:target.path, l:target.name), a:0 ? a:1 : '')
  endif
endfunction

function! s:edit(uri, mods) abort
  execute a:mods . (vime#buffer#splits(a:mods) ? ' split ' : ' edit ') . fnameescape(a:uri)
endfunction

function! vime#info(name, ...) abort
  let l:target = s:target(a:name)
  if empty(l:target)
    return
  endif
  let l:bufnr = vime#buffer#split('vime-info://' . l:target.path . '/' . l:target.name,
        \ {'kind': 'info', 'path': l:target.path, 'name': l:target.name},
        \ get(g:, 'vime_info_height', 15), a:0 ? a:1 : '')
  call vime#view#load(l:bufnr)
endfunction

" :VimePlot {y[,y2...]} [x] [line|scatter|hist|heat] [logx] [logy] [key=value ...]
function! vime#plot(args, ...) abort
  let l:words = split(a:args)
  let l:target = s:target('')
  if empty(l:words) || empty(l:target)
    return
  endif
  call vime#plot#show(l:target, vime#plot#request(l:words, l:target.name), a:0 ? a:1 : '')
endfunction

function! vime#compute(args) abort
  call vime#compute#start(a:args)
endfunction

function! vime#goto(row) abort
  call vime#table#goto(a:row)
endfunction

" Export formats by the extension of the file written.
let s:export_formats = {'csv': 'csv', 'h5': 'hdf5', 'hdf5': 'hdf5', 'hdf': 'hdf5',
      \ 'he5': 'hdf5', 'parquet': 'parquet', 'pq': 'parquet'}

" :VimeExport[!] {file}: the current table to a new file (! replaces one), in
" the format its extension names.  The backend writes it: a table of a file
" on another host is exported on that host (a relative {file} is in the
" home folder there).
function! vime#export(to, overwrite) abort
  let l:target = s:target('')
  if empty(l:target)
    return
  endif
  let l:format = get(s:export_formats, tolower(fnamemodify(a:to, ':e')), '')
  if empty(l:format)
    call vime#error('cannot tell the format of ' . a:to
          \ . ': name the file .csv, .h5, .hdf5 or .parquet')
    return
  endif
  let l:to = empty(vime#buffer#where(l:target.path)[0]) ? vime#buffer#abspath(a:to) : a:to
  call vime#request(l:target.path, 'export', {'name': l:target.name, 'to': l:to,
        \ 'format': l:format, 'overwrite': a:overwrite ? v:true : v:false},
        \ function('s:on_exported', [l:target.name, a:to]))
endfunction

function! s:on_exported(name, to, result) abort
  if get(a:result, 'ok', 0)
    call vime#message(printf('exported %s to %s: %s rows × %s cols, %s', a:name,
          \ get(a:result, 'path', a:to), vime#view#number(get(a:result, 'rows', '?')),
          \ vime#view#number(get(a:result, 'cols', '?')), s:size(get(a:result, 'bytes', 0))))
  elseif get(a:result, 'exists', v:false) is v:true
    call vime#error(a:to . ' exists; use :VimeExport! to replace it')
  else
    call vime#fail(a:result)
  endif
endfunction

" 1234567 -> '1.2 MB'
function! s:size(bytes) abort
  if type(a:bytes) != type(0)
    return '? bytes'
  endif
  let l:units = ['bytes', 'kB', 'MB', 'GB', 'TB']
  let l:size = a:bytes * 1.0
  let l:unit = 0
  while l:size >= 1000 && l:unit < len(l:units) - 1
    let l:size = l:size / 1000
    let l:unit += 1
  endwhile
  return l:unit == 0 ? a:bytes . ' bytes' : printf('%.1f %s', l:size, l:units[l:unit])
endfunction

" :VimeCancel and CTRL-C: cancel the newest request running in a worker (its
" reply says "cancelled"), else the newest compute job started here, else
" ask the current file's backend to cancel its compute job.
function! vime#cancel() abort
  let l:running = filter(vime#job#waiting(), 'index(s:worker_methods, v:val.method) >= 0')
  if !empty(l:running)
    " Vim's json channel does not tell the id of a request: cancel without
    " one cancels the newest running in that backend, which is this one.
    call vime#job#request('cancel', {}, function('s:on_cancel'), l:running[-1].host)
  elseif !vime#compute#cancel()
    let l:host = vime#buffer#where(vime#context().path)[0]
    call vime#job#request('compute_cancel', {}, function('s:on_cancel'), l:host)
  endif
endfunction

function! s:on_cancel(result) abort
  if !get(a:result, 'ok', 0)
    call vime#fail(a:result)
  elseif has_key(a:result, 'cancelled') ? a:result.cancelled is v:null
        \ : get(a:result, 'status', '') !=# 'cancelling'
    call vime#message('nothing to cancel')
  endif
endfunction

function! s:report_failure(result) abort
  if !get(a:result, 'ok', 0)
    call vime#fail(a:result)
  endif
endfunction

" Close the current buffer's file in the backend and wipe its views.
function! vime#close() abort
  let l:path = get(get(b:, 'vime', {}), 'path', '')
  if empty(l:path)
    call vime#error(':VimeClose works in a vime buffer')
    return
  endif
  let l:file = has_key(s:files, l:path) ? remove(s:files, l:path) : {}
  let [l:host, l:where] = vime#buffer#where(l:path)
  if get(l:file, 'generation', 0) == vime#job#generation(l:host)
    call vime#job#request('close', {'path': l:where}, function('s:report_failure'), l:host)
  endif
  for l:bufnr in vime#buffer#all('', l:path)
    execute 'silent! bwipeout' l:bufnr
  endfor
endfunction

" One line per backend: this machine's, then each host's.
function! vime#status() abort
  let l:job = vime#job#status()
  let l:sent = 0
  for l:count in values(l:job.sent)
    let l:sent += l:count
  endfor
  if !l:job.running
    call vime#message('backend not running (it starts on the next command); '
          \ . 'command: ' . join(l:job.command))
  endif
  for l:host in vime#job#hosts()
    let l:job = vime#job#status(l:host)
    let l:backend = l:job.backend
    let l:open = len(filter(keys(s:files), 'vime#buffer#where(v:val)[0] ==# l:host'
          \ . ' && s:files[v:val].generation == l:job.generation'))
    call vime#message(printf('backend%s pid %d · vime %s · Python %s · %d file(s) open · '
          \ . '%d request(s) sent · compute: %s', empty(l:host) ? '' : ' on ' . l:host,
          \ l:job.pid, get(l:backend, 'version', '?'), get(l:backend, 'python', '?'), l:open,
          \ l:sent, vime#compute#describe()))
  endfor
endfunction

" Stop the backend, start a new one, and redraw every view from it.  The
" computed tables of the files seen before may not survive (results kept as
" files do): the files' listings before and after the restart say which did,
" and the message says so.
function! vime#restart() abort
  let l:before = s:computed_tables()
  let l:hosts = vime#job#hosts()
  for l:host in filter(copy(l:hosts), '!empty(v:val)')
    call vime#job#restart(l:host)
  endfor
  if !vime#job#restart()
    return
  endif
  let l:pid = vime#job#status().pid
  if empty(l:before)
    call vime#message('backend restarted (pid ' . l:pid . ')')
  else
    let l:report = {'pid': l:pid, 'before': l:before, 'after': {}, 'waiting': len(l:before)}
    for l:path in keys(l:before)
      call vime#request(l:path, 'tables', {},
            \ function('s:on_restart_listing', [l:path, l:report]))
    endfor
  endif
  for l:bufnr in vime#buffer#all('list', '') + vime#buffer#all('table', '')
    call vime#view#load(l:bufnr)
  endfor
endfunction

" Compute results in a listing: 'computed' entries, or 'virtual' ones from
" a backend that keeps them in memory.
function! vime#is_computed(entry) abort
  return index(['computed', 'virtual'], get(a:entry, 'kind', '')) >= 0
endfunction

" {path: [names]} of the computed tables in the last listing of each file.
function! s:computed_tables() abort
  let l:computed = {}
  for [l:path, l:file] in items(s:files)
    let l:names = map(filter(copy(l:file.tables), 'vime#is_computed(v:val)'), 'v:val.name')
    if !empty(l:names)
      let l:computed[l:path] = l:names
    endif
  endfor
  return l:computed
endfunction

function! s:on_restart_listing(path, report, result) abort
  let l:ok = get(a:result, 'ok', 0)
  let a:report.after[a:path] = l:ok ? map(copy(a:result.tables), 'v:val.name') : []
  if l:ok
    call vime#remember_tables(a:path, a:result.tables)
  endif
  let a:report.waiting -= 1
  if a:report.waiting == 0
    call vime#message(vime#restart_report(a:report.pid, a:report.before, a:report.after))
  endif
endfunction

" What :VimeRestart says, from {path: [computed names]} before the restart
" and {path: [names]} listed after it.
function! vime#restart_report(pid, before, after) abort
  let l:lost = []
  let l:kept = []
  for l:path in sort(keys(a:before))
    for l:name in a:before[l:path]
      let l:found = index(get(a:after, l:path, []), l:name) >= 0 ? l:kept : l:lost
      if index(l:found, l:name) < 0
        call add(l:found, l:name)
      endif
    endfor
  endfor
  let l:text = 'backend restarted (pid ' . a:pid . ')'
  if !empty(l:lost)
    let l:text .= '; computed tables lost: ' . join(l:lost, ', ') . ' (run :VimeCompute again)'
  endif
  if !empty(l:kept)
    let l:text .= '; computed tables kept: ' . join(l:kept, ', ')
  endif
  return l:text
endfunction

" Open a computed table (g:vime_open_results): in the current window when it
" shows a view of the same file, else in another window showing one, else
" in a new split.
function! vime#show_result(path, name) abort
  let l:windows = filter(range(1, winnr('$')), 's:shows_file(v:val, a:path)')
  if s:shows_file(winnr(), a:path)
    let l:windows = [winnr()]
  endif
  let l:uri = fnameescape(vime#buffer#uri(a:path, a:name))
  if empty(l:windows)
    execute get(g:, 'vime_split', 'botright') 'split' l:uri
  else
    call win_gotoid(win_getid(l:windows[0]))
    execute 'edit' l:uri
  endif
endfunction

function! s:shows_file(winnr, path) abort
  let l:state = getbufvar(winbufnr(a:winnr), 'vime', {})
  return get(l:state, 'path', '') ==# a:path && index(['list', 'table'], l:state.kind) >= 0
endfunction

function! vime#log(...) abort
  let l:bufnr = vime#buffer#split('vime-log', {'kind': 'log'}, get(g:, 'vime_log_height', 15),
        \ a:0 ? a:1 : '')
  call vime#view#load(l:bufnr)
endfunction

" The progress of a request or a compute job, for 'statusline':
" %{vime#statusline()}
function! vime#statusline() abort
  return vime#progress#text()
endfunction

" -- mappings --------------------------------------------------------------------

function! vime#action(name) abort
  let l:kind = get(get(b:, 'vime', {}), 'kind', '')
  if empty(l:kind)
    return
  elseif a:name ==# 'open'
    call vime#table(vime#list#name_under_cursor())
  elseif a:name ==# 'info'
    call vime#info('')
  elseif a:name =~# '^plot'
    let l:mods = {'plot': '', 'plot-vertical': 'vertical', 'plot-horizontal': 'botright'}[a:name]
    call s:prompt('VimePlot', 'vime#complete#plot', function('vime#plot'), l:mods)
  elseif a:name ==# 'compute'
    call s:prompt('VimeCompute', 'vime#complete#compute', function('vime#compute'))
  elseif a:name ==# 'refresh'
    call vime#view#load(bufnr('%'))
  elseif a:name ==# 'close-view'
    call s:close_view(l:kind)
  elseif a:name ==# 'list'
    call s:back_to_list()
  elseif a:name ==# 'help'
    execute 'help' index(['list', 'table'], l:kind) >= 0 ? 'vime-' . l:kind : 'vime'
  elseif a:name ==# 'cancel'
    call vime#cancel()
  elseif l:kind !=# 'table'
    return
  elseif a:name ==# 'search'
    call vime#search#prompt()
  elseif a:name =~# '^search-'
    call vime#search#again(a:name ==# 'search-next' ? 'forward' : 'backward')
  elseif a:name =~# '^sort'
    call vime#derived#sort_column(a:name ==# 'sort-descending')
  elseif a:name =~# '^filter'
    call vime#derived#filter_cell(a:name ==# 'filter-not')
  else
    call vime#table#action(a:name, v:count)
  endif
endfunction

function! s:prompt(command, completion, Run, ...) abort
  if empty(vime#context().name)
    call vime#error('no table under the cursor')
    return
  endif
  let l:answer = input(a:command . ' ', '', 'customlist,' . a:completion)
  if !empty(trim(l:answer))
    call call(a:Run, [l:answer] + a:000)
  endif
endfunction

" The header window of a table does not count as a window of its own.
function! s:close_view(kind) abort
  let l:windows = filter(range(1, winnr('$')),
        \ 'get(getbufvar(winbufnr(v:val), "vime", {}), "kind", "") !=# "header"')
  if a:kind ==# 'table'
    call vime#header#close(win_getid())
  endif
  if len(l:windows) > 1
    close
  else
    bwipeout
  endif
endfunction

" -: from a table, its info or its plot to the file's list, with the cursor
" on the table (as - goes up to the directory in dirvish and vinegar); from a
" sorted or filtered view to the table it came from.
function! s:back_to_list() abort
  let l:state = b:vime
  let l:origin = get(get(l:state, 'derived', {}), 'origin', '')
  if l:state.kind ==# 'table' && !empty(l:origin)
    call vime#table(l:origin)
  elseif !empty(get(l:state, 'path', ''))
    call vime#list#open(l:state.path, get(l:state, 'name', ''))
  endif
endfunction
