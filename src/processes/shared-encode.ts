/**
 * What crosses a process boundary, for Process, Pipe and ProcessPoolExecutor.
 *
 * The entry points:
 *
 *   encodeForProcess(value, path)  before sending `value` to another process (in a
 *                                  Process's args, a Pipe message, a pool task or result)
 *   decodeInProcess(value)         on arrival, in the receiving process
 *
 * The encoded value is plain structured-cloneable data (send it with `v8.serialize` or an
 * "advanced" IPC channel). A SharedArrayBuffer cannot reach another process, so weft's
 * shared objects are served, as Python's `multiprocessing.Manager` serves them, by the
 * process that created them: each one inside `value` is swapped for a descriptor
 * `{ kind, address, id, meta }` (`address` names the owner's server, `id` the object
 * there), and decoding revives each descriptor as a proxy with the same class and API
 * (shared-proxy.ts), or as the object itself when it arrives back in its owner.
 *
 * What cannot reach another process is a `TypeError` naming its path (`args[1].callback:
 * functions cannot be sent to another process`), before anything is sent.
 *
 * An object's id is its thread descriptor with each heap block as an offset
 * (queue/codec.ts `flattenBlocks`): every thread of the owner maps the same heap, so any
 * of them revives the object from the id alone, with no table to share. Exporting holds
 * one reference to the object's blocks for as long as the owner lives (as a Manager's
 * server keeps what it serves).
 */
import { MessagePort } from "node:worker_threads";
import { isShareable, reviveShareable, toDescriptor, type Shareable, type SharedDescriptor } from "../core/shareable.js";
import { retainBlock, type SharedBlock } from "../core/memory.js";
import { checkSendable, restoreShared, swapShared } from "../transport/encode.js";
import { flattenBlocks, unflattenBlocks } from "../queue/codec.js";
import { Lock } from "../sync/lock.js";
import { RLock } from "../sync/rlock.js";
import { Condition } from "../sync/condition.js";
import { BoundedSemaphore, Semaphore } from "../sync/semaphore.js";
import { Event } from "../sync/event.js";
import { Barrier } from "../sync/barrier.js";
import { LifoQueue, PriorityQueue, Queue, SimpleQueue } from "../queue/queue.js";
import { SharedValue } from "../shared/shared-value.js";
import { SharedArray } from "../shared/shared-array.js";
import { serverAddress } from "./manager-server.js";
import { reviveProxy, remoteOf } from "./shared-proxy.js";
import { registerProcessTransfer } from "./process-args.js";

/** The kinds of object that can be shared with another process. */
export type ProcessSharedKind =
  | "Lock"
  | "RLock"
  | "Condition"
  | "Semaphore"
  | "BoundedSemaphore"
  | "Event"
  | "Barrier"
  | "Queue"
  | "LifoQueue"
  | "PriorityQueue"
  | "SimpleQueue"
  | "SharedValue"
  | "SharedArray";

/** How a shared object travels to another process: who serves it, which one, and what never changes. */
export interface ProcessDescriptor {
  readonly kind: ProcessSharedKind;
  /** The owner's server (a directory of FIFOs, see manager-server.ts). */
  readonly address: string;
  /** The object, as its owner knows it. */
  readonly id: string;
  /** The owning process. */
  readonly pid: number;
  /** What the proxy answers without asking: a lock's name, a queue's maxsize, the lock of a SharedValue... */
  readonly meta: Readonly<Record<string, unknown>>;
}

/** The marker swapShared leaves in place of a shared object. */
const MARK = "__weft_shared__";

/**
 * Prepares `value` for another process; `path` names it in errors (e.g. `"args"`). Returns
 * plain data; weft's shared objects inside become descriptors that the receiver revives.
 */
export function encodeForProcess(value: unknown, path: string): unknown {
  if (typeof value !== "object" || value === null) {
    if (typeof value === "function" || typeof value === "symbol") checkForProcess(value, path);
    return value;
  }
  const hasShared = checkForProcess(value, path);
  return hasShared ? swapShared(value, (shared) => describeForProcess(shared, path)) : value;
}

/** Rebuilds a value that {@link encodeForProcess} made in another process (in place: pass a fresh copy). */
export function decodeInProcess(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  return restoreShared(value, (described) => reviveForProcess(described as ProcessDescriptor));
}

/** True if `value` holds shared-object descriptors (so that a receiver may skip {@link decodeInProcess}). */
export function hasProcessShared(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (MARK in value) return true;
  for (const item of Array.isArray(value) ? value : value instanceof Map ? [...value.keys(), ...value.values()] : value instanceof Set ? value : Object.values(value)) {
    if (hasProcessShared(item)) return true;
  }
  return false;
}

/** Checks what cannot reach another process, naming the path; true if `value` holds shared objects. */
function checkForProcess(value: unknown, path: string): boolean {
  try {
    refuseThreadOnly(value, path, new Set());
    return checkSendable(value, path);
  } catch (error) {
    if (error instanceof TypeError) error.message = error.message.replace(/ to a thread\b/g, " to another process");
    throw error;
  }
}

