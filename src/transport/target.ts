/**
 * Shipping code to another thread. A target is either a self-contained function, sent as
 * its source text and compiled again on arrival, or a module export, imported there.
 *
 * This module knows nothing of worker_threads: the same descriptors serve threads, pools
 * and (later) processes and machines.
 */

/** A module export to run: `{ module: import.meta.url, export: "worker" }`. */
export interface ModuleTarget {
  /** A file URL (string or `URL`) or an absolute path. */
  module: string | URL;
  /** The name of the exported function. */
  export: string;
}

/** What a thread or a pool runs: a self-contained function or a module export. */
export type Target<F extends (...args: never[]) => unknown = (...args: never[]) => unknown> = F | ModuleTarget;

/** A target reduced to plain data. */
export type TargetDescriptor =
  | { readonly kind: "source"; readonly source: string; readonly name: string }
  | { readonly kind: "module"; readonly module: string; readonly export: string };

/** Turns a target into plain data, or throws a `TypeError` that names `argName`. */
export function describeTarget(target: unknown, argName: string): TargetDescriptor {
  if (typeof target === "function") {
    const source = Function.prototype.toString.call(target);
    if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
      throw new TypeError(`${argName}: a built-in or bound function cannot be sent to a thread; wrap it in a self-contained function`);
    }
    return { kind: "source", source, name: target.name };
  }
  if (typeof target === "object" && target !== null && "module" in target && "export" in target) {
    const { module, export: exportName } = target as ModuleTarget;
    if (typeof exportName !== "string" || exportName === "") {
      throw new TypeError(`${argName}.export: expected the name of an exported function, got ${typeof exportName}`);
    }
    return { kind: "module", module: moduleUrl(module, `${argName}.module`), export: exportName };
  }
  throw new TypeError(
    `${argName}: expected a function or { module, export }, got ${target === null ? "null" : typeof target}`,
  );
}

function moduleUrl(module: unknown, argName: string): string {
  if (module instanceof URL) return module.href;
  if (typeof module === "string") {
    if (/^(file|data):/.test(module)) return module;
    if (module.startsWith("/")) return new URL(`file://${encodeURI(module)}`).href;
    throw new TypeError(`${argName}: expected a file URL or an absolute path (e.g. import.meta.url), got ${JSON.stringify(module)}`);
  }
  throw new TypeError(`${argName}: expected a file URL, URL or absolute path, got ${module === null ? "null" : typeof module}`);
}

/** A short name for messages and thread names: the function's or export's name. */
export function targetName(descriptor: TargetDescriptor): string {
  return descriptor.kind === "source" ? descriptor.name : descriptor.export;
}

type AnyFunction = (...args: unknown[]) => unknown;

const compiled = new Map<string, AnyFunction>();

/**
 * Compiles a function from its source text, in this thread's global scope (so it sees
 * globals, not the variables of the module it was written in). Cached by source.
 */
export function compileSource(source: string, name: string): AnyFunction {
  let fn = compiled.get(source);
  if (fn === undefined) {
    fn = evaluateFunction(source, name);
    compiled.set(source, fn);
  }
  return fn;
}

function evaluateFunction(source: string, name: string): AnyFunction {
  // Arrow functions, `function` and `class` expressions parse as they are; a method
  // written in shorthand (`worker(x) { ... }`) parses once it is put back in an object.
  const attempts = [`return (${source});`, `return ({ ${source} })[${JSON.stringify(name)}];`];
  for (const body of attempts) {
    let fn: unknown;
    try {
      fn = new Function(body)();
    } catch (error) {
      if (error instanceof SyntaxError) continue;
      throw error;
    }
    if (typeof fn === "function") return fn as AnyFunction;
  }
  throw new TypeError(`cannot rebuild the function ${name || "(anonymous)"} from its source in the thread`);
}

/** Resolves a target to the function to call, importing its module if needed. */
export async function resolveTarget(descriptor: TargetDescriptor): Promise<AnyFunction> {
  if (descriptor.kind === "source") return compileSource(descriptor.source, descriptor.name);
  const namespace = (await import(descriptor.module)) as Record<string, unknown>;
  const fn = namespace[descriptor.export];
  if (typeof fn !== "function") {
    throw new TypeError(
      `target: module ${descriptor.module} has no exported function "${descriptor.export}" (found ${typeof fn})`,
    );
  }
  return fn as AnyFunction;
}

/**
 * If `error` is the ReferenceError of a shipped function that read a variable of its
 * enclosing module, returns a hint that says so and how to fix it.
 */
export function closureHint(error: unknown, descriptor: TargetDescriptor): string | undefined {
  if (descriptor.kind !== "source" || !(error instanceof ReferenceError)) return undefined;
  const match = /^(\S+) is not defined$/.exec(error.message);
  if (match === null) return undefined;
  const variable = match[1];
  const fn = descriptor.name || "the target";
  if (/^__\w+$/.test(variable)) {
    // tslib-style helpers (`__awaiter`, `__disposeResources`, ...) that a compiler put at
    // the top of the module: the function's compiled form needs them, the user cannot pass them.
    return (
      `${fn} was compiled to code that calls \`${variable}\`, a helper your compiler placed at the top of the module ` +
      `(for syntax such as \`using\` or downlevelled async), so it cannot be shipped as source. ` +
      `Use a module target: { module: import.meta.url, export: "${descriptor.name || "worker"}" }, or compile for a newer target`
    );
  }
  return (
    `${fn} reads \`${variable}\`, which is not defined in the thread: a function sent to a thread ` +
    `is shipped as source and cannot see variables of the module it was written in. ` +
    `Pass \`${variable}\` in \`args\`, import it inside the function with \`await import(...)\`, ` +
    `or use a module target: { module: import.meta.url, export: "${descriptor.name || "worker"}" }`
  );
}
