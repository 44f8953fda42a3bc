// folio serve's reader: shows the package's own XHTML in a sandboxed frame, in pages (page.css lays each
// document out in columns a page wide), with contents, pop-up notes, font size, themes, a remembered
// position, and live reload over server-sent events from the server (src/serve/mod.rs).
"use strict";

const XHTML = "http://www.w3.org/1999/xhtml";
const OPS = "http://www.idpf.org/2007/ops";
const DC = "http://purl.org/dc/elements/1.1/";
const THEMES = ["light", "sepia", "dark"];
const SIZES = [70, 80, 90, 100, 110, 120, 135, 150, 175, 200];
const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i; // an href with a scheme leads out of the book

const $ = (id) => document.getElementById(id);
const frame = $("page");
const reader = {
  version: 0, // the build shown; the server counts good builds from 1
  spine: [], // paths in the zip, in reading order
  contents: [], // { label, path, fragment, depth }
  index: -1, // the spine item shown
  page: 0,
  pages: 1,
  key: "folio:position", // localStorage key of the position, one per book
  pageCss: fetch("/_folio/page.css").then((r) => r.text()),
  arrived: null, // where the frame's next document opens: { page, fragment, last }
};
const settings = Object.assign({ size: 100, theme: "light" }, JSON.parse(localStorage.getItem("folio:settings") || "{}"));

/** A file of the package, parsed as XML. */
async function xml(path) {
  const response = await fetch(`/book/${path}?v=${reader.version}`);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return new DOMParser().parseFromString(await response.text(), "application/xml");
}

/** A package path from an href in the file at `base` ("" for the document itself). */
function resolve(base, href) {
  const url = new URL(href, `http://package/${base}`);
  return { path: decodeURIComponent(url.pathname.slice(1)), fragment: decodeURIComponent(url.hash.slice(1)) };
}

/** Reads the spine and the contents from the package's OPF and navigation document. */
async function openPackage() {
  const container = await xml("META-INF/container.xml");
  const opfPath = container.querySelector("rootfile").getAttribute("full-path");
  const opf = await xml(opfPath);
  const items = new Map([...opf.querySelectorAll("manifest > item")].map((item) => [item.getAttribute("id"), item]));
  reader.spine = [...opf.querySelectorAll("spine > itemref")]
    .map((ref) => items.get(ref.getAttribute("idref")))
    .filter(Boolean)
    .map((item) => resolve(opfPath, item.getAttribute("href")).path);
  const title = opf.getElementsByTagNameNS(DC, "title")[0]?.textContent ?? "";
  const identifier = opf.getElementsByTagNameNS(DC, "identifier")[0]?.textContent ?? title;
  reader.key = `folio:position:${identifier}`;
  document.title = `${title} · folio serve`;
  $("title").textContent = title;
  const navItem = [...items.values()].find((item) => (item.getAttribute("properties") || "").split(/\s+/).includes("nav"));
  reader.contents = [];
  if (navItem) {
    const navPath = resolve(opfPath, navItem.getAttribute("href")).path;
    const nav = await xml(navPath);
    const navs = [...nav.getElementsByTagNameNS(XHTML, "nav")];
    const toc = navs.find((n) => (n.getAttributeNS(OPS, "type") || "").split(/\s+/).includes("toc")) ?? navs[0];
    for (const link of toc ? toc.getElementsByTagNameNS(XHTML, "a") : []) {
      let depth = 0;
      for (let up = link.parentNode; up && up !== toc; up = up.parentNode) depth += up.localName === "ol" ? 1 : 0;
      reader.contents.push({ label: link.textContent.trim(), ...resolve(navPath, link.getAttribute("href")), depth });
    }
  }
  drawContents();
}

function drawContents() {
  const top = document.createElement("ol");
  const lists = [top];
  for (const entry of reader.contents) {
    while (lists.length > entry.depth && lists.length > 1) lists.pop();
    while (lists.length < entry.depth) {
      const inner = document.createElement("ol");
      (lists.at(-1).lastElementChild ?? lists.at(-1)).append(inner);
      lists.push(inner);
    }
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `#${entry.path}`;
    link.textContent = entry.label;
    link.dataset.path = entry.path;
    link.addEventListener("click", (event) => {
      event.preventDefault();
      toggleContents(false);
      go(entry.path, entry.fragment);
    });
    item.append(link);
    lists.at(-1).append(item);
  }
  $("contents").replaceChildren(top);
  markContents();
}

function markContents() {
  for (const link of $("contents").querySelectorAll("a")) {
    link.toggleAttribute("aria-current", link.dataset.path === reader.spine[reader.index]);
  }
}

function toggleContents(open = $("contents").hidden) {
  $("contents").hidden = !open;
  $("contents-button").setAttribute("aria-expanded", String(open));
}

/** Opens the spine item `index` at `page` (`last` for its last page) or at the element `fragment`. */
function show(index, { page = 0, fragment = "", last = false } = {}) {
  reader.index = Math.max(0, Math.min(index, reader.spine.length - 1));
  reader.arrived = { page, fragment, last };
  frame.src = `/book/${reader.spine[reader.index]}?v=${reader.version}`;
}

