import { BatchingFlusher, BatchProcessor, Flusher, SequenceNumber, ShardId, StreamRecord } from "@flusher/core"
import { BatchWriter, Checkpointer, ShardRunner } from "@flusher/runtime"
import { FlusherLawsRunner } from "@flusher/testing"
import { Effect, Either, Layer, pipe, Stream } from "effect"

// @flusher/core: a flusher is a pure value. This one batches 100 records, 1 MiB or 10 seconds, whichever comes
// first, and skips the records a producer sends only to keep its shard warm.
export const flusher = pipe(
  BatchingFlusher.make({ maxRecords: 100, maxBytes: 1024 * 1024, maxAge: "10 seconds" }),
  Flusher.filter((record) => record.partitionKey !== "keep-alive")
)

const shardId = ShardId.unsafeMake("shardId-000000000000")
const records = Array.from({ length: 250 }, (_, i) =>
  StreamRecord.make({
    sequenceNumber: SequenceNumber.unsafeMake(`4959033827149025660855969253836157109592157598913${i + 1000000}`),
    partitionKey: i % 10 === 0 ? "keep-alive" : `user-${i % 7}`,
    data: new TextEncoder().encode(JSON.stringify({ event: "click", n: i }))
  }))

// The batch processor is a pure state machine: events and the time in, a new state and commands out.
export const firstStep = () => {
  const processor = BatchProcessor.make({ shardId, flusher })
  return Either.map(
    BatchProcessor.step(processor, BatchProcessor.Event.RecordsArrived({ records }), Date.now()),
    // ["Write", "Checkpoint"]: write the first full batch; checkpoint past the first record, which was skipped
    ({ commands }) => commands.map((command) => command._tag)
  )
}

// @flusher/testing: check, in a test, that a flusher keeps its contract; throws a report if it does not.
export const checkLaws = () => FlusherLawsRunner.assert(flusher, { numRuns: 50 })

// @flusher/runtime: bring a writer for your store as a Layer, and run a shard from an Effect Stream.
const LoggingStore = Layer.succeed(
  BatchWriter.BatchWriter,
  BatchWriter.make<BatchingFlusher.Batch>((request) =>
    Effect.logInfo(`${request.batchId}: ${request.batch.length} records, durably stored`)
  )
)

export const program = ShardRunner.run({ shardId, records: Stream.fromIterable(records), flusher }).pipe(
  Effect.provide(Layer.merge(LoggingStore, Checkpointer.layerMemory()))
)
