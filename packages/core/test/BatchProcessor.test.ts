import { assert, describe, it } from "@effect/vitest"
import {
  BatchingFlusher,
  BatchProcessor,
  Checkpoint,
  Flusher,
  type Position,
  type StreamRecord,
  type Token
} from "@flusher/core"
import * as Either from "effect/Either"
import { pipe } from "effect/Function"
import { numberOf, record, shardId } from "./fixtures.js"

type AnyCommand = BatchProcessor.Command<unknown>

/** Runs events through a processor, keeping what it commanded. */
class Shard<S, B, E> {
  state: BatchProcessor.State<S, B, E>
  commands: Array<AnyCommand> = []
  constructor(options: Omit<BatchProcessor.Options<S, B, E>, "shardId">) {
    this.state = BatchProcessor.make({ shardId, ...options })
  }
  send(event: BatchProcessor.Event, now: number): ReadonlyArray<AnyCommand> {
    const result = BatchProcessor.step(this.state, event, now)
    if (Either.isLeft(result)) throw result.left
    this.state = result.right.state
    this.commands.push(...result.right.commands)
    return result.right.commands
  }
  fail(event: BatchProcessor.Event, now: number): BatchProcessor.ProcessorError<E> {
    const result = BatchProcessor.step(this.state, event, now)
    if (Either.isRight(result)) throw new Error("the event was accepted")
    return result.left
  }
  records(numbers: ReadonlyArray<number>, now: number, options: Parameters<typeof record>[1] = {}) {
    return this.send(BatchProcessor.Event.RecordsArrived({ records: numbers.map((n) => record(n, options)) }), now)
  }
  writeAll(now: number): void {
    for (;;) {
      const write = this.commands.find((c) => c._tag === "Write")
      if (write === undefined || write._tag !== "Write") return
      this.commands.splice(this.commands.indexOf(write), 1)
      this.send(BatchProcessor.Event.BatchWritten({ batchId: write.request.batchId }), now)
    }
  }
  take<T extends AnyCommand["_tag"]>(tag: T): Array<Extract<AnyCommand, { _tag: T }>> {
    const taken = this.commands.filter((c): c is Extract<AnyCommand, { _tag: T }> => c._tag === tag)
    this.commands = this.commands.filter((c) => c._tag !== tag)
    return taken
  }
  storeCheckpoint(now: number): Checkpoint.Checkpoint {
    const [command] = this.take("Checkpoint")
    assert.isDefined(command, "no checkpoint was requested")
    this.send(BatchProcessor.Event.CheckpointStored({ checkpoint: command.checkpoint }), now)
    return command.checkpoint
  }
}

const numbersIn = (write: { readonly request: BatchProcessor.WriteRequest<unknown> }) =>
  (write.request.batch as BatchingFlusher.Batch).map(numberOf)

const prefix = "4959033827149025660855969253836157109592157598913"

const at = (n: number) => Checkpoint.format(Checkpoint.atPosition(record(n)))

