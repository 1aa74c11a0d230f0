/**
 * Module targets for test/process-pool.test.ts, run in the pool's child processes. A
 * module of their own, with no top-level work: a test file imported in a child would
 * register its tests there.
 */
import { RuntimeError } from "weft-threads";

export function square(x: number): number {
  return x * x;
}

export function pid(): number {
  return process.pid;
}

/** What the initializer left in this process. */
export function initialized(): unknown {
  return (globalThis as { initializedWith?: unknown }).initializedWith ?? null;
}

export function initialize(value: unknown): void {
  (globalThis as { initializedWith?: unknown }).initializedWith = value;
}

export function failingInitializer(): void {
  throw new RuntimeError("no database here");
}

export function exitWith(code: number): never {
  process.exit(code);
}

export function killSelf(): void {
  process.kill(process.pid, "SIGKILL");
}

export async function slow(value: number, ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
}

/** A class of this module: an error of a class the parent does not know arrives as its nearest known base. */
export function throwRuntime(message: string): never {
  throw new RuntimeError(message);
}
