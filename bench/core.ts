/**
 * `pnpm bench core`: the batch processor with the batching flusher, against a plain loop (the floor) and what an
 * Effect user would write instead (`Stream.grouped`, `Stream.groupedWithin`), on the same records.
 */
import { BatchingFlusher, BatchProcessor, type Checkpoint, ShardId, type StreamRecord } from "@flusher/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { generateChunks, heapAfterCollection, printTable, sideBySide } from "./report.js"

const batchSize = 500
const chunkSize = 1000
// Simulated time: records arrive at 10 000 per second, so a checkpoint is due every 10 000 records.
const recordsPerSimulatedSecond = 10_000

/** Runs the processor over the chunks; writes complete at once, checkpoints are stored at once. */
const runProcessor = (chunks: ReadonlyArray<ReadonlyArray<StreamRecord.StreamRecord>>) => {
  let state = BatchProcessor.make({
    shardId: ShardId.unsafeMake("shardId-000000000000"),
    flusher: BatchingFlusher.make({ maxRecords: batchSize }),
    checkpointInterval: "1 second",
    flushInterval: "5 seconds",
    maxOutstanding: 10_000
  })
  let delivered = 0
  let written = 0
  let checkpoints = 0
  const pending: Array<BatchProcessor.Command<BatchingFlusher.Batch>> = []
  const apply = (event: BatchProcessor.Event, now: number) => {
    const result = BatchProcessor.step(state, event, now)
    if (Either.isLeft(result)) throw result.left
    state = result.right.state
    for (const command of result.right.commands) pending.push(command)
  }
  for (const chunk of chunks) {
    delivered += chunk.length
    const now = Math.floor((delivered * 1000) / recordsPerSimulatedSecond)
    apply(BatchProcessor.Event.RecordsArrived({ records: chunk }), now)
    for (let command = pending.pop(); command !== undefined; command = pending.pop()) {
      if (command._tag === "Write") {
        written += command.request.size
        apply(BatchProcessor.Event.BatchWritten({ batchId: command.request.batchId }), now)
      } else if (command._tag === "Checkpoint") {
        checkpoints++
        const checkpoint: Checkpoint.Checkpoint = command.checkpoint
        apply(BatchProcessor.Event.CheckpointStored({ checkpoint }), now)
      }
    }
  }
  return { state, written, checkpoints }
}

/** The floor: batch records 500 at a time and count their tokens, with no checks at all. */
const runPlainLoop = (chunks: ReadonlyArray<ReadonlyArray<StreamRecord.StreamRecord>>) => {
  let tokens = 0
  let batches = 0
  let batch: Array<StreamRecord.StreamRecord> = []
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      batch.push(chunk[i])
      if (batch.length === batchSize) {
        tokens += batch.length
        batches++
        batch = []
      }
    }
  }
  return tokens + batch.length + batches
}

const runStream = (
  chunks: ReadonlyArray<ReadonlyArray<StreamRecord.StreamRecord>>,
  group: (
    self: Stream.Stream<StreamRecord.StreamRecord>
  ) => Stream.Stream<Chunk.Chunk<StreamRecord.StreamRecord>>
) =>
  Effect.runPromise(
    Stream.fromChunks(...chunks.map((chunk) => Chunk.unsafeFromArray(chunk))).pipe(
      group,
      Stream.runFold(0, (count, batch) => count + Chunk.size(batch))
    )
  )

export const run = async () => {
  const million = 1_000_000
  process.stdout.write("generating 10 000 000 records…\n")
  const all = generateChunks(10 * million, chunkSize)
  const first = all.slice(0, million / chunkSize)

  const rates = await sideBySide(3, million, {
    processor_1m: () => runProcessor(first),
    plain_loop: () => runPlainLoop(first),
    stream_grouped: () => runStream(first, Stream.grouped(batchSize)),
    stream_grouped_within: () => runStream(first, Stream.groupedWithin(batchSize, "1 second"))
  })

  // The 10 M run also measures memory: the heap the processor keeps, with its final state alive.
  const before = heapAfterCollection()
  let kept: ReturnType<typeof runProcessor> | undefined
  const processor10m = await sideBySide(1, 10 * million, {
    processor_10m: () => {
      kept = runProcessor(all)
    }
  })
  const heap10m = heapAfterCollection() - before
  const written = kept?.written ?? 0
  const outstanding = kept === undefined ? 0 : BatchProcessor.outstanding(kept.state)

  const result = {
    processor_1m: Math.round(rates.processor_1m),
    processor_10m: Math.round(processor10m.processor_10m),
    plain_loop: Math.round(rates.plain_loop),
    stream_grouped: Math.round(rates.stream_grouped),
    stream_grouped_within: Math.round(rates.stream_grouped_within),
    heap_mb_10m: Number(heap10m.toFixed(2))
  }
  const row = (name: string, rate: number) => ({
    contender: name,
    "records/s": rate,
    "x plain loop": rate / result.plain_loop,
    "x Stream.grouped": rate / result.stream_grouped
  })
  printTable("core: records per second (best of 3, same records; 500 per batch, 56-digit sequence numbers)", [
    row("processor + batching flusher, 1 M", result.processor_1m),
    row("processor + batching flusher, 10 M", result.processor_10m),
    row("plain loop (floor)", result.plain_loop),
    row("Stream.grouped(500)", result.stream_grouped),
    row("Stream.groupedWithin(500, 1 s)", result.stream_grouped_within)
  ])
  printTable("core: targets", [
    { target: "processor >= 0.25 x plain loop", measured: result.processor_1m / result.plain_loop },
    { target: "processor >= 2 x Stream.grouped", measured: result.processor_1m / result.stream_grouped },
    { target: "10 M rate within 10 % of 1 M", measured: result.processor_10m / result.processor_1m },
    { target: "heap kept after 10 M records (MiB)", measured: result.heap_mb_10m }
  ])
  process.stdout.write(
    `\n10 M run: ${written.toLocaleString("en-US")} records written, ${outstanding} outstanding at the end, ` +
      `${kept?.checkpoints ?? 0} checkpoints\n`
  )
  return result
}
