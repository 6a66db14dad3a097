/**
 * Batch writers: where flushed batches go. A shard counts a record as done only once the batch holding it was
 * written, so a writer must not succeed before the batch is durable.
 *
 * Writes may be retried (after a failure or a crash), with the same batch id for the same records. A writer that
 * stores each batch under its id, replacing what is there, turns retries into no-ops; otherwise a retried batch
 * is written twice, which at-least-once delivery allows.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import type { BatchProcessor } from "@flusher/core"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { writeAtomically } from "./internal/files.js"
import * as Ndjson from "./Ndjson.js"

/**
 * A batch to write: the shard, the batch id (made of the shard id and the first and last positions, the same
 * for the same records), the positions it spans, its size in records, and the flusher's batch.
 *
 * @since 0.1.0
 * @category models
 */
export type WriteRequest<B = unknown> = BatchProcessor.WriteRequest<B>

/**
 * A batch could not be written. The shard retries it on its retry schedule, then fails with nothing checkpointed
 * from the batch's first record on.
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchWriteError extends Data.TaggedError("BatchWriteError")<{
  readonly batchId: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `Could not write batch ${this.batchId}: ${this.reason}`
  }
}

/**
 * The service that writes batches. Provide your own Layer to write to S3, a database or a bulk API: see
 * `BatchWriter.make`.
 *
 * @since 0.1.0
 * @category services
 */
export class BatchWriter extends Context.Tag("@flusher/runtime/BatchWriter")<BatchWriter, {
  // Method syntax on purpose: a writer made for one batch type is accepted where `unknown` batches are declared.
  // The shard runner only ever hands it the batches of the flusher it runs.
  write(request: WriteRequest<unknown>): Effect.Effect<void, BatchWriteError>
}>() {}

/**
 * Makes a batch writer from a function that writes the batches of one flusher, typed by that flusher's batch.
 *
 * @example
 * ```ts
 * import { BatchWriter } from "@flusher/runtime"
 * import type { BatchingFlusher } from "@flusher/core"
 * import { Effect, Layer } from "effect"
 *
 * // A writer for the batching flusher's batches (arrays of records), to a bulk API of your own.
 * declare const putRecords: (key: string, lines: ReadonlyArray<string>) => Promise<void>
 *
 * const BulkWriter = Layer.succeed(
 *   BatchWriter.BatchWriter,
 *   BatchWriter.make<BatchingFlusher.Batch>((request) =>
 *     Effect.tryPromise({
 *       try: () => putRecords(request.batchId, request.batch.map((record) => record.sequenceNumber)),
 *       catch: (cause) => new BatchWriter.BatchWriteError({ batchId: request.batchId, reason: "bulk API", cause })
 *     })
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <B>(
  write: (request: WriteRequest<B>) => Effect.Effect<void, BatchWriteError>
): BatchWriter["Type"] => ({ write })

// -----------------------------------------------------------------------------
// memory
// -----------------------------------------------------------------------------

/**
 * What the memory writer keeps: every batch written, in the order the writes completed.
 *
 * @since 0.1.0
 * @category services
 */
export class MemoryBatches extends Context.Tag("@flusher/runtime/BatchWriter/MemoryBatches")<MemoryBatches, {
  readonly written: Effect.Effect<ReadonlyArray<WriteRequest<unknown>>>
}>() {}

/**
 * A writer that keeps batches in memory, for tests and demos. A batch written again under the same id replaces
 * the first copy in place, as a file or object store would.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<BatchWriter | MemoryBatches> = Layer.effectContext(
  Effect.gen(function*() {
    const store = yield* Ref.make({ order: [] as Array<string>, byId: new Map<string, WriteRequest<unknown>>() })
    const writer = make<unknown>((request) =>
      Ref.update(store, ({ byId, order }) => {
        if (!byId.has(request.batchId)) order.push(request.batchId)
        byId.set(request.batchId, request)
        return { byId, order }
      })
    )
    const written = Effect.map(Ref.get(store), ({ byId, order }) => order.map((id) => byId.get(id)!))
    return Context.make(BatchWriter, writer).pipe(Context.add(MemoryBatches, { written }))
  })
)

// -----------------------------------------------------------------------------
// NDJSON files
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface NdjsonOptions {
  /** Batches go to `<directory>/<shardId>/<batchId>.ndjson`. */
  readonly directory: string
  /**
   * The lines of a batch, without newlines. Default: one `Ndjson` record line per record, for batches of the
   * batching flusher (arrays of records) or of the keyed flusher (arrays of key batches).
   */
  readonly encode?: ((batch: unknown) => Iterable<string>) | undefined
}

/**
 * A writer of NDJSON files, one per batch, named by its batch id. Each file is written under a temporary name,
 * flushed to disk and renamed, so a reader never sees half a batch and a retried write replaces the first.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNdjson = (
  options: NdjsonOptions
): Layer.Layer<BatchWriter, never, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(
    BatchWriter,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const encode = options.encode ?? Ndjson.linesOfBatch
      const encoder = new TextEncoder()
      const context = Context.make(FileSystem.FileSystem, fs).pipe(Context.add(Path.Path, path))

      return make<unknown>((request) =>
        Effect.gen(function*() {
          const lines = yield* Effect.try({
            try: () => Array.from(encode(request.batch)),
            catch: (cause) =>
              new BatchWriteError({
                batchId: request.batchId,
                reason: `the batch could not be encoded as NDJSON (${String(cause)}); give layerNdjson an encode ` +
                  `function for this flusher's batches`,
                cause
              })
          })
          const directory = path.join(options.directory, request.shardId)
          yield* fs.makeDirectory(directory, { recursive: true })
          const data = encoder.encode(lines.length === 0 ? "" : `${lines.join("\n")}\n`)
          yield* writeAtomically(path.join(directory, `${request.batchId}.ndjson`), data)
        }).pipe(
          Effect.provide(context),
          Effect.catchTag(
            "SystemError",
            "BadArgument",
            (cause) => Effect.fail(new BatchWriteError({ batchId: request.batchId, reason: cause.message, cause }))
          )
        )
      )
    })
  )
