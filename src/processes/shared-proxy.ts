/**
 * Proxies: what a process-shared object is in a process other than its owner. A proxy of a
 * Lock is `instanceof Lock` and has its methods and properties; each call goes to the
 * owner (shared-channel.ts), which runs it on the real object, so mutual exclusion holds
 * across the owner's threads and every process together.
 *
 * A proxy's prototype sits on top of the real class's prototype and overrides every
 * public member, so `instanceof` holds and what the class shares (Holdable's `withLock`,
 * `hold`...) works unchanged on top of the overrides. No real constructor runs: a proxy
 * owns no shared memory here.
 *
 * Blocking forms (`acquireSync`, `getSync`, `waitSync`) block the calling thread until
 * the owner answers, with the real classes' checks first (a blocking form on the main
 * thread: MainThreadBlockingError). Members that cannot wait (`locked()`, `isSet()`,
 * `value`) are a blocking round trip too, as short as the owner's answer. A release of
 * a lock this thread took, `Event.set()`/`clear()`, a `SharedValue` store (checked
 * here) and a put to an unbounded queue are pipelined: sent without waiting, and still
 * seen by the owner before this thread's next call. A FIFO queue's gets (blocking and
 * async) keep the lease the owner answers with and hand its items over one by one, each
 * acknowledged first. A proxy can be passed on, to threads of this process or to other
 * processes, and stays a handle to the same object.
 */
import { ShutDown } from "../core/errors.js";
import { assertMayBlock } from "../core/parking.js";
import { checkOptions, deadlineOf, remaining, throwIfAborted, type AcquireOptions, type WaitOptions } from "../core/timeouts.js";
import { registerShareable, takeArriving, toDescriptor, type SharedDescriptor } from "../core/shareable.js";
import { elementError, elementInfo, fitsElement, type SharedType } from "../shared/element-type.js";
import { Lock } from "../sync/lock.js";
import { RLock } from "../sync/rlock.js";
import { Condition } from "../sync/condition.js";
import { BoundedSemaphore, Semaphore } from "../sync/semaphore.js";
import { Event } from "../sync/event.js";
import { Barrier } from "../sync/barrier.js";
import { LifoQueue, PriorityQueue, Queue, SimpleQueue } from "../queue/queue.js";
import { SharedValue } from "../shared/shared-value.js";
import { SharedArray } from "../shared/shared-array.js";
import { channelTo } from "./shared-channel.js";
import { decodeInProcess, encodeForProcess, reviveForProcess, type ProcessDescriptor, type ProcessSharedKind } from "./shared-encode.js";

const REMOTE: unique symbol = Symbol("weft.remote");
const HELD: unique symbol = Symbol("weft.held");

/** What every proxy carries. */
interface Proxied {
  readonly [REMOTE]: ProcessDescriptor;
  /** Locks: acquisitions by this thread through this proxy not yet released. */
  [HELD]: number;
}

/** The descriptor of a proxy, or `undefined` for anything else. */
export function remoteOf(value: unknown): ProcessDescriptor | undefined {
  return typeof value === "object" && value !== null ? (value as Partial<Proxied>)[REMOTE] : undefined;
}

function remoteSync(self: Proxied, method: string, args: unknown[] = []): unknown {
  const remote = self[REMOTE];
  return channelTo(remote.address, remote.pid).callSync(remote.id, method, args);
}

/** An async call; aborting `signal` cancels it at the owner and rejects with the signal's reason. */
function remoteAsync(self: Proxied, method: string, args: unknown[] = [], signal?: AbortSignal): Promise<unknown> {
  const remote = self[REMOTE];
  let answer: Promise<unknown>;
  try {
    throwIfAborted(signal);
    answer = channelTo(remote.address, remote.pid).callAsync(remote.id, method, args, signal);
  } catch (error) {
    return Promise.reject(error);
  }
  if (signal === undefined) return answer;
  return answer.catch((error: unknown) => {
    throw signal.aborted ? signal.reason : error;
  });
}

