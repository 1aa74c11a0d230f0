import { currentThread } from "weft";

type Tripled = { value: number; inThread: boolean };

export function triple(n: number): Tripled {
  return { value: n * 3, inThread: currentThread().name !== "MainThread" };
}
