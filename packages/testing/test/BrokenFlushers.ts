/**
 * Flushers with one deliberate fault each, for testing that the laws catch them. Each starts from `sound`, a small
 * flusher that keeps the contract, and changes one thing.
 */
import { Flusher, type StreamRecord, Token } from "@flusher/core"

/** The sound flusher's state: what it holds, oldest first, and when its batch began. */
export interface State {
  readonly items: ReadonlyArray<Item>
  readonly startedAt: number
}

export interface Item {
  readonly record: StreamRecord.StreamRecord
  readonly token: Token.Token
}

export type Batch = ReadonlyArray<StreamRecord.StreamRecord>

const maxRecords = 3
const maxAgeMillis = 10_000

const empty: State = { items: [], startedAt: 0 }

const flushed = (items: ReadonlyArray<Item>, rest: State = empty): Flusher.FlushResult<State, Batch, never> =>
  Flusher.flushed(rest, items.map((item) => item.token), items.map((item) => item.record))

const flushAll = (state: State): Flusher.FlushResult<State, Batch, never> =>
  state.items.length === 0 ? Flusher.notFlushed(state) : flushed(state.items)

const addTo = (state: State, record: StreamRecord.StreamRecord, token: Token.Token, now: number): State => ({
  items: [...state.items, { record, token }],
  startedAt: state.items.length === 0 ? now : state.startedAt
})

/** Batches of at most 3 records, flushed by a heartbeat once 10 seconds old. It keeps the contract. */
export const sound: Flusher.Flusher<State, Batch> = Flusher.make({
  init: () => empty,
  add: (state, record, token, now) =>
    state.items.length >= maxRecords ? Flusher.full : Flusher.added(addTo(state, record, token, now)),
  flush: flushAll,
  heartbeat: (state, now) =>
    state.items.length > 0 && now - state.startedAt >= maxAgeMillis ? flushAll(state) : Flusher.notFlushed(state),
  recordsOf: (batch) => batch
})

/** Loses the oldest record of every batch it flushes: neither written nor returned. */
export const dropsToken: Flusher.Flusher<State, Batch> = {
  ...sound,
  flush: (state) => state.items.length === 0 ? Flusher.notFlushed(state) : flushed(state.items.slice(1))
}

/** Writes the oldest record of every batch twice, and returns its token twice. */
export const repeatsToken: Flusher.Flusher<State, Batch> = {
  ...sound,
  flush: (state) => state.items.length === 0 ? Flusher.notFlushed(state) : flushed([state.items[0], ...state.items])
}

/** Returns, with every batch, a token that no record was offered with. */
export const returnsForeignToken: Flusher.Flusher<State, Batch> = {
  ...sound,
  flush: (state) => {
    const result = sound.flush(state, "full")
    return result._tag === "Flushed" ?
      Flusher.flushed(result.state, [...result.tokens, Token.unsafeMake(1_000_000)], result.batch) :
      result
  }
}

/** Answers `Ignored` to records without a partition key, but keeps them and writes them all the same. */
export const returnsIgnoredToken: Flusher.Flusher<State, Batch> = {
  ...sound,
  add: (state, record, token, now) => {
    const result = sound.add(state, record, token, now)
    return result._tag === "Added" && record.partitionKey === null ? Flusher.ignored(result.state) : result
  }
}

/** A full flush keeps the newest record back, as a partial one might. */
export const leavesRecordOnFullFlush: Flusher.Flusher<State, Batch> = {
  ...sound,
  flush: (state, mode) =>
    mode === "full" && state.items.length >= 2 ?
      flushed(state.items.slice(0, -1), { items: state.items.slice(-1), startedAt: state.startedAt }) :
      flushAll(state)
}

/** Answers `Full` to a record of more than 32 bytes whenever it is empty, "to give it a batch of its own". */
export const fullWhenEmpty: Flusher.Flusher<State, Batch> = {
  ...sound,
  add: (state, record, token, now) =>
    state.items.length === 0 && record.data.length > 32 ? Flusher.full : sound.add(state, record, token, now)
}

export interface MutableState {
  readonly items: Array<Item>
}

/** Appends to its state's array in place, and returns the same state. */
export const mutatesState: Flusher.Flusher<MutableState, Batch> = Flusher.make<MutableState, Batch>({
  init: () => ({ items: [] }),
  add: (state, record, token) => {
    if (state.items.length >= maxRecords) return Flusher.full
    state.items.push({ record, token })
    return Flusher.added(state)
  },
  flush: (state) =>
    state.items.length === 0 ?
      Flusher.notFlushed(state) :
      Flusher.flushed({ items: [] }, state.items.map((item) => item.token), state.items.map((item) => item.record)),
  recordsOf: (batch) => batch
})

/** A heartbeat on an empty flusher returns a token it made up, with an empty batch. */
export const heartbeatInventsToken: Flusher.Flusher<State, Batch> = {
  ...sound,
  heartbeat: (state, now) =>
    state.items.length === 0 ? Flusher.flushed(state, [Token.unsafeMake(0)], []) : sound.heartbeat(state, now)
}

/** Throws on a record without data instead of answering `Failed`. */
export const throwsOnEmptyRecord: Flusher.Flusher<State, Batch> = {
  ...sound,
  add: (state, record, token, now) => {
    if (record.data.length === 0) throw new RangeError(`record ${record.sequenceNumber} has no data`)
    return sound.add(state, record, token, now)
  }
}

/** A partial flush writes nothing, so after `Full` there is still no room. */
export const partialFlushKeepsAll: Flusher.Flusher<State, Batch> = {
  ...sound,
  flush: (state, mode) => mode === "partial" ? Flusher.notFlushed(state) : flushAll(state)
}

/** Numbers its batches from a counter it keeps outside its state, so a replay gives another batch. */
export const numbersBatchesOutsideState = (): Flusher.Flusher<
  State,
  { readonly id: number; readonly records: Batch }
> => {
  let batches = 0
  return Flusher.mapBatch(sound, (records) => ({ id: batches++, records }), (batch) => batch.records)
}

/** Leaves the newest record out of every batch, while returning all the tokens. */
export const batchMissesRecord: Flusher.Flusher<State, Batch> = Flusher.mapBatch(
  sound,
  (batch): Batch => batch.slice(0, -1),
  (batch) => batch
)

/** Takes runs of records with `addAll`, one more than `add` would: a fast path that disagrees with the slow one. */
export const addAllTakesOneTooMany: Flusher.Flusher<State, Batch> = Flusher.make({
  ...sound,
  addAll: (state, records, from, to, firstToken, now) => {
    let next = state
    let count = 0
    for (let i = from; i < to && next.items.length <= maxRecords; i++, count++) {
      next = addTo(next, records[i], Token.unsafeMake(firstToken + count), now)
    }
    return { state: next, count }
  }
})

/** The sound flusher with a correct `addAll`: the law about it holds. */
export const soundAddAll: Flusher.Flusher<State, Batch> = Flusher.make({
  ...sound,
  addAll: (state, records, from, to, firstToken, now) => {
    let next = state
    let count = 0
    for (let i = from; i < to && next.items.length < maxRecords; i++, count++) {
      next = addTo(next, records[i], Token.unsafeMake(firstToken + count), now)
    }
    return { state: next, count }
  }
})
