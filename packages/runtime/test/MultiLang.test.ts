import { assert, describe, it } from "@effect/vitest"
import { BatchingFlusher, type StreamRecord } from "@flusher/core"
import { BatchWriter, type ShardConfig } from "@flusher/runtime"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as MultiLang from "../src/MultiLang.js"
import { joinAdvancing, numberOf, record, shardId, testConfig } from "./fixtures.js"

// -----------------------------------------------------------------------------
// an in-process daemon
// -----------------------------------------------------------------------------

const config: Partial<ShardConfig.ShardConfig> = { ...testConfig, checkpointInterval: "everyWrite" }

/** Record `n` as the daemon writes it. */
const wire = (n: number, data?: string) => {
  const r = record(n)
  return {
    action: "record",
    data: data ?? Buffer.from(r.data).toString("base64"),
    partitionKey: r.partitionKey,
    sequenceNumber: r.sequenceNumber,
    subSequenceNumber: r.subSequenceNumber,
    approximateArrivalTimestamp: null
  }
}

const processRecords = (from: number, to: number) => ({
  action: "processRecords",
  records: Array.from({ length: to - from }, (_, i) => wire(from + i)),
  millisBehindLatest: 0
})

const initialize = { action: "initialize", shardId, sequenceNumber: "TRIM_HORIZON", subSequenceNumber: null }

const status = (responseFor: string) => ({ action: "status", responseFor })

const checkpointAt = (n: number) => ({
  action: "checkpoint",
  sequenceNumber: record(n).sequenceNumber,
  subSequenceNumber: 0
})

const atEnd = { action: "checkpoint", sequenceNumber: null, subSequenceNumber: null }

type Line = Record<string, unknown>

interface Daemon {
  readonly send: (message: object) => Effect.Effect<void>
  readonly sendLine: (line: string) => Effect.Effect<void>
  /** The next line the worker writes, parsed. */
  readonly next: Effect.Effect<Line>
  /** The lines written and not read yet, once every fiber that can run has run. */
  readonly unread: Effect.Effect<ReadonlyArray<Line>>
  readonly reply: (request: Line, error?: string | null) => Effect.Effect<void>
  readonly close: Effect.Effect<void>
  readonly worker: Fiber.Fiber<void, MultiLang.WorkerError>
}

const startWorker = (
  options: {
    readonly writer?: Layer.Layer<BatchWriter.BatchWriter> | undefined
    readonly config?: Partial<ShardConfig.ShardConfig> | undefined
    readonly retry?: Partial<MultiLang.RetrySettings> | undefined
  } = {}
): Effect.Effect<Daemon, never, Scope.Scope> =>
  Effect.gen(function*() {
    const input = yield* Queue.unbounded<string>()
    const output = yield* Queue.unbounded<string>()
    const worker = yield* MultiLang.run({
      flusher: BatchingFlusher.make({ maxRecords: 10 }),
      config: { ...config, ...options.config },
      retry: { initialDelay: "1 second", maxDelay: "10 seconds", maxAttempts: 3, ...options.retry },
      input: Stream.fromQueue(input),
      output: (line) => Queue.offer(output, line)
    }).pipe(Effect.provide(options.writer ?? BatchWriter.layerMemory), Effect.forkScoped)
    const parse = (line: string) => JSON.parse(line) as Line
    return {
      send: (message) => Queue.offer(input, JSON.stringify(message)),
      sendLine: (line) => Queue.offer(input, line),
      next: Effect.map(Queue.take(output), parse),
      unread: Effect.zipRight(settle, Effect.map(Queue.takeAll(output), (lines) => Array.from(lines, parse))),
      reply: (request, error = null) =>
        Queue.offer(
          input,
          JSON.stringify({
            action: "checkpoint",
            sequenceNumber: request.sequenceNumber,
            subSequenceNumber: request.subSequenceNumber,
            error
          })
        ),
      close: Queue.shutdown(input),
      worker
    }
  })

/** Lets every fiber that can run without the clock moving run. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

/** Sends an action and answers its checkpoint requests with success until the status comes; returns the requests. */
const act = (daemon: Daemon, message: { readonly action: string }) =>
  Effect.gen(function*() {
    yield* daemon.send(message)
    const requests: Array<Line> = []
    for (;;) {
      const line = yield* daemon.next
      if (line.action === "status") {
        assert.deepStrictEqual(line, status(message.action))
        return requests
      }
      requests.push(line)
      yield* daemon.reply(line)
    }
  })

