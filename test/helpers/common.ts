/**
 * Helpers more than one test file needs: running a fixture script as a child process, and
 * starting a thread on one of a test file's own exports. (Not a test file: `npm test`
 * runs build/test/*.test.js only.)
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Thread } from "weft-threads";

const fixtures = new URL("../../../test/fixtures/", import.meta.url);

/** How a fixture process ended. */
export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed by us after `killAfterMs`: the process did not end by itself. */
  killed: boolean;
}

/** Runs `node ...nodeFlags test/fixtures/<script> ...args`; kills it if it runs past `killAfterMs`. */
export function runFixture(script: string, args: string[] = [], killAfterMs = 25_000, nodeFlags: string[] = []): Promise<Outcome> {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // the fixture is a plain script, not a test file
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, fileURLToPath(new URL(script, fixtures)), ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let killed = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const killer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, killAfterMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, killed });
    });
  });
}

/** The fixture ended by itself, with exit code 0. */
export function assertClean(outcome: Outcome): void {
  const detail = `\nstdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`;
  assert.equal(outcome.killed, false, `the process did not end by itself${detail}`);
  assert.equal(outcome.code, 0, `exit code ${outcome.code}${detail}`);
}

/** Starts a daemon thread running `module`'s export `exportName(...args)`. */
export function startExport<R>(module: string, exportName: string, args: unknown[], name = exportName): Thread<R, unknown[]> {
  const thread = new Thread<R, unknown[]>({ target: { module, export: exportName }, args, name, daemon: true });
  thread.start();
  return thread;
}

/** Joins `thread`; its result, or what it threw. */
export async function finish<R>(thread: Thread<R, unknown[]>): Promise<R> {
  await thread.join();
  if (thread.error !== undefined) throw thread.error;
  return thread.result as R;
}

/** A small seeded PRNG (mulberry32), so that a failure can be replayed with its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Waits, polling every `every` ms, until `predicate` holds; past `within` ms it throws,
 * naming `what` (and adding `detail()`, say a thread dump). For what a test waits for a
 * thread or a process to reach, without asserting how long that takes.
 */
export async function until(predicate: () => boolean, what: string, options: { within?: number; every?: number; detail?: () => string } = {}): Promise<void> {
  const { within = 20_000, every = 2, detail } = options;
  const deadline = performance.now() + within;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting: ${what}${detail === undefined ? "" : `\n${detail()}`}`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}
