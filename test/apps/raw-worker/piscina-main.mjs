// Scenario 4b: weft inside a piscina task.
import { Piscina } from "piscina";

const pool = new Piscina({ filename: new URL("./piscina-task.mjs", import.meta.url).href, minThreads: 1, maxThreads: 1 });
try {
  console.log(`PISCINA ${JSON.stringify(await pool.run({}))}`);
} catch (error) {
  console.log(`PISCINA_ERROR ${JSON.stringify(String(error?.stack ?? error))}`);
  process.exitCode = 1;
} finally {
  await pool.destroy();
}
