// basinmap serve's first view in a browser: from asking for the page to every tile of the
// first view drawn (OpenSeadragon fully loaded), in Debian's Chromium driven by playwright-core
// (installed in tests/browser by `npm ci`). Three ways, REPEATS times each (default 3), a fresh
// server each time, the browser already running:
//   cold     basinmap serve --warm none, the page opened 2 s after the server printed its address
//   warmed   basinmap serve (warming zooms 0 to 2), the page opened 2 s after
//   at once  basinmap serve, the page opened as soon as the address is printed
// Prints min / median / max of each. FRESH_BROWSER=1: a browser started for each measurement
// (after the server, during the wait) instead of one throughout.
//   (cd tests/browser && npm ci) && BASINMAP_BIN=target/release/basinmap node benches/serve_browser.mjs
import { spawn } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(new URL("../tests/browser/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const BIN = process.env.BASINMAP_BIN || "target/release/basinmap";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const REPEATS = Number(process.env.REPEATS || 3);
const FRESH = process.env.FRESH_BROWSER === "1";
const launch = () => chromium.launch({ executablePath: CHROMIUM, args: ["--disable-gpu", "--disable-quic", "--disable-sync"] });
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

async function firstView(shared, args, wait) {
  const child = spawn(BIN, ["serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/serving (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`basinmap serve exited (${code})`)));
  });
  const started = Date.now();
  const browser = shared || (await launch());
  await sleep(wait - (Date.now() - started));
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => typeof viewer !== "undefined" && viewer && viewer.world.getItemCount() === 1 && viewer.world.getItemAt(0).getFullyLoaded(), null, { timeout: 90000 });
  const ms = Date.now() - t0;
  await page.close();
  if (!shared) await browser.close();
  child.kill("SIGINT");
  await new Promise((done) => child.on("exit", done));
  return ms;
}

const browser = FRESH ? null : await launch();
const ways = [["cold: --warm none, page 2 s after start", ["--warm", "none"], 2000], ["warmed: page 2 s after start", [], 2000], ["at once: page as the address is printed", [], 0]];
const times = ways.map(() => []);
for (let r = 0; r < REPEATS; r++) {
  for (const [k, [, args, wait]] of ways.entries()) times[k].push(await firstView(browser, args, wait));
}
if (browser) await browser.close();
console.log(`basinmap serve in Chromium, default map, 1280x800 page, first view drawn (${REPEATS} runs each, ${FRESH ? "a browser started for each" : "one browser throughout"})`);
for (const [k, [name]] of ways.entries()) {
  const t = times[k].sort((a, b) => a - b);
  console.log(`${name.padEnd(44)} min ${String(t[0]).padStart(5)} ms   median ${String(t[Math.floor((t.length - 1) / 2)]).padStart(5)} ms   max ${String(t[t.length - 1]).padStart(5)} ms`);
}
