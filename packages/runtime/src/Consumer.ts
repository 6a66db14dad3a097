/**
 * The consumer: runs many shards at once, each in its own fiber, each from its last checkpoint.
 *
 * Shards come from a stream of assignments, so a source that discovers shards over time (new child shards after
 * a split, leases taken over from another worker) feeds them in as they appear. At most `maxShards` run at once.
 * A shard that fails is reported and the others go on, unless `failFast` is set.
 *
 * Under `NodeRuntime.runMain`, SIGINT and SIGTERM interrupt the program: every running shard then finishes as a
 * requested shutdown (flush, write, checkpoint) in its finalizer, within the shutdown deadline, and reports how
 * it stopped through `onShardStopped`.
 *
 * @since 0.1.0
 */
import { type Checkpoint, type Flusher, type ShardId, type StreamRecord } from "@flusher/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type { BatchWriter } from "./BatchWriter.js"
import { Checkpointer, type CheckpointError } from "./Checkpointer.js"
import type * as ShardConfig from "./ShardConfig.js"
import * as ShardRunner from "./ShardRunner.js"

/**
 * A shard this worker should process.
 *
 * @since 0.1.0
 * @category models
 */
export interface Assignment<SE, R> {
  readonly shardId: ShardId.ShardId
  /** The shard's records, starting just after `checkpoint` (from the start of the shard when it is `null`). */
  readonly records: (checkpoint: Checkpoint.Checkpoint | null) => Stream.Stream<StreamRecord.StreamRecord, SE, R>
  /** Completes when this worker loses the shard's lease. */
  readonly leaseLost?: Effect.Effect<void> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<S, B, E, SE, R, AE, AR> {
  readonly assignments: Stream.Stream<Assignment<SE, R>, AE, AR>
  readonly flusher: Flusher.Flusher<S, B, E>
  /** The most shards run at once. Default 64. */
  readonly maxShards?: number | undefined
  /** Stop every shard (as a requested shutdown) when one fails. Default false: report it and go on. */
  readonly failFast?: boolean | undefined
  /** Overrides of the configuration read from the environment. */
  readonly config?: Partial<ShardConfig.ShardConfig> | undefined
  /** Completes when every shard should shut down gracefully. */
  readonly shutdown?: Effect.Effect<void> | undefined
  /** Called once for each shard that stops or fails, as it happens. */
  readonly onShardStopped?: ((result: ShardResult<E, SE>) => Effect.Effect<void>) | undefined
}

/**
 * How one shard ended.
 *
 * @since 0.1.0
 * @category models
 */
export type ShardResult<E, SE> =
  | { readonly _tag: "Stopped"; readonly shardId: ShardId.ShardId; readonly report: ShardRunner.Report }
  | {
    readonly _tag: "Failed"
    readonly shardId: ShardId.ShardId
    readonly error: ShardRunner.ShardError<E, SE> | CheckpointError
  }
  | { readonly _tag: "AlreadyEnded"; readonly shardId: ShardId.ShardId }

/**
 * What the consumer did: one result per shard run, in the order they ended.
 *
 * @since 0.1.0
 * @category models
 */
export interface Report<E, SE> {
  readonly shards: ReadonlyArray<ShardResult<E, SE>>
}

/**
 * Runs every assigned shard until the assignments end and every shard stopped.
 *
 * @since 0.1.0
 * @category running
 */
export const run = <S, B, E, SE, R, AE, AR>(
  options: Options<S, B, E, SE, R, AE, AR>
): Effect.Effect<
  Report<E, SE>,
  AE | ShardRunner.ShardError<E, SE> | CheckpointError,
  BatchWriter | Checkpointer | R | AR
> =>
  Effect.gen(function*() {
    const checkpointer = yield* Checkpointer
    const results = yield* Ref.make<ReadonlyArray<ShardResult<E, SE>>>([])
    const record = (result: ShardResult<E, SE>) =>
      Effect.zipRight(
        Ref.update(results, (all) => [...all, result]),
        options.onShardStopped === undefined ? Effect.void : options.onShardStopped(result)
      )

    const runShard = (assignment: Assignment<SE, R>) =>
      Effect.gen(function*() {
        const { shardId } = assignment
        const checkpoint = yield* checkpointer.load(shardId)
        if (checkpoint !== null && checkpoint._tag === "ShardEnd") {
          yield* Effect.logInfo("Shard already ended: nothing to do")
          return yield* record({ _tag: "AlreadyEnded", shardId })
        }
        yield* ShardRunner.run({
          shardId,
          records: assignment.records(checkpoint),
          flusher: options.flusher,
          config: options.config,
          lastCheckpoint: checkpoint,
          shutdown: options.shutdown,
          leaseLost: assignment.leaseLost,
          // Called however the shard stops, also from its finalizer after an interruption.
          onStopped: (report) => record({ _tag: "Stopped", shardId, report })
        })
      }).pipe(
        Effect.annotateLogs({ shardId: assignment.shardId }),
        Effect.either,
        Effect.flatMap((result) => {
          if (Either.isRight(result)) return Effect.void
          const failed = record({ _tag: "Failed", shardId: assignment.shardId, error: result.left })
          return options.failFast === true ? Effect.zipRight(failed, Effect.fail(result.left)) : failed
        })
      )

    yield* Stream.runDrain(
      Stream.mapEffect(options.assignments, runShard, { concurrency: options.maxShards ?? 64, unordered: true })
    )
    return { shards: yield* Ref.get(results) }
  })
