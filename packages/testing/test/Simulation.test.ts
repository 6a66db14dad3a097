import { assert, describe, it } from "@effect/vitest"
import { KeyedFlusher } from "@flusher/core"
import { BatchWriter } from "@flusher/runtime"
import { Simulation } from "@flusher/testing"
import * as Effect from "effect/Effect"

/** The seeds the test suite runs; `pnpm simulate --seeds N` runs many more. */
const seeds = Array.from({ length: 10 }, (_, i) => 1000 + i)

describe("Simulation", () => {
  it.effect(
    "loses no record and checkpoints nothing unwritten, under faults, crashes and restarts",
    () =>
      Effect.gen(function*() {
        const reports = []
        for (const seed of seeds) reports.push(yield* Simulation.simulate({ seed }))
        for (const report of reports) {
          assert.deepStrictEqual(report.violations, [], `seed ${report.seed}`)
          assert.strictEqual(report.recordsWritten, report.records, `seed ${report.seed}`)
        }
        // The faults did happen: otherwise this would prove nothing.
        assert.isAbove(reports.reduce((sum, r) => sum + r.crashes, 0), 0)
        assert.isAbove(reports.reduce((sum, r) => sum + r.faults.writeFailures, 0), 0)
        assert.isAbove(reports.reduce((sum, r) => sum + r.faults.throttled, 0), 0)
        assert.isAbove(reports.reduce((sum, r) => sum + r.faults.stalls, 0), 0)
        assert.isAbove(reports.reduce((sum, r) => sum + r.faults.leasesLost, 0), 0)
      }),
    { timeout: 120_000 }
  )

  it.effect("replays the same run from the same seed", () =>
    Effect.gen(function*() {
      const first = yield* Simulation.simulate({ seed: 7 })
      const second = yield* Simulation.simulate({ seed: 7 })
      assert.deepStrictEqual(second, first)
    }))

  it.effect("runs the keyed flusher as well", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.simulate({
        seed: 42,
        flusher: KeyedFlusher.make({ maxRecords: 10, maxAge: "2 seconds" })
      })
      assert.deepStrictEqual(report.violations, [])
      assert.strictEqual(report.recordsWritten, report.records)
    }))

  it.effect("catches a writer that acknowledges a batch it did not store", () =>
    Effect.gen(function*() {
      let acknowledged = 0
      const report = yield* Simulation.simulate({
        seed: 3,
        crashes: 0,
        // Every fifth batch is acknowledged without reaching the store.
        wrapWriter: (writer) =>
          BatchWriter.make((request) => ++acknowledged % 5 === 0 ? Effect.void : writer.write(request))
      })
      assert.isAbove(report.violations.length, 0)
      assert.match(report.violations[0], /checkpointed at .* before .* was written|was never written/)
    }))
})
