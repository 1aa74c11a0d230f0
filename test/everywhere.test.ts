/**
 * weft wherever Node users run code, end to end, against the packed package: the repo is
 * `npm pack`ed once per run, and each scenario copies a small app from test/apps/ into a
 * temporary directory with the tarball's contents in node_modules/weft-threads, runs it as a child
 * process (tsx, node --import tsx, vitest under each pool, a raw Worker, piscina, CommonJS,
 * tsc, `node -e`, a script piped on stdin, esbuild and rollup bundles), and checks what it
 * printed. A command that does not end within its limit is killed and fails its test.
 *
 * Set WEFT_E2E_KEEP=1 to keep the temporary directory (its path goes to stderr).
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  bareDir,
  bin,
  cleanUp,
  describeOutcome,
  makeApp,
  type Outcome,
  type Packed,
  packWeft,
  run,
  runNode,
  tagged,
} from "./helpers/packed.js";

/** Per scenario: room for a loaded 2-core machine (vitest alone takes seconds to start). */
const T = { timeout: 120_000, concurrency: 1 };
/** Per command. */
const LIMIT = 60_000;

/** Scenarios at once (each runs child processes; WEFT_E2E_CONCURRENCY=1 runs them in turn). */
const CONCURRENCY = Number(process.env.WEFT_E2E_CONCURRENCY ?? 2);

let packed: Packed;

// ---------------------------------------------------------------- assertions

function assertEnded(outcome: Outcome): void {
  assert.equal(outcome.killed, false, `the command did not end within its limit${describeOutcome(outcome)}`);
}

function assertClean(outcome: Outcome): void {
  assertEnded(outcome);
  assert.equal(outcome.code, 0, `exit code ${outcome.code}${describeOutcome(outcome)}`);
}

/** The one value printed as `TAG <json>`, deep-equal to `expected`. */
function assertTagged(outcome: Outcome, tag: string, expected: unknown): void {
  const values = tagged(outcome.stdout, tag);
  assert.equal(values.length, 1, `expected one "${tag} ..." line, got ${values.length}${describeOutcome(outcome)}`);
  assert.deepEqual(values[0], expected, `${tag}${describeOutcome(outcome)}`);
}

function assertNoErrorLines(outcome: Outcome): void {
  const errorLine = outcome.stdout.split("\n").find((line) => /^\w*ERROR /.test(line));
  assert.equal(errorLine, undefined, `the app reported an error${describeOutcome(outcome)}`);
}

function assertNoInitializer(outcome: Outcome): void {
  assert.doesNotMatch(
    outcome.stdout + outcome.stderr,
    /initializer/i,
    `no initializer was given, yet the output mentions one${describeOutcome(outcome)}`,
  );
}

/** A Thread and a ThreadPoolExecutor.submit both gave 42, and the program exited 0. */
function assertThreadAndPool(outcome: Outcome): void {
  assertNoInitializer(outcome);
  assertClean(outcome);
  assertNoErrorLines(outcome);
  assertTagged(outcome, "THREAD", 42);
  assertTagged(outcome, "POOL", 42);
}

/**
 * A bundle run away from any node_modules: either it works, or `start()` fails at once
 * with an error that says to mark weft external. Never exit 0 with a result missing, never
 * talk about an initializer.
 */
function assertWorksOrSaysExternal(outcome: Outcome): void {
  assertNoInitializer(outcome);
  assertEnded(outcome);
  const worked =
    outcome.code === 0 &&
    tagged(outcome.stdout, "THREAD")[0] === 42 &&
    tagged(outcome.stdout, "POOL")[0] === 42 &&
    !/^\w*ERROR /m.test(outcome.stdout);
  if (worked) return;
  assert.notEqual(outcome.code, 0, `exited 0 without the right results${describeOutcome(outcome)}`);
  const startFailed = tagged(outcome.stdout, "START_FAILED");
  assert.equal(startFailed.length, 1, `neither worked nor failed in start() at once${describeOutcome(outcome)}`);
  assert.match(String(startFailed[0]), /external/, `start()'s error does not mention marking weft external${describeOutcome(outcome)}`);
}

