" vime/complete.vim: command-line completion of tables, columns and keys.
" Also used by the p and c prompts: there the command line lacks the command,
" and the lead is the whole input, so completions keep the words before.

" :VimeOpen {file}: local files; the folders and domains of an HSDS folder
" for hdf5://; nothing for other URLs (http:// endpoints, an ssh:// host),
" which file completion would take for a local path (and expand the % of an
" http+unix:// endpoint in).
function! vime#complete#files(lead, line, pos) abort
  if a:lead =~# '^hdf5://'
    return s:domains(a:lead)
  endif
  if a:lead =~# '^\a[[:alnum:]+.-]*:/'
    return []
  endif
  return getcompletion(a:lead, 'file')
endfunction

" hdf5://home/u/ru: what the folder hdf5://home/u/ holds that starts with ru,
" folders ending in /. The service is asked each time: a domain may be new.
function! s:domains(lead) abort
  let l:folder = matchstr(a:lead, '^.*/')
  let l:result = vime#request_sync('', 'domains', {'folder': l:folder}, 3000)
  if !get(l:result, 'ok', 0)
    return []
  endif
  let l:names = map(copy(l:result.entries),
        \ 'l:folder . v:val.name . (v:val.kind ==# "folder" ? "/" : "")')
  return filter(l:names, 'stridx(v:val, a:lead) == 0')
endfunction

function! vime#complete#tables(lead, line, pos) abort
  let l:names = vime#tables(vime#context().path)
  let l:lead = a:lead =~# '^/' ? a:lead : '/' . a:lead
  return filter(l:names, 'stridx(v:val, l:lead) == 0')
endfunction

" The candidates that start with the last word of lead, after its other words.
function! s:matching(lead, candidates) abort
  let l:word = matchstr(a:lead, '\S*$')
  let l:before = strpart(a:lead, 0, len(a:lead) - len(l:word))
  return map(filter(a:candidates, 'stridx(v:val, l:word) == 0'), 'l:before . v:val')
endfunction

" :VimePlot {y[,y...]} [x] [type]
function! vime#complete#plot(lead, line, pos) abort
  let l:context = vime#context()
  let l:columns = vime#columns(l:context.path, l:context.name)
  if s:argument_index(a:line, a:pos) == 0
    " Overlaid series: complete the part after the last comma.
    let l:done = matchstr(a:lead, '^.*,')
    return s:matching(a:lead, map(l:columns, 'l:done . v:val'))
  endif
  return s:matching(a:lead, l:columns + vime#plot#keywords())
endfunction

" :VimeCompute {query or key=value ...}: keys, then column names.
function! vime#complete#compute(lead, line, pos) abort
  let l:context = vime#context()
  let l:columns = vime#columns(l:context.path, l:context.name)
  let l:key = matchstr(a:lead, '\%(^\|\s\)\zs\w\+=\%([^ ]*,\)\=\ze[^ ]*$')
  if !empty(l:key)
    return s:matching(a:lead, map(l:columns, 'l:key . v:val'))
  endif
  let l:keys = map(vime#compute#keys(), 'v:val ==# "descending" ? v:val : v:val . "="')
  return s:matching(a:lead, l:keys + l:columns)
endfunction

" Which argument the cursor is in, not counting the command's name.
function! s:argument_index(line, pos) abort
  let l:before = substitute(strpart(a:line, 0, a:pos), '^\s*\a*Vime\a*!\=\s*', '', '')
  return len(split(l:before, '\s\+', 1)) - 1
endfunction

" :VimeColumns {name} ...: every column of the table, those typed left out.
function! vime#complete#columns(lead, line, pos) abort
  let l:context = vime#context()
  let l:typed = split(strpart(a:line, 0, a:pos - len(a:lead)))[1:]
  return s:matching(a:lead, filter(vime#columns(l:context.path, l:context.name),
        \ 'index(l:typed, v:val) < 0'))
endfunction

" :VimeSort {column} ... [desc]
function! vime#complete#sort(lead, line, pos) abort
  let l:context = vime#context()
  return s:matching(a:lead, vime#columns(l:context.path, l:context.name) + ['desc'])
endfunction

" :VimeFilter and :VimeCount {query}: column names.
function! vime#complete#query(lead, line, pos) abort
  let l:context = vime#context()
  return s:matching(a:lead, vime#columns(l:context.path, l:context.name))
endfunction
