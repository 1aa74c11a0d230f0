/**
 * Lets a thread import a TypeScript module target.
 *
 * A worker thread does not run the `--import` hooks of the program that started it, so a
 * program run with `tsx` (or by vitest, which transforms files through Vite rather than a
 * Node loader) can name `.ts` module targets that the thread's plain Node cannot load.
 * Before a thread imports a module target, {@link prepareModuleImport} registers a loader
 * in the thread, once: tsx's own when it can be found, otherwise weft's type-stripping
 * hooks (./typescript-hooks.ts) over `esbuild` or `typescript` from the project's
 * node_modules.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isMainThread } from "node:worker_threads";

/** What ./typescript-hooks.ts receives through `module.register(..., { data })`. */
export interface TypeScriptHooksData {
  /** Which compiler strips the types. */
  readonly compiler: "typescript" | "esbuild" | "rolldown";
  /** The file URL of the compiler's entry point. */
  readonly compilerUrl: string;
}

const TYPESCRIPT_FILE = /\.(?:[mc]?ts|tsx)$/i;

/** A TypeScript loader (tsx's or weft's) is registered in this thread. */
let registered = false;
/** Whether the program runs under tsx, read once from `process.execArgv`. */
let tsxLoaderSpecifiers: string[] | undefined;
/** Under tsx, the first module import tried to register it (done or not). */
let triedTsxEagerly = false;
let pending: Promise<void> | undefined;

/**
 * Makes sure that `moduleUrl`, a module target's URL, can be imported in this thread:
 * registers a TypeScript loader, once per thread, when the module is TypeScript or the
 * program runs under tsx. Does nothing for modules Node can already load.
 */
export async function prepareModuleImport(moduleUrl: string): Promise<void> {
  if (registered) return;
  const typescript = isTypeScriptUrl(moduleUrl);
  // A .js module may still import .ts files when the program runs under tsx.
  if (!typescript && (triedTsxEagerly || !moduleUrl.startsWith("file:") || tsxSpecifiers().length === 0)) {
    // Not this module's business, but a registration under way must finish first.
    if (pending !== undefined) await pending.catch(() => undefined);
    return;
  }
  if (pending === undefined) {
    pending = (typescript ? registerLoader(moduleUrl) : registerTsxEagerly(moduleUrl)).finally(() => {
      pending = undefined;
    });
  }
  await pending;
  // A concurrent call may have registered tsx for a .js module without success; a
  // TypeScript module needs a loader all the same.
  if (typescript && !registered) await prepareModuleImport(moduleUrl);
}

function isTypeScriptUrl(moduleUrl: string): boolean {
  if (!moduleUrl.startsWith("file:")) return false;
  const pathname = moduleUrl.replace(/[?#].*$/s, "");
  return TYPESCRIPT_FILE.test(pathname);
}

/** The `--import`/`--loader`/`--require` values of `process.execArgv` (or NODE_OPTIONS) that name tsx. */
function tsxSpecifiers(): string[] {
  if (tsxLoaderSpecifiers !== undefined) return tsxLoaderSpecifiers;
  const found: string[] = [];
  const argv = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/).filter(Boolean)];
  for (let i = 0; i < argv.length; i++) {
    const match = /^(?:--import|--loader|--experimental-loader|--require|-r)(?:=(.*))?$/s.exec(argv[i]);
    if (match === null) continue;
    const value = match[1] ?? argv[++i];
    if (value !== undefined && isTsxSpecifier(value)) found.push(value);
  }
  tsxLoaderSpecifiers = found;
  return found;
}

function isTsxSpecifier(value: string): boolean {
  return /^tsx(?:\/|$)/.test(value) || /[\\/]tsx[\\/]dist[\\/]/.test(value);
}

async function registerTsxEagerly(moduleUrl: string): Promise<void> {
  triedTsxEagerly = true;
  if (!registered && !tsxRanHere()) await tryTsx(moduleUrl);
}

async function registerLoader(moduleUrl: string): Promise<void> {
  if (registered || tsxRanHere() || (await tryTsx(moduleUrl))) return;
  const modulePath = fileURLToPath(moduleUrl);
  const commonjs = commonJsReason(modulePath);
  if (commonjs !== undefined) {
    throw new TypeError(
      `target: cannot import the TypeScript module ${moduleUrl} in the thread: ${commonjs}, and without tsx ` +
        `weft only loads TypeScript as ES modules. Install tsx (\`npm install -D tsx\`), or point the target at the compiled .js file`,
    );
  }
  const compiler = findCompiler(moduleUrl);
  if (compiler === undefined) {
    throw new TypeError(
      `target: cannot import the TypeScript module ${moduleUrl}: no TypeScript loader is available in the thread ` +
        `(a worker thread does not inherit the main thread's --import loaders, and neither tsx, typescript nor esbuild ` +
        `could be found from the module's directory or the working directory). Fix: \`npm install -D tsx\`, ` +
        `or point the target at the compiled .js file`,
    );
  }
  register(new URL("./typescript-hooks.js", import.meta.url), { data: compiler satisfies TypeScriptHooksData });
  // As tsx does: stack traces of the stripped code point at the .ts lines.
  process.setSourceMapsEnabled(true);
  registered = true;
}

