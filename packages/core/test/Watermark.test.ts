import { assert, describe, it } from "@effect/vitest"
import { Position, type Token, Watermark } from "@flusher/core"
import { Arbitraries, NaiveWatermark } from "@flusher/testing"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import { record, token } from "./fixtures.js"

const idOf = (first: Position.Position, last: Position.Position) => `${Position.format(first)}-${Position.format(last)}`

const issueAll = (watermark: Watermark.Watermark, count: number, start = 0, ignored: ReadonlyArray<number> = []) =>
  Watermark.issue(
    Watermark.reserve(watermark, Array.from({ length: count }, (_, i) => record(start + i)), 1000),
    count,
    ignored
  )

const assigned = (watermark: Watermark.Watermark, tokens: ReadonlyArray<number>) => {
  const result = Watermark.assign(watermark, tokens.map(token), idOf)
  if (Either.isLeft(result)) throw result.left
  return result.right
}

const completed = (watermark: Watermark.Watermark, batchId: string) =>
  Either.getOrThrowWith(Watermark.complete(watermark, batchId), (e) => e)

const refusal = (watermark: Watermark.Watermark, tokens: ReadonlyArray<number>) => {
  const result = Watermark.assign(watermark, tokens as ReadonlyArray<Token.Token>, idOf)
  if (Either.isRight(result)) throw new Error("the tokens were accepted")
  return result.left
}

/** An operation on both watermarks, chosen by index among what is possible at that point. */
type Operation =
  | { readonly _tag: "Issue"; readonly count: number; readonly ignoredMask: number }
  | { readonly _tag: "Assign"; readonly pick: number; readonly size: number; readonly stride: number }
  | { readonly _tag: "Complete"; readonly pick: number }

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ _tag: fc.constant("Issue" as const), count: fc.integer({ min: 1, max: 8 }), ignoredMask: fc.nat(255) }),
  fc.record({
    _tag: fc.constant("Assign" as const),
    pick: fc.nat(),
    size: fc.integer({ min: 1, max: 6 }),
    stride: fc.integer({ min: 1, max: 3 })
  }),
  fc.record({ _tag: fc.constant("Complete" as const), pick: fc.nat() })
)

