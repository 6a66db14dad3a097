/**
 * Durable file writes shared by the file Layers: write a temporary file, flush it to disk, rename it over the
 * target, then flush the directory, so that a reader sees either the old file or the whole new one.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"

/** The suffix of files being written. Readers skip them: a crash can leave one behind, never a torn target. */
export const temporarySuffix = ".tmp"

/** Writes `data` to `target` atomically and durably. */
export const writeAtomically = (target: string, data: Uint8Array) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const directory = path.dirname(target)
    // One temporary name per target: a retried write overwrites what a crashed attempt left behind.
    const temporary = path.join(directory, `.${path.basename(target)}${temporarySuffix}`)
    yield* Effect.scoped(
      Effect.gen(function*() {
        const file = yield* fs.open(temporary, { flag: "w" })
        yield* file.writeAll(data)
        yield* file.sync
      })
    )
    yield* fs.rename(temporary, target)
    // The rename itself is durable only once the directory is flushed. Some file systems cannot open a
    // directory for that; the data is then as durable as they allow.
    yield* Effect.scoped(Effect.flatMap(fs.open(directory, { flag: "r" }), (dir) => dir.sync)).pipe(Effect.ignore)
  })
