#!/usr/bin/env python3
"""Benchmark folio against pandoc on synthetic books (Python 3 standard library only).

    python3 bench/bench.py [--quick] [--pandoc PATH | --no-pandoc] [--out DIR] [--folio PATH]
                           [--max-load L]

1. Builds folio with `cargo build --release`, unless --folio gives a binary.
2. Generates three deterministic books in mdBook layout (10, 200 and 1,000 chapters) with
   ../shared/tools/gen-book.py when it exists (the generator behind the project's baseline
   numbers), else with a small built-in generator. Books are kept under --out
   (default target/bench/) and reused by later runs.
3. For each book, in separate processes started with posix_spawn and reaped with os.wait4 (each
   child's own peak RSS):
   - folio cold: `--no-cache`, median of 3 runs (after one unmeasured run);
   - folio warm after one edit: a copy of the book, left 2.5 s to settle as an author's files
     have, one build with a fresh --cache-dir, then, 5 times, append a
     sentence to a chapter in the middle of the book (a different chapter each time) and
     rebuild; the median rebuild time is reported. Each warm output is compared with a
     clean --no-cache build of the same edited sources (OK/DIFFERENT);
   - the EPUB size and the peak memory (largest ru_maxrss of the cold runs).
4. pandoc (--pandoc PATH, else `pandoc` on PATH, else the binary of the pypandoc-binary
   package): `pandoc -f markdown -t epub3` on the 10- and 200-chapter books, chapters in
   SUMMARY order, run from the book folder; median of 3 runs for the 10-chapter book, one
   run for the 200-chapter book (about a minute).
5. Prints the machine, folio's version and a Markdown table; writes results.md and
   results.json under --out.

--quick: only the 10- and 200-chapter books, one run of each measurement.
--max-load L: first wait (up to 25 minutes) until the 1-minute load average is below L.
Times are wall-clock times of the whole process, measured by this script; MB = 10^6 bytes.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED_GEN = os.path.normpath(os.path.join(REPO, "..", "shared", "tools", "gen-book.py"))

# name, chapters, gen-book.py arguments (besides the output folder and --chapters)
BIG = ["--words-per-chapter", "5000", "--footnotes-per-chapter", "20", "--seed", "1"]
BOOKS = [
    ("ch10", 10, []),            # gen-book.py defaults: 2,000 words, 5 notes per chapter
    ("ch200", 200, BIG),
    ("ch1000", 1000, BIG),
]
PANDOC_BOOKS = {"ch10": 3, "ch200": 1}   # book -> runs (full mode)
SETTLE_SECONDS = 2.5   # folio's SETTLE_TIME (src/load.rs), and a margin


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# running children

class Run:
    def __init__(self, status, seconds, maxrss_kib, stderr):
        self.status, self.seconds = status, seconds
        self.maxrss_kib, self.stderr = maxrss_kib, stderr

    @property
    def ok(self):
        return os.WIFEXITED(self.status) and os.WEXITSTATUS(self.status) == 0

    def describe(self):
        if os.WIFEXITED(self.status):
            return "exit %d" % os.WEXITSTATUS(self.status)
        if os.WIFSIGNALED(self.status):
            return "killed by signal %d" % os.WTERMSIG(self.status)
        return "status %d" % self.status


def run(argv, cwd=None, log_dir=None):
    """Run argv in its own process; return wall time and the child's own ru_maxrss.

    The child is started with posix_spawn, which does not copy this process first: a fork of the
    Python interpreter added 1 to 3 ms to every measured run, a large share of a 15 ms rebuild."""
    os.makedirs(log_dir, exist_ok=True)
    err_path = os.path.join(log_dir, "stderr.txt")
    out_path = os.path.join(log_dir, "stdout.txt")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    actions = [(os.POSIX_SPAWN_OPEN, 1, out_path, flags, 0o644),
               (os.POSIX_SPAWN_OPEN, 2, err_path, flags, 0o644)]
    here = os.getcwd()
    os.chdir(cwd or here)   # the child starts in the parent's folder
    try:
        t0 = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    except OSError as e:
        with open(err_path, "w", encoding="utf-8") as f:
            f.write("cannot run %s: %s\n" % (argv[0], e))
        return Run(127 << 8, 0.0, 0, "cannot run %s: %s" % (argv[0], e))
    finally:
        os.chdir(here)
    _, status, ru = os.wait4(pid, 0)
    seconds = time.perf_counter() - t0
    with open(err_path, encoding="utf-8", errors="replace") as f:
        stderr = f.read()
    return Run(status, seconds, ru.ru_maxrss, stderr)   # ru_maxrss is in KiB on Linux


def folio_summary(stderr):
    """Parse `built X (N chapters, K from cache, M notes, S KiB) in T ms`."""
    m = re.search(r"built .*\((\d+) chapters?(?:, (\d+) from cache)?.*\) in (\d+) ms", stderr)
    if not m:
        return None
    return {"chapters": int(m.group(1)), "from_cache": int(m.group(2) or 0),
            "ms": int(m.group(3))}


def median(xs):
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------------------------------
# machine and version

def machine_line():
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = "unknown RAM"
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    ram = "%.1f GiB RAM" % (int(line.split()[1]) / 1024 / 1024)
                    break
    except OSError:
        pass
    nproc = os.cpu_count()
    try:
        nproc = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        pass
    return "%d CPUs (nproc), %s, %s, %s %s" % (nproc, cpu, ram, platform.system(),
                                               platform.release())


def load_line():
    try:
        return "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "load average unknown"


def folio_version(folio):
    version = "unknown"
    try:
        p = subprocess.run([folio, "--version"], capture_output=True, text=True, timeout=30)
        version = p.stdout.strip() or version
    except (OSError, subprocess.SubprocessError):
        pass
    if shutil.which("git") and os.path.exists(os.path.join(REPO, ".git")):
        try:
            p = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO,
                               capture_output=True, text=True, timeout=30)
            if p.returncode == 0 and p.stdout.strip():
                version += " (git %s)" % p.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return version


def build_folio():
    log("building folio: cargo build --release")
    p = subprocess.run(["cargo", "build", "--release", "--message-format=json-render-diagnostics"],
                       cwd=REPO, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("bench: cargo build --release failed (exit %d)" % p.returncode)
    exe = None
    for line in p.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if (msg.get("reason") == "compiler-artifact" and msg.get("executable")
                and msg.get("target", {}).get("name") == "folio"
                and "bin" in msg.get("target", {}).get("kind", [])):
            exe = msg["executable"]
    if not exe:
        sys.exit("bench: cargo did not report a folio executable")
    return exe


# ---------------------------------------------------------------------------------------
# pandoc discovery

PANDOC_HELP = ("pandoc not found. To get it: python3 -m pip install pypandoc-binary "
               "(its binary is in the package's files/ folder: python3 -c \"import pypandoc; "
               "print(pypandoc.get_pandoc_path())\"), or install pandoc from "
               "https://pandoc.org/installing.html, or pass --pandoc PATH.")


def find_pandoc(explicit):
    if explicit:
        path = shutil.which(explicit) or explicit
        if not os.access(path, os.X_OK):
            sys.exit("bench: --pandoc %s is not an executable" % explicit)
        return path
    path = shutil.which("pandoc")
    if path:
        return path
    try:
        import pypandoc  # optional: pip install pypandoc-binary
        path = pypandoc.get_pandoc_path()
        if path and os.access(path, os.X_OK):
            return path
    except Exception:   # noqa: BLE001 - not installed, or installed without a binary
        pass
    return None


def pandoc_version(pandoc):
    try:
        p = subprocess.run([pandoc, "--version"], capture_output=True, text=True, timeout=60)
        return p.stdout.splitlines()[0].strip()
    except (OSError, subprocess.SubprocessError, IndexError):
        return "pandoc (unknown version)"


# ---------------------------------------------------------------------------------------
# books

def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def generate(out, name, chapters, extra):
    """Generate (or reuse) a book; return its folder."""
    book = os.path.join(out, "books", name)
    if os.path.exists(SHARED_GEN):
        argv = [sys.executable, SHARED_GEN, book, "--chapters", str(chapters)] + extra
        ident = {"generator": "gen-book.py", "sha256": sha256_file(SHARED_GEN),
                 "args": ["--chapters", str(chapters)] + extra}
    else:
        argv = None
        ident = {"generator": "bench.py builtin", "sha256": sha256_file(__file__),
                 "args": ["--chapters", str(chapters)] + extra}
    stamp = os.path.join(book, ".bench-stamp.json")
    try:
        with open(stamp, encoding="utf-8") as f:
            if json.load(f) == ident:
                return book
    except (OSError, ValueError):
        pass
    log("generating %s (%d chapters) with %s" % (name, chapters, ident["generator"]))
    if os.path.exists(book):
        shutil.rmtree(book)
    os.makedirs(book)
    if argv:
        subprocess.run(argv, check=True)
    else:
        opts = dict(zip(extra[::2], extra[1::2]))
        builtin_generate(book, chapters,
                         int(opts.get("--words-per-chapter", 2000)),
                         int(opts.get("--footnotes-per-chapter", 5)),
                         opts.get("--seed", "1"))
    with open(stamp, "w", encoding="utf-8") as f:
        json.dump(ident, f)
    return book


def read_book(book):
    """Title, language and chapter paths (SUMMARY order, relative to the book folder)."""
    with open(os.path.join(book, "book.toml"), "rb") as f:
        raw = f.read()
    try:
        import tomllib
        meta = tomllib.loads(raw.decode("utf-8")).get("book", {})
    except ImportError:   # Python < 3.11
        meta = dict(re.findall(r'^(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"', raw.decode("utf-8"), re.M))
    src = os.path.join(book, meta.get("src", "src"))
    with open(os.path.join(src, "SUMMARY.md"), encoding="utf-8") as f:
        summary = f.read()
    chapters = [os.path.relpath(os.path.join(src, p), book)
                for p in re.findall(r"\]\(([^)#\s]+\.md)\)", summary)]
    return meta.get("title", "Untitled"), meta.get("language", "en"), chapters


def markdown_bytes(book, chapters):
    return sum(os.path.getsize(os.path.join(book, c)) for c in chapters)


# The fallback generator: same layout as gen-book.py, fewer features (no images).
SYLL = ("ba be bi bo bu ca co da de di do fa fe fi ga go ha he ka ke ko la le li lo lu ma me "
        "mi mo na ne ni no pa pe po ra re ri ro sa se si so ta te ti to va ve vi wa za zo"
        ).split()
FUNC = "the of and to a in is that it for as with was on be by this are from or at an".split()


def builtin_generate(book, n, words_per_chapter, notes_per_chapter, seed):
    vocab_rng = random.Random("vocab:%s" % seed)
    vocab = FUNC + sorted({"".join(vocab_rng.choice(SYLL) for _ in range(vocab_rng.randint(1, 4)))
                          for _ in range(4000)})
    chap_dir = os.path.join(book, "chapters")
    os.makedirs(chap_dir, exist_ok=True)
    width = max(3, len(str(n)))
    titles, names, anchors = [], [], []
    for i in range(1, n + 1):
        r = random.Random("title:%s:%d" % (seed, i))
        words = r.sample(vocab[len(FUNC):], r.randint(2, 4))
        titles.append(" ".join(w.capitalize() for w in words))
        anchors.append("-".join(words))   # mdBook heading id of the H1
        names.append("%0*d-%s.md" % (width, i, "-".join(words)[:40].strip("-")))

    for i in range(1, n + 1):
        rng = random.Random("chapter:%s:%d" % (seed, i))
        budget = [words_per_chapter]

        def words(k):
            budget[0] -= k
            return rng.choices(vocab, k=k)

        def sentence():
            toks = words(max(3, int(rng.gauss(14, 5))))
            out = []
            for t in toks:
                r = rng.random()
                if r < 0.03:
                    t = "*%s*" % t
                elif r < 0.05:
                    t = "**%s**" % t
                elif r < 0.065:
                    t = "`%s()`" % t
                elif r < 0.07 and n > 1:
                    j = rng.randrange(n)
                    j = (j + 1) % n if j == i - 1 else j
                    t = "[%s](%s#%s)" % (t, names[j], anchors[j])
                out.append(t)
            return " ".join(out).capitalize() + "."

        def paragraph():
            return " ".join(sentence() for _ in range(rng.randint(2, 6)))

        blocks = ["# " + titles[i - 1]]
        paras = []
        table_done = has_h2 = False
        while budget[0] > 0:
            r = rng.random()
            if r < 0.06:
                blocks.append("## " + " ".join(words(rng.randint(2, 5))).capitalize())
                has_h2 = True
            elif r < 0.09 and has_h2:
                blocks.append("### " + " ".join(words(rng.randint(2, 5))).capitalize())
            elif r < 0.15:
                blocks.append("\n".join("- " + sentence() for _ in range(rng.randint(2, 5))))
            elif r < 0.20:
                blocks.append("\n".join("%d. %s" % (k + 1, sentence())
                                        for k in range(rng.randint(2, 5))))
            elif r < 0.24:
                blocks.append("> " + paragraph())
            elif r < 0.30:
                ids = words(rng.randint(2, 8))
                blocks.append("```rust\n%s\n```" % "\n".join(
                    "let %s = %s(%d); // a < b && c > d" % (a, ids[0], k)
                    for k, a in enumerate(ids)))
            elif r < 0.32 and not table_done:
                cols = rng.randint(2, 4)
                rows = ["| " + " | ".join(words(cols)) + " |", "|" + "---|" * cols]
                rows += ["| " + " | ".join(words(cols)) + " |" for _ in range(rng.randint(2, 5))]
                blocks.append("\n".join(rows))
                table_done = True
            else:
                blocks.append(paragraph())
                paras.append(len(blocks) - 1)
        if not paras:
            blocks.append(paragraph())
            paras.append(len(blocks) - 1)
        base = (i - 1) * notes_per_chapter   # labels unique in the book, for pandoc
        defs = []
        for k in range(notes_per_chapter):
            b = rng.choice(paras)
            label = base + k + 1
            blocks[b] = blocks[b][:-1] + "[^%d]." % label if blocks[b].endswith(".") \
                else blocks[b] + "[^%d]" % label
            defs.append("[^%d]: %s" % (label, sentence()))
        # several references may land in one paragraph: each appends after the last '.'
        with open(os.path.join(chap_dir, names[i - 1]), "w", encoding="utf-8",
                  newline="\n") as f:
            f.write("\n\n".join(blocks + defs) + "\n")

    with open(os.path.join(book, "book.toml"), "w", encoding="utf-8", newline="\n") as f:
        f.write('[book]\ntitle = "Synthetic Book %d"\nauthors = ["Bench Mark"]\n'
                'language = "en"\nsrc = "."\n' % n)
    with open(os.path.join(book, "SUMMARY.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write("# Summary\n\n")
        for t, name in zip(titles, names):
            f.write("- [%s](chapters/%s)\n" % (t, name))


# ---------------------------------------------------------------------------------------
# measurements

class Failure(Exception):
    pass


def check(r, what):
    if not r.ok:
        raise Failure("%s failed (%s):\n%s" % (what, r.describe(), r.stderr.strip()[-3000:]))
    return r


def same_bytes(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def bench_folio(folio, book, name, out, runs, cycles, problems):
    res = {}
    ep = os.path.join(out, "epub")
    logs = os.path.join(out, "logs", name)
    os.makedirs(ep, exist_ok=True)
    cold_out = os.path.join(ep, name + "-cold.epub")

    # cold: one unmeasured run (checks that the book builds), then `runs` measured runs
    check(run([folio, "build", book, "-o", cold_out, "--no-cache"],
              log_dir=os.path.join(logs, "cold-0")), "folio cold build of " + name)
    with open(cold_out, "rb") as f:
        first = f.read()
    times, rss, self_ms = [], [], []
    for k in range(runs):
        r = check(run([folio, "build", book, "-o", cold_out, "--no-cache"],
                      log_dir=os.path.join(logs, "cold-%d" % (k + 1))), "folio cold build")
        times.append(r.seconds)
        rss.append(r.maxrss_kib)
        s = folio_summary(r.stderr)
        if s:
            self_ms.append(s["ms"])
        with open(cold_out, "rb") as f:
            if f.read() != first:
                problems.append("%s: two --no-cache builds of the same sources differ" % name)
    res["cold_s"] = median(times)
    res["cold_runs_s"] = times
    res["cold_self_ms"] = median(self_ms)
    res["cold_maxrss_kib"] = max(rss)
    res["epub_bytes"] = os.path.getsize(cold_out)

    # warm: a copy of the book, a fresh cache, one priming build, then edit+rebuild cycles
    work = os.path.join(out, "work", name)
    if os.path.exists(work):
        shutil.rmtree(work)
    shutil.copytree(book, work, ignore=shutil.ignore_patterns(".bench-stamp.json"))
    # An author's files are older than the edit being rebuilt; files changed within folio's settle
    # time (2 s) of a build are read on every build, so the fresh copy is left to settle first.
    time.sleep(SETTLE_SECONDS)
    cache = os.path.join(out, "work", name + "-cache")
    if os.path.exists(cache):
        shutil.rmtree(cache)
    warm_out = os.path.join(ep, name + "-warm.epub")
    clean_out = os.path.join(ep, name + "-clean.epub")
    check(run([folio, "build", work, "-o", warm_out, "--cache-dir", cache],
              log_dir=os.path.join(logs, "warm-prime")), "folio priming build")
    _, _, chapters = read_book(work)
    mid = len(chapters) // 2
    times, self_ms, verdicts, cached = [], [], [], []
    for k in range(cycles):
        chapter = os.path.join(work, chapters[(mid + k) % len(chapters)])
        with open(chapter, "a", encoding="utf-8", newline="\n") as f:
            f.write("\nThis sentence was appended by the benchmark, edit number %d.\n" % (k + 1))
        r = check(run([folio, "build", work, "-o", warm_out, "--cache-dir", cache],
                      log_dir=os.path.join(logs, "warm-%d" % (k + 1))), "folio warm rebuild")
        times.append(r.seconds)
        s = folio_summary(r.stderr)
        if s:
            self_ms.append(s["ms"])
            cached.append(s["from_cache"])
            if s["from_cache"] != s["chapters"] - 1:
                problems.append("%s: warm rebuild %d took %d of %d chapters from the cache "
                                "(expected %d)" % (name, k + 1, s["from_cache"], s["chapters"],
                                                   s["chapters"] - 1))
        check(run([folio, "build", work, "-o", clean_out, "--no-cache"],
                  log_dir=os.path.join(logs, "clean-%d" % (k + 1))), "folio clean build")
        ok = same_bytes(warm_out, clean_out)
        verdicts.append(ok)
        if not ok:
            problems.append("%s: warm output after edit %d is DIFFERENT from a clean build"
                            % (name, k + 1))
    res["warm_s"] = median(times)
    res["warm_runs_s"] = times
    res["warm_self_ms"] = median(self_ms)
    res["warm_from_cache"] = cached
    res["identical"] = all(verdicts)
    return res


def bench_pandoc(pandoc, book, name, out, runs):
    title, lang, chapters = read_book(book)
    dirs = []
    for c in chapters:   # images are written relative to the chapter file (mdBook)
        d = os.path.dirname(c) or "."
        if d not in dirs:
            dirs.append(d)
    target = os.path.join(out, "epub", name + "-pandoc.epub")
    argv = [pandoc, "-f", "markdown", "-t", "epub3", "-o", target,
            "--metadata", "title=" + title, "--metadata", "lang=" + lang,
            "--resource-path", os.pathsep.join(["."] + [d for d in dirs if d != "."])]
    argv += chapters
    times, rss, warnings = [], [], 0
    for k in range(runs):
        r = check(run(argv, cwd=book, log_dir=os.path.join(out, "logs", name, "pandoc-%d" % k)),
                  "pandoc on " + name)
        times.append(r.seconds)
        rss.append(r.maxrss_kib)
        warnings = r.stderr.count("[WARNING]")
    return {"pandoc_s": median(times), "pandoc_runs_s": times, "pandoc_maxrss_kib": max(rss),
            "pandoc_epub_bytes": os.path.getsize(target), "pandoc_warnings": warnings}


# ---------------------------------------------------------------------------------------
# report

def fmt(x, spec, missing="—"):
    return missing if x is None else format(x, spec)


def table(rows):
    head = ["book", "folio cold (ms)", "folio warm after one edit (ms)", "pandoc (s)",
            "speed-up (pandoc / folio cold)", "folio peak memory (MB)",
            "pandoc peak memory (MB)", "EPUB size (KiB)"]
    lines = ["| " + " | ".join(head) + " |",
             "|---|" + "---:|" * (len(head) - 1)]
    for r in rows:
        if r.get("error"):
            lines.append("| %d chapters, %.1f MB | failed: %s |%s" % (
                r["chapters"], r["md_bytes"] / 1e6, r["error"].splitlines()[0],
                " |" * (len(head) - 2)))
            continue
        cold_ms = r["cold_s"] * 1000
        warm_ms = r["warm_s"] * 1000
        pandoc = r.get("pandoc_s")
        cells = [
            "%d chapters, %.1f MB" % (r["chapters"], r["md_bytes"] / 1e6),
            "%.0f" % cold_ms,
            "%.0f (%.0f%%)" % (warm_ms, 100 * warm_ms / cold_ms),
            fmt(pandoc, ".1f"),
            "—" if pandoc is None else "%.0f×" % (pandoc / r["cold_s"]),
            "%.0f" % (r["cold_maxrss_kib"] * 1024 / 1e6),
            fmt(None if r.get("pandoc_maxrss_kib") is None else
                r["pandoc_maxrss_kib"] * 1024 / 1e6, ".0f"),
            "%.0f" % (r["epub_bytes"] / 1024),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def wait_for_idle(max_load, minutes):
    deadline = time.time() + 60 * minutes
    while os.getloadavg()[0] > max_load and time.time() < deadline:
        log("waiting for the machine to settle: %s (want < %.2f)" % (load_line(), max_load))
        time.sleep(30)
    if os.getloadavg()[0] > max_load:
        log("warning: still busy after %d minutes (%s); measuring anyway" % (minutes, load_line()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split(
        "\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="only the 10- and 200-chapter books, one run of each measurement")
    ap.add_argument("--pandoc", metavar="PATH", help="pandoc binary (default: pandoc on PATH, "
                    "else pypandoc's bundled binary)")
    ap.add_argument("--no-pandoc", action="store_true", help="do not run pandoc")
    ap.add_argument("--folio", metavar="PATH", help="use this folio binary; do not run cargo")
    ap.add_argument("--out", metavar="DIR", default=os.path.join(REPO, "target", "bench"),
                    help="books, EPUBs, logs and results (default: target/bench/)")
    ap.add_argument("--max-load", type=float, metavar="L",
                    help="first wait (up to 25 minutes) until the 1-minute load average is "
                    "below L")
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)

    folio = os.path.abspath(a.folio) if a.folio else build_folio()
    pandoc = None
    if not a.no_pandoc:
        pandoc = find_pandoc(a.pandoc)
        if not pandoc:
            log(PANDOC_HELP)

    books = BOOKS[:2] if a.quick else BOOKS
    runs = 1 if a.quick else 3
    # A rebuild takes a few milliseconds, where the machine's noise is a large share: more of them.
    cycles = 1 if a.quick else 5
    paths = {name: generate(out, name, n, extra) for name, n, extra in books}

    if a.max_load is not None:
        wait_for_idle(a.max_load, 25)
    started = datetime.datetime.now().isoformat(timespec="seconds")
    load_before = load_line()
    log("machine: %s; %s" % (machine_line(), load_before))

    rows, problems = [], []
    for name, n, _ in books:
        book = paths[name]
        _, _, chapters = read_book(book)
        row = {"book": name, "chapters": len(chapters), "md_bytes": markdown_bytes(book, chapters)}
        try:
            log("folio: %s" % name)
            row.update(bench_folio(folio, book, name, out, runs, cycles, problems))
            if pandoc and name in PANDOC_BOOKS:
                k = 1 if a.quick else PANDOC_BOOKS[name]
                log("pandoc: %s (%d run%s)" % (name, k, "s" if k > 1 else ""))
                try:
                    row.update(bench_pandoc(pandoc, book, name, out, k))
                except Failure as e:
                    problems.append(str(e))
        except Failure as e:
            row["error"] = str(e)
            problems.append(str(e))
        rows.append(row)
    load_after = load_line()

    lines = [
        "machine: %s" % machine_line(),
        "load: %s before, %s after" % (load_before, load_after),
        "folio: %s (%s)" % (folio_version(folio), folio),
        "pandoc: %s" % ((pandoc_version(pandoc) + " (%s)" % pandoc) if pandoc else
                        "not run" + ("" if a.no_pandoc else " - " + PANDOC_HELP)),
        "generator: %s" % (SHARED_GEN if os.path.exists(SHARED_GEN) else "built-in"),
        "runs: %s; started %s" % ("quick, 1 of each" if a.quick else
                                  "folio median of 3 cold and 5 warm, pandoc median of 3 on "
                                  "10 chapters and 1 on 200", started),
        "",
        table(rows),
        "",
    ]
    for r in rows:
        if r.get("error"):
            continue
        lines.append("%s: warm output identical to a clean build: %s; folio's own times: cold "
                     "%s ms, warm %s ms; cold runs %s s, warm runs %s s%s" % (
                         r["book"], "OK" if r["identical"] else "DIFFERENT",
                         fmt(r["cold_self_ms"], ".0f"), fmt(r["warm_self_ms"], ".0f"),
                         ", ".join("%.3f" % x for x in r["cold_runs_s"]),
                         ", ".join("%.3f" % x for x in r["warm_runs_s"]),
                         "" if r.get("pandoc_s") is None else
                         "; pandoc runs %s s, %d warnings" % (
                             ", ".join("%.1f" % x for x in r["pandoc_runs_s"]),
                             r["pandoc_warnings"])))
    if problems:
        lines += ["", "problems:"] + ["- " + p for p in problems]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(out, "results.md"), "w", encoding="utf-8") as f:
        f.write(text)
    with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as f:
        json.dump({"machine": machine_line(), "load_before": load_before,
                   "load_after": load_after, "folio": folio_version(folio),
                   "pandoc": pandoc_version(pandoc) if pandoc else None,
                   "started": started, "quick": a.quick, "rows": rows,
                   "problems": problems}, f, indent=1)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
