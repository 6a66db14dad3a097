import { assert, describe, it } from "@effect/vitest"
import { Checkpoint, MultiLang, Position, SequenceNumber, ShardId, StreamRecord } from "@flusher/core"
import { Arbitraries } from "@flusher/testing"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as fc from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as Fast from "../src/internal/multiLangDecode.js"

const seq = SequenceNumber.unsafeMake
const kinesisSequence = "49590338271490256608559692538361571095921575989136588898"

const decoded = (line: string): MultiLang.DaemonMessage => {
  const result = MultiLang.decodeLine(line)
  if (Either.isLeft(result)) throw new Error(`refused: ${result.left.message}`)
  return result.right
}

const refused = (line: string): MultiLang.MalformedMessage => {
  const result = MultiLang.decodeLine(line)
  if (Either.isRight(result)) throw new Error(`accepted: ${line}`)
  return result.left
}

const base64 = (value: string) => Encoding.encodeBase64(new TextEncoder().encode(value))

const wireRecord = (overrides: Record<string, unknown> = {}) => ({
  action: "record",
  data: base64("hello"),
  partitionKey: "pk",
  sequenceNumber: kinesisSequence,
  subSequenceNumber: 0,
  approximateArrivalTimestamp: 1_700_000_000_000,
  ...overrides
})

const processRecordsLine = (records: ReadonlyArray<unknown>, millisBehindLatest: unknown = 42) =>
  JSON.stringify({ action: "processRecords", records, millisBehindLatest })

