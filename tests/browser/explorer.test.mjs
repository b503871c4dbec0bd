// The explorer end to end: `basinmap serve` started on a free port, its page opened in Debian's
// Chromium (driven by playwright-core), zoomed with the wheel, a pixel clicked, a setting
// changed, a layer shown, tiles that left the view cancelled; a screenshot is saved and the map
// checked to show several attractors' colours from its legend. Run by scripts/test.sh (node --test tests/browser/).
//
// BASINMAP_BIN: the binary (default target/release/basinmap); CHROMIUM: the browser (default
// /usr/bin/chromium); SCREENSHOT: where the screenshot goes (default target/explorer.png).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chromium } from "playwright-core";

const BIN = process.env.BASINMAP_BIN || "target/release/basinmap";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SCREENSHOT = process.env.SCREENSHOT || "target/explorer.png";

function startServer() {
  const child = spawn(BIN, ["serve", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const url = new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/serving (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`basinmap serve exited (${code}) before it listened`)));
    // Unreferenced: a pending timer must not keep node running after the test.
    setTimeout(() => reject(new Error("basinmap serve printed no address within 60 s")), 60000).unref();
  });
  return { child, url };
}

// Until the viewport has reached where it was animating to (a frame after, so that the
// handlers of the animation's end have run).
async function settled(page) {
  await page.waitForFunction(() => viewer.viewport.getZoom(true) === viewer.viewport.getZoom(false) && viewer.viewport.getCenter(true).equals(viewer.viewport.getCenter(false)), null, { timeout: 30000, polling: "raf" });
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
}

// Until the view's tiles at the current zoom are all drawn.
async function drawn(page) {
  await page.waitForFunction(() => typeof viewer !== "undefined" && viewer && viewer.world.getItemCount() === 1 && viewer.world.getItemAt(0).getFullyLoaded(), null, { timeout: 90000 });
}

// The share of the map's canvas pixels painted in each legend colour (shaded by steps: the
// colour times 0.6 to 1).
async function legendShares(page) {
  return page.evaluate(() => {
    const canvas = viewer.drawer.canvas;
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = [...document.querySelectorAll("#legend li span.swatch")].map((s) => s.style.background.match(/\d+/g).map(Number));
    const counts = colours.map(() => 0);
    let n = 0;
    for (let i = 0; i < data.length; i += 4 * 7) {
      n++;
      const p = [data[i], data[i + 1], data[i + 2]];
      colours.forEach((c, k) => {
        const cc = c[0] * c[0] + c[1] * c[1] + c[2] * c[2];
        if (cc === 0) return;
        const s = (p[0] * c[0] + p[1] * c[1] + p[2] * c[2]) / cc;
        if (s >= 0.55 && s <= 1.02 && p.every((v, j) => Math.abs(v - s * c[j]) <= 8)) counts[k]++;
      });
    }
    return counts.map((c) => c / n);
  });
}

test("the explorer shows the map, zooms, traces a clicked start and applies a setting", async (t) => {
  const { child, url: ready } = startServer();
  const url = await ready;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--disable-gpu", "--disable-quic", "--disable-sync"] });
  t.after(async () => {
    await browser.close();
    child.kill("SIGINT");
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));

  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => document.querySelectorAll("#legend li").length >= 3, null, { timeout: 60000 });
  await drawn(page);
  console.log(`first full view drawn ${Date.now() - t0} ms after the page was asked for`);
  const shares = await legendShares(page);
  const shown = shares.filter((s) => s > 0.01).length;
  assert.ok(shown >= 3, `at least three legend colours cover the map: ${shares.map((s) => s.toFixed(3))}`);

  // Zoom in with the wheel: deeper tiles, the same legend ids, the place kept in the URL.
  const map = await page.locator("#map").boundingBox();
  const [cx, cy] = [map.x + map.width * 0.45, map.y + map.height * 0.5];
  await page.mouse.move(cx, cy);
  for (let i = 0; i < 6; i++) await page.mouse.wheel(0, -400);
  await page.waitForFunction(() => /zoom [1-9]/.test(document.getElementById("state").textContent), null, { timeout: 30000 });
  // The last wheel's animation ended (the status line and the URL are written then), and its
  // tiles drawn.
  await settled(page);
  await drawn(page);
  const zoomed = await page.evaluate(() => document.getElementById("state").textContent);
  assert.match(await page.evaluate(() => location.hash), /v=/);

  // The pointer readout, then a click: the trajectory panel.
  await page.mouse.move(cx + 20, cy + 10);
  await page.waitForFunction(() => /attractor \d+/.test(document.getElementById("readout").textContent), null, { timeout: 30000 });
  await page.mouse.click(cx + 20, cy + 10);
  await page.waitForSelector("#trajectory table", { timeout: 30000 });
  const panel = await page.evaluate(() => document.getElementById("trajectory").textContent);
  assert.match(panel, /status/);
  assert.match(panel, /attractor\d+: /);
  assert.ok(await page.locator("#trajectory svg polyline").count() >= 1, "the trajectory is plotted");
  await page.screenshot({ path: SCREENSHOT });

  // The URL reopens the same view.
  const again = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await again.goto(page.url());
  await drawn(again);
  assert.equal(await again.evaluate(() => document.getElementById("state").textContent), zoomed);
  await again.close();

  // A setting changed in the side panel: a new view, its settings in the URL.
  await page.fill('#settings input[data-key="param:h"]', "0.2");
  await page.click("#apply");
  await page.waitForFunction(() => location.hash.includes("param=h%3D0.2"), null, { timeout: 30000 });
  await drawn(page);

  // The Show menu: each layer with what its colours mean.
  const shows = await page.evaluate(() => [...document.querySelectorAll("#show option")].map((o) => o.value));
  assert.ok(shows.includes("basins") && shows.includes("steps") && shows.includes("loss"), `layers offered: ${shows}`);
  assert.match(await page.evaluate(() => document.getElementById("showkey").textContent), /attractor/);
  await page.selectOption("#show", "loss");
  await page.waitForFunction(() => /loss at the end state/.test(document.getElementById("showkey").textContent) && location.hash.includes("show=loss"), null, { timeout: 10000 });
  await drawn(page);

  // Tiles that leave the view before they arrive are cancelled: deep by the critical point,
  // where tiles are slow, then far away at once. The page aborts their requests and the server
  // stops computing them.
  await page.evaluate(() => {
    viewer.viewport.zoomTo(64, new OpenSeadragon.Point(0.333, 0.5), true);
    viewer.viewport.panTo(new OpenSeadragon.Point(0.333, 0.5), true);
  });
  await page.waitForFunction(() => inflight.size >= 4, null, { timeout: 10000 });
  await page.evaluate(() => viewer.viewport.panTo(new OpenSeadragon.Point(0.95, 0.05), true));
  await page.waitForFunction(() => tilesAborted >= 1, null, { timeout: 10000 });
  await page.waitForFunction(async () => (await (await fetch("/api/status")).json()).stopped >= 1, null, { timeout: 20000, polling: 200 });
  await drawn(page);
  assert.deepEqual(errors, [], "no script errors on the page");
});
