/**
 * `pnpm bench runtime`: records through the shard runner (one shard) and the consumer (four shards) with the
 * memory writer, against `Stream.grouped` and `Stream.groupedWithin` over the same records.
 */
import { BatchingFlusher, ShardId, type StreamRecord } from "@flusher/core"
import { BatchWriter, Checkpointer, Consumer, ShardRunner } from "@flusher/runtime"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Stream from "effect/Stream"
import { generateChunks, printTable, ratioRow, sideBySide } from "./report.js"

const batchSize = 500
const total = 1_000_000

const config = {
  flushInterval: Duration.seconds(5),
  checkpointInterval: Duration.seconds(1),
  maxOutstanding: 10_000
}

const streamOf = (chunks: ReadonlyArray<ReadonlyArray<StreamRecord.StreamRecord>>) =>
  Stream.fromChunks(...chunks.map((chunk) => Chunk.unsafeFromArray(chunk)))

// Fresh memory Layers for every run, and no log lines: only the runtime's work is timed.
const runWithMemory = <A, E>(effect: Effect.Effect<A, E, BatchWriter.BatchWriter | Checkpointer.Checkpointer>) =>
  Effect.runPromise(
    effect.pipe(
      Effect.provide(Layer.merge(BatchWriter.layerMemory, Checkpointer.layerMemory())),
      Effect.provide(Logger.remove(Logger.defaultLogger))
    )
  )

export const run = async () => {
  const chunks = generateChunks(total, 1000)
  // Four shards share the same records, a quarter each, with their own ids.
  const quarters = [0, 1, 2, 3].map((q) => chunks.slice((q * chunks.length) / 4, ((q + 1) * chunks.length) / 4))

  const rates = await sideBySide(3, total, {
    runner_1_shard: () =>
      runWithMemory(ShardRunner.run({
        shardId: ShardId.unsafeMake("shardId-000000000000"),
        records: streamOf(chunks),
        flusher: BatchingFlusher.make({ maxRecords: batchSize }),
        config
      })),
    consumer_4_shards: () =>
      runWithMemory(Consumer.run({
        assignments: Stream.fromIterable(quarters.map((quarter, q) => ({
          shardId: ShardId.unsafeMake(`shardId-00000000000${q}`),
          records: () => streamOf(quarter)
        }))),
        flusher: BatchingFlusher.make({ maxRecords: batchSize }),
        config
      })),
    stream_grouped: () =>
      Effect.runPromise(
        streamOf(chunks).pipe(Stream.grouped(batchSize), Stream.runFold(0, (n, batch) => n + Chunk.size(batch)))
      ),
    stream_grouped_within: () =>
      Effect.runPromise(
        streamOf(chunks).pipe(
          Stream.groupedWithin(batchSize, "1 second"),
          Stream.runFold(0, (n, batch) => n + Chunk.size(batch))
        )
      )
  })

  const result = {
    runner_1_shard: Math.round(rates.runner_1_shard),
    consumer_4_shards: Math.round(rates.consumer_4_shards),
    stream_grouped: Math.round(rates.stream_grouped),
    stream_grouped_within: Math.round(rates.stream_grouped_within)
  }
  const row = (name: string, rate: number) =>
    ratioRow(name, rate, {
      "Stream.groupedWithin": result.stream_grouped_within,
      "Stream.grouped": result.stream_grouped
    })
  printTable("runtime: records per second (best of 3, 1 M records, 500 per batch, memory writer)", [
    row("shard runner, 1 shard", result.runner_1_shard),
    row("consumer, 4 shards", result.consumer_4_shards),
    row("Stream.grouped(500)", result.stream_grouped),
    row("Stream.groupedWithin(500, 1 s)", result.stream_grouped_within)
  ])
  printTable("runtime: targets", [
    { target: "runner >= 2 x Stream.groupedWithin", measured: result.runner_1_shard / result.stream_grouped_within },
    {
      target: "consumer >= 2 x Stream.groupedWithin",
      measured: result.consumer_4_shards / result.stream_grouped_within
    },
    { target: "runner / Stream.grouped (reported)", measured: result.runner_1_shard / result.stream_grouped }
  ])
  return result
}
