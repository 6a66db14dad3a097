/**
 * The metrics of the runtime. Each is tagged with `shard` when a shard records it.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/**
 * Records received.
 *
 * @since 0.1.0
 * @category metrics
 */
export const recordsIn = Metric.counter("flusher_records_in", { description: "Records received", incremental: true })

/**
 * Records the flusher ignored.
 *
 * @since 0.1.0
 * @category metrics
 */
export const recordsIgnored = Metric.counter("flusher_records_ignored", {
  description: "Records the flusher ignored",
  incremental: true
})

/**
 * Batches written.
 *
 * @since 0.1.0
 * @category metrics
 */
export const batchesWritten = Metric.counter("flusher_batches_written", {
  description: "Batches written",
  incremental: true
})

/**
 * The size of each batch written, in records.
 *
 * @since 0.1.0
 * @category metrics
 */
export const batchRecords = Metric.histogram(
  "flusher_batch_records",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 }),
  "Records in each batch written"
)

/**
 * The size of each batch written, in bytes of record data (when the flusher exposes its batches' records).
 *
 * @since 0.1.0
 * @category metrics
 */
export const batchBytes = Metric.histogram(
  "flusher_batch_bytes",
  MetricBoundaries.exponential({ start: 256, factor: 2, count: 20 }),
  "Bytes of record data in each batch written"
)

/**
 * How long each write attempt took, in milliseconds.
 *
 * @since 0.1.0
 * @category metrics
 */
export const writeLatency = Metric.histogram(
  "flusher_write_latency_ms",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 18 }),
  "Duration of each write attempt, in milliseconds"
)

/**
 * Write attempts that failed.
 *
 * @since 0.1.0
 * @category metrics
 */
export const writeFailures = Metric.counter("flusher_write_failures", {
  description: "Write attempts that failed",
  incremental: true
})

/**
 * Writes retried after a failure.
 *
 * @since 0.1.0
 * @category metrics
 */
export const writeRetries = Metric.counter("flusher_write_retries", {
  description: "Write attempts that retried a failed one",
  incremental: true
})

/**
 * Checkpoints stored.
 *
 * @since 0.1.0
 * @category metrics
 */
export const checkpointsSaved = Metric.counter("flusher_checkpoints_saved", {
  description: "Checkpoints stored",
  incremental: true
})

/**
 * Records received and not yet below the checkpoint position.
 *
 * @since 0.1.0
 * @category metrics
 */
export const recordsOutstanding = Metric.gauge("flusher_records_outstanding", {
  description: "Records received and not yet checkpointable"
})

/**
 * How long the oldest unwritten record has waited, in milliseconds.
 *
 * @since 0.1.0
 * @category metrics
 */
export const oldestUnwrittenAge = Metric.gauge("flusher_oldest_unwritten_age_ms", {
  description: "Age of the oldest record not yet written, in milliseconds"
})

/**
 * How far behind the tip of the shard the last records were read, in milliseconds.
 *
 * @since 0.1.0
 * @category metrics
 */
export const millisBehindLatest = Metric.gauge("flusher_millis_behind_latest", {
  description: "How far behind the tip of the shard the last records were read"
})

/**
 * Stalls the watchdog reported: a checkpoint that did not move for the stall timeout while records were
 * outstanding.
 *
 * @since 0.1.0
 * @category metrics
 */
export const stalls = Metric.counter("flusher_stalls", {
  description: "Checkpoints that did not move for the stall timeout while records were outstanding",
  incremental: true
})
