/**
 * The pure core of flusher.
 *
 * @since 0.1.0
 */

/**
 * The batch processor: one shard's batching and checkpointing, as a pure state machine.
 *
 * @since 0.1.0
 */
export * as BatchProcessor from "./BatchProcessor.js"

/**
 * The batching flusher: one batch, flushed by record count, bytes or age.
 *
 * @since 0.1.0
 */
export * as BatchingFlusher from "./BatchingFlusher.js"

/**
 * Checkpoints: a position, or the end of the shard.
 *
 * @since 0.1.0
 */
export * as Checkpoint from "./Checkpoint.js"

/**
 * The flusher contract and its combinators.
 *
 * @since 0.1.0
 */
export * as Flusher from "./Flusher.js"

/**
 * `partial` or `full`.
 *
 * @since 0.1.0
 */
export * as FlushMode from "./FlushMode.js"

/**
 * The keyed flusher: one batch per key.
 *
 * @since 0.1.0
 */
export * as KeyedFlusher from "./KeyedFlusher.js"

/**
 * Positions of records in a shard.
 *
 * @since 0.1.0
 */
export * as Position from "./Position.js"

/**
 * Sequence numbers: decimal strings of up to 129 digits, compared without BigInt.
 *
 * @since 0.1.0
 */
export * as SequenceNumber from "./SequenceNumber.js"

/**
 * Shard identifiers.
 *
 * @since 0.1.0
 */
export * as ShardId from "./ShardId.js"

/**
 * Records of a sharded stream.
 *
 * @since 0.1.0
 */
export * as StreamRecord from "./StreamRecord.js"

/**
 * Opaque tokens, issued by the batch processor.
 *
 * @since 0.1.0
 */
export * as Token from "./Token.js"

/**
 * The watermark: the ledger of a shard's tokens and where it may checkpoint.
 *
 * @since 0.1.0
 */
export * as Watermark from "./Watermark.js"

/**
 * The KCL MultiLangDaemon protocol: Schemas of its messages, a fast line decoder and an exact encoder.
 *
 * @since 0.1.0
 */
export * as MultiLang from "./MultiLang.js"

/**
 * The MultiLang protocol's session, as a pure state machine: which message may be received or sent when.
 *
 * @since 0.1.0
 */
export * as MultiLangSession from "./MultiLangSession.js"
