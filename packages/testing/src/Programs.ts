/**
 * Programs: sequences of flusher operations (adds, flushes, heartbeats) on a clock that only moves forward, as the
 * batch processor would issue them. The flusher laws run programs against a flusher and judge what it answered.
 *
 * A program is plain data, with a Schema, so a failing one can be printed, stored as JSON, and replayed.
 *
 * @since 0.1.0
 */
import { FlushMode, Position, StreamRecord } from "@flusher/core"
import * as fc from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as Arbitraries from "./Arbitraries.js"

/**
 * One operation of a program, each at a time `now` in epoch milliseconds:
 *
 * - `Add`: offer a record (the runner gives it a fresh token);
 * - `Flush`: flush in `partial` or `full` mode (a flush takes no time; `now` only places it on the timeline);
 * - `Heartbeat`: a tick of the heartbeat timer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Operation = Schema.Union(
  Schema.TaggedStruct("Add", { now: Schema.Number, record: StreamRecord.Json }),
  Schema.TaggedStruct("Flush", { now: Schema.Number, mode: FlushMode.FlushMode }),
  Schema.TaggedStruct("Heartbeat", { now: Schema.Number })
).annotations({ identifier: "Operation" })

/**
 * One operation of a program: an add, a flush or a heartbeat, at its time.
 *
 * @since 0.1.0
 * @category models
 */
export type Operation = typeof Operation.Type

/**
 * A program: the clock when it starts and its operations, whose times never decrease. Its JSON form (through the
 * Schema) carries record data as base64.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Program = Schema.Struct({
  start: Schema.Number,
  operations: Schema.Array(Operation)
}).annotations({ identifier: "Program" })

/**
 * A program: the clock at its start and its operations, in order.
 *
 * @since 0.1.0
 * @category models
 */
export type Program = typeof Program.Type

/**
 * Offer a record at time `now`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const add = (record: StreamRecord.StreamRecord, now: number): Operation => ({ _tag: "Add", now, record })

/**
 * Flush in `partial` or `full` mode, at time `now`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const flush = (mode: FlushMode.FlushMode, now: number): Operation => ({ _tag: "Flush", now, mode })

/**
 * A tick of the heartbeat at time `now`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const heartbeat = (now: number): Operation => ({ _tag: "Heartbeat", now })

/**
 * Makes a program, for a regression test written by hand. The clock starts at the first operation's time unless
 * `start` is given.
 *
 * @example
 * ```ts
 * import { Programs } from "@flusher/testing"
 * import { SequenceNumber, StreamRecord } from "@flusher/core"
 *
 * const record = StreamRecord.make({ sequenceNumber: SequenceNumber.unsafeMake("1"), data: new Uint8Array(3) })
 * const program = Programs.make([Programs.add(record, 0), Programs.heartbeat(60_000), Programs.flush("full", 60_000)])
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (operations: ReadonlyArray<Operation>, start?: number): Program => ({
  start: start ?? operations[0]?.now ?? 0,
  operations
})

// -----------------------------------------------------------------------------
// arbitraries
// -----------------------------------------------------------------------------

/**
 * How programs are generated.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * How the records are laid out: how many, their sizes, partition keys, KPL aggregates (see
   * `Arbitraries.RecordsOptions`). Default: at most 30 records (most programs hold a dozen or fewer, as fast-check
   * keeps arrays small unless `minLength` asks for more), with `Arbitraries.records`' other defaults.
   */
  readonly records?: Arbitraries.RecordsOptions | undefined
  /** The clock when the program starts, in epoch milliseconds. Default: drawn, from 0 to the year 2100. */
  readonly start?: number | undefined
}

/**
 * Programs that add ascending records one by one, with up to two flushes or heartbeats before some adds and up to
 * three after the last, while the clock moves forward before every operation by 0, under a second, 1 to 20 seconds,
 * or 20 seconds to 3 minutes: age limits from a second to a minute are crossed by small steps as well as by jumps.
 *
 * @since 0.1.0
 * @category arbitraries
 */
export const program = (options: Options = {}): fc.Arbitrary<Program> => {
  const minRecords = options.records?.minLength ?? 0
  const maxRecords = options.records?.maxLength ?? Math.max(30, minRecords)
  const records = Arbitraries.records({ ...options.records, maxLength: maxRecords })
  const start = options.start === undefined ? startTime : fc.constant(options.start)
  const slots = fc.array(slot, { minLength: maxRecords, maxLength: maxRecords })
  return fc.tuple(start, records, slots, fc.array(control, { maxLength: 3 })).map(([start, records, slots, trailing]) =>
    layOut(start, records, slots, trailing)
  )
}

