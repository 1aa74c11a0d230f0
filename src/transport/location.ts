/**
 * Where a function shipped as source was written. The thread compiles the function from
 * its text, which by itself would make every frame of its stack read `eval at ...`; with
 * the file and line it was written at, the thread lays the text out at that line and names
 * the file, so a stack reads `at worker (file:///app/main.ts:12:5)`.
 *
 * The file is the first one on the caller's stack outside weft. The line is exact when the function's text is in
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

/**
 * Locations by source text. A closure written in a loop is a new function each time with
 * the same text: looking at the stack for each would cost more than the task (20k
 * submits of one arrow took 5x as long). The first place a text was shipped from names
 * it; the same text in another file is attributed to the first (it is the same code).
 */
const bySource = new Map<string, SourceLocation | null>();
const MAX_SOURCES = 4096;
const fileTexts = new Map<string, string | null>();

/** Where `fn` was written, or `undefined` when no file of the user's is on the stack. */
export function locateFunction(fn: (...args: never[]) => unknown, source: string): SourceLocation | undefined {
  const known = bySource.get(source);
  if (known !== undefined) return known ?? undefined;
  const found = callerFrame();
  const location = found === undefined ? null : refine(found, source, fn.name);
  if (bySource.size >= MAX_SOURCES) bySource.clear();
  bySource.set(source, location);
  return location ?? undefined;
}

/**
 * Records where a function's text was written, known from elsewhere: a cluster worker
 * that compiles a function shipped from another machine hands it to its pool with the
 * location it was written at there, not a frame of the worker's own.
 */
export function rememberLocation(source: string, location: SourceLocation | undefined): void {
  if (bySource.size >= MAX_SOURCES) bySource.clear();
  bySource.set(source, location ?? null);
}

/** The first frame on the stack outside weft, read from V8's call sites (no stack text is formatted). */
function callerFrame(): SourceLocation | undefined {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  try {
    Error.prepareStackTrace = (_error, sites) => sites;
    Error.stackTraceLimit = 30;
    Error.captureStackTrace(holder, locateFunction);
    for (const site of holder.stack ?? []) {
      const file = site.getFileName();
      if (file === undefined || file === null || !/^(?:file:|\/)/.test(file) || ownPrefixes.some((prefix) => file.startsWith(prefix))) continue;
      return { file, line: site.getLineNumber() ?? 1, column: site.getColumnNumber() ?? 1 };
    }
    return undefined;
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
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