function remotePost(self: Proxied, method: string, args: unknown[] = []): void {
  const remote = self[REMOTE];
  channelTo(remote.address, remote.pid).post(remote.id, method, args);
}

/** The options as sent: the signal stays here (the owner gets its own). */
function sent(options: AcquireOptions | undefined): AcquireOptions | undefined {
  if (options === undefined) return undefined;
  const out: AcquireOptions = {};
  if (options.timeout !== undefined) out.timeout = options.timeout;
  if (options.blocking !== undefined) out.blocking = options.blocking;
  return out;
}

/** The checks a real wait makes before it starts (shape, timeout, signal), naming `method`. */
function checkWait(options: AcquireOptions | undefined, method: string): void {
  checkOptions(options, method);
  deadlineOf(options?.timeout, method);
}

function rejecting<T>(run: () => Promise<T>): Promise<T> {
  try {
    return run();
  } catch (error) {
    return Promise.reject(error);
  }
}

function kindName(self: Proxied): string {
  return self[REMOTE].kind;
}

function inspectProxy(this: Proxied): string {
  return `<${kindName(this)} shared by process ${this[REMOTE].pid}>`;
}

/** Members every proxy has: how it travels to other threads, and how it prints. */
const common = {
  [toDescriptor](this: Proxied): SharedDescriptor {
    return { kind: "weft.remote", remote: this[REMOTE] };
  },
  [Symbol.for("nodejs.util.inspect.custom")]: inspectProxy,
};

function lockMembers(cls: string, proto: string) {
  return {
    ...common,
    get fair(): boolean {
      return (this as unknown as Proxied)[REMOTE].meta.fair as boolean;
    },
    get name(): string {
      return (this as unknown as Proxied)[REMOTE].meta.name as string;
    },
    acquire(this: Proxied, options?: AcquireOptions): Promise<boolean> {
      return rejecting(() => {
        checkWait(options, `${cls}.acquire()`);
        return remoteAsync(this, "acquire", [sent(options)], options?.signal).then((held) => {
          if (held === true) this[HELD]++;
          return held as boolean;
        });
      });
    },
    acquireSync(this: Proxied & { release(): void }, options?: AcquireOptions): boolean {
      checkWait(options, `${cls}.acquireSync()`);
      assertMayBlock(`${cls}.acquireSync()`, `${proto}.acquire()`, options);
      throwIfAborted(options?.signal);
      const held = remoteSync(this, "acquire", [sent(options)]) === true;
      if (held) {
        this[HELD]++;
        if (options?.signal?.aborted) {
          this.release();
          throw options.signal.reason;
        }
      }
      return held;
    },
    release(this: Proxied): void {
      if (this[HELD] > 0) {
        this[HELD]--;
        remotePost(this, "release");
      } else {
        remoteSync(this, "release");
      }
    },
    locked(this: Proxied): boolean {
      return remoteSync(this, "locked") as boolean;
    },
    stats(this: Proxied): unknown {
      return remoteSync(this, "stats");
    },
  };
}

const semaphoreMembers = {
  ...common,
  acquire(this: Proxied, options?: AcquireOptions): Promise<boolean> {
    return rejecting(() => {
      checkWait(options, `${kindName(this)}.acquire()`);
      return remoteAsync(this, "acquire", [sent(options)], options?.signal) as Promise<boolean>;
    });
  },
  acquireSync(this: Proxied & { release(): void }, options?: AcquireOptions): boolean {
    checkWait(options, `${kindName(this)}.acquireSync()`);
    assertMayBlock(`${kindName(this)}.acquireSync()`, "semaphore.acquire()", options);
    throwIfAborted(options?.signal);
    const acquired = remoteSync(this, "acquire", [sent(options)]) === true;
    if (acquired && options?.signal?.aborted) {
      this.release();
      throw options.signal.reason;
    }
    return acquired;
  },
  release(this: Proxied, n = 1): void {
    remoteSync(this, "release", [n]);
  },
};

