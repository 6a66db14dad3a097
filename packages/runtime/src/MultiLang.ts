/**
 * The KCL MultiLangDaemon worker: the process the daemon launches for each shard it leases, speaking the MultiLang
 * protocol on stdin and stdout (see `specs/multilang.md`). With it the KCL spreads shards across machines and keeps
 * leases and checkpoints in DynamoDB, while the records are batched and written by this library.
 *
 * What the worker does with each message of the daemon:
 *
 * - `initialize`: starts a `ShardRunner` for the shard, from the checkpoint the daemon reports.
 * - `processRecords`: splits erlmld's KPL aggregates, hands the records to the runner and answers once the runner
 *   has taken them (the daemon's backpressure). Batches are written in the background; their checkpoints go out
 *   inside a later action, the only time the daemon accepts them.
 * - `shardEnded` (legacy: `shutdown` `TERMINATE`): writes everything, checkpoints the end of the shard, answers.
 * - `shutdownRequested`: writes everything, checkpoints the last record written, answers.
 * - `leaseLost` (legacy: `shutdown` `ZOMBIE`): abandons the work in flight at once and answers.
 *
 * The daemon's checkpoint errors are handled as the protocol asks: `ThrottlingException` and
 * `KinesisClientLibDependencyException` are retried with backoff, `ShutdownException` stops the shard as a lost
 * lease, anything else stops the worker. Every message in both directions is checked against `MultiLangSession`;
 * anything the worker cannot make sense of stops it with the reason on stderr and a non-zero exit, rather than
 * confusing the daemon with a wrong answer.
 *
 * @example
 * ```ts
 * // worker.ts, launched by the daemon as `executableName = node /opt/app/worker.js`
 * import { NodeContext } from "@effect/platform-node"
 * import { BatchingFlusher } from "@flusher/core"
 * import { BatchWriter, MultiLang } from "@flusher/runtime"
 * import { Layer } from "effect"
 *
 * MultiLang.runMain(
 *   { flusher: BatchingFlusher.make({ maxRecords: 500 }) },
 *   BatchWriter.layerNdjson({ directory: "./out" }).pipe(Layer.provide(NodeContext.layer))
 * )
 * ```
 *
 * @since 0.1.0
 */
import type { Flusher, ShardId } from "@flusher/core"
import * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Stream from "effect/Stream"
import type { BatchWriter } from "./BatchWriter.js"
import { decodeStandardBase64 } from "./internal/base64.js"
import * as Main from "./internal/multiLangMain.js"
import * as Worker from "./internal/multiLangWorker.js"
import * as ShardConfig from "./ShardConfig.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * How checkpoint requests the daemon answered with `ThrottlingException` or `KinesisClientLibDependencyException`
 * are asked again, inside the same action: exponential backoff from `initialDelay`, capped at `maxDelay`, jittered,
 * `maxAttempts` requests in all. When they are used up the shard asks again on a later heartbeat, inside a later
 * action, so a long throttle never holds an answer to the daemon back for long.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetrySettings {
  readonly initialDelay: Duration.DurationInput
  readonly maxDelay: Duration.DurationInput
  readonly maxAttempts: number
}

/**
 * What a worker runs: the flusher that batches the shard's records, and overrides of the settings read from the
 * environment. Batches go to the `BatchWriter` of the context.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<S, B, E> {
  readonly flusher: Flusher.Flusher<S, B, E>
  /** Overrides of the shard's settings read from the environment (`ShardConfig.config`). */
  readonly config?: Partial<ShardConfig.ShardConfig> | undefined
  /** Overrides of the checkpoint retry settings read from the environment (`checkpointRetryConfig`). */
  readonly retry?: Partial<RetrySettings> | undefined
}

/**
 * The options of `run`: a worker and the line transport it speaks over.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions<S, B, E, IE, OE> extends Options<S, B, E> {
  /** The daemon's lines, without their line breaks (a trailing `\r` is tolerated), ending when the daemon closes. */
  readonly input: Stream.Stream<string, IE>
  /** Writes one line to the daemon; the line break is the transport's to add. */
  readonly output: (line: string) => Effect.Effect<void, OE>
}

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * Why a worker stopped before its session finished:
 *
 * - `MalformedMessage`: the daemon sent a line that is not a MultiLang message;
 * - `ProtocolViolation`: a message came out of order, or the worker was about to send one the protocol forbids;
 * - `CheckpointRefused`: the daemon answered a checkpoint request with an error that cannot be retried
 *   (`InvalidStateException`, `IllegalArgumentException`, or one the worker does not know);
 * - `CorruptAggregate`: a record marked as a KPL aggregate cannot be split;
 * - `ShardFailed`: the shard runner failed (a batch could not be written, the flusher broke its contract…);
 * - `InputClosed`: stdin closed while the session was still going: the daemon stopped or died;
 * - `TransportFailed`: reading stdin or writing stdout failed.
 *
 * @since 0.1.0
 * @category errors
 */