// -----------------------------------------------------------------------------
// formatting
// -----------------------------------------------------------------------------

/**
 * One operation on one line: its time relative to the program's start, and for an add the record's position,
 * partition key and size, e.g. `t+1500ms add 1003.0.1 (aggregate part 2/3, key "a", 12 bytes)`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatOperation = (self: Operation, start: number): string => {
  const time = `t+${self.now - start}ms`
  switch (self._tag) {
    case "Add":
      return `${time} add ${formatRecord(self.record)}`
    case "Flush":
      return `${time} flush ${self.mode}`
    case "Heartbeat":
      return `${time} heartbeat`
  }
}

/**
 * A record's position, partition key and size.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatRecord = (record: StreamRecord.StreamRecord): string => {
  const part = record.aggregate === null
    ? ""
    : `aggregate part ${record.aggregate.index + 1}/${record.aggregate.size}, `
  return `${Position.format(record)} (${part}key ${JSON.stringify(record.partitionKey)}, ${record.data.length} bytes)`
}

/**
 * A program, one numbered operation per line, after a line giving the clock at its start.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (self: Program): string =>
  [
    `clock starts at ${self.start} ms; ${self.operations.length} operation${self.operations.length === 1 ? "" : "s"}`,
    ...self.operations.map((operation, i) => `#${i + 1} ${formatOperation(operation, self.start)}`)
  ].join("\n")

// -----------------------------------------------------------------------------
// machinery
// -----------------------------------------------------------------------------

interface Control {
  readonly kind: "partial" | "full" | "heartbeat"
  readonly advance: number
}

// What happens before one add: some flushes or heartbeats, then the clock moves on again.
interface Slot {
  readonly controls: ReadonlyArray<Control>
  readonly advance: number
}

// Cross-shrinking lets a shrunk program reach the simplest values: no clock step at all, heartbeats, a clock at 0.
const advance = fc.oneof(
  { withCrossShrink: true },
  { arbitrary: fc.constant(0), weight: 4 },
  { arbitrary: fc.integer({ min: 1, max: 999 }), weight: 4 },
  { arbitrary: fc.integer({ min: 1_000, max: 20_000 }), weight: 2 },
  { arbitrary: fc.integer({ min: 20_001, max: 180_000 }), weight: 1 }
)

const control: fc.Arbitrary<Control> = fc.record({
  kind: fc.oneof(
    { withCrossShrink: true },
    { arbitrary: fc.constant("heartbeat" as const), weight: 3 },
    { arbitrary: fc.constant("partial" as const), weight: 1 },
    { arbitrary: fc.constant("full" as const), weight: 1 }
  ),
  advance
})

// Most adds follow another add at once, so that batches fill up between flushes.
const slot: fc.Arbitrary<Slot> = fc.record({
  controls: fc.oneof(
    { withCrossShrink: true },
    { arbitrary: fc.constant([]), weight: 3 },
    { arbitrary: fc.array(control, { minLength: 1, maxLength: 2 }), weight: 1 }
  ),
  advance
})

const noSlot: Slot = { controls: [], advance: 0 }

// The year 2100, in epoch milliseconds.
const latestStart = 4_102_444_800_000

const startTime = fc.oneof(
  { withCrossShrink: true },
  fc.integer({ min: 0, max: latestStart }),
  fc.constant(1_700_000_000_000)
)

// Record `i` follows slot `i`. The slots are drawn apart from the records, as many as `maxLength` allows, rather
// than by a `chain` from the records to exactly their slots: fast-check stops shrinking the records of a `chain`
// once it has shrunk its slots, while drawn apart, both shrink to the end.
const layOut = (
  start: number,
  records: ReadonlyArray<StreamRecord.StreamRecord>,
  slots: ReadonlyArray<Slot>,
  trailing: ReadonlyArray<Control>
): Program => {
  const operations: Array<Operation> = []
  let now = start
  const perform = (controls: ReadonlyArray<Control>) => {
    for (const { advance, kind } of controls) {
      now += advance
      operations.push(kind === "heartbeat" ? heartbeat(now) : flush(kind, now))
    }
  }
  records.forEach((record, i) => {
    // KPL aggregates can make more records than `maxLength`, which counts positions in the shard; the records past
    // the last slot follow at once.
    const slot = slots[i] ?? noSlot
    perform(slot.controls)
    now += slot.advance
    operations.push(add(record, now))
  })
  perform(trailing)
  return { start, operations }
}
