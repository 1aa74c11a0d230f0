/**
 * The header of a queue: Int32 cells in one heap block, grouped by who writes them so
 * that producers and consumers of a FIFO queue do not fight over one cache line.
 *
 * Producer line (the tail mutex also guards everything for LIFO and priority queues):
 *   TAIL_MUTEX (its holder inside, core/mutex.ts), GOT_SEEN (the last GOT a producer read,
 *   for a bounded queue's room check), PUT (items ever put), WRITTEN (ring bytes ever written),
 *   P_JOURNAL + P_OLD_PUT, P_OLD_WRITTEN, P_NEW_WRITTEN, P_OLD_RING (the put in flight)
 * Consumer line:
 *   HEAD_MUTEX (likewise), a spare cell, GOT (items ever got), CONSUMED (ring bytes ever consumed),
 *   DONE (taskDone calls), C_JOURNAL + C_OLD_GOT, C_OLD_CONSUMED, C_NEW_CONSUMED, SPINNER
 *   (the ident of the getter spinning for an item, 0 if none: one spinner is enough, more only burn cores;
 *   getters write it as often as they find the queue empty, so it must not sit on the line
 *   every put reads)
 * Shared line (read often, written rarely):
 *   NOT_EMPTY / NOT_FULL / ALL_DONE sequences, GETTERS / PUTTERS parked, SHUT, MAXSIZE,
 *   KIND, RING (the FIFO ring: block offset / 8 and log2 of its size, packed),
 *   NE_WOKEN / NF_WOKEN (parked getters / putters already signalled but not yet running:
 *   a put need not pay for a kernel call to wake a getter that is already waking)
 * Store line (LIFO and priority): STORE, STORE_SIZE, TOP, ARRIVALS; then their undo log.
 *
 * Counters run modulo 2^32; differences (PUT - GOT, WRITTEN - CONSUMED) are what count.
 */
export const TAIL_MUTEX = 0;
export const GOT_SEEN = 1;
export const PUT = 2;
export const WRITTEN = 3;
export const P_JOURNAL = 4;
export const P_OLD_PUT = 5;
export const P_OLD_WRITTEN = 6;
export const P_NEW_WRITTEN = 7;
export const P_OLD_RING = 8;

export const HEAD_MUTEX = 16;
export const GOT = 18;
export const CONSUMED = 19;
export const DONE = 20;
export const C_JOURNAL = 21;
export const C_OLD_GOT = 22;
export const C_OLD_CONSUMED = 23;
export const C_NEW_CONSUMED = 24;
export const SPINNER = 25;

export const NOT_EMPTY = 32;
export const GETTERS = 33;
export const NOT_FULL = 34;
export const PUTTERS = 35;
export const ALL_DONE = 36;
export const SHUT = 37;
export const MAXSIZE = 38;
export const KIND = 39;
export const RING = 40;
export const NE_WOKEN = 42;
export const NF_WOKEN = 43;

export const STORE = 48;
export const STORE_SIZE = 49;
export const TOP = 50;
export const ARRIVALS = 51;
export const UNDO_LOG = 56;
export const UNDO_CAPACITY = 100;

export const HEADER_CELLS = UNDO_LOG + 1 + 2 * UNDO_CAPACITY;

/** Queue kinds, kept in KIND so that a queue revived in another thread knows what it is. */
export const FIFO = 0;
export const LIFO = 1;
export const PRIORITY = 2;
export const SIMPLE = 3;