/** Opens a package path, at a fragment if given; paths outside the spine are ignored. */
function go(path, fragment = "") {
  const index = reader.spine.indexOf(path);
  if (index < 0) return;
  if (index === reader.index && frame.contentDocument?.documentElement) {
    reader.page = fragment ? pageOf(fragment) : 0;
    place();
  } else {
    show(index, { fragment });
  }
}

/** Lays the document in the frame out in pages, once it has loaded. */
frame.addEventListener("load", async () => {
  const doc = frame.contentDocument;
  if (!doc?.documentElement || !doc.location.pathname.startsWith("/book/")) return;
  const style = doc.createElementNS(XHTML, "style");
  style.textContent = await reader.pageCss;
  (doc.head ?? doc.documentElement).append(style);
  applySettings();
  for (const [type, handler] of Object.entries(frameHandlers)) doc.addEventListener(type, handler);
  await doc.fonts.ready;
  measure();
  const { page, fragment, last } = reader.arrived ?? {};
  reader.page = last ? reader.pages - 1 : fragment ? pageOf(fragment) : Math.min(page ?? 0, reader.pages - 1);
  place();
  markContents();
  markShown();
});

function measure() {
  const doc = frame.contentDocument;
  const width = frame.contentWindow.innerWidth;
  reader.pages = Math.max(1, Math.ceil((doc.documentElement.scrollWidth - 1) / width));
}

/** The page that shows the element with this id. */
function pageOf(fragment) {
  const doc = frame.contentDocument;
  const target = doc.getElementById(fragment);
  if (!target) return 0;
  const view = frame.contentWindow;
  const left = Math.abs(target.getBoundingClientRect().left + view.scrollX);
  return Math.min(reader.pages - 1, Math.floor(left / view.innerWidth));
}

/** Right-to-left books run their columns, and their pages, leftwards. */
function direction() {
  const body = frame.contentDocument?.body;
  return body && frame.contentWindow.getComputedStyle(body).direction === "rtl" ? -1 : 1;
}

function place() {
  const view = frame.contentWindow;
  view.scrollTo(direction() * reader.page * view.innerWidth, 0);
  $("where").textContent = `${reader.page + 1} / ${reader.pages}`;
  localStorage.setItem(reader.key, JSON.stringify({ path: reader.spine[reader.index], page: reader.page }));
}

function turn(step) {
  closeNote();
  const next = reader.page + step;
  if (next >= 0 && next < reader.pages) {
    reader.page = next;
    place();
  } else if (step > 0 && reader.index < reader.spine.length - 1) {
    show(reader.index + 1);
  } else if (step < 0 && reader.index > 0) {
    show(reader.index - 1, { last: true });
  }
}

function onKey(event) {
  if (event.target.closest?.("select")) return;
  const forward = direction() > 0 ? "ArrowRight" : "ArrowLeft";
  const back = direction() > 0 ? "ArrowLeft" : "ArrowRight";
  if ([forward, "PageDown", " "].includes(event.key)) turn(1);
  else if ([back, "PageUp"].includes(event.key)) turn(-1);
  else if (event.key === "Escape") {
    closeNote();
    toggleContents(false);
  } else return;
  event.preventDefault();
}

let touchStart = null;
/** Events in the book's document: links, notes, turning by click, key and swipe. */
const frameHandlers = {
  click(event) {
    const link = event.target.closest?.("a[href]");
    if (link) {
      event.preventDefault();
      followLink(link);
      return;
    }
    if ($("note").hidden === false) return closeNote();
    const third = frame.contentWindow.innerWidth / 3;
    if (event.clientX < third) turn(-direction());
    else if (event.clientX > 2 * third) turn(direction());
  },
  keydown: onKey,
  touchstart(event) {
    touchStart = event.changedTouches[0].clientX;
  },
  touchend(event) {
    const moved = event.changedTouches[0].clientX - (touchStart ?? 0);
    if (Math.abs(moved) > 40) turn(moved < 0 ? direction() : -direction());
    touchStart = null;
  },
};

async function followLink(link) {
  const href = link.getAttribute("href");
  if (EXTERNAL.test(href)) {
    window.open(link.href, "_blank", "noopener");
    return;
  }
  const here = reader.spine[reader.index];
  const target = resolve(here, href);
  const noteref = (link.getAttributeNS(OPS, "type") || "").split(/\s+/).includes("noteref");
  if (noteref && target.fragment) await openNote(target);
  else go(target.path, target.fragment);
}

/** Shows the note a note reference points to, as EPUB 3 readers pop up an `aside`. */
async function openNote({ path, fragment }) {
  const doc = path === reader.spine[reader.index] ? frame.contentDocument : await xml(path);
  const note = doc.getElementById(fragment);
  if (!note) return go(path, fragment);
  const copy = document.importNode(note, true);
  for (const back of copy.querySelectorAll("[role~='doc-backlink']")) back.remove();
  // Images and links inside the note are relative to its document, not to the reader's page.
  for (const image of copy.querySelectorAll("[src]")) {
    const source = image.getAttribute("src");
    if (!EXTERNAL.test(source)) image.setAttribute("src", `/book/${resolve(path, source).path}`);
  }
  for (const link of copy.querySelectorAll("a[href]")) {
    const href = link.getAttribute("href");
    if (!EXTERNAL.test(href)) link.dataset.target = JSON.stringify(resolve(path, href));
  }
  $("note-text").replaceChildren(...copy.childNodes);
  $("note").hidden = false;
  $("note-close").focus();
}

