/**
 * The KCL MultiLangDaemon protocol: the messages the daemon and the worker exchange, one JSON object per line.
 *
 * The daemon writes actions (`initialize`, `processRecords`, `leaseLost`, `shardEnded`, `shutdownRequested`, and the
 * legacy `shutdown`) and replies to checkpoint requests; the worker answers each action with a status and may ask
 * for checkpoints while it holds one. This module holds the Schemas of every message in both directions, a fast
 * decoder for whole lines and an exact encoder; `MultiLangSession` knows which message may come when.
 *
 * Decoding is lenient where daemons differ (a field left out reads as `null`, unknown fields are ignored) and strict
 * where a mistake would lose data: sequence numbers stay decimal strings, base64 must be standard and padded.
 * Encoding is exact: the daemon skips a line with a key it does not know and then waits forever.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as BatchProcessor from "./BatchProcessor.js"
import * as Checkpoint from "./Checkpoint.js"
import * as Internal from "./internal/multiLangDecode.js"
import * as Position from "./Position.js"
import * as SequenceNumber from "./SequenceNumber.js"
import * as ShardId from "./ShardId.js"
import * as StreamRecord from "./StreamRecord.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * The names the daemon uses instead of a sequence number for a shard without a checkpoint (`TRIM_HORIZON`,
 * `LATEST`, `AT_TIMESTAMP`: where reading starts) or one that was read to its end (`SHARD_END`).
 *
 * @since 0.1.0
 * @category models
 */
export type Sentinel = "TRIM_HORIZON" | "LATEST" | "AT_TIMESTAMP" | "SHARD_END"

/**
 * Every sentinel.
 *
 * @since 0.1.0
 * @category constants
 */
export const sentinels: ReadonlyArray<Sentinel> = Internal.sentinels

/**
 * Where the lease of a shard was checkpointed, as `initialize` reports it: a sequence number with its sub-sequence
 * number, or a sentinel.
 *
 * @since 0.1.0
 * @category models
 */
export type InitialPosition =
  | {
    readonly _tag: "AtSequenceNumber"
    readonly sequenceNumber: SequenceNumber.SequenceNumber
    readonly subSequenceNumber: number | null
  }
  | { readonly _tag: "AtSentinel"; readonly sentinel: Sentinel }

/**
 * The first message of every worker: which shard it processes and where that shard was checkpointed (`null` when
 * the daemon does not say).
 *
 * @since 0.1.0
 * @category models
 */
export interface Initialize {
  readonly action: "initialize"
  readonly shardId: ShardId.ShardId
  readonly initialPosition: InitialPosition | null
}

/**
 * A batch of records. Each decoded record carries the message's `millisBehindLatest`. The batch is empty only when
 * the daemon runs with `callProcessRecordsEvenForEmptyRecordList`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProcessRecords {
  readonly action: "processRecords"
  readonly records: ReadonlyArray<StreamRecord.StreamRecord>
  readonly millisBehindLatest: number | null
}

/**
 * Another worker took the lease: stop without flushing or checkpointing.
 *
 * @since 0.1.0
 * @category models
 */
export interface LeaseLost {
  readonly action: "leaseLost"
}

/**
 * The shard was read to its end: write everything, checkpoint the end of the shard, then answer.
 *
 * @since 0.1.0
 * @category models
 */
export interface ShardEnded {
  readonly action: "shardEnded"
}

/**
 * The daemon is shutting down or handing the lease over: write and checkpoint what is held, then answer.
 *
 * @since 0.1.0
 * @category models
 */
export interface ShutdownRequested {
  readonly action: "shutdownRequested"
}

/**
 * Why a legacy daemon (KCL 1.x, the DynamoDB Streams adapter) shuts a worker down: `TERMINATE` when the shard
 * ended, `ZOMBIE` when the lease was lost.
 *
 * @since 0.1.0
 * @category models
 */
export type LegacyShutdownReason = "TERMINATE" | "ZOMBIE"

