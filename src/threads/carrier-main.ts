/**
 * The entry point of a carrier worker: it waits for `run` messages and runs each thread's
 * target in turn, with the thread's identity installed.
 *
 * What a thread can observe of an earlier thread on the same carrier: modules it imports
 * are already loaded (their module-level state persists, as a Python module's does across
 * threads) and functions shipped by source are compiled once. Global variables a thread
 * created are deleted when it ends, and a carrier whose thread left timers, sockets or
 * other pending work behind is retired rather than reused.
 */
import { threadId, workerData } from "node:worker_threads";
import { configure } from "../core/config.js";
import { adoptIdentCounter, enterThread } from "../core/identity.js";
import { decode, encode, type Packet } from "../transport/encode.js";
import { encodeError } from "../transport/errors.js";
import { closureHint, resolveTarget } from "../transport/target.js";
import "../index.js"; // registers every shared-object kind, so arguments revive
import { ThreadInfo, setCurrentThread } from "./current.js";
import { FINISHED, RUNNING, type CarrierData, type DoneMessage, type RunMessage } from "./protocol.js";
import { adoptRegistry, unregisterThread } from "./registry.js";
import { writeStdioDirectly } from "./stdio.js";

const data = workerData as CarrierData;
adoptIdentCounter(data.identCounter);
adoptRegistry(data.registry);
writeStdioDirectly();

const baselineGlobals = new Set(Object.getOwnPropertyNames(globalThis));
const QUIET_RESOURCES = new Set(["MessagePort", "CloseReq"]);

data.port.on("message", (message: RunMessage) => void runThread(message));

async function runThread(message: RunMessage): Promise<void> {
  configure(message.config);
  enterThread(message.ident);
  setCurrentThread(new ThreadInfo(message.name, message.ident, threadId, message.daemon, message.slot));
  Atomics.store(message.control, 0, RUNNING);
  let outcome: { ok: true; result: Packet } | { ok: false; error: ReturnType<typeof encodeError> };
  try {
    const target = await resolveTarget(message.target);
    const args = decode(message.args) as unknown[];
    const result = await target(...args);
    outcome = { ok: true, result: encode(result, "result") };
  } catch (error) {
    const hint = closureHint(error, message.target);
    if (hint !== undefined && error instanceof Error) error.message = `${error.message}. ${hint}`;
    outcome = { ok: false, error: encodeError(error) };
  }
  unregisterThread(message.slot, message.ident);
  const retire = leftWorkBehind();
  forgetGlobals();
  post({ type: "done", ident: message.ident, retire, ...outcome });
  Atomics.store(message.control, 0, FINISHED);
  Atomics.notify(message.control, 0);
}

function post(done: DoneMessage): void {
  try {
    data.port.postMessage(done);
  } catch (error) {
    // The result passed our checks but not structured cloning (a host object, say).
    data.port.postMessage({ type: "done", ident: done.ident, retire: done.retire, ok: false, error: encodeError(error) });
  }
}

function leftWorkBehind(): boolean {
  return process.getActiveResourcesInfo().some((kind) => !QUIET_RESOURCES.has(kind));
}

function forgetGlobals(): void {
  for (const name of Object.getOwnPropertyNames(globalThis)) {
    if (!baselineGlobals.has(name)) {
      try {
        delete (globalThis as Record<string, unknown>)[name];
      } catch {
        // A non-configurable global stays; nothing a thread can rely on.
      }
    }
  }
}
