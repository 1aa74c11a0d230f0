/**
 * What `util.inspect` / `console.log` show of weft's objects: Python's repr, built from a
 * snapshot of their state, instead of their internal cells (or the whole shared heap).
 *
 * Each public class has a `[Symbol.for("nodejs.util.inspect.custom")]()` method (marked
 * `@internal`; a computed `Symbol.for` key stays out of the emitted types) that returns a
 * string built with these helpers. A repr never blocks, never takes a lock and never
 * changes anything: it reads with the loads the class itself uses, so in a race it may
 * show a state a moment old, as Python's does.
 */
import { nameOfIdent } from "./thread-table.js";

/** How many elements of a shared array a repr lists before `... N more items`. */
const MAX_ITEMS = 10;

/** `<Name part part ...>`: parts that are empty strings are left out. */
export function repr(name: string, ...parts: string[]): string {
  const shown = parts.filter((part) => part !== "");
  return shown.length === 0 ? `<${name}>` : `<${name} ${shown.join(" ")}>`;
}

/** The thread with `ident`, by its name in the thread table, else `ident N`. */
export function threadLabel(ident: number): string {
  return nameOfIdent(ident) ?? `ident ${ident}`;
}

/**
 * A lock's state: `unlocked`, `locked by NAME`, or `locked` (held, its holder not
 * recorded yet: a fair lock between its hand-off and the new holder's bookkeeping).
 */
export function lockState(owner: number, locked: boolean): string {
  if (owner !== 0) return `locked by ${threadLabel(owner)}`;
  return locked ? "locked" : "unlocked";
}

/** Python's `Thread.__repr__`: `<Thread(name, started daemon 7)>`. */
export function threadRepr(className: string, name: string, started: boolean, stopped: boolean, daemon: boolean, ident: number | null): string {
  let status = stopped ? "stopped" : started ? "started" : "initial";
  if (daemon) status += " daemon";
  if (ident !== null) status += ` ${ident}`;
  return `<${className}(${name}, ${status})>`;
}

/** One element as `util.inspect` writes it: `-0`, `5n`. */
export function formatElement(value: number | bigint): string {
  if (typeof value === "bigint") return `${value}n`;
  return Object.is(value, -0) ? "-0" : String(value);
}

/** `[1, 2, 3]`, or the first MAX_ITEMS elements and `... N more items`, as `util.inspect` does. */
export function formatItems(items: ArrayLike<number | bigint>): string {
  const shown: string[] = [];
  const count = Math.min(items.length, MAX_ITEMS);
  for (let i = 0; i < count; i++) shown.push(formatElement(items[i]!));
  const more = items.length - count;
  if (more > 0) shown.push(`... ${more} more item${more === 1 ? "" : "s"}`);
  return `[${shown.join(", ")}]`;
}
