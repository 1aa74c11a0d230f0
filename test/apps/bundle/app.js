// Scenarios 7 and 8: bundled by esbuild or rollup, weft inlined (or external).
import { Thread, ThreadPoolExecutor } from "weft-threads";

const t = new Thread({ target: (a, b) => a + b, args: [20, 22] });
try {
  t.start();
} catch (error) {
  console.log(`START_FAILED ${JSON.stringify(String(error?.message ?? error))}`);
  process.exit(3);
}
await t.join();
if (t.error !== undefined) console.log(`THREAD_ERROR ${JSON.stringify(String(t.error.stack))}`);
console.log(`THREAD ${JSON.stringify(t.result)}`);

const executor = new ThreadPoolExecutor({ maxWorkers: 2 });
try {
  console.log(`POOL ${JSON.stringify(await executor.submit((x) => x * 2, 21))}`);
} catch (error) {
  console.log(`POOL_ERROR ${JSON.stringify(String(error?.stack ?? error))}`);
} finally {
  await executor.shutdown();
}
