#!/usr/bin/env python3
"""Checks the layout rules of ARCHITECTURE.md that the compiler does not hold:

- no import cycle between the library's top-level modules (`src/x.rs` with `src/x/`),
  counting every `crate::x` path and every `use crate::{x, ...}`;
- no source file over 800 lines of non-test code (comments and blank lines not counted);
- no function over 80 lines unless the comment above it says why (mentions "long" or
  "lines").

    python3 scripts/check-layout.py [--graph] [CHECKOUT]

Prints each problem and exits 1 if there is any; `--graph` also prints who imports whom.
"""
import os
import re
import sys

ROOT = next((a for a in sys.argv[1:] if not a.startswith("-")), os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SRC = os.path.join(ROOT, "src")
FILE_MAX = 800
FN_MAX = 80


def rust_files():
    for dirpath, _, names in os.walk(SRC):
        for name in sorted(names):
            if name.endswith(".rs"):
                yield os.path.join(dirpath, name)


def top_module(path):
    rel = os.path.relpath(path, SRC).split(os.sep)
    if rel[0] in ("main.rs", "lib.rs"):
        return None
    return rel[0][:-3] if rel[0].endswith(".rs") else rel[0]


def code_before_tests(text):
    """The file's lines up to its `#[cfg(test)]` module."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip() == "#[cfg(test)]":
            return lines[:i]
    return lines


def strip_comments(line):
    return re.sub(r"//.*$", "", line)


def imports(lines, modules):
    found = set()
    for line in lines:
        line = strip_comments(line)
        for m in re.finditer(r"crate::(\w+)", line):
            found.add(m.group(1))
        for m in re.finditer(r"crate::\{([^}]*)\}", line):
            for part in m.group(1).split(","):
                found.add(part.strip().split("::")[0])
    return {m for m in found if m in modules}


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def long_functions(path, lines):
    problems = []
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(pub(\([a-z]+\))? )?(const )?(unsafe )?fn (\w+)", line)
        if not m or line.rstrip().endswith(";"):
            continue
        # The body ends where its braces balance (string and char literals left out;
        # a brace in a raw string would fool it).
        depth, j, opened = 0, i, False
        while j < len(lines):
            code = strip_comments(re.sub(r'"(\\.|[^"\\])*"|'"'"'[{}]'"'"'', '""', lines[j]))
            depth += code.count("{") - code.count("}")
            opened = opened or "{" in code
            if opened and depth <= 0:
                break
            j += 1
        length = j - i + 1
        if length <= FN_MAX:
            continue
        k, comment = i - 1, []
        while k >= 0 and lines[k].strip().startswith(("//", "#[")):
            comment.append(lines[k].lower())
            k -= 1
        if not any("long" in c or "lines" in c for c in comment):
            rel = os.path.relpath(path, ROOT)
            problems.append(f"{rel}:{i + 1}: fn {m.group(6)} is {length} lines; split it or say why above it")
    return problems


def main():
    files = list(rust_files())
    modules = {top_module(p) for p in files} - {None}
    graph = {m: set() for m in modules}
    problems = []
    for path in files:
        text = open(path, encoding="utf-8").read()
        lines = code_before_tests(text)
        mod = top_module(path)
        if mod is not None:
            graph[mod] |= imports(lines, modules) - {mod}
        code = [l for l in lines if l.strip() and not l.strip().startswith("//")]
        if len(code) > FILE_MAX:
            problems.append(f"{os.path.relpath(path, ROOT)}: {len(code)} lines of non-test code (at most {FILE_MAX})")
        problems += long_functions(path, lines)
    for comp in cycles(graph):
        edges = [f"{a} -> {b}" for a in comp for b in sorted(graph[a]) if b in comp]
        problems.append("import cycle between " + ", ".join(comp) + ": " + "; ".join(edges))
    if "--graph" in sys.argv:
        for m in sorted(graph):
            print(f"{m}: {' '.join(sorted(graph[m]))}")
    for p in problems:
        print(p)
    print(f"{len(files)} files, {len(modules)} modules: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