type LockProxy = Proxied & { acquire(o?: AcquireOptions): Promise<boolean>; acquireSync(o?: AcquireOptions): boolean; release(): void };

const LOCK: unique symbol = Symbol("weft.conditionLock");

const conditionMembers = {
  ...common,
  get lock(): Lock | RLock {
    return (this as unknown as { [LOCK]: Lock | RLock })[LOCK];
  },
  acquire(this: { [LOCK]: LockProxy }, options?: AcquireOptions): Promise<boolean> {
    return this[LOCK].acquire(options);
  },
  acquireSync(this: { [LOCK]: LockProxy }, options?: AcquireOptions): boolean {
    return this[LOCK].acquireSync(options);
  },
  release(this: { [LOCK]: LockProxy }): void {
    this[LOCK].release();
  },
  wait(this: Proxied, options?: WaitOptions): Promise<boolean> {
    return rejecting(() => {
      checkWait(options, "Condition.wait()");
      return remoteAsync(this, "wait", [sent(options)], options?.signal) as Promise<boolean>;
    });
  },
  waitSync(this: Proxied, options?: WaitOptions): boolean {
    checkWait(options, "Condition.waitSync()");
    assertMayBlock("Condition.waitSync()", "condition.wait()", options);
    throwIfAborted(options?.signal);
    return remoteSync(this, "wait", [sent(options)]) as boolean;
  },
  async waitFor<T>(this: Proxied & { wait(o?: WaitOptions): Promise<boolean> }, predicate: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    checkWait(options, "Condition.waitFor()");
    const deadline = deadlineOf(options?.timeout, "Condition.waitFor()");
    let result = await predicate();
    while (!result) {
      const left = remaining(deadline);
      if (left === 0) break;
      await this.wait({ timeout: left, signal: options?.signal });
      result = await predicate();
    }
    return result;
  },
  waitForSync<T>(this: Proxied & { waitSync(o?: WaitOptions): boolean }, predicate: () => T, options?: WaitOptions): T {
    checkWait(options, "Condition.waitForSync()");
    assertMayBlock("Condition.waitForSync()", "condition.waitFor()", options);
    const deadline = deadlineOf(options?.timeout, "Condition.waitForSync()");
    let result = predicate();
    while (!result) {
      const left = remaining(deadline);
      if (left === 0) break;
      this.waitSync({ timeout: left, signal: options?.signal });
      result = predicate();
    }
    return result;
  },
  notify(this: Proxied & { [LOCK]: Proxied }, n = 1): void {
    // Holding the lock (known here), the notify cannot fail: pipelined. Else the owner says why.
    if (this[LOCK][HELD] > 0) remotePost(this, "notify", [n]);
    else remoteSync(this, "notify", [n]);
  },
  notifyAll(this: Proxied & { [LOCK]: Proxied }): void {
    if (this[LOCK][HELD] > 0) remotePost(this, "notifyAll");
    else remoteSync(this, "notifyAll");
  },
};

const eventMembers = {
  ...common,
  isSet(this: Proxied): boolean {
    return remoteSync(this, "isSet") as boolean;
  },
  set(this: Proxied): void {
    remotePost(this, "set");
  },
  clear(this: Proxied): void {
    remotePost(this, "clear");
  },
  wait(this: Proxied, options?: WaitOptions): Promise<boolean> {
    return rejecting(() => {
      checkWait(options, "Event.wait()");
      return remoteAsync(this, "wait", [sent(options)], options?.signal) as Promise<boolean>;
    });
  },
  waitSync(this: Proxied, options?: WaitOptions): boolean {
    checkWait(options, "Event.waitSync()");
    assertMayBlock("Event.waitSync()", "event.wait()", options);
    throwIfAborted(options?.signal);
    return remoteSync(this, "wait", [sent(options)]) as boolean;
  },
};

