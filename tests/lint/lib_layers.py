#!/usr/bin/python3
"""lib/ is layered as DESIGN.md ("Layers") says: dependencies point down.

    lib_layers.py LIB_DIR
    lib_layers.py --selftest   (each rule fails on a small broken tree)

lib/ has one folder a floor: core (1), codec (2), aws (3), clients (4),
pipeline (5). Each failure is printed with the file and line or symbol:
  1. includes: a file includes internal headers of its own floor or a lower
     one only, and names another floor's header with its folder
     ("core/core_int.h");
  2. uses: no source calls or names a function defined by a source of a
     higher floor;
  3. circles: no sources depend on each other in a circle (A uses a function
     defined in B, B one defined in C, ..., and one of them one of A's).
     Sources of one floor may depend on each other, but only one way.
A use is a tp_* name, outside comments and strings, that another source
defines (a non-static function). Exits 1 on any failure, 0 with a one-line
summary otherwise.
"""
import os
import re
import sys

FLOORS = {"core": 1, "codec": 2, "aws": 3, "clients": 4, "pipeline": 5}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
DEFINITION = re.compile(r"^(?!static\b)[A-Za-z_][\w \t*]*?\b(tp_\w+)\s*\(", re.M)


def strip(code):
    """The code without comments and string literals (lines kept)."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', blank, code,
                  flags=re.S)


def main(lib):
    problems, files = [], {}
    for floor in FLOORS:
        d = os.path.join(lib, floor)
        if not os.path.isdir(d):
            problems.append(f"{d}: missing floor folder")
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")):
                with open(os.path.join(d, name), encoding="utf-8") as f:
                    files[f"{floor}/{name}"] = f.read()
    for name in sorted(os.listdir(lib)):
        if name.endswith((".c", ".h")):
            problems.append(f"{os.path.join(lib, name)}: a source outside the floor folders")

    def floor_of(key):
        return FLOORS[key.split("/")[0]]

    # 1. includes
    for key, text in files.items():
        floor = key.split("/")[0]
        for lineno, line in enumerate(text.split("\n"), 1):
            m = INCLUDE.match(line)
            if not m or m.group(1).startswith("tradepipe"):
                continue
            inc = m.group(1)
            target = inc if "/" in inc else f"{floor}/{inc}"
            where = f"{lib}/{key}:{lineno}"
            if target not in files:
                problems.append(f"{where}: includes \"{inc}\", not a header of lib/")
            elif floor_of(target) > floor_of(key):
                problems.append(f"{where}: floor {floor_of(key)} includes \"{inc}\" of floor "
                                f"{floor_of(target)}")
            elif "/" not in inc and target.split("/")[0] != floor:
                problems.append(f"{where}: \"{inc}\" without its folder")

    # 2. uses, and the graph for 3.
    code = {k: strip(v) for k, v in files.items() if k.endswith(".c")}
    defined = {}
    for key, text in code.items():
        for m in DEFINITION.finditer(text):
            end = text.find("\n", m.start())
            if not text[m.start():end].rstrip().endswith(";"):
                defined.setdefault(m.group(1), key)
    uses = {}
    for key, text in code.items():
        for name in sorted(set(re.findall(r"\btp_\w+\b", text))):
            home = defined.get(name)
            if not home or home == key:
                continue
            uses.setdefault(key, {}).setdefault(home, name)
            if floor_of(home) > floor_of(key):
                problems.append(f"{lib}/{key}: floor {floor_of(key)} uses {name}, defined on "
                                f"floor {floor_of(home)} in {lib}/{home}")

    # 3. circles: strongly connected components (Tarjan), iteratively.
    index, low, on, stack, comps, counter = {}, {}, set(), [], [], 0
    for root in sorted(code):
        if root in index:
            continue
        work = [(root, iter(sorted(uses.get(root, {}))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(uses.get(w, {})))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    comps.append(sorted(comp))
    for comp in comps:
        links = [f"{a} uses {uses[a][b]} of {b}" for a in comp for b in sorted(uses.get(a, {}))
                 if b in comp]
        problems.append(f"sources depend on each other in a circle: {', '.join(comp)} ("
                        + "; ".join(links) + ")")

    for p in problems:
        print(p)
    if problems:
        print(f"lib layers: {len(problems)} problem(s)")
        return 1
    nuses = sum(len(v) for v in uses.values())
    print(f"lib layers: {len(files)} files, {nuses} source-to-source dependencies, all pointing "
          "down or across a floor one way, no circle")
    return 0


def selftest():
    """Each rule must fail on a tree that breaks it, and a sound tree pass."""
    import contextlib
    import io
    import tempfile

    sound = {
        "core/core.c": "int tp__one(void) { return 1; }\n",
        "core/core_int.h": "int tp__one(void);\n",
        "codec/a.c": '#include "core/core_int.h"\nint tp_a(void) { return tp__one(); }\n',
        "pipeline/b.c": "int tp_b(void) { return tp_a(); } /* tp_c( in a comment */\n",
        "pipeline/c.c": 'int tp_c(void) { return tp_b(); }\nconst char *x = "tp_c";\n',
    }
    broken = {
        "include up": {"codec/a.c": '#include "pipeline/p_int.h"\nint tp_a(void) { return 0; }\n',
                       "pipeline/p_int.h": "\n"},
        "use up": {"codec/a.c": "int tp_a(void) { return tp_b(); }\n"},
        "circle": {"pipeline/b.c": "int tp_b(void) { return tp_c(); }\n"},
        "no folder": {"aws/x.c": '#include "core_int.h"\n'},
        "outside": {"loose.c": "\n"},
    }
    ok = True
    for name, change in [("sound", {})] + list(broken.items()):
        with tempfile.TemporaryDirectory() as d:
            for floor in FLOORS:
                os.makedirs(os.path.join(d, floor))
            for path, text in {**sound, **change}.items():
                with open(os.path.join(d, path), "w", encoding="utf-8") as f:
                    f.write(text)
            with contextlib.redirect_stdout(io.StringIO()) as out:
                rc = main(d)
            want = 0 if name == "sound" else 1
            if rc != want:
                ok = False
                print(f"selftest {name}: exit {rc}, expected {want}\n{out.getvalue()}")
    print("lib layers selftest: " + ("every rule fails on its broken tree" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--selftest":
        sys.exit(selftest())
    if len(sys.argv) != 2:
        sys.exit("usage: lib_layers.py LIB_DIR | --selftest")
    sys.exit(main(sys.argv[1]))
