scriptencoding utf-8
" vime/progress.vim: the progress of what runs in a backend, in one place.
"
" Requests that run in a worker (plot, info, export, search, count) get a
" pushed 'progress {id, done, total, unit, elapsed, message}' after half a
" second; compute jobs push their own compute_progress.  Either shows here, as
" g:vime_progress says: 'echo' (the command line, the default), 'statusline'
" (vime#statusline()) or 'none'.  The reply of the request clears it.
"
" Vim's json channel does not tell the id it gave a request, so a progress
" is matched to the host that sent it, not to its request: the text names the
" newest request running there.

let s:text = ''
let s:host = ''

" A progress notification of a request.
function! vime#progress#on_progress(params) abort
  let l:host = vime#job#sender()
  let l:what = get(a:params, 'message', '')
  if type(l:what) != type('') || empty(l:what)
    let l:what = s:newest_method(l:host)
  endif
  let l:done = get(a:params, 'done', 0)
  let l:total = get(a:params, 'total', v:null)
  let l:unit = get(a:params, 'unit', '')
  let l:unit = type(l:unit) == type('') ? l:unit : ''
  if type(l:total) == type(0) && l:total > 0 && type(l:done) == type(0)
    let l:amount = printf('%d%% (%s/%s %s, %s s)', 100 * l:done / l:total,
          \ vime#view#number(l:done), vime#view#number(l:total), l:unit,
          \ vime#progress#seconds(get(a:params, 'elapsed', 0)))
  else
    let l:amount = printf('%s %s, %s s', vime#view#number(l:done), l:unit,
          \ vime#progress#seconds(get(a:params, 'elapsed', 0)))
  endif
  call vime#progress#show(l:host, 'vime: ' . l:what . (empty(l:host) ? '' : ' on ' . l:host)
        \ . ' ' . l:amount . ' · <C-c> cancels')
endfunction

function! s:newest_method(host) abort
  let l:waiting = filter(vime#job#waiting(), 'v:val.host ==# a:host')
  return empty(l:waiting) ? 'working' : l:waiting[-1].method
endfunction

" Show a progress line (from host) as g:vime_progress says.
function! vime#progress#show(host, text) abort
  let s:text = a:text
  let s:host = a:host
  let l:show = get(g:, 'vime_progress', 'echo')
  if l:show ==# 'echo'
    redraw
    echo s:text
  elseif l:show ==# 'statusline'
    redrawstatus!
  endif
endfunction

" The work on host ended (its reply came): its progress line goes.
function! vime#progress#clear(host) abort
  if empty(s:text) || s:host !=# a:host
    return
  endif
  let s:text = ''
  let l:show = get(g:, 'vime_progress', 'echo')
  if l:show ==# 'echo'
    redraw
    echo ''
  elseif l:show ==# 'statusline'
    redrawstatus!
  endif
endfunction

" The progress shown now, or ''.
function! vime#progress#text() abort
  return s:text
endfunction

function! vime#progress#seconds(value) abort
  if type(a:value) == type(0.0)
    return printf('%.1f', a:value)
  endif
  return type(a:value) == type(0) ? string(a:value) : '?'
endfunction
