/**
 * The flusher laws as vitest tests. This module needs vitest (through `@effect/vitest`), so it is imported by its
 * own path, `@flusher/testing/vitest`, and the rest of the package works outside a test runner.
 *
 * @example
 * ```ts
 * import { BatchingFlusher } from "@flusher/core"
 * import { describeLaws } from "@flusher/testing/vitest"
 *
 * describeLaws("BatchingFlusher, 10 records", BatchingFlusher.make({ maxRecords: 10 }))
 * ```
 *
 * @since 0.1.0
 */
import { describe, it } from "@effect/vitest"
import type { Flusher } from "@flusher/core"
import * as FlusherLaws from "./FlusherLaws.js"
import * as FlusherLawsRunner from "./FlusherLawsRunner.js"

/**
 * Registers a vitest suite named `name` with one test per law, each checking that law on its own programs, so a
 * broken law fails its own test and shrinks to its own smallest program. Call it at the top level of a test file,
 * or inside a `describe`. A law that says nothing about the flusher (the batch law, without `recordsOf`) is
 * registered as skipped.
 *
 * @since 0.1.0
 * @category vitest
 */
export const describeLaws = <S, B, E>(
  name: string,
  flusher: Flusher.Flusher<S, B, E>,
  options: FlusherLawsRunner.Options = {}
): void => {
  describe(name, () => {
    for (const law of FlusherLaws.named(options.laws ?? FlusherLawsRunner.allNames)) {
      const test = law.appliesTo(flusher) ? it : it.skip
      test(
        `${law.name}: ${law.summary}`,
        () => FlusherLawsRunner.assert(flusher, { ...options, laws: [law.name] }),
        options.timeout
      )
    }
  })
}
