/**
 * TypeScript module targets (README, "Shipping code to a thread"): a thread does not run
 * the main thread's `--import` loaders, so weft registers one in the thread before it
 * imports a `.ts` target — tsx's when it can be found, otherwise its own hooks over
 * `typescript`, `esbuild` or Vite 8's `rolldown`.
 *
 * The fixtures in test/fixtures/ts are not compiled (tsconfig.dev.json excludes them).
 * In this repository tsx is installed, so threads of this process find it; the paths
 * without tsx run test/fixtures/ts-targets.mjs in a temporary project whose node_modules
 * holds only what that path needs.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cp, mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ThreadPoolExecutor, setExcepthook } from "weft-threads";
import { finish, startExport } from "./helpers/common.js";

const T = { timeout: 30_000 };
/** A child process whose every thread loads a compiler, on a machine that may be busy. */
const CHILD = { timeout: 120_000 };

const repo = new URL("../../", import.meta.url);
const fixtures = new URL("test/fixtures/", repo);
const tsFixtures = new URL("ts/", fixtures);
const workerTs = new URL("worker.ts", tsFixtures).href;

interface Ran {
  result?: unknown;
  error?: { name: string; message: string; stack: string };
}

/** What test/fixtures/ts-targets.mjs prints. */
interface Report {
  javascript?: Ran;
  sum: Ran;
  fail?: Ran;
  extensionless?: Ran;
  nested?: Ran;
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node ...args` in `cwd`; kills it if it runs past `killAfterMs`. */
function runNode(args: string[], cwd: string, killAfterMs = 100_000): Promise<Outcome> {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // the fixture is a plain script, not a test file
  delete env.NODE_OPTIONS;
  delete env.NODE_PATH; // only the project's own node_modules
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const killer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs ts-targets.mjs in `mode` and parses its report. */
async function runTargets(nodeArgs: string[], script: string, mode: string, cwd: string): Promise<Report> {
  const outcome = await runNode([...nodeArgs, script, mode], cwd);
  const detail = `\nstdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`;
  assert.equal(outcome.code, 0, `exit code ${outcome.code}${detail}`);
  const line = outcome.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line) as Report;
  } catch {
    assert.fail(`no report on stdout${detail}`);
  }
}

/**
 * A throwaway project outside the repository: ts-targets.mjs and the TypeScript fixtures,
 * a package.json of `type`, and node_modules links to weft and to `packages` of this
 * repository's node_modules only.
 */
async function withProject(type: "module" | "commonjs", packages: string[], body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "weft-ts-targets-"));
  try {
    await writeFile(join(dir, "package.json"), JSON.stringify({ name: "ts-targets-app", private: true, type }));
    await cp(fileURLToPath(new URL("ts-targets.mjs", fixtures)), join(dir, "ts-targets.mjs"));
    await cp(fileURLToPath(tsFixtures), join(dir, "ts"), { recursive: true });
    await mkdir(join(dir, "node_modules"));
    await symlink(fileURLToPath(repo), join(dir, "node_modules", "weft-threads"), "dir");
    for (const name of packages) {
      await symlink(fileURLToPath(new URL(`node_modules/${name}`, repo)), join(dir, "node_modules", name), "dir");
    }
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The checks every loader must pass. */
function assertRuns(report: Report, label: string): void {
  // Types, an interface, an enum and `./helper.js` that exists only as helper.ts.
  assert.deepEqual(report.sum.error, undefined, `${label}: sumNorms failed`);
  const { total, count, main, thread } = report.sum.result as { total: number; count: number; main: boolean; thread: string };
  assert.deepEqual({ total, count, main }, { total: 100, count: 2, main: false }, label);
  assert.match(thread, /\(sumNorms\)$/, label);
  // The thrown error's stack points at the .ts file and the line it was thrown on.
  assert.equal(report.fail?.error?.name, "RangeError", label);
  assert.match(report.fail.error.message, /^failed on purpose: on line 30\b/, label);
  assert.match(report.fail.error.stack, /worker\.ts:30:\d+/, `${label}: ${report.fail.error.stack}`);
  // A thread started by a worker that the program started itself.
  assert.deepEqual(report.nested, { result: 70 }, `${label}: nested worker`);
}

test("a .ts module target runs under plain node with weft's own hooks over typescript (no tsx, no esbuild)", CHILD, async () => {
  await withProject("module", ["typescript"], async (dir) => {
    const report = await runTargets([], "ts-targets.mjs", "hooks", dir);
    assertRuns(report, "typescript");
    // Not tsx: weft's hooks resolve `./x.js` to x.ts, but not an extensionless `./helper`.
    assert.match(report.extensionless?.error?.message ?? "", /Cannot find module .*helper/);
  });
});

test("a .ts module target runs under plain node with weft's own hooks over esbuild (no tsx, no typescript)", CHILD, async () => {
  await withProject("module", ["esbuild"], async (dir) => {
    const report = await runTargets([], "ts-targets.mjs", "hooks", dir);
    assertRuns(report, "esbuild");
    assert.match(report.extensionless?.error?.message ?? "", /Cannot find module .*helper/);
  });
});

test("a .ts module target runs with weft's own hooks over Vite 8's rolldown (what a vitest-only project has)", CHILD, async () => {
  await withProject("module", ["vite"], async (dir) => {
    const report = await runTargets([], "ts-targets.mjs", "hooks", dir);
    assertRuns(report, "rolldown");
    assert.match(report.extensionless?.error?.message ?? "", /Cannot find module .*helper/);
  });
});

test("under `node --import tsx`, threads register tsx (also before a .js target that imports .ts)", CHILD, async () => {
  const report = await runTargets(["--import", "tsx"], fileURLToPath(new URL("ts-targets.mjs", fixtures)), "tsx", fileURLToPath(repo));
  // First thread, fresh carrier: a .mjs target whose import of ./helper.ts needs the loader.
  assert.deepEqual(report.javascript, { result: 300 });
  assertRuns(report, "tsx");
  // Only tsx resolves an extensionless import: it was tsx, not weft's hooks.
  assert.deepEqual(report.extensionless, { result: 7 });
});

test("under the tsx CLI, threads find tsx through the loader path in execArgv (the project has no tsx)", CHILD, async () => {
  // `tsx app.mjs` runs node with `--import file:///.../tsx/dist/loader.mjs`; neither the
  // module's directory nor the working directory can resolve tsx here.
  const cli = fileURLToPath(new URL("node_modules/tsx/dist/cli.mjs", repo));
  await withProject("module", [], async (dir) => {
    const report = await runTargets([cli], "ts-targets.mjs", "tsx", dir);
    assert.deepEqual(report.javascript, { result: 300 });
    assertRuns(report, "tsx cli");
    assert.deepEqual(report.extensionless, { result: 7 });
  });
});

