/**
 * Carriers: warm workers that run threads one after another.
 *
 * A raw `new Worker` takes ~21 ms or more to start here, Python starts a thread in ~77 µs.
 * So a finished thread's worker is kept (unreferenced, so it never holds the process
 * open) and the next thread starts on it with one message. A carrier is referenced only
 * while it runs a non-daemon thread: that is what keeps the process alive for it.
 *
 * A carrier whose thread left work behind (timers, sockets), set resource limits, or died
 * is not reused.
 *
 * Idle carriers are kept for a while (IDLE_KEEP_MS), up to MAX_IDLE of them, and retired
 * once unused that long. Retiring at once whatever exceeds a small pool made a program
 * that starts bursts of threads pay, on every burst, for new workers to boot and old ones
 * to tear down, both on the same cores as its threads: 4 producers and 4 consumers
 * through a Queue ran at ~0.9M items/s that way, ~3M/s with the carriers kept (and the
 * rounds after a burst lost half their speed to the tear-downs). An idle carrier costs
 * ~9 MiB of memory here.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort, type ResourceLimits, type WorkerOptions } from "node:worker_threads";
import { RuntimeError, WorkerCrashedError } from "../core/errors.js";
import { CARRIER_MARK, MAIN_FINISHED, identCounterBuffer, isMainThread, worldCells } from "../core/identity.js";
import { PACKAGE_NAME } from "../core/package.js";
import { heapBuffer } from "../core/memory.js";
import { encodeError } from "../transport/errors.js";
import type { CarrierData, CrashedMessage, DoneMessage, RunMessage, ServiceMessage, SpawnMessage } from "./protocol.js";
import { FINISHED } from "./protocol.js";
import { registryBuffer, setNativeId } from "../core/thread-table.js";

/** What a carrier reports back to the thread it runs. */
export interface CarrierClient {
  /** The thread ended normally or by throwing. */
  finished(message: DoneMessage): void;
  /** The worker died while running the thread. */
  crashed(error: Error, exitCode: number): void;
}

/**
 * The carrier's entry file: beside this one, or, when weft was bundled into a program (and
 * its files are not beside the bundle), the installed package's. `undefined` when neither
 * is there: starting a thread then says what to do.
 */
const carrierEntry: URL | undefined = (() => {
  const beside = new URL("./carrier-main.js", import.meta.url);
  if (existsSync(beside)) return beside;
  for (const from of [process.argv[1], `${process.cwd()}/`]) {
    if (!from) continue;
    try {
      const manifest = createRequire(from).resolve(`${PACKAGE_NAME}/package.json`);
      const installed = new URL("./dist/threads/carrier-main.js", pathToFileURL(manifest));
      if (existsSync(installed)) return installed;
    } catch {
      // not installed where the program runs: try the next place
    }
  }
  return undefined;
})();

/**
 * A module of weft's, as the carriers load it: `path` is relative to dist/threads/. A module
 * target of weft's own (the pool's worker loop) is named through this, so that it is taken
 * from the same copy of weft as the carrier, also when weft was bundled.
 */
export function carrierModule(path: string): string {
  return new URL(path, carrierEntry ?? import.meta.url).href;
}

function missingEntry(): RuntimeError {
  const here = fileURLToPath(import.meta.url);
  return new RuntimeError(
    `weft cannot start a thread: its worker entry (carrier-main.js) is not beside ${here}, so weft was bundled into that file, ` +
      `and no installed ${PACKAGE_NAME} package was found from ${process.cwd()}. Mark ${PACKAGE_NAME} as external in the bundler ` +
      `(esbuild: --external:${PACKAGE_NAME}; rollup/vite: external: ["${PACKAGE_NAME}"]; webpack: externals) and install it beside the bundle`,
  );
}

/**
 * What a worker is started with: the process's execArgv, less what only makes sense for the
 * process's own entry (code given with `-e`/`-p`, `--input-type`, stdin, the REPL, the
 * test runner, watch mode). A worker inherits execArgv by default, and these make it fail
 * at boot (`--input-type` with ERR_INPUT_TYPE_NOT_ALLOWED).
 */
export const inheritableExecArgv: readonly string[] = (() => {
  const kept: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith("--") ? [arg.split("=", 1)[0], arg.includes("=")] : [arg, false];
    if (/^-[a-z]*[ep]$/i.test(flag) || flag === "--eval" || flag === "--print") {
      if (!inline) i++; // the code that follows
      continue;
    }
    if (flag === "--input-type" || flag === "--watch-path") {
      if (!inline) i++;
      continue;
    }
    if (["-", "-i", "--interactive", "--test", "--watch", "-c", "--check", "--test-only"].includes(flag)) continue;
    kept.push(arg);
  }
  return kept;
})();

