/**
 * Encoding of arguments and results for the trip to another thread.
 *
 * Everything structured-cloneable passes as it is. weft's shared objects may sit anywhere
 * inside a value: they are swapped for their descriptors on the way out and revived as
 * live handles on the way in. What cannot be sent (functions, symbols, promises, weak
 * collections) is refused before anything starts, with the path to it in the message.
 *
 * A packet is `{ value }` when nothing needs reviving, so the receiver skips the walk.
 */
import { isShareable, reviveShareable, toDescriptor, type Shareable, type SharedDescriptor } from "../core/shareable.js";

/** What crosses the boundary (inside a postMessage or a shared ring). */
export interface Packet {
  readonly value: unknown;
  /** True if `value` holds shared-object markers to revive. */
  readonly live?: true;
}

const MARK = "__weft_shared__";

interface Marker {
  [MARK]: unknown;
}

/** Prepares `value` for another thread; `path` names it in errors (e.g. `"args"`). */
export function encode(value: unknown, path: string): Packet {
  return checkSendable(value, path) ? { value: swapShared(value, (shared) => shared[toDescriptor]()), live: true } : { value };
}

/** Rebuilds a value that arrived from another thread, reviving shared objects. */
export function decode(packet: Packet): unknown {
  return packet.live ? restoreShared(packet.value, (descriptor) => reviveShareable(descriptor as SharedDescriptor)) : packet.value;
}

/**
 * Checks that `value` can be sent (a `TypeError` names the path to what cannot); returns
 * true if it holds a shared object.
 */
export function checkSendable(value: unknown, path: string): boolean {
  // The common case, a task's arguments all numbers or strings, walks no path and makes no set.
  if (Array.isArray(value) && allPrimitive(value)) return false;
  return containsShared(value, path, new Set());
}

/** True if every item of `values` is a primitive that can be sent (not a symbol). */
function allPrimitive(values: unknown[]): boolean {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const type = typeof value;
    if (type === "object" ? value !== null : type === "function" || type === "symbol") return false;
  }
  return true;
}

/**
 * The path (e.g. `args[0].lock`) of the first shared object in `value`, or `undefined` if
 * there is none; checks sendability on the way, as {@link checkSendable}. For transports
 * that cannot carry shared memory (another machine), which must refuse such an object.
 */
export function sharedPathIn(value: unknown, path: string): string | undefined {
  let found: string | undefined;
  containsShared(value, path, new Set(), (at) => (found ??= at));
  return found;
}

/** A copy of `value` with each shared object swapped for a marker around `describe(it)`. */
export function swapShared(value: unknown, describe: (shared: Shareable) => unknown): unknown {
  return replaceShared(value, new Map(), describe);
}

/** Revives, in place, the markers that {@link swapShared} left (`value` is a fresh clone). */
export function restoreShared(value: unknown, revive: (described: unknown) => unknown): unknown {
  return reviveMarkers(value, new Map(), revive);
}

function containsShared(value: unknown, path: string, seen: Set<object>, onShared?: (path: string) => void): boolean {
  switch (typeof value) {
    case "function":
      throw new TypeError(`${path}: functions cannot be sent to a thread (pass data, or a module target the thread can import)`);
    case "symbol":
      throw new TypeError(`${path}: symbols cannot be sent to a thread`);
    case "object":
      break;
    default:
      return false;
  }
  if (value === null || seen.has(value)) return false;
  if (isShareable(value)) {
    onShared?.(path);
    return true;
  }
  if (value instanceof SharedArrayBuffer || (ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer)) onShared?.(path);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return false;
  if (value instanceof Date || value instanceof RegExp) return false;
  if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) {
    throw new TypeError(`${path}: a ${value.constructor.name} cannot be sent to a thread`);
  }
  seen.add(value);
  let found = false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) found = containsShared(value[i], `${path}[${i}]`, seen, onShared) || found;
  } else if (value instanceof Map) {
    let i = 0;
    for (const [key, item] of value) {
      found = containsShared(key, `${path}.<key ${i}>`, seen, onShared) || found;
      found = containsShared(item, `${path}.get(${describeKey(key, i)})`, seen, onShared) || found;
      i++;
    }
  } else if (value instanceof Set) {
    let i = 0;
    for (const item of value) found = containsShared(item, `${path}.<item ${i++}>`, seen, onShared) || found;
  } else {
    for (const key of Object.keys(value)) {
      found = containsShared((value as Record<string, unknown>)[key], `${path}${propertyPath(key)}`, seen, onShared) || found;
    }
  }
  return found;
}

function propertyPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function describeKey(key: unknown, index: number): string {
  return typeof key === "string" || typeof key === "number" ? JSON.stringify(key) : `<key ${index}>`;
}

/** Copies the containers on the way to shared objects, swapping those for markers. */
function replaceShared(value: unknown, copies: Map<object, unknown>, describe: (shared: Shareable) => unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (isShareable(value)) return { [MARK]: describe(value) } satisfies Marker;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return value;
  if (value instanceof Date || value instanceof RegExp || value instanceof Error) return value;
  const done = copies.get(value);
  if (done !== undefined) return done;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    copies.set(value, copy);
    for (const item of value) copy.push(replaceShared(item, copies, describe));
    return copy;
  }
  if (value instanceof Map) {
    const copy = new Map();
    copies.set(value, copy);
    for (const [key, item] of value) copy.set(replaceShared(key, copies, describe), replaceShared(item, copies, describe));
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set();
    copies.set(value, copy);
    for (const item of value) copy.add(replaceShared(item, copies, describe));
    return copy;
  }
  const copy: Record<string, unknown> = {};
  copies.set(value, copy);
  for (const key of Object.keys(value)) copy[key] = replaceShared((value as Record<string, unknown>)[key], copies, describe);
  return copy;
}

/** Revives markers in place (the value is this thread's own fresh clone). */
function reviveMarkers(value: unknown, seen: Map<object, unknown>, revive: (described: unknown) => unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (MARK in value) return revive((value as Marker)[MARK]);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return value;
  if (seen.has(value)) return value;
  seen.set(value, value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveMarkers(value[i], seen, revive);
  } else if (value instanceof Map) {
    const entries = [...value];
    value.clear();
    for (const [key, item] of entries) value.set(reviveMarkers(key, seen, revive), reviveMarkers(item, seen, revive));
  } else if (value instanceof Set) {
    const items = [...value];
    value.clear();
    for (const item of items) value.add(reviveMarkers(item, seen, revive));
  } else {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = reviveMarkers(record[key], seen, revive);
  }
  return value;
}