const barrierMembers = {
  ...common,
  get parties(): number {
    return (this as unknown as Proxied)[REMOTE].meta.parties as number;
  },
  get nWaiting(): number {
    return remoteSync(this as unknown as Proxied, "nWaiting") as number;
  },
  get broken(): boolean {
    return remoteSync(this as unknown as Proxied, "broken") as boolean;
  },
  wait(this: Proxied, options?: WaitOptions): Promise<number> {
    return rejecting(() => {
      checkWait(options, "Barrier.wait()");
      return remoteAsync(this, "wait", [sent(options)], options?.signal) as Promise<number>;
    });
  },
  waitSync(this: Proxied, options?: WaitOptions): number {
    checkWait(options, "Barrier.waitSync()");
    assertMayBlock("Barrier.waitSync()", "barrier.wait()", options);
    throwIfAborted(options?.signal);
    return remoteSync(this, "wait", [sent(options)]) as number;
  },
  reset(this: Proxied): void {
    remoteSync(this, "reset");
  },
  abort(this: Proxied): void {
    remoteSync(this, "abort");
  },
};

const LEASE: unique symbol = Symbol("weft.lease");

/** Queue items this thread holds on lease from the owner, not yet handed to a caller. */
interface Lease {
  /** Delivery ids and items, in the order they are handed over, from `taken` on. */
  ids: number[];
  items: unknown[];
  taken: number;
  /** How many items the next remote get asks for (grows while a consumer keeps taking). */
  ask: number;
}

/** This thread's async gets of a proxy that wait at the owner, oldest first: each can be called off. */
const ASYNC_GETS: unique symbol = Symbol("weft.asyncGets");

type QueueProxy = Proxied & { [LEASE]?: Lease; [ASYNC_GETS]?: Set<AbortController> };

/**
 * How many items a get asks the owner for. FIFO queues lease batches; a LIFO or priority
 * queue's order would suffer, so they take one at a time. A get takes one while an async
 * get of this thread waits at the owner: a batch would sit here while that get waits there
 * for an item (see {@link asyncGet} for how a batch that comes anyway is shared).
 */
function leaseSize(self: QueueProxy): number {
  const kind = self[REMOTE].kind;
  if ((self[ASYNC_GETS]?.size ?? 0) > 0 || (kind !== "Queue" && kind !== "SimpleQueue")) return 1;
  return self[LEASE]?.ask ?? 1;
}

/** Why an async get waiting at the owner was called off: items for it came on this side. */
const CALLED_OFF = new Error("weft: an async get served from this thread's lease");

/**
 * An async get that has to ask the owner: a lease, as a blocking get takes, when no other
 * async get of this thread waits there. Several can wait at once (async tasks of one
 * thread), and an answer can bring more items than the get that asked takes, when its
 * lease was asked before the others began, or crossed their calls. Then as many of the
 * others as there are items left are called off (their waits cancelled at the owner), and
 * each takes its item here; one whose cancel crossed its own answer keeps that answer, and
 * one that finds the items gone asks again. So no item sits here while a get of this
 * thread waits at the owner.
 */
async function asyncGet(self: QueueProxy, options: AcquireOptions | undefined): Promise<unknown> {
  const deadline = deadlineOf(options?.timeout, `${kindName(self)}.get()`);
  const user = options?.signal;
  const waiting = (self[ASYNC_GETS] ??= new Set());
  for (;;) {
    throwIfAborted(user);
    const ask = leaseSize(self);
    const mine = new AbortController();
    const forward = (): void => mine.abort(user?.reason);
    user?.addEventListener("abort", forward, { once: true });
    waiting.add(mine);
    try {
      const answer = await remoteAsync(self, "get", [sentWithin(options, deadline), ask], mine.signal);
      waiting.delete(mine);
      const item = leased(self, answer);
      let left = leftOnLease(self);
      for (const other of waiting) {
        if (left-- <= 0) break;
        other.abort(CALLED_OFF);
      }
      return item;
    } catch (error) {
      if (error !== CALLED_OFF) throw error;
      const here = takeLeased(self);
      if (here !== NONE) return here;
    } finally {
      waiting.delete(mine);
      user?.removeEventListener("abort", forward);
    }
  }
}