/**
 * The legacy daemons' message in place of `shardEnded` and `leaseLost`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Shutdown {
  readonly action: "shutdown"
  readonly reason: LegacyShutdownReason
}

/**
 * The daemon's answer to a checkpoint request: the position it echoes and `error`, `null` when the checkpoint was
 * stored, else the simple name of the Java exception (see `checkpointOutcome`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckpointReply {
  readonly action: "checkpoint"
  readonly sequenceNumber: string | null
  readonly subSequenceNumber: number | null
  readonly error: string | null
}

/**
 * A message of the daemon that the worker answers with a status.
 *
 * @since 0.1.0
 * @category models
 */
export type Action = Initialize | ProcessRecords | LeaseLost | ShardEnded | ShutdownRequested | Shutdown

/**
 * The name of an action, as the daemon writes it and as a status must echo it.
 *
 * @since 0.1.0
 * @category models
 */
export type ActionName = Action["action"]

/**
 * Every action name.
 *
 * @since 0.1.0
 * @category constants
 */
export const actionNames: ReadonlyArray<ActionName> = [
  "initialize",
  "processRecords",
  "leaseLost",
  "shardEnded",
  "shutdownRequested",
  "shutdown"
]

/**
 * Any message the daemon writes to the worker.
 *
 * @since 0.1.0
 * @category models
 */
export type DaemonMessage = Action | CheckpointReply

/**
 * The worker's answer to an action, once it is done with it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Status {
  readonly action: "status"
  readonly responseFor: ActionName
}

/**
 * A checkpoint request. A `null` sequence number asks for the largest position permitted: the last record delivered,
 * or the end of the shard during `shardEnded`. Send the sub-sequence number of a KPL sub-record: a `null` one is
 * stored as 0.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckpointRequest {
  readonly action: "checkpoint"
  readonly sequenceNumber: SequenceNumber.SequenceNumber | null
  readonly subSequenceNumber: number | null
}

/**
 * Any message the worker writes to the daemon.
 *
 * @since 0.1.0
 * @category models
 */
export type WorkerMessage = Status | CheckpointRequest

/**
 * Decodes standard base64 with padding into bytes, or answers `undefined` when the text is not standard base64.
 * The check is the decoder's, so that one made for a platform (Node's `Buffer`) can make it as it decodes.
 *
 * @since 0.1.0
 * @category models
 */
export type Base64Decoder = (base64: string) => Uint8Array | undefined

// -----------------------------------------------------------------------------
// encoded forms
// -----------------------------------------------------------------------------

/**
 * A record as the daemon writes it. Fields a daemon leaves out read as `null`.
 *
 * @since 0.1.0
 * @category encoded
 */
export interface DaemonRecordEncoded {
  readonly data?: string | null
  readonly partitionKey?: string | null
  readonly sequenceNumber: string
  readonly approximateArrivalTimestamp?: number | null
  readonly subSequenceNumber?: number | null
  readonly action?: "record"
}

/**
 * `initialize` as the daemon writes it.
 *
 * @since 0.1.0
 * @category encoded
 */
export interface InitializeEncoded {
  readonly action: "initialize"
  readonly shardId: string
  readonly sequenceNumber?: string | null
  readonly subSequenceNumber?: number | null
}

/**
 * `processRecords` as the daemon writes it.
 *
 * @since 0.1.0
 * @category encoded
 */
export interface ProcessRecordsEncoded {
  readonly action: "processRecords"
  readonly records: ReadonlyArray<DaemonRecordEncoded>
  readonly millisBehindLatest?: number | null
}

/**
 * A checkpoint reply as the daemon writes it.
 *
 * @since 0.1.0
 * @category encoded
 */
export interface CheckpointReplyEncoded {
  readonly action: "checkpoint"
  readonly sequenceNumber?: string | null
  readonly subSequenceNumber?: number | null
  readonly error?: string | null
}

/**
 * Any message as the daemon writes it.
 *
 * @since 0.1.0
 * @category encoded
 */
export type DaemonMessageEncoded =
  | InitializeEncoded
  | ProcessRecordsEncoded
  | LeaseLost
  | ShardEnded
  | ShutdownRequested
  | Shutdown
  | CheckpointReplyEncoded

