/**
 * `--verify`: reads the output and the checkpoints back, and checks that every record up to each shard's
 * checkpoint is present and intact. Records past a checkpoint may be there too (written, not yet checkpointed),
 * and records written twice are counted: at-least-once delivery allows both.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Checkpointer } from "@flusher/runtime"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { RunFile } from "./Archive.js"
import { indexOf, payloadOf, sequenceNumberOf, shardIdOf } from "./Source.js"
import { table } from "./Table.js"

export class VerificationFailed extends Data.TaggedError("VerificationFailed")<{ readonly detail: string }> {
  override get message(): string {
    return `Verification failed: ${this.detail}`
  }
}

export interface ShardVerification {
  readonly shard: string
  readonly checkpoint: string
  readonly expected: number
  readonly present: number
  readonly missing: number
  readonly firstMissing: number | null
  readonly duplicates: number
  readonly corrupt: number
}

const lineSchema = Schema.parseJson(Schema.Struct({ sequenceNumber: Schema.String, data: Schema.String }))
const decodeLine = Schema.decodeUnknownEither(lineSchema)

export const verifyShards = (out: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const runFile = path.join(out, "run.json")
    if (!(yield* fs.exists(runFile))) {
      return yield* new VerificationFailed({ detail: `${runFile} does not exist: run the archiver first` })
    }
    const run = yield* Schema.decodeUnknown(Schema.parseJson(RunFile))(yield* fs.readFileString(runFile))
    const checkpoints = yield* Checkpointer.readCheckpointFile(fs, path.join(out, "checkpoints.json"))

    const results: Array<ShardVerification> = []
    for (let shard = 0; shard < run.shards; shard++) {
      const shardId = shardIdOf(shard)
      const checkpoint = checkpoints.get(shardId)
      const upTo = checkpoint === undefined
        ? -1
        : checkpoint._tag === "ShardEnd"
        ? run.records - 1
        : indexOf(checkpoint.position.sequenceNumber)
      const counts = new Uint32Array(run.records)
      let corrupt = 0
      const directory = path.join(out, shardId)
      // Only complete batch files: a crash can leave a temporary file, which is never read as a batch.
      const files = (yield* fs.exists(directory))
        ? (yield* fs.readDirectory(directory)).filter((name) => name.endsWith(".ndjson"))
        : []
      for (const file of files) {
        const text = yield* fs.readFileString(path.join(directory, file))
        for (const line of text.split("\n")) {
          if (line === "") continue
          const decoded = decodeLine(line)
          if (decoded._tag === "Left") {
            corrupt++
            continue
          }
          const index = indexOf(decoded.right.sequenceNumber)
          const intact = index < run.records && decoded.right.sequenceNumber === sequenceNumberOf(shard, index) &&
            Buffer.from(decoded.right.data, "base64").toString("utf8") === JSON.stringify(payloadOf(shard, index))
          if (intact) counts[index]++
          else corrupt++
        }
      }
      let present = 0
      let missing = 0
      let firstMissing: number | null = null
      let duplicates = 0
      for (let index = 0; index < run.records; index++) {
        if (counts[index] > 0) present++
        if (counts[index] > 1) duplicates += counts[index] - 1
        if (index <= upTo && counts[index] === 0) {
          missing++
          if (firstMissing === null) firstMissing = index
        }
      }
      results.push({
        shard: shardId,
        checkpoint: checkpoint === undefined ? "none" : checkpoint._tag === "ShardEnd" ? "SHARD_END" : `#${upTo}`,
        expected: upTo + 1,
        present,
        missing,
        firstMissing,
        duplicates,
        corrupt
      })
    }
    return results
  })

export const verify = (out: string) =>
  Effect.gen(function*() {
    const results = yield* verifyShards(out)
    yield* Console.log(table(results.map((r) => ({
      shard: r.shard,
      checkpoint: r.checkpoint,
      "checkpointed records": r.expected.toLocaleString("en-US"),
      present: r.present.toLocaleString("en-US"),
      missing: r.firstMissing === null ? "0" : `${r.missing} (first #${r.firstMissing})`,
      duplicates: r.duplicates.toLocaleString("en-US"),
      corrupt: String(r.corrupt)
    }))))
    const missing = results.reduce((sum, r) => sum + r.missing, 0)
    const corrupt = results.reduce((sum, r) => sum + r.corrupt, 0)
    if (missing > 0 || corrupt > 0) {
      return yield* new VerificationFailed({
        detail: `${missing} checkpointed records missing, ${corrupt} corrupt records in ${out}`
      })
    }
    const duplicates = results.reduce((sum, r) => sum + r.duplicates, 0)
    yield* Console.log(
      `\nOK: every checkpointed record is present and intact (${duplicates} written more than once).`
    )
  })