describe("weft, packed, wherever Node code runs", { concurrency: CONCURRENCY }, () => {
  before(() => {
    packed = packWeft();
    if (packed.buildWarning !== undefined) process.stderr.write(`weft e2e: ${packed.buildWarning}\n`);
  });

  after(() => {
    if (packed !== undefined) cleanUp(packed);
  });

  // ---------------------------------------------------------------- 1, 2: tsx

  test("1. tsx app.ts: a shipped closure with an inner function, an arrow function and a class", T, async () => {
    const app = makeApp(packed, "tsx-closure", { tools: ["tsx"] });
    const outcome = await runNode([bin("tsx"), "app.ts"], { cwd: app, timeoutMs: LIMIT });
    assertClean(outcome);
    assertNoErrorLines(outcome);
    assertTagged(outcome, "RESULT", 30);
  });

  test("2. module targets in .ts files (own export guarded by isMainThread, and another module)", T, async (t) => {
    const app = makeApp(packed, "tsx-module", { tools: ["tsx"] });
    const commands: Array<[string, string[]]> = [
      ["tsx app.ts", [bin("tsx"), "app.ts"]],
      ["node --import tsx app.ts", ["--import", "tsx", "app.ts"]],
    ];
    for (const [name, args] of commands) {
      await t.test(name, async () => {
        const outcome = await runNode(args, { cwd: app, timeoutMs: LIMIT });
        assertClean(outcome);
        assertNoErrorLines(outcome);
        assertTagged(outcome, "SELF", { input: 21, output: 42 });
        assertTagged(outcome, "OTHER", { value: 42, inThread: true });
      });
    }
  });

  // ---------------------------------------------------------------- 3: vitest

  interface VitestAssertion {
    title: string;
    fullName?: string;
    status: string;
    failureMessages?: string[];
  }

  const vitestTests = [
    "a thread with a shipped closure",
    "a module target in a separate .ts module",
    "ThreadPoolExecutor.submit",
    "a closure that reads an imported name fails with a hint naming it",
  ];

  for (const pool of ["forks", "threads", "vmThreads"]) {
    test(`3. vitest --pool=${pool}`, T, async (t) => {
      // A TypeScript project that tests with vitest: vitest (and what npm hoists with it:
      // vite, rolldown, ...) and typescript in its devDependencies.
      const app = makeApp(packed, "vitest", { as: `vitest-${pool}`, tools: ["vitest", "typescript"] });
      const outcome = await runNode(
        [bin("vitest"), "run", `--pool=${pool}`, "--testTimeout=30000", "--reporter=verbose", "--reporter=json", "--outputFile.json=results.json"],
        { cwd: app, timeoutMs: LIMIT },
      );
      assertEnded(outcome);
      const resultsFile = join(app, "results.json");
      let assertions: VitestAssertion[] = [];
      if (existsSync(resultsFile)) {
        const results = JSON.parse(readFileSync(resultsFile, "utf8")) as { testResults: Array<{ assertionResults: VitestAssertion[]; message?: string }> };
        assertions = results.testResults.flatMap((file) => file.assertionResults);
      }
      for (const title of vitestTests) {
        await t.test(title, () => {
          const found = assertions.find((a) => a.title === title);
          assert.ok(found !== undefined, `vitest reported no result for "${title}"${describeOutcome(outcome)}`);
          assert.equal(found.status, "passed", `vitest: "${title}" ${found.status}:\n${(found.failureMessages ?? []).join("\n")}`);
        });
      }
      assertClean(outcome);
    });
  }

  // ---------------------------------------------------------------- 4: foreign workers

  test("4. weft inside workers it did not start", T, async (t) => {
    const app = makeApp(packed, "raw-worker", { tools: ["piscina"] });
    const expected = { result: 42, counter: 10_000 };
    await t.test("a raw new Worker(...)", async () => {
      const outcome = await runNode(["main.mjs"], { cwd: app, timeoutMs: LIMIT });
      assertClean(outcome);
      assertNoErrorLines(outcome);
      assertTagged(outcome, "WORKER", expected);
      assertTagged(outcome, "WORKER_EXIT", 0);
    });
    await t.test("a piscina task", async () => {
      const outcome = await runNode(["piscina-main.mjs"], { cwd: app, timeoutMs: LIMIT });
      assertClean(outcome);
      assertNoErrorLines(outcome);
      assertTagged(outcome, "PISCINA", expected);
    });
  });

  // ---------------------------------------------------------------- 5: CommonJS

  test("5. CommonJS", T, async (t) => {
    await t.test('require("weft-threads") in a .cjs file; the same module as import("weft-threads")', async () => {
      const app = makeApp(packed, "cjs");
      const outcome = await runNode(["app.cjs"], { cwd: app, timeoutMs: LIMIT });
      assertClean(outcome);
      assertNoErrorLines(outcome);
      assertTagged(outcome, "RESULT", 42);
      assertTagged(outcome, "SAME_LOCK", true);
    });
    await t.test('a "type": "commonjs" package compiled by tsc (NodeNext) compiles cleanly and runs', async () => {
      const app = makeApp(packed, "cjs-tsc", { tools: ["typescript", "@types/node"] });
      const compiled = await runNode([bin("tsc"), "-p", "."], { cwd: app, timeoutMs: LIMIT });
      assertClean(compiled);
      assert.equal((compiled.stdout + compiled.stderr).trim(), "", `tsc reported errors${describeOutcome(compiled)}`);
      const outcome = await runNode(["out/index.js"], { cwd: app, timeoutMs: LIMIT });
      assertClean(outcome);
      assertNoErrorLines(outcome);
      assertTagged(outcome, "RESULT", 42);
    });
  });

  // ---------------------------------------------------------------- 6: -e and stdin

  test("6. scripts with no file: node -e, and piped on stdin", T, async (t) => {
    const app = makeApp(packed, "stdin");
    const esm = readFileSync(join(app, "module.mjs"), "utf8");
    const cjs = readFileSync(join(app, "script.cjs"), "utf8");
    await t.test("node --input-type=module -e '<script>'", async () => {
      assertThreadAndPool(await runNode(["--input-type=module", "-e", esm], { cwd: app, timeoutMs: LIMIT }));
    });
    await t.test("node --input-type=module < script.mjs", async () => {
      assertThreadAndPool(await runNode(["--input-type=module"], { cwd: app, input: esm, timeoutMs: LIMIT }));
    });
    await t.test("node < script.cjs (CommonJS on stdin)", async () => {
      assertThreadAndPool(await runNode([], { cwd: app, input: cjs, timeoutMs: LIMIT }));
    });
  });

  // ---------------------------------------------------------------- 7, 8: bundlers

  function assertInlined(bundleDir: string): void {
    const text = readFileSync(join(bundleDir, "app.js"), "utf8");
    assert.doesNotMatch(text, /(from|import\()\s*["']weft-threads["']/, "the bundle was meant to inline weft but imports it");
    assert.match(text, /ThreadPoolExecutor/, "the bundle does not contain weft");
  }

  /** Copies a bundle to a directory with no node_modules anywhere above it and runs it there. */
  async function runBare(outDir: string, name: string): Promise<Outcome> {
    const bare = bareDir(packed, name);
    cpSync(outDir, join(bare, "out"), { recursive: true });
    cpSync(join(outDir, "..", "package.json"), join(bare, "package.json"));
    assert.equal(existsSync(join(bare, "node_modules")), false);
    return runNode(["out/app.js"], { cwd: bare, timeoutMs: LIMIT });
  }

  test("7. esbuild --bundle --platform=node --format=esm", T, async (t) => {
    const app = makeApp(packed, "bundle", { as: "esbuild" });
    const esbuild = (extra: string[]): Promise<Outcome> =>
      run(bin("esbuild"), ["app.js", "--bundle", "--platform=node", "--format=esm", ...extra], { cwd: app, timeoutMs: LIMIT });

    const built = await esbuild(["--outfile=out/app.js"]);
    assertClean(built);
    assertInlined(join(app, "out"));
    await t.test("weft inlined, run in the app (node_modules/weft-threads present)", async () => {
      assertThreadAndPool(await runNode(["out/app.js"], { cwd: app, timeoutMs: LIMIT }));
    });
    await t.test("weft inlined, the bundle copied to a directory with no node_modules", async () => {
      assertWorksOrSaysExternal(await runBare(join(app, "out"), "esbuild-bare"));
    });
    await t.test("--external:weft-threads", async () => {
      const external = await esbuild(["--external:weft-threads", "--outfile=out-external/app.js"]);
      assertClean(external);
      assert.match(readFileSync(join(app, "out-external", "app.js"), "utf8"), /from\s*["']weft-threads["']/);
      assertThreadAndPool(await runNode(["out-external/app.js"], { cwd: app, timeoutMs: LIMIT }));
    });
  });

  test("8. rollup with @rollup/plugin-node-resolve (ESM output)", T, async (t) => {
    const app = makeApp(packed, "bundle", { as: "rollup", tools: ["rollup", "@rollup/plugin-node-resolve"] });
    const built = await runNode([bin("rollup"), "-c", "rollup.config.mjs"], { cwd: app, timeoutMs: LIMIT });
    assertClean(built);
    assertInlined(join(app, "out"));
    await t.test("weft inlined, run in the app (node_modules/weft-threads present)", async () => {
      assertThreadAndPool(await runNode(["out/app.js"], { cwd: app, timeoutMs: LIMIT }));
    });
    await t.test("weft inlined, the bundle copied to a directory with no node_modules", async () => {
      assertWorksOrSaysExternal(await runBare(join(app, "out"), "rollup-bare"));
    });
    await t.test("weft external", async () => {
      const external = await runNode([bin("rollup"), "-c", "rollup.config.mjs", "--external", "weft-threads", "--dir", "out-external"], {
        cwd: app,
        timeoutMs: LIMIT,
      });
      assertClean(external);
      assert.match(readFileSync(join(app, "out-external", "app.js"), "utf8"), /from\s*["']weft-threads["']/);
      assertThreadAndPool(await runNode(["out-external/app.js"], { cwd: app, timeoutMs: LIMIT }));
    });
  });

  // ---------------------------------------------------------------- 9: no isMainThread guard

  test("9. a module target without the isMainThread guard that starts a thread on itself", T, async () => {
    const app = makeApp(packed, "self-start");
    // A correct run takes a second or two; a runaway chain of threads is cut off here.
    const outcome = await runNode(["selfstart.mjs"], { cwd: app, timeoutMs: 20_000 });
    assertEnded(outcome);
    assertTagged(outcome, "MAIN ERROR_IS_RUNTIME", true);
    const [message] = tagged(outcome.stdout, "MAIN ERROR_MESSAGE");
    assert.match(String(message), /isMainThread/, `the error does not mention isMainThread${describeOutcome(outcome)}`);
    assert.match(String(message), /selfstart\.mjs/, `the error does not name the module's file${describeOutcome(outcome)}`);
  });

  // ---------------------------------------------------------------- 10: stack traces

  test("10. a shipped closure's stack points at the user's file", T, async (t) => {
    const app = makeApp(packed, "stacks", { tools: ["tsx"] });
    const cases: Array<[string, string[], string]> = [
      ["node app.mjs", ["app.mjs"], "app.mjs"],
      ["tsx app.ts", [bin("tsx"), "app.ts"], "app.ts"],
    ];
    for (const [name, args, file] of cases) {
      await t.test(name, async () => {
        const outcome = await runNode(args, { cwd: app, timeoutMs: LIMIT });
        assertClean(outcome);
        const [stack] = tagged(outcome.stdout, "STACK");
        assert.equal(typeof stack, "string", `no stack printed${describeOutcome(outcome)}`);
        assert.match(stack as string, /kaboom from the thread/, `not the thread's error${describeOutcome(outcome)}`);
        assert.ok((stack as string).includes(file), `the stack does not mention ${file}:\n${stack}`);
        assert.doesNotMatch(stack as string, /evaluateFunction/, `the stack shows weft's evaluateFunction:\n${stack}`);
        // The frame of the function that threw points at the user's file, not at weft's.
        const frame = (stack as string).split("\n").find((line) => /^\s*at\s+explode\b/.test(line));
        assert.ok(frame?.includes(file), `the frame of explode() does not point at ${file}:\n${stack}`);
      });
    }
  });

  // ---------------------------------------------------------------- 11: inspect

  test("11. util.inspect(new Lock()) is short and says Lock", T, async () => {
    const app = makeApp(packed, "inspect");
    const outcome = await runNode(["inspect.mjs"], { cwd: app, timeoutMs: LIMIT });
    assertClean(outcome);
    const [text] = tagged(outcome.stdout, "INSPECT");
    assert.equal(typeof text, "string", `nothing printed${describeOutcome(outcome)}`);
    assert.match(text as string, /Lock/, `util.inspect(new Lock()) = ${text}`);
    assert.ok((text as string).length < 200, `util.inspect(new Lock()) is ${(text as string).length} characters long:\n${text}`);
  });
});
