/**
 * Type-level checks of `Sendable` (src/transport/sendable.ts), compiled by every build
 * (`tsc -p tsconfig.dev.json`, part of `npm test`): each `@ts-expect-error` line must be a
 * type error, or the build fails with "Unused '@ts-expect-error' directive"; every other
 * line must compile. Nothing here runs.
 */
import { Lock, Queue, SharedValue, Thread, ThreadPoolExecutor, Timer } from "weft-threads";

declare const pool: ThreadPoolExecutor;

// Accepted: data, weft's shared objects, cloneable built-ins, interfaces and classes.
interface Options {
  readonly label: string;
  describe(): string;
}
new Thread({ target: (n: number, lock: Lock, q: Queue<string>) => n, args: [1, new Lock(), new Queue<string>()] });
new Thread({ target: (m: Map<string, number>, d: Date, b: Uint8Array) => m.size, args: [new Map(), new Date(), new Uint8Array(2)] });
new Thread({ target: (o: Options) => o.label, args: [{ label: "x", describe: () => "x" }] });
new Thread({ target: (o: { nested: { values: number[] } }) => o, args: [{ nested: { values: [1, 2] } }] });
new Thread({ target: (...xs: number[]) => xs.length, args: [1, 2, 3] });
new Thread({ target: (x: unknown) => x, args: [() => 1] });
new Thread({ target: () => 1 });
const sum: number = await pool.submit((a: number, v: SharedValue<"int32">) => a + v.value, 1, new SharedValue("int32"));
new Timer(10, (s: string) => s, ["x"]);
void sum;

// Rejected: a function, at the top or inside an object literal type or array.
// @ts-expect-error functions cannot be sent to a thread
new Thread({ target: (callback: () => void) => callback, args: [() => {}] });
// @ts-expect-error functions cannot be sent to a thread
new Thread({ target: (o: { callback: () => void; n: number }) => o.n, args: [{ callback: () => {}, n: 1 }] });
// @ts-expect-error functions cannot be sent to a thread
new Thread({ target: (fs: (() => number)[]) => fs.length, args: [[() => 1]] });
// @ts-expect-error functions cannot be sent to a thread
void pool.submit((f: (x: number) => number) => f(1), (x: number) => x);
// @ts-expect-error functions cannot be sent to a thread
void pool.submit((o: { deep: { f: () => void } }) => o, { deep: { f: () => {} } });
// @ts-expect-error classes cannot be sent either
void pool.submit((c: typeof Lock) => c, Lock);
// @ts-expect-error functions cannot be sent to a thread
new Timer(10, (f: () => void) => f, [() => {}]);
