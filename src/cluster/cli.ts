#!/usr/bin/env node
/**
 * The `weft` command: `weft worker --connection redis://host:6379` runs cluster tasks on
 * this machine (cluster/worker.ts) until it gets SIGTERM or SIGINT.
 *
 * A first signal stops it gracefully: no new tasks, the running ones finish, then it exits
 * 0. A second signal stops it at once; the tasks it held go back to the queue once their
 * locks lapse, to run on other workers.
 */
import { parseArgs } from "node:util";
import { startWorker } from "./worker.js";

const USAGE = `Usage: weft worker --connection redis://host:6379 [options]

Runs tasks of a ClusterExecutor on this machine, on a local thread pool.

Options:
  --connection URL        the Redis server (redis:// or rediss://; default $WEFT_REDIS_URL)
  --queue NAME            the queue to take tasks from (default "weft")
  --concurrency N         tasks run at once, one per thread (default: the CPUs)
  --prefetch N            tasks taken ahead of a free thread (default 32)
  --lock-duration MS      a worker silent this long counts as dead (default 30000)
  --stalled-interval MS   how often dead workers' tasks are looked for (default 30000)
  -h, --help              this text

SIGTERM or SIGINT: finish the running tasks, take no new ones, exit. A second signal: exit at once
(the tasks it held run again elsewhere).`;

function fail(message: string): never {
  process.stderr.write(`weft: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function integer(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) fail(`--${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return value;
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        connection: { type: "string" },
        queue: { type: "string" },
        concurrency: { type: "string" },
        prefetch: { type: "string" },
        "lock-duration": { type: "string" },
        "stalled-interval": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (positionals[0] !== "worker" || positionals.length > 1) fail(positionals.length === 0 ? "missing command (worker)" : `unknown command ${JSON.stringify(positionals.join(" "))}`);
  const connection = values.connection ?? (process.env.WEFT_REDIS_URL || undefined);
  if (connection === undefined) fail("--connection is required");
  let worker;
  try {
    worker = await startWorker({
      connection,
      queue: values.queue,
      concurrency: integer(values.concurrency, "concurrency"),
      prefetch: integer(values.prefetch, "prefetch"),
      lockDuration: integer(values["lock-duration"], "lock-duration"),
      stalledInterval: integer(values["stalled-interval"], "stalled-interval"),
    });
  } catch (error) {
    process.stderr.write(`weft worker: ${(error as Error).message}\n`);
    process.exit(1);
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      process.stderr.write(`weft worker: ${signal}: finishing the running tasks (send it again to stop at once)\n`);
      void worker.close().then(() => process.exit(0));
    } else {
      void worker.close({ force: true }).finally(() => process.exit(1));
      setTimeout(() => process.exit(1), 1000).unref();
    }
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  process.stderr.write(`weft worker ${process.pid}: taking tasks from queue "${values.queue ?? "weft"}" (${worker.concurrency} at once)\n`);
  try {
    await worker.closed;
  } catch (error) {
    process.stderr.write(`weft worker: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`weft: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
