/**
 * Process: Python's `multiprocessing.Process`, on a Node child process of its own.
 *
 * The target is shipped as threads ship theirs (transport/target.ts: a self-contained
 * function by source, or a module export), the arguments travel `v8.serialize`d
 * (process-args.ts), and the child is a spare that booted before it was needed
 * (spare.ts), so `start()` costs a message, not a Node boot. Each Process gets its own
 * child, that no other Process ran in.
 *
 * Lifetime as Python's: a non-daemon child keeps the parent alive until it ends; a daemon
 * child does not, and is terminated when the parent exits; and every child exits when its
 * parent dies, even by SIGKILL (it watches its IPC channel, child-main.ts).
 */
import type { ChildProcess } from "node:child_process";
import { RuntimeError, ValueError } from "../core/errors.js";
import { PACKAGE_NAME } from "../core/package.js";
import { assertMayBlock } from "../core/parking.js";
import { checkOptions, deadlineOf, remaining, throwIfAborted, type WaitOptions } from "../core/timeouts.js";
import { settleWithin } from "../core/wait.js";
import { bootstrappingModule, describeTarget, type ModuleTarget, type TargetDescriptor } from "../transport/target.js";
import type { SendableArgs } from "../transport/sendable.js";
import { currentProcess, nextChildIdentity, type ProcessHandle } from "./current.js";
import { canWatchExitSync, exitStatusOf, exitWatchMissing, signalExitCode } from "./exit-status.js";
import { readExitNote } from "./exit-note.js";
import { serializeForChild } from "./process-args.js";
import type { RunMessage } from "./protocol.js";
import { prepareSpare, stopAtParentExit, takeVessel, whenSpareReady, type Vessel } from "./spare.js";

/** Options of the {@link Process} constructor. */
export interface ProcessOptions<A extends unknown[]> {
  /** A self-contained function (shipped as source) or a module export `{ module, export }`. */
  target: ((...args: A) => unknown) | ModuleTarget;
  /** Arguments for the target, cloned into the child (a Pipe's Connection arrives live). */
  args?: SendableArgs<A>;
  /** Default: "Process-N" ("Process-1:2" for the second child of Process-1), as Python. */
  name?: string;
  /** A daemon process is terminated when its parent exits. Default: the current process's. */
  daemon?: boolean;
}

let nextChildId = 0;
const children = new Set<Process<unknown[]>>();

/** @internal The child of a started Process, for the pipe's routing (link.ts). */
export interface StartedChild {
  readonly id: number;
  readonly vessel: Vessel;
}

const startListeners: ((child: StartedChild) => void)[] = [];

/** @internal Calls `listener` with each child as its Process starts (Pipe routes over its link). */
export function onChildStart(listener: (child: StartedChild) => void): void {
  startListeners.push(listener);
}

/** A process of its own running a target, with Python's `multiprocessing.Process` semantics. */
export class Process<A extends unknown[] = unknown[]> implements ProcessHandle {
  #name: string;
  #daemon: boolean;
  readonly #target: TargetDescriptor;
  readonly #args: A;
  readonly #identity: number[];
  #child: ChildProcess | undefined;
  #pid: number | null = null;
  #exitCode: number | null = null;
  #started = false;
  #closed = false;
  #ended = false;
  readonly #endWaiters = new Set<() => void>();

