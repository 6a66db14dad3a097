/**
 * The fast path of the MultiLang decoder: a hand-written check of a parsed line that builds the decoded message
 * without running a Schema per record. It answers `undefined` for anything it does not accept, and the caller then
 * asks the Schemas of `MultiLang.ts`, which are the reference, both for the verdict and for the error message. The
 * property tests check that both accept and refuse the same inputs.
 *
 * @internal
 */
import type * as MultiLang from "../MultiLang.js"
import * as SequenceNumber from "../SequenceNumber.js"
import * as ShardId from "../ShardId.js"
import type * as StreamRecord from "../StreamRecord.js"

/** @internal */
export type JsonObject = { readonly [key: string]: unknown }

/** @internal */
export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const isShardId = (value: string): value is ShardId.ShardId => ShardId.validate(value) === undefined

/** @internal */
export const sentinels = ["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP", "SHARD_END"] as const

/** @internal */
export const isSentinel = (value: string): value is MultiLang.Sentinel =>
  value === "TRIM_HORIZON" || value === "LATEST" || value === "AT_TIMESTAMP" || value === "SHARD_END"

// -----------------------------------------------------------------------------
// base64
// -----------------------------------------------------------------------------

const isBase64Char = (code: number): boolean =>
  (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 43 ||
  code === 47

// Equivalent to `base64Problem(input) === undefined` (a property test holds them to it), and more than twice as fast as
// a loop over the characters: the regular expression runs as native code, and this check runs once per record.
const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * Whether a string is standard base64 with padding.
 *
 * @internal
 */
export const isBase64 = (input: string): boolean => input.length % 4 === 0 && base64Pattern.test(input)

/**
 * Why a string is not standard base64 with padding (RFC 4648 section 4, no line breaks), or `undefined`.
 *
 * @internal
 */
export const base64Problem = (input: string): string | undefined => {
  const length = input.length
  if (length % 4 !== 0) return `standard base64 has a length that is a multiple of 4, got ${length}`
  let end = length
  if (end > 0 && input.charCodeAt(end - 1) === 61) {
    end--
    if (input.charCodeAt(end - 1) === 61) end--
  }
  for (let i = 0; i < end; i++) {
    const code = input.charCodeAt(i)
    if (!isBase64Char(code)) {
      return code === 61 ?
        `'=' may only pad the end of standard base64 (at most twice), found one at index ${i}` :
        `standard base64 holds only A-Z, a-z, 0-9, '+' and '/', found ${JSON.stringify(input[i])} at index ${i}`
    }
  }
  return undefined
}

// -----------------------------------------------------------------------------
// fields
// -----------------------------------------------------------------------------

// The common case, at most 129 digits, costs one native match; anything else (a longer, padded number, or not a
// sequence number at all) gets the full check.
const digitsPattern = /^[0-9]+$/

const isSequenceNumber = (value: unknown): value is SequenceNumber.SequenceNumber =>
  typeof value === "string" &&
  ((value.length <= SequenceNumber.maxDigits && digitsPattern.test(value)) || SequenceNumber.isSequenceNumber(value))

const isSubSequenceNumber = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0

const isMillis = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value) && value >= 0

// Each reader answers the field's decoded value, or `invalid` when the field is wrong. A missing key reads as null,
// as in the Schemas: old daemons leave out fields that current ones send as null.
const invalid: unique symbol = Symbol.for("@flusher/core/MultiLang/invalid")
type Invalid = typeof invalid

const readNullableString = (value: unknown): string | null | Invalid =>
  value === undefined || value === null ? null : typeof value === "string" ? value : invalid

const readNullableSubSequenceNumber = (value: unknown): number | null | Invalid =>
  value === undefined || value === null ? null : isSubSequenceNumber(value) ? value : invalid

const readNullableMillis = (value: unknown): number | null | Invalid =>
  value === undefined || value === null ? null : isMillis(value) ? value : invalid

// -----------------------------------------------------------------------------
// messages
// -----------------------------------------------------------------------------

/**
 * Decodes the parsed line of a known action, or answers `undefined` when anything in it is invalid.
 *
 * @internal
 */
