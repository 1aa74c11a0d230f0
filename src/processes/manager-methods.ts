/**
 * What a client may call on each kind of process-shared object, as the agent runs it on
 * the real object. A blocking call of the client (`acquireSync`) arrives as the method's
 * async form (`acquire`): the agent's event loop waits, never its thread, so that one
 * client's many async tasks can wait at once. Every wait gets the agent's signal, which
 * aborts when the client goes or cancels the call.
 */
import { Lock } from "../sync/lock.js";
import { RLock } from "../sync/rlock.js";
import { Condition } from "../sync/condition.js";
import { Semaphore } from "../sync/semaphore.js";
import { Event } from "../sync/event.js";
import { Barrier } from "../sync/barrier.js";
import { Queue, SimpleQueue } from "../queue/queue.js";
import { SharedValue } from "../shared/shared-value.js";
import { SharedArray } from "../shared/shared-array.js";
import type { AcquireOptions } from "../core/timeouts.js";
import { Empty } from "../core/errors.js";

/** What {@link Call.now} answers when the call would have to wait. */
export const NOT_NOW: unique symbol = Symbol("weft.notNow");

/** One remote method: runs on `target` with the decoded arguments. */
export interface Call {
  (target: never, args: unknown[], signal: AbortSignal): unknown;
  /** True if it may wait (it is then tracked, and cancellable). */
  waits?: boolean;
  /** The outcome if it needs no wait (an uncontended acquire, an item there), else NOT_NOW. */
  now?: (target: never, args: unknown[]) => unknown;
}

type Methods = Record<string, Call>;

function waiting<T>(run: (target: T, args: unknown[], signal: AbortSignal) => unknown, now?: (target: T, args: unknown[]) => unknown): Call {
  const call = run as Call;
  call.waits = true;
  if (now !== undefined) call.now = now as Call["now"];
  return call;
}

/** A lock or semaphore taken without waiting, else NOT_NOW (a wait with the client's options follows). */
function acquireNow(primitive: { acquireSync(options: AcquireOptions): boolean }): unknown {
  return primitive.acquireSync({ blocking: false }) ? true : NOT_NOW;
}

/** The options the client sent, with the agent's signal (the client's own stays with it). */
function withSignal(options: unknown, signal: AbortSignal): AcquireOptions {
  return { ...(options as AcquireOptions | undefined), signal };
}

const lockMethods: Methods = {
  acquire: waiting((lock: Lock | RLock, [options], signal) => lock.acquire(withSignal(options, signal)), acquireNow),
  release: (lock: Lock | RLock) => lock.release(),
  locked: (lock: Lock | RLock) => lock.locked(),
  stats: (lock: Lock | RLock) => lock.stats(),
};

const conditionMethods: Methods = {
  wait: waiting((condition: Condition, [options], signal) => condition.wait(withSignal(options, signal))),
  notify: (condition: Condition, [n]) => condition.notify(n as number | undefined),
  notifyAll: (condition: Condition) => condition.notifyAll(),
};

const semaphoreMethods: Methods = {
  acquire: waiting((semaphore: Semaphore, [options], signal) => semaphore.acquire(withSignal(options, signal)), acquireNow),
  release: (semaphore: Semaphore, [n]) => semaphore.release(n as number | undefined),
};

const eventMethods: Methods = {
  isSet: (event: Event) => event.isSet(),
  set: (event: Event) => event.set(),
  clear: (event: Event) => event.clear(),
  wait: waiting((event: Event, [options], signal) => event.wait(withSignal(options, signal))),
};

const barrierMethods: Methods = {
  wait: waiting((barrier: Barrier, [options], signal) => barrier.wait(withSignal(options, signal))),
  reset: (barrier: Barrier) => barrier.reset(),
  abort: (barrier: Barrier) => barrier.abort(),
  nWaiting: (barrier: Barrier) => barrier.nWaiting,
  broken: (barrier: Barrier) => barrier.broken,
};

const simpleQueueMethods: Methods = {
  put: waiting((queue: Queue, [item, options], signal) => queue.put(item, withSignal(options, signal))),
  putNowait: (queue: Queue, [item]) => queue.putNowait(item),
  get: waiting(
    (queue: Queue, [options], signal) => queue.get(withSignal(options, signal)),
    (queue: Queue) => {
      if (queue.empty()) return NOT_NOW;
      try {
        return queue.getNowait();
      } catch (error) {
        if (error instanceof Empty) return NOT_NOW; // another consumer took it meanwhile
        throw error;
      }
    },
  ),
  getNowait: (queue: Queue) => queue.getNowait(),
  qsize: (queue: Queue) => queue.qsize(),
  empty: (queue: Queue) => queue.empty(),
  shutdown: (queue: Queue, [options]) => queue.shutdown(options as { immediate?: boolean } | undefined),
  isShutdown: (queue: Queue) => queue.isShutdown,
};

const queueMethods: Methods = {
  ...simpleQueueMethods,
  full: (queue: Queue) => queue.full(),
  taskDone: (queue: Queue) => queue.taskDone(),
  join: waiting((queue: Queue, _args, signal) => queue.join({ signal })),
};

const valueMethods: Methods = {
  load: (value: SharedValue) => value.value,
  store: (value: SharedValue, [next]) => {
    value.value = next as number;
  },
  add: (value: SharedValue, [n]) => value.add(n as number),
  sub: (value: SharedValue, [n]) => value.sub(n as number),
  compareExchange: (value: SharedValue, [expected, next]) => value.compareExchange(expected as number, next as number),
};

const arrayMethods: Methods = {
  at: (array: SharedArray, [index]) => array.array[index as number],
  setAt: (array: SharedArray, [index, next]) => {
    (array as unknown as Record<number, unknown>)[index as number] = next;
  },
  toArray: (array: SharedArray) => Array.from(array.array as ArrayLike<number | bigint>),
};

const none: Methods = {};

/** The remote methods of `target`'s kind. */
export function methodsOf(target: unknown): Methods {
  if (target instanceof Lock || target instanceof RLock) return lockMethods;
  if (target instanceof Condition) return conditionMethods;
  if (target instanceof Semaphore) return semaphoreMethods;
  if (target instanceof Event) return eventMethods;
  if (target instanceof Barrier) return barrierMethods;
  if (target instanceof Queue) return queueMethods;
  if (target instanceof SimpleQueue) return simpleQueueMethods;
  if (target instanceof SharedValue) return valueMethods;
  if (target instanceof SharedArray) return arrayMethods;
  return none;
}
