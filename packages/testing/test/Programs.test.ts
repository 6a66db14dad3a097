import { assert, describe, it } from "@effect/vitest"
import { Position, SequenceNumber, StreamRecord } from "@flusher/core"
import { Programs } from "@flusher/testing"
import * as fc from "effect/FastCheck"
import * as Schema from "effect/Schema"

const recordsOf = (program: Programs.Program) =>
  program.operations.flatMap((operation) => operation._tag === "Add" ? [operation.record] : [])

// The clock's steps: from the start to the first operation, then between operations.
const stepsOf = (program: Programs.Program) =>
  program.operations.map((operation, i) => operation.now - (i === 0 ? program.start : program.operations[i - 1].now))

describe("Programs", () => {
  it.prop("move the clock forward only, from the program's start", [Programs.program()], ([program]) => {
    for (const step of stepsOf(program)) assert.isAtLeast(step, 0)
  })

  it.prop("offer records in ascending order of position", [Programs.program()], ([program]) => {
    const records = recordsOf(program)
    records.slice(1).forEach((record, i) => assert.strictEqual(Position.compare(records[i], record), -1))
  })

  it.prop(
    "keep to the record options they are given",
    [Programs.program({ records: { minLength: 2, maxLength: 4, partitionKeys: ["x"], maxDataSize: 3 } })],
    ([program]) => {
      const records = recordsOf(program)
      assert.isAtLeast(records.length, 2)
      assert.isAtMost(records.length, 4)
      for (const record of records) {
        assert.strictEqual(record.partitionKey, "x")
        assert.isAtMost(record.data.length, 3)
      }
    }
  )

  it.prop(
    "offer every record of KPL aggregates, which may outnumber the positions maxLength counts",
    [Programs.program({ records: { aggregates: true, minLength: 5, maxLength: 5 } })],
    ([program]) => {
      const positions = new Set(recordsOf(program).map((record) => record.sequenceNumber))
      assert.strictEqual(positions.size, 5)
    }
  )

  it.prop("start the clock where asked", [Programs.program({ start: 42 })], ([program]) => {
    assert.strictEqual(program.start, 42)
  })

  it.prop("survive a round trip through their JSON form", [Programs.program()], ([program]) => {
    const json = JSON.stringify(Schema.encodeSync(Programs.Program)(program))
    assert.deepStrictEqual(Schema.decodeUnknownSync(Programs.Program)(JSON.parse(json)), program)
  })

  it("cross a second in small steps, and a minute in one jump or in a few", () => {
    const programs = fc.sample(Programs.program(), { numRuns: 200, seed: 1 }).map(stepsOf)
    const crosses = (limit: number, steps: ReadonlyArray<number>) =>
      steps.every((step) => step < limit) && steps.reduce((total, step) => total + step, 0) >= limit
    assert.isAtLeast(programs.filter((steps) => crosses(1_000, steps)).length, 10)
    assert.isAtLeast(programs.filter((steps) => steps.some((step) => step >= 60_000)).length, 10)
    assert.isAtLeast(programs.filter((steps) => crosses(60_000, steps)).length, 10)
  })

  it("mix every kind of operation", () => {
    const kinds = new Set(
      fc.sample(Programs.program(), { numRuns: 50, seed: 1 }).flatMap((program) =>
        program.operations.map((operation) => operation._tag === "Flush" ? `Flush ${operation.mode}` : operation._tag)
      )
    )
    assert.sameMembers([...kinds], ["Add", "Flush partial", "Flush full", "Heartbeat"])
  })

  it("print one operation per line, with its time from the start and its record's position", () => {
    const record = StreamRecord.make({
      sequenceNumber: SequenceNumber.unsafeMake("77"),
      subSequenceNumber: 1,
      aggregate: { index: 0, size: 2 },
      partitionKey: "k",
      data: new Uint8Array(5)
    })
    const program = Programs.make(
      [Programs.add(record, 1_000), Programs.flush("partial", 1_000), Programs.heartbeat(61_000)],
      500
    )
    assert.strictEqual(
      Programs.format(program),
      [
        "clock starts at 500 ms; 3 operations",
        "#1 t+500ms add 77.1.0 (aggregate part 1/2, key \"k\", 5 bytes)",
        "#2 t+500ms flush partial",
        "#3 t+60500ms heartbeat"
      ].join("\n")
    )
  })
})
