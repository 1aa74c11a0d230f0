/**
 * The program each process of a ProcessPoolExecutor runs (forked with `serialization:
 * "advanced"`): take batches of tasks from the IPC channel, run them one after another,
 * write their outcomes up the results pipe (process-pool-protocol.ts).
 *
 * The child lives as long as its parent's channel: when the parent disconnects or dies
 * (even by SIGKILL, which closes the channel's socket), the child exits, so a pool leaves
 * no orphans behind.
 */
import { writeSync } from "node:fs";
import { serialize } from "node:v8";
import { encodeError } from "../transport/errors.js";
import { closureHint, resolveTarget, type TargetDescriptor } from "../transport/target.js";
import { CHUNK, CHUNK_SPREAD } from "../futures/protocol.js";
import { checkProcessSendable } from "./process-pool-sendable.js";
import {
  BROKEN,
  DIED,
  FAILED,
  FRAME_HEADER,
  OK,
  READY,
  RESULTS,
  RESULTS_FD,
  SETUP,
  TASKS,
  type ChildSetup,
  type DeathNote,
  type DownMessage,
} from "./process-pool-protocol.js";

type AnyFunction = (...args: unknown[]) => unknown;

const descriptors: TargetDescriptor[] = [];
const resolved: (AnyFunction | undefined)[] = [];
/** Batches received and not yet run, oldest first. */
const batches: unknown[][] = [];
/** Outcomes not yet written: status, value, status, value... */
let outbox: unknown[] = [];
let busySince = 0;
let setup: ChildSetup | undefined;
let draining = true; // until the setup has run
let running = false;
let done = 0;
let uncaught: unknown;

/** Writes one frame up the results pipe, whole (the pipe's end here is blocking). */
function writeFrame(kind: number, payload: Uint8Array | undefined, busyUs = 0): void {
  const length = payload?.length ?? 0;
  const frame = Buffer.allocUnsafe(FRAME_HEADER + length);
  frame.writeUInt32LE(length, 0);
  frame[4] = kind;
  frame.writeUInt32LE(Math.min(0xffffffff, Math.max(0, Math.round(busyUs))), 5);
  if (payload !== undefined) frame.set(payload, FRAME_HEADER);
  for (let at = 0; at < frame.length; ) at += writeSync(RESULTS_FD, frame, at);
}

/** Writes the outcomes gathered so far, with the time spent running them. */
function flush(): void {
  if (outbox.length === 0) return;
  const values = outbox;
  outbox = [];
  let payload: Uint8Array;
  try {
    payload = serialize(values);
  } catch {
    payload = serialize(withUnsendableFailed(values));
  }
  const now = performance.now();
  writeFrame(RESULTS, payload, (now - busySince) * 1000);
  busySince = now;
}

/** The outcomes, each result the serializer refuses (a class instance holding a function, say) failed instead. */
function withUnsendableFailed(values: unknown[]): unknown[] {
  const checked: unknown[] = [];
  for (let i = 0; i < values.length; i += 2) {
    if (values[i] !== OK) {
      checked.push(values[i], values[i + 1]);
      continue;
    }
    try {
      serialize(values[i + 1]);
      checked.push(OK, values[i + 1]);
    } catch (error) {
      checked.push(FAILED, encodeError(new TypeError(`result: cannot be sent back from the worker process (${(error as Error).message})`)));
    }
  }
  return checked;
}

async function targetOf(index: number): Promise<AnyFunction> {
  const descriptor = descriptors[index];
  if (descriptor === undefined) throw new Error(`weft: pool target #${index} was never announced`);
  const fn = await resolveTarget(descriptor);
  resolved[index] = fn;
  return fn;
}

/** Runs the queued batches in order; each one's outcomes are written before the next starts. */
async function drain(): Promise<void> {
  draining = true;
  try {
    while (batches.length > 0) {
      const batch = batches.shift() as unknown[];
      busySince = performance.now();
      for (let i = 0; i < batch.length; ) {
        const index = batch[i] as number;
        const chunking = batch[i + 1] as number;
        const count = batch[i + 2] as number;
        const args = batch.slice(i + 3, i + 3 + count);
        i += 3 + count;
        running = true;
        try {
          const fn = resolved[index] ?? (flush(), await targetOf(index));
          let value: unknown;
          if (chunking === CHUNK || chunking === CHUNK_SPREAD) {
            const items = args[0] as unknown[];
            const values: unknown[] = new Array(items.length);
            for (let k = 0; k < items.length; k++) {
              let item = chunking === CHUNK ? fn(items[k]) : fn(...(items[k] as unknown[]));
              if (isThenable(item)) {
                flush();
                item = await item;
              }
              values[k] = item;
            }
            value = values;
          } else {
            value = fn(...args);
            if (isThenable(value)) {
              flush();
              value = await value;
            }
          }
          if (typeof value === "object" && value !== null) checkProcessSendable(value, "result");
          outbox.push(OK, value);
        } catch (error) {
          const hint = closureHint(error, descriptors[index] ?? { kind: "module", module: "", export: "" });
          if (hint !== undefined && error instanceof Error) error.message = `${error.message}. ${hint}`;
          outbox.push(FAILED, encodeError(error));
        }
        running = false;
        if (++done === setup?.maxTasks) {
          flush();
          process.exit(0);
        }
      }
      flush();
    }
  } finally {
    draining = false;
  }
}

async function start(given: ChildSetup): Promise<void> {
  setup = given;
  if (given.name) process.title = given.name;
  if (given.initializer !== null) {
    try {
      await (await resolveTarget(given.initializer))(...given.initargs);
    } catch (error) {
      writeFrame(BROKEN, serialize(encodeError(error)));
      process.exit(1);
    }
  }
  writeFrame(READY, undefined);
  await drain();
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function";
}

process.on("message", (message: DownMessage) => {
  if (message[0] === TASKS) {
    const targets = message[2];
    if (targets !== undefined) for (const [index, descriptor] of targets) descriptors[index] = descriptor;
    batches.push(message[1]);
    if (!draining) void drain();
  } else if (message[0] === SETUP) {
    void start(message[1]);
  }
});

// The parent is gone (shut down, exited, or killed): nothing is left to do here.
process.on("disconnect", () => process.exit(0));

process.on("uncaughtException", (error) => {
  uncaught = error;
  process.stderr.write(`${error instanceof Error ? (error.stack ?? String(error)) : String(error)}\n`);
  process.exit(1);
});

// Whatever ends the process from inside (a task's process.exit(), an uncaught error), the
// parent learns what was reported, and whether a task was running.
process.on("exit", (code) => {
  try {
    flush();
    const note: DeathNote = { running, code, error: uncaught === undefined ? undefined : encodeError(uncaught) };
    writeFrame(DIED, serialize(note));
  } catch {
    // the parent has gone: nobody to tell
  }
});
