/**
 * One child process of a ProcessPoolExecutor, as the parent sees it: the forked process,
 * the batches sent to it whose outcomes have not come back (in order: a child runs its
 * tasks one after another), and the reading of its results pipe (process-pool-protocol.ts).
 *
 * The handles to the child (process, IPC channel, pipe) are unreferenced: an idle pool
 * never keeps its program alive; the pool holds the event loop itself while it has work.
 */
import { fork, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { deserialize } from "node:v8";
import type { TargetDescriptor } from "../transport/target.js";
import type { EncodedError } from "../transport/errors.js";
import { carrierModule } from "../threads/carrier.js";
import type { ProcessFuture } from "./process-pool-future.js";
import { BROKEN, DIED, FRAME_HEADER, READY, RESULTS, SETUP, TASKS, type ChildSetup, type DeathNote, type DownMessage } from "./process-pool-protocol.js";

/** What the pool hears from its processes. */
export interface PoolProcessEvents {
  results(worker: PoolProcess, outcomes: unknown[], busyUs: number): void;
  ready(worker: PoolProcess): void;
  broken(worker: PoolProcess, error: EncodedError): void;
  /** The process has exited and everything it wrote has been read. */
  closed(worker: PoolProcess): void;
}

/** The child's program, taken from the same copy of weft as the thread carriers (also when bundled). */
const childEntry = (): string => fileURLToPath(carrierModule("../processes/pool-child.js"));

/** Flags of this program that must not reach a child: code given on the command line, the test runner, a debugger's port. */
const NOT_INHERITED = /^--(?:eval|print|input-type|test|inspect|watch|experimental-test|env-file)\b|^-[ep]$/;

/** `process.execArgv` without what would make the child fail (or do something else) at boot. */
export function childExecArgv(extra: readonly string[]): string[] {
  const inherited: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    if (!NOT_INHERITED.test(argv[i])) inherited.push(argv[i]);
    else if (/^(?:-[ep]|--eval|--print)$/.test(argv[i])) i++; // its value follows
  }
  return [...inherited, ...extra];
}

export class PoolProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Tasks sent and not reported on, oldest first, from `head`. */
  inflight: ProcessFuture[] = [];
  head = 0;
  /** Batches sent so far. */
  batches = 0;
  /** Tasks sent so far (the child leaves after `maxTasks`). */
  assigned = 0;
  /** How many of the pool's targets the child has been told of. */
  knownTargets = 0;
  ready = false;
  /** No more tasks go to it: it is leaving (task quota, idle, shutdown). */
  retiring = false;
  /** The pool asked it to leave: its exit is no crash, even before it is ready. */
  stopped = false;
  /** What it said as it exited by itself, if it could. */
  note: DeathNote | undefined;
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;
  idleTimer: NodeJS.Timeout | undefined;
  /** Resolves once the process has exited and its pipe is read to the end. */
  readonly closed: Promise<void>;

  readonly #events: PoolProcessEvents;
  #chunks: Buffer[] = [];
  #size = 0;
  /** Bytes needed before the next frame can be parsed. */
  #need = FRAME_HEADER;

  constructor(name: string, setup: ChildSetup, execArgv: string[], events: PoolProcessEvents) {
    this.name = name;
    this.#events = events;
    this.child = fork(childEntry(), [], {
      stdio: ["ignore", "inherit", "inherit", "pipe", "ipc"],
      serialization: "advanced",
      execArgv,
    });
    const results = this.child.stdio[3] as Readable & { unref?: () => void };
    results.on("data", (chunk: Buffer) => this.#onData(chunk));
    // Closed once the process has exited and the pipe has ended (the child's own "close"
    // also waits for an IPC channel that the parent has disconnected, and may never come).
    let ends = 0;
    this.closed = new Promise((resolve) => {
      const ended = (): void => {
        if (++ends < 2) return;
        clearTimeout(this.idleTimer);
        resolve();
        this.#events.closed(this);
      };
      this.child.once("exit", (code: number | null, signal: NodeJS.Signals | null) => {
        this.exitCode = code;
        this.signal = signal;
        ended();
      });
      results.once("close", ended);
    });
    // A fork that fails (no such file, too many processes) reports through "error", then "close".
    this.child.on("error", () => undefined);
    this.child.unref();
    this.child.channel?.unref();
    results.unref?.();
    this.#send([SETUP, setup]);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Tasks sent and not reported on. */
  get pending(): number {
    return this.inflight.length - this.head;
  }

  /** Sends a batch (see process-pool-protocol.ts); `targets` are those the child has not heard of. */
  sendTasks(flat: unknown[], targets: [number, TargetDescriptor][] | undefined): void {
    this.batches++;
    this.#send([TASKS, flat, targets]);
  }

  /** The first `count` tasks not reported on, which are reported now. */
  takeReported(count: number): ProcessFuture[] {
    const taken = this.inflight.slice(this.head, this.head + count);
    this.head += taken.length;
    if (this.head === this.inflight.length) {
      this.inflight = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.inflight.length) {
      this.inflight = this.inflight.slice(this.head);
      this.head = 0;
    }
    return taken;
  }

  /** Asks the child to leave once it has run what it has: it exits when its channel closes. */
  stop(): void {
    this.retiring = true;
    this.stopped = true;
    if (this.child.connected) this.child.disconnect();
  }

  /** Ends the child now (a broken pool). */
  kill(): void {
    this.retiring = true;
    this.stopped = true;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }

  #send(message: DownMessage): void {
    if (!this.child.connected) return; // it is exiting: its close reports its tasks
    this.child.send(message, (error) => {
      // The channel closed under the message: the child died, and its close reports the tasks.
      if (error !== null && error !== undefined) return;
    });
  }

  #onData(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#size < this.#need) return;
    const buffer = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#size);
    let at = 0;
    for (;;) {
      if (buffer.length - at < FRAME_HEADER) {
        this.#need = FRAME_HEADER;
        break;
      }
      const length = buffer.readUInt32LE(at);
      if (buffer.length - at - FRAME_HEADER < length) {
        this.#need = FRAME_HEADER + length;
        break;
      }
      const kind = buffer[at + 4];
      const busyUs = buffer.readUInt32LE(at + 5);
      const payload = buffer.subarray(at + FRAME_HEADER, at + FRAME_HEADER + length);
      at += FRAME_HEADER + length;
      this.#frame(kind, payload, busyUs);
    }
    const rest = at === buffer.length ? undefined : buffer.subarray(at);
    this.#chunks = rest === undefined ? [] : [rest];
    this.#size = rest?.length ?? 0;
  }

  #frame(kind: number, payload: Buffer, busyUs: number): void {
    switch (kind) {
      case RESULTS:
        this.#events.results(this, deserialize(payload) as unknown[], busyUs);
        break;
      case READY:
        this.ready = true;
        this.#events.ready(this);
        break;
      case BROKEN:
        this.#events.broken(this, deserialize(payload) as EncodedError);
        break;
      case DIED:
        this.note = deserialize(payload) as DeathNote;
        break;
    }
  }
}