  constructor(options: ProcessOptions<A>) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`new Process(options): expected an object with a target, got ${options === null ? "null" : typeof options}`);
    }
    this.#target = describeTarget(options.target, "new Process(options): options.target");
    if (options.args !== undefined && !Array.isArray(options.args)) {
      throw new TypeError(`new Process(options): options.args must be an array, got ${typeof options.args}`);
    }
    this.#args = (options.args ?? []) as unknown as A;
    if (options.name !== undefined && typeof options.name !== "string") {
      throw new TypeError(`new Process(options): options.name must be a string, got ${typeof options.name}`);
    }
    if (options.daemon !== undefined && typeof options.daemon !== "boolean") {
      throw new TypeError(`new Process(options): options.daemon must be a boolean, got ${typeof options.daemon}`);
    }
    this.#identity = nextChildIdentity();
    this.#name = options.name || `Process-${this.#identity.join(":")}`;
    this.#daemon = options.daemon ?? currentProcess().daemon;
    // So that the start() to come finds a booted child (not where start() will refuse).
    if (bootstrappingModule() === undefined && !currentProcess().daemon) prepareSpare();
  }

  /** The process's name. */
  get name(): string {
    return this.#name;
  }
  set name(value: string) {
    if (typeof value !== "string") throw new TypeError(`Process.name must be a string, got ${typeof value}`);
    this.#name = value;
  }

  /** A daemon process is terminated when its parent exits; settable only before `start()`. */
  get daemon(): boolean {
    return this.#daemon;
  }
  set daemon(value: boolean) {
    if (this.#started) throw new RuntimeError("process has already started: daemon can only be set before start()");
    if (typeof value !== "boolean") throw new TypeError(`Process.daemon must be a boolean, got ${typeof value}`);
    this.#daemon = value;
  }

  /** The child's OS process id; `null` before `start()`. */
  get pid(): number | null {
    this.#checkClosed();
    return this.#pid;
  }

  /**
   * `null` while the process runs (and before start); then its exit code, or the negative
   * number of the signal that ended it (-15 after `terminate()`), as Python's `exitcode`.
   */
  get exitCode(): number | null {
    this.#checkClosed();
    return this.#exitCode;
  }

  /** True from `start()` until the child has exited. */
  isAlive(): boolean {
    this.#checkClosed();
    return this.#started && !this.#ended;
  }

  /**
   * Starts the process: hands the target to a booted child. Arguments that cannot reach
   * another process are a `TypeError` naming their path, before anything runs.
   */
  start(): void {
    this.#checkClosed();
    if (this.#started) throw new RuntimeError("cannot start a process twice");
    if (currentProcess().daemon) throw new RuntimeError(`daemonic processes are not allowed to have children (${currentProcess().name} is a daemon)`);
    const bootstrapping = bootstrappingModule();
    if (bootstrapping !== undefined) {
      throw new RuntimeError(
        `An attempt has been made to start a new process before the current process has finished its bootstrapping phase: ` +
          `${currentProcess().name} is importing ${bootstrapping} to find its target, and that module's top level starts a process, ` +
          `so every child would start another. Put the code that starts processes in that module inside ` +
          `\`if (isMainThread) { ... }\` (import { isMainThread } from "${PACKAGE_NAME}"), as Python's \`if __name__ == "__main__":\``,
      );
    }
    const id = ++nextChildId;
    const args = serializeForChild(this.#args, "args", { id });
    const vessel = takeVessel();
    const child = vessel.child;
    const run: RunMessage = {
      type: "run",
      target: this.#target,
      args,
      name: this.#name,
      daemon: this.#daemon,
      identity: this.#identity,
      parentName: currentProcess().name,
      cwd: process.cwd(),
      ...environmentFor(vessel),
    };
    this.#started = true;
    this.#child = child;
    this.#pid = child.pid ?? null;
    children.add(this as Process<unknown[]>);
    vessel.setKeepsParentAlive(!this.#daemon);
    if (this.#daemon) stopAtParentExit(child, true);
    // The child's note ends it as soon as its last code has run; the OS's report, which
    // comes after the process's teardown, ends it where there was no note, and has the
    // last word on the code.
    const note = vessel.note;
    if (note !== undefined) readExitNote(note, (code) => this.#end(code));
    child.once("exit", (code, signal) => this.#reaped(signal !== null ? signalExitCode(signal) : (code ?? 1)));
    // A child that never got going (no process could be made) reports an error, no exit.
    child.once("error", () => {
      if (child.pid === undefined) this.#end(1);
    });
    for (const listener of startListeners) listener({ id, vessel });
    vessel.run(run);
  }

  /**
   * Resolves once the process has exited (what it printed is out, `exitCode` is set), or
   * once `timeout` elapsed: check `exitCode` or `isAlive()` then, as in Python.
   */
  join(options?: WaitOptions): Promise<void> {
    try {
      checkOptions(options, "Process.join()");
      const deadline = deadlineOf(options?.timeout, "Process.join()");
      this.#checkJoinable();
      throwIfAborted(options?.signal);
      if (this.#ended) return Promise.resolve();
      return settleWithin<void>({
        watch: (settle) => {
          const ended = (): void => settle();
          this.#endWaiters.add(ended);
          return () => this.#endWaiters.delete(ended);
        },
        deadline,
        onTimeout: () => undefined,
        signal: options?.signal,
        // A pending join keeps the parent alive, also on a daemon (whose child is unreferenced).
        keepAlive: true,
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Blocks until the process has exited or `timeout` elapsed. Not on the main thread: use
   * `join()` (or `configure({ allowMainThreadBlocking: true })`).
   */
  joinSync(options?: { timeout?: number }): void {
    checkOptions(options, "Process.joinSync()");
    const deadline = deadlineOf(options?.timeout, "Process.joinSync()");
    this.#checkJoinable();
    assertMayBlock("Process.joinSync()", "process.join()", options);
    if (this.#ended) return;
    if (!canWatchExitSync) {
      throw new RuntimeError(`Process.joinSync() needs Linux's /proc to see a child's end while this thread blocks (${exitWatchMissing}); use \`await process.join()\``);
    }
    const pause = new Int32Array(new SharedArrayBuffer(4));
    let wait = 0.05;
    for (;;) {
      const status = exitStatusOf(this.#pid as number);
      if (status !== null) {
        // Ended (a zombie, whose status /proc shows), or reaped already by the event loop.
        if (status !== undefined) this.#end(status);
        return;
      }
      const left = remaining(deadline);
      if (left === 0) return;
      Atomics.wait(pause, 0, 0, Math.min(wait, left));
      wait = Math.min(wait * 2, 5);
    }
  }

  /** Sends SIGTERM (Python's `terminate()`); `exitCode` becomes -15 once it has ended. */
  terminate(): void {
    this.#signal("SIGTERM", "terminate");
  }

  /** Sends SIGKILL (Python's `kill()`); `exitCode` becomes -9 once it has ended. */
  kill(): void {
    this.#signal("SIGKILL", "kill");
  }

  /**
   * Releases what the Process object holds; afterwards most of its methods and properties
   * are a `ValueError`. A process still running: `ValueError` (join or terminate it first).
   */
  close(): void {
    if (this.#closed) return;
    if (this.#started && !this.#ended) {
      throw new ValueError("Cannot close a process while it is still running. You should first call join() or terminate().");
    }
    this.#closed = true;
    this.#child = undefined;
    children.delete(this as Process<unknown[]>);
  }

  #signal(signal: NodeJS.Signals, method: string): void {
    this.#checkClosed();
    if (!this.#started) throw new RuntimeError(`cannot ${method} a process that has not been started`);
    if (!this.#ended) this.#child?.kill(signal);
  }

  #checkClosed(): void {
    if (this.#closed) throw new ValueError("process object is closed");
  }

  #checkJoinable(): void {
    this.#checkClosed();
    if (!this.#started) throw new RuntimeError("can only join a started process");
  }

  #reaped(exitCode: number): void {
    if (this.#ended && this.#exitCode !== exitCode) {
      process.emitWarning(`weft: ${this.#name} (pid ${this.#pid}) noted exit code ${this.#exitCode} but ended with ${exitCode}`);
      this.#exitCode = exitCode;
    }
    this.#end(exitCode);
  }

  #end(exitCode: number): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#exitCode = exitCode;
    children.delete(this as Process<unknown[]>);
    if (this.#child !== undefined) stopAtParentExit(this.#child, false);
    for (const ended of this.#endWaiters) ended();
  }

  /** @internal Resolves once a spare child is booted, so that the next start() is a warm one (benchmarks). */
  static _whenSpareReady(): Promise<void> {
    return whenSpareReady();
  }

  /** @internal `util.inspect(p)`: Python's repr, `<Process name='Process-1' pid=123 parent=100 started daemon>`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const state = this.#closed ? "closed" : !this.#started ? "initial" : this.#ended ? `stopped exitcode=${this.#exitCode}` : "started";
    const pid = this.#pid === null ? "" : ` pid=${this.#pid} parent=${process.pid}`;
    return `<Process name='${this.#name}'${pid} ${state}${this.#daemon ? " daemon" : ""}>`;
  }
}

/** The children of this process that are still running (Python's `active_children()`). */
export function activeChildren(): Process[] {
  return [...children].filter((child) => child.isAlive()) as Process[];
}

/** The parent's environment for a `run`, unless it is the one `vessel` was spawned with. */
function environmentFor(vessel: Vessel): { env?: Record<string, string | undefined> } {
  const env = { ...process.env };
  const spawned = vessel.env;
  const keys = Object.keys(env);
  if (keys.length === Object.keys(spawned).length && keys.every((key) => spawned[key] === env[key])) return {};
  return { env };
}
