/**
 * The Redis connection of a cluster executor or worker: checking what the user gave, and
 * making ioredis clients that reconnect through a Redis restart but give up, once, when
 * the server is gone for good.
 *
 * Why a policy of its own: ioredis retries forever by default, so a wrong host or port
 * would leave every future pending for ever. Here a server that never answered is given
 * up after a few quick tries (a bad connection string fails in about a second), and one
 * that answered before is waited for up to `reconnectLimit` ms (a restart takes a moment)
 * before the link reports itself gone. All clients of one link share that fate.
 */
import type { Redis, RedisOptions } from "ioredis";
import type { ClusterModules } from "./load.js";
import { ValueError } from "../core/errors.js";
import { describe } from "../core/timeouts.js";

/** Options of a Redis connection, as ioredis takes them (`host`, `port`, `password`, `db`, `tls`...). */
export interface RedisConnectionOptions {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: object;
  /** Any other ioredis option (its `retryStrategy` and `maxRetriesPerRequest` are weft's). */
  [option: string]: unknown;
}

/** What a cluster executor or worker connects to: a `redis://` / `rediss://` URL or ioredis options. */
export type ClusterConnection = string | RedisConnectionOptions;

/** Tries before a server that never answered counts as not there. */
const CONNECT_TRIES = 3;
/** @internal How long a lost server is waited for before the link is gone (ms), unless told otherwise. */
export const DEFAULT_RECONNECT_LIMIT = 30_000;

/** @internal Checks `connection` (a `TypeError` or `ValueError` naming `where`); returns it. */
export function checkConnection(connection: unknown, where: string): ClusterConnection {
  if (typeof connection === "string") {
    let url: URL | undefined;
    try {
      url = new URL(connection);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== "redis:" && url.protocol !== "rediss:") || url.hostname === "") {
      throw new ValueError(`${where}: connection must be a redis:// or rediss:// URL (e.g. "redis://localhost:6379"), got ${JSON.stringify(connection)}`);
    }
    return connection;
  }
  if (typeof connection === "object" && connection !== null && !Array.isArray(connection)) return connection as RedisConnectionOptions;
  throw new TypeError(`${where}: connection must be a redis:// URL or an object of Redis options, got ${describe(connection)}`);
}

/** @internal The connection for messages: the URL without its password, or host:port. */
export function connectionLabel(connection: ClusterConnection): string {
  if (typeof connection === "string") {
    const url = new URL(connection);
    if (url.password !== "") url.password = "***";
    return url.href;
  }
  return `redis://${connection.host ?? "127.0.0.1"}:${connection.port ?? 6379}`;
}

/** @internal Clients that share one fate: see the top of this file. */
export class RedisLink {
  readonly label: string;
  readonly #modules: ClusterModules;
  readonly #connection: ClusterConnection;
  readonly #reconnectLimit: number;
  readonly #onGone: (error: Error) => void;
  readonly #clients = new Set<Redis>();
  #everReady = false;
  #downSince = 0;
  #lastError: Error | undefined;
  #gone: Error | undefined;
  #closing = false;
  /** Called each time a client is ready again after losing its connection. */
  onReconnect: (() => void) | undefined;

  constructor(modules: ClusterModules, connection: ClusterConnection, onGone: (error: Error) => void, reconnectLimit = DEFAULT_RECONNECT_LIMIT) {
    this.#modules = modules;
    this.#connection = connection;
    this.label = connectionLabel(connection);
    this.#onGone = onGone;
    this.#reconnectLimit = reconnectLimit;
  }

  /** The error the link gave up with, once it has. */
  get gone(): Error | undefined {
    return this.#gone;
  }

  /** A new client (BullMQ wants one per Queue, Worker and QueueEvents). */
  client(): Redis {
    const options: RedisOptions = {
      connectTimeout: 3000,
      ...(typeof this.#connection === "string" ? {} : (this.#connection as RedisOptions)),
      maxRetriesPerRequest: null,
      retryStrategy: (times) => this.#retry(times),
    };
    const { Redis: RedisClass } = this.#modules.ioredis;
    const client = typeof this.#connection === "string" ? new RedisClass(this.#connection, options) : new RedisClass(options);
    let lost = false;
    client.on("error", (error: Error) => {
      this.#lastError = error;
    });
    client.on("close", () => {
      if (this.#downSince === 0) this.#downSince = Date.now();
      lost = this.#everReady;
    });
    client.on("ready", () => {
      this.#everReady = true;
      this.#downSince = 0;
      if (lost) this.onReconnect?.();
      lost = false;
    });
    client.on("end", () => this.#clients.delete(client));
    this.#clients.add(client);
    return client;
  }

  /** Closes every client (quietly: a link closing on purpose is not gone). */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(
      [...this.#clients].map(async (client) => {
        try {
          await client.quit();
        } catch {
          client.disconnect();
        }
      }),
    );
  }

  #retry(times: number): number | null {
    if (this.#closing || this.#gone !== undefined) return null;
    const cause = this.#lastError?.message ?? "no answer";
    if (!this.#everReady) {
      if (times >= CONNECT_TRIES) return this.#giveUp(new Error(`cannot connect to Redis at ${this.label}: ${cause}`, { cause: this.#lastError }));
      return 100 * times;
    }
    if (this.#downSince !== 0 && Date.now() - this.#downSince > this.#reconnectLimit) {
      return this.#giveUp(new Error(`lost the connection to Redis at ${this.label} for more than ${this.#reconnectLimit} ms: ${cause}`, { cause: this.#lastError }));
    }
    return Math.min(100 * times, 1000);
  }

  #giveUp(error: Error): null {
    this.#gone = error;
    // Every client goes with it: a half-connected executor would leave futures waiting.
    queueMicrotask(() => {
      for (const client of this.#clients) client.disconnect();
      this.#onGone(error);
    });
    return null;
  }
}