/**
 * A checkpoint request as the worker writes it: every key present, `null` when unset.
 *
 * @since 0.1.0
 * @category encoded
 */
export interface CheckpointRequestEncoded {
  readonly action: "checkpoint"
  readonly sequenceNumber: string | null
  readonly subSequenceNumber: number | null
}

/**
 * Any message as the worker writes it.
 *
 * @since 0.1.0
 * @category encoded
 */
export type WorkerMessageEncoded = Status | CheckpointRequestEncoded

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * A line from the daemon that is not a MultiLang message:
 *
 * - `NotJson`: the line does not parse as JSON;
 * - `NotAnObject`: it parses, but not to a JSON object;
 * - `UnknownAction`: its `action` is missing or not one this worker knows;
 * - `InvalidField`: a field of a known action is missing or wrong; `path` names it, as in `records[3].data`.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedMessage extends Data.TaggedError("MalformedMessage")<{
  readonly reason: "NotJson" | "NotAnObject" | "UnknownAction" | "InvalidField"
  /** The action of the line, when it has one. */
  readonly action: string | null
  /** Where in the message the problem is; empty for the line as a whole. */
  readonly path: string
  readonly detail: string
  /** The start of the line. */
  readonly excerpt: string
}> {
  override get message(): string {
    const advice = "Stop the worker: only the MultiLangDaemon may write to its stdin, and the daemon must speak the " +
      "MultiLang protocol of KCL 1.x to 3.x."
    switch (this.reason) {
      case "NotJson":
        return `The daemon sent a line that is not JSON (${this.detail}): ${this.excerpt}. ${advice}`
      case "NotAnObject":
        return `The daemon sent JSON that is not an object: ${this.excerpt}. ${advice}`
      case "UnknownAction":
        return `The daemon sent ${
          this.action === null ? "a message without an action" : `the unknown action ${JSON.stringify(this.action)}`
        }: ${this.excerpt}. ${advice}`
      case "InvalidField":
        return `The daemon sent an invalid ${this.action} message, ${this.path === "" ? "" : `${this.path}: `}` +
          `${this.detail}. Line: ${this.excerpt}. ${advice}`
    }
  }
}

// -----------------------------------------------------------------------------
// base64
// -----------------------------------------------------------------------------

