" vime/job.vim: the backend processes of an editor session, in Vim or Neovim:
" one on this machine and one per remote host (a file named ssh://{host}/...).
"
" The rest of the plugin sees a small API and never asks which editor it runs in.
" {host} is '' for this machine (the default), else the host of an ssh:// file:
"   vime#job#request(method, params, Callback [, host])  Callback(result) runs
"       exactly once, with the reply {'ok': v:true, ...} or a failure
"       {'ok': v:false, 'error': ...}; a failure with 'quiet' set was already
"       reported here (backend gone).
"   vime#job#on(method, Callback)    Callback(params) for pushed notifications;
"       vime#job#sender() is the host that sent the message while it runs
"   vime#job#waiting()   the requests sent and not answered, oldest first
"   vime#job#wait(timeout_ms [, Condition])   process messages until done
"   vime#job#start([host]), vime#job#restart([host]), vime#job#stop([host]),
"   vime#job#status([host]), vime#job#hosts(), vime#job#generation([host]),
"   vime#job#log()
"   vime#job#highlight(bufnr, items), vime#job#clear_highlights(bufnr)
"       highlight groups on byte ranges: text properties in Vim, extmarks in Neovim
"
" Vim talks in channel 'json' mode: ch_sendexpr() pairs replies with requests and
" hands [0, {...}] messages to the channel callback.  Neovim has no JSON channel,
" so its lines are framed and matched by id here, with the same [id, {...}] form.
" Request ids (tokens) count across every backend, so a reply finds its
" callback whichever backend sends it.

let s:nvim = has('nvim')
let s:root = fnamemodify(resolve(expand('<sfile>:p')), ':h:h:h')
let s:log_max = 2000
" Python packages the backend cannot work without, as pip names them.
let s:required = ['numpy', 'pandas', 'h5py', 'tables', 'tabulate', 'hdf5plugin']
let s:ssh_command = ['ssh', '-T', '-o', 'BatchMode=yes', '{host}', 'vime-rpc']

" host -> {'host', 'handle' (Vim: the job; Neovim: the job id), 'generation',
" 'alive', 'pid', 'stdout_tail', 'stderr_tail' (Neovim: unterminated output),
" 'info' (its ping reply), 'said' (its last line on stderr)}
let s:backends = {}
let s:generation = 0     " bumped on every start of any backend
let s:pending = {}       " token -> {'Callback', 'method', 'host'}
let s:next_token = 0
let s:sender = ''        " the host of the message being handled
let s:subscribers = {}   " method -> [Callback]
let s:sent = {}          " method -> requests sent since the editor started
let s:log = []
let s:namespace = s:nvim ? nvim_create_namespace('vime') : 0  " Neovim: our extmarks

" Leaving the editor ends the backends on purpose: no "exited" message.
augroup vime_job
  autocmd!
  autocmd VimLeavePre * call vime#job#stop()
augroup END

function! vime#job#request(method, params, Callback, ...) abort
  let l:host = a:0 ? a:1 : ''
  if !s:running(l:host) && !s:start(l:host)
    call s:invoke(a:Callback, s:failure('the backend' . s:on(l:host)
          \ . ' is not running (see :VimeLog)', 1))
    return 0
  endif
  let l:backend = s:backends[l:host]
  let s:next_token += 1
  let l:token = s:next_token
  let s:pending[l:token] = {'Callback': a:Callback, 'method': a:method, 'host': l:host}
  let s:sent[a:method] = get(s:sent, a:method, 0) + 1
  let l:body = {'method': a:method, 'params': empty(a:params) ? {} : a:params}
  try
    if s:nvim
      call chansend(l:backend.handle, json_encode([l:token, l:body]) . "\n")
    else
      call ch_sendexpr(l:backend.handle, l:body,
            \ {'callback': function('s:on_vim_reply', [l:host, l:token])})
    endif
  catch
    call remove(s:pending, l:token)
    call s:log_line(l:host, 'send failed: ' . v:exception)
    call s:invoke(a:Callback, s:failure('cannot send to the backend' . s:on(l:host) . ': '
          \ . v:exception, 0))
    return 0
  endtry
  return l:token
endfunction

function! vime#job#on(method, Callback) abort
  let s:subscribers[a:method] = add(get(s:subscribers, a:method, []), a:Callback)
endfunction

" The host of the reply or notification being handled ('' for this machine).
function! vime#job#sender() abort
  return s:sender
