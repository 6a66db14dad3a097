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
 * The state of a batching flusher: the newest record of the batch, linked to the state before it, so adding a
 * record allocates one small object and every earlier state stays intact. A holding state is also the `Added`
 * answer that produced it (its `state` is itself), which saves a second allocation on every record.
 *
 * @since 0.1.0
 * @category models
 */
export type State = Empty | Holding

/**
 * @since 0.1.0
 * @category models
 */
export interface Empty {
  readonly _tag: "Empty"
}

/**
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

const dataLength = (record: StreamRecord): number => record.data.length

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

  const isDue = (state: State, now: number) => state._tag === "Added" && now - state.startedAt >= maxAgeMillis

  const flushAll = (state: State): Flusher.FlushResult<State, Batch, never> => {
    if (state._tag === "Empty") return Flusher.notFlushed(state)
    const records = new Array<StreamRecord>(state.count)
    const tokens = new Array<Token>(state.count)
    let node: State = state
    for (let i = state.count - 1; node._tag === "Added"; i--) {
      records[i] = node.record
      tokens[i] = node.token
      node = node.previous
    }
    return Flusher.flushed(empty, tokens, records)
  }

  return {
    init: () => empty,
    add: (state, record, token, now) => {
      const weight = weigher(record)
      if (weight > maxBytes) {
        const position = Position.make(record.sequenceNumber, record.subSequenceNumber, record.aggregate)
        return Flusher.failed(new RecordTooLarge({ position, weight, maxBytes }))
      }
      if (state._tag === "Empty") return new HoldingNode(record, token, state, 1, weight, now)
      if (state.count >= maxRecords || state.bytes + weight > maxBytes || now - state.startedAt >= maxAgeMillis) {
        return Flusher.full
      }
      return new HoldingNode(record, token, state, state.count + 1, state.bytes + weight, state.startedAt)
    },
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
