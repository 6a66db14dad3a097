/**
 * The machinery of the MultiLang worker: the protocol loop over a line transport, and the shard runner it drives.
 *
 * One fiber speaks the protocol: it reads each message, checks it against the session, acts on it and writes the
 * status. The shard runner runs beside it and reaches the daemon only through that fiber: its records come through
 * a queue the protocol fills, and its checkpoints wait in another queue until an action is open, the only time the
 * daemon accepts them. Failures are plain values here; `MultiLang.run` turns them into `WorkerError`s.
 *
 * @internal
 */
import { Checkpoint, type Flusher, MultiLang, MultiLangSession, type ShardId, type StreamRecord } from "@flusher/core"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { BatchWriter } from "../BatchWriter.js"
import { Checkpointer, CheckpointError } from "../Checkpointer.js"
import * as KplAggregate from "../KplAggregate.js"
import type { WorkerErrorReason } from "../MultiLang.js"
import type * as ShardConfig from "../ShardConfig.js"
import * as ShardRunner from "../ShardRunner.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/** Why the worker stops, before `MultiLang.run` makes it a `WorkerError`. @internal */
export interface Failure {
  readonly reason: WorkerErrorReason
  readonly shardId: ShardId.ShardId | null
  readonly detail: string
  readonly cause?: unknown
}

/** @internal */
export interface Settings<S, B, E, IE, OE> {
  readonly flusher: Flusher.Flusher<S, B, E>
  readonly input: Stream.Stream<string, IE>
  readonly output: (line: string) => Effect.Effect<void, OE>
  readonly config: Partial<ShardConfig.ShardConfig> | undefined
  /** How a checkpoint request answered with a retryable error is asked again within the action. */
  readonly retry: Schedule.Schedule<unknown>
  readonly decodeBase64: MultiLang.Base64Decoder
}

/**
 * Runs a session: `initialize`, the actions, and the end of the input.
 *
 * @internal
 */
export const run = <S, B, E, IE, OE>(settings: Settings<S, B, E, IE, OE>): Effect.Effect<void, Failure, BatchWriter> =>
  Effect.scoped(
    Effect.gen(function*() {
      const connection = yield* connect(settings)
      const first = yield* connection.receive
      if (first === null) return yield* Effect.fail(connection.inputClosed("before initialize"))
      if (first.action !== "initialize") return yield* Effect.dieMessage("the session lets only initialize come first")

      const shard = yield* startShard(first, settings)
      yield* connection.send(MultiLang.status("initialize"))
      yield* Effect.raceFirst(serveActions(connection, shard), shard.failed).pipe(
        Effect.annotateLogs({ shardId: first.shardId })
      )
    })
  )

// -----------------------------------------------------------------------------
// the connection: lines in and out, checked against the session
// -----------------------------------------------------------------------------

interface Connection {
  /** The next message of the daemon, once the session allows it, or `null` when the input ended. */
  readonly receive: Effect.Effect<MultiLang.DaemonMessage | null, Failure>
  /** Sends a message, once the session allows it. */
  readonly send: (message: MultiLang.WorkerMessage) => Effect.Effect<void, Failure>
  readonly session: () => MultiLangSession.Session
  /** Fails as soon as the input ends (or breaks): for waits that read nothing, so they end promptly too. */
  readonly inputEnded: Effect.Effect<never, Failure>
  readonly inputClosed: (when: string) => Failure
}

/** What the reader passes on: a line, or the end of the input with the failure that ended it, if any. */
type Input = string | { readonly failure: Failure | null }

