"""Loading the library, the version check, structure layouts against the C
compiler, and the exception classes."""

import ctypes
import os
import shutil
import subprocess
import sys
import textwrap


import tradepipe
from tradepipe import _lib as L
from tradepipe import errors

PKG = os.path.dirname(os.path.dirname(os.path.abspath(tradepipe.__file__)))


def _import_with(lib_path):
    env = dict(os.environ, TRADEPIPE_LIBRARY=lib_path, PYTHONPATH=PKG)
    return subprocess.run([sys.executable, "-c", "import tradepipe"], env=env,
                          capture_output=True, text=True, cwd="/")


def test_loaded_library_is_the_one_asked_for():
    want = os.environ.get("TRADEPIPE_LIBRARY")
    if want:
        assert tradepipe.library_path == want
    assert tradepipe.library_version == "%d.%d.%d" % (0, 1, 0) or \
        tradepipe.library_version.startswith("0.1.")


def test_missing_library_is_a_clear_import_error(tmp_path):
    r = _import_with(str(tmp_path / "nope.so"))
    assert r.returncode != 0
    assert "ImportError: tradepipe: cannot load libtradepipe" in r.stderr
    assert "TRADEPIPE_LIBRARY" in r.stderr


def _fake_lib(cc, tmp_path, version_number, version):
    src = tmp_path / "fake.c"
    src.write_text(textwrap.dedent("""
        #include <stdint.h>
        uint32_t tp_version_number(void) { return %du; }
        const char *tp_version(void) { return "%s"; }
        """ % (version_number, version)))
    so = tmp_path / "libfake.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    return str(so)


def test_version_mismatch_is_a_clear_import_error(cc, tmp_path):
    r = _import_with(_fake_lib(cc, tmp_path, 990000, "99.0.0"))
    assert r.returncode != 0
    assert "version mismatch" in r.stderr and "99.0.0" in r.stderr and "0.1.x" in r.stderr


def test_a_library_without_the_needed_functions_is_refused(cc, tmp_path):
    r = _import_with(_fake_lib(cc, tmp_path, 100, "0.1.0"))
    assert r.returncode != 0
    assert "older than these bindings need" in r.stderr


def test_not_libtradepipe_is_refused(cc, tmp_path):
    src = tmp_path / "other.c"
    src.write_text("int other(void) { return 1; }\n")
    so = tmp_path / "libother.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    r = _import_with(str(so))
    assert r.returncode != 0 and "is not libtradepipe" in r.stderr


def test_next_to_the_package_is_found(tmp_path):
    """Without TRADEPIPE_LIBRARY, a copy of the library next to the package wins."""
    lib = os.path.realpath(tradepipe.library_path)
    pkg = tmp_path / "site"
    pkg.mkdir()
    src = os.path.dirname(os.path.abspath(tradepipe.__file__))
    shutil.copytree(src, pkg / "tradepipe")
    shutil.copy(lib, pkg / "libtradepipe.so.0")
    env = {k: v for k, v in os.environ.items() if k != "TRADEPIPE_LIBRARY"}
    env["PYTHONPATH"] = str(pkg)
    r = subprocess.run([sys.executable, "-c", "import tradepipe; print(tradepipe.library_path)"],
                       env=env, capture_output=True, text=True, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(pkg / "libtradepipe.so.0")


def test_structure_layouts_match_the_c_compiler(cc, include_dir, tmp_path):
    """Every structure the bindings declare: size and every field's offset
    and size, as the C compiler lays them out from the public headers."""
    lines = ["#include <tradepipe.h>", "#include <stdio.h>", "#include <stddef.h>",
             "int main(void) {"]
    for name, cls in L.STRUCTS.items():
        lines.append('printf("%s %%zu\\n", sizeof(%s));' % (name, name))
        for f in cls._fields_:
            lines.append('printf("%s.%s %%zu %%zu\\n", offsetof(%s, %s), sizeof(((%s *)0)->%s));'
                         % (name, f[0], name, f[0], name, f[0]))
    lines.append("return 0; }")
    src = tmp_path / "probe.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "probe"
    subprocess.run([cc, "-std=c11", "-I", include_dir, "-o", str(exe), str(src)], check=True)
    want = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    got = []
    for name, cls in L.STRUCTS.items():
        got.append("%s %d" % (name, ctypes.sizeof(cls)))
        for f in cls._fields_:
            d = getattr(cls, f[0])
            got.append("%s.%s %d %d" % (name, f[0], d.offset, d.size))
    assert got == want.splitlines()


def test_one_exception_class_per_status():
    codes = [v for k, v in vars(L).items() if k.startswith("TP_E_")]
    assert sorted(errors.BY_CODE) == sorted(codes)
    for code, cls in errors.BY_CODE.items():
        assert issubclass(cls, tradepipe.TradepipeError)
        assert cls.code == code and cls.status.startswith("TP_E_")
        assert getattr(tradepipe, cls.__name__) is cls
    assert issubclass(tradepipe.ThrottledError, tradepipe.AWSError)
    assert issubclass(tradepipe.RecordError, ValueError)
    assert issubclass(tradepipe.OutOfMemoryError, MemoryError)
    assert issubclass(tradepipe.NotFoundError, LookupError)


def test_from_error_carries_every_detail():
    e = L.tp_error()
    e.message = b"service said no"
    e.offset = 42
    e.field = b"Data"
    e.line = 7
    e.http_status = 400
    e.aws_code = b"ValidationException"
    e.request_id = b"req-1"
    e.attempts = 3
    ex = errors.from_error(L.TP_E_AWS, e)
    assert type(ex) is tradepipe.AWSError
    assert (ex.code, ex.message, ex.offset, ex.field, ex.line, ex.http_status, ex.aws_code,
            ex.request_id, ex.attempts) == (L.TP_E_AWS, "service said no", 42, "Data", 7, 400,
                                            "ValidationException", "req-1", 3)
    s = str(ex)
    assert "service said no" in s and "HTTP 400" in s and "ValidationException" in s
    e2 = L.tp_error()
    e2.offset = L.TP_NO_OFFSET
    ex2 = errors.from_error(-99, e2)  # an unknown status: the base class, the library's text
    assert type(ex2) is tradepipe.TradepipeError and ex2.offset is None and ex2.field is None
    assert ex2.message == tradepipe.strerror(-99)
