/**
 * `pnpm bench core`: the batch processor with the batching flusher, against a plain loop (the floor) and what an
 * Effect user would write instead (`Stream.grouped`, `Stream.groupedWithin`), on the same records.
 */
import { BatchingFlusher, BatchProcessor, type Checkpoint, ShardId, type StreamRecord } from "@flusher/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { generateChunks, heapAfterCollection, printTable, ratioRow, sideBySide } from "./report.js"

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

/** Makes a value and measures the heap it keeps alive (MiB): collections with it alive, then without it. */
const keptHeap = <A, B>(make: () => A, read: (value: A) => B): readonly [B, number] => {
  const holder: Array<A> = [make()]
  const withValue = heapAfterCollection()
  const summary = read(holder[0])
  holder.length = 0
  return [summary, Math.max(0, withValue - heapAfterCollection())]
}

export const run = async () => {
  const million = 1_000_000
  process.stdout.write("generating 10 000 000 records…\n")
  const all = generateChunks(10 * million, chunkSize)
  const first = all.slice(0, million / chunkSize)

  // Five rounds: the first ones also warm the JIT up.
  const rates = await sideBySide(5, million, {
    processor_1m: () => runProcessor(first),
    plain_loop: () => runPlainLoop(first),
    stream_grouped: () => runStream(first, Stream.grouped(batchSize)),
    stream_grouped_within: () => runStream(first, Stream.groupedWithin(batchSize, "1 second"))
  })

  // Memory: the heap the processor's final state keeps, after 1 M records and after 10 M, to show that it does not
  // grow with the records processed. The 10 M run is timed too.
  const [, heap1m] = keptHeap(() => runProcessor(first), () => undefined)
  let seconds10m = 0
  const [summary10m, heap10m] = keptHeap(() => {
    const started = performance.now()
    const run = runProcessor(all)
    seconds10m = (performance.now() - started) / 1000
    return run
  }, (run) => ({
    written: run.written,
    checkpoints: run.checkpoints,
    outstanding: BatchProcessor.outstanding(run.state)
  }))
  const processor10m = { processor_10m: (10 * million) / seconds10m }
  const { checkpoints, outstanding, written } = summary10m

  const result = {
    processor_1m: Math.round(rates.processor_1m),
    processor_10m: Math.round(processor10m.processor_10m),
    plain_loop: Math.round(rates.plain_loop),
    stream_grouped: Math.round(rates.stream_grouped),
    stream_grouped_within: Math.round(rates.stream_grouped_within),
    heap_mb_10m: Number(heap10m.toFixed(3))
  }
  const row = (name: string, rate: number) =>
    ratioRow(name, rate, { "plain loop": result.plain_loop, "Stream.grouped": result.stream_grouped })
  printTable("core: records per second (best of 5, same records; 500 per batch, 56-digit sequence numbers)", [
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
    { target: "heap the processor keeps after 1 M records (MiB)", measured: Number(heap1m.toFixed(3)) },
    { target: "heap the processor keeps after 10 M records (MiB)", measured: result.heap_mb_10m }
  ])
  process.stdout.write(
    `\n10 M run: ${written.toLocaleString("en-US")} records written, ${outstanding} outstanding at the end, ` +
      `${checkpoints} checkpoints\n`
  )
  return result
}
