/**
 * Where a function shipped as source was written. The thread compiles the function from
 * its text, which by itself would make every frame of its stack read `eval at ...`; with
 * the file and line it was written at, the thread lays the text out at that line and names
 * the file, so a stack reads `at worker (file:///app/main.ts:12:5)`.
 *
 * The file is the first one on the caller's stack outside weft (Node maps it through source
 * maps where they are on, as under tsx). The line is exact when the function's text is in
 * that file as it is (JavaScript, tsc output); for a file a compiler rewrote on the fly
 * (tsx, vitest) it is the line that declares the function's name, else the line of the call
 * that shipped it.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A position in a user's file: 1-based line and column. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

const packageRoot = new URL("../../", import.meta.url).href;
/** weft's own files: the compiled ones, and their sources where a source map points there. */
const ownPrefixes = [`${packageRoot}dist/`, `${packageRoot}src/`].flatMap((url) => [url, fileURLToPath(url)]);
const framePattern = /\(?((?:file:\/\/|\/)[^()\s]*?):(\d+):(\d+)\)?$/;

const byFunction = new WeakMap<object, SourceLocation | null>();
const fileTexts = new Map<string, string | null>();

/** Where `fn` was written, or `undefined` when no file of the user's is on the stack. */
export function locateFunction(fn: (...args: never[]) => unknown, source: string): SourceLocation | undefined {
  const known = byFunction.get(fn);
  if (known !== undefined) return known ?? undefined;
  const found = callerFrame();
  const location = found === undefined ? null : refine(found, source, fn.name);
  byFunction.set(fn, location);
  return location ?? undefined;
}

function callerFrame(): SourceLocation | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  for (const line of stack.split("\n").slice(1)) {
    const match = framePattern.exec(line.trim());
    if (match === null) continue;
    const file = match[1];
    if (ownPrefixes.some((prefix) => file.startsWith(prefix))) continue;
    return { file, line: Number(match[2]), column: Number(match[3]) };
  }
  return undefined;
}

function refine(call: SourceLocation, source: string, name: string): SourceLocation {
  const text = fileText(call.file);
  if (text === null) return call;
  let at = text.indexOf(source);
  if (at < 0 && /^[A-Za-z_$][\w$]*$/.test(name)) {
    const declaration = new RegExp(`(?:function\\*?\\s+|(?:const|let|var)\\s+)${name.replace(/\$/g, "\\$")}\\b`).exec(text);
    if (declaration !== null) at = declaration.index;
  }
  if (at < 0) return call;
  const before = text.slice(0, at);
  const line = before.split("\n").length;
  return { file: call.file, line, column: at - before.lastIndexOf("\n") };
}

function fileText(file: string): string | null {
  let text = fileTexts.get(file);
  if (text === undefined) {
    try {
      text = readFileSync(file.startsWith("file:") ? fileURLToPath(file) : file, "utf8");
    } catch {
      text = null;
    }
    fileTexts.set(file, text);
  }
  return text;
}
