/**
 * What travels through Redis between a cluster executor and its workers: a task as a
 * BullMQ job's data, and its outcome as the job's return value.
 *
 * BullMQ stores job data and return values as JSON, which would turn a `Map`, a `Date`, a
 * `bigint` or a typed array into something else. So arguments and outcomes travel as V8's
 * structured serialization (what `postMessage` uses between threads), in base64, or as
 * JSON where JSON carries them exactly: what arrives is what a thread would have
 * received. The target travels as transport's plain descriptor (transport/target.ts),
 * which is JSON already.
 *
 * A task that throws still completes as a job, with an error outcome: BullMQ's own failure
 * carries only a message, and weft's futures re-raise the task's class, message and stack
 * (transport/errors.ts). BullMQ's failure path is left for its retries (`retries`) and for
 * its own failures.
 */
import { deserialize, serialize } from "node:v8";
import type { TargetDescriptor } from "../transport/target.js";

/**
 * How a task's arguments are applied: one call, one call per item, one per item spread as
 * arguments; or a bundle, several independent calls of one target in one job (`b`), each
 * with an outcome of its own.
 */
export const ONE = 0;
export const CHUNK = 1;
export const CHUNK_SPREAD = 2;
export const BUNDLE = 3;
export type Chunking = typeof ONE | typeof CHUNK | typeof CHUNK_SPREAD | typeof BUNDLE;

/** A job's data: short keys, since every task carries them. */
export interface TaskData {
  /** The target. */
  readonly t: TargetDescriptor;
  /** The arguments (or the chunk's items), packed; a bundle's calls' arguments, each packed. */
  readonly a: string | readonly string[];
  /** How `a` is applied. */
  readonly k: Chunking;
  /** Runs allowed when workers die running it (the executor's `attempts`). */
  readonly n: number;
  /** The task's time limit on the worker, ms (absent: none). */
  readonly d?: number;
}

/** A call's outcome: its result, or its error (transport's EncodedError), packed. */
export type CallOutcome = { readonly r: string } | { readonly e: string };

/** A job's return value: a call's outcome, a bundle's (in its order), or a crash message. */
export type Outcome = CallOutcome | { readonly b: readonly CallOutcome[] } | { readonly c: string };

/**
 * A structured-cloneable value as text; throws (V8's "could not be cloned") for what is
 * not. A value that JSON carries exactly (a string, a boolean, null, a finite number other than -0, or
 * an array of those: a tiny task's arguments and result) is `~` and its JSON, several
 * times cheaper than the serializer; anything else is V8's serialization in base64, which
 * always starts with `/` (its version byte, 0xFF).
 */
export function pack(value: unknown): string {
  if (jsonExact(value) || (Array.isArray(value) && value.length <= JSON_MAX && value.every(jsonExact))) return JSON_MARK + JSON.stringify(value);
  return serialize(value).toString("base64");
}

/** The value that {@link pack} packed. */
export function unpack(text: string): unknown {
  if (text.startsWith(JSON_MARK)) return JSON.parse(text.slice(1)) as unknown;
  return deserialize(Buffer.from(text, "base64"));
}

const JSON_MARK = "~";
/** Longer arrays (a map chunk) go to the serializer: the check would cost what it saves. */
const JSON_MAX = 16;

function jsonExact(value: unknown): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    default:
      return value === null;
  }
}

/** The BullMQ key prefix weft's queues use (BullMQ's default). */
export const PREFIX = "bull";
