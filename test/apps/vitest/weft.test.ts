// Scenario 3: weft inside a vitest test file, under each pool (--pool=forks|threads|vmThreads).
import { expect, test } from "vitest";
import { Thread, ThreadPoolExecutor } from "weft-threads";
import { FACTOR } from "./constants.ts";

test("a thread with a shipped closure", async () => {
  const t = new Thread({ target: (a: number, b: number): number => a * b, args: [6, 7] });
  t.start();
  await t.join();
  if (t.error !== undefined) throw t.error;
  expect(t.result).toBe(42);
});

test("a module target in a separate .ts module", async () => {
  const t = new Thread({ target: { module: new URL("./triple.ts", import.meta.url), export: "triple" }, args: [14] });
  t.start();
  await t.join();
  if (t.error !== undefined) throw t.error;
  expect(t.result).toEqual({ value: 42 });
});

test("ThreadPoolExecutor.submit", async () => {
  const executor = new ThreadPoolExecutor({ maxWorkers: 2 });
  try {
    const future = executor.submit((x: number): number => x + 1, 41);
    expect(await future).toBe(42);
  } finally {
    await executor.shutdown();
  }
});

test("a closure that reads an imported name fails with a hint naming it", async () => {
  const t = new Thread({ target: (): number => FACTOR * 2 });
  t.start();
  await t.join();
  expect(t.result).toBeUndefined();
  expect(t.error).toBeInstanceOf(Error);
  const message = String((t.error as Error).message);
  console.log(`IMPORTED_NAME_MESSAGE ${JSON.stringify(message)}`);
  expect(message).toContain("FACTOR");
  expect(message).toMatch(/\bargs\b/);
  expect(message).toMatch(/import it inside the function|import\(/);
  expect(message).not.toContain("a helper your compiler placed");
});
