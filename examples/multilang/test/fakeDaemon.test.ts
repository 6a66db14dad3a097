import { assert, describe, it } from "@effect/vitest"
import { FakeDaemon } from "@flusher/testing"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { initialize, processRecords, recordsBetween } from "./fixtures.js"

const brokenWorker = `${process.execPath} ${fileURLToPath(new URL("./brokenWorker.js", import.meta.url))}`

/** Runs initialize then processRecords against a worker broken in one way; the fake daemon's error, or "". */
const session = (broken: string, keys: "exact" | "known" = "exact") =>
  Effect.gen(function*() {
    const daemon = yield* FakeDaemon.spawn({
      executableName: brokenWorker,
      env: { FLUSHER_BROKEN: broken },
      keys,
      timeout: "5 seconds"
    })
    yield* daemon.act(initialize())
    yield* daemon.act(processRecords(recordsBetween(0, 3)))
    yield* daemon.act(processRecords([]))
  }).pipe(Effect.match({ onFailure: (error) => error.message, onSuccess: () => "" }))

// The fake daemon is the judge of the worker's tests: these show that it refuses what a daemon would not take.
describe.concurrent("the fake daemon", () => {
  it.scopedLive("refuses a message with a key the protocol does not name", () =>
    Effect.map(session("extraKey"), (message) => assert.include(message, "keys the daemon does not know (shardId)")))

  it.scopedLive("refuses a status for another action than the one sent", () =>
    Effect.map(
      session("wrongStatus"),
      (message) => assert.include(message, "answered processRecords with a status for initialize")
    ))

  it.scopedLive("refuses a checkpoint during initialize", () =>
    Effect.map(
      session("checkpointDuringInitialize"),
      (message) => assert.include(message, "asked for a checkpoint during initialize")
    ))

  it.scopedLive("refuses a line that is not a message, such as a log line on stdout", () =>
    Effect.map(session("logOnStdout"), (message) => assert.include(message, "not JSON")))

  it.scopedLive("refuses a line written between actions", () =>
    Effect.map(session("writeBetweenActions"), (message) => assert.include(message, "wrote between actions")))

  it.scopedLive("requires every key unless told to accept what the daemon accepts", () =>
    Effect.gen(function*() {
      assert.include(yield* session("subSequenceNumberLeftOut"), "without the keys subSequenceNumber")
      assert.strictEqual(yield* session("subSequenceNumberLeftOut", "known"), "")
    }))
})