describe("MultiLang decoding", () => {
  it("decodes initialize with a sequence number, a sentinel or nothing as the initial position", () => {
    assert.deepStrictEqual(
      decoded(
        `{"action":"initialize","shardId":"shardId-000000000001","sequenceNumber":"${kinesisSequence}",` +
          `"subSequenceNumber":3}`
      ),
      {
        action: "initialize",
        shardId: ShardId.unsafeMake("shardId-000000000001"),
        initialPosition: { _tag: "AtSequenceNumber", sequenceNumber: seq(kinesisSequence), subSequenceNumber: 3 }
      }
    )
    for (const sentinel of MultiLang.sentinels) {
      const message = decoded(
        `{"action":"initialize","shardId":"s-1","sequenceNumber":"${sentinel}","subSequenceNumber":0}`
      )
      assert.deepStrictEqual(message, {
        action: "initialize",
        shardId: ShardId.unsafeMake("s-1"),
        initialPosition: { _tag: "AtSentinel", sentinel }
      })
    }
    assert.deepStrictEqual(
      decoded(`{"action":"initialize","shardId":"s-1","sequenceNumber":null,"subSequenceNumber":null}`),
      { action: "initialize", shardId: ShardId.unsafeMake("s-1"), initialPosition: null }
    )
  })

  it("turns the records of processRecords into stream records carrying the message's millisBehindLatest", () => {
    const message = decoded(processRecordsLine([wireRecord(), wireRecord({ subSequenceNumber: 1, data: null })], 42))
    assert.strictEqual(message.action, "processRecords")
    if (message.action !== "processRecords") return
    assert.strictEqual(message.millisBehindLatest, 42)
    assert.deepStrictEqual(message.records, [
      StreamRecord.make({
        partitionKey: "pk",
        data: new TextEncoder().encode("hello"),
        sequenceNumber: seq(kinesisSequence),
        subSequenceNumber: 0,
        approximateArrivalTimestamp: 1_700_000_000_000,
        millisBehindLatest: 42
      }),
      StreamRecord.make({
        partitionKey: "pk",
        data: new Uint8Array(0),
        sequenceNumber: seq(kinesisSequence),
        subSequenceNumber: 1,
        approximateArrivalTimestamp: 1_700_000_000_000,
        millisBehindLatest: 42
      })
    ])
  })

  it("keeps a 56-digit sequence number exactly, as a string", () => {
    const message = decoded(processRecordsLine([wireRecord()]))
    if (message.action !== "processRecords") throw new Error(message.action)
    assert.strictEqual(typeof message.records[0].sequenceNumber, "string")
    assert.strictEqual(message.records[0].sequenceNumber, kinesisSequence)
  })

  it("reads the fields an old daemon leaves out as null, and ignores fields it does not know", () => {
    const message = decoded(
      `{"action":"processRecords","future":1,"records":[{"data":"aGk=","sequenceNumber":"7","shiny":true}]}`
    )
    assert.deepStrictEqual(message, {
      action: "processRecords",
      millisBehindLatest: null,
      records: [StreamRecord.make({ data: new TextEncoder().encode("hi"), sequenceNumber: seq("7") })]
    })
    assert.deepStrictEqual(decoded(`{"action":"checkpoint","sequenceNumber":"7"}`), {
      action: "checkpoint",
      sequenceNumber: "7",
      subSequenceNumber: null,
      error: null
    })
  })

  it("decodes the actions without fields, the legacy shutdown and the checkpoint reply", () => {
    for (const action of ["leaseLost", "shardEnded", "shutdownRequested"] as const) {
      assert.deepStrictEqual(decoded(`{"action":"${action}"}`), { action })
    }
    for (const reason of ["TERMINATE", "ZOMBIE"] as const) {
      assert.deepStrictEqual(decoded(`{"action":"shutdown","reason":"${reason}"}`), { action: "shutdown", reason })
    }
    assert.deepStrictEqual(
      decoded(`{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null,"error":"ThrottlingException"}`),
      { action: "checkpoint", sequenceNumber: null, subSequenceNumber: null, error: "ThrottlingException" }
    )
  })

  it("tolerates the carriage return of a Windows line ending", () => {
    assert.deepStrictEqual(decoded(`{"action":"leaseLost"}\r`), { action: "leaseLost" })
  })

  it("decodes the records' data with the decoder it is given, and refuses what the decoder refuses", () => {
    // A decoder that answers the length of the text, and refuses the URL-safe alphabet.
    const decoder = (input: string) => input.includes("-") ? undefined : Uint8Array.of(input.length)
    const accepted = MultiLang.decodeLine(processRecordsLine([wireRecord({ data: "aGVsbG8=" })]), decoder)
    assert.isTrue(Either.isRight(accepted))
    if (Either.isRight(accepted) && accepted.right.action === "processRecords") {
      assert.deepStrictEqual(accepted.right.records[0].data, Uint8Array.of(8))
    }
    const refused = MultiLang.decodeLine(
      processRecordsLine([wireRecord({ data: "aGk=" }), wireRecord({ data: "aGk-" })]),
      decoder
    )
    assert.isTrue(Either.isLeft(refused))
    if (Either.isLeft(refused)) assert.strictEqual(refused.left.path, "records[1].data")
  })
})

