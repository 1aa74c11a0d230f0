/**
 * Where a Process's child comes from: one spare child is kept booted, as Python's
 * forkserver keeps a server, so that `start()` hands the target to a process that is
 * already running and has run no user code yet, while the next spare boots in the
 * background. A Node child takes ~47 ms to boot here; handing a target to a booted one
 * takes well under that. Each spare serves one Process and is never reused.
 *
 * A spare never keeps the parent alive (its handle and channels are unreferenced until a
 * non-daemon Process takes it), and is killed when the parent exits.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Socket } from "node:net";
import { CHILD_PROCESS_MARK } from "../core/identity.js";
import { holdLoop, releaseLoop } from "../core/wait.js";
import { inheritableExecArgv } from "../threads/carrier.js";
import { NOTE_FD } from "./exit-note.js";
import type { ChildMessage, RunMessage } from "./protocol.js";

const entry = fileURLToPath(new URL("./child-main.js", import.meta.url));
const preload = fileURLToPath(new URL("./child-boot.cjs", import.meta.url));

/** The index of the child's stdio entry that carries Pipe traffic (link.ts): fd 4 in the child. */
export const LINK_FD = 4;

/** A child process that has booted (or is booting) and waits for the one target it will run. */
export class Vessel {
  readonly child: ChildProcess;
  /** The environment the child was spawned with (what it has, until a `run` says otherwise). */
  readonly env: Readonly<Record<string, string | undefined>> = { ...process.env };
  #ready = false;
  #exited = false;
  #onReady: (() => void) | undefined;
  /** Resolves once the child has booted (or has exited without booting). */
  readonly whenReady: Promise<void> = new Promise((resolve) => (this.#onReady = resolve));

  constructor() {
    this.child = fork(entry, [], {
      execArgv: [...inheritableExecArgv, "--require", preload],
      env: { ...this.env, [CHILD_PROCESS_MARK]: "1" },
      // stdin as Python gives a child (devnull); stdout and stderr shared, so what the
      // child prints is out before its exit is seen; fd 3 the IPC channel; fd 4 the link;
      // fd 5 the exit note (exit-note.ts).
      stdio: ["ignore", "inherit", "inherit", "ipc", "pipe", "pipe"],
      serialization: "advanced",
    });
    this.child.on("message", (message: ChildMessage) => {
      if (message.type !== "ready") return;
      this.#ready = true;
      this.#onReady?.();
    });
    this.child.once("exit", () => {
      this.#exited = true;
      this.#onReady?.();
      if (spare === this) spare = undefined;
    });
    // A spawn that failed (no memory, no such executable) reports here, and exits.
    this.child.on("error", () => {});
    this.setKeepsParentAlive(false);
  }

  /** True once the child said it has booted (a benchmark of the warm path waits for it). */
  get ready(): boolean {
    return this.#ready;
  }

  /** The parent's side of the exit note (fd 5 in the child). */
  get note(): Socket | undefined {
    return (this.child.stdio as unknown as (Socket | undefined)[])[NOTE_FD];
  }

  /** The parent's side of the link socket (fd 4 in the child). */
  get link(): Socket {
    return this.child.stdio[LINK_FD] as Socket;
  }

  /**
   * Sends the child its target, at once: a child still booting keeps it (child-boot.cts),
   * so that a parent which then blocks in `joinSync()` needs no turn of its event loop.
   */
  run(message: RunMessage): void {
    if (this.#exited || !this.child.connected) return; // its exit reports the end
    this.child.send(message);
  }

  /** A non-daemon Process's child keeps the parent alive, as Python's parent joins it at exit. */
  setKeepsParentAlive(keep: boolean): void {
    const channel = this.child.channel as { ref(): void; unref(): void } | null | undefined;
    if (keep) {
      this.child.ref();
      channel?.ref();
    } else {
      this.child.unref();
      channel?.unref();
    }
    // The link never holds the parent: a Pipe that waits holds it while it waits. Nor does
    // the note: the child's handle does.
    (this.child.stdio[LINK_FD] as Socket | null)?.unref();
    this.note?.unref();
  }
}

let spare: Vessel | undefined;
let replacing = false;

/** Boots a spare now, if there is none (the first `new Process()` calls this). */
export function prepareSpare(): void {
  if (spare === undefined) spare = new Vessel();
}

/** How long after a start the next spare boots at the latest (sooner if that child ends). */
const REPLACE_AFTER_MS = 100;

/**
 * Takes the spare (booted, or still booting: it is ahead of a fresh one) or, with none, a
 * fresh child. The next spare boots once the child taken has ended or REPLACE_AFTER_MS
 * have passed, whichever comes first: a Node boot costs ~50 ms of CPU, which a short task
 * on a small machine would otherwise have to share.
 */
export function takeVessel(): Vessel {
  const vessel = spare ?? new Vessel();
  spare = undefined;
  if (!replacing) {
    replacing = true;
    const replace = (): void => {
      if (!replacing) return;
      replacing = false;
      clearTimeout(timer);
      setImmediate(prepareSpare).unref(); // after the join that this exit resolves
    };
    const timer = setTimeout(replace, REPLACE_AFTER_MS);
    timer.unref();
    vessel.child.once("exit", replace);
  }
  return vessel;
}

/** @internal Boots a spare if there is none and resolves once it is ready (benchmarks of the warm path). */
export function whenSpareReady(): Promise<void> {
  prepareSpare();
  holdLoop(); // the spare is unreferenced: this wait must keep the event loop alive itself
  return (spare as Vessel).whenReady.finally(releaseLoop);
}

/** Children to stop when this process exits: the spare, and the daemon Processes' children. */
const stopAtExit = new Set<ChildProcess>();

/** Daemon children are terminated when the parent exits, as Python's are. */
export function stopAtParentExit(child: ChildProcess, stop: boolean): void {
  if (stop) stopAtExit.add(child);
  else stopAtExit.delete(child);
}

process.on("exit", () => {
  spare?.child.kill("SIGKILL");
  for (const child of stopAtExit) child.kill("SIGTERM");
});
