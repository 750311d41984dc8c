"""Shared fixtures. The library comes from TRADEPIPE_LIBRARY (ctest sets it to
the build's libtradepipe.so.0); the programs compared with (tp-parse,
tp-gen, tp-consumer) from TP_PARSE / TP_GEN / TP_CONSUMER, else next to the
library's build directory (BUILD/lib/.. -> BUILD/examples/)."""

import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the package in the tree, unless installed first


def _program(env: str, name: str) -> str:
    p = os.environ.get(env)
    if not p:
        lib = os.environ.get("TRADEPIPE_LIBRARY", "")
        p = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(lib))), "examples", name)
    if not os.access(p, os.X_OK):
        pytest.fail("%s not found (set %s)" % (name, env))
    return p


@pytest.fixture(scope="session")
def tp_parse():
    return _program("TP_PARSE", "tp-parse")


@pytest.fixture(scope="session")
def tp_gen():
    return _program("TP_GEN", "tp-gen")


@pytest.fixture(scope="session")
def tp_consumer():
    return _program("TP_CONSUMER", "tp-consumer")


@pytest.fixture(scope="session")
def cc():
    c = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not c:
        pytest.fail("no C compiler (set CC): the layout and loader tests need one")
    return c


@pytest.fixture(scope="session")
def include_dir():
    return os.path.join(HERE, "..", "..", "..", "include")


def gen(tp_gen, path, *args):
    subprocess.run([tp_gen, "-o", str(path)] + [str(a) for a in args], check=True)
    return str(path)
