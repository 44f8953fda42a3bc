// Reads a book in `folio serve`'s reader in headless Chromium, edits its chapter file as an editor saves,
// and reports what tests/serve.rs asserts on: the chapter's text, page turns, a note, the live reloads (and
// how long each took from save to page), the error overlay, and the position kept across a reload.
//
// Usage: node reader.mjs NODE_MODULES CHROMIUM CONFIG_JSON
// CONFIG_JSON: { url, chapter: package path of the chapter, file: its Markdown file, edits: [text…],
//                bad: text with an error, fixed: text, markers: [a text each edit shows…], fixedMarker,
//                restyle: { file: a stylesheet of the book, text }, screenshot: PNG path or null,
//                viewport: Puppeteer viewport (default 640×480) }
// Prints one JSON report on stdout; exits non-zero only when it could not run.

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

import { withChromium } from "../common/chromium.mjs";

const [modules, chromium, configFile] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configFile, "utf8"));
const report = {};

/** Saves the chapter as most editors do: a new file renamed over the old one. The time it was saved. */
function save(text) {
  const temporary = join(dirname(config.file), `.${Date.now()}.swp`);
  writeFileSync(temporary, text);
  renameSync(temporary, config.file);
  return performance.now();
}

await withChromium(modules, chromium, async (browser) => {
  try {
    await read(browser);
  } catch (error) {
    // What it saw until then tells why.
    process.stderr.write(`${JSON.stringify(report, null, 1)}\n`);
    throw error;
  }
});

async function read(browser) {
  const page = await browser.newPage();
  page.setDefaultTimeout(60_000);
  await page.setViewport(config.viewport ?? { width: 640, height: 480 });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

  const frameText = () => page.evaluate(() => document.getElementById("page").contentDocument?.body?.textContent ?? "");
  const view = () =>
    page.evaluate(() => ({
      shown: document.body.dataset.shown ?? "",
      x: document.getElementById("page").contentWindow.scrollX,
      where: document.getElementById("where").textContent,
    }));
  const version = async () => Number((await view()).shown.split(":")[0]);
  // A save has shown once the reader has laid out a newer build whose text holds the marker.
  const updated = (marker, since) =>
    page.waitForFunction(
      (m, v) =>
        Number(document.body.dataset.shown?.split(":")[0]) > v &&
        document.getElementById("page").contentDocument?.body?.textContent.includes(m),
      { polling: 5 },
      marker,
      since,
    );
  const shows = (path) => page.waitForFunction((p) => document.body.dataset.shown?.endsWith(`:${p}`), { polling: 5 }, path);

  await page.goto(config.url, { waitUntil: "load" });
  await page.waitForFunction(() => document.body.dataset.shown);
  report.opened = await view();

  // The contents panel opens the chapter.
  await page.click("#contents-button");
  await page.click(`#contents a[data-path="${config.chapter}"]`);
  await shows(config.chapter);
  report.text = await frameText();
  report.sandbox = await page.$eval("#page", (f) => f.getAttribute("sandbox"));
  report.policy = await page.evaluate(async (path) => (await fetch(`/book/${path}`)).headers.get("content-security-policy"), config.chapter);

  // Pages turn by key and by the buttons, and back.
  report.firstPage = await view();
  await page.keyboard.press("ArrowRight");
  report.turnedByKey = await view();
  await page.click("#next");
  report.turnedByButton = await view();
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowLeft");
  report.back = await view();

  // A note reference pops its note up.
  // The frame runs no script, so Puppeteer cannot look into it: the reference is found from the reader's
  // page and clicked where it shows.
  const at = await page.evaluate(() => {
    const frame = document.getElementById("page");
    const box = frame.contentDocument.querySelector("a[role='doc-noteref']").getBoundingClientRect();
    const offset = frame.getBoundingClientRect();
    return { x: offset.left + box.left + box.width / 2, y: offset.top + box.top + box.height / 2 };
  });
  await page.mouse.click(at.x, at.y);
  await page.waitForSelector("#note:not([hidden])");
  report.note = await page.$eval("#note-text", (n) => n.textContent.trim());
  if (config.screenshot) await page.screenshot({ path: config.screenshot });
  await page.click("#note-close");

  // Larger text and the dark theme reach the book's document.
  const look = () =>
    page.evaluate(() => {
      const doc = document.getElementById("page").contentDocument;
      const style = doc.defaultView.getComputedStyle(doc.body);
      return { fontSize: style.fontSize, background: style.backgroundColor };
    });
  report.lookBefore = await look();
  await page.click("#larger");
  await page.select("#theme", "dark");
  report.lookAfter = await look();
  await page.click("#smaller");
  await page.select("#theme", "light");

  // Every save shows in the open page, at the same page of the chapter.
  await page.keyboard.press("ArrowRight");
  report.beforeEdits = await view();
  report.reloads = [];
  for (const [i, text] of config.edits.entries()) {
    const since = await version();
    const saved = save(text);
    await updated(config.markers[i], since);
    const milliseconds = performance.now() - saved;
    report.reloads.push({ milliseconds, ...(await view()) });
  }

  // A changed stylesheet reaches the page too (by loading the chapter again).
  const before = await version();
  writeFileSync(config.restyle.file, config.restyle.text);
  await page.waitForFunction((v) => Number(document.body.dataset.shown?.split(":")[0]) > v, { polling: 5 }, before);
  report.restyled = {
    ...(await view()),
    letterSpacing: await page.evaluate(() => {
      const doc = document.getElementById("page").contentDocument;
      return doc.defaultView.getComputedStyle(doc.querySelector("p")).letterSpacing;
    }),
  };

  // A bad save lists its diagnostics over the last good build; the next good save clears them.
  save(config.bad);
  await page.waitForSelector("#problems:not([hidden])", { polling: 5 });
  report.problems = await page.$$eval("#problems li", (items) => items.map((i) => i.textContent));
  report.textWhileBroken = await frameText();
  const broken = await version();
  save(config.fixed);
  await page.waitForSelector("#problems[hidden]", { polling: 5 });
  await updated(config.fixedMarker, broken);
  report.fixed = await view();

  // A reload of the page opens the book where it was.
  await page.reload({ waitUntil: "load" });
  await page.waitForFunction(() => document.body.dataset.shown);
  report.reopened = await view();
  report.errors = errors;
}

process.stdout.write(JSON.stringify(report, null, 1));
