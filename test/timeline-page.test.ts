/**
 * `trace.toHTML()` (API.md, "Diagnostics") in a real browser: a headless Chromium loads the
 * page from a file, with no network, and its script draws a lane per thread named after the
 * thread, waits, holds and tasks as bars in their own colours, each with a tooltip saying
 * what it is, on what and for how long. The DOM after the script ran (`--dump-dom`) shows
 * what was drawn; a screenshot shows that it was drawn in colour.
 *
 * Needs Debian's `chromium` (`apt-get install chromium`; `.ci/run` installs it); skips,
 * saying so, where there is none. Chromium takes seconds to start here: limits are generous,
 * and a browser that outlives its limit is killed with its whole process group.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { inflateSync } from "node:zlib";
import { Thread, ThreadPoolExecutor, isMainThread, trace, type TraceEvent } from "weft-threads";

const BROWSER_LIMIT_MS = 90_000;

/** Pool task. */
export function cube(x: number): number {
  return x * x * x;
}

function findChromium(): string | undefined {
  const named = process.env.CHROMIUM ?? process.env.CHROME_PATH;
  if (named !== undefined && existsSync(named)) return named;
  for (const name of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) {
    const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
    const path = found.stdout.trim();
    if (found.status === 0 && path !== "") return path;
  }
  return undefined;
}

/** Runs the browser headless; resolves with its stdout, or rejects after the limit, having killed it. */
function runChromium(binary: string, profile: string, args: string[]): Promise<string> {
  const flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars", `--user-data-dir=${profile}`];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [...flags, ...args], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // already gone
      }
      reject(new Error(`chromium ran past ${BROWSER_LIMIT_MS} ms and was killed; stderr:\n${stderr}`));
    }, BROWSER_LIMIT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`chromium exited with ${code}; stderr:\n${stderr}`));
    });
  });
}

/** A PNG's size and its pixels as RGB triples (8-bit RGB or RGBA, non-interlaced, as Chromium writes). */
function decodePng(png: Buffer): { width: number; height: number; pixels: number[] } {
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], "a PNG signature");
  assert.equal(png.toString("latin1", 12, 16), "IHDR");
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const depth = png[24];
  const colour = png[25];
  assert.equal(depth, 8, "8 bits per channel");
  assert.ok(colour === 2 || colour === 6, `colour type ${colour}`);
  const bpp = colour === 6 ? 4 : 3;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString("latin1", at + 4, at + 8);
    if (type === "IDAT") idat.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[y * stride + x - bpp] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? out[(y - 1) * stride + x - bpp] : 0;
      let predicted = 0;
      if (filter === 1) predicted = a;
      else if (filter === 2) predicted = b;
      else if (filter === 3) predicted = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = (line[x] + predicted) & 0xff;
    }
  }
  const pixels: number[] = [];
  for (let i = 0; i < out.length; i += bpp) pixels.push((out[i] << 16) | (out[i + 1] << 8) | out[i + 2]);
  return { width, height, pixels };
}

/** A real trace: three threads, a pool of two; and one lock held then waited for, on the main thread's lane. */
async function recordTrace(): Promise<{ events: TraceEvent[]; names: string[] }> {
  trace.start();
  const threads = ["lane-alpha", "lane-beta", "lane-gamma"].map(
    (name) => new Thread({ target: (ms: number) => { const end = Date.now() + ms; while (Date.now() < end); return ms; }, args: [30], name }),
  );
  for (const t of threads) t.start();
  for (const t of threads) await t.join();
  const pool = new ThreadPoolExecutor({ maxWorkers: 2, threadNamePrefix: "pagepool" });
  await Promise.all([1, 2, 3, 4].map((x) => pool.submit(cube, x)));
  await pool.shutdown();
  const recorded = trace.stop();
  const end = recorded.at(-1)?.ts ?? 1000;
  // The page draws whatever the trace holds; these give it one hold and one wait of a size to see.
  const base = { ident: 1, threadName: "MainThread", object: 4096, label: "Lock#page", waitKind: "lock", detail: 0 } as const;
  const drawn: TraceEvent[] = [
    { ...base, kind: "acquire", ts: end * 0.1 },
    { ...base, kind: "release", ts: end * 0.4 },
    { ...base, kind: "wait-start", ts: end * 0.45 },
    { ...base, kind: "wait-end", ts: end * 0.7, outcome: "ok" },
  ];
  const events = [...recorded, ...drawn].sort((a, b) => a.ts - b.ts);
  const names = [...new Set(events.map((e) => e.threadName))];
  return { events, names };
}