function closeNote() {
  $("note").hidden = true;
}

function applySettings() {
  document.body.dataset.theme = settings.theme;
  $("theme").value = settings.theme;
  const doc = frame.contentDocument;
  if (doc?.documentElement && doc.location.pathname.startsWith("/book/")) {
    doc.documentElement.setAttribute("data-folio-theme", settings.theme);
    doc.documentElement.style.setProperty("--folio-font-size", `${settings.size}%`);
  }
  localStorage.setItem("folio:settings", JSON.stringify(settings));
}

/** Applies a setting that moves the text, keeping the reader near the same place in the chapter. */
function relayout(change) {
  const share = reader.pages > 1 ? reader.page / reader.pages : 0;
  change();
  applySettings();
  if (!frame.contentDocument?.body) return;
  measure();
  reader.page = Math.min(reader.pages - 1, Math.round(share * reader.pages));
  place();
}

function resize(step) {
  const at = SIZES.indexOf(settings.size);
  const next = SIZES[Math.max(0, Math.min(SIZES.length - 1, (at < 0 ? SIZES.indexOf(100) : at) + step))];
  relayout(() => (settings.size = next));
}

function showProblems(problems) {
  const list = $("problems").querySelector("ul");
  list.replaceChildren(
    ...problems.map((p) => {
      const item = document.createElement("li");
      item.textContent = `${p.location}: ${p.severity}: ${p.message}${p.hint ? `\nhint: ${p.hint}` : ""}`;
      return item;
    }),
  );
  $("problems").hidden = problems.length === 0;
}

/** Shows a new build: the same chapter at the same page, or where the reader left the book last time. */
async function load({ version, changed }) {
  const first = reader.version === 0;
  const next = version === reader.version + 1;
  const path = reader.spine[reader.index];
  const page = reader.page;
  reader.version = version;
  if (first) {
    await openPackage();
    const saved = JSON.parse(localStorage.getItem(reader.key) || "null");
    const index = saved ? reader.spine.indexOf(saved.path) : -1;
    show(Math.max(index, 0), { page: index >= 0 ? saved.page : 0 });
    return;
  }
  // When a build changed documents only, the new text is put into the page as it stands: its stylesheets
  // and fonts are not loaded again, and nothing flashes. Otherwise the chapter loads again (most likely
  // still there) while the package is read again.
  if (next && changed.every((file) => /\.(xhtml|opf|ncx)$/.test(file))) {
    if (changed.includes(path)) swap(path, page);
    else markShown();
  } else {
    show(reader.index, { page });
  }
  await openPackage();
  const index = reader.spine.indexOf(path);
  if (index >= 0) {
    reader.index = index;
    markContents();
  } else {
    show(reader.index, { page });
  }
}

/** Replaces the body of the document shown by that of its new version, and goes back to `page`. */
async function swap(path, page) {
  const response = await fetch(`/book/${path}?v=${reader.version}`);
  const fresh = response.ok && new DOMParser().parseFromString(await response.text(), "application/xhtml+xml");
  const doc = frame.contentDocument;
  if (!fresh?.body || !doc?.body) return show(reader.index, { page });
  doc.body.replaceWith(doc.importNode(fresh.body, true));
  measure();
  reader.page = Math.min(page, reader.pages - 1);
  place();
  markShown();
}

/** Marks which build and document the page shows (what the tests wait for). */
function markShown() {
  document.body.dataset.shown = `${reader.version}:${reader.spine[reader.index]}`;
}

const events = new EventSource("/_folio/events");
events.addEventListener("message", (event) => {
  const news = JSON.parse(event.data);
  showProblems(news.problems);
  if (news.version > 0 && news.version !== reader.version) load(news);
});

document.addEventListener("keydown", onKey);
$("previous").addEventListener("click", () => turn(-direction()));
$("next").addEventListener("click", () => turn(direction()));
$("contents-button").addEventListener("click", () => toggleContents());
$("note-close").addEventListener("click", closeNote);
$("note-text").addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link) return;
  event.preventDefault();
  closeNote();
  if (link.dataset.target) {
    const { path, fragment } = JSON.parse(link.dataset.target);
    go(path, fragment);
  } else {
    window.open(link.href, "_blank", "noopener");
  }
});
$("smaller").addEventListener("click", () => resize(-1));
$("larger").addEventListener("click", () => resize(1));
$("theme").addEventListener("change", () => relayout(() => (settings.theme = THEMES.includes($("theme").value) ? $("theme").value : "light")));
window.addEventListener("resize", () => relayout(() => {}));
applySettings();
