/**
 * The archiver: every shard of the embedded source, batched by the batching flusher into NDJSON files, with
 * checkpoints in a JSON file. Live progress while it runs, and a summary table at the end, Ctrl-C included.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { BatchingFlusher, type Checkpoint, type ShardId } from "@flusher/core"
import { BatchWriter, Checkpointer, Consumer, Metrics } from "@flusher/runtime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { assignments, indexOf, shardIdOf, type SourceOptions } from "./Source.js"
import { table } from "./Table.js"

export interface ArchiveOptions extends SourceOptions {
  readonly out: string
  /** Redraw a live table (on a terminal), or print plain lines now and then. */
  readonly live: boolean
}

/** What a run was started with, kept beside the output so a resumed run and `--verify` use the same source. */
export const RunFile = Schema.Struct({ shards: Schema.Int, records: Schema.Int })

type Result = Consumer.ShardResult<BatchingFlusher.RecordTooLarge, never>

export const archive = (options: ArchiveOptions) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(options.out, { recursive: true })
    yield* fs.writeFileString(
      path.join(options.out, "run.json"),
      `${JSON.stringify({ shards: options.shards, records: options.records })}\n`
    )
    const lastCheckpoints = yield* Ref.make(new Map<string, Checkpoint.Checkpoint>())
    const results = yield* Ref.make(new Map<string, Result>())

    const checkpointer = Layer.effect(
      Checkpointer.Checkpointer,
      Effect.gen(function*() {
        const inner = yield* Checkpointer.Checkpointer
        // Remember each shard's last checkpoint for the progress display.
        return {
          load: (shardId) =>
            Effect.tap(inner.load(shardId), (c) => c === null ? Effect.void : remember(lastCheckpoints, shardId, c)),
          save: (shardId, checkpoint) =>
            Effect.tap(inner.save(shardId, checkpoint), () => remember(lastCheckpoints, shardId, checkpoint))
        }
      })
    ).pipe(Layer.provide(Checkpointer.layerFile(path.join(options.out, "checkpoints.json"))))
    const layers = Layer.merge(BatchWriter.layerNdjson({ directory: options.out }), checkpointer)

    const run = Effect.gen(function*() {
      yield* Effect.forkScoped(progress(options, lastCheckpoints, results))
      yield* Consumer.run({
        assignments: assignments(options),
        flusher: BatchingFlusher.make({ maxRecords: 1000, maxBytes: 1024 * 1024, maxAge: "5 seconds" }),
        maxShards: options.shards,
        onShardStopped: (result) => Ref.update(results, (all) => new Map(all).set(result.shardId, result))
      })
    })
    yield* Effect.scoped(run).pipe(
      Effect.provide(layers),
      Effect.ensuring(Effect.flatMap(Ref.get(results), (all) => summary(options, all)))
    )
  })

const remember = (ref: Ref.Ref<Map<string, Checkpoint.Checkpoint>>, shardId: string, c: Checkpoint.Checkpoint) =>
  Ref.update(ref, (all) => new Map(all).set(shardId, c))

const shortCheckpoint = (checkpoint: Checkpoint.Checkpoint | undefined) =>
  checkpoint === undefined
    ? "-"
    : checkpoint._tag === "ShardEnd"
    ? "SHARD_END"
    : `#${indexOf(checkpoint.position.sequenceNumber)}`

const counterValue = (metric: Metric.Metric.Counter<number>, shardId: ShardId.ShardId) =>
  Effect.map(Metric.value(Metric.tagged(metric, "shard", shardId)), (state) => state.count)

const gaugeValue = (metric: Metric.Metric.Gauge<number>, shardId: ShardId.ShardId) =>
  Effect.map(Metric.value(Metric.tagged(metric, "shard", shardId)), (state) => state.value)

/** Redraws a table of every shard twice a second on a terminal; elsewhere prints plain lines every two seconds. */
const progress = (
  options: ArchiveOptions,
  lastCheckpoints: Ref.Ref<Map<string, Checkpoint.Checkpoint>>,
  results: Ref.Ref<Map<string, Result>>
) =>
  Effect.gen(function*() {
    const interval = options.live ? 500 : 2000
    const previous = new Map<string, number>()
    let drawn = 0
    for (;;) {
      yield* Effect.sleep(interval)
      const checkpoints = yield* Ref.get(lastCheckpoints)
      const done = yield* Ref.get(results)
      const rows = []
      for (let shard = 0; shard < options.shards; shard++) {
        const shardId = shardIdOf(shard)
        const records = yield* counterValue(Metrics.recordsIn, shardId)
        const rate = ((records - (previous.get(shardId) ?? 0)) * 1000) / interval
        previous.set(shardId, records)
        rows.push({
          shard: shardId,
          records: records.toLocaleString("en-US"),
          "records/s": Math.round(rate).toLocaleString("en-US"),
          outstanding: (yield* gaugeValue(Metrics.recordsOutstanding, shardId)).toLocaleString("en-US"),
          checkpoint: shortCheckpoint(checkpoints.get(shardId)),
          behind: `${((yield* gaugeValue(Metrics.millisBehindLatest, shardId)) / 1000).toFixed(1)} s`,
          state: done.has(shardId) ? done.get(shardId)!._tag : "running"
        })
      }
      const text = table(rows)
      if (options.live) {
        // Move back over the previous table and draw over it.
        yield* Console.log(
          `${drawn > 0 ? `\x1b[${drawn}A` : ""}${text.split("\n").map((l) => `\x1b[2K${l}`).join("\n")}`
        )
        drawn = text.split("\n").length
      } else {
        for (const row of rows) {
          yield* Console.log(
            `${row.shard} records=${row.records} rate=${row["records/s"]}/s outstanding=${row.outstanding} ` +
              `checkpoint=${row.checkpoint} behind=${row.behind} ${row.state}`
          )
        }
      }
    }
  })

const summary = (options: ArchiveOptions, results: Map<string, Result>) => {
  const rows = []
  for (let shard = 0; shard < options.shards; shard++) {
    const shardId = shardIdOf(shard)
    const result = results.get(shardId)
    if (result === undefined) {
      rows.push({ shard: shardId, outcome: "not started", records: "", batches: "", checkpoints: "", retries: "" })
    } else if (result._tag === "Stopped") {
      const { outcome, summary } = result.report
      rows.push({
        shard: shardId,
        outcome: outcome.unwritten > 0 ? `${outcome.reason}, ${outcome.unwritten} unwritten` : outcome.reason,
        records: summary.records.toLocaleString("en-US"),
        batches: summary.batchesWritten.toLocaleString("en-US"),
        checkpoints: `${summary.checkpoints} (last ${
          shortCheckpoint(outcome.checkpoint === null ? undefined : outcome.checkpoint)
        })`,
        retries: String(summary.retries)
      })
    } else {
      rows.push({
        shard: shardId,
        outcome: result._tag === "AlreadyEnded" ? "already ended" : `failed: ${result.error.message}`,
        records: "",
        batches: "",
        checkpoints: "",
        retries: ""
      })
    }
  }
  return Console.log(`\nSummary (output in ${options.out})\n${table(rows)}`)
}
