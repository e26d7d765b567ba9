"""Paths that name an HSDS domain rather than a local file.

``hdf5://home/user/file.h5`` names a domain on the endpoint of h5pyd's
settings (HS_ENDPOINT, ~/.hscfg); ``http://``, ``https://`` and
``http+unix://`` URLs name the endpoint, then the domain
(``http://hsds.example.org:5101/home/user/file.h5``). Such a path is kept as
written: it is never resolved against the local disk. This module is plain
text handling, light enough for the request loop; the domains are read by
vime.loaders.remote.
"""

from __future__ import annotations

SCHEMES = ("hdf5://", "http://", "https://", "http+unix://")


def is_domain(path: str) -> bool:
    return path.startswith(SCHEMES)