/** What workers start with: {@link inheritableExecArgv}, less the flags a worker refused. */
const workerExecArgv: string[] = [...inheritableExecArgv];

/**
 * `new Worker` with {@link workerExecArgv}. Node refuses V8 and process-wide flags in a
 * worker's execArgv (`--expose-gc`, `--max-old-space-size`: ERR_WORKER_INVALID_EXEC_ARGV,
 * whose message lists them); they are process-wide, so they hold in the worker anyway.
 * The ones refused are dropped for good, and the start tried again.
 */
function startWorker(entry: URL, options: WorkerOptions): Worker {
  for (;;) {
    try {
      // trackUnmanagedFds off: Node would close at the worker's exit every descriptor its
      // threads opened with fs.open, also one a net.Socket took over and libuv already
      // closed, by then perhaps reused by another thread (the process-shared agents hand
      // their FIFOs to sockets); a carrier outlives its threads anyway.
      return new Worker(entry, { ...options, execArgv: [...workerExecArgv], trackUnmanagedFds: false });
    } catch (error) {
      const refused = (error as { code?: string }).code === "ERR_WORKER_INVALID_EXEC_ARGV" ? refusedFlags(String((error as Error).message)) : [];
      const before = workerExecArgv.length;
      for (let i = workerExecArgv.length - 1; i >= 0; i--) if (refused.includes(workerExecArgv[i])) workerExecArgv.splice(i, 1);
      if (workerExecArgv.length === before) throw error;
    }
  }
}

/** The flags an ERR_WORKER_INVALID_EXEC_ARGV message lists ("...invalid execArgv flags: --a, --b"). */
function refusedFlags(message: string): string[] {
  const listed = message.slice(message.lastIndexOf(":") + 1);
  return listed.split(/[\s,]+/).filter((flag) => flag.startsWith("-"));
}

const MAX_IDLE = Math.max(8, 2 * availableParallelism());
const IDLE_KEEP_MS = 10_000;
/** Idle carriers, the most recently used last (taken first: its JIT state is the warmest). */
const idle: Carrier[] = [];
let sweeper: ReturnType<typeof setTimeout> | undefined;

/** Retires the carriers idle for longer than IDLE_KEEP_MS; runs while any are idle. */
function sweepIdle(): void {
  sweeper = undefined;
  const cutoff = performance.now() - IDLE_KEEP_MS;
  while (idle.length > 0 && idle[0].idleSince <= cutoff) idle.shift()?.retire();
  scheduleSweep();
}

function scheduleSweep(): void {
  if (sweeper !== undefined || idle.length === 0) return;
  sweeper = setTimeout(sweepIdle, Math.max(0, idle[0].idleSince + IDLE_KEEP_MS - performance.now()) + 1);
  sweeper.unref();
}

/**
 * The carriers running non-daemon threads, and whether the main program has finished.
 *
 * Python's main thread finishes its program, then waits for the non-daemon threads
 * (`threading._shutdown`), and a thread that joins the main thread returns at that
 * moment. Node has no such moment unless weft makes one: so on the process's main thread
 * a non-daemon thread's worker stays unreferenced while the main program runs, and when
 * the event loop runs dry ("beforeExit") with such threads still running, the main
 * program has finished: weft marks it in shared memory (waking the threads that join the
 * main thread) and from then on references their workers, which keeps the process alive
 * until they end, as before. A world whose home is a worker (vitest, piscina) references
 * them from the start: a worker's event loop has no such moment to watch.
 */
const nonDaemon = new Set<Carrier>();
const watchesMainEnd = isMainThread;
let mainFinished = false;

function onBeforeExit(): void {
  if (mainFinished || nonDaemon.size === 0) return;
  mainFinished = true;
  Atomics.store(worldCells, MAIN_FINISHED, 1);
  Atomics.notify(worldCells, MAIN_FINISHED);
  for (const carrier of nonDaemon) carrier.keepProcess();
}

if (watchesMainEnd) process.on("beforeExit", onBeforeExit);

/** One warm worker. */
export class Carrier {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #pooled: boolean;
  #client: CarrierClient | undefined;
  #control: Int32Array | undefined;
  #uncaught: Error | undefined;
  #dead = false;