describe("MultiLang decoding errors", () => {
  it("names the record and the field that is wrong, and says why", () => {
    const records = [wireRecord(), wireRecord(), wireRecord(), wireRecord({ sequenceNumber: "12a4" }), wireRecord()]
    const error = refused(processRecordsLine(records))
    assert.strictEqual(error._tag, "MalformedMessage")
    assert.strictEqual(error.reason, "InvalidField")
    assert.strictEqual(error.action, "processRecords")
    assert.strictEqual(error.path, "records[3].sequenceNumber")
    assert.include(error.message, "records[3].sequenceNumber")
    assert.include(error.message, "only the digits 0-9, found \"a\" at index 2")
  })

  it("refuses every kind of invalid field, naming it", () => {
    const cases: ReadonlyArray<readonly [string, string, string]> = [
      [processRecordsLine([wireRecord({ sequenceNumber: 42 })]), "records[0].sequenceNumber", "got 42"],
      [processRecordsLine([wireRecord({ sequenceNumber: "" })]), "records[0].sequenceNumber", "cannot be empty"],
      [
        processRecordsLine([wireRecord({ sequenceNumber: "9".repeat(130) })]),
        "records[0].sequenceNumber",
        "at most 129 significant digits, got 130"
      ],
      [processRecordsLine([wireRecord({ data: "aGVsbG8" })]), "records[0].data", "multiple of 4, got 7"],
      [processRecordsLine([wireRecord({ data: "aGV-bG8=" })]), "records[0].data", "found \"-\" at index 3"],
      [processRecordsLine([wireRecord({ data: "aG=sbG8=" })]), "records[0].data", "'=' may only pad the end"],
      [processRecordsLine([wireRecord({ data: "aGV\nbG8=" })]), "records[0].data", "found \"\\n\" at index 3"],
      [processRecordsLine([wireRecord({ data: 5 })]), "records[0].data", "expected standard base64 or null"],
      [processRecordsLine([wireRecord({ partitionKey: 7 })]), "records[0].partitionKey", "expected a string or null"],
      [processRecordsLine([wireRecord({ subSequenceNumber: -1 })]), "records[0].subSequenceNumber", "got -1"],
      [processRecordsLine([wireRecord({ subSequenceNumber: 1.5 })]), "records[0].subSequenceNumber", "got 1.5"],
      [
        processRecordsLine([wireRecord({ approximateArrivalTimestamp: "now" })]),
        "records[0].approximateArrivalTimestamp",
        "got \"now\""
      ],
      [processRecordsLine([wireRecord({ action: "recorded" })]), "records[0].action", "\"recorded\""],
      [processRecordsLine([wireRecord(), 3]), "records[1]", "3"],
      [processRecordsLine([], -1), "millisBehindLatest", "got -1"],
      [`{"action":"processRecords"}`, "records", "is missing"],
      [`{"action":"processRecords","records":{}}`, "records", "Expected ReadonlyArray"],
      [`{"action":"initialize"}`, "shardId", "is missing"],
      [`{"action":"initialize","shardId":"../etc"}`, "shardId", "a shard id has 1 to 256 characters"],
      [`{"action":"initialize","shardId":"s","sequenceNumber":"LATER"}`, "sequenceNumber", "TRIM_HORIZON"],
      [`{"action":"initialize","shardId":"s","sequenceNumber":12}`, "sequenceNumber", "got 12"],
      [`{"action":"initialize","shardId":"s","subSequenceNumber":"0"}`, "subSequenceNumber", "got \"0\""],
      [`{"action":"shutdown","reason":"REQUESTED"}`, "reason", "\"TERMINATE\" or \"ZOMBIE\", got \"REQUESTED\""],
      [`{"action":"shutdown"}`, "reason", "is missing"],
      [`{"action":"checkpoint","error":404}`, "error", "expected a string or null, got 404"]
    ]
    for (const [line, path, reason] of cases) {
      const error = refused(line)
      assert.strictEqual(error.reason, "InvalidField", line)
      assert.strictEqual(error.path, path, line)
      assert.include(error.message, reason, line)
    }
  })

  it("refuses a line that is not JSON, JSON that is not an object, and unknown or missing actions", () => {
    for (const line of ["", "{", "not json", "{\"action\":\"leaseLost\"} trailing"]) {
      assert.strictEqual(refused(line).reason, "NotJson", line)
    }
    for (const line of ["null", "[]", "42", "\"leaseLost\""]) assert.strictEqual(refused(line).reason, "NotAnObject")
    const unknown = refused(`{"action":"reshard"}`)
    assert.strictEqual(unknown.reason, "UnknownAction")
    assert.strictEqual(unknown.action, "reshard")
    assert.include(unknown.message, "unknown action \"reshard\"")
    const missing = refused(`{"shardId":"s"}`)
    assert.strictEqual(missing.reason, "UnknownAction")
    assert.include(missing.message, "without an action")
    assert.strictEqual(refused(`{"action":7}`).reason, "UnknownAction")
  })

  it("quotes only the start of a long line", () => {
    const records = Array.from({ length: 500 }, () => wireRecord())
    const error = refused(processRecordsLine([...records, wireRecord({ data: "!" })]))
    assert.strictEqual(error.path, "records[500].data")
    assert.isBelow(error.excerpt.length, 300)
    assert.include(error.excerpt, "characters)")
  })
})