export const decodeAction = (
  action: MultiLang.DaemonMessage["action"],
  json: JsonObject,
  decodeBase64: (base64: string) => Uint8Array | undefined
): MultiLang.DaemonMessage | undefined => {
  switch (action) {
    case "processRecords":
      return decodeProcessRecords(json, decodeBase64)
    case "initialize":
      return decodeInitialize(json)
    case "checkpoint":
      return decodeCheckpointReply(json)
    case "shutdown": {
      const reason = json.reason
      return reason === "TERMINATE" || reason === "ZOMBIE" ? { action, reason } : undefined
    }
    case "leaseLost":
    case "shardEnded":
    case "shutdownRequested":
      return { action }
  }
}

const decodeInitialize = (json: JsonObject): MultiLang.Initialize | undefined => {
  const shardId = json.shardId
  if (typeof shardId !== "string" || !isShardId(shardId)) return undefined
  const subSequenceNumber = readNullableSubSequenceNumber(json.subSequenceNumber)
  if (subSequenceNumber === invalid) return undefined
  const sequenceNumber = json.sequenceNumber
  let initialPosition: MultiLang.InitialPosition | null
  if (sequenceNumber === undefined || sequenceNumber === null) {
    initialPosition = null
  } else if (typeof sequenceNumber !== "string") {
    return undefined
  } else if (isSentinel(sequenceNumber)) {
    initialPosition = { _tag: "AtSentinel", sentinel: sequenceNumber }
  } else if (SequenceNumber.isSequenceNumber(sequenceNumber)) {
    initialPosition = { _tag: "AtSequenceNumber", sequenceNumber, subSequenceNumber }
  } else {
    return undefined
  }
  return { action: "initialize", shardId, initialPosition }
}

const decodeCheckpointReply = (json: JsonObject): MultiLang.CheckpointReply | undefined => {
  const sequenceNumber = readNullableString(json.sequenceNumber)
  const subSequenceNumber = readNullableSubSequenceNumber(json.subSequenceNumber)
  const error = readNullableString(json.error)
  if (sequenceNumber === invalid || subSequenceNumber === invalid || error === invalid) return undefined
  return { action: "checkpoint", sequenceNumber, subSequenceNumber, error }
}

const decodeProcessRecords = (
  json: JsonObject,
  decodeBase64: (base64: string) => Uint8Array | undefined
): MultiLang.ProcessRecords | undefined => {
  const input = json.records
  if (!Array.isArray(input)) return undefined
  const millisBehindLatest = readNullableMillis(json.millisBehindLatest)
  if (millisBehindLatest === invalid) return undefined
  const length = input.length
  const records = new Array<StreamRecord.StreamRecord>(length)
  for (let i = 0; i < length; i++) {
    const record = decodeRecord(input[i], millisBehindLatest, decodeBase64)
    if (record === undefined) return undefined
    records[i] = record
  }
  return { action: "processRecords", records, millisBehindLatest }
}

// The per-record hot path: plain checks, one object per record, in the field order of `StreamRecord.make` so every
// record shares one hidden class.
const decodeRecord = (
  value: unknown,
  millisBehindLatest: number | null,
  decodeBase64: (base64: string) => Uint8Array | undefined
): StreamRecord.StreamRecord | undefined => {
  if (!isJsonObject(value)) return undefined
  const sequenceNumber = value.sequenceNumber
  if (!isSequenceNumber(sequenceNumber)) return undefined
  const action = value.action
  if (action !== undefined && action !== "record") return undefined
  const partitionKey = readNullableString(value.partitionKey)
  const subSequenceNumber = readNullableSubSequenceNumber(value.subSequenceNumber)
  const approximateArrivalTimestamp = readNullableMillis(value.approximateArrivalTimestamp)
  if (partitionKey === invalid || subSequenceNumber === invalid || approximateArrivalTimestamp === invalid) {
    return undefined
  }
  const data = value.data
  let bytes: Uint8Array
  if (data === undefined || data === null) {
    bytes = new Uint8Array(0)
  } else if (typeof data === "string") {
    const decoded = decodeBase64(data)
    if (decoded === undefined) return undefined
    bytes = decoded
  } else {
    return undefined
  }
  return {
    partitionKey,
    data: bytes,
    sequenceNumber,
    subSequenceNumber,
    aggregate: null,
    approximateArrivalTimestamp,
    millisBehindLatest
  }
}
