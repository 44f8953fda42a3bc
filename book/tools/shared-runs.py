#!/usr/bin/env python3
"""Measure how much of the book's wording it shares with a source text, and how long its own prose is.

Usage: shared-runs.py SEED.txt [CHAPTER.md ...]   (chapters default to book/src/*.md but SUMMARY.md)

Prints, for the chapters taken together:
  - the longest run of consecutive words shared with SEED, and the longest outside quotation marks
    (a marked quotation is the one place the book may repeat a source's words);
  - each shared run of 8 words or more, with the chapter it is in;
  - the number of words of the book's own prose: chapter text without headings, citations,
    footnote labels, raw HTML tags and quotations.
Words are compared in lower case, with typographic apostrophes and dashes folded, so a run cannot hide
behind punctuation. Exit status 1 when a run outside quotations reaches 10 words (the book's bar).
"""

import pathlib
import re
import sys

BAR = 10
REPORT_FROM = 8
QUOTE_OPEN, QUOTE_CLOSE = "\u201c", "\u201d"
BREAK = "\x00"  # a token no text contains: runs never cross it


def words(text):
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return re.findall(r"[a-z0-9]+(?:'[a-z0-9]+)*", text.lower())


def prose(markdown):
    """The chapter's running text: no headings, citations, footnote labels, HTML tags or link targets."""
    out = []
    for line in markdown.splitlines():
        if line.lstrip().startswith("#"):
            continue
        line = re.sub(r"\[@[^\]]*\]", " ", line)  # [@key, locator]
        line = re.sub(r"\[\^[^\]]*\]:?", " ", line)  # footnote references and labels
        line = re.sub(r"<[^>]*>", " ", line)  # raw HTML tags (the figures' markup)
        line = re.sub(r"\]\([^)]*\)", "]", line)  # link and image targets
        out.append(line)
    return "\n".join(out)


def straight_quotes_to_curly(text):
    """Pair up straight double quotes so quotation spans are found however they were typed."""
    parts = text.split('"')
    return "".join(p + (QUOTE_OPEN if i % 2 == 0 else QUOTE_CLOSE) for i, p in enumerate(parts[:-1])) + parts[-1]


def split_quotes(text):
    """(outside, inside): the text with quotations replaced by breaks, and the quotations' words."""
    text = straight_quotes_to_curly(text)
    outside, inside = [], []
    depth = 0
    for ch in text:
        if ch == QUOTE_OPEN:
            depth += 1
            outside.append(f" {BREAK} ")
            inside.append(" ")
        elif ch == QUOTE_CLOSE and depth:
            depth -= 1
            inside.append(" ")
        elif depth:
            inside.append(ch)
        else:
            outside.append(ch)
    return "".join(outside), "".join(inside)


def tokens(text):
    """Words, with BREAK kept as its own token."""
    out = []
    for piece in text.split(BREAK):
        out.extend(words(piece))
        out.append(BREAK)
    return out[:-1]


def shared_runs(book, seed):
    """Maximal runs of book tokens that also occur consecutively in seed: (length, start in book)."""
    seed_len = len(seed)
    runs = []
    prev = [0] * (seed_len + 1)
    for i, word in enumerate(book):
        cur = [0] * (seed_len + 1)
        if word != BREAK:
            for j in range(seed_len):
                if seed[j] == word:
                    cur[j + 1] = prev[j] + 1
        # A run ends where it cannot be extended by the next book token.
        nxt = book[i + 1] if i + 1 < len(book) else None
        for j in range(1, seed_len + 1):
            n = cur[j]
            if n and not (nxt is not None and j < seed_len and seed[j] == nxt and nxt != BREAK):
                runs.append((n, i - n + 1))
        prev = cur
    return runs


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    seed = words(pathlib.Path(argv[1]).read_text(encoding="utf-8"))
    here = pathlib.Path(__file__).resolve().parent.parent
    chapters = [pathlib.Path(p) for p in argv[2:]] or sorted(
        p for p in (here / "src").glob("*.md") if p.name != "SUMMARY.md"
    )
    longest_all = longest_outside = 0
    own_words = 0
    reported = []
    for chapter in chapters:
        text = prose(chapter.read_text(encoding="utf-8"))
        outside, inside = split_quotes(text)
        own_words += len(words(outside.replace(BREAK, " ")))
        everything = tokens(text)
        own = tokens(outside)
        for n, start in shared_runs(everything, seed):
            longest_all = max(longest_all, n)
        for n, start in shared_runs(own, seed):
            longest_outside = max(longest_outside, n)
            if n >= REPORT_FROM:
                reported.append((n, chapter.name, " ".join(own[start : start + n])))
        del inside
    print(f"chapters: {len(chapters)}")
    print(f"own prose (no headings, citations, quotations): {own_words} words")
    print(f"longest run shared with the seed, quotations included: {longest_all} words")
    print(f"longest run shared with the seed outside quotations: {longest_outside} words")
    for n, name, run in sorted(set(reported), reverse=True):
        print(f"  {n:3} {name}: {run}")
    return 1 if longest_outside >= BAR else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