/** {@link sent}, with what is left of the caller's timeout (a get that asks again). */
function sentWithin(options: AcquireOptions | undefined, deadline: number): AcquireOptions | undefined {
  const out = sent(options);
  if (out?.timeout !== undefined) out.timeout = remaining(deadline);
  return out;
}

/** Hands over the next leased item, acknowledged first; NONE if none is left. */
function takeLeased(self: QueueProxy): unknown {
  const lease = self[LEASE];
  if (lease === undefined || lease.taken === lease.items.length) return NONE;
  const index = lease.taken++;
  channelOf(self).ack(lease.ids[index]);
  const item = lease.items[index];
  lease.items[index] = undefined;
  return decodeInProcess(item);
}

/**
 * Keeps a lease `[firstId, ...items]` from the owner (after what is left of earlier ones:
 * two async gets may be answered while neither has been handed over) and hands over the
 * next item.
 */
function leased(self: QueueProxy, answer: unknown): unknown {
  const [first, ...items] = answer as [number, ...unknown[]];
  const previous = self[LEASE];
  const asked = previous?.ask ?? 1;
  // A full lease means more was waiting: ask for twice as many next time.
  const ask = items.length >= asked ? Math.min(LEASE_MAX, 2 * asked) : asked;
  const lease: Lease = previous === undefined || previous.taken === previous.items.length
    ? { ids: [], items: [], taken: 0, ask }
    : { ids: previous.ids.slice(previous.taken), items: previous.items.slice(previous.taken), taken: 0, ask };
  for (let i = 0; i < items.length; i++) {
    lease.ids.push(first + i);
    lease.items.push(items[i]);
  }
  self[LEASE] = lease;
  return takeLeased(self);
}

function leftOnLease(self: QueueProxy): number {
  const lease = self[LEASE];
  return lease === undefined ? 0 : lease.items.length - lease.taken;
}

const NONE: unique symbol = Symbol("weft.none");
const LEASE_MAX = 256;

/** An unbounded queue's put cannot wait or be refused for room: it is sent one way. */
function oneWay(self: Proxied): boolean {
  return self[REMOTE].kind === "SimpleQueue" || self[REMOTE].meta.maxsize === 0;
}

function channelOf(self: Proxied) {
  const remote = self[REMOTE];
  return channelTo(remote.address, remote.pid);
}