describe("BatchProcessor", () => {
  it("writes a batch when the flusher is full, then offers it the record again", () => {
    const shard = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 2 }), maxConcurrentWrites: 3 })
    shard.records([0, 1, 2, 3, 4], 0)
    const writes = shard.take("Write")
    assert.deepStrictEqual(writes.map(numbersIn), [[0, 1], [2, 3]])
    assert.strictEqual(
      writes[0].request.batchId,
      `${shardId}_${prefix}0000000_${prefix}0000001`
    )
    assert.strictEqual(writes[0].request.size, 2)
  })

  it("gives the same records the same batch id, so a writer can make a retried write idempotent", () => {
    const first = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 3 }) })
    const second = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 3 }) })
    first.records([5, 6, 7, 8], 0)
    second.records([5, 6, 7], 99)
    second.records([8], 100)
    assert.strictEqual(first.take("Write")[0].request.batchId, second.take("Write")[0].request.batchId)
  })

  it("checkpoints only past written records, and only when the position advanced", () => {
    const shard = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 2 }), checkpointInterval: "everyWrite" })
    shard.records([0, 1, 2], 0)
    assert.deepStrictEqual(shard.take("Checkpoint"), [])
    shard.writeAll(1)
    assert.strictEqual(Checkpoint.format(shard.storeCheckpoint(2)), at(1))
    shard.send(BatchProcessor.Event.Tick(), 10)
    assert.deepStrictEqual(shard.take("Checkpoint"), [], "a checkpoint that did not advance was repeated")
  })

  it("checkpoints at most once per interval", () => {
    const shard = new Shard({
      flusher: BatchingFlusher.make(),
      flushInterval: 0,
      checkpointInterval: "10 seconds"
    })
    shard.records([0], 0)
    shard.send(BatchProcessor.Event.Tick(), 0)
    shard.writeAll(0)
    shard.storeCheckpoint(0)
    shard.records([1], 1_000)
    shard.send(BatchProcessor.Event.Tick(), 1_000)
    shard.writeAll(1_000)
    assert.deepStrictEqual(shard.take("Checkpoint"), [])
    shard.send(BatchProcessor.Event.Tick(), 9_999)
    assert.deepStrictEqual(shard.take("Checkpoint"), [])
    shard.send(BatchProcessor.Event.Tick(), 10_000)
    assert.strictEqual(Checkpoint.format(shard.storeCheckpoint(10_000)), at(1))
  })

  it("retries a throttled checkpoint on the next tick, and stops without more if the lease was lost", () => {
    const shard = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 1 }), checkpointInterval: "everyWrite" })
    shard.records([0, 1], 0)
    shard.writeAll(0)
    shard.take("Checkpoint")
    shard.send(BatchProcessor.Event.CheckpointRefused({ reason: "Throttled" }), 1)
    shard.records([2], 2)
    shard.writeAll(2)
    assert.deepStrictEqual(shard.take("Checkpoint"), [], "asked again before the next tick")
    shard.send(BatchProcessor.Event.Tick(), 3)
    shard.take("Checkpoint")
    const stop = shard.send(BatchProcessor.Event.CheckpointRefused({ reason: "LeaseLost" }), 4)
    assert.deepStrictEqual(stop.map((c) => c._tag), ["Stop"])
    assert.strictEqual(BatchProcessor.outcome(shard.state)?.reason, "LeaseLost")
  })

  it("keeps at most maxConcurrentWrites batches in flight, and accepts completions in any order", () => {
    const shard = new Shard({
      flusher: BatchingFlusher.make({ maxRecords: 1 }),
      maxConcurrentWrites: 2,
      checkpointInterval: "everyWrite"
    })
    shard.records([0, 1, 2, 3], 0)
    const [w0, w1] = shard.take("Write")
    assert.deepStrictEqual([numbersIn(w0), numbersIn(w1)], [[0], [1]])
    shard.send(BatchProcessor.Event.BatchWritten({ batchId: w1.request.batchId }), 1)
    assert.deepStrictEqual(shard.take("Checkpoint"), [], "checkpointed past record 0 while it was being written")
    const [w2] = shard.take("Write")
    assert.deepStrictEqual(numbersIn(w2), [2])
    shard.send(BatchProcessor.Event.BatchWritten({ batchId: w0.request.batchId }), 2)
    assert.strictEqual(Checkpoint.format(shard.storeCheckpoint(3)), at(1))
  })

  it("says the source must wait at the outstanding bound, and flushes rather than wait forever", () => {
    const shard = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 100 }), maxOutstanding: 3 })
    assert.strictEqual(BatchProcessor.capacity(shard.state), 3)
    shard.records([0, 1], 0)
    assert.strictEqual(BatchProcessor.capacity(shard.state), 1)
    assert.deepStrictEqual(shard.take("Write"), [])
    shard.records([2], 0)
    assert.strictEqual(BatchProcessor.capacity(shard.state), 0)
    const [write] = shard.take("Write")
    assert.deepStrictEqual(numbersIn(write), [0, 1, 2], "the bound was reached with nothing being written")
    shard.send(BatchProcessor.Event.BatchWritten({ batchId: write.request.batchId }), 1)
    assert.strictEqual(BatchProcessor.capacity(shard.state), 3)
  })

  it("reports what holds the checkpoint back", () => {
    const shard = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 2 }) })
    shard.records([0, 1, 2], 500)
    const holdBack = BatchProcessor.holdingBack(shard.state)
    const [write] = shard.take("Write")
    assert.deepStrictEqual(holdBack && [numberOf(holdBack.position), holdBack.since, holdBack.batchId], [
      0,
      500,
      write.request.batchId
    ])
  })

  it("refuses records out of order, naming both", () => {
    const shard = new Shard({ flusher: BatchingFlusher.make() })
    shard.records([5], 0)
    const error = shard.fail(BatchProcessor.Event.RecordsArrived({ records: [record(7), record(6)] }), 0)
    assert.strictEqual(error._tag, "RecordOutOfOrder")
    assert.include(error.message, "0000006 after the one at")
  })

  it("stops the shard on a write that failed, with nothing checkpointed past it", () => {
    const shard = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 1 }), checkpointInterval: "everyWrite" })
    shard.records([0, 1], 0)
    const [write] = shard.take("Write")
    const error = shard.fail(BatchProcessor.Event.BatchWriteFailed({ batchId: write.request.batchId, cause: "S3" }), 1)
    assert.strictEqual(error._tag, "WriteFailed")
    assert.include(error.message, "could not be written")
    assert.deepStrictEqual(shard.take("Checkpoint"), [])
  })

  it("refuses events that cannot happen: an unknown batch, records after shutdown, an unasked checkpoint", () => {
    const shard = new Shard({ flusher: BatchingFlusher.make() })
    assert.strictEqual(shard.fail(BatchProcessor.Event.BatchWritten({ batchId: "nope" }), 0)._tag, "UnexpectedEvent")
    assert.strictEqual(
      shard.fail(BatchProcessor.Event.CheckpointStored({ checkpoint: Checkpoint.shardEnd }), 0)._tag,
      "UnexpectedEvent"
    )
    shard.records([0], 0)
    shard.send(BatchProcessor.Event.Shutdown({ reason: "ShutdownRequested" }), 0)
    const late = shard.fail(BatchProcessor.Event.RecordsArrived({ records: [record(1)] }), 0)
    assert.include(late.message, "after the shutdown (ShutdownRequested) began")
    shard.writeAll(1)
    shard.storeCheckpoint(1)
    const stopped = shard.fail(BatchProcessor.Event.RecordsArrived({ records: [record(1)] }), 2)
    assert.include(stopped.message, "already stopped")
  })

  it("leaves the state it was given unchanged: the same event on it gives the same result", () => {
    const shard = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 2 }), maxConcurrentWrites: 2 })
    shard.records([0, 1, 2], 0)
    const kept = shard.state
    const event = BatchProcessor.Event.RecordsArrived({ records: [3, 4, 5].map((n) => record(n)) })
    const once = BatchProcessor.step(kept, event, 10)
    const again = BatchProcessor.step(kept, event, 10)
    assert.deepStrictEqual(
      Either.map(once, (t) => t.commands.map((c) => c._tag === "Write" ? c.request.batchId : c._tag)),
      Either.map(again, (t) => t.commands.map((c) => c._tag === "Write" ? c.request.batchId : c._tag))
    )
    assert.strictEqual(BatchProcessor.outstanding(kept), 3)
  })

  describe("shutdown", () => {
    it("on the shard's end flushes in full, waits for every write and checkpoints the end", () => {
      const shard = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 2 }), maxConcurrentWrites: 1 })
      shard.records([0, 1, 2], 0)
      shard.send(BatchProcessor.Event.Shutdown({ reason: "ShardEnded" }), 1)
      assert.deepStrictEqual(shard.take("Checkpoint"), [], "checkpointed the end before the writes")
      shard.writeAll(2)
      // A checkpoint on the usual cadence may come first; the end of the shard comes last.
      let checkpoint = shard.storeCheckpoint(3)
      if (checkpoint._tag === "AtPosition") checkpoint = shard.storeCheckpoint(4)
      assert.deepStrictEqual(checkpoint, Checkpoint.shardEnd)
      const [stop] = shard.take("Stop")
      assert.deepStrictEqual(stop.outcome, {
        reason: "ShardEnded",
        checkpoint: Checkpoint.shardEnd,
        unwritten: 0,
        firstUnwritten: null
      })
    })

    it("on request flushes in full, waits for writes and checkpoints the last written record", () => {
      const shard = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 10 }) })
      shard.records([0, 1, 2], 0)
      shard.send(BatchProcessor.Event.Shutdown({ reason: "ShutdownRequested" }), 1)
      shard.writeAll(2)
      assert.strictEqual(Checkpoint.format(shard.storeCheckpoint(3)), at(2))
      const [stop] = shard.take("Stop")
      assert.strictEqual(stop.outcome.reason, "ShutdownRequested")
      assert.strictEqual(stop.outcome.unwritten, 0)
    })

    it("on request, then the shard's end, checkpoints the end too", () => {
      const shard = new Shard({ flusher: BatchingFlusher.make() })
      shard.records([0], 0)
      shard.send(BatchProcessor.Event.Shutdown({ reason: "ShutdownRequested" }), 1)
      shard.writeAll(1)
      shard.storeCheckpoint(1)
      shard.send(BatchProcessor.Event.Shutdown({ reason: "ShardEnded" }), 2)
      assert.deepStrictEqual(shard.storeCheckpoint(3), Checkpoint.shardEnd)
    })

    it("keeps the end of the shard when a shutdown request follows it", () => {
      const shard = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 10 }) })
      shard.records([0, 1], 0)
      shard.send(BatchProcessor.Event.Shutdown({ reason: "ShardEnded" }), 1)
      shard.send(BatchProcessor.Event.Shutdown({ reason: "ShutdownRequested" }), 2)
      shard.writeAll(3)
      let checkpoint = shard.storeCheckpoint(4)
      if (checkpoint._tag === "AtPosition") checkpoint = shard.storeCheckpoint(5)
      assert.deepStrictEqual(checkpoint, Checkpoint.shardEnd)
      assert.strictEqual(shard.take("Stop")[0].outcome.reason, "ShardEnded")
    })

    it("on a lost lease stops at once: no flush, no checkpoint, and says what was left unwritten", () => {
      const shard = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 2 }), checkpointInterval: "everyWrite" })
      shard.records([0, 1, 2], 0)
      const commands = shard.send(BatchProcessor.Event.Shutdown({ reason: "LeaseLost" }), 1)
      assert.deepStrictEqual(commands.map((c) => c._tag), ["Stop"])
      const [stop] = shard.take("Stop")
      assert.strictEqual(stop.outcome.unwritten, 3)
      assert.strictEqual(numberOf(stop.outcome.firstUnwritten!), 0)
      assert.isNull(stop.outcome.checkpoint)
    })
  })
})