/**
 * Sends empty `processRecords`, as an idle daemon does, a tenth of a second apart, until a checkpoint request comes.
 */
const idleUntilCheckpoint = (daemon: Daemon) =>
  Effect.gen(function*() {
    for (let i = 0; i < 100; i++) {
      yield* TestClock.adjust("100 millis")
      yield* daemon.send(processRecords(0, 0))
      const line = yield* daemon.next
      if (line.action === "checkpoint") return line
      assert.deepStrictEqual(line, status("processRecords"))
    }
    return assert.fail("no checkpoint request came")
  })

/** A memory writer to hand to the worker, and the numbers of the records it wrote, in order. */
const memoryWriter = Effect.gen(function*() {
  const context = yield* Layer.build(BatchWriter.layerMemory)
  const batches = Context.get(context, BatchWriter.MemoryBatches)
  return {
    layer: Layer.succeedContext(context),
    written: Effect.map(
      batches.written,
      (requests) =>
        requests.flatMap((request) => (request.batch as ReadonlyArray<StreamRecord.StreamRecord>).map(numberOf))
    )
  }
})

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

const failureOf = (daemon: Daemon) => Effect.flip(Fiber.join(daemon.worker))

// -----------------------------------------------------------------------------
// tests
// -----------------------------------------------------------------------------

