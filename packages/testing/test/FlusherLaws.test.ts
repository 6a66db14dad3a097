import { assert, describe, it } from "@effect/vitest"
import { BatchingFlusher, Flusher, KeyedFlusher, SequenceNumber, StreamRecord, Token } from "@flusher/core"
import { FlusherLaws, FlusherLawsRunner, Programs } from "@flusher/testing"
import { describeLaws } from "@flusher/testing/vitest"
import { pipe } from "effect/Function"
import * as Broken from "./BrokenFlushers.js"

// Fixed, so that a failure here replays.
const seed = 20_240_601

const lawsBrokenBy = <S, B, E>(flusher: Flusher.Flusher<S, B, E>): ReadonlyArray<FlusherLaws.LawName> =>
  FlusherLaws.all
    .filter((law) => FlusherLawsRunner.check(flusher, { laws: [law.name], numRuns: 50, seed }) !== undefined)
    .map((law) => law.name)

const record = (n: number, size = 4, partitionKey: string | null = "a") =>
  StreamRecord.make({
    sequenceNumber: SequenceNumber.unsafeMake(String(1000 + n)),
    partitionKey,
    data: new Uint8Array(size)
  })

describe("the flusher laws", () => {
  it("hold for a sound flusher, with and without addAll", () => {
    assert.deepStrictEqual(lawsBrokenBy(Broken.sound), [])
    assert.deepStrictEqual(lawsBrokenBy(Broken.soundAddAll), [])
  })

  // Which laws catch a flusher with one fault, found by checking each law on its own. `incidental` laws may catch it
  // too, on some programs: the fault makes the flusher look empty, or full, when the runner counts otherwise.
  const fault = <S, B, E>(
    description: string,
    flusher: Flusher.Flusher<S, B, E>,
    laws: ReadonlyArray<FlusherLaws.LawName>,
    incidental: ReadonlyArray<FlusherLaws.LawName> = []
  ) => ({ description, laws, incidental, caught: () => lawsBrokenBy(flusher) })

  const faults = [
    fault("drops a token", Broken.dropsToken, ["returnsEveryAcceptedToken", "fullFlushLeavesNothing"]),
    fault("repeats a token", Broken.repeatsToken, ["returnsNoTokenTwice"]),
    fault("returns a token it was never given", Broken.returnsForeignToken, ["returnsOnlyAcceptedTokens"]),
    fault(
      "returns the token of a record it ignored",
      Broken.returnsIgnoredToken,
      ["returnsOnlyAcceptedTokens"],
      ["emptyIsNeverFull", "emptyHeartbeatFlushesNothing"]
    ),
    fault("leaves a record behind on a full flush", Broken.leavesRecordOnFullFlush, ["fullFlushLeavesNothing"]),
    fault("answers Full when empty", Broken.fullWhenEmpty, ["emptyIsNeverFull", "partialFlushMakesRoom"]),
    fault("changes its input state in place", Broken.mutatesState, ["replayGivesEqualResult", "leavesInputsUnchanged"]),
    fault("invents a token on a heartbeat", Broken.heartbeatInventsToken, [
      "returnsOnlyAcceptedTokens",
      "emptyHeartbeatFlushesNothing"
    ]),
    fault("throws instead of answering Failed", Broken.throwsOnEmptyRecord, ["neverThrows"]),
    fault("makes no room on a partial flush", Broken.partialFlushKeepsAll, ["partialFlushMakesRoom"]),
    fault("keeps a counter outside its state", Broken.numbersBatchesOutsideState(), ["replayGivesEqualResult"]),
    fault("leaves a record out of its batch", Broken.batchMissesRecord, ["batchHoldsReturnedRecords"]),
    fault("takes one record too many with addAll", Broken.addAllTakesOneTooMany, ["addAllAgreesWithAdd"])
  ]

  for (const { caught, description, incidental, laws } of faults) {
    it(`catch a flusher that ${description}, by ${laws.join(" and ")}`, () => {
      const found = caught()
      assert.includeMembers([...found], [...laws])
      assert.deepStrictEqual(found.filter((law) => !laws.includes(law) && !incidental.includes(law)), [])
    })
  }

  it("each catch at least one of the broken flushers", () => {
    const catching = new Set(faults.flatMap((fault) => fault.laws))
    assert.deepStrictEqual(FlusherLaws.all.filter((law) => !catching.has(law.name)), [])
  })

  it("catch a flusher that changes the record it was given, and say where", () => {
    const zeroes = Flusher.make<BatchingFlusher.State, BatchingFlusher.Batch, BatchingFlusher.RecordTooLarge>({
      ...BatchingFlusher.make({ maxRecords: 3 }),
      add: (state, record, token, now) => {
        record.data.fill(0)
        return BatchingFlusher.make({ maxRecords: 3 }).add(state, record, token, now)
      }
    })
    const failure = FlusherLawsRunner.check(zeroes, { laws: ["leavesInputsUnchanged"], seed })
    assert.isDefined(failure)
    assert.include(failure?.violations[0].message, "changed its input: record.data")
  })

  it("name the path that an in-place change took in the state", () => {
    const failure = FlusherLawsRunner.check(Broken.mutatesState, { laws: ["leavesInputsUnchanged"], seed })
    assert.match(failure?.violations[0].message ?? "", /at #1: add of record \S+ changed its input: state\.items\[0\]/)
  })

  it("report an exception with the operation that threw and its message", () => {
    const failure = FlusherLawsRunner.check(Broken.throwsOnEmptyRecord, { laws: ["neverThrows"], seed })
    assert.match(
      failure?.violations[0].message ?? "",
      /at #\d+: add of record \S+ threw RangeError: record \d+ has no data/
    )
  })

  it("skip the batch law for a flusher that does not expose its records", () => {
    const counted = pipe(Broken.batchMissesRecord, Flusher.mapBatch((batch) => batch.length))
    assert.isFalse(FlusherLaws.batchHoldsReturnedRecords.appliesTo(counted))
    assert.isUndefined(FlusherLawsRunner.check(counted, { laws: ["batchHoldsReturnedRecords"], seed }))
  })
})

describe("FlusherLaws.run", () => {
  it("offers a refused record again, with the same token, after a partial flush", () => {
    const program = Programs.make([1, 2, 3, 4].map((n) => Programs.add(record(n), 0)))
    const steps = FlusherLaws.run(Broken.sound, program).steps.map((step) => [step.call, step.outcome._tag])
    assert.deepStrictEqual(steps.slice(4, 7), [
      [{ _tag: "Add", record: record(4), token: Token.unsafeMake(4), now: 0, attempt: "first" }, "Full"],
      [{ _tag: "Flush", mode: "partial", origin: "afterFull" }, "Flushed"],
      [{ _tag: "Add", record: record(4), token: Token.unsafeMake(4), now: 0, attempt: "afterFull" }, "Added"]
    ])
  })

  it("ends every program with a full flush and a second one", () => {
    const trace = FlusherLaws.run(Broken.sound, Programs.make([Programs.add(record(1), 0)]))
    assert.deepStrictEqual(trace.steps.slice(-2).map((step) => [step.call, step.outcome]), [
      [{ _tag: "Flush", mode: "full", origin: "final" }, {
        _tag: "Flushed",
        tokens: [Token.unsafeMake(1)],
        records: [record(1)]
      }],
      [{ _tag: "Flush", mode: "full", origin: "secondFull" }, { _tag: "NotFlushed" }]
    ])
    assert.strictEqual(trace.end, "Completed")
  })

  it("stops at a flush that answers Failed, and then asks no token back", () => {
    const failing: Flusher.Flusher<BatchingFlusher.State, BatchingFlusher.Batch, unknown> = {
      ...BatchingFlusher.make(),
      flush: () => Flusher.failed("disk full")
    }
    const trace = FlusherLaws.run(failing, Programs.make([Programs.add(record(1), 0), Programs.add(record(2), 0)]))
    assert.strictEqual(trace.end, "Failed")
    assert.deepStrictEqual(trace.steps.at(-1)?.outcome, { _tag: "Failed", error: "disk full" })
    assert.deepStrictEqual(FlusherLaws.violations(trace), [])
  })

  it("leaves purity unchecked when asked, so the purity laws hold trivially", () => {
    const trace = FlusherLaws.run(Broken.mutatesState, Programs.make([Programs.add(record(1), 0)]), { purity: false })
    assert.isFalse(trace.purityChecked)
    assert.isUndefined(FlusherLaws.leavesInputsUnchanged.check(trace))
  })

  it("prints a trace with the program's operations and the flusher's answers", () => {
    const program = Programs.make([Programs.add(record(1, 7, null), 5), Programs.heartbeat(1_505)], 5)
    assert.strictEqual(
      FlusherLaws.format(FlusherLaws.run(Broken.sound, program)),
      [
        "clock starts at 5 ms; 2 operations",
        "#1 t+0ms add 1001 (key null, 7 bytes), token 1  -> Added",
        "#2 t+1500ms heartbeat                           -> NotFlushed",
        "end flush full (appended by the runner)         -> Flushed token 1 (1 record)",
        "   then flush full (a second one)               -> NotFlushed"
      ].join("\n")
    )
  })
})

describe("FlusherLawsRunner", () => {
  const options = { laws: ["returnsEveryAcceptedToken"], seed } as const
  const failureOf = () => {
    const failure = FlusherLawsRunner.check(Broken.dropsToken, options)
    if (failure === undefined) throw new Error("expected the dropped token to be caught")
    return failure
  }

  it("reports the broken law, the shrunk program one operation per line, and the seed and path", () => {
    const failure = failureOf()
    assert.include(failure.report, "Law returnsEveryAcceptedToken is broken")
    assert.include(failure.report, failure.violations[0].message)
    failure.program.operations.forEach((operation, i) => {
      assert.include(failure.report, `#${i + 1} ${Programs.formatOperation(operation, failure.program.start)}`)
    })
    assert.include(failure.report, `{ seed: ${seed}, path: ${JSON.stringify(failure.path)} }`)
  })

  it("shrinks a dropped token down to a program of one add", () => {
    const failure = failureOf()
    assert.deepStrictEqual(failure.program.operations.map((operation) => operation._tag), ["Add"])
    assert.strictEqual(failure.program.start, 0)
  })

  it("replays the very same program from the seed and path", () => {
    const failure = failureOf()
    const replayed = FlusherLawsRunner.check(Broken.dropsToken, { ...options, path: failure.path })
    assert.deepStrictEqual(replayed?.program, failure.program)
    assert.deepStrictEqual(replayed?.violations.map((violation) => violation.message), [failure.violations[0].message])
  })

  it("finds the same failure again from the seed alone", () => {
    const failure = failureOf()
    assert.strictEqual(failureOf().report, failure.report)
  })

  it("reports every law the shrunk program breaks, among those checked", () => {
    const failure = FlusherLawsRunner.check(Broken.dropsToken, { seed })
    assert.deepStrictEqual(failure?.violations.map((violation) => violation.law.name), [
      "returnsEveryAcceptedToken",
      "fullFlushLeavesNothing"
    ])
  })

  it("says so when the failing program breaks no law on a second run", () => {
    const calls = { count: 0 }
    const flaky = Flusher.make<Broken.State, Broken.Batch>({
      ...Broken.sound,
      add: (state, record, token, now) => {
        if (++calls.count === 5) throw new Error("only once")
        return Broken.sound.add(state, record, token, now)
      }
    })
    const failure = FlusherLawsRunner.check(flaky, { laws: ["neverThrows"], seed })
    assert.deepStrictEqual(failure?.violations, [])
    assert.include(failure?.report, "running it again breaks none: the flusher answers differently")
  })

  it("throws the report from assert, and nothing for a sound flusher", () => {
    assert.throws(
      () => FlusherLawsRunner.assert(Broken.dropsToken, options),
      FlusherLawsRunner.LawBroken,
      failureOf().report
    )
    assert.doesNotThrow(() => FlusherLawsRunner.assert(Broken.sound, { numRuns: 20 }))
  })
})

describe("the shipped flushers keep the laws", () => {
  const numRuns = 50
  const aggregates = { records: { aggregates: true } }

  describeLaws("BatchingFlusher with its defaults", BatchingFlusher.make(), { numRuns })
  describeLaws("BatchingFlusher with 3 records", BatchingFlusher.make({ maxRecords: 3 }), {
    numRuns,
    ...aggregates
  })
  describeLaws("BatchingFlusher with 40 bytes", BatchingFlusher.make({ maxBytes: 40 }), { numRuns })
  describeLaws("BatchingFlusher with 1 second", BatchingFlusher.make({ maxAge: "1 second" }), { numRuns })
  describeLaws(
    "BatchingFlusher with every limit and a weigher",
    BatchingFlusher.make({ maxRecords: 5, maxBytes: 150, maxAge: "1 minute", weigher: (r) => r.data.length + 10 }),
    { numRuns, ...aggregates }
  )
  describeLaws("KeyedFlusher with its defaults", KeyedFlusher.make(), { numRuns })
  describeLaws("KeyedFlusher with 2 records a key", KeyedFlusher.make({ maxRecords: 2 }), {
    numRuns,
    records: { partitionKeys: ["a", "b", "c", "d", "e", null] }
  })
  describeLaws("KeyedFlusher with 2 keys", KeyedFlusher.make({ maxKeys: 2, maxRecords: 4 }), {
    numRuns,
    ...aggregates
  })
  describeLaws(
    "KeyedFlusher with 1 key, 30 seconds and 100 bytes",
    KeyedFlusher.make({ maxKeys: 1, maxAge: "30 seconds", maxBytes: 100 }),
    { numRuns }
  )
  describeLaws(
    "KeyedFlusher keyed by the size of the data",
    KeyedFlusher.make({ key: (r) => String(r.data.length % 3), maxRecords: 3, maxAge: "5 seconds" }),
    { numRuns }
  )
  describeLaws(
    "Flusher.filter over BatchingFlusher",
    pipe(BatchingFlusher.make({ maxRecords: 4 }), Flusher.filter((r) => r.partitionKey !== null)),
    { numRuns }
  )
  describeLaws(
    "Flusher.filter over KeyedFlusher",
    pipe(KeyedFlusher.make({ maxRecords: 2, maxKeys: 2 }), Flusher.filter((r) => r.data.length % 2 === 0)),
    { numRuns }
  )
  describeLaws(
    "Flusher.mapBatch without recordsOf",
    pipe(BatchingFlusher.make({ maxRecords: 4, maxAge: "10 seconds" }), Flusher.mapBatch((batch) => batch.length)),
    { numRuns }
  )
  describeLaws(
    "Flusher.mapBatch with recordsOf",
    pipe(
      KeyedFlusher.make({ maxRecords: 3, maxAge: "10 seconds" }),
      Flusher.mapBatch(
        (batch) => ({
          keys: batch.map((keyBatch) => keyBatch.key),
          records: batch.flatMap((keyBatch) => keyBatch.records)
        }),
        (batch) => batch.records
      )
    ),
    { numRuns }
  )
})
