import { assert, describe, it } from "@effect/vitest"
import {
  BatchingFlusher,
  BatchProcessor,
  Checkpoint,
  Flusher,
  KeyedFlusher,
  Position,
  type StreamRecord
} from "@flusher/core"
import { Arbitraries, NaiveProcessor } from "@flusher/testing"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import { shardId } from "./fixtures.js"

/** What happens next to the shard, resolved against the processor's commands when it is applied. */
type Action =
  | { readonly _tag: "Arrive"; readonly count: number }
  | { readonly _tag: "Tick" }
  | { readonly _tag: "CompleteWrite"; readonly pick: number }
  | { readonly _tag: "FailWrite"; readonly pick: number }
  | { readonly _tag: "AnswerCheckpoint"; readonly answer: "Stored" | "Throttled" | "LeaseLost" }
  | { readonly _tag: "Shutdown"; readonly reason: BatchProcessor.ShutdownReason }

/** What happens most of the time: records, ticks, writes completing, checkpoints stored or throttled. */
const routine: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.record({ _tag: fc.constant("Arrive" as const), count: fc.integer({ min: 0, max: 12 }) }), weight: 6 },
  { arbitrary: fc.constant<Action>({ _tag: "Tick" }), weight: 3 },
  { arbitrary: fc.record({ _tag: fc.constant("CompleteWrite" as const), pick: fc.nat() }), weight: 6 },
  {
    arbitrary: fc.record({
      _tag: fc.constant("AnswerCheckpoint" as const),
      answer: fc.constantFrom<Array<"Stored" | "Throttled">>("Stored", "Stored", "Stored", "Throttled")
    }),
    weight: 4
  }
)

/** What ends or disturbs a shard: at most two of them, anywhere in a program (a shutdown, then the end, say). */
const disruption: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ _tag: fc.constant("FailWrite" as const), pick: fc.nat() }),
  fc.constant<Action>({ _tag: "AnswerCheckpoint", answer: "LeaseLost" }),
  fc.record({
    _tag: fc.constant("Shutdown" as const),
    reason: fc.constantFrom<Array<BatchProcessor.ShutdownReason>>("ShardEnded", "ShutdownRequested", "LeaseLost")
  })
)

const actions: fc.Arbitrary<ReadonlyArray<readonly [Action, number]>> = fc.tuple(
  fc.array(fc.tuple(routine, fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 }))), {
    maxLength: 150,
    size: "max"
  }),
  fc.array(fc.tuple(fc.nat(), disruption), { maxLength: 2 })
).map(([routineActions, disruptions]) => {
  let result: ReadonlyArray<readonly [Action, number]> = routineActions
  for (const [at, action] of disruptions) {
    const index = result.length === 0 ? 0 : at % result.length
    result = [...result.slice(0, index), [action, 0] as const, ...result.slice(index)]
  }
  return result
})

/** How the shard is set up, as plain data so that a failing case prints readably. */
interface Setup {
  readonly kind: "batching" | "keyed"
  readonly maxRecords: number
  readonly maxAge: number | undefined
  readonly ignoreC: boolean
  readonly flushInterval: number
  readonly checkpointInterval: number | "everyWrite"
  readonly maxOutstanding: number
  readonly maxConcurrentWrites: number
  readonly subRecordCheckpoints: boolean
}

const setup: fc.Arbitrary<Setup> = fc.record({
  kind: fc.constantFrom("batching" as const, "keyed" as const),
  maxRecords: fc.integer({ min: 1, max: 8 }),
  maxAge: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
  ignoreC: fc.boolean(),
  flushInterval: fc.integer({ min: 1, max: 8000 }),
  checkpointInterval: fc.oneof(fc.constant("everyWrite" as const), fc.integer({ min: 0, max: 5000 })),
  maxOutstanding: fc.integer({ min: 1, max: 40 }),
  maxConcurrentWrites: fc.integer({ min: 1, max: 3 }),
  subRecordCheckpoints: fc.boolean()
})

const ignoredBy = (setup: Setup) => (record: StreamRecord.StreamRecord) => setup.ignoreC && record.partitionKey === "c"

