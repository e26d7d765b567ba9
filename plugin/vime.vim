" vime: browse HDF5 files (pandas, h5py, NetCDF4, MATLAB v7.3) in Vim and Neovim.
" Commands, autocommands and <Plug> maps only; the work is in autoload/.
" Maintainer: the vime authors.  License: MIT.  :help vime

if exists('g:loaded_vime') || &compatible
  finish
endif
let g:loaded_vime = 1

if !has('nvim') && !(has('job') && has('channel') && has('lambda'))
  echohl WarningMsg
  echomsg 'vime: this Vim lacks +job, +channel or +lambda; vime needs Vim 8.1+ or Neovim 0.7+'
  echohl None
  finish
endif

command! -nargs=1 -complete=customlist,vime#complete#files VimeOpen
      \ call vime#open(<q-args>, <q-mods>)
command! -nargs=1 -complete=customlist,vime#complete#tables VimeTable
      \ call vime#table(<q-args>, <q-mods>)
command! -nargs=? -complete=customlist,vime#complete#tables VimeInfo
      \ call vime#info(<q-args>, <q-mods>)
command! -nargs=+ -complete=customlist,vime#complete#plot VimePlot
      \ call vime#plot(<q-args>, <q-mods>)
command! -nargs=+ -complete=customlist,vime#complete#compute VimeCompute
      \ call vime#compute(<q-args>)
command! -nargs=1 VimeGoto call vime#goto(<q-args>)
command! -nargs=* -complete=customlist,vime#complete#columns VimeColumns
      \ call vime#table#choose_columns(<q-args>)
command! -nargs=+ VimePlane call vime#table#plane(<q-args>)
command! -nargs=* VimeSlice call vime#table#slice(<q-args>)
command! -nargs=1 -bang -complete=file VimeExport call vime#export(<q-args>, <bang>0)
command! -nargs=+ -bang VimeSearch call vime#search#start(<q-args>, <bang>0)
command! -nargs=+ -complete=customlist,vime#complete#query VimeCount
      \ call vime#search#count(<q-args>)
command! -nargs=* -bang -complete=customlist,vime#complete#sort VimeSort
      \ call vime#derived#sort(<q-args>, <bang>0)
command! -nargs=* -bang -complete=customlist,vime#complete#query VimeFilter
      \ call vime#derived#filter(<q-args>, <bang>0)
command! -nargs=0 VimeCancel call vime#cancel()
command! -nargs=0 -bang VimeFollow call vime#follow#command(<bang>0)
command! -nargs=0 VimeClose call vime#close()
command! -nargs=0 VimeStatus call vime#status()
command! -nargs=0 VimeRestart call vime#restart()
command! -nargs=0 VimeLog call vime#log(<q-mods>)

" :help vime works from a plain clone: the help tags are made again when
" doc/tags is missing or older than doc/vime.txt, if the folder is writable.
let s:doc = fnamemodify(resolve(expand('<sfile>:p')), ':h:h') . '/doc'
if getftime(s:doc . '/tags') < getftime(s:doc . '/vime.txt') && filewritable(s:doc) == 2
  execute 'silent! helptags' fnameescape(s:doc)
endif

augroup vime
  autocmd!
  execute 'autocmd BufReadCmd' join(get(g:, 'vime_file_patterns',
        \ ['*.h5', '*.hdf5', '*.he5', '*.nc', '*.mat']), ',')
        \ 'nested call vime#read_file(expand("<amatch>"), str2nr(expand("<abuf>")))'
  " ssh://host/path/file.h5 matches these patterns too (netrw claims scp://
  " and sftp://, not ssh://): vime#read_file() lists it from that host.
  " Vim takes hdf5:// and http+unix:// names for local paths ({cwd}/hdf5://...);
  " vime#read_domain() finds the domain in them.  http(s):// domains are read
  " by the patterns above (netrw, when loaded, claims them too).
  autocmd BufReadCmd hdf5://*,http+unix://* nested
        \ call vime#read_domain(expand('<amatch>'), str2nr(expand('<abuf>')))
  autocmd BufReadCmd vime://* nested
        \ call vime#read_uri(expand('<amatch>'), str2nr(expand('<abuf>')))
  " Syntax is defined from autoload, after any 'syntax on' has cleared it.
  autocmd Syntax vime call vime#buffer#syntax()
augroup END

" Actions for mappings; vime buffers map the defaults unless the user mapped
" the <Plug> name (see :help vime-mappings).
for s:action in ['open', 'info', 'plot', 'plot-vertical', 'plot-horizontal', 'compute',
      \ 'refresh', 'close-view', 'list', 'help', 'down', 'up', 'half-down', 'half-up',
      \ 'page-down', 'page-up', 'next-page', 'prev-page', 'first-row', 'last-row',
      \ 'scroll-right', 'scroll-left', 'next-columns', 'prev-columns', 'column-left',
      \ 'column-right', 'search', 'search-next', 'search-prev', 'sort', 'sort-descending',
      \ 'filter', 'filter-not', 'cancel']
  execute printf('nnoremap <silent> <Plug>(vime-%s) :<C-U>call vime#action(''%s'')<CR>',
        \ s:action, s:action)
endfor
unlet s:action
nnoremap <silent> <Plug>(vime-plot-column) :<C-U>call vime#plot#column()<CR>
xnoremap <silent> <Plug>(vime-plot-rows) <Esc>:<C-U>call vime#plot#rows()<CR>
