/**
 * The Effect runtime of flusher.
 *
 * @since 0.1.0
 */

/**
 * Batch writers: the service that writes flushed batches, with memory and NDJSON file Layers.
 *
 * @since 0.1.0
 */
export * as BatchWriter from "./BatchWriter.js"

/**
 * Checkpointers: the service that loads and stores checkpoints, with memory and JSON file Layers.
 *
 * @since 0.1.0
 */
export * as Checkpointer from "./Checkpointer.js"

/**
 * Runs many shards at once, each from its last checkpoint.
 *
 * @since 0.1.0
 */
export * as Consumer from "./Consumer.js"

/**
 * Splits KPL aggregated records, including erlmld's variants, into their sub-records.
 *
 * @since 0.1.0
 */
export * as KplAggregate from "./KplAggregate.js"

/**
 * The metrics of the runtime.
 *
 * @since 0.1.0
 */
export * as Metrics from "./Metrics.js"

/**
 * The KCL MultiLangDaemon worker: speaks the daemon's protocol on stdin and stdout and runs the shard it is given.
 *
 * @since 0.1.0
 */
export * as MultiLang from "./MultiLang.js"

/**
 * The NDJSON form of records.
 *
 * @since 0.1.0
 */
export * as Ndjson from "./Ndjson.js"

/**
 * How a shard runs, from the environment with defaults.
 *
 * @since 0.1.0
 */
export * as ShardConfig from "./ShardConfig.js"

/**
 * Runs one shard from an Effect Stream of its records.
 *
 * @since 0.1.0
 */
export * as ShardRunner from "./ShardRunner.js"