const simpleQueueMembers = {
  ...common,
  put(this: Proxied, item: unknown, options?: AcquireOptions): Promise<void> {
    return rejecting(() => {
      checkWait(options, `${kindName(this)}.put()`);
      const encoded = encodeForProcess(item, "item");
      if (oneWay(this)) {
        throwIfAborted(options?.signal);
        return channelOf(this).postSoon(this[REMOTE].id, "put", [encoded, undefined]);
      }
      return remoteAsync(this, "put", [encoded, sent(options)], options?.signal) as Promise<void>;
    });
  },
  putSync(this: Proxied, item: unknown, options?: AcquireOptions): void {
    checkWait(options, `${kindName(this)}.putSync()`);
    assertMayBlock(`${kindName(this)}.putSync()`, "queue.put()", options);
    throwIfAborted(options?.signal);
    const encoded = encodeForProcess(item, "item");
    if (oneWay(this)) remotePost(this, "put", [encoded, undefined]);
    else remoteSync(this, "put", [encoded, sent(options)]);
  },
  putNowait(this: Proxied, item: unknown): void {
    const encoded = encodeForProcess(item, "item");
    if (oneWay(this)) remotePost(this, "put", [encoded, undefined]);
    else remoteSync(this, "putNowait", [encoded]);
  },
  get(this: QueueProxy, options?: AcquireOptions): Promise<unknown> {
    return rejecting(() => {
      checkWait(options, `${kindName(this)}.get()`);
      throwIfAborted(options?.signal);
      const here = takeLeased(this);
      if (here !== NONE) return Promise.resolve(here);
      return asyncGet(this, options);
    });
  },
  getSync(this: QueueProxy, options?: AcquireOptions): unknown {
    checkWait(options, `${kindName(this)}.getSync()`);
    assertMayBlock(`${kindName(this)}.getSync()`, "queue.get()", options);
    throwIfAborted(options?.signal);
    const here = takeLeased(this);
    if (here !== NONE) return here;
    return leased(this, remoteSync(this, "get", [sent(options), leaseSize(this)]));
  },
  getNowait(this: QueueProxy): unknown {
    const here = takeLeased(this);
    if (here !== NONE) return here;
    return leased(this, remoteSync(this, "getNowait", [undefined, leaseSize(this)]));
  },
  qsize(this: QueueProxy): number {
    return leftOnLease(this) + (remoteSync(this, "qsize") as number);
  },
  empty(this: QueueProxy): boolean {
    return leftOnLease(this) === 0 && (remoteSync(this, "empty") as boolean);
  },
  shutdown(this: Proxied, options?: { immediate?: boolean }): void {
    remoteSync(this, "shutdown", [options === undefined ? undefined : { immediate: options.immediate }]);
  },
  get isShutdown(): boolean {
    return remoteSync(this as unknown as Proxied, "isShutdown") as boolean;
  },
  async *[Symbol.asyncIterator](this: Proxied & { get(): Promise<unknown> }): AsyncGenerator<unknown, void, undefined> {
    for (;;) {
      let item: unknown;
      try {
        item = await this.get();
      } catch (error) {
        if (error instanceof ShutDown) return;
        throw error;
      }
      yield item;
    }
  },
};

const queueMembers = including(simpleQueueMembers, {
  get maxsize(): number {
    return (this as unknown as Proxied)[REMOTE].meta.maxsize as number;
  },
  full(this: Proxied): boolean {
    return remoteSync(this, "full") as boolean;
  },
  taskDone(this: Proxied): void {
    remoteSync(this, "taskDone");
  },
  join(this: Proxied, options?: { signal?: AbortSignal }): Promise<void> {
    return rejecting(() => {
      checkOptions(options, `${kindName(this)}.join()`);
      return remoteAsync(this, "join", [], options?.signal) as Promise<void>;
    });
  },
  joinSync(this: Proxied): void {
    assertMayBlock(`${kindName(this)}.joinSync()`, "queue.join()");
    remoteSync(this, "join");
  },
});

/** A SharedValue proxy keeps its element checks, so that a store can be pipelined. */
const valueMembers = {
  ...common,
  get value(): unknown {
    return remoteSync(this as unknown as Proxied, "load");
  },
  set value(next: unknown) {
    const self = this as unknown as Proxied & { type: SharedType };
    const info = elementInfo(self.type);
    if (!fitsElement(info, next)) throw elementError(info, next, `SharedValue("${self.type}").value`);
    remotePost(self, "store", [next]);
  },
  add(this: Proxied, n: number | bigint): unknown {
    return remoteSync(this, "add", [n]);
  },
  sub(this: Proxied, n: number | bigint): unknown {
    return remoteSync(this, "sub", [n]);
  },
  compareExchange(this: Proxied, expected: number | bigint, next: number | bigint): unknown {
    return remoteSync(this, "compareExchange", [expected, next]);
  },
  toString(this: { value: unknown }): string {
    return String(this.value);
  },
};

const arrayMembers = {
  ...common,
  get length(): number {
    return (this as unknown as Proxied)[REMOTE].meta.length as number;
  },
  get array(): never {
    throw new TypeError(
      "SharedArray.array: the typed array over shared memory exists only in the process that made the array; " +
        "in this process use arr[i], arr[i] = x and for..of (each a call to that process)",
    );
  },
  [Symbol.iterator](this: Proxied): IterableIterator<unknown> {
    return (remoteSync(this, "toArray") as unknown[]).values();
  },
};

