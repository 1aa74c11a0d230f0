import { currentThread } from "weft-threads";

type Tripled = { value: number; inThread: boolean };

export function triple(n: number): Tripled {
  return { value: n * 3, inThread: currentThread().name !== "MainThread" };
}
