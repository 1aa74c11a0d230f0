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
import { threadId, workerData, type MessagePort } from "node:worker_threads";
import { configure } from "../core/config.js";
import { enterThread } from "../core/identity.js";
import { decode, encode } from "../transport/encode.js";
import { encodeError } from "../transport/errors.js";
import { closureHint, resolveTarget } from "../transport/target.js";
import "../kinds.js"; // every shared-object kind, so arguments revive, and the diagnostics
import { ThreadInfo, setCurrentThread } from "./current.js";
import { deliverCrash, setStarterPort } from "./launcher.js";
import { FINISHED, RUNNING, type CarrierData, type CrashedMessage, type DoneMessage, type Outcome, type RunMessage, type ServiceMessage } from "./protocol.js";
import { serviceNamed } from "./services.js";
import { unregisterThread } from "../core/thread-table.js";
import { runThreadEndHooks } from "../core/thread-end.js";
import { writeStdioDirectly } from "./stdio.js";
import { traceThreadEnd, traceThreadStart } from "../core/trace-buffer.js";

const data = workerData as CarrierData;
writeStdioDirectly();

const baselineGlobals = new Set(Object.getOwnPropertyNames(globalThis));
const QUIET_RESOURCES = new Set(["MessagePort", "CloseReq"]);

setStarterPort(data.port);
data.port.on("message", (message: RunMessage | CrashedMessage | ServiceMessage) => {
  if (message.type === "run") void runThread(message);
  else if (message.type === "service") serviceNamed(message.name)?.(message.payload);
  else deliverCrash(message);
});

async function runThread(message: RunMessage): Promise<void> {
  configure(message.config);
  enterThread(message.ident);
  setCurrentThread(new ThreadInfo(message.name, message.ident, threadId, message.daemon, message.slot));
  Atomics.store(message.control, 0, RUNNING);
  traceThreadStart(message.ident, message.name);
  let outcome: Outcome;
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
  runThreadEndHooks();
  traceThreadEnd(message.ident, message.name);
  unregisterThread(message.slot, message.ident);
  const retire = leftWorkBehind();
  forgetGlobals();
  if (message.replyPort !== undefined) {
    post(message.replyPort, { type: "done", ident: message.ident, nativeId: threadId, retire, ...outcome });
    message.replyPort.close();
    outcome = { ok: true, result: { value: undefined } };
  }
  post(data.port, { type: "done", ident: message.ident, nativeId: threadId, retire, ...outcome });
  Atomics.store(message.control, 0, FINISHED);
  Atomics.notify(message.control, 0);
}

function post(port: MessagePort, done: DoneMessage): void {
  try {
    port.postMessage(done);
  } catch (error) {
    // The result passed our checks but not structured cloning (a host object, say).
    const { type, ident, nativeId, retire } = done;
    const reason = error instanceof Error ? error.message : String(error);
    const failure = new TypeError(`result: cannot be sent back from the thread: ${reason}`, { cause: error });
    port.postMessage({ type, ident, nativeId, retire, ok: false, error: encodeError(failure) } satisfies DoneMessage);
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
