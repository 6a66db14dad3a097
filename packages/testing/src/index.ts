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

/**
 * Programs of flusher operations (adds, flushes, heartbeats on a forward-moving clock) and their arbitraries.
 *
 * @since 0.1.0
 */
export * as Programs from "./Programs.js"

/**
 * The flusher laws, as pure predicates over the trace of a program run against a flusher.
 *
 * @since 0.1.0
 */
export * as FlusherLaws from "./FlusherLaws.js"

/**
 * Runners for the flusher laws: fast-check checks with shrunk, replayable reports, and one vitest test per law.
 *
 * @since 0.1.0
 */
export * as FlusherLawsRunner from "./FlusherLawsRunner.js"

/**
 * Test Layers that misbehave on purpose: a faulty batch writer and checkpointer, and a scripted source.
 *
 * @since 0.1.0
 */
export * as FaultyLayers from "./FaultyLayers.js"

/**
 * Seeded simulations of a shard under faults, crashes and restarts, with the invariants checked.
 *
 * @since 0.1.0
 */
export * as Simulation from "./Simulation.js"

/**
 * A fake KCL MultiLangDaemon: launches a worker as the daemon does, speaks the daemon's side of the protocol with
 * scripted checkpoint replies, and checks every line the worker writes.
 *
 * @since 0.1.0
 */
export * as FakeDaemon from "./FakeDaemon.js"