const flusherOf = (setup: Setup): Flusher.Flusher<unknown, unknown, unknown> => {
  const inner: Flusher.Flusher<unknown, unknown, unknown> = setup.kind === "batching"
    ? BatchingFlusher.make({ maxRecords: setup.maxRecords, maxAge: setup.maxAge }) as never
    : KeyedFlusher.make({ maxRecords: setup.maxRecords, maxAge: setup.maxAge, maxKeys: 2 }) as never
  const ignores = ignoredBy(setup)
  return setup.ignoreC ? Flusher.filter(inner, (record) => !ignores(record)) : inner
}

/** Everything the runtime would know: the writes in flight, the checkpoint asked for, what was written. */
class Harness {
  fast: BatchProcessor.State<unknown, unknown, unknown>
  naive: NaiveProcessor.NaiveState<unknown, unknown, unknown>
  now = 1_700_000_000_000
  delivered = 0
  writes: Array<BatchProcessor.WriteRequest<unknown>> = []
  pendingCheckpoint: Checkpoint.Checkpoint | null = null
  lastStored: Position.Position | null = null
  written = new Set<string>()
  stopped: BatchProcessor.Outcome | null = null
  failed: string | null = null

  readonly flusher: Flusher.Flusher<unknown, unknown, unknown>
  readonly ignores: (record: StreamRecord.StreamRecord) => boolean

  constructor(setup: Setup, readonly records: ReadonlyArray<StreamRecord.StreamRecord>) {
    this.flusher = flusherOf(setup)
    this.ignores = ignoredBy(setup)
    const options = { ...setup, shardId, flusher: this.flusher }
    this.fast = BatchProcessor.make(options)
    this.naive = NaiveProcessor.make(options)
  }

  step(event: BatchProcessor.Event, advance: number): void {
    this.now += advance
    const fast = BatchProcessor.step(this.fast, event, this.now)
    const naive = NaiveProcessor.step(this.naive, event, this.now)
    if (Either.isLeft(fast) || Either.isLeft(naive)) {
      assert.strictEqual(
        Either.isLeft(fast) ? fast.left._tag : "no error",
        Either.isLeft(naive) ? naive.left._tag : "no error",
        `after ${event._tag}`
      )
      this.failed = Either.isLeft(fast) ? fast.left._tag : "?"
      return
    }
    assert.deepStrictEqual(summarize(fast.right.commands), summarize(naive.right.commands), `after ${event._tag}`)
    this.fast = fast.right.state
    this.naive = naive.right.state
    assert.strictEqual(BatchProcessor.outstanding(this.fast), NaiveProcessor.outstanding(this.naive))
    for (const command of fast.right.commands) this.carryOut(command)
  }

  carryOut(command: BatchProcessor.Command<unknown>): void {
    switch (command._tag) {
      case "Write":
        this.writes.push(command.request)
        return
      case "Checkpoint": {
        assert.isNull(this.pendingCheckpoint, "a second checkpoint was asked for before the first was answered")
        this.pendingCheckpoint = command.checkpoint
        if (command.checkpoint._tag === "ShardEnd") {
          assert.strictEqual(this.writes.length, 0, "the end of the shard was checkpointed with writes in flight")
          this.assertWrittenUpTo(this.delivered)
          return
        }
        const position = command.checkpoint.position
        // Never past a record that was not written or ignored; never backwards.
        const upTo = this.records.findIndex((record) => Position.compare(record, position) > 0)
        this.assertWrittenUpTo(upTo === -1 ? this.delivered : upTo)
        if (this.lastStored !== null) assert.isTrue(Position.isAfter(position, this.lastStored), "not past the last")
        return
      }
      case "Stop":
        this.stopped = command.outcome
        this.pendingCheckpoint = null
        this.writes = []
    }
  }

  assertWrittenUpTo(count: number): void {
    for (let i = 0; i < count; i++) {
      const record = this.records[i]
      assert.isTrue(
        this.ignores(record) || this.written.has(Position.format(record)),
        `checkpointed past ${Position.format(record)}, which was neither written nor ignored`
      )
    }
  }

