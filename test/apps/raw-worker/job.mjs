// What a worker that weft did not start does: start a thread and join it, then count to
// 2 × 5000 from two threads under a Lock.
import { Lock, SharedValue, Thread } from "weft-threads";

export async function runJob() {
  const t = new Thread({ target: (a, b) => a + b, args: [40, 2] });
  t.start();
  await t.join();
  if (t.error !== undefined) throw t.error;

  const lock = new Lock();
  const counter = new SharedValue("int32", 0);
  const increment = (counter, lock, times) => {
    for (let i = 0; i < times; i++) {
      lock.withLockSync(() => {
        counter.value = counter.value + 1;
      });
    }
  };
  const threads = [0, 1].map(() => new Thread({ target: increment, args: [counter, lock, 5000] }));
  for (const th of threads) th.start();
  for (const th of threads) await th.join();
  for (const th of threads) if (th.error !== undefined) throw th.error;
  return { result: t.result, counter: counter.value };
}
