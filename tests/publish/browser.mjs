// Loads each page of a site `folio publish` wrote in a headless Chromium, at a phone's width and a desktop's,
// and reports what tests/publish.rs asserts on: every image shown, nothing wider than the screen, every link
// resolving, every download's SHA-256 as the page and SHA256SUMS give it, and axe-core's violations.
//
// Usage: node browser.mjs NODE_MODULES CHROMIUM SITE_DIR [SCREENSHOT_PAGE SCREENSHOT_PNG]
// Prints one JSON report on stdout; exits 0 whatever it found (the test judges), non-zero only when it
// could not run.

import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { extname, join, normalize, relative, resolve, sep } from "node:path";

import { withChromium } from "../common/chromium.mjs";

const [modules, chromium, siteArgument, screenshotPage, screenshotFile] = process.argv.slice(2);
const site = resolve(siteArgument);
const require = createRequire(resolve(modules, "noop.js"));
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const types = {
  ".html": "text/html; charset=utf-8",
  ".xml": "application/atom+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ttf": "font/ttf",
  ".otf": "font/otf",
  ".epub": "application/epub+zip",
};

// A static server over the site, as any host would serve it: a folder's index.html for the folder.
const server = createServer((request, response) => {
  const path = decodeURIComponent(new URL(request.url, "http://localhost").pathname);
  let file = normalize(join(site, path));
  if (!file.startsWith(normalize(site))) {
    response.writeHead(403).end();
    return;
  }
  try {
    if (statSync(file).isDirectory()) file = join(file, "index.html");
    const body = readFileSync(file);
    response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(body);
  } catch {
    response.writeHead(404).end();
  }
});
await new Promise((listening) => server.listen(0, "127.0.0.1", listening));
const origin = `http://127.0.0.1:${server.address().port}`;

const pages = [];
(function walk(folder) {
  for (const name of readdirSync(folder).sort()) {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith(".html")) pages.push(relative(site, path).split(sep).join("/"));
  }
})(site);

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const report = { pages: [] };
const widths = { phone: { width: 390, height: 844, isMobile: true, hasTouch: true }, desktop: { width: 1280, height: 900 } };
await withChromium(modules, chromium, async (browser) => {
  for (const path of pages) {
    for (const [screen, viewport] of Object.entries(widths)) {
      const page = await browser.newPage();
      page.setDefaultTimeout(180_000);
      await page.setViewport(viewport);
      const failed = [];
      page.on("requestfailed", (r) => failed.push(r.url()));
      page.on("response", (r) => r.status() >= 400 && failed.push(`${r.url()} (${r.status()})`));
      await page.goto(`${origin}/${path}`, { waitUntil: "load" });
      await page.evaluate(() => document.fonts.ready);
      const facts = await page.evaluate(() => ({
        images: [...document.images].map((img) => ({
          src: img.currentSrc,
          shown: img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0,
        })),
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        links: [...document.querySelectorAll("a[href]")].map((a) => a.href),
        downloads: [...document.querySelectorAll("a[download]")].map((a) => ({
          href: a.href,
          sum: a.closest("li")?.querySelector(".sum code")?.textContent ?? "",
        })),
        fonts: [...document.fonts].filter((f) => f.status === "loaded").map((f) => f.family),
      }));
      const links = [];
      for (const link of facts.links) {
        const response = await fetch(link);
        const bytes = Buffer.from(await response.arrayBuffer());
        links.push({ link, status: response.status, sha256: sha256(bytes) });
      }
      const downloads = [];
      for (const download of facts.downloads) {
        const got = links.find((l) => l.link === download.href);
        const sums = await (await fetch(new URL("SHA256SUMS", download.href))).text();
        const name = decodeURIComponent(new URL(download.href).pathname.split("/").pop());
        const listed = sums.split("\n").find((line) => line.endsWith(`  ${name}`))?.slice(0, 64) ?? "";
        downloads.push({ href: download.href, status: got.status, sha256: got.sha256, onPage: download.sum, listed });
      }
      await page.evaluate(axeSource);
      const axe = await page.evaluate(async () => {
        const result = await window.axe.run(document, { resultTypes: ["violations"] });
        return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
      });
      if (screen === "desktop" && path === screenshotPage) {
        await page.screenshot({ path: screenshotFile, fullPage: false });
      }
      report.pages.push({ path, screen, ...facts, links, downloads, failed, axe });
      await page.close();
    }
  }
}).finally(() => server.close());
process.stdout.write(JSON.stringify(report, null, 1));