/** MessagePorts travel between threads only. */
function refuseThreadOnly(value: unknown, path: string, seen: Set<object>): void {
  if (typeof value !== "object" || value === null || seen.has(value) || isShareable(value)) return;
  if (value instanceof MessagePort) throw new TypeError(`${path}: a MessagePort cannot be sent to another process (it links two threads of one process)`);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return;
  seen.add(value);
  const items = Array.isArray(value) ? value.entries() : value instanceof Map ? value.entries() : value instanceof Set ? [...value].entries() : Object.entries(value);
  for (const [key, item] of items) refuseThreadOnly(item, `${path}${typeof key === "number" ? `[${key}]` : `.${String(key)}`}`, seen);
}

/** The kind of a shared object, most derived class first. */
function kindOf(shared: Shareable): ProcessSharedKind | undefined {
  if (shared instanceof RLock) return "RLock";
  if (shared instanceof Lock) return "Lock";
  if (shared instanceof Condition) return "Condition";
  if (shared instanceof BoundedSemaphore) return "BoundedSemaphore";
  if (shared instanceof Semaphore) return "Semaphore";
  if (shared instanceof Event) return "Event";
  if (shared instanceof Barrier) return "Barrier";
  if (shared instanceof LifoQueue) return "LifoQueue";
  if (shared instanceof PriorityQueue) return "PriorityQueue";
  if (shared instanceof Queue) return "Queue";
  if (shared instanceof SimpleQueue) return "SimpleQueue";
  if (shared instanceof SharedValue) return "SharedValue";
  if (shared instanceof SharedArray) return "SharedArray";
  return undefined;
}

/** Exports made in this thread, so that an object sent twice keeps one id (and one held reference). */
const exported = new WeakMap<object, ProcessDescriptor>();

/** The descriptor of `shared` for another process: a proxy's own, or the export of an object of ours. */
export function describeForProcess(shared: Shareable, path = "value"): ProcessDescriptor {
  const remote = remoteOf(shared);
  if (remote !== undefined) return remote;
  const known = exported.get(shared);
  if (known !== undefined) return known;
  const kind = kindOf(shared);
  if (kind === undefined) throw new TypeError(`${path}: a ${shared.constructor.name} cannot be sent to another process`);
  const descriptor: ProcessDescriptor = {
    kind,
    address: serverAddress(),
    id: JSON.stringify(flattenBlocks(shared[toDescriptor]())),
    pid: process.pid,
    meta: metaOf(kind, shared),
  };
  exported.set(shared, descriptor);
  return descriptor;
}

/** What a proxy of `kind` answers by itself. */
function metaOf(kind: ProcessSharedKind, shared: Shareable): Record<string, unknown> {
  switch (kind) {
    case "Lock":
    case "RLock": {
      const lock = shared as Lock | RLock;
      return { fair: lock.fair, name: lock.name };
    }
    case "Condition":
      return { lock: describeForProcess((shared as Condition).lock) };
    case "Barrier":
      return { parties: (shared as Barrier).parties };
    case "Queue":
    case "LifoQueue":
    case "PriorityQueue":
      return { maxsize: (shared as Queue).maxsize };
    case "SharedValue": {
      const value = shared as SharedValue;
      return { type: value.type, lock: describeForProcess(value.lock) };
    }
    case "SharedArray": {
      const array = shared as SharedArray;
      return { type: array.type, length: array.length, lock: describeForProcess(array.lock) };
    }
    default:
      return {};
  }
}

/** Revives a descriptor: the object itself in its owner, else a proxy. */
export function reviveForProcess(descriptor: ProcessDescriptor): unknown {
  if (descriptor.pid === process.pid && descriptor.address === serverAddress(false)) return localObject(descriptor.id);
  return reviveProxy(descriptor);
}

/** Objects of this process revived from their ids in this thread. */
const local = new Map<string, unknown>();

/**
 * The object of this process that `id` names, as a live handle in this thread. Each
 * revival adopts a reference of its own, taken here (the export's reference stays).
 */
export function localObject(id: string): unknown {
  let object = local.get(id);
  if (object === undefined) {
    const descriptor = unflattenBlocks(JSON.parse(id) as unknown);
    retainAll(descriptor);
    object = reviveShareable(descriptor as SharedDescriptor);
    local.set(id, object);
  }
  return object;
}

/** Takes one more reference to each heap block in a descriptor. */
function retainAll(value: unknown): void {
  if (typeof value !== "object" || value === null) return;
  if ((value as SharedBlock).buffer instanceof SharedArrayBuffer && "byteOffset" in value) {
    retainBlock(value as SharedBlock);
    return;
  }
  for (const field of Array.isArray(value) ? value : Object.values(value)) retainAll(field);
}

// A Process's args carry shared objects as descriptors, revived in the child as proxies.
registerProcessTransfer<Shareable>({
  kind: "shared",
  test: (value): value is Shareable => isShareable(value) && (remoteOf(value) !== undefined || kindOf(value) !== undefined),
  describe: (shared, _child, path) => describeForProcess(shared, path),
  revive: (data) => reviveForProcess(data as ProcessDescriptor) as object,
});
