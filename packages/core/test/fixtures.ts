import { type Position, SequenceNumber, ShardId, StreamRecord, Token } from "@flusher/core"

export const shardId = ShardId.unsafeMake("shardId-000000000007")

/** A record at sequence number `n` (56 digits, like Kinesis's), with `size` bytes of data. */
export const record = (
  n: number,
  options: {
    readonly size?: number
    readonly partitionKey?: string | null
    readonly subSequenceNumber?: number
    readonly aggregate?: Position.AggregatePart
  } = {}
): StreamRecord.StreamRecord =>
  StreamRecord.make({
    sequenceNumber: SequenceNumber.unsafeMake("4959033827149025660855969253836157109592157598913" + pad(n)),
    subSequenceNumber: options.subSequenceNumber ?? 0,
    aggregate: options.aggregate ?? null,
    partitionKey: options.partitionKey === undefined ? "pk" : options.partitionKey,
    data: new Uint8Array(options.size ?? 10)
  })

const pad = (n: number) => n.toString().padStart(7, "0")

export const token = Token.unsafeMake

/** The sequence-number suffix of a record made by `record`. */
export const numberOf = (position: Position.Position): number => Number(position.sequenceNumber.slice(-7))
