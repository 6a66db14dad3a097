/**
 * Laws, reference models and simulations for flusher.
 *
 * @since 0.1.0
 */

/**
 * fast-check arbitraries for shard ids, sequence numbers, aggregates and records.
 *
 * @since 0.1.0
 */
export * as Arbitraries from "./Arbitraries.js"

/**
 * A naive batch processor, the reference model of `BatchProcessor`.
 *
 * @since 0.1.0
 */
export * as NaiveProcessor from "./NaiveProcessor.js"

/**
 * A naive watermark, the reference model of `Watermark`.
 *
 * @since 0.1.0
 */
export * as NaiveWatermark from "./NaiveWatermark.js"
