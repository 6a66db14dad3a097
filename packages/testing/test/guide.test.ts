import { Flusher, type StreamRecord, type Token } from "@flusher/core"
import { describeLaws } from "@flusher/testing/vitest"

// A flusher that writes records three at a time. A heartbeat also flushes a batch once its first record is five
// seconds old, so that records on a quiet shard are not held back for ever.
interface State {
  readonly records: ReadonlyArray<StreamRecord.StreamRecord>
  readonly tokens: ReadonlyArray<Token.Token>
  readonly startedAt: number
}

type Batch = ReadonlyArray<StreamRecord.StreamRecord>

const empty: State = { records: [], tokens: [], startedAt: 0 }

const flushAll = (state: State): Flusher.FlushResult<State, Batch, never> =>
  state.records.length === 0 ? Flusher.notFlushed(state) : Flusher.flushed(empty, state.tokens, state.records)

const everyThree = Flusher.make<State, Batch>({
  init: () => empty,
  add: (state, record, token, now) =>
    state.records.length === 3 ?
      Flusher.full :
      Flusher.added({
        records: [...state.records, record],
        tokens: [...state.tokens, token],
        startedAt: state.records.length === 0 ? now : state.startedAt
      }),
  flush: flushAll,
  heartbeat: (state, now) =>
    state.records.length > 0 && now - state.startedAt >= 5_000 ? flushAll(state) : Flusher.notFlushed(state),
  recordsOf: (batch) => batch
})

// One test per law, each running the flusher through 100 generated programs.
describeLaws("the every-three flusher", everyThree)
