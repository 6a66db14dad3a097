import { assert, describe, it } from "@effect/vitest"
import { Checkpoint } from "@flusher/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { readFileSync } from "node:fs"
import { checkLaws, firstStep, program } from "./ReadmeTour.js"

describe("the README's tour", () => {
  it("is shown in the README exactly as this package compiles it", () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8")
    const tour = readFileSync(new URL("./ReadmeTour.ts", import.meta.url), "utf8")
    assert.include(readme, "```ts\n" + tour + "```")
  })

  it.effect("runs as it says", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(firstStep(), Either.right(["Write", "Checkpoint"]))
      checkLaws()
      const report = yield* program
      assert.strictEqual(report.outcome.reason, "ShardEnded")
      assert.deepStrictEqual(report.outcome.checkpoint, Checkpoint.shardEnd)
      assert.deepStrictEqual([report.summary.records, report.summary.ignored], [250, 25])
    }))
})