  apply(action: Action, advance: number): void {
    switch (action._tag) {
      case "Arrive": {
        if (this.stopped !== null || BatchProcessor.capacity(this.fast) === 0) return
        const count = Math.min(action.count, BatchProcessor.capacity(this.fast))
        const records = this.records.slice(this.delivered, this.delivered + count)
        this.delivered += records.length
        return this.step(BatchProcessor.Event.RecordsArrived({ records }), advance)
      }
      case "Tick":
        return this.step(BatchProcessor.Event.Tick(), advance)
      case "CompleteWrite": {
        if (this.writes.length === 0) return
        const [request] = this.writes.splice(action.pick % this.writes.length, 1)
        for (const record of this.flusher.recordsOf!(request.batch)) this.written.add(Position.format(record))
        return this.step(BatchProcessor.Event.BatchWritten({ batchId: request.batchId }), advance)
      }
      case "FailWrite": {
        if (this.writes.length === 0) return
        const request = this.writes[action.pick % this.writes.length]
        return this.step(BatchProcessor.Event.BatchWriteFailed({ batchId: request.batchId, cause: "boom" }), advance)
      }
      case "AnswerCheckpoint": {
        const checkpoint = this.pendingCheckpoint
        if (checkpoint === null) return
        this.pendingCheckpoint = null
        if (action.answer === "Stored" && checkpoint._tag === "AtPosition") this.lastStored = checkpoint.position
        return this.step(
          action.answer === "Stored"
            ? BatchProcessor.Event.CheckpointStored({ checkpoint })
            : BatchProcessor.Event.CheckpointRefused({ reason: action.answer }),
          advance
        )
      }
      case "Shutdown":
        if (this.stopped !== null) return
        return this.step(BatchProcessor.Event.Shutdown({ reason: action.reason }), advance)
    }
  }

  /** Ends the shard and answers everything until the processor stops. */
  finish(): void {
    if (this.failed !== null || this.stopped?.reason === "LeaseLost") return
    // A requested shutdown that finished may still be followed by the end of the shard.
    this.stopped = null
    this.step(BatchProcessor.Event.Shutdown({ reason: "ShardEnded" }), 1)
    for (let guard = 0; this.stopped === null && this.failed === null; guard++) {
      assert.isBelow(guard, 10_000, "the shard never stopped")
      if (this.writes.length > 0) this.apply({ _tag: "CompleteWrite", pick: 0 }, 1)
      else if (this.pendingCheckpoint !== null) this.apply({ _tag: "AnswerCheckpoint", answer: "Stored" }, 1)
      else this.step(BatchProcessor.Event.Tick(), 1000)
    }
  }
}

const summarize = (commands: ReadonlyArray<BatchProcessor.Command<unknown>>) =>
  commands.map((command) => {
    switch (command._tag) {
      case "Write":
        return `write ${command.request.batchId} (${command.request.size})`
      case "Checkpoint":
        return `checkpoint ${Checkpoint.format(command.checkpoint)}`
      case "Stop":
        return `stop ${command.outcome.reason} ${
          command.outcome.checkpoint === null ? "-" : Checkpoint.format(command.outcome.checkpoint)
        } unwritten ${command.outcome.unwritten} from ${
          command.outcome.firstUnwritten === null ? "-" : Position.format(command.outcome.firstUnwritten)
        }`
    }
  })

const programs = fc.tuple(
  setup,
  Arbitraries.records({
    aggregates: true,
    minLength: 1,
    maxLength: 60,
    size: "max",
    partitionKeys: ["a", "b", "c", null]
  }),
  actions
)

describe("BatchProcessor, against the naive model", () => {
  it.prop(
    "commands the same writes, checkpoints and stops, and never checkpoints an unwritten record",
    [programs],
    ([[setup, records, actions]]) => {
      const harness = new Harness(setup, records)
      for (const [next, advance] of actions) {
        if (harness.failed !== null) break
        harness.apply(next, advance)
      }
      harness.finish()
      if (harness.failed !== null) {
        // Only a write failure may stop a well-behaved flusher's shard.
        assert.strictEqual(harness.failed, "WriteFailed")
        return
      }
      const outcome = harness.stopped!
      if (outcome.reason === "ShardEnded") {
        // Every record delivered was written at least once, the end was checkpointed, nothing is outstanding.
        harness.assertWrittenUpTo(harness.delivered)
        assert.deepStrictEqual(outcome.checkpoint, Checkpoint.shardEnd)
        assert.strictEqual(outcome.unwritten, 0)
        assert.strictEqual(BatchProcessor.outstanding(harness.fast), 0)
      } else {
        assert.strictEqual(outcome.reason, "LeaseLost")
      }
    },
    { fastCheck: { numRuns: 400 } }
  )
})
