/**
 * Loads BullMQ and ioredis, the cluster's optional peer dependencies, on first use.
 *
 * Why dynamic: weft has no runtime dependencies, and a user who never makes a cluster
 * executor or worker must not need these packages installed, nor pay for loading them.
 * Nothing else in weft imports them (type imports are erased), so `import "weft-threads"`
 * never touches them. A user without them gets an error that says what to install.
 */
import type * as BullMQ from "bullmq";
import type * as IORedis from "ioredis";

/** The two modules, loaded. */
export interface ClusterModules {
  readonly bullmq: typeof BullMQ;
  readonly ioredis: typeof IORedis;
}

let loading: Promise<ClusterModules> | undefined;

/** Imports bullmq and ioredis once; rejects with an install hint if either is missing. */
export function loadClusterModules(who: string): Promise<ClusterModules> {
  loading ??= Promise.all([importPeer<typeof BullMQ>("bullmq", who), importPeer<typeof IORedis>("ioredis", who)]).then(([bullmq, ioredis]) => ({ bullmq, ioredis }));
  // A failed load is not cached: installing the packages and trying again works.
  loading.catch(() => (loading = undefined));
  return loading;
}

async function importPeer<T>(name: string, who: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new Error(`${who} needs the packages bullmq and ioredis, which are optional peer dependencies of weft-threads: npm install bullmq ioredis`, { cause: error });
    }
    throw error;
  }
}