describe("MultiLang base64", () => {
  it("accepts standard padded base64 and refuses every other shape", () => {
    for (const valid of ["", "aGk=", "aGVsbG8=", "aGVsbG8h", "+/+/", "AA=="]) {
      assert.isUndefined(MultiLang.validateBase64(valid), valid)
    }
    for (const invalid of ["a", "aGk", "aGk==", "A===", "====", "aG=k", "aG-_", "aGk =", "aGk\n", "aGk\u00e9"]) {
      assert.isString(MultiLang.validateBase64(invalid), invalid)
    }
  })

  it.prop("agrees with the fast check on every string of base64-like characters", [
    fc.string({ unit: fc.constantFrom("A", "z", "0", "+", "/", "=", "-", "_", " ", "\n"), maxLength: 12 })
  ], ([input]) => {
    assert.strictEqual(Fast.isBase64(input), MultiLang.validateBase64(input) === undefined)
  })

  it.prop("accepts what effect encodes, and decodes it back to the same bytes", [fc.uint8Array({ maxLength: 64 })], (
    [bytes]
  ) => {
    const encoded = Encoding.encodeBase64(bytes)
    assert.isUndefined(MultiLang.validateBase64(encoded))
    assert.deepStrictEqual(MultiLang.decodeBase64(encoded), bytes)
  })
})

// -----------------------------------------------------------------------------
// The fast path against the Schemas
// -----------------------------------------------------------------------------

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const nullable = <A extends Json>(arbitrary: fc.Arbitrary<A>) => fc.option(arbitrary, { nil: null })
const base64Data = fc.uint8Array({ maxLength: 24 }).map((bytes) => Encoding.encodeBase64(bytes))
const millis = fc.oneof(fc.nat(), fc.double({ min: 0, max: 1e15, noNaN: true }))
const sequence = fc.oneof(Arbitraries.sequenceNumber.map(String), fc.constant(kinesisSequence))
const extra = fc.dictionary(fc.constantFrom("future", "shiny"), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 1 })

const validRecord: fc.Arbitrary<Json> = fc.tuple(
  fc.record({
    data: nullable(base64Data),
    partitionKey: nullable(fc.string({ maxLength: 8 })),
    sequenceNumber: sequence,
    approximateArrivalTimestamp: nullable(millis),
    subSequenceNumber: nullable(fc.nat({ max: 10 })),
    action: fc.constant("record")
  }, { requiredKeys: ["sequenceNumber"] }),
  extra
).map(([record, more]) => ({ ...more, ...record }))

const validMessage: fc.Arbitrary<{ readonly [key: string]: Json }> = fc.oneof(
  fc.record({
    action: fc.constant("initialize"),
    shardId: Arbitraries.shardId.map(String),
    sequenceNumber: nullable(fc.oneof(sequence, fc.constantFrom(...MultiLang.sentinels))),
    subSequenceNumber: nullable(fc.nat({ max: 10 }))
  }, { requiredKeys: ["action", "shardId"] }),
  fc.record({
    action: fc.constant("processRecords"),
    records: fc.array(validRecord, { maxLength: 6 }),
    millisBehindLatest: nullable(millis)
  }, { requiredKeys: ["action", "records"] }),
  fc.constantFrom("leaseLost", "shardEnded", "shutdownRequested").map((action) => ({ action })),
  fc.record({ action: fc.constant("shutdown"), reason: fc.constantFrom("TERMINATE", "ZOMBIE") }),
  fc.record({
    action: fc.constant("checkpoint"),
    sequenceNumber: nullable(sequence),
    subSequenceNumber: nullable(fc.nat({ max: 10 })),
    error: nullable(fc.constantFrom("ThrottlingException", "ShutdownException"))
  }, { requiredKeys: ["action"] })
)