/**
 * Decodes standard base64 with effect's pure decoder, after checking it with `validateBase64`: the default of
 * `decodeLine`. The runtime passes a faster one, built on Node's `Buffer`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeBase64: Base64Decoder = (base64) =>
  Internal.isBase64(base64) ? Either.getOrUndefined(Encoding.decodeBase64(base64)) : undefined

/**
 * Tells why a string is not standard base64 with padding (the alphabet `A-Z a-z 0-9 + /`, `=` only at the end and
 * at most twice, a length that is a multiple of 4, no line breaks), or `undefined` when it is. Every path that
 * decodes a record's data checks it first, so bad data is refused whichever decoder runs.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateBase64: (input: string) => string | undefined = Internal.base64Problem

// -----------------------------------------------------------------------------
// schemas
// -----------------------------------------------------------------------------

const show = (value: unknown): string => {
  if (value === undefined) return "nothing"
  if (Array.isArray(value)) return "an array"
  if (typeof value === "object" && value !== null) return "an object"
  const text = typeof value === "string" || typeof value === "number" || typeof value === "boolean" || value === null ?
    JSON.stringify(value) :
    typeof value
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

// A union's failure is reported member by member ("Expected number", "Expected null"); one sentence per field, that
// says what was expected and why the value is not it, reads better in the daemon's log.
const describedBy = (problem: (actual: unknown) => string) => ({
  message: (issue: ParseResult.ParseIssue) => ({ message: problem(issue.actual), override: true })
})

const nullable = <S extends Schema.Schema.Any>(schema: S, problem: (actual: unknown) => string) =>
  Schema.optionalWith(Schema.NullOr(schema).annotations(describedBy(problem)), { exact: true, default: () => null })

const sequenceNumberProblem = (actual: unknown): string =>
  (typeof actual === "string" ? SequenceNumber.validate(actual) : undefined) ??
    `expected a sequence number (a string of decimal digits), got ${show(actual)}`

const subSequenceNumberProblem = (actual: unknown) =>
  `expected a sub-sequence number (a non-negative integer) or null, got ${show(actual)}`

const millisProblem = (actual: unknown) => `expected a non-negative number of milliseconds or null, got ${show(actual)}`

const stringProblem = (actual: unknown) => `expected a string or null, got ${show(actual)}`

/**
 * Standard base64 with padding, checked by `validateBase64`, as bytes.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StandardBase64: Schema.Schema<Uint8Array, string> = Schema.transform(
  Schema.String.pipe(Schema.filter((input) => Internal.base64Problem(input) ?? true)),
  Schema.Uint8ArrayFromSelf,
  {
    strict: true,
    // The filter above already refused anything that is not standard base64.
    decode: (base64) => Either.getOrThrow(Encoding.decodeBase64(base64)),
    encode: (bytes) => Encoding.encodeBase64(bytes)
  }
).annotations({ identifier: "StandardBase64" })

const StreamRecordType = Schema.typeSchema(StreamRecord.StreamRecord)

const RecordSequenceNumber = SequenceNumber.SequenceNumber.annotations(describedBy(sequenceNumberProblem))

/**
 * A record as the daemon writes it, decoded to a `StreamRecord` without `millisBehindLatest` (that comes with the
 * message) or an aggregate part. `null` data decodes to no bytes.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DaemonRecord: Schema.Schema<StreamRecord.StreamRecord, DaemonRecordEncoded> = Schema.transform(
  Schema.Struct({
    data: nullable(
      StandardBase64,
      (actual) =>
        (typeof actual === "string" ? Internal.base64Problem(actual) : undefined) ??
          `expected standard base64 or null, got ${show(actual)}`
    ),
    partitionKey: nullable(Schema.String, stringProblem),
    sequenceNumber: RecordSequenceNumber,
    approximateArrivalTimestamp: nullable(Schema.Finite.pipe(Schema.nonNegative()), millisProblem),
    subSequenceNumber: nullable(Position.SubSequenceNumber, subSequenceNumberProblem),
    action: Schema.optionalWith(Schema.Literal("record"), { exact: true, default: () => "record" as const })
  }),
  StreamRecordType,
  {
    strict: true,
    decode: (wire) => ({
      partitionKey: wire.partitionKey,
      data: wire.data ?? new Uint8Array(0),
      sequenceNumber: wire.sequenceNumber,
      subSequenceNumber: wire.subSequenceNumber,
      aggregate: null,
      approximateArrivalTimestamp: wire.approximateArrivalTimestamp,
      millisBehindLatest: null
    }),
    encode: (record) => ({
      data: record.data,
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
      approximateArrivalTimestamp: record.approximateArrivalTimestamp,
      subSequenceNumber: record.subSequenceNumber,
      action: "record" as const
    })
  }
).annotations({ identifier: "DaemonRecord" })

/**
 * The Schema of an initial position (its decoded form; on the wire it is the `sequenceNumber` and
 * `subSequenceNumber` of `initialize`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const InitialPosition: Schema.Schema<InitialPosition> = Schema.Union(
  Schema.TaggedStruct("AtSequenceNumber", {
    sequenceNumber: Schema.typeSchema(SequenceNumber.SequenceNumber),
    subSequenceNumber: Schema.NullOr(Position.SubSequenceNumber)
  }),
  Schema.TaggedStruct("AtSentinel", { sentinel: Schema.Literal(...Internal.sentinels) })
).annotations({ identifier: "InitialPosition" })

const InitialSequenceNumber = Schema.Union(SequenceNumber.SequenceNumber, Schema.Literal(...Internal.sentinels))

/**
 * The Schema of `initialize`: the wire's `sequenceNumber` and `subSequenceNumber` become an `InitialPosition`;
 * a sentinel's sub-sequence number is dropped.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Initialize: Schema.Schema<Initialize, InitializeEncoded> = Schema.transform(
  Schema.Struct({
    action: Schema.Literal("initialize"),
    shardId: ShardId.ShardId.annotations(
      describedBy((actual) =>
        (typeof actual === "string" ? ShardId.validate(actual) : undefined) ??
          `expected a shard id (a string), got ${show(actual)}`
      )
    ),
    sequenceNumber: nullable(
      InitialSequenceNumber,
      (actual) =>
        (typeof actual === "string" && /^[0-9]/.test(actual) ? SequenceNumber.validate(actual) : undefined) ??
          `expected a sequence number (a string of decimal digits), one of ${
            Internal.sentinels.join(", ")
          }, or null, got ${show(actual)}`
    ),
    subSequenceNumber: nullable(Position.SubSequenceNumber, subSequenceNumberProblem)
  }),
  Schema.Struct({
    action: Schema.Literal("initialize"),
    shardId: Schema.typeSchema(ShardId.ShardId),
    initialPosition: Schema.NullOr(InitialPosition)
  }),
  {
    strict: true,
    decode: ({ sequenceNumber, shardId, subSequenceNumber }) => ({
      action: "initialize" as const,
      shardId,
      initialPosition: sequenceNumber === null ?
        null :
        Internal.isSentinel(sequenceNumber) ?
        { _tag: "AtSentinel" as const, sentinel: sequenceNumber } :
        { _tag: "AtSequenceNumber" as const, sequenceNumber, subSequenceNumber }
    }),
    encode: ({ initialPosition, shardId }) => ({
      action: "initialize" as const,
      shardId,
      sequenceNumber: initialPosition === null ?
        null :
        initialPosition._tag === "AtSentinel" ?
        initialPosition.sentinel :
        initialPosition.sequenceNumber,
      subSequenceNumber: initialPosition?._tag === "AtSequenceNumber" ? initialPosition.subSequenceNumber : null
    })
  }
).annotations({ identifier: "Initialize" })

/**
 * The Schema of `processRecords`: the records decode to `StreamRecord`s carrying the message's
 * `millisBehindLatest`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProcessRecords: Schema.Schema<ProcessRecords, ProcessRecordsEncoded> = Schema.transform(
  Schema.Struct({
    action: Schema.Literal("processRecords"),
    records: Schema.Array(DaemonRecord),
    millisBehindLatest: nullable(Schema.Finite.pipe(Schema.nonNegative()), millisProblem)
  }),
  Schema.Struct({
    action: Schema.Literal("processRecords"),
    records: Schema.Array(StreamRecordType),
    millisBehindLatest: Schema.NullOr(Schema.Number)
  }),
  {
    strict: true,
    decode: ({ millisBehindLatest, records }) => ({
      action: "processRecords" as const,
      records: records.map((record) => ({ ...record, millisBehindLatest })),
      millisBehindLatest
    }),
    encode: (message) => message
  }
).annotations({ identifier: "ProcessRecords" })

/**
 * The Schema of `leaseLost`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LeaseLost: Schema.Schema<LeaseLost> = Schema.Struct({ action: Schema.Literal("leaseLost") })

/**
 * The Schema of `shardEnded`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ShardEnded: Schema.Schema<ShardEnded> = Schema.Struct({ action: Schema.Literal("shardEnded") })

/**
 * The Schema of `shutdownRequested`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ShutdownRequested: Schema.Schema<ShutdownRequested> = Schema.Struct({
  action: Schema.Literal("shutdownRequested")
})

/**
 * The Schema of the legacy `shutdown`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Shutdown: Schema.Schema<Shutdown> = Schema.Struct({
  action: Schema.Literal("shutdown"),
  reason: Schema.Literal("TERMINATE", "ZOMBIE").annotations(
    describedBy((actual) => `expected "TERMINATE" or "ZOMBIE", got ${show(actual)}`)
  )
})

/**
 * The Schema of the daemon's checkpoint reply.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CheckpointReply: Schema.Schema<CheckpointReply, CheckpointReplyEncoded> = Schema.Struct({
  action: Schema.Literal("checkpoint"),
  sequenceNumber: nullable(Schema.String, stringProblem),
  subSequenceNumber: nullable(Position.SubSequenceNumber, subSequenceNumberProblem),
  error: nullable(Schema.String, stringProblem)
})

/**
 * Any message of the daemon. `decodeLine` is the fast way to decode a line; this Schema is the reference it is
 * tested against, and encodes messages for a daemon played by a test.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DaemonMessage: Schema.Schema<DaemonMessage, DaemonMessageEncoded> = Schema.Union(
  Initialize,
  ProcessRecords,
  LeaseLost,
  ShardEnded,
  ShutdownRequested,
  Shutdown,
  CheckpointReply
)

/**
 * The Schema of a status.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Status: Schema.Schema<Status> = Schema.Struct({
  action: Schema.Literal("status"),
  responseFor: Schema.Literal(
    "initialize",
    "processRecords",
    "leaseLost",
    "shardEnded",
    "shutdownRequested",
    "shutdown"
  )
})

/**
 * The Schema of a checkpoint request.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CheckpointRequest: Schema.Schema<CheckpointRequest, CheckpointRequestEncoded> = Schema.Struct({
  action: Schema.Literal("checkpoint"),
  sequenceNumber: Schema.NullOr(SequenceNumber.SequenceNumber),
  subSequenceNumber: Schema.NullOr(Position.SubSequenceNumber)
})

/**
 * Any message of the worker. Its encoding has exactly the protocol's keys, in the protocol's order.
 *
 * @since 0.1.0
 * @category schemas
 */
