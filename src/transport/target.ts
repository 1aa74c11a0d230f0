/**
 * Shipping code to another thread. A target is either a self-contained function, sent as
 * its source text and compiled again on arrival, or a module export, imported there.
 *
 * This module knows nothing of worker_threads: the same descriptors serve threads, pools
 * and (later) processes and machines.
 */
import { prepareModuleImport } from "./typescript-loader.js";
import { compilerHelpers, helpersUsedBy } from "./compiler-helpers.js";
import { locateFunction, type SourceLocation } from "./location.js";
import { provideFunctionShipping } from "../core/shareable.js";

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
  | { readonly kind: "source"; readonly source: string; readonly name: string; readonly location?: SourceLocation }
  | { readonly kind: "module"; readonly module: string; readonly export: string };

/** Turns a target into plain data, or throws a `TypeError` that names `argName`. */
export function describeTarget(target: unknown, argName: string): TargetDescriptor {
  if (typeof target === "function") {
    const source = Function.prototype.toString.call(target);
    if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
      throw new TypeError(`${argName}: a built-in or bound function cannot be sent to a thread; wrap it in a self-contained function`);
    }
    const location = locateFunction(target as (...args: never[]) => unknown, source);
    return location === undefined ? { kind: "source", source, name: target.name } : { kind: "source", source, name: target.name, location };
  }
  if (typeof target === "object" && target !== null && "module" in target && "export" in target) {
    const { module, export: exportName } = target as ModuleTarget;
    if (typeof exportName !== "string" || exportName === "") {
      throw new TypeError(`${argName}.export: expected the name of an exported function, got ${typeof exportName}`);
    }
    const url = moduleUrl(module, `${argName}.module`);
    if (/\/\[(?:eval|stdin)\d*\]$/.test(url)) {
      throw new TypeError(
        `${argName}.module: ${url} is code given with \`node -e\` or on stdin, which has no file a thread can import; ` +
          `ship a self-contained function as the target instead, or put the code in a file`,
      );
    }
    return { kind: "module", module: url, export: exportName };
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
type SourceDescriptor = Extract<TargetDescriptor, { kind: "source" }>;

const compiled = new Map<string, AnyFunction>();

/**
 * Compiles a function from its source text, in this thread's global scope (so it sees
 * globals, not the variables of the module it was written in), with the compiler helpers
 * it calls in scope. Cached by source and file.
 */
export function compileSource(descriptor: SourceDescriptor): AnyFunction {
  const key = descriptor.location === undefined ? descriptor.source : `${descriptor.location.file}\0${descriptor.source}`;
  let fn = compiled.get(key);
  if (fn === undefined) {
    fn = evaluateFunction(descriptor);
    compiled.set(key, fn);
  }
  return fn;
}

function evaluateFunction({ source, name, location }: SourceDescriptor): AnyFunction {
  const helpers = helpersUsedBy(source);
  // The text goes at the line and column it was written at, and the script is named after
  // its file, so that the thread's stack points into the user's code.
  const line = location?.line ?? 1;
  const lead = "\n".repeat(Math.max(0, line - 2));
  const indent = " ".repeat(Math.max(0, (location?.column ?? 1) - 1));
  const sourceUrl = location === undefined ? "" : `\n//# sourceURL=${location.file.replace(/\s/g, encodeURIComponent)}`;
  // Arrow functions, `function` and `class` expressions parse as they are; a method
  // written in shorthand (`worker(x) { ... }`) parses once it is put back in an object.
  const forms: [string, string][] = [["(", ")"], ["({ ", ` })[${JSON.stringify(name)}]`]];
  for (const [open, close] of forms) {
    const code = `${lead}(function (${helpers.join(", ")}) { return ${open}\n${indent}${source}\n${close}; })${sourceUrl}`;
    let fn: unknown;
    try {
      fn = ((0, eval)(code) as (...helpers: unknown[]) => unknown)(...helpers.map((helper) => compilerHelpers[helper]));
    } catch (error) {
      if (error instanceof SyntaxError) continue;
      throw error;
    }
    if (typeof fn === "function") return fn as AnyFunction;
  }
  throw new TypeError(`cannot rebuild the function ${name || "(anonymous)"} from its source in the thread`);
}

let importing: string | undefined;

/**
 * The module this thread is importing to find its target, while its top level runs. A
 * thread started then is the missing `isMainThread` guard's runaway recursion (each thread
 * imports the module, which starts another thread), which Python's spawn refuses as
 * "bootstrapping"; Thread.start() asks this to refuse it too.
 */
export function bootstrappingModule(): string | undefined {
  return importing;
}

/** Resolves a target to the function to call, importing its module if needed. */
export async function resolveTarget(descriptor: TargetDescriptor): Promise<AnyFunction> {
  if (descriptor.kind === "source") return compileSource(descriptor);
  await prepareModuleImport(descriptor.module);
  let namespace: Record<string, unknown>;
  importing = descriptor.module;
  try {
    namespace = (await import(descriptor.module)) as Record<string, unknown>;
  } finally {
    importing = undefined;
  }
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
  const moduleTarget = `use a module target: { module: import.meta.url, export: "${descriptor.name || "worker"}" }`;
  const imported = importedName(variable, descriptor.source);
  if (imported !== undefined) {
    return (
      `${fn} uses \`${imported}\`, which its module imports (the compiler rewrote the import as \`${variable}\`): ` +
      `a function sent to a thread is shipped as source and cannot see the imports of the module it was written in. ` +
      `Import it inside the function (\`const { ${imported} } = await import("...")\`), pass it in \`args\` if it is a value, or ${moduleTarget}`
    );
  }
  if (/^(?:__\w+|_asyncToGenerator)$/.test(variable)) {
    // A helper (`__generator`, `__decorate`, ...) that a compiler put at the top of the module
    // and that weft has no safe equivalent of: the user cannot pass it.
    return (
      `${fn} was compiled to code that calls \`${variable}\`, a helper your compiler put at the top of the module ` +
      `for syntax it lowered, so the function cannot be shipped as source. Compile for a newer target (ES2022), or ${moduleTarget}`
    );
  }
  return (
    `${fn} reads \`${variable}\`, which is not defined in the thread: a function sent to a thread ` +
    `is shipped as source and cannot see variables of the module it was written in. ` +
    `Pass \`${variable}\` in \`args\`, import it inside the function with \`await import(...)\`, or ${moduleTarget}`
  );
}

/**
 * The imported name behind a compiler's rewrite of an import: Vite's
 * `__vite_ssr_import_0__.name`, tsc's CommonJS `module_1.name`, esbuild's `import_module.name`.
 */
function importedName(variable: string, source: string): string | undefined {
  if (!/^(?:__vite_ssr_import_\d+__|[A-Za-z_$][\w$]*_\d+|import_[\w$]+)$/.test(variable)) return undefined;
  const escaped = variable.replace(/\$/g, "\\$");
  const access = new RegExp(`\\b${escaped}\\s*\\.\\s*([A-Za-z_$][\\w$]*)`).exec(source);
  return access?.[1];
}

/**
 * A function that runs a shipped function with no arguments (a Barrier's action: see
 * core/shareable.ts), re-raising its ReferenceError with the closure hint.
 */
function reviveAction(descriptor: TargetDescriptor): () => unknown {
  if (descriptor.kind !== "source") return () => undefined;
  const fn = compileSource(descriptor);
  return () => {
    try {
      return fn();
    } catch (error) {
      const hint = closureHint(error, descriptor);
      if (hint !== undefined) throw new ReferenceError(`${(error as Error).message}. ${hint}`, { cause: error });
      throw error;
    }
  };
}

provideFunctionShipping({
  describe: (fn, argName) => describeTarget(fn, argName),
  revive: (data) => reviveAction(data as TargetDescriptor),
});
