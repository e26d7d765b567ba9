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

command! -nargs=1 -complete=file VimeOpen call vime#open(<q-args>)
command! -nargs=1 -complete=customlist,vime#complete#tables VimeTable call vime#table(<q-args>)
command! -nargs=? -complete=customlist,vime#complete#tables VimeInfo call vime#info(<q-args>)
command! -nargs=+ -complete=customlist,vime#complete#plot VimePlot call vime#plot(<q-args>)
command! -nargs=+ -complete=customlist,vime#complete#compute VimeCompute
      \ call vime#compute(<q-args>)
command! -nargs=1 VimeGoto call vime#goto(<q-args>)
command! -nargs=+ VimePlane call vime#table#plane(<q-args>)
command! -nargs=* VimeSlice call vime#table#slice(<q-args>)
command! -nargs=1 -bang -complete=file VimeExport call vime#export(<q-args>, <bang>0)
command! -nargs=0 VimeCancel call vime#cancel()
command! -nargs=0 VimeClose call vime#close()
command! -nargs=0 VimeStatus call vime#status()
command! -nargs=0 VimeRestart call vime#restart()
command! -nargs=0 VimeLog call vime#log()

augroup vime
  autocmd!
  execute 'autocmd BufReadCmd' join(get(g:, 'vime_file_patterns',
        \ ['*.h5', '*.hdf5', '*.he5', '*.nc', '*.mat']), ',')
        \ 'nested call vime#read_file(expand("<amatch>"), str2nr(expand("<abuf>")))'
  autocmd BufReadCmd vime://* nested
        \ call vime#read_uri(expand('<amatch>'), str2nr(expand('<abuf>')))
  " Syntax is defined from autoload, after any 'syntax on' has cleared it.
  autocmd Syntax vime call vime#buffer#syntax()
augroup END

" Actions for mappings; vime buffers map the defaults unless the user mapped
" the <Plug> name (see :help vime-mappings).
nnoremap <silent> <Plug>(vime-open) :<C-U>call vime#action('open')<CR>
nnoremap <silent> <Plug>(vime-info) :<C-U>call vime#action('info')<CR>
nnoremap <silent> <Plug>(vime-plot) :<C-U>call vime#action('plot')<CR>
nnoremap <silent> <Plug>(vime-plot-column) :<C-U>call vime#plot#column()<CR>
xnoremap <silent> <Plug>(vime-plot-rows) <Esc>:<C-U>call vime#plot#rows()<CR>
nnoremap <silent> <Plug>(vime-compute) :<C-U>call vime#action('compute')<CR>
nnoremap <silent> <Plug>(vime-refresh) :<C-U>call vime#action('refresh')<CR>
nnoremap <silent> <Plug>(vime-next-page) :<C-U>call vime#action('next-page')<CR>
nnoremap <silent> <Plug>(vime-prev-page) :<C-U>call vime#action('prev-page')<CR>
nnoremap <silent> <Plug>(vime-first-page) :<C-U>call vime#action('first-page')<CR>
nnoremap <silent> <Plug>(vime-last-page) :<C-U>call vime#action('last-page')<CR>
nnoremap <silent> <Plug>(vime-column-left) :<C-U>call vime#action('column-left')<CR>
nnoremap <silent> <Plug>(vime-column-right) :<C-U>call vime#action('column-right')<CR>
nnoremap <silent> <Plug>(vime-close-view) :<C-U>call vime#action('close-view')<CR>