const connect = <S, B, E, IE, OE>(
  settings: Settings<S, B, E, IE, OE>
): Effect.Effect<Connection, never, Scope.Scope> =>
  Effect.gen(function*() {
    let session = MultiLangSession.initial
    const inputs = yield* Queue.unbounded<Input>()
    const ended = yield* Deferred.make<void, Failure>()

    // Reads ahead on a fiber of its own, so that the end of the input is seen at once, whatever the protocol is
    // doing. The daemon does not pipeline, so at most a line or two wait in the queue.
    yield* Stream.runForEachChunk(settings.input, (lines) => Queue.offerAll(inputs, lines)).pipe(
      Effect.matchCauseEffect({
        onSuccess: () => Effect.zipRight(Queue.offer(inputs, { failure: null }), Deferred.succeed(ended, undefined)),
        onFailure: (cause) => {
          const failure = transportFailed(MultiLangSession.shardId(session), "read the daemon's input", cause)
          return Effect.zipRight(Queue.offer(inputs, { failure }), Deferred.fail(ended, failure))
        }
      }),
      Effect.forkScoped
    )

    const inputClosed = (when: string): Failure => ({
      reason: "InputClosed",
      shardId: MultiLangSession.shardId(session),
      detail: `stdin closed ${when}: the daemon stopped or died. Nothing more is checkpointed; the next worker to ` +
        `hold the shard's lease reads again what was not.`
    })

    let endOfInput: Input | null = null
    const receive: Effect.Effect<MultiLang.DaemonMessage | null, Failure> = Effect.gen(function*() {
      for (;;) {
        const input = endOfInput ?? (yield* Queue.take(inputs))
        if (typeof input !== "string") {
          endOfInput = input
          if (input.failure !== null) return yield* Effect.fail(input.failure)
          return null
        }
        if (isBlank(input)) continue
        const decoded = MultiLang.decodeLine(input, settings.decodeBase64)
        if (Either.isLeft(decoded)) {
          return yield* Effect.fail<Failure>({
            reason: "MalformedMessage",
            shardId: MultiLangSession.shardId(session),
            detail: decoded.left.message,
            cause: decoded.left
          })
        }
        const next = MultiLangSession.received(session, decoded.right)
        if (Either.isLeft(next)) return yield* Effect.fail(protocolViolation(next.left))
        session = next.right
        return decoded.right
      }
    })

    const send = (message: MultiLang.WorkerMessage): Effect.Effect<void, Failure> =>
      Effect.suspend(() => {
        const next = MultiLangSession.sent(session, message)
        if (Either.isLeft(next)) return Effect.fail(protocolViolation(next.left))
        session = next.right
        return settings.output(MultiLang.encodeLine(message)).pipe(
          Effect.catchAllCause((cause) =>
            Effect.fail(transportFailed(MultiLangSession.shardId(session), "write to the daemon", cause))
          )
        )
      })

    const inputEnded = Effect.flatMap(
      Deferred.await(ended),
      () => Effect.fail(inputClosed(describeState(session)))
    )

    return { receive, send, session: () => session, inputEnded, inputClosed }
  })

// Blank lines carry nothing; the daemon sends none, and skipping them costs a look at the first character.
const isBlank = (line: string): boolean => line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === "")

const describeState = (session: MultiLangSession.Session): string => {
  const action = MultiLangSession.currentAction(session)
  if (action !== null) return `during ${action}`
  return MultiLangSession.shardId(session) === null ? "before initialize" : "between actions"
}

const protocolViolation = (violation: MultiLangSession.ProtocolViolation): Failure => ({
  reason: "ProtocolViolation",
  shardId: violation.shardId,
  detail: violation.message,
  cause: violation
})

const transportFailed = (shardId: ShardId.ShardId | null, what: string, cause: Cause.Cause<unknown>): Failure => ({
  reason: "TransportFailed",
  shardId,
  detail: `could not ${what}: ${Cause.pretty(cause)}. The daemon is probably gone.`,
  cause
})

// -----------------------------------------------------------------------------
// the shard: a runner fed by the protocol, checkpointing through it
// -----------------------------------------------------------------------------

/** A checkpoint the runner asked for, waiting for an action to carry it to the daemon. */
interface CheckpointCall {
  readonly checkpoint: Checkpoint.Checkpoint
  readonly done: Deferred.Deferred<void, CheckpointError>
  /** The runner stopped waiting (it lost the lease or was interrupted): nothing to send. */
  abandoned: boolean
}

