/**
 * The protocol by which weft's shared objects cross a thread boundary.
 *
 * A shared object (lock, queue, shared value, ...) describes itself as a plain,
 * structured-cloneable descriptor whose buffers are SharedArrayBuffers; postMessage shares
 * those buffers instead of copying them, and the receiving side revives the descriptor as
 * a live handle to the same memory. Each class registers its reviver under a `kind`.
 */

/** The method a shared object implements to describe itself. */
export const toDescriptor: unique symbol = Symbol("weft.toDescriptor");

/** A plain description of a shared object; buffers inside are shared, not copied. */
export interface SharedDescriptor {
  readonly kind: string;
  readonly [field: string]: unknown;
}

/** An object that crosses threads as a live handle to the same shared memory. */
export interface Shareable {
  [toDescriptor](): SharedDescriptor;
}

import { localBlock, ownBlock, retainBlock, type SharedBlock } from "./memory.js";

const revivers = new Map<string, (descriptor: SharedDescriptor) => Shareable>();

/** Registers how to rebuild a handle of `kind` from its descriptor. */
export function registerShareable(kind: string, revive: (descriptor: SharedDescriptor) => Shareable): void {
  revivers.set(kind, revive);
}

/** True if `value` is one of weft's shared objects. */
export function isShareable(value: unknown): value is Shareable {
  return typeof value === "object" && value !== null && toDescriptor in value;
}

/**
 * The descriptor being revived, while a reviver runs. A reviver revives by calling its
 * class's public constructor; the constructor takes the descriptor with `takeArriving()`
 * first thing. So no argument a user can pass reaches the revive path, and a constructor
 * called by the user (also one nested in a revival) finds nothing here.
 */
let arriving: SharedDescriptor | undefined;

/** Rebuilds a live handle from a descriptor that arrived from another thread. */
export function reviveShareable(descriptor: SharedDescriptor): Shareable {
  const revive = revivers.get(descriptor.kind);
  if (revive === undefined) throw new TypeError(`weft: no shared object of kind "${descriptor.kind}" is known in this thread`);
  arriving = descriptor;
  try {
    return revive(descriptor);
  } finally {
    arriving = undefined;
  }
}

/** For a shared object's constructor, first thing: the descriptor it is revived from, or `undefined` when it is new. */
export function takeArriving(): SharedDescriptor | undefined {
  const descriptor = arriving;
  arriving = undefined;
  return descriptor;
}

/**
 * Describes a handle whose state is one block of the shared heap. The descriptor carries
 * a reference to the block, which the receiving handle adopts (see core/memory.ts).
 */
export function describeBlock(kind: string, block: SharedBlock, fields?: Record<string, unknown>): SharedDescriptor {
  retainBlock(block);
  return { ...fields, kind, block };
}

/** The receiving side of {@link describeBlock}: the block, now owned by `handle`. */
export function adoptBlock(handle: object, descriptor: SharedDescriptor): SharedBlock {
  const block = localBlock(descriptor.block as SharedBlock);
  ownBlock(handle, block);
  return block;
}

/**
 * How a function inside a shared object travels (a Barrier's action): as plain data made
 * where the object is made, and made callable again in the thread that runs it. Shipping
 * code is the transport's business (its target module provides this when it loads), so
 * that a primitive never compiles code itself.
 */
export interface FunctionShipping {
  /** The function as sendable data; a function that cannot be sent: `TypeError` naming `argName`. */
  describe(fn: (...args: never[]) => unknown, argName: string): unknown;
  /** A function that runs what `describe` made (with the transport's hints on its errors). */
  revive(data: unknown): () => unknown;
}

let shipping: FunctionShipping | undefined;

/** For the transport: how functions inside shared objects travel. */
export function provideFunctionShipping(provided: FunctionShipping): void {
  shipping = provided;
}

/** How functions inside shared objects travel; the transport provides it as it loads. */
export function functionShipping(): FunctionShipping {
  if (shipping === undefined) throw new TypeError("weft: functions cannot be shipped here (the transport is not loaded)");
  return shipping;
}