endfunction

" The requests waiting for their reply, oldest first: [{'token', 'method', 'host'}].
function! vime#job#waiting() abort
  let l:tokens = sort(map(keys(s:pending), 'str2nr(v:val)'), 'n')
  return map(l:tokens, '{"token": v:val, "method": s:pending[v:val].method,'
        \ . ' "host": s:pending[v:val].host}')
endfunction

" Let the editor process messages until Condition() is true (default: no
" request is waiting for its reply).  Returns 0 on timeout.
function! vime#job#wait(timeout, ...) abort
  let l:Done = a:0 ? a:1 : {-> empty(s:pending)}
  let l:started = reltime()
  while !l:Done()
    if reltimefloat(reltime(l:started)) * 1000 >= a:timeout
      return 0
    endif
    sleep 5m
  endwhile
  return 1
endfunction

function! vime#job#start(...) abort
  let l:host = a:0 ? a:1 : ''
  return s:running(l:host) || s:start(l:host)
endfunction

" Stop the backend of a host; without an argument, every backend.
function! vime#job#stop(...) abort
  for l:host in a:0 ? [a:1] : keys(s:backends)
    let l:backend = get(s:backends, l:host, {})
    if !get(l:backend, 'alive', 0)
      continue
    endif
    let l:backend.alive = 0
    call s:log_line(l:host, 'stopping backend pid ' . l:backend.pid)
    if s:nvim
      call jobstop(l:backend.handle)
    else
      call job_stop(l:backend.handle)
    endif
    call s:fail_pending(l:host, 'the backend was stopped')
  endfor
endfunction

function! vime#job#restart(...) abort
  let l:host = a:0 ? a:1 : ''
  call vime#job#stop(l:host)
  return s:start(l:host)
endfunction

" The backend of a host (default: this machine's); 'pending' and 'sent'
" count the requests of every backend.
function! vime#job#status(...) abort
  let l:host = a:0 ? a:1 : ''
  let l:backend = get(s:backends, l:host, {})
  let l:alive = get(l:backend, 'alive', 0)
  return {
        \ 'host': l:host,
        \ 'running': l:alive,
        \ 'pid': l:alive ? l:backend.pid : 0,
        \ 'generation': get(l:backend, 'generation', 0),
        \ 'pending': len(s:pending),
        \ 'sent': copy(s:sent),
        \ 'backend': copy(get(l:backend, 'info', {})),
        \ 'command': s:command(l:host),
        \ }
endfunction

" The hosts whose backend runs ('' for this machine).
function! vime#job#hosts() abort
  return sort(filter(keys(s:backends), 's:backends[v:val].alive'))
endfunction

" Starts of the host's backend so far; a change means files must be reopened.
function! vime#job#generation(...) abort
  return get(get(s:backends, a:0 ? a:1 : '', {}), 'generation', 0)
endfunction

function! vime#job#log() abort
  return copy(s:log)
endfunction

" -- what differs between the editors, decided here once -------------------------

" How a table keeps its column header in view: Neovim 0.8 draws a 'winbar';
" Vim and older Neovim get a small header window above the table.
function! vime#job#header_style() abort
  return s:nvim && has('nvim-0.8') ? 'winbar' : 'window'
endfunction

" Set a window's 'winbar' (only called when header_style() is 'winbar').
function! vime#job#set_winbar(winid, value) abort
  call setwinvar(a:winid, '&winbar', a:value)
endfunction

" Append a line to the log that :VimeLog shows (errors go there too).
function! vime#job#log_line(text) abort
  call s:log_line('', a:text)
endfunction

" -- highlights -----------------------------------------------------------------

" Highlight byte ranges of a buffer: items are [lnum, col, end_col, group], with
" line numbers and byte columns from 1 and end_col excluded.  A Vim without
" text properties shows no colours.
function! vime#job#highlight(bufnr, items) abort
  if s:nvim
    for [l:lnum, l:col, l:end, l:group] in a:items
      call nvim_buf_set_extmark(a:bufnr, s:namespace, l:lnum - 1, l:col - 1,
            \ {'end_col': l:end - 1, 'hl_group': l:group})
    endfor
    return
  elseif !exists('*prop_add')
    return
  endif
  let l:places = {}  " property type -> [[lnum, col, end_lnum, end_col], ...]
  for [l:lnum, l:col, l:end, l:group] in a:items
    let l:type = s:prop_type(l:group)
    let l:places[l:type] = add(get(l:places, l:type, []), [l:lnum, l:col, l:lnum, l:end])
  endfor
  for [l:type, l:list] in items(l:places)
    if exists('*prop_add_list')
      call prop_add_list({'type': l:type, 'bufnr': a:bufnr}, l:list)
    else
      for [l:lnum, l:col, l:end_lnum, l:end] in l:list
        call prop_add(l:lnum, l:col, {'end_col': l:end, 'type': l:type, 'bufnr': a:bufnr})
      endfor
    endif
  endfor
