#!/usr/bin/env python3
"""The service's folders are layers (docs/source-layout.md): a gateway file
calls functions of its own folder and of the folders before it, never of a
later one; no two files call each other; no two headers include each other;
only service.c lives at the top of src/gateway."""
import collections
import glob
import os
import re
import sys

ORDER = ["core", "accounts", "pacs", "import", "archive", "api"]
DEF = re.compile(r"^(?!static)[A-Za-z_][\w \*]*?\b(gw_\w+)\s*\([^;{]*\)\s*\{", re.M)
INC = re.compile(r'^#include "(gateway/[^"]+)"', re.M)


def layer(root, path):
    rel = os.path.relpath(path, root)
    top = rel.split(os.sep)[0]
    return ORDER.index(top) if top in ORDER else len(ORDER)  # service.c last


def main(src):
    root = os.path.join(src, "gateway")
    files = sorted(glob.glob(os.path.join(root, "**", "*.c"), recursive=True))
    problems = []
    for f in files:
        rel = os.path.relpath(f, root)
        if os.sep not in rel and rel != "service.c":
            problems.append(f"{rel}: gateway files live in a folder ({', '.join(ORDER)})")
        elif os.sep in rel and rel.split(os.sep)[0] not in ORDER:
            problems.append(f"{rel}: unknown folder (docs/source-layout.md lists them)")
    text = {f: open(f, encoding="utf-8").read() for f in files}
    defined = {}
    for f, t in text.items():
        for m in DEF.finditer(t):
            defined[m.group(1)] = f
    calls = collections.defaultdict(dict)
    for f, t in text.items():
        for fn, where in defined.items():
            if where != f and re.search(r"\b" + fn + r"\s*\(", t):
                calls[f].setdefault(where, fn)
    for f, targets in calls.items():
        for g, fn in targets.items():
            if layer(root, g) > layer(root, f):
                problems.append(f"{os.path.relpath(f, root)} calls {fn} of the later folder {os.path.relpath(g, root)}")
            if f < g and f in calls.get(g, {}):
                problems.append(f"{os.path.relpath(f, root)} and {os.path.relpath(g, root)} call each other "
                                f"({fn}, {calls[g][f]})")
    headers = glob.glob(os.path.join(root, "**", "*.h"), recursive=True)
    incs = {os.path.relpath(h, src): set(INC.findall(open(h, encoding="utf-8").read())) for h in headers}
    for h, inc in incs.items():
        for o in inc:
            if o in incs and h in incs[o] and h < o:
                problems.append(f"{h} and {o} include each other")
    for p in problems:
        print("gateway_layout:", p)
    print(f"gateway_layout: {len(files)} files, {sum(len(v) for v in calls.values())} cross-file uses, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "src"))