describe("Watermark", () => {
  it.prop(
    "agrees with the naive model on where to checkpoint and what is outstanding",
    [
      Arbitraries.ascendingPositions({ aggregates: true, minLength: 1, maxLength: 120, size: "max" }),
      fc.array(operation, { maxLength: 120, size: "max" }),
      fc.boolean()
    ],
    ([positions, operations, subRecordCheckpoints]) => {
      let fast = Watermark.make({ subRecordCheckpoints })
      let naive = NaiveWatermark.make({ subRecordCheckpoints })
      let next = 0
      const batches: Array<string> = []
      let previous: Position.Position | null = null

      for (const op of operations) {
        switch (op._tag) {
          case "Issue": {
            const chunk = positions.slice(next, next + op.count)
            if (chunk.length === 0) break
            const ignored = chunk.map((_, i) => ((op.ignoredMask >> i) & 1) === 1)
            const runs: Array<number> = []
            ignored.forEach((isIgnored, i) => {
              if (!isIgnored) return
              const tokenNumber = next + i
              if (runs.length > 0 && runs[runs.length - 1] === tokenNumber) runs[runs.length - 1]++
              else runs.push(tokenNumber, tokenNumber + 1)
            })
            fast = Watermark.issue(Watermark.reserve(fast, chunk, next), chunk.length, runs)
            naive = NaiveWatermark.issue(naive, chunk, ignored)
            next += chunk.length
            break
          }
          case "Assign": {
            const held = NaiveWatermark.held(naive)
            if (held.length === 0) break
            const start = op.pick % held.length
            const tokens = held.filter((_, i) => i >= start && (i - start) % op.stride === 0).slice(0, op.size)
            const result = Watermark.assign(fast, tokens.map(token), idOf)
            assert.isTrue(Either.isRight(result))
            if (Either.isLeft(result)) return
            fast = result.right.watermark
            const naiveResult = NaiveWatermark.assign(naive, tokens, result.right.batch.id)
            assert.notProperty(naiveResult, "refused")
            naive = naiveResult as NaiveWatermark.NaiveWatermark
            batches.push(result.right.batch.id)
            break
          }
          case "Complete": {
            if (batches.length === 0) break
            const [batchId] = batches.splice(op.pick % batches.length, 1)
            fast = completed(fast, batchId)
            naive = NaiveWatermark.complete(naive, batchId)
            break
          }
        }
        const checkpoint = Watermark.checkpoint(fast)
        assert.deepStrictEqual(checkpoint, NaiveWatermark.checkpoint(naive))
        assert.strictEqual(Watermark.outstanding(fast), NaiveWatermark.outstanding(naive))
        assert.strictEqual(fast.held, NaiveWatermark.held(naive).length)
        if (previous !== null) {
          assert.isNotNull(checkpoint)
          assert.isTrue(Position.compare(checkpoint!, previous) >= 0, "the checkpoint moved backwards")
        }
        previous = checkpoint
        const holdBack = Watermark.holdingBack(fast)
        const firstNotDone = NaiveWatermark.doneCount(naive)
        assert.deepStrictEqual(
          holdBack === null ? null : holdBack.position,
          firstNotDone < naive.entries.length ? naive.entries[firstNotDone].position : null
        )
      }
    },
    { fastCheck: { numRuns: 300 } }
  )

  it("moves only past the longest prefix of written or ignored tokens, whatever order batches complete in", () => {
    let watermark = issueAll(Watermark.make(), 6)
    watermark = assigned(watermark, [0, 1]).watermark
    const second = assigned(watermark, [2, 3])
    watermark = second.watermark
    watermark = completed(watermark, second.batch.id)
    assert.isNull(Watermark.checkpoint(watermark))
    assert.strictEqual(Watermark.outstanding(watermark), 6)
    watermark = completed(watermark, watermark.batches[0].id)
    assert.deepStrictEqual(Watermark.checkpoint(watermark), record(3))
    assert.strictEqual(Watermark.outstanding(watermark), 2)
  })

  it("lets trailing ignored records be checkpointed", () => {
    let watermark = issueAll(Watermark.make(), 1)
    const batch = assigned(watermark, [0])
    watermark = completed(batch.watermark, batch.batch.id)
    watermark = Watermark.issue(Watermark.reserve(watermark, [record(1), record(2)], 0), 2, [1, 3])
    assert.deepStrictEqual(Watermark.checkpoint(watermark), record(2))
    assert.strictEqual(Watermark.outstanding(watermark), 0)
  })

  it("does not checkpoint inside an aggregate the worker split until its last part is done", () => {
    const parts = [0, 1, 2].map((index) => record(5, { aggregate: { index, size: 3 } }))
    let watermark = Watermark.issue(Watermark.reserve(Watermark.make(), [record(4), ...parts], 0), 4)
    const first = assigned(watermark, [0, 1, 2])
    watermark = completed(first.watermark, first.batch.id)
    assert.deepStrictEqual(Watermark.checkpoint(watermark), record(4))
    const last = assigned(watermark, [3])
    watermark = completed(last.watermark, last.batch.id)
    assert.deepStrictEqual(Watermark.checkpoint(watermark), parts[2])
  })

  it("refuses tokens never issued, repeated, ignored, already assigned, written or below the checkpoint", () => {
    let watermark = issueAll(Watermark.make(), 6, 0, [4, 5])
    const zeroToOne = assigned(watermark, [0, 1])
    watermark = completed(zeroToOne.watermark, zeroToOne.batch.id)
    const three = assigned(watermark, [3])
    watermark = completed(three.watermark, three.batch.id)
    watermark = assigned(watermark, [2]).watermark
    // 0, 1 are below the checkpoint; 2 is being written; 3 is written above it; 4 is ignored; 5 and on unknown.
    assert.strictEqual(refusal(watermark, [0]).problem, "BelowWatermark")
    assert.strictEqual(refusal(watermark, [1]).problem, "BelowWatermark")
    assert.strictEqual(refusal(watermark, [2]).problem, "AlreadyAssigned")
    assert.strictEqual(refusal(watermark, [2]).batchId, watermark.batches[0].id)
    assert.strictEqual(refusal(watermark, [4]).problem, "Ignored")
    assert.strictEqual(refusal(watermark, [6]).problem, "Unknown")
    assert.strictEqual(refusal(watermark, [-1]).problem, "Unknown")
    assert.strictEqual(refusal(watermark, [1.5]).problem, "Unknown")

    let fresh = issueAll(Watermark.make(), 4)
    const written = assigned(fresh, [2])
    fresh = completed(written.watermark, written.batch.id)
    assert.strictEqual(refusal(fresh, [2]).problem, "AlreadyCompleted")
    assert.strictEqual(refusal(fresh, [1, 0, 1]).problem, "Repeated")
    const refused = refusal(fresh, [2])
    assert.deepStrictEqual(refused.position, record(2))
    assert.include(refused.message, "already written")
  })

  it("says what holds the checkpoint back: the record, when it arrived and the batch holding it", () => {
    let watermark = Watermark.issue(Watermark.reserve(Watermark.make(), [record(0), record(1)], 1234), 2)
    assert.deepStrictEqual(Watermark.holdingBack(watermark), {
      token: token(0),
      position: record(0),
      since: 1234,
      batchId: null
    })
    const batch = assigned(watermark, [0, 1])
    watermark = batch.watermark
    assert.strictEqual(Watermark.holdingBack(watermark)?.batchId, batch.batch.id)
    assert.isNull(Watermark.holdingBack(completed(watermark, batch.batch.id)))
  })

  it("keeps memory proportional to what is outstanding, not to what was processed", () => {
    let watermark = Watermark.make()
    for (let chunk = 0; chunk < 2_000; chunk++) {
      const start = chunk * 50
      watermark = Watermark.issue(
        Watermark.reserve(watermark, Array.from({ length: 50 }, (_, i) => record(start + i)), chunk),
        50
      )
      const batch = assigned(watermark, Array.from({ length: 50 }, (_, i) => start + i))
      watermark = completed(batch.watermark, batch.batch.id)
    }
    assert.strictEqual(Watermark.outstanding(watermark), 0)
    assert.deepStrictEqual(Watermark.checkpoint(watermark), record(99_999))
    assert.deepStrictEqual([watermark.ignored, watermark.completed, watermark.assigned, watermark.batches], [
      [],
      [],
      [],
      []
    ])
    assert.isNull(watermark.segments.front)
  })

  it("refuses to complete a batch it does not know", () => {
    const result = Watermark.complete(Watermark.make(), "nope")
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.include(result.left.message, "No batch nope")
  })
})