/** Records handed to the runner, and the signal that it took them; or the end of the shard. */
type Item =
  | {
    readonly _tag: "Records"
    readonly records: ReadonlyArray<StreamRecord.StreamRecord>
    readonly taken: Deferred.Deferred<void>
  }
  | { readonly _tag: "End" }

/** A shard runner on a fiber of its own. */
interface Runner {
  readonly fiber: Fiber.RuntimeFiber<ShardRunner.Report, ShardRunner.ShardError<unknown, never>>
  /** Its report as soon as it stopped, before its writes in flight wound down; or its failure. */
  readonly stopped: Effect.Effect<ShardRunner.Report, Failure>
  /** Its report, if it stopped. */
  readonly poll: Effect.Effect<Option.Option<ShardRunner.Report>>
}

interface Shard {
  readonly shardId: ShardId.ShardId
  readonly calls: Queue.Queue<CheckpointCall>
  /** Hands records over and waits until the runner took them, or stopped. */
  readonly handOver: (records: ReadonlyArray<StreamRecord.StreamRecord>) => Effect.Effect<void>
  /** Ends the runner's records: the shard ended. When the runner already stopped, starts one that only ends it. */
  readonly end: Effect.Effect<void>
  readonly requestShutdown: Effect.Effect<void>
  readonly loseLease: Effect.Effect<void>
  /** The current runner. */
  readonly runner: () => Runner
  /** Fails when a runner fails: the worker stops whatever it is doing. */
  readonly failed: Effect.Effect<never, Failure>
  readonly retry: Schedule.Schedule<unknown>
}