test("with no TypeScript loader to be found, the thread's TypeError says so and how to fix it", CHILD, async () => {
  await withProject("module", [], async (dir) => {
    const report = await runTargets([], "ts-targets.mjs", "bare", dir);
    const error = report.sum.error;
    assert.equal(error?.name, "TypeError", JSON.stringify(report));
    assert.ok(error.message.includes(new URL("ts/worker.ts", `file://${dir}/`).href), error.message);
    assert.match(error.message, /no TypeScript loader is available in the thread/);
    assert.match(error.message, /npm install -D tsx/);
    assert.match(error.message, /compiled \.js file/);
  });
});

test("a .ts target in a \"type\": \"commonjs\" package is refused with a clear error (without tsx)", CHILD, async () => {
  await withProject("commonjs", ["typescript"], async (dir) => {
    const report = await runTargets([], "ts-targets.mjs", "bare", dir);
    const error = report.sum.error;
    assert.equal(error?.name, "TypeError");
    assert.match(error.message, /"type": "commonjs"/);
    assert.match(error.message, /npm install -D tsx/);
  });
});

test("a Thread runs a .ts module target of this process", T, async () => {
  const thread = startExport<{ total: number; count: number; main: boolean }>(workerTs, "sumNorms", [[{ x: 2, y: -3 }]]);
  const result = await finish(thread);
  assert.equal(result.total, 5);
  assert.equal(result.count, 1);
  assert.equal(result.main, false);
});

test("ThreadPoolExecutor.submit runs a .ts module target", T, async () => {
  await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
  assert.equal(await pool.submit({ module: workerTs, export: "tenfold" }, 4.2), 42);
  const futures = [1, 2, 3, 4].map((n) => pool.submit({ module: new URL("worker.ts", tsFixtures), export: "tenfold" }, n));
  assert.deepEqual(await Promise.all(futures), [10, 20, 30, 40]);
});

test("a .ts module target that throws: the stack names the .ts file and line", T, async () => {
  const reported: unknown[] = [];
  setExcepthook((args) => reported.push(args.error)); // expected: keep it off stderr
  try {
    const thread = startExport(workerTs, "fail", [{ reason: "in process" }]);
    await assert.rejects(finish(thread), (error: Error) => {
      assert.equal(error.name, "RangeError");
      assert.match(error.message, /^failed on purpose: in process\b/);
      assert.match(error.stack ?? "", /test\/fixtures\/ts\/worker\.ts:30:\d+/);
      return true;
    });
    assert.equal(reported.length, 1);
  } finally {
    setExcepthook(null);
  }
});
