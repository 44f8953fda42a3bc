// The headless Chromium the web tests drive (tests/common/web.rs runs their scripts with Node): started
// with puppeteer-core from NODE_MODULES, on a fresh profile that is removed when `work` is done.

import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export async function withChromium(modules, chromium, work) {
  const puppeteer = createRequire(resolve(modules, "noop.js"))("puppeteer-core");
  const profile = mkdtempSync(join(tmpdir(), "folio-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: profile,
    // CI runs this beside the rest of the suite on two cores: slow, not broken.
    timeout: 180_000,
    protocolTimeout: 180_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    return await work(browser);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