const startShard = <S, B, E, IE, OE>(
  initialize: MultiLang.Initialize,
  settings: Settings<S, B, E, IE, OE>
): Effect.Effect<Shard, never, BatchWriter | Scope.Scope> =>
  Effect.gen(function*() {
    const { shardId } = initialize
    const lastCheckpoint = MultiLang.lastCheckpoint(initialize)
    const items = yield* Queue.unbounded<Item>()
    const calls = yield* Queue.unbounded<CheckpointCall>()
    const shutdown = yield* Deferred.make<void>()
    const leaseLost = yield* Deferred.make<void>()
    const closed = yield* Deferred.make<void>()
    const failure = yield* Deferred.make<never, Failure>()
    const scope = yield* Effect.scope

    const checkpointer: Checkpointer["Type"] = {
      load: () => Effect.succeed(lastCheckpoint),
      save: (_, checkpoint) =>
        Effect.gen(function*() {
          const call: CheckpointCall = {
            checkpoint,
            done: yield* Deferred.make<void, CheckpointError>(),
            abandoned: false
          }
          yield* Queue.offer(calls, call)
          return yield* Effect.raceFirst(
            Deferred.await(call.done),
            Effect.zipRight(Deferred.await(closed), Effect.fail(noDaemon(shardId, checkpoint)))
          ).pipe(Effect.onInterrupt(() => Effect.sync(() => (call.abandoned = true))))
        })
    }

    // Pulled by the runner only when it has room, so a record taken is a record the runner holds.
    const records: Stream.Stream<StreamRecord.StreamRecord> = Stream.repeatEffectChunkOption(
      Effect.flatMap(Queue.take(items), (item) =>
        item._tag === "End" ?
          Effect.fail(Option.none()) :
          Effect.as(Deferred.succeed(item.taken, undefined), Chunk.unsafeFromArray(item.records)))
    )

    // Runners are not tied to the worker's scope: when the worker stops early, it waits for the runner to stop, not
    // for its writes in flight to wind down (a file being synced to disk, say), which nobody needs any more.
    const writer = yield* Effect.context<BatchWriter>()
    const start = (
      source: Stream.Stream<StreamRecord.StreamRecord>,
      from: Checkpoint.Checkpoint | null,
      // None for a runner that only ends the shard, started once shutdownRequested was answered.
      shutdownSignal: Effect.Effect<void> | undefined
    ): Effect.Effect<Runner> =>
      Effect.gen(function*() {
        // Settled by the runner's report as soon as it stopped, or by its failure.
        const settled = yield* Deferred.make<ShardRunner.Report, Failure>()
        const fiber = yield* ShardRunner.run({
          shardId,
          records: source,
          flusher: settings.flusher,
          config: settings.config,
          lastCheckpoint: from,
          shutdown: shutdownSignal,
          leaseLost: Deferred.await(leaseLost),
          onStopped: (report) => Deferred.succeed(settled, report)
        }).pipe(Effect.provideService(Checkpointer, checkpointer), Effect.provide(writer), Effect.forkDaemon)
        yield* Fiber.await(fiber).pipe(
          Effect.flatMap((exit) => {
            if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return Effect.void
            const failed = shardFailed(shardId, exit.cause)
            return Effect.zipRight(Deferred.fail(settled, failed), Deferred.fail(failure, failed))
          }),
          Effect.forkIn(scope)
        )
        return {
          fiber,
          stopped: Deferred.await(settled),
          poll: Deferred.poll(settled).pipe(
            Effect.flatMap(Option.match({ onNone: () => Effect.succeedNone, onSome: Effect.option }))
          )
        }
      })

    let runner = yield* start(records, lastCheckpoint, Deferred.await(shutdown))

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* Deferred.succeed(closed, undefined)
        yield* Deferred.succeed(leaseLost, undefined)
        // A runner told its lease is lost stops at its next step; the bound only guards against a stuck flusher.
        // Interruptible, unlike the rest of a finalizer, so that the timeout can give up the wait.
        yield* runner.stopped.pipe(Effect.ignore, Effect.timeoutOption(Duration.seconds(10)), Effect.interruptible)
        yield* Fiber.interruptFork(runner.fiber)
      })
    )

    return {
      shardId,
      calls,
      handOver: (records) =>
        Effect.gen(function*() {
          const taken = yield* Deferred.make<void>()
          yield* Queue.offer(items, { _tag: "Records", records, taken })
          yield* Effect.raceFirst(Deferred.await(taken), Effect.ignore(runner.stopped))
        }),
      end: Effect.gen(function*() {
        const previous = yield* runner.poll
        if (Option.isNone(previous)) {
          yield* Queue.offer(items, { _tag: "End" })
          return
        }
        // Stopped after shutdownRequested (or a lost lease): everything it held is written, so a runner with no
        // records, from the checkpoint it stored, only has to checkpoint the end of the shard.
        runner = yield* start(Stream.empty, previous.value.outcome.checkpoint, undefined)
      }),
      requestShutdown: Deferred.succeed(shutdown, undefined),
      loseLease: Deferred.succeed(leaseLost, undefined),
      runner: () => runner,
      failed: Deferred.await(failure),
      retry: settings.retry
    }
  })

const noDaemon = (shardId: ShardId.ShardId, checkpoint: Checkpoint.Checkpoint) =>
  new CheckpointError({
    shardId,
    reason: "LeaseLost",
    detail: `the worker is stopping and no daemon will take the checkpoint at ${Checkpoint.format(checkpoint)}`
  })

const shardFailed = (shardId: ShardId.ShardId, cause: Cause.Cause<unknown>): Failure => {
  const error = Cause.failureOption(cause)
  const described = Option.isSome(error) && error.value instanceof Error ? error.value.message : Cause.pretty(cause)
  return {
    reason: "ShardFailed",
    shardId,
    detail: `${described} The daemon restarts the shard from its last checkpoint in a new worker.`,
    cause: Option.getOrElse(error, () => cause)
  }
}

// -----------------------------------------------------------------------------
// the actions
// -----------------------------------------------------------------------------

