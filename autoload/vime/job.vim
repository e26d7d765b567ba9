" vime/job.vim: the one backend process per editor session, in Vim or Neovim.
"
" The rest of the plugin sees a small API and never asks which editor it runs in:
"   vime#job#request(method, params, Callback)  Callback(result) runs exactly once,
"       with the reply {'ok': v:true, ...} or a failure {'ok': v:false, 'error': ...};
"       a failure with 'quiet' set was already reported here (backend gone).
"   vime#job#on(method, Callback)    Callback(params) for pushed notifications
"   vime#job#wait(timeout_ms [, Condition])   process messages until done
"   vime#job#restart(), vime#job#stop(), vime#job#status(), vime#job#log()
"   vime#job#highlight(bufnr, items), vime#job#clear_highlights(bufnr)
"       highlight groups on byte ranges: text properties in Vim, extmarks in Neovim
"
" Vim talks in channel 'json' mode: ch_sendexpr() pairs replies with requests and
" hands [0, {...}] messages to the channel callback.  Neovim has no JSON channel,
" so its lines are framed and matched by id here, with the same [id, {...}] form.

let s:nvim = has('nvim')
let s:root = fnamemodify(resolve(expand('<sfile>:p')), ':h:h:h')
let s:log_max = 2000
" Python packages the backend cannot work without, as pip names them.
let s:required = ['numpy', 'pandas', 'h5py', 'tables', 'tabulate', 'hdf5plugin']

let s:handle = 0         " Vim: the job; Neovim: the job id
let s:generation = 0     " bumped on every start; stale callbacks compare it
let s:alive = 0
let s:pid = 0
let s:pending = {}       " token -> Callback, in both editors
let s:next_token = 0
let s:stdout_tail = ''   " Neovim: the unterminated end of stdout
let s:stderr_tail = ''
let s:subscribers = {}   " method -> [Callback]
let s:sent = {}          " method -> requests sent since the editor started
let s:backend = {}       " the ping reply of the running backend
let s:log = []
let s:namespace = s:nvim ? nvim_create_namespace('vime') : 0  " Neovim: our extmarks

" Leaving the editor ends the backend on purpose: no "exited" message.
augroup vime_job
  autocmd!
  autocmd VimLeavePre * call vime#job#stop()
augroup END

function! vime#job#request(method, params, Callback) abort
  if !s:running() && !s:start()
    call s:invoke(a:Callback, s:failure('the backend is not running (see :VimeLog)', 1))
    return 0
  endif
  let s:next_token += 1
  let l:token = s:next_token
  let s:pending[l:token] = a:Callback
  let s:sent[a:method] = get(s:sent, a:method, 0) + 1
  let l:body = {'method': a:method, 'params': empty(a:params) ? {} : a:params}
  try
    if s:nvim
      call chansend(s:handle, json_encode([l:token, l:body]) . "\n")
    else
      call ch_sendexpr(s:handle, l:body, {'callback': function('s:on_vim_reply', [l:token])})
    endif
  catch
    call remove(s:pending, l:token)
    call s:log_line('send failed: ' . v:exception)
    call s:invoke(a:Callback, s:failure('cannot send to the backend: ' . v:exception, 0))
    return 0
  endtry
  return l:token
endfunction

function! vime#job#on(method, Callback) abort
  let s:subscribers[a:method] = add(get(s:subscribers, a:method, []), a:Callback)
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

function! vime#job#start() abort
  return s:running() || s:start()
endfunction

function! vime#job#stop() abort
  if !s:alive
    return
  endif
  let s:alive = 0
  call s:log_line('stopping backend pid ' . s:pid)
  if s:nvim
    call jobstop(s:handle)
  else
    call job_stop(s:handle)
  endif
  call s:fail_pending('the backend was stopped')
endfunction

function! vime#job#restart() abort
  call vime#job#stop()
  return s:start()
endfunction

function! vime#job#status() abort
  return {
        \ 'running': s:alive,
        \ 'pid': s:alive ? s:pid : 0,
        \ 'generation': s:generation,
        \ 'pending': len(s:pending),
        \ 'sent': copy(s:sent),
        \ 'backend': copy(s:backend),
        \ 'command': s:command(),
        \ }
