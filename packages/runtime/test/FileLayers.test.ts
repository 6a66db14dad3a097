import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import { BatchingFlusher, Checkpoint, type KeyedFlusher, StreamRecord } from "@flusher/core"
import { BatchWriter, Checkpointer, ShardRunner } from "@flusher/runtime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { numberOf, record, records, shardId, testConfig } from "./fixtures.js"

const decodeLine = Schema.decodeUnknownSync(Schema.parseJson(StreamRecord.Json))

/** Reads back every complete batch file of a shard, the way a consumer of the output would. */
const readBatches = (directory: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const files = (yield* fs.readDirectory(`${directory}/${shardId}`)).filter((name) => name.endsWith(".ndjson")).sort()
    const batches = []
    for (const name of files) {
      const text = yield* fs.readFileString(`${directory}/${shardId}/${name}`)
      batches.push(text.trimEnd().split("\n").map((line) => decodeLine(line)))
    }
    return { files, batches }
  })

const request = (from: number, to: number): BatchWriter.WriteRequest<BatchingFlusher.Batch> => {
  const batch = records(from, to)
  return {
    shardId,
    batchId: `${shardId}_${from}_${to - 1}`,
    first: batch[0],
    last: batch[batch.length - 1],
    size: batch.length,
    batch
  }
}

describe("BatchWriter.layerNdjson", () => {
  it.scoped("writes one NDJSON file per batch, named by its batch id, that decodes back to the records", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const directory = yield* fs.makeTempDirectoryScoped()
      yield* ShardRunner.run({
        shardId,
        records: Stream.fromIterable(records(0, 25)),
        flusher: BatchingFlusher.make({ maxRecords: 10 }),
        config: testConfig
      }).pipe(
        Effect.provide(Layer.merge(BatchWriter.layerNdjson({ directory }), Checkpointer.layerMemory()))
      )
      const { batches, files } = yield* readBatches(directory)
      assert.strictEqual(files.length, 3)
      assert.deepStrictEqual(batches.flat().map(numberOf), Array.from({ length: 25 }, (_, i) => i))
      assert.isTrue(StreamRecord.Equivalence(batches[0][3], record(3)))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("replaces a batch written again, and never leaves a torn file where a reader looks", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const directory = yield* fs.makeTempDirectoryScoped()
      const writer = yield* Effect.provide(BatchWriter.BatchWriter, BatchWriter.layerNdjson({ directory }))
      yield* fs.makeDirectory(`${directory}/${shardId}`, { recursive: true })
      // A crash between writing and renaming leaves a temporary file behind: half a batch, under another name.
      const target = `${shardId}_0_4.ndjson`
      yield* fs.writeFileString(`${directory}/${shardId}/.${target}.tmp`, "{\"sequenceNumber\":\"4959")
      assert.deepStrictEqual((yield* readBatches(directory)).files, [])

      yield* writer.write(request(0, 5))
      yield* writer.write(request(0, 5))
      const { batches, files } = yield* readBatches(directory)
      assert.deepStrictEqual(files, [target])
      assert.deepStrictEqual(batches[0].map(numberOf), [0, 1, 2, 3, 4])
      const left = (yield* fs.readDirectory(`${directory}/${shardId}`)).filter((name) => name.endsWith(".tmp"))
      assert.deepStrictEqual(left, [], "the retried write did not reuse the temporary name")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("writes the records of a keyed flusher's batches, and says what to do with a batch it cannot encode", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const directory = yield* fs.makeTempDirectoryScoped()
      const writer = yield* Effect.provide(BatchWriter.BatchWriter, BatchWriter.layerNdjson({ directory }))
      const keyed: KeyedFlusher.Batch = [{ key: "a", records: records(0, 2) }, { key: "b", records: records(2, 3) }]
      yield* writer.write({ ...request(0, 3), batch: keyed })
      assert.deepStrictEqual((yield* readBatches(directory)).batches[0].map(numberOf), [0, 1, 2])
      const error = yield* Effect.flip(writer.write({ ...request(5, 6), batch: new Uint8Array(3) }))
      assert.include(error.message, "give layerNdjson an encode function")
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("Checkpointer.layerFile", () => {
  it.scoped("stores checkpoints in a JSON file that a new Layer reads back", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = `${yield* fs.makeTempDirectoryScoped()}/state/checkpoints.json`
      const first = yield* Effect.provide(Checkpointer.Checkpointer, Checkpointer.layerFile(file))
      yield* first.save(shardId, Checkpoint.atPosition(record(7)))
      const second = yield* Effect.provide(Checkpointer.Checkpointer, Checkpointer.layerFile(file))
      assert.deepStrictEqual(
        Checkpoint.format((yield* second.load(shardId))!),
        Checkpoint.format(Checkpoint.atPosition(record(7)))
      )
      assert.isNull(yield* second.load("shardId-000000000099" as typeof shardId))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("refuses to move a shard backwards, and accepts the same checkpoint again", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = `${yield* fs.makeTempDirectoryScoped()}/checkpoints.json`
      const checkpointer = yield* Effect.provide(Checkpointer.Checkpointer, Checkpointer.layerFile(file))
      yield* checkpointer.save(shardId, Checkpoint.atPosition(record(10)))
      yield* checkpointer.save(shardId, Checkpoint.atPosition(record(10)))
      const error = yield* Effect.flip(checkpointer.save(shardId, Checkpoint.atPosition(record(9))))
      assert.strictEqual(error.reason, "Regression")
      assert.include(error.message, "never moves backwards")
      yield* checkpointer.save(shardId, Checkpoint.shardEnd)
      const afterEnd = yield* Effect.flip(checkpointer.save(shardId, Checkpoint.atPosition(record(11))))
      assert.strictEqual(afterEnd.reason, "Regression")
      const stored = yield* Effect.provide(
        Effect.flatMap(Checkpointer.Checkpointer, (c) => c.load(shardId)),
        Checkpointer.layerFile(file)
      )
      assert.deepStrictEqual(stored, Checkpoint.shardEnd)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("keeps the last complete file when a crash leaves a temporary one, and refuses a corrupt file", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const directory = yield* fs.makeTempDirectoryScoped()
      const file = `${directory}/checkpoints.json`
      const checkpointer = yield* Effect.provide(Checkpointer.Checkpointer, Checkpointer.layerFile(file))
      yield* checkpointer.save(shardId, Checkpoint.atPosition(record(3)))
      yield* fs.writeFileString(`${directory}/.checkpoints.json.tmp`, "{\"shards\":{\"sha")
      const reread = yield* Effect.provide(Checkpointer.Checkpointer, Checkpointer.layerFile(file))
      assert.strictEqual(
        Checkpoint.format((yield* reread.load(shardId))!),
        Checkpoint.format(Checkpoint.atPosition(record(3)))
      )

      yield* fs.writeFileString(file, "{\"shards\":{\"sha")
      const error = yield* Effect.flip(Effect.provide(Checkpointer.Checkpointer, Checkpointer.layerFile(file)))
      assert.strictEqual(error._tag, "CheckpointFileError")
      assert.include(error.message, "fix or move it")
      assert.strictEqual(yield* fs.readFileString(file), "{\"shards\":{\"sha", "the corrupt file was overwritten")
    }).pipe(Effect.provide(NodeContext.layer)))
})