const serveActions = (connection: Connection, shard: Shard): Effect.Effect<void, Failure> =>
  Effect.gen(function*() {
    let shutdownAnswered = false
    for (;;) {
      const message = yield* connection.receive
      if (message === null) {
        // After shutdownRequested everything held was written and checkpointed: a daemon that stops there lost
        // nothing. Anywhere else, it went away mid-session.
        if (MultiLangSession.isFinished(connection.session()) || shutdownAnswered) return
        return yield* Effect.fail(connection.inputClosed("between actions"))
      }
      switch (message.action) {
        case "processRecords": {
          yield* processRecords(connection, shard, message).pipe(withActionSpan(message.action))
          break
        }
        case "shardEnded": {
          yield* endShard(connection, shard, message.action).pipe(withActionSpan(message.action))
          break
        }
        case "shutdownRequested": {
          yield* shutDown(connection, shard).pipe(withActionSpan(message.action))
          shutdownAnswered = true
          break
        }
        case "leaseLost": {
          yield* loseLease(connection, shard, message.action).pipe(withActionSpan(message.action))
          break
        }
        case "shutdown": {
          yield* (message.reason === "TERMINATE" ?
            endShard(connection, shard, message.action) :
            loseLease(connection, shard, message.action)).pipe(withActionSpan(message.action))
          break
        }
        case "initialize":
        case "checkpoint":
          return yield* Effect.dieMessage(`the session lets no ${message.action} come between actions`)
      }
    }
  })

const withActionSpan = (action: MultiLang.ActionName) =>
  Effect.withSpan("flusher.multilang.action", { attributes: { action } })

/** Splits aggregates, hands the records over, serves the checkpoints already waiting, and answers. */
const processRecords = (connection: Connection, shard: Shard, message: MultiLang.ProcessRecords) =>
  Effect.gen(function*() {
    const split = KplAggregate.splitAll(message.records)
    if (Either.isLeft(split)) {
      return yield* Effect.fail<Failure>({
        reason: "CorruptAggregate",
        shardId: shard.shardId,
        detail: split.left.message,
        cause: split.left
      })
    }
    if (split.right.length > 0) {
      yield* Effect.raceFirst(shard.handOver(split.right), connection.inputEnded)
    }
    // Writes still in flight are not waited for: their checkpoints go out inside a later action.
    for (;;) {
      const call = yield* Queue.poll(shard.calls)
      if (Option.isNone(call)) break
      yield* serveCall(connection, shard, call.value)
    }
    yield* connection.send(MultiLang.status("processRecords"))
  })

/** Ends the records, serves checkpoints until the runner stopped, with the end of the shard stored, and answers. */
const endShard = (connection: Connection, shard: Shard, action: "shardEnded" | "shutdown") =>
  Effect.gen(function*() {
    yield* shard.end
    yield* serveUntilStopped(connection, shard)
    if (!MultiLangSession.canSendStatus(connection.session())) {
      // The runner stopped before it took the end of its records: its lease was lost just before this action. One
      // that only ends the shard asks for the end checkpoint, which the daemon stores or refuses with
      // ShutdownException; either way the status may then go.
      yield* shard.end
      yield* serveUntilStopped(connection, shard)
    }
    yield* connection.send(MultiLang.status(action))
  })

/** Asks the runner to flush, write and checkpoint what it holds, serving its checkpoints, and answers. */
const shutDown = (connection: Connection, shard: Shard) =>
  Effect.gen(function*() {
    yield* shard.requestShutdown
    yield* serveUntilStopped(connection, shard)
    yield* connection.send(MultiLang.status("shutdownRequested"))
  })

/** Stops the runner at once, without a checkpoint (the daemon has no checkpointer now), and answers. */
const loseLease = (connection: Connection, shard: Shard, action: "leaseLost" | "shutdown") =>
  Effect.gen(function*() {
    yield* shard.loseLease
    yield* Effect.raceFirst(shard.runner().stopped, connection.inputEnded)
    yield* connection.send(MultiLang.status(action))
  })

