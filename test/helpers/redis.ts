/**
 * A real Redis server and real `weft worker` processes for the cluster tests.
 *
 * The server is Debian's `redis-server` (CI installs it: .ci/run) on a free loopback port,
 * without persistence unless asked (`persist`: an append-only file in a fresh directory,
 * fsync'd at every write, for a restart that keeps the data). Workers are the command as
 * users run it: `node dist/cluster/cli.js worker ...`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../../../dist/cluster/cli.js", import.meta.url));

/** A Redis server the test owns. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** Stops it and starts it again on the same port (and data directory). */
  restart(): Promise<void>;
}

/** The path of redis-server, or a clear failure: the cluster tests need a real one. */
function redisBinary(): string {
  const found = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === "") {
    throw new Error("the cluster tests need redis-server on the PATH (Debian: apt-get install -y redis-server; .ci/run installs it)");
  }
  return path;
}

/** A loopback port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on the port (a few seconds at most). */
async function waitForPort(port: number, within = 10_000): Promise<void> {
  const deadline = Date.now() + within;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not start listening on port ${port} within ${within} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Starts redis-server on a free loopback port; `persist` keeps its data across `restart()`. */
export async function startRedis(options: { persist?: boolean } = {}): Promise<RedisServer> {
  const binary = redisBinary();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "weft-redis-"));
  const persistence = options.persist === true ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", ...persistence, "--dir", dir, "--daemonize", "no", "--loglevel", "warning"];
  let child: ChildProcess;
  let log = "";
  const launch = async (): Promise<void> => {
    child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.setEncoding("utf8").on("data", (text: string) => (log += text));
    child.stderr?.setEncoding("utf8").on("data", (text: string) => (log += text));
    try {
      await waitForPort(port);
    } catch (error) {
      child.kill("SIGKILL");
      throw new Error(`${(error as Error).message}\n${log}`);
    }
  };
  const halt = async (): Promise<void> => {
    const running = child;
    if (running.exitCode !== null || running.signalCode !== null) return;
    running.kill("SIGTERM");
    const killer = setTimeout(() => running.kill("SIGKILL"), 3000);
    await exited(running);
    clearTimeout(killer);
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await halt();
      await launch();
    },
  };
}

/** A `weft worker` process the test owns. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  /** What it wrote to stderr so far. */
  readonly output: () => string;
  /** Resolves once it says it takes tasks. */
  readonly ready: Promise<void>;
  /** Resolves with its exit code (or signal) once it has exited. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops it (SIGTERM, then SIGKILL after a while) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts `weft worker` on `url` with extra command-line options. */
export function startWorker(url: string, extra: string[] = []): WorkerProcess {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, [cli, "worker", "--connection", url, ...extra], { env, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  let markReady: () => void = () => {};
  let failReady: (error: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  // A test that expects the worker to fail awaits `exit`, not `ready`.
  ready.catch(() => {});
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    text += chunk;
    if (text.includes("taking tasks")) markReady();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      failReady(new Error(`weft worker exited before it was ready (code ${code}, signal ${signal}):\n${text}`));
      resolve({ code, signal });
    }),
  );
  return {
    child,
    output: () => text,
    ready,
    exit,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exit;
      clearTimeout(killer);
    },
  };
}

/**
 * A cluster task that appends `line` to `file`, then sleeps `ms`, then returns `line`: a
 * file is the only state a task on another process shares with the test that submits it.
 * Self-contained (it is shipped by its text).
 */
export async function mark(file: string, line: string, ms: number): Promise<string> {
  const { appendFileSync } = await import("node:fs");
  appendFileSync(file, `${line}\n`);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return line;
}

/** The lines tasks wrote to `file` (see {@link mark}). */
export function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((line) => line !== "") : [];
}

/** A cluster test file's Redis and scratch directory, and a way to start workers it stops at the end. */
export interface ClusterScene {
  readonly redis: RedisServer;
  readonly scratch: string;
  /** Starts `weft worker` with `extra` options on the scene's Redis; resolves once it takes tasks. */
  worker(extra: string[]): Promise<WorkerProcess>;
}

/**
 * Registers the file's `before` (a Redis on a free port, a scratch directory named after
 * `prefix`) and `after` (every worker started through the scene stopped, then Redis, then
 * the directory removed).
 */
export function clusterScene(prefix: string): ClusterScene {
  let redis: RedisServer | undefined;
  let scratch: string | undefined;
  const workers: WorkerProcess[] = [];
  before(async () => {
    redis = await startRedis();
    scratch = mkdtempSync(join(tmpdir(), prefix));
  });
  after(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await redis?.stop();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the cluster scene's ${what} is used before its before() hook ran`);
    return value;
  };
  return {
    get redis() {
      return started(redis, "Redis");
    },
    get scratch() {
      return started(scratch, "scratch directory");
    },
    async worker(extra) {
      const worker = startWorker(started(redis, "Redis").url, extra);
      workers.push(worker);
      await worker.ready;
      return worker;
    },
  };
}
