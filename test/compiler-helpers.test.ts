/**
 * Functions shipped as source after a compiler rewrote them (README, "Shipping code to a
 * thread"): the code esbuild (keep-names, `using`, lowered async) and tsc (lowered async,
 * `using`) really emit is compiled here, the inner function is taken out of its module, and
 * a thread must run it with the helpers the module defined — and a helper weft has no
 * equivalent of must be named in the hint. Also: the thread's stack names this file.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { Thread, setExcepthook } from "weft-threads";

const T = { timeout: 30_000 };
const require = createRequire(import.meta.url);
const esbuild = require("esbuild") as typeof import("esbuild");
const ts = require("typescript") as typeof import("typescript");

setExcepthook(() => {}); // failures are asserted, not printed

/** Evaluates compiled module text (its `export`s turned into a returned object) and gives back `name`. */
function exported(code: string, name: string): (...args: never[]) => unknown {
  const body = code.replace(/^export\s*\{[^}]*\};?\s*$/m, "").replace(/^export\s+/gm, "");
  return new Function(`${body}\nreturn ${name};`)() as (...args: never[]) => unknown;
}

async function run(target: (...args: never[]) => unknown, args: unknown[] = []): Promise<Thread> {
  const thread = new Thread({ target: target as (...a: unknown[]) => unknown, args });
  thread.start();
  await thread.join();
  return thread;
}

const source = `
export function work(n) {
  class Box { constructor(v) { this.v = v; } }
  const double = (x) => x * 2;
  function inc(x) { return x + 1; }
  return [new Box(inc(double(n))).v, Box.name, double.name, inc.name];
}
export async function later(n) {
  const v = await Promise.resolve(n);
  const m = await new Promise((resolve) => setTimeout(() => resolve(v + 1), 1));
  return m * 10;
}
export async function disposing(log) {
  const order = [];
  {
    using a = { [Symbol.dispose]() { order.push("a"); } };
    await using b = { async [Symbol.asyncDispose]() { order.push("b"); } };
    order.push("body");
  }
  return order;
}
`;

test("esbuild keep-names (tsx, vitest): __name in an inner class, arrow and function", T, async () => {
  const { code } = esbuild.transformSync(source.split("export async function later")[0], { keepNames: true, format: "esm", target: "es2022" });
  assert.match(code, /__name\(/, "esbuild emitted __name");
  const thread = await run(exported(code, "work"), [3]);
  assert.equal(thread.error, undefined, String(thread.error));
  assert.deepEqual(thread.result, [7, "Box", "double", "inc"]);
});

test("esbuild lowered async (__async) and `using` (__using, __callDispose)", T, async () => {
  const { code } = esbuild.transformSync(source, { format: "esm", target: "es2016", supported: { "async-generator": false } });
  assert.match(code, /__async\(/);
  const later = await run(exported(code, "later"), [4]);
  assert.equal(later.error, undefined, String(later.error));
  assert.equal(later.result, 50);
  const { code: usingCode } = esbuild.transformSync(source, { format: "esm", target: "es2022" });
  assert.match(usingCode, /__using\(/);
  const disposing = await run(exported(usingCode, "disposing"));
  assert.equal(disposing.error, undefined, String(disposing.error));
  assert.deepEqual(disposing.result, ["body", "b", "a"]);
});

test("tsc lowered async (__awaiter) and `using` (__addDisposableResource, __disposeResources)", T, async () => {
  const compile = (target: import("typescript").ScriptTarget) =>
    ts.transpileModule(source, { compilerOptions: { target, module: ts.ModuleKind.ESNext, lib: ["esnext"] } }).outputText;
  const es2015 = compile(ts.ScriptTarget.ES2015);
  assert.match(es2015, /__awaiter\(/);
  const later = await run(exported(es2015, "later"), [4]);
  assert.equal(later.error, undefined, String(later.error));
  assert.equal(later.result, 50);
  const es2022 = compile(ts.ScriptTarget.ES2022);
  assert.match(es2022, /__disposeResources\(/);
  const disposing = await run(exported(es2022, "disposing"));
  assert.equal(disposing.error, undefined, String(disposing.error));
  assert.deepEqual(disposing.result, ["body", "b", "a"]);
});

test("Babel's lowered async (_asyncToGenerator), in the shape Babel emits", T, async () => {
  // Babel (no Babel here to run): `async function later(n) { ... }` becomes this.
  const later = new Function(`return function later(n) {
    return _asyncToGenerator(function* () {
      const v = yield Promise.resolve(n);
      const m = yield new Promise((resolve) => setTimeout(() => resolve(v + 1), 1));
      return m * 10;
    })();
  };`)() as (n: number) => Promise<number>;
  const thread = await run(later, [4]);
  assert.equal(thread.error, undefined, String(thread.error));
  assert.equal(thread.result, 50);
});

test("a disposal that throws reaches the thread's error, as the `using` semantics say", T, async () => {
  const failing = `export function fails() {
    using a = { [Symbol.dispose]() { throw new RangeError("dispose failed"); } };
    return 1;
  }`;
  const code = ts.transpileModule(failing, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
  const thread = await run(exported(code, "fails"));
  assert.ok(thread.error instanceof RangeError, String(thread.error));
  assert.match((thread.error as Error).message, /dispose failed/);
});

test("a helper weft has no equivalent of (tsc's ES5 __generator) is named in the hint", T, async () => {
  const code = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES5, module: ts.ModuleKind.ESNext, lib: ["esnext"] } }).outputText;
  const thread = await run(exported(code, "later"), [1]);
  assert.ok(thread.error instanceof ReferenceError, String(thread.error));
  assert.match((thread.error as Error).message, /`__generator`, a helper your compiler put at the top of the module/);
  assert.match((thread.error as Error).message, /ES2022|module target/);
});

test("Vite's rewrites: an import becomes a hint naming the imported binding; a dynamic import works", T, async () => {
  // What vitest makes of `import { FACTOR } from "./consts.js"` used in a closure, and of `await import("node:os")`.
  const usesImport = new Function(`return (n) => n * __vite_ssr_import_0__.FACTOR;`)() as (n: number) => number;
  const failed = await run(usesImport, [2]);
  assert.ok(failed.error instanceof ReferenceError, String(failed.error));
  assert.match((failed.error as Error).message, /uses `FACTOR`, which its module imports/);
  assert.doesNotMatch((failed.error as Error).message, /helper your compiler/);
  const dynamic = new Function(`return async () => (await __vite_ssr_dynamic_import__("node:os")).EOL;`)() as () => Promise<string>;
  const ok = await run(dynamic);
  assert.equal(ok.error, undefined, String(ok.error));
  assert.equal(ok.result, "\n");
});

test("a shipped function's stack names the file and line it was written at", T, async () => {
  const thread = await run(function throwsHere() {
    throw new Error("from the thread");
  });
  const stack = String((thread.error as Error).stack);
  const text = readFileSync(fileURLToPath(import.meta.url), "utf8");
  const line = text.slice(0, text.indexOf('throw new Error("from the thread")')).split("\n").length;
  assert.match(stack, new RegExp(`at throwsHere \\(${import.meta.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:${line}:\\d+\\)`), stack);
  assert.doesNotMatch(stack, /evaluateFunction|eval at/, stack);
});
