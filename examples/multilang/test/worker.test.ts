import { assert, describe, it } from "@effect/vitest"
import type { FakeDaemon } from "@flusher/testing"
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import { mkdtempSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { deflateSync } from "node:zlib"
import {
  closeAndExpectExit,
  expectedOutput,
  idleUntilCheckpointed,
  initialize,
  makeOutDir,
  type OutputLine,
  processRecords,
  readOutput,
  recordsBetween,
  sequenceNumberOf,
  spawnWorker,
  stored,
  wireRecord,
  workerCommand
} from "./fixtures.js"
import * as Transcripts from "./transcripts.js"

const atEnd = { sequenceNumber: null, subSequenceNumber: null }

/** A worker that writes to stdout behind the protocol's back, run through tsx. */
const noisyWorkerCommand = `${process.execPath} --import ${
  pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href
} ${fileURLToPath(new URL("./noisyWorker.ts", import.meta.url))}`

// Sessions run side by side: each launches its own worker, and most of a session is the worker starting.
describe.concurrent("the example worker through the fake daemon", () => {
  // --- the sessions any client goes through (see awsKcl.test.ts) ---

  it.scopedLive("retries a throttled checkpoint, answers idle actions, and stops on a lost lease", () =>
    Transcripts.normalSession(workerCommand))

  it.scopedLive("writes everything and checkpoints the end of the shard before answering shardEnded", () =>
    Transcripts.shardEnded(workerCommand))

  // --- the rest of the protocol ---

  it.scopedLive("stops checkpointing after ShutdownException and still answers every action", () =>
    Effect.gen(function*() {
      const daemon = yield* spawnWorker(workerCommand, makeOutDir())
      yield* daemon.act(initialize())
      const first = yield* daemon.act(processRecords(recordsBetween(0, 30)), { replies: ["ShutdownException"] })
      const exchanges = yield* idleUntilRefused(daemon, [first])
      const refusedIn = exchanges.findIndex((exchange) => exchange.checkpoints.length > 0)
      assert.deepStrictEqual(exchanges[refusedIn].checkpoints.map((c) => c.error), ["ShutdownException"])

      // The daemon keeps sending until it tells the worker the lease is gone; no checkpoint is asked for again.
      for (let i = 0; i < 5; i++) {
        const later = yield* daemon.act(processRecords(recordsBetween(30 + i, 31 + i)))
        assert.deepStrictEqual(later.checkpoints, [])
        yield* Effect.sleep("50 millis")
      }
      assert.deepStrictEqual(yield* daemon.act({ action: "leaseLost" }), { action: "leaseLost", checkpoints: [] })
      yield* closeAndExpectExit(daemon, 0)
    }))

  it.scopedLive("after shutdownRequested writes and checkpoints everything, then answers leaseLost", () =>
    Effect.gen(function*() {
      const { daemon, outDir } = yield* shutDownAfterRecords
      assert.deepStrictEqual(readOutput(outDir), expectedOutput(recordsBetween(0, 15)))
      assert.deepStrictEqual(yield* daemon.act({ action: "leaseLost" }), { action: "leaseLost", checkpoints: [] })
      yield* closeAndExpectExit(daemon, 0)
    }))

  it.scopedLive("after shutdownRequested checkpoints the end of the shard when shardEnded follows", () =>
    Effect.gen(function*() {
      const { daemon, outDir } = yield* shutDownAfterRecords
      // Throttled once, to see the end of the shard asked again too.
      const ended = yield* daemon.act({ action: "shardEnded" }, { replies: ["ThrottlingException"] })
      assert.deepStrictEqual(ended.checkpoints, [
        { request: atEnd, error: "ThrottlingException" },
        { request: atEnd, error: null }
      ])
      assert.deepStrictEqual(readOutput(outDir), expectedOutput(recordsBetween(0, 15)))
      yield* closeAndExpectExit(daemon, 0)
    }))

  it.scopedLive("speaks with a legacy daemon: \\r\\n, null keys and sub-sequence numbers, shutdown TERMINATE", () =>
    Effect.gen(function*() {
      // The DynamoDB Streams adapter on Windows, launching the worker from its own directory: batches go to ./out.
      const cwd = mkdtempSync(join(tmpdir(), "flusher-multilang-cwd-"))
      const daemon = yield* spawnWorker(workerCommand, "", {
        cwd,
        lineEnding: "\r\n",
        env: { FLUSHER_OUT_DIR: undefined }
      })
      const records = Array.from(
        { length: 12 },
        (_, n) => wireRecord(n, { partitionKey: null, subSequenceNumber: null, approximateArrivalTimestamp: null })
      )
      yield* daemon.act(initialize())
      assert.deepStrictEqual(yield* daemon.act(processRecords([])), { action: "processRecords", checkpoints: [] })
      const received = yield* daemon.act(processRecords(records))
      const exchanges = yield* idleUntilCheckpointed(daemon, sequenceNumberOf(11), [received])
      // The position has no sub-sequence number, and the request says so.
      assert.deepStrictEqual(stored(exchanges).at(-1), {
        sequenceNumber: sequenceNumberOf(11),
        subSequenceNumber: null
      })

      const terminated = yield* daemon.act({ action: "shutdown", reason: "TERMINATE" })
      assert.deepStrictEqual(terminated.checkpoints.at(-1), { request: atEnd, error: null })
      assert.deepStrictEqual(readOutput(join(cwd, "out")), expectedOutput(records))
      yield* closeAndExpectExit(daemon, 0)
    }))

  it.scopedLive("resumes after the checkpoint initialize reports, and treats shutdown ZOMBIE as a lost lease", () =>
    Effect.gen(function*() {
      const daemon = yield* spawnWorker(workerCommand, makeOutDir())
      yield* daemon.act(initialize(sequenceNumberOf(99)))
      yield* daemon.act(processRecords(recordsBetween(100, 110)))
      const exchanges = yield* idleUntilCheckpointed(daemon, sequenceNumberOf(109))
      assert.isTrue(stored(exchanges).every((request) => request.sequenceNumber! > sequenceNumberOf(99)))
      yield* daemon.act(processRecords(recordsBetween(110, 115)))
      const zombie = yield* daemon.act({ action: "shutdown", reason: "ZOMBIE" })
      assert.deepStrictEqual(zombie, { action: "shutdown", checkpoints: [] })
      yield* closeAndExpectExit(daemon, 0)
    }))

  it.scopedLive("keeps stdout for the protocol: logs and stray writes go to stderr", () =>
    Effect.gen(function*() {
      const daemon = yield* spawnWorker(noisyWorkerCommand, makeOutDir(), { env: { FLUSHER_LOG_LEVEL: "Debug" } })
      yield* daemon.act(initialize())
      yield* daemon.act(processRecords(recordsBetween(0, 4)))
      yield* daemon.act({ action: "shardEnded" })
      const exited = yield* closeAndExpectExit(daemon, 0)
      assert.include(exited.stderr, "a stray line")
      assert.include(exited.stderr, `{"action":"status","responseFor":"initialize"}`)
      assert.include(exited.stderr, "wrote shardId-000000000007_")
      assert.include(exited.stderr, "level=INFO")
    }))

  // --- stopping ---

  it.scopedLive("stops on a malformed line with the reason on stderr, without a status", () =>
    Effect.gen(function*() {
      const daemon = yield* spawnWorker(workerCommand, makeOutDir())
      yield* daemon.act(initialize())
      yield* daemon.sendLine(`{"action":"processRecords","records":[{"sequenceNumber":"12a"}]}`)
      const exited = yield* closeAndExpectExit(daemon, 1)
      assert.include(exited.stderr, "The daemon sent an invalid processRecords message, records[0].sequenceNumber")
    }))

  it.scopedLive("exits on stdin EOF before initialize", () =>
    Effect.gen(function*() {
      const daemon = yield* spawnWorker(workerCommand, makeOutDir())
      // Nothing tells when a worker awaiting initialize has started, so the bound includes its start, which takes
      // seconds while other sessions start beside it: well below a wait for a deadline all the same.
      const exited = yield* closeAndExpectExit(daemon, 1, 15_000)
      assert.include(exited.stderr, "stdin closed before initialize")
    }))

  it.scopedLive("exits on stdin EOF after initialize", () =>
    Effect.gen(function*() {
      const daemon = yield* spawnWorker(workerCommand, makeOutDir())
      yield* daemon.act(initialize())
      const exited = yield* closeAndExpectExit(daemon, 1)
      assert.include(exited.stderr, "stdin closed between actions")
    }))

  it.scopedLive("exits on stdin EOF in the middle of an action, with writes in flight", () =>
    Effect.gen(function*() {
      // Slow batches: shardEnded waits for them when stdin closes.
      const daemon = yield* spawnWorker(workerCommand, makeOutDir(), { env: { FLUSHER_BATCH_MAX_RECORDS: "1" } })
      yield* daemon.act(initialize())
      yield* daemon.act(processRecords(recordsBetween(0, 200)))
      yield* daemon.send({ action: "shardEnded" })
      const exited = yield* closeAndExpectExit(daemon, 1)
      assert.include(exited.stderr, "stdin closed during shardEnded")
    }))

  // --- KPL aggregates the daemon passes through ---

  it.scopedLive("splits erlmld's aggregates and checkpoints one only once its last record is written", () =>
    Effect.gen(function*() {
      const outDir = makeOutDir()
      // Batches of 2 cut the aggregates in the middle: [plain, a0] [a1, b0] [b1].
      const daemon = yield* spawnWorker(workerCommand, outDir, { env: { FLUSHER_BATCH_MAX_RECORDS: "2" } })
      const records = [
        wireRecord(0),
        wireRecord(1, { data: aggregate("Uncompressed") }),
        wireRecord(2, { data: aggregate("Compressed") })
      ]
      // What was written when each checkpoint was asked for.
      const writtenAt = new Map<string, ReadonlyArray<OutputLine>>()
      const replies = (request: { readonly sequenceNumber: string | null }) => {
        writtenAt.set(String(request.sequenceNumber), readOutput(outDir))
        return null
      }
      yield* daemon.act(initialize())
      const exchanges = [yield* daemon.act(processRecords(records), { replies })]
      while (!stored(exchanges).some((request) => request.sequenceNumber === sequenceNumberOf(2))) {
        yield* Effect.sleep("20 millis")
        exchanges.push(yield* daemon.act(processRecords([]), { replies }))
      }

      const parts = (n: number, variantRecords: ReadonlyArray<OutputLine>) =>
        variantRecords.filter((line) => line.sequenceNumber === sequenceNumberOf(n))
      for (const request of stored(exchanges)) {
        const n = Number(request.sequenceNumber!.slice(-7))
        assert.strictEqual(request.subSequenceNumber, 0)
        // Every part of the aggregate named was written before the checkpoint was asked for.
        assert.strictEqual(parts(n, writtenAt.get(request.sequenceNumber!)!).length, n === 0 ? 1 : 2)
      }
      assert.deepStrictEqual(readOutput(outDir), [
        ...expectedOutput([records[0]]),
        ...[1, 2].flatMap((n) =>
          aggregateParts.map((part, index) => ({
            ...expectedOutput([records[n]])[0],
            partitionKey: part.partitionKey,
            data: Buffer.from(part.data).toString("base64"),
            aggregate: { index, size: 2 }
          }))
        )
      ])
      yield* daemon.act({ action: "shardEnded" })
      yield* closeAndExpectExit(daemon, 0)
    }))

  it.scopedLive("stops on a corrupt aggregate with a clear reason, without a status", () =>
    Effect.gen(function*() {
      const daemon = yield* spawnWorker(workerCommand, makeOutDir())
      const corrupt = Buffer.from(aggregate("Uncompressed"), "base64")
      corrupt[corrupt.length - 1] ^= 0xff
      yield* daemon.act(initialize())
      yield* daemon.send(processRecords([wireRecord(0), wireRecord(1, { data: corrupt.toString("base64") })]))
      const exited = yield* closeAndExpectExit(daemon, 1)
      assert.include(exited.stderr, `The record at ${sequenceNumberOf(1)} is a KPL aggregate (Uncompressed`)
      assert.include(exited.stderr, "ChecksumMismatch")
    }))
})

/** Sends empty `processRecords` until a checkpoint request was answered `ShutdownException`. */
/** A worker sent records 0 to 14, then shutdownRequested, which it answered once the last was checkpointed. */
const shutDownAfterRecords = Effect.gen(function*() {
  const outDir = makeOutDir()
  const daemon = yield* spawnWorker(workerCommand, outDir)
  yield* daemon.act(initialize())
  yield* daemon.act(processRecords(recordsBetween(0, 15)))
  const shutdown = yield* daemon.act({ action: "shutdownRequested" })
  assert.deepStrictEqual(stored([shutdown]).at(-1), { sequenceNumber: sequenceNumberOf(14), subSequenceNumber: 0 })
  return { daemon, outDir }
})

const idleUntilRefused = (daemon: FakeDaemon.FakeDaemon, before: ReadonlyArray<FakeDaemon.Exchange>) =>
  Effect.gen(function*() {
    const exchanges = [...before]
    const refused = () => exchanges.some((exchange) => exchange.checkpoints.length > 0)
    for (let i = 0; i < 200 && !refused(); i++) {
      yield* Effect.sleep("20 millis")
      exchanges.push(yield* daemon.act(processRecords([]), { replies: ["ShutdownException"] }))
    }
    assert.isTrue(refused(), "no checkpoint was asked for")
    return exchanges
  })

// -----------------------------------------------------------------------------
// aggregates
// -----------------------------------------------------------------------------

// The spec's test vector (from erlmld's kpl_agg tests): partition keys pk1 and pk2, data "data1" and "data2".
const standardVector = "84mawgoDcGsxCgNwazISBGVoazESBGVoazIaCwgAEAAaBWRhdGExGgsIARABGgVkYXRhMvQpXZutvjoe8N/YCBrNVgQ="
const aggregateParts = [
  { partitionKey: "pk1", data: Buffer.from("data1") },
  { partitionKey: "pk2", data: Buffer.from("data2") }
]

/** The vector in one of erlmld's variants, as base64: `00` with the standard layout, `01` compressed with zlib. */
const aggregate = (variant: "Uncompressed" | "Compressed"): string => {
  const body = Buffer.from(standardVector, "base64").subarray(4)
  // The vector's checksum is the MD5 of its protobuf bytes: checked here so a broken vector fails loudly.
  const protobufBytes = body.subarray(0, body.length - 16)
  assert.strictEqual(createHash("md5").update(protobufBytes).digest("hex"), body.subarray(-16).toString("hex"))
  const magic = Buffer.from([variant === "Uncompressed" ? 0x00 : 0x01, 0x89, 0x9a, 0xc2])
  return Buffer.concat([magic, variant === "Uncompressed" ? body : deflateSync(body)]).toString("base64")
}
