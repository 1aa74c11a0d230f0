/**
 * `Sendable<T>`: the type-level half of "a value that cannot be sent is a clear error".
 *
 * Arguments are structured-cloned, so a function cannot cross to a thread; the run-time
 * check names its path (`args[1].callback: functions cannot be sent to a thread`) before
 * anything starts. This type lets the compiler say it first: where a target's parameter
 * is a function, or an object literal type or array holding one, the argument's type
 * becomes {@link CannotSend}, and passing the function is a type error that reads why.
 *
 * It looks only where it can be sure. Interfaces and class instances (a `Lock`, a `Map`, a
 * `Date`, a user's class) have methods but are not checked, since weft's shared objects and
 * the cloneable built-ins are exactly such types; `any` and `unknown` are left alone. In
 * generic code the check cannot be decided: a wrapper declares its own rest parameter as
 * `...args: SendableArgs<A>` and passes it on, or casts a list it builds
 * (`[gate, ...args] as SendableArgs<[Barrier, ...A]>`).
 */

/** What a function argument's type becomes: the compiler's error quotes `Why`. */
export interface CannotSend<Why extends string> {
  readonly "cannot be sent to a thread": Why;
}

type FunctionsCannotBeSent = CannotSend<"functions cannot be sent to a thread: pass data in args, or use a module target">;

/** `T` where it can be sent; functions in it (see the top of this file) replaced by {@link CannotSend}. */
export type Sendable<T> = 0 extends 1 & T
  ? T
  : T extends (...args: never[]) => unknown
    ? FunctionsCannotBeSent
    : T extends abstract new (...args: never[]) => unknown
      ? FunctionsCannotBeSent
      : T extends readonly unknown[]
        ? { [K in keyof T]: Sendable<T[K]> }
        : T extends Record<string, unknown>
          ? { [K in keyof T]: Sendable<T[K]> }
          : T;

/** An argument list as {@link Sendable} checks it (still an array type, for rest parameters). */
export type SendableArgs<A extends unknown[]> = Sendable<A> extends infer S extends unknown[] ? S : never;