endfunction

function! vime#job#clear_highlights(bufnr) abort
  if s:nvim
    call nvim_buf_clear_namespace(a:bufnr, s:namespace, 0, -1)
  elseif exists('*prop_clear') && bufloaded(a:bufnr)
    call prop_clear(1, max([1, len(getbufline(a:bufnr, 1, '$'))]), {'bufnr': a:bufnr})
  endif
endfunction

" Vim: one global text property type per highlight group, made on first use.
function! s:prop_type(group) abort
  let l:type = 'vime_' . a:group
  if empty(prop_type_get(l:type))
    call prop_type_add(l:type, {'highlight': a:group})
  endif
  return l:type
endfunction

" -- start and stop ------------------------------------------------------------

" Whether the host's backend runs; a death not yet reported is reported now,
" so that a command right after a crash restarts it instead of writing to a
" dead pipe.
function! s:running(host) abort
  let l:backend = get(s:backends, a:host, {})
  if !get(l:backend, 'alive', 0)
    return 0
  endif
  if s:nvim
    let l:status = jobwait([l:backend.handle], 0)[0]
    if l:status != -1
      call s:on_exit(a:host, l:backend.generation, s:describe_exit(l:status, ''))
    endif
  else
    call job_status(l:backend.handle)  " runs exit_cb when it finds the job dead
  endif
  return l:backend.alive
endfunction

" The command of a host's backend: g:vime_rpc_command here; elsewhere its
" entry in g:vime_hosts, else g:vime_ssh_command, with {host} filled in.  A
" string is run by 'shell'.
function! s:command(host) abort
  if empty(a:host)
    let l:command = get(g:, 'vime_rpc_command', [s:root . '/bin/vime-rpc'])
  else
    let l:command = get(get(g:, 'vime_hosts', {}), a:host,
          \ get(g:, 'vime_ssh_command', s:ssh_command))
    let l:command = type(l:command) == type('')
          \ ? substitute(l:command, '{host}', escape(shellescape(a:host), '\&'), 'g')
          \ : map(copy(l:command), 'substitute(v:val, "{host}", escape(a:host, ''\&''), "g")')
  endif
  if type(l:command) == type('')
    return [&shell, &shellcmdflag, l:command]
  endif
  return copy(l:command)
endfunction

function! s:start(host) abort
  let s:generation += 1
  let l:backend = {'host': a:host, 'generation': s:generation, 'alive': 0, 'pid': 0,
        \ 'stdout_tail': '', 'stderr_tail': '', 'info': {}, 'said': ''}
  let s:backends[a:host] = l:backend
  let l:command = s:command(a:host)
  call s:log_line(a:host, 'starting ' . join(l:command))
  let l:args = [a:host, l:backend.generation]
  try
    if s:nvim
      let l:backend.handle = jobstart(l:command, {
            \ 'on_stdout': function('s:on_nvim_stdout', l:args),
            \ 'on_stderr': function('s:on_nvim_stderr', l:args),
            \ 'on_exit': function('s:on_nvim_exit', l:args),
            \ })
      let l:started = l:backend.handle > 0
      let l:backend.pid = l:started ? jobpid(l:backend.handle) : 0
    else
      let l:backend.handle = job_start(l:command, {
            \ 'mode': 'json',
            \ 'err_mode': 'nl',
            \ 'callback': function('s:on_vim_message', l:args),
            \ 'err_cb': function('s:on_vim_stderr', l:args),
            \ 'exit_cb': function('s:on_vim_exit', l:args),
            \ })
      let l:started = job_status(l:backend.handle) ==# 'run'
      let l:backend.pid = l:started ? job_info(l:backend.handle).process : 0
    endif
  catch
    let l:started = 0
    call s:log_line(a:host, v:exception)
  endtry
  if !l:started
    call vime#error('cannot start the backend' . s:on(a:host) . ' ' . string(l:command)
          \ . (empty(a:host) ? ': check g:vime_rpc_command, or run ' . s:root . '/bin/vime-env'
          \ : ': check g:vime_hosts and g:vime_ssh_command'))
    return 0
  endif
  let l:backend.alive = 1
  call s:log_line(a:host, 'backend pid ' . l:backend.pid . ' started')
  call vime#job#request('ping', {}, function('s:on_ping', l:args), a:host)
  return 1
