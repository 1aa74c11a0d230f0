/**
 * What may travel to another process, checked before anything is sent.
 *
 * Arguments reach a child process through V8's serializer (the IPC channel's "advanced"
 * serialization), which copies data and nothing else: a function, a MessagePort, shared
 * memory, or one of weft's shared objects (a lock, a queue, a SharedValue: a pool's task
 * does not carry the descriptors that a Process's args do) cannot arrive there working.
 * What is refused is `Process`'s own rule (`crossProcessRefusal`); this file walks a
 * task's arguments to every value.
 */
import { isShareable } from "../core/shareable.js";
import { crossProcessRefusal } from "./process-args.js";

/** Why a value cannot travel, or `undefined` if it may (`crossProcessRefusal` unless told otherwise). */
export type Refusal = (value: unknown) => string | undefined;

/**
 * Throws a `TypeError` naming the path (e.g. `args[1].callback`) to the first value in
 * `value` that cannot reach another process (by `refuse`'s rule: a Pipe's message adds its own).
 */
export function checkProcessSendable(value: unknown, path: string, refuse: Refusal = crossProcessRefusal): void {
  if (typeof value === "object" ? value !== null : typeof value === "function" || typeof value === "symbol") walk(value, path, undefined, refuse);
}

/** {@link checkProcessSendable} for an argument list, without walking the list itself (the common case: a few numbers or strings). */
export function checkProcessArgs(args: readonly unknown[], path: string): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg === "object" ? arg !== null : typeof arg === "function" || typeof arg === "symbol") walk(arg, `${path}[${i}]`, undefined, crossProcessRefusal);
  }
}

function walk(value: unknown, path: string, seen: Set<object> | undefined, refuse: Refusal): Set<object> | undefined {
  const refusal = refuse(value);
  if (refusal !== undefined) throw new TypeError(`${path}: ${refusal}`);
  if (typeof value !== "object" || value === null) return seen;
  // A shared object the rule let through travels by its own transfer (a proxy), not by its fields.
  if (isShareable(value)) return seen;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof RegExp) return seen;
  // A task's AbortSignal works on a thread pool; a process pool has no way to reach it yet.
  if (value instanceof AbortSignal) throw new TypeError(`${path}: an AbortSignal cannot be sent to another process`);
  seen ??= new Set();
  if (seen.has(value)) return seen;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], `${path}[${i}]`, seen, refuse);
  } else if (value instanceof Map) {
    let i = 0;
    for (const [key, item] of value) {
      walk(key, `${path}.<key ${i}>`, seen, refuse);
      walk(item, `${path}.get(${typeof key === "string" || typeof key === "number" ? JSON.stringify(key) : `<key ${i}>`})`, seen, refuse);
      i++;
    }
  } else if (value instanceof Set) {
    let i = 0;
    for (const item of value) walk(item, `${path}.<item ${i++}>`, seen, refuse);
  } else {
    for (const key of Object.keys(value)) {
      walk((value as Record<string, unknown>)[key], `${path}${/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}`, seen, refuse);
    }
  }
  return seen;
}
