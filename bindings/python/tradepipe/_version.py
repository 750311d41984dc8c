"""Versions: the package's own, and the libtradepipe it is written for."""

__version__ = "0.1.0"
# The library's MAJOR.MINOR these bindings are written against (checked at import).
LIBRARY_MAJOR = 0
LIBRARY_MINOR = 1