endfunction

" ' on {host}' for a remote backend, '' for this machine's.
function! s:on(host) abort
  return empty(a:host) ? '' : ' on ' . a:host
endfunction

function! s:current(host, generation) abort
  return get(get(s:backends, a:host, {}), 'generation', -1) == a:generation
endfunction

function! s:on_ping(host, generation, result) abort
  if !s:current(a:host, a:generation) || !get(a:result, 'ok', 0)
    return
  endif
  let s:backends[a:host].info = a:result
  let l:libraries = get(a:result, 'libraries', {})
  let l:missing = filter(copy(s:required), {_, name -> empty(get(l:libraries, name, ''))})
  if !empty(l:missing)
    call s:report_missing(a:host, l:missing)
  endif
endfunction

function! s:report_missing(host, packages) abort
  let l:python = get(get(s:backends, a:host, {}), 'info', {})
  let l:python = get(l:python, 'executable', empty(a:host) ? 'python3' : 'the backend''s python')
  call vime#error('missing Python package(s) ' . join(a:packages, ', ') . s:on(a:host)
        \ . ' for ' . l:python . ': ' . s:install_hint(a:host, a:packages))
endfunction

function! vime#job#install_hint(packages) abort
  return s:install_hint('', a:packages)
endfunction

function! s:install_hint(host, packages) abort
  let l:python = get(get(get(s:backends, a:host, {}), 'info', {}), 'executable', 'python3')
  let l:pip = l:python . ' -m pip install ' . join(a:packages)
  if !empty(a:host)
    return 'on ' . a:host . ', run bin/vime-env in vime''s folder, or ' . l:pip
  endif
  return 'run ' . s:root . '/bin/vime-env (it makes ' . s:root . '/.venv), or ' . l:pip
endfunction

" How the process ended: 'status N' or 'signal NAME'.  Neovim reports a
" signal as 128 + its number (signals go up to 64; ssh exits with 255), Vim
" as -1 with job_info().termsig.
function! s:describe_exit(status, signal) abort
  if !empty(a:signal)
    return 'signal ' . a:signal
  endif
  return s:nvim && a:status > 128 && a:status <= 128 + 64
        \ ? 'signal ' . (a:status - 128) : 'status ' . a:status
endfunction

function! s:on_exit(host, generation, how) abort
  if !s:current(a:host, a:generation)
    return
  endif
  let l:backend = s:backends[a:host]
  let l:expected = !l:backend.alive
  let l:backend.alive = 0
  call s:log_line(a:host, 'backend pid ' . l:backend.pid . ' exited with ' . a:how)
  call s:fail_pending(a:host, 'the backend' . s:on(a:host) . ' exited')
  if l:expected
    return
  endif
  let l:output = filter(copy(s:log[-20:]), 'stridx(v:val, s:prefix(a:host)) >= 0')
  let l:module = matchstr(join(l:output, "\n"), "No module named '\\zs[^'.]\\+")
  if !empty(l:module)
    call s:report_missing(a:host, [l:module])
  else
    " ssh says why it could not connect (host unknown, key refused).
    let l:why = empty(a:host) || empty(l:backend.said) ? '' : ': ' . l:backend.said
    call vime#error('the backend' . s:on(a:host) . ' exited (' . a:how . l:why
          \ . '); the next command restarts it. :VimeLog shows its output')
  endif
endfunction

" Every waiting callback of the host gets a quiet failure, so views stop
" saying "loading".
function! s:fail_pending(host, reason) abort
  for l:token in keys(s:pending)
    if s:pending[l:token].host ==# a:host
      call s:invoke(remove(s:pending, l:token).Callback, s:failure(a:reason, 1))
    endif
  endfor
endfunction

function! s:failure(message, quiet) abort
  return {'ok': 0, 'error': a:message, 'code': -1, 'quiet': a:quiet}
endfunction

" -- messages in ---------------------------------------------------------------