endfunction

" Restarts since the editor started; a change means files must be reopened.
function! vime#job#generation() abort
  return s:generation
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
  call s:log_line(a:text)
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

" Whether the backend runs; a death not yet reported is reported now, so that
" a command right after a crash restarts it instead of writing to a dead pipe.
function! s:running() abort
  if !s:alive
    return 0
  endif
  if s:nvim
    let l:status = jobwait([s:handle], 0)[0]
    if l:status != -1
      call s:on_exit(s:generation, s:describe_exit(l:status, ''))
    endif
  else
    call job_status(s:handle)  " runs exit_cb when it finds the job dead
  endif
  return s:alive
endfunction

function! s:command() abort
  let l:command = get(g:, 'vime_rpc_command', [s:root . '/bin/vime-rpc'])
  if type(l:command) == type('')
    return [&shell, &shellcmdflag, l:command]
  endif
  return copy(l:command)
endfunction

function! s:start() abort
  let s:generation += 1
  let l:generation = s:generation
  let s:stdout_tail = ''
  let s:stderr_tail = ''
  let s:backend = {}
  let l:command = s:command()
  call s:log_line('starting ' . join(l:command))
  try
    if s:nvim
      let s:handle = jobstart(l:command, {
            \ 'on_stdout': function('s:on_nvim_stdout', [l:generation]),
            \ 'on_stderr': function('s:on_nvim_stderr', [l:generation]),
            \ 'on_exit': function('s:on_nvim_exit', [l:generation]),
            \ })
      let l:started = s:handle > 0
      let s:pid = l:started ? jobpid(s:handle) : 0
    else
      let s:handle = job_start(l:command, {
            \ 'mode': 'json',
            \ 'err_mode': 'nl',
            \ 'callback': function('s:on_vim_message', [l:generation]),
            \ 'err_cb': function('s:on_vim_stderr', [l:generation]),
            \ 'exit_cb': function('s:on_vim_exit', [l:generation]),
            \ })
      let l:started = job_status(s:handle) ==# 'run'
      let s:pid = l:started ? job_info(s:handle).process : 0
    endif
  catch
    let l:started = 0
    call s:log_line(v:exception)
  endtry
  if !l:started
    call vime#error('cannot start the backend ' . string(l:command)
          \ . ': check g:vime_rpc_command, or run ' . s:root . '/bin/vime-env')
    return 0
  endif
  let s:alive = 1
  call s:log_line('backend pid ' . s:pid . ' started')
  call vime#job#request('ping', {}, function('s:on_ping', [l:generation]))
  return 1
endfunction

function! s:on_ping(generation, result) abort
  if a:generation != s:generation || !get(a:result, 'ok', 0)
    return
  endif
  let s:backend = a:result
  let l:libraries = get(a:result, 'libraries', {})
  let l:missing = filter(copy(s:required), {_, name -> empty(get(l:libraries, name, ''))})
  if !empty(l:missing)
    call s:report_missing(l:missing, get(a:result, 'executable', 'python3'))
  endif
endfunction

function! s:report_missing(packages, python) abort
  call vime#error('missing Python package(s) ' . join(a:packages, ', ') . ' for ' . a:python
        \ . ': ' . vime#job#install_hint(a:packages))
endfunction

function! vime#job#install_hint(packages) abort
  let l:python = get(s:backend, 'executable', 'python3')
  return 'run ' . s:root . '/bin/vime-env (it makes ' . s:root . '/.venv), or '
        \ . l:python . ' -m pip install ' . join(a:packages)
endfunction

" How the process ended: 'status N' or 'signal NAME'.  Neovim reports a
" signal as 128 + its number, Vim as -1 with job_info().termsig.
function! s:describe_exit(status, signal) abort
  if !empty(a:signal)
    return 'signal ' . a:signal
  endif
  return a:status > 128 ? 'signal ' . (a:status - 128) : 'status ' . a:status
endfunction

