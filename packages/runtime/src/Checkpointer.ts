/**
 * Checkpointers: where each shard's progress is stored, so a restarted shard resumes after its last checkpoint.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Checkpoint, ShardId } from "@flusher/core"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { writeAtomically } from "./internal/files.js"

/**
 * Why a checkpoint was not stored.
 *
 * - `Throttled`: the store is busy; the shard asks again on its next tick.
 * - `LeaseLost`: another worker owns the shard; the shard stops without writing more.
 * - `Regression`: the checkpoint is behind the one stored. A bug, or a second worker on the shard: the shard fails.
 * - `Failed`: the store failed; the shard retries on its retry schedule, then fails.
 *
 * @since 0.1.0
 * @category errors
 */
export type CheckpointErrorReason = "Throttled" | "LeaseLost" | "Regression" | "Failed"

/**
 * A checkpoint that could not be loaded or stored.
 *
 * @since 0.1.0
 * @category errors
 */
export class CheckpointError extends Data.TaggedError("CheckpointError")<{
  readonly shardId: ShardId.ShardId
  readonly reason: CheckpointErrorReason
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `Checkpoint of shard ${this.shardId} not stored (${this.reason}): ${this.detail}`
  }
}

/**
 * The service that loads and stores checkpoints.
 *
 * @since 0.1.0
 * @category services
 */
export class Checkpointer extends Context.Tag("@flusher/runtime/Checkpointer")<Checkpointer, {
  /** The shard's last checkpoint, or `null` when it has none. */
  readonly load: (shardId: ShardId.ShardId) => Effect.Effect<Checkpoint.Checkpoint | null, CheckpointError>
  /** Stores a checkpoint. Storing the one already stored succeeds; one behind it fails with `Regression`. */
  readonly save: (shardId: ShardId.ShardId, checkpoint: Checkpoint.Checkpoint) => Effect.Effect<void, CheckpointError>
}>() {}

const regression = (shardId: ShardId.ShardId, stored: Checkpoint.Checkpoint, next: Checkpoint.Checkpoint) =>
  new CheckpointError({
    shardId,
    reason: "Regression",
    detail: `${Checkpoint.format(next)} is behind the stored ${Checkpoint.format(stored)}; a checkpoint never moves ` +
      `backwards. Is a second worker processing this shard?`
  })

/**
 * Checks a new checkpoint against the stored one: equal is a no-op, behind is a `Regression`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const checkAdvance = (
  shardId: ShardId.ShardId,
  stored: Checkpoint.Checkpoint | null | undefined,
  next: Checkpoint.Checkpoint
): Effect.Effect<boolean, CheckpointError> => {
  if (stored === null || stored === undefined) return Effect.succeed(true)
  const order = Checkpoint.compare(next, stored)
  return order < 0 ? Effect.fail(regression(shardId, stored, next)) : Effect.succeed(order > 0)
}

/**
 * A checkpointer that keeps checkpoints in memory, for tests and demos. It refuses to move a shard backwards.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (
  initial: ReadonlyArray<readonly [ShardId.ShardId, Checkpoint.Checkpoint]> = []
): Layer.Layer<Checkpointer> =>
  Layer.sync(Checkpointer, () => {
    const stored = new Map(initial)
    return {
      load: (shardId) => Effect.sync(() => stored.get(shardId) ?? null),
      save: (shardId, checkpoint) =>
        Effect.flatMap(
          Effect.suspend(() => checkAdvance(shardId, stored.get(shardId), checkpoint)),
          (advances) => Effect.sync(() => advances && void stored.set(shardId, checkpoint))
        )
    }
  })

/**
 * The file the file checkpointer keeps: every shard's checkpoint, by shard id.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CheckpointFile = Schema.Struct({
  shards: Schema.Record({ key: ShardId.ShardId, value: Checkpoint.Checkpoint })
})

/**
 * A checkpointer that keeps every shard's checkpoint in one JSON file. Each save rewrites the file atomically
 * (temporary file, flush to disk, rename), so a crash leaves the old file or the new one, never a torn one. It
 * refuses to move a shard backwards. One process owns the file: the checkpoints are read once, when the Layer is
 * built.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFile = (
  file: string
): Layer.Layer<Checkpointer, CheckpointFileError, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(
    Checkpointer,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const context = Context.make(FileSystem.FileSystem, fs).pipe(Context.add(Path.Path, path))
      const stored = yield* readCheckpointFile(fs, file)
      const lock = yield* Effect.makeSemaphore(1)
      const encode = Schema.encodeSync(Schema.parseJson(CheckpointFile, { space: 2 }))

      const save = (shardId: ShardId.ShardId, checkpoint: Checkpoint.Checkpoint) =>
        lock.withPermits(1)(
          Effect.gen(function*() {
            if (!(yield* checkAdvance(shardId, stored.get(shardId), checkpoint))) return
            const next = new Map(stored).set(shardId, checkpoint)
            const json = encode({ shards: Object.fromEntries(next) })
            yield* fs.makeDirectory(path.dirname(file), { recursive: true })
            yield* writeAtomically(file, new TextEncoder().encode(`${json}\n`))
            stored.set(shardId, checkpoint)
          }).pipe(
            Effect.provide(context),
            Effect.catchTag(
              "SystemError",
              "BadArgument",
              (cause) => Effect.fail(new CheckpointError({ shardId, reason: "Failed", detail: cause.message, cause }))
            )
          )
        )
      return { load: (shardId) => Effect.sync(() => stored.get(shardId) ?? null), save }
    })
  )

/**
 * The checkpoint file exists but cannot be read or understood. Nothing was overwritten: fix or move the file.
 *
 * @since 0.1.0
 * @category errors
 */
export class CheckpointFileError extends Data.TaggedError("CheckpointFileError")<{
  readonly file: string
  readonly detail: string
}> {
  override get message(): string {
    return `Cannot read the checkpoint file ${this.file}: ${this.detail}. It was left as it is; fix or move it.`
  }
}

/**
 * Reads a checkpoint file, or an empty one when it does not exist.
 *
 * @since 0.1.0
 * @category constructors
 */
export const readCheckpointFile = (
  fs: FileSystem.FileSystem,
  file: string
): Effect.Effect<Map<ShardId.ShardId, Checkpoint.Checkpoint>, CheckpointFileError> =>
  Effect.gen(function*() {
    const exists = yield* fs.exists(file)
    if (!exists) return new Map()
    const text = yield* fs.readFileString(file)
    const decoded = yield* Schema.decodeUnknown(Schema.parseJson(CheckpointFile))(text)
    const shards = new Map<ShardId.ShardId, Checkpoint.Checkpoint>()
    for (const [shardId, checkpoint] of Object.entries(decoded.shards)) {
      shards.set(shardId as ShardId.ShardId, checkpoint)
    }
    return shards
  }).pipe(Effect.mapError((error) => new CheckpointFileError({ file, detail: error.message })))