export type WorkerErrorReason =
  | "MalformedMessage"
  | "ProtocolViolation"
  | "CheckpointRefused"
  | "CorruptAggregate"
  | "ShardFailed"
  | "InputClosed"
  | "TransportFailed"

/**
 * The worker stopped: the reason, the shard when known, and what happened. Records not yet checkpointed are read
 * again by the next worker to hold the shard's lease.
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkerError extends Data.TaggedError("WorkerError")<{
  readonly reason: WorkerErrorReason
  readonly shardId: ShardId.ShardId | null
  /** What happened and what to do, in a sentence or two. */
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    const who = this.shardId === null ? "The MultiLang worker" : `The MultiLang worker of shard ${this.shardId}`
    return `${who} stopped (${this.reason}): ${this.detail}`
  }
}

// -----------------------------------------------------------------------------
// config
// -----------------------------------------------------------------------------

/**
 * The default checkpoint retry settings: 200 milliseconds doubling up to 5 seconds, 5 requests in all.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultRetry: RetrySettings = {
  initialDelay: Duration.millis(200),
  maxDelay: Duration.seconds(5),
  maxAttempts: 5
}

/**
 * The checkpoint retry settings from the environment (`FLUSHER_CHECKPOINT_RETRY_INITIAL_DELAY`,
 * `FLUSHER_CHECKPOINT_RETRY_MAX_DELAY`, `FLUSHER_CHECKPOINT_RETRY_MAX_ATTEMPTS`), with `defaultRetry` for what is not
 * set.
 *
 * @since 0.1.0
 * @category config
 */
export const checkpointRetryConfig: Config.Config<RetrySettings> = Config.nested(
  Config.all({
    initialDelay: Config.duration("INITIAL_DELAY").pipe(Config.withDefault(defaultRetry.initialDelay)),
    maxDelay: Config.duration("MAX_DELAY").pipe(Config.withDefault(defaultRetry.maxDelay)),
    maxAttempts: Config.integer("MAX_ATTEMPTS").pipe(
      Config.validate({
        message: "FLUSHER_CHECKPOINT_RETRY_MAX_ATTEMPTS must be a positive integer",
        validation: (n) => n >= 1
      }),
      Config.withDefault(defaultRetry.maxAttempts)
    )
  }),
  "FLUSHER_CHECKPOINT_RETRY"
)

// -----------------------------------------------------------------------------
// running
// -----------------------------------------------------------------------------

/**
 * Speaks the protocol over a line transport until the session finishes: it succeeds once the input ends after the
 * status of `leaseLost` or `shardEnded` (or after `shutdownRequested`, when the daemon stops there), and fails with a
 * `WorkerError` otherwise. `runMain` runs it on stdin and stdout; tests run it in-process, on the `TestClock`.
 *
 * @since 0.1.0
 * @category running
 */
export const run = <S, B, E, IE, OE>(
  options: RunOptions<S, B, E, IE, OE>
): Effect.Effect<void, WorkerError, BatchWriter> =>
  Effect.gen(function*() {
    const retry: RetrySettings = { ...(yield* checkpointRetryConfig.pipe(Effect.orDie)), ...options.retry }
    return yield* Worker.run({
      flusher: options.flusher,
      input: options.input,
      output: options.output,
      config: options.config,
      retry: ShardConfig.retrySchedule({
        initialDelay: Duration.decode(retry.initialDelay),
        maxDelay: Duration.decode(retry.maxDelay),
        maxAttempts: retry.maxAttempts
      }),
      decodeBase64: decodeStandardBase64
    })
  }).pipe(Effect.mapError((failure) => new WorkerError(failure)))

/**
 * The Node entry point of a worker: runs `run` on stdin and stdout with the `BatchWriter` built by `layer`, and
 * exits.
 *
 * - stdin is read as UTF-8 lines; stdout carries protocol lines only. Everything else written to stdout (a stray
 *   `console.log`) goes to stderr, and so do the logs (logfmt, one line each, which the daemon copies to its own
 *   log), at the level of `FLUSHER_LOG_LEVEL` (default `Info`).
 * - The exit code is 0 once the session finished and stdin closed; 1 with the reason on stderr when the worker
 *   stopped early (a fatal error, a malformed line, stdin closing mid-session), without a status it could not
 *   stand behind.
 * - SIGINT and SIGTERM stop the worker like a lost lease: the daemon is going away, and the next owner of the
 *   shard reads again what was not checkpointed.
 *
 * @since 0.1.0
 * @category running
 */
export const runMain = <S, B, E, LE>(options: Options<S, B, E>, layer: Layer.Layer<BatchWriter, LE>): void =>
  Main.runMain((input, output) => run({ ...options, input, output }), layer)