const serveUntilStopped = (connection: Connection, shard: Shard): Effect.Effect<ShardRunner.Report, Failure> =>
  Effect.gen(function*() {
    for (;;) {
      const next = yield* Effect.raceFirst(
        Effect.map(Queue.take(shard.calls), Either.right),
        Effect.map(shard.runner().stopped, Either.left)
      ).pipe((waiting) => Effect.raceFirst(waiting, connection.inputEnded))
      if (Either.isLeft(next)) return next.left
      yield* serveCall(connection, shard, next.right)
    }
  })

// -----------------------------------------------------------------------------
// checkpoints
// -----------------------------------------------------------------------------

/** The daemon asked to wait: `ThrottlingException` or `KinesisClientLibDependencyException`. */
class RetryableReply extends Data.TaggedError("RetryableReply")<{ readonly error: string }> {}

/** Carries one checkpoint to the daemon, retrying what may be retried, and tells the runner how it went. */
const serveCall = (connection: Connection, shard: Shard, call: CheckpointCall) =>
  Effect.gen(function*() {
    if (call.abandoned) return
    const { checkpoint } = call
    const request = MultiLang.checkpointRequest(Checkpoint.isShardEnd(checkpoint) ? null : checkpoint.position)
    const position = Checkpoint.format(checkpoint)

    const attempt = Effect.gen(function*() {
      yield* connection.send(request)
      const reply = yield* connection.receive
      if (reply === null) {
        return yield* Effect.fail(connection.inputClosed(`before the reply to the checkpoint at ${position}`))
      }
      if (reply.action !== "checkpoint") {
        return yield* Effect.dieMessage("the session lets only a checkpoint reply come")
      }
      const outcome = MultiLang.checkpointOutcome(reply)
      switch (outcome) {
        case "Stored":
        case "LeaseLost":
          return outcome
        case "Retry":
          return yield* Effect.fail(new RetryableReply({ error: String(reply.error) }))
        case "Fatal":
          return yield* Effect.fail(checkpointRefused(shard.shardId, position, String(reply.error)))
      }
    })

    const outcome = yield* attempt.pipe(
      Effect.tapError((error) =>
        error instanceof RetryableReply ?
          Effect.logInfo(`The daemon answered ${error.error} to the checkpoint at ${position}; asking again`) :
          Effect.void
      ),
      Effect.retry({ schedule: shard.retry, while: (error) => error instanceof RetryableReply }),
      Effect.catchTag("RetryableReply", (error) => Effect.succeed(error))
    )

    if (outcome === "Stored") {
      yield* Deferred.succeed(call.done, undefined)
    } else if (outcome === "LeaseLost") {
      yield* Effect.logWarning(`The daemon answered ShutdownException to the checkpoint at ${position}: lease lost`)
      yield* Deferred.fail(
        call.done,
        new CheckpointError({
          shardId: shard.shardId,
          reason: "LeaseLost",
          detail: "the daemon answered ShutdownException: this worker no longer holds the shard's lease"
        })
      )
    } else {
      yield* Deferred.fail(
        call.done,
        new CheckpointError({
          shardId: shard.shardId,
          reason: "Throttled",
          detail: `the daemon kept answering ${outcome.error}; the shard asks again on a later heartbeat`
        })
      )
    }
  })

const checkpointRefused = (shardId: ShardId.ShardId, position: string, error: string): Failure => ({
  reason: "CheckpointRefused",
  shardId,
  detail: `the daemon refused the checkpoint at ${position} with ${error}. ${adviceFor(error)} The shard resumes ` +
    `from its last stored checkpoint in a new worker.`
})

const adviceFor = (error: string): string => {
  switch (error) {
    case "InvalidStateException":
      return "The daemon has no checkpointer now, or its lease table has a problem: check the DynamoDB table."
    case "IllegalArgumentException":
      return "The position is before the last checkpoint or past the last record delivered: a bug in the worker."
    default:
      return "The worker does not know this error, so it does not guess how to go on."
  }
}
