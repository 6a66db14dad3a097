/**
 * The flusher contract: a pure description of how records are gathered into batches.
 *
 * A flusher keeps a batch in a state value. The batch processor hands it each record with a token it issued,
 * decides when to flush, has each flushed batch written, and counts a record as done only when the batch holding
 * its token was written. The flusher does no I/O and reads no clock: the time comes in as `now`.
 *
 * **The contract**, checked by the laws of `@flusher/testing`:
 *
 * - Every operation is pure. It returns a new state and never changes the state it was given, so an old state
 *   stays valid and replaying an operation on it gives an equal result.
 * - `add` answers `Added` (the flusher now holds the record's token), `Ignored` (it will never write the record,
 *   and never returns its token), `Full` (it holds nothing new; the caller keeps its old state, flushes, and adds
 *   the same record again), or `Failed` with the flusher's own error.
 * - `Full` is never the answer of an empty flusher. A record that could never fit is a typed error instead (the
 *   batching flusher's `RecordTooLarge`). After `Full`, a `partial` flush makes room for the refused record.
 * - `flush` returns the tokens of exactly the records in the batch it returns. Every token answered `Added` comes
 *   back exactly once, from a flush or a heartbeat; no other token ever does.
 * - `flush("full")` leaves nothing outstanding, so a second `flush("full")` returns `NotFlushed`.
 * - `heartbeat` runs on a timer whether or not records arrive, so a time-based flush happens on an idle shard. It
 *   flushes like `flush("partial")` when it judges the batch due, and answers `NotFlushed` otherwise; on an empty
 *   flusher it returns no tokens.
 * - `addAll`, when a flusher has it, is a faster way to make several `add` calls that would all answer `Added`: it
 *   takes records in order and stops before the first record that `add` would not answer `Added` to, leaving that
 *   record to `add`. What it returns must behave exactly as the state those `add` calls would have returned.
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"
import type { FlushMode } from "./FlushMode.js"
import type { ShardId } from "./ShardId.js"
import type { StreamRecord } from "./StreamRecord.js"
import type { Token } from "./Token.js"

/**
 * A flusher with state `S`, batches of type `B`, and errors of type `E`. Its own configuration (erlmld's
 * `FlusherData`) is whatever was given when the value was made.
 *
 * @since 0.1.0
 * @category models
 */
export interface Flusher<S, B, E = never> {
  /** The state of an empty flusher for a shard. */
  readonly init: (shardId: ShardId) => S
  /** Offers one record with its token, at time `now` (epoch milliseconds). */
  readonly add: (state: S, record: StreamRecord, token: Token, now: number) => AddResult<S, E>
  /** Empties the batch (`full`) or what is ready of it (`partial`), returning the batch to write and its tokens. */
  readonly flush: (state: S, mode: FlushMode) => FlushResult<S, B, E>
  /** Called on every tick of the heartbeat, at time `now`; may flush what is due. */
  readonly heartbeat: (state: S, now: number) => FlushResult<S, B, E>
  /**
   * Optional, for speed: adds `records[from]`, `records[from + 1]`… up to `records[to - 1]`, the first with token
   * `firstToken` and each next one with the next token, as long as `add` would answer `Added`, and says how many it
   * added. The batch processor uses it on every chunk of records and falls back to `add` for the record it stopped
   * at, so a flusher can take a run of records with one allocation instead of one per record.
   */
  readonly addAll?: AddAll<S> | undefined
  /**
   * The records a batch holds, when the batch type exposes them. Optional: the laws use it to check that a batch
   * holds exactly the records whose tokens the flush returned.
   */
  readonly recordsOf?: ((batch: B) => ReadonlyArray<StreamRecord>) | undefined
}

/**
 * The bulk form of `add`: see `Flusher.addAll`.
 *
 * @since 0.1.0
 * @category models
 */
export type AddAll<S> = (
  state: S,
  records: ReadonlyArray<StreamRecord>,
  from: number,
  to: number,
  firstToken: Token,
  now: number
) => AddedAll<S>

/**
 * What `addAll` did: the state after the records it added, and how many it added (from `from` on, in order).
 *
 * @since 0.1.0
 * @category models
 */
export interface AddedAll<S> {
  readonly state: S
  readonly count: number
}

/**
 * The answer of `add`.
 *
 * @since 0.1.0
 * @category models
 */
export type AddResult<S, E> = Added<S> | Ignored<S> | Full | Failed<E>

/**
 * The answer of `flush` and `heartbeat`.
 *
 * @since 0.1.0
 * @category models
 */
export type FlushResult<S, B, E> = Flushed<S, B> | NotFlushed<S> | Failed<E>

/**
 * The flusher holds the record; its token will come back from a flush or a heartbeat.
 *
 * @since 0.1.0
 * @category models
 */
export interface Added<S> {
  readonly _tag: "Added"
  readonly state: S
}

/**
 * The flusher will never write the record. Its token must never come back; the record no longer holds the
 * checkpoint back.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ignored<S> {
  readonly _tag: "Ignored"
  readonly state: S
}

/**
 * The flusher cannot take the record now. It carries no state: the caller keeps the state it had, flushes, and
 * offers the same record again.
 *
 * @since 0.1.0
 * @category models
 */
export interface Full {
  readonly _tag: "Full"
}

/**
 * The flusher's own error.
 *
 * @since 0.1.0
 * @category models
 */
export interface Failed<E> {
  readonly _tag: "Failed"
  readonly error: E
}

