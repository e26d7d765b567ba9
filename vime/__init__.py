"""vime: browse HDF5 files from Vim and Neovim over a stdio JSON channel."""

__version__ = "0.1.0"