  constructor(resourceLimits?: ResourceLimits, pooled = resourceLimits === undefined) {
    if (carrierEntry === undefined) throw missingEntry();
    const { port1, port2 } = new MessageChannel();
    const data: CarrierData = { [CARRIER_MARK]: true, port: port2, identCounter: identCounterBuffer(), registry: registryBuffer(), heap: heapBuffer() };
    this.#worker = startWorker(carrierEntry, { workerData: data, transferList: [port2], resourceLimits, stdout: false, stderr: false });
    this.#port = port1;
    this.#pooled = pooled;
    this.#port.on("message", (message: DoneMessage | SpawnMessage) => this.#onMessage(message));
    this.#port.unref();
    this.#worker.on("error", (error) => (this.#uncaught = error));
    this.#worker.on("exit", (code) => this.#onExit(code));
    this.#worker.unref();
  }

  /** The worker's thread id: the thread's `nativeId`. */
  get threadId(): number {
    return this.#worker.threadId;
  }

  /** Starts a thread on this carrier. */
  run(message: RunMessage, client: CarrierClient): void {
    try {
      this.#port.postMessage(message, message.replyPort === undefined ? [] : [message.replyPort]);
    } catch (error) {
      // The arguments passed our checks but not structured cloning (a MessagePort, a
      // Proxy): nothing was sent, so this carrier is as good as before.
      this.#release();
      throw error;
    }
    this.#client = client;
    this.#control = message.control;
    if (!message.daemon) {
      nonDaemon.add(this);
      if (mainFinished || !watchesMainEnd) this.#worker.ref();
    }
  }

  /** Hands this carrier to a service for good (see {@link startService}). */
  serve(message: ServiceMessage): void {
    this.#port.postMessage(message);
  }

  /** References the worker: its non-daemon thread now keeps the process alive. */
  keepProcess(): void {
    if (!this.#dead) this.#worker.ref();
  }

  /**
   * Handles, synchronously, any message already sent by the worker. `joinSync` on the main
   * thread calls this, since the event loop that would deliver it is the one it blocks.
   */
  pump(): void {
    for (let received = receiveMessageOnPort(this.#port); received !== undefined; received = receiveMessageOnPort(this.#port)) {
      this.#onMessage(received.message as DoneMessage | SpawnMessage);
    }
  }

  #onMessage(message: DoneMessage | SpawnMessage): void {
    if (message.type === "done") this.#onDone(message);
    else this.#startChild(message);
  }

  /** A thread on this carrier starts a thread: run it on another carrier, report deaths back here. */
  #startChild({ run, resourceLimits }: SpawnMessage): void {
    const child = takeCarrier(resourceLimits);
    setNativeId(run.slot, child.threadId);
    child.run(run, {
      finished: () => {},
      crashed: (error, exitCode) => {
        const crashed: CrashedMessage = { type: "crashed", ident: run.ident, error: encodeError(error), exitCode };
        if (!this.#dead) this.#port.postMessage(crashed);
      },
    });
  }

  #onDone(message: DoneMessage): void {
    const client = this.#client;
    this.#client = undefined;
    this.#control = undefined;
    nonDaemon.delete(this);
    this.#worker.unref();
    if (message.retire) this.retire();
    else this.#release();
    client?.finished(message);
  }

  /** When it last went idle (performance.now()). */
  idleSince = 0;

  /** Back to the idle list, or retired if it cannot be reused. */
  #release(): void {
    if (this.#dead || !this.#pooled) return this.retire();
    if (idle.length >= MAX_IDLE) idle.shift()?.retire();
    this.idleSince = performance.now();
    idle.push(this);
    scheduleSweep();
  }

  #onExit(code: number): void {
    this.#dead = true;
    nonDaemon.delete(this);
    const at = idle.indexOf(this);
    if (at >= 0) idle.splice(at, 1);
    const client = this.#client;
    if (client === undefined) return;
    this.pump();
    if (this.#client === undefined) return;
    this.#client = undefined;
    if (this.#control !== undefined) {
      Atomics.store(this.#control, 0, FINISHED);
      Atomics.notify(this.#control, 0);
    }
    const error = this.#uncaught ?? new WorkerCrashedError(`the worker running the thread exited with code ${code}`);
    client.crashed(error, code);
  }

  /** Ends the worker (asynchronously; it is never handed out again). */
  retire(): void {
    if (!this.#dead) {
      this.#dead = true;
      void this.#worker.terminate();
    }
  }
}

/**
 * Runs the service `name` (threads/services.ts) on a new carrier of its own; the returned
 * function ends it. The carrier is never pooled and never keeps the process alive.
 */
export function startService(name: string, payload: unknown): () => void {
  const carrier = new Carrier(undefined, false);
  carrier.serve({ type: "service", name, payload });
  return () => carrier.retire();
}

/** A carrier ready to run a thread: a warm one if any, else a new one. */
export function takeCarrier(resourceLimits?: ResourceLimits): Carrier {
  if (resourceLimits !== undefined) return new Carrier(resourceLimits);
  return idle.pop() ?? new Carrier();
}