const deleted = Symbol("deleted")
type Replacement = Json | typeof deleted

const badNumbers: ReadonlyArray<Replacement> = [deleted, null, -1, -0.5, 1.5, 2 ** 53, 1e21, "5", true, {}]
const badStrings: ReadonlyArray<Replacement> = [deleted, null, "", 7, true, [], {}]
const badSequenceNumbers: ReadonlyArray<Replacement> = [
  ...badStrings,
  "12a",
  "-1",
  "007",
  "9".repeat(130),
  "0".repeat(257),
  "TRIM_HORIZON",
  "LATER"
]

// Values that may break each field, some of them valid there: the property is that both decoders agree.
const replacements: { readonly [key: string]: ReadonlyArray<Replacement> } = {
  action: [deleted, null, 7, "record", "status", "unknownAction", "processRecords", "checkpoint"],
  shardId: [...badStrings, "a/b", "..", "x".repeat(257), "shardId-1"],
  sequenceNumber: badSequenceNumbers,
  subSequenceNumber: badNumbers,
  records: [deleted, null, {}, "x", [1], [null], [[]], [{}]],
  millisBehindLatest: badNumbers,
  approximateArrivalTimestamp: badNumbers,
  reason: [...badStrings, "REQUESTED", "zombie", "ZOMBIE"],
  error: [...badStrings, "ShutdownException"],
  data: [...badStrings, "aGk", "aGk==", "A===", "aG-_", "aGk =", "aGk\n", "aGk=\r", "YQ==", "===="],
  partitionKey: [...badStrings, "pk"]
}

const keysOf: { readonly [action: string]: ReadonlyArray<string> } = {
  initialize: ["action", "shardId", "sequenceNumber", "subSequenceNumber"],
  processRecords: ["action", "records", "millisBehindLatest"],
  leaseLost: ["action"],
  shardEnded: ["action"],
  shutdownRequested: ["action"],
  shutdown: ["action", "reason"],
  checkpoint: ["action", "sequenceNumber", "subSequenceNumber", "error"]
}
const recordKeys = [
  "data",
  "partitionKey",
  "sequenceNumber",
  "approximateArrivalTimestamp",
  "subSequenceNumber",
  "action"
]

const replaced = (target: { readonly [key: string]: Json }, key: string, value: Replacement) => {
  const copy: { [key: string]: Json } = { ...target }
  if (value === deleted) delete copy[key]
  else copy[key] = value
  return copy
}

const isObject = (value: Json): value is { readonly [key: string]: Json } =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const fieldReplacement = (key: string) => fc.constantFrom(...replacements[key]).map((value) => [key, value] as const)

// A valid message with one field replaced or deleted, at the top or inside one of its records.
const invalidMessage: fc.Arbitrary<Json> = validMessage.chain((message) => {
  const keys = keysOf[String(message.action)]
  const topLevel = fc.constantFrom(...keys).chain(fieldReplacement).map(([key, value]) => replaced(message, key, value))
  const records = message.records
  if (!Array.isArray(records) || records.length === 0) return topLevel
  const inRecord = fc.tuple(fc.nat({ max: records.length - 1 }), fc.constantFrom(...recordKeys).chain(fieldReplacement))
    .map(([index, [key, value]]) => ({
      ...message,
      records: records.map((
        record: Json,
        i
      ) => (i === index && isObject(record) ? replaced(record, key, value) : record))
    }))
  const wholeRecord = fc.tuple(fc.nat({ max: records.length - 1 }), fc.constantFrom<Json>(null, 3, "record", []))
    .map(([index, value]) => ({
      ...message,
      records: records.map((record: Json, i) => (i === index ? value : record))
    }))
  return fc.oneof(topLevel, { arbitrary: inRecord, weight: 3 }, wholeRecord)
})