if (isMainThread) {
  test("the timeline page in headless Chromium: a lane per thread, bars with tooltips, drawn in colour", { timeout: 4 * BROWSER_LIMIT_MS }, async (t) => {
    const chromium = findChromium();
    if (chromium === undefined) {
      t.skip("chromium not installed: apt-get install chromium");
      return;
    }
    const { events, names } = await recordTrace();
    assert.ok(names.length >= 6, `MainThread, 3 threads and 2 pool workers: ${names.join(", ")}`);
    const html = trace.toHTML(events);
    assert.doesNotMatch(html, /<(script|link|img|iframe)[^>]*\s(src|href)=/i, "nothing loaded from anywhere");
    assert.doesNotMatch(html.replace(/http:\/\/www\.w3\.org\/2000\/svg/g, ""), /https?:\/\//, "no address but the SVG namespace");

    const dir = mkdtempSync(join(tmpdir(), "weft-timeline-"));
    try {
      const page = join(dir, "trace.html");
      writeFileSync(page, html);
      const url = pathToFileURL(page).href;

      const dom = await runChromium(chromium, join(dir, "profile-dom"), ["--dump-dom", url]);
      assert.match(dom, /<body[^>]*data-rendered="true"/, "the page's script ran to the end");
      const lanes = [...dom.matchAll(/<g class="lane" data-lane="" data-ident="(\d+)" data-name="([^"]*)"/g)];
      assert.equal(lanes.length, names.length, "a lane per thread");
      const decode = (s: string): string => s.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">");
      assert.deepEqual(new Set(lanes.map((m) => decode(m[2]))), new Set(names), "each lane named after its thread");
      for (const name of names) assert.ok(dom.includes(`>${name}</text>`), `the lane's label shows ${name}`);
      const bars = (kind: string): string[] => [...dom.matchAll(new RegExp(`<rect class="bar"[^>]*data-kind="${kind}"[^>]*>.*?</rect>`, "gs"))].map((m) => m[0]);
      const waits = bars("wait");
      const holds = bars("hold");
      const tasks = bars("task");
      assert.ok(waits.length >= 1 && holds.length >= 1, `wait and hold bars: ${waits.length}, ${holds.length}`);
      assert.equal(tasks.length, 4, "a bar per pool task");
      const fill = (bar: string): string | undefined => /fill="([^"]+)"/.exec(bar)?.[1];
      assert.notEqual(fill(waits[0]), fill(holds[0]), "waits and holds in different colours");
      assert.notEqual(fill(tasks[0]), fill(waits[0]));
      const wait = waits.find((bar) => bar.includes("Lock#page"));
      assert.ok(wait !== undefined);
      assert.match(wait, /<title>wait \(lock\): Lock#page\nduration [\d.]+ (µs|ms|s)/, "the wait's tooltip: kind, object, duration");
      assert.match(holds[0], /<title>held \(lock\): Lock#page\nduration /);
      assert.match(tasks[0], /<title>task: cube\nduration /);

      const shot = join(dir, "trace.png");
      await runChromium(chromium, join(dir, "profile-shot"), [`--screenshot=${shot}`, "--window-size=1200,800", url]);
      assert.ok(existsSync(shot), "a screenshot was written");
      const { width, height, pixels } = decodePng(readFileSync(shot));
      assert.deepEqual([width, height], [1200, 800]);
      const colours = new Set(pixels);
      assert.ok(colours.size >= 16, `a drawing, not a blank page: ${colours.size} colours`);
      const count = (match: (r: number, g: number, b: number) => boolean): number =>
        pixels.reduce((n, p) => (match(p >> 16, (p >> 8) & 0xff, p & 0xff) ? n + 1 : n), 0);
      assert.ok(count((r, g, b) => r > 190 && g < 140 && b < 110) > 50, "orange-red wait bars on screen");
      assert.ok(count((r, g, b) => b > 170 && r < 120 && g < 150) > 50, "blue hold bars on screen");
      assert.ok(count((r, g, b) => g > 130 && r < 110 && b < 140) > 20, "green task bars on screen");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