/**
 * A batch to write, with the tokens of exactly the records it holds (at least one).
 *
 * @since 0.1.0
 * @category models
 */
export interface Flushed<S, B> {
  readonly _tag: "Flushed"
  readonly state: S
  readonly tokens: ReadonlyArray<Token>
  readonly batch: B
}

/**
 * Nothing was flushed: the flusher is empty, or (for `partial` and heartbeats) nothing is due yet.
 *
 * @since 0.1.0
 * @category models
 */
export interface NotFlushed<S> {
  readonly _tag: "NotFlushed"
  readonly state: S
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const added = <S>(state: S): Added<S> => ({ _tag: "Added", state })

/**
 * @since 0.1.0
 * @category constructors
 */
export const ignored = <S>(state: S): Ignored<S> => ({ _tag: "Ignored", state })

/**
 * The one `Full` value.
 *
 * @since 0.1.0
 * @category constructors
 */
export const full: Full = { _tag: "Full" }

/**
 * @since 0.1.0
 * @category constructors
 */
export const failed = <E>(error: E): Failed<E> => ({ _tag: "Failed", error })

/**
 * @since 0.1.0
 * @category constructors
 */
export const flushed = <S, B>(state: S, tokens: ReadonlyArray<Token>, batch: B): Flushed<S, B> => ({
  _tag: "Flushed",
  state,
  tokens,
  batch
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const notFlushed = <S>(state: S): NotFlushed<S> => ({ _tag: "NotFlushed", state })

/**
 * Makes a flusher from its four operations. A flusher that never flushes on a heartbeat may leave `heartbeat`
 * out: it then answers `NotFlushed`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <S, B, E = never>(operations: {
  readonly init: (shardId: ShardId) => S
  readonly add: (state: S, record: StreamRecord, token: Token, now: number) => AddResult<S, E>
  readonly flush: (state: S, mode: FlushMode) => FlushResult<S, B, E>
  readonly heartbeat?: ((state: S, now: number) => FlushResult<S, B, E>) | undefined
  readonly addAll?: AddAll<S> | undefined
  readonly recordsOf?: ((batch: B) => ReadonlyArray<StreamRecord>) | undefined
}): Flusher<S, B, E> => ({
  init: operations.init,
  add: operations.add,
  flush: operations.flush,
  heartbeat: operations.heartbeat ?? notFlushed,
  addAll: operations.addAll,
  recordsOf: operations.recordsOf
})

// -----------------------------------------------------------------------------
// combinators
// -----------------------------------------------------------------------------

/**
 * Keeps only the records that satisfy a predicate; the others are `Ignored` and never hold the checkpoint back.
 *
 * @example
 * ```ts
 * import { BatchingFlusher, Flusher } from "@flusher/core"
 * import { pipe } from "effect"
 *
 * // Skip the records a producer writes only to keep its shard warm.
 * const flusher = pipe(
 *   BatchingFlusher.make({ maxRecords: 500 }),
 *   Flusher.filter((record) => record.partitionKey !== "keep-alive")
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const filter: {
  (predicate: (record: StreamRecord) => boolean): <S, B, E>(self: Flusher<S, B, E>) => Flusher<S, B, E>
  <S, B, E>(self: Flusher<S, B, E>, predicate: (record: StreamRecord) => boolean): Flusher<S, B, E>
} = dual(2, <S, B, E>(self: Flusher<S, B, E>, predicate: (record: StreamRecord) => boolean): Flusher<S, B, E> => {
  const inner = self.addAll
  return {
    ...self,
    add: (state, record, token, now) => predicate(record) ? self.add(state, record, token, now) : ignored(state),
    // Up to the first record to ignore: `add` answers Ignored for it, which the bulk form never does.
    addAll: inner === undefined ? undefined : (state, records, from, to, firstToken, now) => {
      let end = from
      while (end < to && predicate(records[end])) end++
      return end === from ? { state, count: 0 } : inner(state, records, from, end, firstToken, now)
    }
  }
})

/**
 * Transforms every batch the flusher returns, for example to encode it once for the writer. The result no longer
 * exposes the records of its batches unless `recordsOf` is given for the new batch type.
 *
 * @since 0.1.0
 * @category combinators
 */
export const mapBatch: {
  <B, C>(
    f: (batch: B) => C,
    recordsOf?: (batch: C) => ReadonlyArray<StreamRecord>
  ): <S, E>(self: Flusher<S, B, E>) => Flusher<S, C, E>
  <S, B, E, C>(
    self: Flusher<S, B, E>,
    f: (batch: B) => C,
    recordsOf?: (batch: C) => ReadonlyArray<StreamRecord>
  ): Flusher<S, C, E>
} = dual(
  (args) => typeof args[0] === "object" && args[0] !== null && "add" in args[0],
  <S, B, E, C>(
    self: Flusher<S, B, E>,
    f: (batch: B) => C,
    recordsOf?: (batch: C) => ReadonlyArray<StreamRecord>
  ): Flusher<S, C, E> => {
    const mapResult = (result: FlushResult<S, B, E>): FlushResult<S, C, E> =>
      result._tag === "Flushed" ? flushed(result.state, result.tokens, f(result.batch)) : result
    return {
      init: self.init,
      add: self.add,
      flush: (state, mode) => mapResult(self.flush(state, mode)),
      heartbeat: (state, now) => mapResult(self.heartbeat(state, now)),
      addAll: self.addAll,
      recordsOf
    }
  }
)
