/**
 * The batching flusher: one batch, flushed when it reaches a number of records, a number of bytes, or an age.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Flusher from "./Flusher.js"
import * as Position from "./Position.js"
import type { StreamRecord } from "./StreamRecord.js"
import type { Token } from "./Token.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The most records in a batch. Default 500. */
  readonly maxRecords?: number | undefined
  /** The most bytes in a batch, as counted by `weigher`. Default: no limit. */
  readonly maxBytes?: number | undefined
  /**
   * The oldest a batch may grow, measured from its first record. A heartbeat flushes a batch this old, and a
   * record offered to it answers `Full`. Default: no limit (the batch processor's flush interval still applies).
   */
  readonly maxAge?: Duration.DurationInput | undefined
  /** How many bytes a record counts for. Default: the length of its data. */
  readonly weigher?: ((record: StreamRecord) => number) | undefined
}

/**
 * A record that weighs more than `maxBytes` on its own: it could never fit, even in an empty batch.
 *
 * @since 0.1.0
 * @category errors
 */
export class RecordTooLarge extends Data.TaggedError("RecordTooLarge")<{
  readonly position: Position.Position
  readonly weight: number
  readonly maxBytes: number
}> {
  override get message(): string {
    return `The record at ${Position.format(this.position)} weighs ${this.weight} bytes, more than a whole batch ` +
      `may (maxBytes ${this.maxBytes}), so it can never be written. Raise maxBytes, or drop such records with ` +
      `Flusher.filter.`
  }
}

/**
 * The state of a batching flusher: the newest records of the batch, linked to the state before them, so adding
 * records allocates one small object and every earlier state stays intact. A state that holds one more record is
 * also the `Added` answer that produced it (its `state` is itself), which saves a second allocation per record; a
 * run of records taken at once by `addAll` is one `Run` node that points into the chunk they came in.
 *
 * @since 0.1.0
 * @category models
 */
export type State = Empty | Holding | Run

/**
 * @since 0.1.0
 * @category models
 */
export interface Empty {
  readonly _tag: "Empty"
}

/**
 * One more record.
 *
 * @since 0.1.0
 * @category models
 */
export interface Holding extends Flusher.Added<State> {
  readonly _tag: "Added"
  readonly state: Holding
  readonly record: StreamRecord
  readonly token: Token
  readonly previous: State
  readonly count: number
  readonly bytes: number
  /** When the batch's first record was added. */
  readonly startedAt: number
}

/**
 * `records[from]` to `records[to - 1]` more, with consecutive tokens from `firstToken`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Run {
  readonly _tag: "Run"
  readonly records: ReadonlyArray<StreamRecord>
  readonly from: number
  readonly to: number
  readonly firstToken: Token
  readonly previous: State
  readonly count: number
  readonly bytes: number
  readonly startedAt: number
}

/**
 * @since 0.1.0
 * @category models
 */
export type Batch = ReadonlyArray<StreamRecord>

const empty: State = { _tag: "Empty" }

class HoldingNode implements Holding {
  readonly _tag = "Added"
  constructor(
    readonly record: StreamRecord,
    readonly token: Token,
    readonly previous: State,
    readonly count: number,
    readonly bytes: number,
    readonly startedAt: number
  ) {}
  // A getter, not a field: a field pointing at itself would make the state cyclic for anything that walks it.
  get state(): Holding {
    return this
  }
}

/** @internal */
export const dataLength = (record: StreamRecord): number => record.data.length

/** @internal */
export const tooLarge = (record: StreamRecord, weight: number, maxBytes: number) =>
  Flusher.failed(new RecordTooLarge({ position: Position.of(record), weight, maxBytes }))

/**
 * Makes a batching flusher.
 *
 * @example
 * ```ts
 * import { BatchingFlusher } from "@flusher/core"
 *
 * // Batches of at most 500 records or 1 MiB, flushed by the heartbeat when their first record is 30 s old.
 * const flusher = BatchingFlusher.make({ maxRecords: 500, maxBytes: 1024 * 1024, maxAge: "30 seconds" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Flusher.Flusher<State, Batch, RecordTooLarge> => {
  const maxRecords = positiveLimit("maxRecords", options.maxRecords ?? 500)
  const maxBytes = positiveLimit("maxBytes", options.maxBytes ?? Infinity)
  const maxAgeMillis = options.maxAge === undefined ? Infinity : Duration.toMillis(options.maxAge)
  const weigher = options.weigher ?? dataLength

  const isDue = (state: State, now: number) => state._tag !== "Empty" && now - state.startedAt >= maxAgeMillis

  const flushAll = (state: State): Flusher.FlushResult<State, Batch, never> => {
    if (state._tag === "Empty") return Flusher.notFlushed(state)
    const records = new Array<StreamRecord>(state.count)
    const tokens = new Array<Token>(state.count)
    let i = state.count
    for (let node: State = state; node._tag !== "Empty"; node = node.previous) {
      if (node._tag === "Added") {
        i--
        records[i] = node.record
        tokens[i] = node.token
      } else {
        for (let k = node.to - 1; k >= node.from; k--) {
          i--
          records[i] = node.records[k]
          tokens[i] = (node.firstToken + (k - node.from)) as Token
        }
      }
    }
    return Flusher.flushed(empty, tokens, records)
  }

  const addAll: Flusher.AddAll<State> = (state, records, from, to, firstToken, now) => {
    let count = state._tag === "Empty" ? 0 : state.count
    let bytes = state._tag === "Empty" ? 0 : state.bytes
    const startedAt = state._tag === "Empty" ? now : state.startedAt
    let end = from
    if (count > 0 && now - startedAt >= maxAgeMillis) return { state, count: 0 }
    if (maxBytes === Infinity && options.weigher === undefined) {
      // Only the count limits the batch: no need to look at the records one by one.
      end = Math.min(to, from + Math.max(maxRecords - count, count === 0 ? 1 : 0))
      count += end - from
      for (let i = from; i < end; i++) bytes += records[i].data.length
    } else {
      // The same tests as `add`, record by record; the first record that would not be Added ends the run.
      for (; end < to; end++) {
        const weight = weigher(records[end])
        if (weight > maxBytes) break
        if (count > 0 && (count >= maxRecords || bytes + weight > maxBytes)) break
        count++
        bytes += weight
      }
    }
    if (end === from) return { state, count: 0 }
    const run: Run = { _tag: "Run", records, from, to: end, firstToken, previous: state, count, bytes, startedAt }
    return { state: run, count: end - from }
  }

  return {
    init: () => empty,
    add: (state, record, token, now) => {
      const weight = weigher(record)
      if (weight > maxBytes) return tooLarge(record, weight, maxBytes)
      if (state._tag === "Empty") return new HoldingNode(record, token, state, 1, weight, now)
      if (state.count >= maxRecords || state.bytes + weight > maxBytes || now - state.startedAt >= maxAgeMillis) {
        return Flusher.full
      }
      return new HoldingNode(record, token, state, state.count + 1, state.bytes + weight, state.startedAt)
    },
    addAll,
    // A single batch has nothing to keep back: a partial flush writes it all, like a full one.
    flush: (state) => flushAll(state),
    heartbeat: (state, now) => isDue(state, now) ? flushAll(state) : Flusher.notFlushed(state),
    recordsOf: (batch) => batch
  }
}

/** @internal */
export const positiveLimit = (name: string, value: number): number => {
  if (!(value > 0)) throw new RangeError(`${name} must be a positive number, got ${value}`)
  return value
}