describe("BatchProcessor, where erlmld's batch processor is weak", () => {
  it("remembers no written token below the checkpoint, however long it goes without checkpointing", () => {
    const shard = new Shard({
      flusher: BatchingFlusher.make({ maxRecords: 10 }),
      flushInterval: 0,
      checkpointInterval: "1000 days"
    })
    for (let chunk = 0; chunk < 1_000; chunk++) {
      shard.records(Array.from({ length: 10 }, (_, i) => chunk * 10 + i), chunk)
      shard.send(BatchProcessor.Event.Tick(), chunk)
      shard.writeAll(chunk)
    }
    const watermark = shard.state.watermark
    assert.strictEqual(BatchProcessor.outstanding(shard.state), 0)
    assert.deepStrictEqual([watermark.completed, watermark.assigned, watermark.ignored], [[], [], []])
    assert.isNull(watermark.segments.front)
  })

  it("turns a flusher that is still full after a flush into a typed error naming the record", () => {
    const stubborn = Flusher.make<number, ReadonlyArray<Token.Token>>({
      init: () => 0,
      add: () => Flusher.full,
      flush: (state) => Flusher.notFlushed(state)
    })
    const shard = new Shard({ flusher: stubborn })
    const error = shard.fail(BatchProcessor.Event.RecordsArrived({ records: [record(42)] }), 0)
    assert.strictEqual(error._tag, "ContractViolation")
    if (error._tag !== "ContractViolation") return
    assert.strictEqual(error.violation, "FullAfterFlush")
    assert.strictEqual(numberOf(error.position!), 42)
  })

  it("checkpoints trailing ignored records", () => {
    const flusher = pipe(BatchingFlusher.make({ maxRecords: 1 }), Flusher.filter((r) => r.partitionKey !== "skip"))
    const shard = new Shard({ flusher, flushInterval: 0, checkpointInterval: "everyWrite" })
    shard.records([0], 0)
    shard.send(BatchProcessor.Event.Tick(), 0)
    shard.writeAll(0)
    shard.storeCheckpoint(0)
    shard.records([1, 2], 1, { partitionKey: "skip" })
    shard.send(BatchProcessor.Event.Tick(), 2)
    assert.strictEqual(Checkpoint.format(shard.storeCheckpoint(2)), at(2))
  })

  it("flushes an old batch on a heartbeat tick, with no record arriving", () => {
    const shard = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 100 }), flushInterval: "5 seconds" })
    shard.records([0], 1_000)
    shard.send(BatchProcessor.Event.Tick(), 5_999)
    assert.deepStrictEqual(shard.take("Write"), [])
    shard.send(BatchProcessor.Event.Tick(), 6_000)
    assert.deepStrictEqual(shard.take("Write").map(numbersIn), [[0]])
  })

  it("calls the flusher's heartbeat on every tick, so its own age limit flushes an idle shard", () => {
    const shard = new Shard({ flusher: BatchingFlusher.make({ maxAge: "2 seconds" }), flushInterval: "1 hour" })
    shard.records([0], 0)
    shard.send(BatchProcessor.Event.Tick(), 2_000)
    assert.deepStrictEqual(shard.take("Write").map(numbersIn), [[0]])
  })

  it("writes and checkpoints on a requested shutdown, unlike a lost lease, so a deploy replays nothing", () => {
    const shard = new Shard({ flusher: BatchingFlusher.make({ maxRecords: 500 }) })
    shard.records([0, 1, 2, 3], 0)
    shard.send(BatchProcessor.Event.Shutdown({ reason: "ShutdownRequested" }), 1)
    assert.deepStrictEqual(shard.take("Write").map(numbersIn), [[0, 1, 2, 3]])
    shard.send(BatchProcessor.Event.BatchWritten({ batchId: shard.state.writing[0] }), 2)
    assert.strictEqual(Checkpoint.format(shard.storeCheckpoint(3)), at(3))
  })

  it("refuses a flusher's wrong token with a typed error, without stalling or moving the checkpoint back", () => {
    // Returns the tokens it was given, plus the first one again on every flush.
    const repeating = Flusher.make<
      ReadonlyArray<[StreamRecord.StreamRecord, Token.Token]>,
      ReadonlyArray<Position.Position>
    >({
      init: () => [],
      add: (held, r, token) => Flusher.added([...held, [r, token] as [StreamRecord.StreamRecord, Token.Token]]),
      flush: (held) =>
        held.length === 0 ? Flusher.notFlushed(held) : Flusher.flushed(
          [],
          [...held.map(([, token]) => token), held[0][1]],
          held.map(([r]) => r)
        )
    })
    const shard = new Shard({ flusher: repeating, checkpointInterval: "everyWrite" })
    shard.records([0, 1], 0)
    const violation = shard.fail(BatchProcessor.Event.Shutdown({ reason: "ShardEnded" }), 1)
    assert.strictEqual(violation._tag, "ContractViolation")
    if (violation._tag !== "ContractViolation") return
    assert.strictEqual(violation.violation, "Repeated")
    assert.strictEqual(numberOf(violation.position!), 0)
    assert.include(violation.message, "appears twice in the same batch")
    assert.deepStrictEqual(shard.take("Checkpoint"), [])
  })
})