export const WorkerMessage: Schema.Schema<WorkerMessage, WorkerMessageEncoded> = Schema.Union(
  Status,
  CheckpointRequest
)

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * The status that answers an action.
 *
 * @since 0.1.0
 * @category constructors
 */
export const status = (responseFor: ActionName): Status => ({ action: "status", responseFor })

/**
 * A checkpoint request at a position, or, with `null`, at the largest position permitted (the end of the shard
 * during `shardEnded`). A record split out of an aggregate by the worker names its whole aggregate: check
 * `Position.isCheckpointable` first.
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkpointRequest = (position: Position.Position | null): CheckpointRequest =>
  position === null ?
    { action: "checkpoint", sequenceNumber: null, subSequenceNumber: null } :
    { action: "checkpoint", sequenceNumber: position.sequenceNumber, subSequenceNumber: position.subSequenceNumber }

// -----------------------------------------------------------------------------
// decoding
// -----------------------------------------------------------------------------

/**
 * Decodes one line of the daemon (without its line break; a trailing `\r` is tolerated).
 *
 * The line is parsed with `JSON.parse` and checked by a hand-written loop that builds the records directly; only a
 * line that fails the check goes through the Schemas, which name the offending field. `decode` checks and turns each
 * record's base64 into bytes (default: effect's pure decoder; one built on Node's `Buffer` is faster).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeLine = (
  line: string,
  decode: Base64Decoder = decodeBase64
): Either.Either<DaemonMessage, MalformedMessage> => {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch (error) {
    return Either.left(malformed(line, "NotJson", null, "", error instanceof Error ? error.message : String(error)))
  }
  if (!Internal.isJsonObject(json)) return Either.left(malformed(line, "NotAnObject", null, "", "not an object"))
  const action = json.action
  if (typeof action !== "string" || !isKnownAction(action)) {
    return Either.left(
      malformed(line, "UnknownAction", typeof action === "string" ? action : null, "action", "unknown action")
    )
  }
  const decoded = Internal.decodeAction(action, json, decode)
  if (decoded !== undefined) return Either.right(decoded)
  // The fast check refused the line; the Schemas are the reference, so their verdict stands either way.
  return Either.mapLeft(schemaDecoders[action](json), (error) => {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
    return malformed(
      line,
      "InvalidField",
      action,
      issue === undefined ? "" : formatPath(issue.path),
      issue?.message ?? ""
    )
  })
}

const isKnownAction = (action: string): action is DaemonMessage["action"] =>
  action === "processRecords" || action === "checkpoint" || (actionNames as ReadonlyArray<string>).includes(action)

// One Schema per action, rather than the union, so that an error names the field and not the union's members.
const schemaDecoders: {
  readonly [A in DaemonMessage["action"]]: (json: unknown) => Either.Either<DaemonMessage, ParseResult.ParseError>
} = {
  initialize: Schema.decodeUnknownEither(Initialize),
  processRecords: Schema.decodeUnknownEither(ProcessRecords),
  leaseLost: Schema.decodeUnknownEither(LeaseLost),
  shardEnded: Schema.decodeUnknownEither(ShardEnded),
  shutdownRequested: Schema.decodeUnknownEither(ShutdownRequested),
  shutdown: Schema.decodeUnknownEither(Shutdown),
  checkpoint: Schema.decodeUnknownEither(CheckpointReply)
}

const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  let text = ""
  for (const key of path) {
    if (typeof key === "number") text += `[${key}]`
    else text += text === "" ? String(key) : `.${String(key)}`
  }
  return text
}

const excerptLength = 200

const malformed = (
  line: string,
  reason: MalformedMessage["reason"],
  action: string | null,
  path: string,
  detail: string
): MalformedMessage =>
  new MalformedMessage({
    reason,
    action,
    path,
    detail,
    excerpt: line.length > excerptLength ?
      `${line.slice(0, excerptLength)}... (${line.length} characters)` :
      line
  })

// -----------------------------------------------------------------------------
// encoding
// -----------------------------------------------------------------------------

/**
 * Encodes a message of the worker as one line, without the line break: exactly the protocol's keys, in its order,
 * and never a bare `null`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeLine = (message: WorkerMessage): string =>
  message.action === "status" ?
    JSON.stringify({ action: "status", responseFor: message.responseFor }) :
    JSON.stringify({
      action: "checkpoint",
      sequenceNumber: message.sequenceNumber,
      subSequenceNumber: message.subSequenceNumber
    })

// -----------------------------------------------------------------------------
// getters
// -----------------------------------------------------------------------------

/**
 * The checkpoint an `initialize` reports, as the batch processor takes it: a position, the end of the shard, or
 * `null` when the shard was never checkpointed (`TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP`, or nothing said).
 *
 * @since 0.1.0
 * @category getters
 */