function! s:on_vim_reply(host, token, channel, result) abort
  call s:reply(a:host, a:token, a:result)
endfunction

" Vim hands [0, body] to the channel callback as body.
function! s:on_vim_message(host, generation, channel, body) abort
  if s:current(a:host, a:generation)
    call s:message(a:host, 0, a:body)
  endif
endfunction

function! s:on_vim_stderr(host, generation, channel, line) abort
  call s:stderr_line(a:host, a:generation, a:line)
endfunction

function! s:on_vim_exit(host, generation, job, status) abort
  let l:signal = a:status == -1 ? get(job_info(a:job), 'termsig', '') : ''
  call s:on_exit(a:host, a:generation, s:describe_exit(a:status, l:signal))
endfunction

" Neovim gives raw chunks: the first item continues the last partial line and
" the last item is the start of the next one.
function! s:on_nvim_stdout(host, generation, id, data, event) abort
  if !s:current(a:host, a:generation)
    return
  endif
  let l:backend = s:backends[a:host]
  let l:lines = copy(a:data)
  let l:lines[0] = l:backend.stdout_tail . l:lines[0]
  let l:backend.stdout_tail = remove(l:lines, -1)
  for l:line in l:lines
    if l:line =~# '^\s*$'
      continue
    endif
    try
      let l:message = json_decode(l:line)
    catch
      call s:log_line(a:host, 'undecodable line from the backend: ' . strpart(l:line, 0, 200))
      continue
    endtry
    if type(l:message) == type([]) && len(l:message) == 2
      call s:message(a:host, l:message[0], l:message[1])
    endif
  endfor
endfunction

function! s:on_nvim_stderr(host, generation, id, data, event) abort
  if !s:current(a:host, a:generation)
    return
  endif
  let l:backend = s:backends[a:host]
  let l:lines = copy(a:data)
  let l:lines[0] = l:backend.stderr_tail . l:lines[0]
  let l:backend.stderr_tail = remove(l:lines, -1)
  for l:line in l:lines
    call s:stderr_line(a:host, a:generation, l:line)
  endfor
endfunction

function! s:on_nvim_exit(host, generation, id, status, event) abort
  let l:backend = get(s:backends, a:host, {})
  if s:current(a:host, a:generation) && !empty(l:backend.stderr_tail)
    call s:stderr_line(a:host, a:generation, l:backend.stderr_tail)
    let l:backend.stderr_tail = ''
  endif
  call s:on_exit(a:host, a:generation, s:describe_exit(a:status, ''))
endfunction

function! s:stderr_line(host, generation, line) abort
  call s:log_line(a:host, a:line)
  if s:current(a:host, a:generation) && a:line =~# '\S'
    let s:backends[a:host].said = trim(a:line)
  endif
endfunction

function! s:message(host, id, body) abort
  if a:id != 0
    call s:reply(a:host, a:id, a:body)
  elseif type(a:body) == type({}) && has_key(a:body, 'method')
    for l:Callback in get(s:subscribers, a:body.method, [])
      call s:invoke(l:Callback, get(a:body, 'params', {}), a:host)
    endfor
  else
    " An error about a line the backend could not read carries id 0.
    call s:log_line(a:host, 'unsolicited message: ' . string(a:body))
  endif
endfunction

function! s:reply(host, token, result) abort
  if has_key(s:pending, a:token)
    call s:invoke(remove(s:pending, a:token).Callback, a:result, a:host)
  endif
endfunction

" A failing callback must not break the channel: report it and go on.
function! s:invoke(Callback, value, ...) abort
  let l:outer = s:sender
  let s:sender = a:0 ? a:1 : s:sender
  try
    call call(a:Callback, [a:value])
  catch
    call s:log_line('', 'callback failed: ' . v:exception . ' at ' . v:throwpoint)
    call vime#error('internal error: ' . v:exception . ' (details in :VimeLog)')
  finally
    let s:sender = l:outer
  endtry
endfunction

function! s:prefix(host) abort
  return empty(a:host) ? '' : '[' . a:host . '] '
endfunction

" The log of every backend; a remote one's lines start with [host].
function! s:log_line(host, text) abort
  call add(s:log, strftime('%H:%M:%S ') . s:prefix(a:host) . a:text)
  if len(s:log) > s:log_max
    call remove(s:log, 0, len(s:log) - s:log_max - 1)
  endif
endfunction
