/**
 * Helpers that compilers put at the top of a module and that a function shipped as source
 * may call: esbuild's keep-names `__name` (tsx, vitest), its class-field and `using`
 * lowering, tsc's `__awaiter` and `using` lowering, Babel's `_asyncToGenerator`, and Vite's
 * rewritten dynamic import. The shipped function lost the module that defined them, so the
 * thread hands it these equivalents, written here from the behaviour each helper has (the
 * compilers' own code is not copied).
 *
 * Only helpers with one safe meaning are here. A helper that is not (tsc's ES5
 * `__generator`, say) stays undefined, and the closure hint names it.
 */

type Fn = (...args: never[]) => unknown;

interface DisposeEntry {
  readonly value: unknown;
  readonly dispose: (() => unknown) | undefined;
  readonly async: boolean;
}

const suppressed = (error: unknown, suppressedError: unknown): Error => {
  const Suppressed = (globalThis as { SuppressedError?: new (e: unknown, s: unknown, m: string) => Error }).SuppressedError;
  if (Suppressed !== undefined) return new Suppressed(error, suppressedError, "An error was suppressed during disposal.");
  const wrapped = new Error("An error was suppressed during disposal.") as Error & { error: unknown; suppressed: unknown };
  wrapped.name = "SuppressedError";
  wrapped.error = error;
  wrapped.suppressed = suppressedError;
  return wrapped;
};

function disposerOf(value: unknown, async: boolean): (() => unknown) | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== "object" && typeof value !== "function") throw new TypeError("Object expected.");
  const holder = value as Record<symbol, unknown>;
  let dispose = async ? holder[Symbol.asyncDispose] : undefined;
  if (dispose === undefined) dispose = holder[Symbol.dispose];
  if (typeof dispose !== "function") throw new TypeError("Object not disposable.");
  return dispose as () => unknown;
}

/** Disposes `stack` in reverse; returns a promise only if some disposal was async. */
function disposeAll(stack: DisposeEntry[], error: unknown, hasError: boolean): unknown {
  const fail = (thrown: unknown): void => {
    error = hasError ? suppressed(thrown, error) : thrown;
    hasError = true;
  };
  const next = (): unknown => {
    while (stack.length > 0) {
      const entry = stack.pop() as DisposeEntry;
      try {
        const result = entry.dispose?.call(entry.value);
        if (entry.async) return Promise.resolve(result).then(next, (thrown: unknown) => (fail(thrown), next()));
      } catch (thrown) {
        fail(thrown);
      }
    }
    if (hasError) throw error;
    return undefined;
  };
  return next();
}

interface TscEnv {
  stack: DisposeEntry[];
  error: unknown;
  hasError: boolean;
}

/** Steps a generator as an async function would, awaiting each yielded value. */
function runAsync(generator: Generator<unknown, unknown, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const step = (method: "next" | "throw", input: unknown): void => {
      let result: IteratorResult<unknown>;
      try {
        result = generator[method](input);
      } catch (error) {
        reject(error);
        return;
      }
      if (result.done) resolve(result.value);
      else Promise.resolve(result.value).then((value) => step("next", value), (error: unknown) => step("throw", error));
    };
    step("next", undefined);
  });
}

/** The helpers, by the name a compiler gives them. */
export const compilerHelpers: Readonly<Record<string, Fn>> = {
  __name: (target: object, value: string) => Object.defineProperty(target, "name", { value, configurable: true }),
  __defProp: Object.defineProperty as Fn,
  __publicField: (obj: object, key: PropertyKey, value: unknown) => {
    Object.defineProperty(obj, typeof key === "symbol" ? key : String(key), { value, enumerable: true, configurable: true, writable: true });
    return value;
  },
  // tsc: __awaiter(this, arguments, Promise, function* () { ... })
  __awaiter: (thisArg: unknown, args: unknown[] | undefined, _P: unknown, body: (...a: unknown[]) => Generator<unknown, unknown, unknown>) =>
    runAsync(body.apply(thisArg, args ?? [])),
  // esbuild: __async(this, arguments, function* () { ... })
  __async: (thisArg: unknown, args: unknown[] | undefined, body: (...a: unknown[]) => Generator<unknown, unknown, unknown>) =>
    runAsync(body.apply(thisArg, args ?? [])),
  // Babel: _asyncToGenerator(function* () { ... })
  _asyncToGenerator: (body: (...a: unknown[]) => Generator<unknown, unknown, unknown>) =>
    function (this: unknown, ...args: unknown[]) {
      return runAsync(body.apply(this, args));
    },
  // tsc's `using`: env = { stack: [], error: void 0, hasError: false }
  __addDisposableResource: (env: TscEnv, value: unknown, async: boolean) => {
    const dispose = disposerOf(value, async);
    if (dispose !== undefined || async) env.stack.push({ value, dispose, async });
    return value;
  },
  __disposeResources: (env: TscEnv) => disposeAll(env.stack, env.error, env.hasError),
  // esbuild's `using`: __using(stack, value, async) ... __callDispose(stack, error, hasError)
  __using: (stack: DisposeEntry[], value: unknown, async?: boolean) => {
    const dispose = disposerOf(value, async === true);
    if (dispose !== undefined || async === true) stack.push({ value, dispose, async: async === true });
    return value;
  },
  __callDispose: (stack: DisposeEntry[], error: unknown, hasError: boolean) => disposeAll(stack, error, hasError),
  // Vite / vitest rewrite `import(x)` inside any function into this call.
  __vite_ssr_dynamic_import__: (specifier: string) => import(specifier),
};

const helperPattern = /\b(?:__[A-Za-z]\w*|_asyncToGenerator)\b/g;

/** The names of the helpers that `source` may call, among those there are. */
export function helpersUsedBy(source: string): string[] {
  const names = new Set<string>();
  for (const match of source.matchAll(helperPattern)) if (Object.hasOwn(compilerHelpers, match[0])) names.add(match[0]);
  return [...names];
}