export const lastCheckpoint = (self: Initialize): Checkpoint.Checkpoint | null => {
  const initial = self.initialPosition
  if (initial === null) return null
  if (initial._tag === "AtSequenceNumber") {
    return Checkpoint.atPosition(Position.make(initial.sequenceNumber, initial.subSequenceNumber))
  }
  return initial.sentinel === "SHARD_END" ? Checkpoint.shardEnd : null
}

/**
 * Why an action stops the shard, in the batch processor's terms, or `null` for `initialize` and `processRecords`.
 * The legacy `shutdown` maps `TERMINATE` to the end of the shard and `ZOMBIE` to a lost lease.
 *
 * @since 0.1.0
 * @category getters
 */
export const shutdownReason = (self: Action): BatchProcessor.ShutdownReason | null => {
  switch (self.action) {
    case "initialize":
    case "processRecords":
      return null
    case "leaseLost":
      return "LeaseLost"
    case "shardEnded":
      return "ShardEnded"
    case "shutdownRequested":
      return "ShutdownRequested"
    case "shutdown":
      return self.reason === "TERMINATE" ? "ShardEnded" : "LeaseLost"
  }
}

/**
 * What a checkpoint reply means for the worker:
 *
 * - `Stored`: go on;
 * - `Retry`: throttled, or a dependency failed (`ThrottlingException`, `KinesisClientLibDependencyException`); back
 *   off and ask again for the same position;
 * - `LeaseLost`: `ShutdownException`; stop checkpointing, abandon the batch, still send the status;
 * - `Fatal`: anything else (`InvalidStateException`, `IllegalArgumentException`, ...); stop the worker.
 *
 * @since 0.1.0
 * @category getters
 */
export const checkpointOutcome = (self: CheckpointReply): "Stored" | "Retry" | "LeaseLost" | "Fatal" => {
  switch (self.error) {
    case null:
      return "Stored"
    case "ThrottlingException":
    case "KinesisClientLibDependencyException":
      return "Retry"
    case "ShutdownException":
      return "LeaseLost"
    default:
      return "Fatal"
  }
}
