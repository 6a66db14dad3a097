/**
 * Sessions any worker that keeps to the protocol goes through alike, whatever its batching: ours, and a record
 * processor on the official client. Each launches the worker through the fake daemon, which checks every line.
 */
import { assert } from "@effect/vitest"
import type { FakeDaemon } from "@flusher/testing"
import * as Effect from "effect/Effect"
import {
  closeAndExpectExit,
  expectedOutput,
  idleUntilCheckpointed,
  initialize,
  makeOutDir,
  processRecords,
  readOutput,
  recordsBetween,
  sequenceNumberOf,
  spawnWorker,
  stored
} from "./fixtures.js"

/** Stored checkpoints name records that were sent, in ascending order. */
const assertAscending = (requests: ReadonlyArray<FakeDaemon.CheckpointRequest>, last: number) => {
  const numbers = requests.map((request) => {
    assert.isNotNull(request.sequenceNumber)
    return Number(String(request.sequenceNumber).slice(-7))
  })
  assert.deepStrictEqual(numbers, [...numbers].sort((a, b) => a - b), "checkpoints went backwards")
  assert.isTrue(numbers.every((n) => n <= last), `a checkpoint names a record past ${last}`)
}

/**
 * Records arrive and are written; the first checkpoint is throttled and asked again, for the same position, within
 * the same action; idle actions with no records are answered; later records are checkpointed as they are written;
 * and a lost lease is answered without a checkpoint (the daemon has none then). The worker exits on EOF.
 */
export const normalSession = (command: string) =>
  Effect.gen(function*() {
    const outDir = makeOutDir()
    const daemon = yield* spawnWorker(command, outDir)
    assert.deepStrictEqual(yield* daemon.act(initialize()), { action: "initialize", checkpoints: [] })

    const replies = ["ThrottlingException", null]
    const first = yield* daemon.act(processRecords(recordsBetween(0, 10)), { replies })
    const throttled = (yield* idleUntilCheckpointed(daemon, sequenceNumberOf(9), [first], replies))
      .find((exchange) => exchange.checkpoints.length > 0)!
    const [refused, retried] = throttled.checkpoints
    assert.deepStrictEqual(refused.request.sequenceNumber, sequenceNumberOf(9))
    assert.strictEqual(refused.error, "ThrottlingException")
    assert.deepStrictEqual(retried, { request: refused.request, error: null })

    const exchanges = yield* idleUntilCheckpointed(daemon, sequenceNumberOf(24), [
      yield* daemon.act(processRecords(recordsBetween(10, 25)))
    ])
    assertAscending(stored(exchanges), 24)
    assert.deepStrictEqual(readOutput(outDir), expectedOutput(recordsBetween(0, 25)))

    assert.deepStrictEqual(yield* daemon.act({ action: "leaseLost" }), { action: "leaseLost", checkpoints: [] })
    yield* closeAndExpectExit(daemon, 0)
  })

/**
 * At the end of the shard everything is written, then the end of the shard is checkpointed before the status; the
 * worker exits with 0 when stdin closes after it.
 */
export const shardEnded = (command: string) =>
  Effect.gen(function*() {
    const outDir = makeOutDir()
    const daemon = yield* spawnWorker(command, outDir)
    yield* daemon.act(initialize())
    const received = yield* daemon.act(processRecords(recordsBetween(0, 15)))
    const ended = yield* daemon.act({ action: "shardEnded" })

    const last = ended.checkpoints[ended.checkpoints.length - 1]
    assert.deepStrictEqual(last, { request: { sequenceNumber: null, subSequenceNumber: null }, error: null })
    assertAscending(stored([received, { ...ended, checkpoints: ended.checkpoints.slice(0, -1) }]), 14)
    assert.deepStrictEqual(readOutput(outDir), expectedOutput(recordsBetween(0, 15)))
    yield* closeAndExpectExit(daemon, 0)
  })
