/**
 * Arguments on their way to another process.
 *
 * They travel `v8.serialize`d (Node's "advanced" IPC serialization, structured-clone
 * rules), so Maps, Sets, Dates, typed arrays and errors pass as they are. What cannot
 * reach another process is refused at `start()`, before anything runs, with its path:
 * functions, symbols, promises, `MessagePort`s, SharedArrayBuffers (memory of this
 * process) ({@link crossProcessRefusal} is the one place that says so). A Connection
 * (connection.ts) and weft's shared objects (shared-encode.ts: served to the child by this
 * process) are swapped for markers that the child revives as live objects.
 */
import { serialize, deserialize } from "node:v8";
import { MessagePort } from "node:worker_threads";
import { isShareable } from "../core/shareable.js";

/** How a kind of object crosses to a child process as something live (a Connection). */
export interface ProcessTransfer<T extends object> {
  readonly kind: string;
  /** True for the objects of this kind. */
  test(value: object): value is T;
  /** In the parent, at `start()`: what the child gets; `child` names the child for routing. */
  describe(value: T, child: ChildRef, path: string): unknown;
  /** In the child: the live object. */
  revive(data: unknown): object;
}

/** The child a value is sent to, as a transfer sees it. */
export interface ChildRef {
  readonly id: number;
}

const MARK = "__weft_process__";
const transfers: ProcessTransfer<object>[] = [];

/** Registers a kind of object that crosses to a child process live. */
export function registerProcessTransfer<T extends object>(transfer: ProcessTransfer<T>): void {
  transfers.push(transfer as unknown as ProcessTransfer<object>);
}

/**
 * Why `value` cannot reach another process, or `undefined` if it may go there (cloned, or
 * through a registered transfer). weft's shared objects live in this process's shared
 * memory: they go only where a transfer serves them (`shared: true`, as for a Process's
 * args); elsewhere (a process pool's task) they are refused.
 */
export function crossProcessRefusal(value: unknown, shared = false): string | undefined {
  if (typeof value === "function") return "functions cannot be sent to another process (pass data, or use a module target)";
  if (typeof value === "symbol") return "symbols cannot be sent to another process";
  if (typeof value !== "object" || value === null) return undefined;
  if (isShareable(value)) {
    if (shared && transfers.some((transfer) => transfer.test(value))) return undefined;
    return shared
      ? `a ${value.constructor.name} cannot be sent to another process`
      : `a ${value.constructor.name} cannot be sent to a process pool's task (pass it to a Process, or make it in the worker)`;
  }
  if (value instanceof MessagePort) return "a MessagePort connects threads of one process: it cannot be sent to another process (use a Pipe)";
  if (value instanceof SharedArrayBuffer || (ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer)) {
    return "a SharedArrayBuffer is memory of this process: it cannot be shared with another process";
  }
  if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) {
    return `a ${value.constructor.name} cannot be sent to another process`;
  }
  return undefined;
}

/**
 * Serializes `value` for `child`; a value that cannot be sent is a `TypeError` naming
 * its path (from `path`, e.g. "args").
 */
export function serializeForChild(value: unknown, path: string, child: ChildRef): Uint8Array {
  const prepared = prepare(value, path, child, new Map());
  try {
    return serialize(prepared);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TypeError(`${path}: cannot be sent to another process: ${reason}`, { cause: error });
  }
}

/** Rebuilds, in the child, what {@link serializeForChild} made. */
export function decodeFromParent(bytes: Uint8Array): unknown {
  return revive(deserialize(bytes), new Map());
}

function prepare(value: unknown, path: string, child: ChildRef, copies: Map<object, unknown>): unknown {
  const refusal = crossProcessRefusal(value, true);
  if (refusal !== undefined) throw new TypeError(`${path}: ${refusal}`);
  if (typeof value !== "object" || value === null) return value;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof RegExp || value instanceof Error) {
    return value;
  }
  const done = copies.get(value);
  if (done !== undefined) return done;
  for (const transfer of transfers) {
    if (transfer.test(value)) {
      const marker = { [MARK]: transfer.kind, data: transfer.describe(value, child, path) };
      copies.set(value, marker);
      return marker;
    }
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    copies.set(value, copy);
    value.forEach((item, i) => copy.push(prepare(item, `${path}[${i}]`, child, copies)));
    return copy;
  }
  if (value instanceof Map) {
    const copy = new Map();
    copies.set(value, copy);
    let i = 0;
    for (const [key, item] of value) {
      copy.set(prepare(key, `${path}.<key ${i}>`, child, copies), prepare(item, `${path}.get(${JSON.stringify(key) ?? i})`, child, copies));
      i++;
    }
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set();
    copies.set(value, copy);
    let i = 0;
    for (const item of value) copy.add(prepare(item, `${path}.<item ${i++}>`, child, copies));
    return copy;
  }
  const copy: Record<string, unknown> = {};
  copies.set(value, copy);
  for (const key of Object.keys(value)) {
    const step = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    copy[key] = prepare((value as Record<string, unknown>)[key], `${path}${step}`, child, copies);
  }
  return copy;
}

/** Revives markers in place; `seen` maps each object met to what it became (a marker met twice is one object). */
function revive(value: unknown, seen: Map<object, unknown>): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  if (MARK in value) {
    const { [MARK]: kind, data } = value as { [MARK]: string; data: unknown };
    const transfer = transfers.find((candidate) => candidate.kind === kind);
    if (transfer === undefined) throw new TypeError(`weft: no cross-process object of kind "${kind}" is known in this process`);
    const live = transfer.revive(data);
    seen.set(value, live);
    return live;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
  seen.set(value, value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i], seen);
  } else if (value instanceof Map) {
    const entries = [...value];
    value.clear();
    for (const [key, item] of entries) value.set(revive(key, seen), revive(item, seen));
  } else if (value instanceof Set) {
    const items = [...value];
    value.clear();
    for (const item of items) value.add(revive(item, seen));
  } else {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = revive(record[key], seen);
  }
  return value;
}