describe("MultiLang.run", () => {
  it.scoped("answers each action, and checkpoints written records inside a later action", () =>
    Effect.gen(function*() {
      const daemon = yield* startWorker()
      assert.deepStrictEqual(yield* act(daemon, initialize), [])
      yield* act(daemon, processRecords(0, 20))
      const request = yield* idleUntilCheckpoint(daemon)
      assert.deepStrictEqual(request, checkpointAt(19))
      yield* daemon.reply(request)
      assert.deepStrictEqual(yield* daemon.next, status("processRecords"))

      assert.deepStrictEqual(yield* act(daemon, { action: "leaseLost" }), [])
      yield* daemon.close
      yield* Fiber.join(daemon.worker)
    }))

  it.scoped("backs off on the clock before asking again for a throttled checkpoint, within the same action", () =>
    Effect.gen(function*() {
      const daemon = yield* startWorker()
      yield* act(daemon, initialize)
      yield* act(daemon, processRecords(0, 10))
      const request = yield* idleUntilCheckpoint(daemon)
      yield* daemon.reply(request, "ThrottlingException")
      // The first retry waits a second, give or take a fifth for the jitter.
      yield* TestClock.adjust("700 millis")
      assert.deepStrictEqual(yield* daemon.unread, [])
      yield* TestClock.adjust("600 millis")
      assert.deepStrictEqual(yield* daemon.next, request)
      yield* daemon.reply(request, "KinesisClientLibDependencyException")
      yield* TestClock.adjust("2500 millis")
      assert.deepStrictEqual(yield* daemon.next, request)
      yield* daemon.reply(request)
      assert.deepStrictEqual(yield* daemon.next, status("processRecords"))
    }))

  it.scoped("hands a checkpoint still throttled after its retries back to the runner, which asks again later", () =>
    Effect.gen(function*() {
      const daemon = yield* startWorker({ retry: { maxAttempts: 2 } })
      yield* act(daemon, initialize)
      yield* act(daemon, processRecords(0, 10))
      const request = yield* idleUntilCheckpoint(daemon)
      yield* daemon.reply(request, "ThrottlingException")
      yield* TestClock.adjust("1200 millis")
      assert.deepStrictEqual(yield* daemon.next, request)
      yield* daemon.reply(request, "ThrottlingException")
      // The action is answered; the runner asks again on a later heartbeat, inside a later action.
      assert.deepStrictEqual(yield* daemon.next, status("processRecords"))
      assert.deepStrictEqual(yield* idleUntilCheckpoint(daemon), request)
    }))

  it.scoped("stops checkpointing after ShutdownException, and still answers every action", () =>
    Effect.gen(function*() {
      const daemon = yield* startWorker()
      yield* act(daemon, initialize)
      yield* act(daemon, processRecords(0, 25))
      yield* daemon.reply(yield* idleUntilCheckpoint(daemon), "ShutdownException")
      assert.deepStrictEqual(yield* daemon.next, status("processRecords"))
      for (let i = 0; i < 20; i++) {
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(yield* act(daemon, processRecords(25 + i, 26 + i)), [])
      }
      assert.deepStrictEqual(yield* act(daemon, { action: "leaseLost" }), [])
      yield* daemon.close
      yield* Fiber.join(daemon.worker)
    }))

  it.scoped("stops on a checkpoint error it cannot retry, without a status", () =>
    Effect.gen(function*() {
      const daemon = yield* startWorker()
      yield* act(daemon, initialize)
      yield* act(daemon, processRecords(0, 10))
      yield* daemon.reply(yield* idleUntilCheckpoint(daemon), "InvalidStateException")
      const error = yield* failureOf(daemon)
      assert.strictEqual(error.reason, "CheckpointRefused")
      assert.include(error.message, "with InvalidStateException")
      assert.deepStrictEqual(yield* daemon.unread, [])
    }))

  it.scoped("answers processRecords only once the runner took its records", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const writer = Layer.succeed(BatchWriter.BatchWriter, BatchWriter.make(() => Deferred.await(release)))
      const daemon = yield* startWorker({ writer, config: { maxOutstanding: 10 } })
      yield* act(daemon, initialize)
      yield* act(daemon, processRecords(0, 10))
      // Ten records outstanding, their batch being written: the runner has no room for the next ones.
      yield* daemon.send(processRecords(10, 20))
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* daemon.unread, [])
      yield* Deferred.succeed(release, undefined)
      const lines = [yield* daemon.next]
      if (lines[0].action === "checkpoint") {
        yield* daemon.reply(lines[0])
        lines.push(yield* daemon.next)
      }
      assert.deepStrictEqual(lines.at(-1), status("processRecords"))
    }))

  it.scoped("writes everything, then checkpoints the end of the shard before answering shardEnded", () =>
    Effect.gen(function*() {
      const { layer, written } = yield* memoryWriter
      const daemon = yield* startWorker({ writer: layer })
      yield* act(daemon, initialize)
      yield* act(daemon, processRecords(0, 25))
      const requests = yield* act(daemon, { action: "shardEnded" })
      assert.deepStrictEqual(requests.at(-1), atEnd)
      assert.deepStrictEqual(yield* written, range(0, 25))
      yield* daemon.close
      yield* Fiber.join(daemon.worker)
    }))

  it.scoped("after shutdownRequested writes and checkpoints everything, then checkpoints the end of the shard", () =>
    Effect.gen(function*() {
      const { layer, written } = yield* memoryWriter
      const daemon = yield* startWorker({ writer: layer })
      yield* act(daemon, initialize)
      yield* act(daemon, processRecords(0, 15))
      assert.deepStrictEqual((yield* act(daemon, { action: "shutdownRequested" })).at(-1), checkpointAt(14))
      assert.deepStrictEqual(yield* written, range(0, 15))
      assert.deepStrictEqual(yield* act(daemon, { action: "shardEnded" }), [atEnd])
      yield* daemon.close
      yield* Fiber.join(daemon.worker)
    }))

  it.scoped("stops at once without writing when the input ends mid-session", () =>
    Effect.gen(function*() {
      const { layer, written } = yield* memoryWriter
      const daemon = yield* startWorker({ writer: layer })
      yield* act(daemon, initialize)
      yield* act(daemon, processRecords(0, 5))
      yield* daemon.close
      const error = yield* failureOf(daemon)
      assert.strictEqual(error.reason, "InputClosed")
      assert.include(error.message, "stdin closed between actions")
      assert.deepStrictEqual(yield* written, [])
    }))

  it.scoped("stops when the input ends while the shard drains, without waiting for its writes", () =>
    Effect.gen(function*() {
      // A write that cannot be interrupted, as a file being synced to disk: the worker does not wait for it.
      const writer = Layer.succeed(
        BatchWriter.BatchWriter,
        BatchWriter.make(() => Effect.uninterruptible(Effect.never))
      )
      const daemon = yield* startWorker({ writer })
      yield* act(daemon, initialize)
      yield* act(daemon, processRecords(0, 5))
      yield* daemon.send({ action: "shardEnded" })
      yield* settle
      yield* daemon.close
      const error = yield* failureOf(daemon)
      assert.strictEqual(error.reason, "InputClosed")
      assert.include(error.message, "stdin closed during shardEnded")
    }))

  it.scoped("stops when the input ends while processRecords waits for room, or shutdownRequested for writes", () =>
    Effect.gen(function*() {
      for (const action of ["processRecords", "shutdownRequested"] as const) {
        // Ten records outstanding and a write that never ends: the runner neither takes more nor finishes.
        const writer = Layer.succeed(BatchWriter.BatchWriter, BatchWriter.make(() => Effect.never))
        const daemon = yield* startWorker({ writer, config: { maxOutstanding: 10 } })
        yield* act(daemon, initialize)
        yield* act(daemon, processRecords(0, 10))
        yield* daemon.send(action === "processRecords" ? processRecords(10, 20) : { action })
        assert.deepStrictEqual(yield* daemon.unread, [])
        yield* daemon.close
        // Without the clock moving: the worker gives up at once rather than after a deadline.
        const error = yield* failureOf(daemon)
        assert.strictEqual(error.reason, "InputClosed")
        assert.include(error.message, `stdin closed during ${action}`)
      }
    }))

  it.scoped("stops when the input ends before the reply to a checkpoint request", () =>
    Effect.gen(function*() {
      const { layer, written } = yield* memoryWriter
      const daemon = yield* startWorker({ writer: layer })
      yield* act(daemon, initialize)
      yield* act(daemon, processRecords(0, 5))
      yield* daemon.send({ action: "shardEnded" })
      assert.deepStrictEqual(yield* daemon.next, atEnd)
      yield* daemon.close
      const error = yield* failureOf(daemon)
      assert.strictEqual(error.reason, "InputClosed")
      assert.include(error.message, "stdin closed before the reply to the checkpoint at SHARD_END")
      // Written, but the end of the shard never stored and no status sent: the daemon does not count it as done.
      assert.deepStrictEqual(yield* written, range(0, 5))
      assert.deepStrictEqual(yield* daemon.unread, [])
    }))

  it.scoped("succeeds when the input ends after the status of leaseLost", () =>
    Effect.gen(function*() {
      const daemon = yield* startWorker()
      yield* act(daemon, initialize)
      yield* act(daemon, processRecords(0, 5))
      assert.deepStrictEqual(yield* act(daemon, { action: "leaseLost" }), [])
      yield* daemon.close
      yield* Fiber.join(daemon.worker)
    }))

  it.scoped("stops on a malformed line, naming the field", () =>
    Effect.gen(function*() {
      const daemon = yield* startWorker()
      yield* act(daemon, initialize)
      yield* daemon.sendLine(JSON.stringify({ ...processRecords(0, 1), millisBehindLatest: -1 }))
      const error = yield* failureOf(daemon)
      assert.strictEqual(error.reason, "MalformedMessage")
      assert.include(error.message, "millisBehindLatest")
      assert.deepStrictEqual(yield* daemon.unread, [])
    }))

  it.scoped("stops on a message out of order", () =>
    Effect.gen(function*() {
      const daemon = yield* startWorker()
      yield* daemon.send(processRecords(0, 1))
      const error = yield* failureOf(daemon)
      assert.strictEqual(error.reason, "ProtocolViolation")
      assert.include(error.message, "the first message of a session must be initialize")
    }))

  it.scoped("stops on a corrupt aggregate, naming the record", () =>
    Effect.gen(function*() {
      const daemon = yield* startWorker()
      yield* act(daemon, initialize)
      // The uncompressed variant's magic, then too few bytes to hold a checksum.
      yield* daemon.send({
        ...processRecords(0, 0),
        records: [wire(0, Buffer.from([0, 0x89, 0x9a, 0xc2, 1]).toString("base64"))]
      })
      const error = yield* failureOf(daemon)
      assert.strictEqual(error.reason, "CorruptAggregate")
      assert.include(error.message, `The record at ${record(0).sequenceNumber} is a KPL aggregate`)
    }))

  it.scoped("stops between actions when the shard fails, without waiting for the daemon", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const failing = Layer.succeed(
        BatchWriter.BatchWriter,
        BatchWriter.make((request) =>
          Effect.zipRight(
            Ref.update(attempts, (n) => n + 1),
            Effect.fail(new BatchWriter.BatchWriteError({ batchId: request.batchId, reason: "the disk is full" }))
          )
        )
      )
      const daemon = yield* startWorker({ writer: failing })
      yield* act(daemon, initialize)
      yield* act(daemon, processRecords(0, 10))
      // No message from the daemon: the clock alone moves the shard to its failure.
      const error = yield* Effect.flip(joinAdvancing(daemon.worker))
      assert.strictEqual(error.reason, "ShardFailed")
      assert.include(error.message, "could not be written")
      assert.strictEqual(yield* Ref.get(attempts), 3)
    }))
})
