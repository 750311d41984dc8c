"""Temporary directories for the Python tests."""
import contextlib
import os
import shutil
import tempfile


@contextlib.contextmanager
def workdir(**kw):
    """A temporary directory (tempfile.mkdtemp's keywords), removed afterwards
    unless TP_KEEP is set (the suite then keeps every test's files for the
    scan of its logs for secrets)."""
    d = tempfile.mkdtemp(**kw)
    try:
        yield d
    finally:
        if not os.environ.get("TP_KEEP"):
            shutil.rmtree(d, ignore_errors=True)
