#!/usr/bin/env python3
"""`pip install ./bindings/python` works offline with Debian's python3, pip
and setuptools: install a copy of the package into a temporary target with
--no-build-isolation --no-index, then import it from there (library from
TRADEPIPE_LIBRARY) and check it works and carries its py.typed marker.

Usage: install_check.py  (run by ctest as python_bindings_install)"""

import os
import shutil
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
pkg = os.path.dirname(here)

with tempfile.TemporaryDirectory(prefix="tp-pip.") as tmp:
    src = os.path.join(tmp, "src")
    # A copy: pip's setuptools build writes build/ and *.egg-info next to the sources.
    shutil.copytree(pkg, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__",
                                                            "tests"))
    target = os.path.join(tmp, "site")
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation",
                        "--no-index", "--no-deps", "--target", target, src],
                       env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("pip install failed:\n" + r.stdout + r.stderr)
    for f in ("py.typed", "__init__.py", "_lib.py"):
        if not os.path.exists(os.path.join(target, "tradepipe", f)):
            sys.exit("installed package lacks %s" % f)
    code = ("import tradepipe, os\n"
            "assert os.path.dirname(tradepipe.__file__) == %r\n"
            "t = tradepipe.decode(b'{\"symbol\":\"A\",\"price\":1.25,\"volume\":2}')\n"
            "assert str(t.price) == '1.25'\n"
            "print(tradepipe.__version__, tradepipe.library_version)\n"
            % os.path.join(target, "tradepipe"))
    r = subprocess.run([sys.executable, "-c", code], env=dict(env, PYTHONPATH=target), cwd=tmp,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("the installed package does not work:\n" + r.stdout + r.stderr)
    print("installed and imported:", r.stdout.strip())
