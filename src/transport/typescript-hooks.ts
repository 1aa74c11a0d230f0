/**
 * Module customization hooks that let a thread import TypeScript without tsx: registered
 * by ./typescript-loader.ts (`module.register`) in a thread that imports a TypeScript
 * module target. They run on Node's hooks thread, not the thread itself.
 *
 * - `load` strips the types of `.ts`, `.mts` and `.tsx` files with `esbuild`'s
 *   `transformSync`, rolldown's (Vite 8's) or `typescript`'s `transpileModule`, whichever the thread found, and
 *   inlines a source map, so that stack traces point at the TypeScript lines (the thread
 *   turns source maps on, as tsx does).
 * - `resolve` follows TypeScript's NodeNext convention: `import "./x.js"` from a file
 *   whose `x.js` does not exist loads `x.ts`.
 *
 * TypeScript is loaded as ES modules only: a `.cts` file or a `.ts` file in a package whose
 * package.json says `"type": "commonjs"` is refused with an error that says so.
 */
import type { LoadHook, ResolveHook } from "node:module";
import { fileURLToPath } from "node:url";
import { commonJsReason, type TypeScriptHooksData } from "./typescript-loader.js";

const TYPESCRIPT_FILE = /\.(?:[mc]?ts|tsx)$/i;

/** Strips the types of `source`, the text of the file at `path`, to ES module JavaScript. */
type Strip = (source: string, path: string) => string;

let strip: Strip | undefined;

/** Loads the compiler the thread found. */
export async function initialize(data: TypeScriptHooksData): Promise<void> {
  const namespace = (await import(data.compilerUrl)) as { default?: unknown };
  const compiler = (namespace.default ?? namespace) as Record<string, unknown>;
  strip =
    data.compiler === "typescript" ? typescriptStripper(compiler) : data.compiler === "rolldown" ? rolldownStripper(compiler) : esbuildStripper(compiler);
}

interface TypeScriptApi {
  transpileModule(
    input: string,
    options: { compilerOptions: Record<string, unknown>; fileName: string; reportDiagnostics: boolean },
  ): { outputText: string; diagnostics?: Diagnostic[] };
  flattenDiagnosticMessageText(message: unknown, newLine: string): string;
  ModuleKind: Record<string, number>;
  ScriptTarget: Record<string, number>;
  JsxEmit: Record<string, number>;
}

interface Diagnostic {
  category: number;
  messageText: unknown;
  start?: number;
  file?: { getLineAndCharacterOfPosition(position: number): { line: number; character: number } };
}

function typescriptStripper(compiler: Record<string, unknown>): Strip {
  const ts = compiler as unknown as TypeScriptApi;
  const compilerOptions = {
    module: ts.ModuleKind.ESNext,
    target: ts.ScriptTarget.ES2022, // what Node 20 runs; newer syntax (`using`) is lowered
    jsx: ts.JsxEmit.ReactJSX,
    isolatedModules: true,
    useDefineForClassFields: true,
    sourceMap: false,
    inlineSourceMap: true,
    inlineSources: true,
  };
  return (source, path) => {
    const { outputText, diagnostics = [] } = ts.transpileModule(source, { compilerOptions, fileName: path, reportDiagnostics: true });
    const errors = diagnostics.filter((diagnostic) => diagnostic.category === 1 /* DiagnosticCategory.Error */);
    if (errors.length > 0) {
      const lines = errors.map((diagnostic) => {
        let where = path;
        if (diagnostic.file !== undefined && diagnostic.start !== undefined) {
          const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
          where = `${path}:${line + 1}:${character + 1}`;
        }
        return `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`;
      });
      throw new SyntaxError(`cannot strip the types of ${path}:\n${lines.join("\n")}`);
    }
    return outputText;
  };
}

interface EsbuildApi {
  transformSync(input: string, options: Record<string, unknown>): { code: string };
}

function esbuildStripper(compiler: Record<string, unknown>): Strip {
  const esbuild = compiler as unknown as EsbuildApi;
  return (source, path) =>
    esbuild.transformSync(source, {
      loader: /\.tsx$/i.test(path) ? "tsx" : "ts",
      format: "esm",
      target: "node20",
      jsx: "automatic",
      sourcemap: "inline",
      sourcefile: path,
    }).code;
}

interface RolldownUtils {
  transformSync(
    filename: string,
    source: string,
    options: Record<string, unknown>,
  ): { code: string; map?: unknown; errors: { message: string }[] };
}

/** Rolldown's oxc transform (`rolldown/utils`), which Vite 8 brings. */
function rolldownStripper(compiler: Record<string, unknown>): Strip {
  const rolldown = compiler as unknown as RolldownUtils;
  return (source, path) => {
    const { code, map, errors } = rolldown.transformSync(path, source, { lang: /\.tsx$/i.test(path) ? "tsx" : "ts", sourcemap: true, target: "es2022" });
    if (errors.length > 0) throw new SyntaxError(`cannot strip the types of ${path}:\n${errors.map((e) => e.message).join("\n")}`);
    if (map === undefined || map === null) return code;
    return `${code}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString("base64")}`;
  };
}

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    for (const candidate of typescriptCandidates(specifier, context.parentURL, error)) {
      try {
        return await nextResolve(candidate, context);
      } catch {
        // not that one either
      }
    }
    throw error;
  }
};

/** For `./x.js` that was not found: `./x.ts`, `./x.tsx` (and `.mjs` → `.mts`, `.jsx` → `.tsx`). */
function typescriptCandidates(specifier: string, parentURL: string | undefined, error: unknown): string[] {
  if ((error as { code?: unknown } | null)?.code !== "ERR_MODULE_NOT_FOUND") return [];
  if (parentURL === undefined || !parentURL.startsWith("file:")) return [];
  if (!/^(?:\.{1,2}\/|\/|file:)/.test(specifier)) return [];
  const match = /^(.*)\.(js|jsx|mjs|cjs)([?#].*)?$/s.exec(specifier);
  if (match === null) return [];
  const [, stem, extension, suffix = ""] = match;
  const replacements = { js: ["ts", "tsx"], jsx: ["tsx"], mjs: ["mts"], cjs: ["cts"] }[extension as "js" | "jsx" | "mjs" | "cjs"];
  return replacements.map((replacement) => `${stem}.${replacement}${suffix}`);
}

export const load: LoadHook = async (url, context, nextLoad) => {
  if (!url.startsWith("file:") || !TYPESCRIPT_FILE.test(url.replace(/[?#].*$/s, ""))) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const commonjs = commonJsReason(path);
  if (commonjs !== undefined) {
    throw new TypeError(
      `cannot load the TypeScript module ${url} in the thread: ${commonjs}, and without tsx weft only loads ` +
        `TypeScript as ES modules. Install tsx (\`npm install -D tsx\`), or import the compiled .js file`,
    );
  }
  if (strip === undefined) throw new Error("weft's TypeScript hooks were not initialized");
  const { source } = await nextLoad(url, { ...context, format: "module" });
  const text = typeof source === "string" ? source : Buffer.from(source as Uint8Array).toString("utf8");
  return { format: "module", source: strip(text, path), shortCircuit: true };
};
