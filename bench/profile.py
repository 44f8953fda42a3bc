#!/usr/bin/env python3
"""Where does folio's build time go? Callgrind profiles of one cold and one warm build.

    python3 bench/profile.py [--folio PATH] [--book DIR] [--out DIR] [--top N]

Needs valgrind (apt-get install valgrind). Defaults: the release binary
target/release/folio (`cargo build --release` keeps line tables) and the 200-chapter book
that bench/bench.py generates under target/bench/books/ch200 (run bench.py first).

- cold: `folio build BOOK --no-cache`;
- warm: one build with a fresh --cache-dir, a sentence appended to the middle chapter, then
  the profiled rebuild.

Prints, for each, the top N functions by inclusive and by self instruction count
(callgrind's Ir). The inclusive list leaves out rayon, std and libc plumbing, the allocator, and a
function whose cost is within 0.5% of the function listed just above it in the same crate
(wrapper chains such as flate2 -> zlib_rs::deflate -> deflate_medium).
Instruction counts ignore waiting for the disk (the EPUB is synced before the rename).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench import read_book  # noqa: E402  (the benchmark's reading of SUMMARY.md)
PLUMBING = re.compile(r"^<?(rayon|std::|core::ops::function|\?\?\?|main$|__libc|start_thread|"
                      r"\(below main\)|_dl_|0x|__rustc::|malloc$|free$|realloc$|_int_|clone3?$)")


def parse_callgrind(path):
    """Self and inclusive Ir per function name, read from a callgrind output file.

    Inclusive = self + the cost of calls to other functions. Inlined code counts for the
    function it was inlined into; recursion levels (`f'2`) are merged into `f`."""
    names = {}                  # compressed "(id)" -> name, for fn/cfn
    self_cost, calls = {}, {}   # fn -> Ir; (fn, callee) -> Ir
    total, npos, fn, cfn, in_call = 0, 1, None, None, False

    def name(v):
        m = re.match(r"\((\d+)\)(?: (.*))?$", v)
        if not m:
            return re.sub(r"'\d+$", "", v)
        if m.group(2) is not None:
            names[m.group(1)] = re.sub(r"'\d+$", "", m.group(2))
        return names[m.group(1)]

    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line[0] == "#":
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                ir = int(parts[npos]) if len(parts) > npos else 0
                if in_call:
                    if cfn != fn:
                        calls[(fn, cfn)] = calls.get((fn, cfn), 0) + ir
                    in_call = False
                else:
                    self_cost[fn] = self_cost.get(fn, 0) + ir
                    total += ir
                continue
            key, _, val = line.partition("=")
            if key == "fn":
                fn = name(val)
            elif key == "cfn":
                cfn = name(val)
            elif key == "calls":
                in_call = True
            elif line.startswith("positions:"):
                npos = len(line.split(":", 1)[1].split())
    incl = dict(self_cost)
    for (caller, _), ir in calls.items():
        incl[caller] = incl.get(caller, 0) + ir
    return total, self_cost, incl


def annotate(cg, inclusive):
    total, self_cost, incl = parse_callgrind(cg)
    if not inclusive:
        return total, sorted(self_cost.items(), key=lambda kv: -kv[1])
    rows = []
    for fn, ir in sorted(incl.items(), key=lambda kv: -kv[1]):
        if PLUMBING.match(fn):
            continue
        crate = re.sub(r"^<+", "", fn).split("::")[0]
        if rows and rows[-1][2] == crate and rows[-1][1] - ir < rows[-1][1] / 200:
            continue   # a wrapper (or callee) with practically its caller's cost
        rows.append((fn, ir, crate))
    return total, [(fn, ir) for fn, ir, _ in rows]


def short(fn, width=110):
    fn = re.sub(r"<impl serde_core::de::Deserialize for ([\w:<>, ]+?)>::deserialize",
                r"Deserialize for \1", fn)
    return fn if len(fn) <= width else fn[:width - 1] + "…"


def report(title, cg, top):
    total, incl = annotate(cg, True)
    _, selfc = annotate(cg, False)
    print("## %s: %s instructions (Ir)\n" % (title, format(total, ",")))
    print("top %d by inclusive cost:\n" % top)
    for fn, ir in incl[:top]:
        print("  %5.1f%%  %13s  %s" % (100 * ir / total, format(ir, ","), short(fn)))
    print("\ntop %d by self cost:\n" % top)
    for fn, ir in selfc[:top]:
        print("  %5.1f%%  %13s  %s" % (100 * ir / total, format(ir, ","), short(fn)))
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folio", default=os.path.join(REPO, "target", "release", "folio"))
    ap.add_argument("--book", default=os.path.join(REPO, "target", "bench", "books", "ch200"))
    ap.add_argument("--out", default=os.path.join(REPO, "target", "bench", "profile"))
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("profile: valgrind is missing (apt-get install valgrind)")
    out = os.path.abspath(a.out)
    work, cache = os.path.join(out, "book"), os.path.join(out, "cache")
    for d in (work, cache):
        if os.path.exists(d):
            shutil.rmtree(d)
    shutil.copytree(a.book, work)
    folio = os.path.abspath(a.folio)
    vg = ["valgrind", "--tool=callgrind", "--quiet"]

    cold = os.path.join(out, "cold.callgrind")
    subprocess.run(vg + ["--callgrind-out-file=" + cold, folio, "build", work, "-o",
                         os.path.join(out, "cold.epub"), "--no-cache"], check=True)
    subprocess.run([folio, "build", work, "-o", os.path.join(out, "warm.epub"),
                    "--cache-dir", cache], check=True)
    _, _, chapters = read_book(work)
    chapters = [c for c in chapters if os.path.isfile(os.path.join(work, c))]
    with open(os.path.join(work, chapters[len(chapters) // 2]), "a", encoding="utf-8") as f:
        f.write("\nA sentence appended for the profile.\n")
    warm = os.path.join(out, "warm.callgrind")
    subprocess.run(vg + ["--callgrind-out-file=" + warm, folio, "build", work, "-o",
                         os.path.join(out, "warm.epub"), "--cache-dir", cache], check=True)
    print()
    report("cold build (--no-cache)", cold, a.top)
    report("warm rebuild after one edit", warm, a.top)
    print("raw profiles: %s, %s (kcachegrind or callgrind_annotate)" % (cold, warm))


if __name__ == "__main__":
    main()