/** The main thread ran its own `--import tsx`: tsx is already there. */
function tsxRanHere(): boolean {
  if (isMainThread && tsxSpecifiers().length > 0) registered = true;
  return registered;
}

/** Registers tsx's ESM loader in this thread if tsx can be found; whether it was. */
async function tryTsx(moduleUrl: string): Promise<boolean> {
  for (const base of tsxSearchBases(moduleUrl)) {
    const api = resolveTsxApi(base);
    if (api === undefined) continue;
    try {
      const namespace = (await import(api)) as { register?: unknown; default?: { register?: unknown } };
      const tsxRegister = namespace.register ?? namespace.default?.register;
      if (typeof tsxRegister !== "function") continue;
      (tsxRegister as () => unknown)();
      registered = true;
      return true;
    } catch {
      // An unusable copy of tsx (too old, broken): try the next, then weft's hooks.
    }
  }
  return false;
}

/** Where to look for tsx from, in order: the loader named in execArgv, the module, cwd. */
function tsxSearchBases(moduleUrl: string): string[] {
  const bases: string[] = [];
  for (const specifier of tsxSpecifiers()) {
    if (specifier.startsWith("file:")) bases.push(fileURLToPath(specifier));
    else if (isAbsolute(specifier)) bases.push(specifier);
    // A bare `--import tsx` resolves from the working directory, as Node resolved it.
  }
  if (moduleUrl.startsWith("file:")) bases.push(fileURLToPath(moduleUrl));
  bases.push(join(process.cwd(), "noop.js"));
  return bases;
}

/** The file URL of tsx's `tsx/esm/api` ES module as resolved from `from` (a file path). */
function resolveTsxApi(from: string): string | undefined {
  const require = createRequire(from);
  try {
    // The package's exports map `./esm/api` with import and require conditions;
    // `require.resolve` gives the require one, so read the import one from package.json.
    const manifestPath = require.resolve("tsx/package.json");
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { exports?: Record<string, unknown> };
    const entry = manifest.exports?.["./esm/api"];
    const target = importTarget(entry);
    if (target !== undefined) {
      const path = join(dirname(manifestPath), target);
      if (existsSync(path)) return pathToFileURL(path).href;
    }
  } catch {
    // fall through to the require condition
  }
  try {
    return pathToFileURL(require.resolve("tsx/esm/api")).href;
  } catch {
    return undefined;
  }
}

function importTarget(entry: unknown): string | undefined {
  if (typeof entry === "string") return entry;
  if (typeof entry !== "object" || entry === null) return undefined;
  const conditions = entry as Record<string, unknown>;
  for (const key of ["import", "node", "default"]) {
    if (key in conditions) {
      const found = importTarget(conditions[key]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * `esbuild` or `typescript`, resolved from the module's directory, then cwd. esbuild
 * first: it is ready in tens of milliseconds, `typescript` takes hundreds and holds far
 * more memory, in every thread's hooks.
 */
function findCompiler(moduleUrl: string): TypeScriptHooksData | undefined {
  const bases = [fileURLToPath(moduleUrl), join(process.cwd(), "noop.js")];
  for (const base of bases) {
    const require = createRequire(base);
    // esbuild and rolldown (Vite 8's, so what a vitest-only project has) strip types in
    // milliseconds; loading typescript takes a second or two in every thread that needs it.
    const candidates: [TypeScriptHooksData["compiler"], () => string][] = [
      ["esbuild", () => require.resolve("esbuild")],
      ["rolldown", () => require.resolve("rolldown/utils")],
      ["rolldown", () => createRequire(require.resolve("vite")).resolve("rolldown/utils")],
      ["typescript", () => require.resolve("typescript")],
    ];
    for (const [compiler, find] of candidates) {
      try {
        return { compiler, compilerUrl: pathToFileURL(find()).href };
      } catch {
        // not installed there
      }
    }
  }
  return undefined;
}

/** Why `path` would be CommonJS (a .cts file, or a .ts file in a "type": "commonjs" package), if it would. */
export function commonJsReason(path: string): string | undefined {
  if (/\.cts$/i.test(path)) return "it is a .cts (CommonJS) file";
  if (/\.mts$/i.test(path)) return undefined;
  const manifest = nearestPackageJson(path);
  if (manifest !== undefined && manifest.type === "commonjs") {
    return `the nearest package.json (${manifest.path}) says "type": "commonjs"`;
  }
  return undefined;
}

function nearestPackageJson(path: string): { path: string; type: unknown } | undefined {
  let dir = dirname(path);
  for (;;) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) {
      try {
        const parsed = JSON.parse(readFileSync(candidate, "utf8")) as { type?: unknown };
        return { path: candidate, type: parsed.type };
      } catch {
        return { path: candidate, type: undefined };
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