function! s:on_exit(generation, how) abort
  if a:generation != s:generation
    return
  endif
  let l:expected = !s:alive
  let s:alive = 0
  call s:log_line('backend pid ' . s:pid . ' exited with ' . a:how)
  call s:fail_pending('the backend exited')
  if l:expected
    return
  endif
  let l:module = matchstr(join(s:log[-20:], "\n"), "No module named '\\zs[^'.]\\+")
  if !empty(l:module)
    call s:report_missing([l:module], get(s:backend, 'executable', 'the backend''s python'))
  else
    call vime#error('the backend exited (' . a:how
          \ . '); the next command restarts it. :VimeLog shows its output')
  endif
endfunction

" Every waiting callback gets a quiet failure, so views stop saying "loading".
function! s:fail_pending(reason) abort
  let l:pending = s:pending
  let s:pending = {}
  for l:Callback in values(l:pending)
    call s:invoke(l:Callback, s:failure(a:reason, 1))
  endfor
endfunction

function! s:failure(message, quiet) abort
  return {'ok': 0, 'error': a:message, 'code': -1, 'quiet': a:quiet}
endfunction

" -- messages in ---------------------------------------------------------------

function! s:on_vim_reply(token, channel, result) abort
  call s:reply(a:token, a:result)
endfunction

" Vim hands [0, body] to the channel callback as body.
function! s:on_vim_message(generation, channel, body) abort
  if a:generation == s:generation
    call s:message(0, a:body)
  endif
endfunction

function! s:on_vim_stderr(generation, channel, line) abort
  call s:log_line(a:line)
endfunction

function! s:on_vim_exit(generation, job, status) abort
  let l:signal = a:status == -1 ? get(job_info(a:job), 'termsig', '') : ''
  call s:on_exit(a:generation, s:describe_exit(a:status, l:signal))
endfunction

" Neovim gives raw chunks: the first item continues the last partial line and
" the last item is the start of the next one.
function! s:on_nvim_stdout(generation, id, data, event) abort
  if a:generation != s:generation
    return
  endif
  let l:lines = copy(a:data)
  let l:lines[0] = s:stdout_tail . l:lines[0]
  let s:stdout_tail = remove(l:lines, -1)
  for l:line in l:lines
    if l:line =~# '^\s*$'
      continue
    endif
    try
      let l:message = json_decode(l:line)
    catch
      call s:log_line('undecodable line from the backend: ' . strpart(l:line, 0, 200))
      continue
    endtry
    if type(l:message) == type([]) && len(l:message) == 2
      call s:message(l:message[0], l:message[1])
    endif
  endfor
endfunction

function! s:on_nvim_stderr(generation, id, data, event) abort
  let l:lines = copy(a:data)
  let l:lines[0] = s:stderr_tail . l:lines[0]
  let s:stderr_tail = remove(l:lines, -1)
  for l:line in l:lines
    call s:log_line(l:line)
  endfor
endfunction

function! s:on_nvim_exit(generation, id, status, event) abort
  if !empty(s:stderr_tail)
    call s:log_line(s:stderr_tail)
    let s:stderr_tail = ''
  endif
  call s:on_exit(a:generation, s:describe_exit(a:status, ''))
endfunction

function! s:message(id, body) abort
  if a:id != 0
    call s:reply(a:id, a:body)
  elseif type(a:body) == type({}) && has_key(a:body, 'method')
    for l:Callback in get(s:subscribers, a:body.method, [])
      call s:invoke(l:Callback, get(a:body, 'params', {}))
    endfor
  else
    " An error about a line the backend could not read carries id 0.
    call s:log_line('unsolicited message: ' . string(a:body))
  endif
endfunction

function! s:reply(token, result) abort
  if has_key(s:pending, a:token)
    call s:invoke(remove(s:pending, a:token), a:result)
  endif
endfunction

" A failing callback must not break the channel: report it and go on.
function! s:invoke(Callback, value) abort
  try
    call call(a:Callback, [a:value])
  catch
    call s:log_line('callback failed: ' . v:exception . ' at ' . v:throwpoint)
    call vime#error('internal error: ' . v:exception . ' (details in :VimeLog)')
  endtry
endfunction

function! s:log_line(text) abort
  call add(s:log, strftime('%H:%M:%S ') . a:text)
  if len(s:log) > s:log_max
    call remove(s:log, 0, len(s:log) - s:log_max - 1)
  endif
endfunction