/** Index access on a SharedArray proxy: each read or write is a call to the owner. */
const arrayIndexTraps: ProxyHandler<Proxied & { type: SharedType }> = {
  get(target, key, receiver) {
    if (typeof key === "string" && isIndex(key)) return remoteSync(target, "at", [Number(key)]);
    return Reflect.get(target, key, receiver);
  },
  set(target, key, value, receiver) {
    if (typeof key === "string" && isIndex(key)) {
      const info = elementInfo(target.type);
      if (!fitsElement(info, value)) throw elementError(info, value, `SharedArray("${target.type}")[${key}]`);
      remotePost(target, "setAt", [Number(key), value]);
      return true;
    }
    return Reflect.set(target, key, value, receiver);
  },
};

function isIndex(key: string): boolean {
  return /^(0|[1-9]\d*)$/.test(key);
}

/** `base`'s members and `more`, getters kept as getters (a spread would call them). */
function including<A extends object, B extends object>(base: A, more: B): A & B {
  return Object.defineProperties({}, { ...Object.getOwnPropertyDescriptors(base), ...Object.getOwnPropertyDescriptors(more) }) as A & B;
}

/** A prototype with `members` over the real class's prototype. */
function over(real: { prototype: object }, members: object): object {
  return Object.create(real.prototype, Object.getOwnPropertyDescriptors(members)) as object;
}

const prototypes: Record<ProcessSharedKind, object> = {
  Lock: over(Lock, lockMembers("Lock", "lock")),
  RLock: over(RLock, lockMembers("RLock", "rlock")),
  Condition: over(Condition, conditionMembers),
  Semaphore: over(Semaphore, semaphoreMembers),
  BoundedSemaphore: over(BoundedSemaphore, semaphoreMembers),
  Event: over(Event, eventMembers),
  Barrier: over(Barrier, barrierMembers),
  Queue: over(Queue, queueMembers),
  LifoQueue: over(LifoQueue, queueMembers),
  PriorityQueue: over(PriorityQueue, queueMembers),
  SimpleQueue: over(SimpleQueue, simpleQueueMembers),
  SharedValue: over(SharedValue, valueMembers),
  SharedArray: over(SharedArray, arrayMembers),
};

/** This thread's proxies, so that an object arriving twice is one proxy (and one lock count). */
const proxies = new Map<string, WeakRef<object>>();

/** The proxy for a descriptor that arrived from another process. */
export function reviveProxy(descriptor: ProcessDescriptor): object {
  const key = `${descriptor.address}\n${descriptor.id}`;
  const known = proxies.get(key)?.deref();
  if (known !== undefined) return known;
  const proto = prototypes[descriptor.kind];
  if (proto === undefined) throw new TypeError(`weft: no process-shared object of kind "${String(descriptor.kind)}" is known`);
  const proxy = Object.create(proto) as Proxied & Record<PropertyKey, unknown>;
  Object.defineProperty(proxy, REMOTE, { value: descriptor });
  proxy[HELD] = 0;
  const meta = descriptor.meta;
  if (meta.lock !== undefined) {
    const lock = reviveForProcess(meta.lock as ProcessDescriptor);
    if (descriptor.kind === "Condition") Object.defineProperty(proxy, LOCK, { value: lock });
    else Object.defineProperty(proxy, "lock", { value: lock, enumerable: true });
  }
  if (meta.type !== undefined) Object.defineProperty(proxy, "type", { value: meta.type, enumerable: true });
  const made: object = descriptor.kind === "SharedArray" ? new Proxy(proxy as unknown as Proxied & { type: SharedType }, arrayIndexTraps) : proxy;
  proxies.set(key, new WeakRef(made));
  return made;
}

// A proxy passed to a thread of this process arrives there as a proxy too.
registerShareable("weft.remote", (descriptor) => {
  takeArriving();
  return reviveProxy(descriptor.remote as ProcessDescriptor) as never;
});
