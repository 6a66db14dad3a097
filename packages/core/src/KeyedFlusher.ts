/**
 * The keyed flusher: one batch per key (a partition key, a destination table…), for writers that write each
 * key's records apart.
 *
 * A `partial` flush writes only the fullest batch; a `full` flush writes them all; a heartbeat writes every batch
 * that reached its age. When a key's batch cannot take a record, that batch is sealed and the record starts a new
 * one for its key; the next record offered answers `Full`, so the processor flushes the sealed batch at once (a
 * heartbeat flushes it too). A partial flush writes the sealed batch first, and also the fullest open batch when
 * every key slot (`maxKeys`) is taken. This keeps the contract's promise that a `partial` flush after `Full` makes
 * room, whichever key the refused record has.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import { dataLength, positiveLimit, type RecordTooLarge, tooLarge } from "./BatchingFlusher.js"
import * as Flusher from "./Flusher.js"
import type { StreamRecord } from "./StreamRecord.js"
import type { Token } from "./Token.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The key of a record. Default: its partition key (`""` when it has none). */
  readonly key?: ((record: StreamRecord) => string) | undefined
  /** The most records in one key's batch. Default 500. */
  readonly maxRecords?: number | undefined
  /** The most bytes in one key's batch, as counted by `weigher`. Default: no limit. */
  readonly maxBytes?: number | undefined
  /** The oldest one key's batch may grow, from its first record. Default: no limit. */
  readonly maxAge?: Duration.DurationInput | undefined
  /** The most keys held at once; a record with a new key answers `Full` beyond it. Default: no limit. */
  readonly maxKeys?: number | undefined
  /** How many bytes a record counts for. Default: the length of its data. */
  readonly weigher?: ((record: StreamRecord) => number) | undefined
}

/**
 * The records of one key, in the order they were added.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyBatch {
  readonly key: string
  readonly records: ReadonlyArray<StreamRecord>
}

/**
 * What a flush writes: the batches of one or more keys.
 *
 * @since 0.1.0
 * @category models
 */
export type Batch = ReadonlyArray<KeyBatch>

/**
 * The batch of one key, held as a chain from its newest record back to its first.
 *
 * @since 0.1.0
 * @category models
 */
export interface Group {
  readonly key: string
  readonly record: StreamRecord
  readonly token: Token
  readonly previous: Group | null
  readonly count: number
  readonly bytes: number
  readonly startedAt: number
}

/**
 * The state of a keyed flusher.
 *
 * @since 0.1.0
 * @category models
 */
export interface State {
  readonly groups: HashMap.HashMap<string, Group>
  /** A batch that could take no more, waiting for the next flush. */
  readonly sealed: Group | null
}

const empty: State = { groups: HashMap.empty(), sealed: null }

const partitionKeyOf = (record: StreamRecord): string => record.partitionKey ?? ""

/**
 * Makes a keyed flusher.
 *
 * @example
 * ```ts
 * import { KeyedFlusher } from "@flusher/core"
 *
 * // One batch per event type, at most 25 records each (DynamoDB's BatchWriteItem limit).
 * const flusher = KeyedFlusher.make({
 *   key: (record) => record.partitionKey?.split(":")[0] ?? "unknown",
 *   maxRecords: 25,
 *   maxAge: "5 seconds"
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Flusher.Flusher<State, Batch, RecordTooLarge> => {
  const keyOf = options.key ?? partitionKeyOf
  const maxRecords = positiveLimit("maxRecords", options.maxRecords ?? 500)
  const maxBytes = positiveLimit("maxBytes", options.maxBytes ?? Infinity)
  const maxKeys = positiveLimit("maxKeys", options.maxKeys ?? Infinity)
  const maxAgeMillis = options.maxAge === undefined ? Infinity : Duration.toMillis(options.maxAge)
  const weigher = options.weigher ?? dataLength

  const canTake = (group: Group, weight: number, now: number) =>
    group.count < maxRecords && group.bytes + weight <= maxBytes && now - group.startedAt < maxAgeMillis

  // How close a batch is to its limits, from 0 (empty) to 1 (at a limit).
  const fill = (group: Group) => Math.max(group.count / maxRecords, group.bytes / maxBytes)

  const fullest = (groups: HashMap.HashMap<string, Group>): Group | null => {
    let best: Group | null = null
    for (const group of HashMap.values(groups)) {
      if (
        best === null || fill(group) > fill(best) ||
        (fill(group) === fill(best) && group.startedAt < best.startedAt)
      ) {
        best = group
      }
    }
    return best
  }

  const flushGroups = (
    state: State,
    flushedGroups: ReadonlyArray<Group>,
    remaining: HashMap.HashMap<string, Group>
  ): Flusher.FlushResult<State, Batch, never> => {
    if (flushedGroups.length === 0) return Flusher.notFlushed(state)
    const tokens: Array<Token> = []
    const batch: Array<KeyBatch> = []
    for (const group of flushedGroups) {
      const records = new Array<StreamRecord>(group.count)
      const start = tokens.length
      tokens.length += group.count
      let node: Group | null = group
      for (let i = group.count - 1; node !== null; i--) {
        records[i] = node.record
        tokens[start + i] = node.token
        node = node.previous
      }
      batch.push({ key: group.key, records })
    }
    return Flusher.flushed({ groups: remaining, sealed: null }, tokens, batch)
  }

  return {
    init: () => empty,
    add: (state, record, token, now) => {
      const weight = weigher(record)
      if (weight > maxBytes) return tooLarge(record, weight, maxBytes)
      if (state.sealed !== null) return Flusher.full

      const key = keyOf(record)
      const group = Option.getOrNull(HashMap.get(state.groups, key))
      if (group === null && HashMap.size(state.groups) >= maxKeys) return Flusher.full
      const start = { key, record, token, previous: null, count: 1, bytes: weight, startedAt: now }
      if (group === null) return Flusher.added({ groups: HashMap.set(state.groups, key, start), sealed: null })
      if (!canTake(group, weight, now)) {
        return Flusher.added({ groups: HashMap.set(state.groups, key, start), sealed: group })
      }
      const next: Group = {
        key,
        record,
        token,
        previous: group,
        count: group.count + 1,
        bytes: group.bytes + weight,
        startedAt: group.startedAt
      }
      return Flusher.added({ groups: HashMap.set(state.groups, key, next), sealed: null })
    },
    flush: (state, mode) => {
      if (mode === "full") {
        const all = Array.from(HashMap.values(state.groups))
        if (state.sealed !== null) all.unshift(state.sealed)
        return flushGroups(state, all, HashMap.empty())
      }
      // The sealed batch goes first. A record refused for it may also need a new key: at maxKeys, the fullest
      // open batch goes too, so that whatever record answered Full fits afterwards.
      const due = state.sealed === null ? [] : [state.sealed]
      let remaining = state.groups
      if (state.sealed === null || HashMap.size(state.groups) >= maxKeys) {
        const group = fullest(state.groups)
        if (group !== null) {
          due.push(group)
          remaining = HashMap.remove(remaining, group.key)
        }
      }
      return flushGroups(state, due, remaining)
    },
    heartbeat: (state, now) => {
      const due = state.sealed === null ? [] : [state.sealed]
      let remaining = state.groups
      for (const group of HashMap.values(state.groups)) {
        if (now - group.startedAt >= maxAgeMillis) {
          due.push(group)
          remaining = HashMap.remove(remaining, group.key)
        }
      }
      return flushGroups(state, due, remaining)
    },
    recordsOf: (batch) => batch.flatMap((keyBatch) => keyBatch.records)
  }
}