const line = fc.oneof(
  { arbitrary: validMessage.map((message) => JSON.stringify(message)), weight: 2 },
  { arbitrary: invalidMessage.map((message) => JSON.stringify(message)), weight: 3 },
  { arbitrary: fc.constantFrom("", "{", "null", "[]", "7", "\"x\"", "{\"action\":null}"), weight: 1 }
)

const referenceDecode = (input: string): Either.Either<MultiLang.DaemonMessage, unknown> => {
  let json: unknown
  try {
    json = JSON.parse(input)
  } catch (error) {
    return Either.left(error)
  }
  return Schema.decodeUnknownEither(MultiLang.DaemonMessage)(json)
}

const fastDecode = (input: string): MultiLang.DaemonMessage | undefined => {
  let json: unknown
  try {
    json = JSON.parse(input)
  } catch {
    return undefined
  }
  if (!Fast.isJsonObject(json)) return undefined
  const action = json.action
  if (!isKnownAction(action)) return undefined
  return Fast.decodeAction(action, json, MultiLang.decodeBase64)
}

const knownActions: ReadonlyArray<unknown> = [...MultiLang.actionNames, "checkpoint"]
const isKnownAction = (action: unknown): action is MultiLang.DaemonMessage["action"] => knownActions.includes(action)

describe("MultiLang fast path", () => {
  it.prop(
    "accepts and refuses the same lines as the Schemas, and decodes them to equal values",
    [line],
    ([input]) => {
      const reference = referenceDecode(input)
      const fast = fastDecode(input)
      assert.strictEqual(fast !== undefined, Either.isRight(reference), input)
      if (fast !== undefined && Either.isRight(reference)) assert.deepStrictEqual(fast, reference.right)
      const viaLine = MultiLang.decodeLine(input)
      assert.strictEqual(Either.isRight(viaLine), Either.isRight(reference), input)
      if (Either.isRight(viaLine) && Either.isRight(reference)) assert.deepStrictEqual(viaLine.right, reference.right)
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop("refuses a generated invalid line with an error naming a field, when a field is to blame", [
    invalidMessage.map((message) => JSON.stringify(message))
  ], ([input]) => {
    const result = MultiLang.decodeLine(input)
    if (Either.isRight(result)) return
    const error = result.left
    assert.strictEqual(error._tag, "MalformedMessage")
    if (error.reason === "InvalidField") {
      assert.notStrictEqual(error.path, "")
      assert.include(error.message, error.path)
    }
  })

  it.prop("decodes what the Schemas encode, back to the same message", [validMessage], ([message]) => {
    const value = Either.getOrThrow(referenceDecode(JSON.stringify(message)))
    const line = JSON.stringify(Schema.encodeSync(MultiLang.DaemonMessage)(value))
    assert.deepStrictEqual(decoded(line), value)
  })
})

describe("MultiLang encoding", () => {
  it("writes a status with exactly the protocol's keys", () => {
    for (const action of MultiLang.actionNames) {
      assert.strictEqual(
        MultiLang.encodeLine(MultiLang.status(action)),
        `{"action":"status","responseFor":"${action}"}`
      )
    }
  })

  it("writes a checkpoint request with exactly the protocol's keys, null standing for the largest position", () => {
    assert.strictEqual(
      MultiLang.encodeLine(MultiLang.checkpointRequest(null)),
      `{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null}`
    )
    assert.strictEqual(
      MultiLang.encodeLine(MultiLang.checkpointRequest(Position.make(seq(kinesisSequence), 4, { index: 2, size: 3 }))),
      `{"action":"checkpoint","sequenceNumber":"${kinesisSequence}","subSequenceNumber":4}`
    )
  })

  it("leaves out every key a message object carries beyond the protocol's", () => {
    const status = { action: "status", responseFor: "processRecords", shardId: "s" } as const
    assert.strictEqual(MultiLang.encodeLine(status), `{"action":"status","responseFor":"processRecords"}`)
    const request = { ...MultiLang.checkpointRequest(null), error: null }
    assert.deepStrictEqual(Object.keys(JSON.parse(MultiLang.encodeLine(request))), [
      "action",
      "sequenceNumber",
      "subSequenceNumber"
    ])
  })

  const workerMessage: fc.Arbitrary<MultiLang.WorkerMessage> = fc.oneof(
    fc.constantFrom(...MultiLang.actionNames).map(MultiLang.status),
    fc.option(fc.tuple(Arbitraries.sequenceNumber, fc.option(fc.nat(), { nil: null })), { nil: null }).map((pair) =>
      MultiLang.checkpointRequest(pair === null ? null : Position.make(pair[0], pair[1]))
    )
  )

  it.prop("writes what the Schema encodes, and reads back as the same message", [workerMessage], ([message]) => {
    const written = MultiLang.encodeLine(message)
    assert.strictEqual(written, JSON.stringify(Schema.encodeSync(MultiLang.WorkerMessage)(message)))
    assert.notStrictEqual(written, "null")
    assert.notInclude(written, "\n")
    assert.deepStrictEqual(Schema.decodeUnknownSync(MultiLang.WorkerMessage)(JSON.parse(written)), message)
  })
})

describe("MultiLang getters", () => {
  const initialize = (initialPosition: MultiLang.InitialPosition | null): MultiLang.Initialize => ({
    action: "initialize",
    shardId: ShardId.unsafeMake("s"),
    initialPosition
  })

  it("reports the lease's checkpoint as the batch processor takes it", () => {
    assert.deepStrictEqual(
      MultiLang.lastCheckpoint(
        initialize({ _tag: "AtSequenceNumber", sequenceNumber: seq("9"), subSequenceNumber: 2 })
      ),
      Checkpoint.atPosition(Position.make(seq("9"), 2))
    )
    assert.deepStrictEqual(
      MultiLang.lastCheckpoint(initialize({ _tag: "AtSentinel", sentinel: "SHARD_END" })),
      Checkpoint.shardEnd
    )
    for (const sentinel of ["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"] as const) {
      assert.isNull(MultiLang.lastCheckpoint(initialize({ _tag: "AtSentinel", sentinel })))
    }
    assert.isNull(MultiLang.lastCheckpoint(initialize(null)))
  })

  it("maps the actions that stop a shard to the batch processor's reasons, legacy ones included", () => {
    assert.strictEqual(MultiLang.shutdownReason({ action: "leaseLost" }), "LeaseLost")
    assert.strictEqual(MultiLang.shutdownReason({ action: "shardEnded" }), "ShardEnded")
    assert.strictEqual(MultiLang.shutdownReason({ action: "shutdownRequested" }), "ShutdownRequested")
    assert.strictEqual(MultiLang.shutdownReason({ action: "shutdown", reason: "ZOMBIE" }), "LeaseLost")
    assert.strictEqual(MultiLang.shutdownReason({ action: "shutdown", reason: "TERMINATE" }), "ShardEnded")
    assert.isNull(MultiLang.shutdownReason({ action: "processRecords", records: [], millisBehindLatest: null }))
  })

  it("tells what a checkpoint reply means for the worker", () => {
    const reply = (error: string | null): MultiLang.CheckpointReply => ({
      action: "checkpoint",
      sequenceNumber: null,
      subSequenceNumber: null,
      error
    })
    assert.strictEqual(MultiLang.checkpointOutcome(reply(null)), "Stored")
    assert.strictEqual(MultiLang.checkpointOutcome(reply("ThrottlingException")), "Retry")
    assert.strictEqual(MultiLang.checkpointOutcome(reply("KinesisClientLibDependencyException")), "Retry")
    assert.strictEqual(MultiLang.checkpointOutcome(reply("ShutdownException")), "LeaseLost")
    assert.strictEqual(MultiLang.checkpointOutcome(reply("InvalidStateException")), "Fatal")
    assert.strictEqual(MultiLang.checkpointOutcome(reply("IllegalArgumentException")), "Fatal")
  })
})
