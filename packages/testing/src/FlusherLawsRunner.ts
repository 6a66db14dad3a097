/**
 * Runners for the flusher laws: check a flusher against every law on many generated programs with fast-check, and
 * report a broken law with the smallest program that breaks it and the seed that replays it.
 *
 * In a vitest file, `describeLaws` from `@flusher/testing/vitest` checks a flusher in one line, one test per law;
 * `check` and `assert` here work with any test runner, and outside one.
 *
 * @example
 * ```ts
 * import { BatchingFlusher } from "@flusher/core"
 * import { FlusherLawsRunner } from "@flusher/testing"
 *
 * FlusherLawsRunner.assert(BatchingFlusher.make({ maxRecords: 10 }), { numRuns: 200 })
 * ```
 *
 * @since 0.1.0
 */
import type { Flusher, ShardId } from "@flusher/core"
import * as Data from "effect/Data"
import * as fc from "effect/FastCheck"
import * as FlusherLaws from "./FlusherLaws.js"
import * as Programs from "./Programs.js"

/**
 * How to check: which laws, how many programs, and how they are generated.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Programs.Options {
  /** The laws to check. Default: all of them (`FlusherLaws.all`). */
  readonly laws?: ReadonlyArray<FlusherLaws.LawName> | undefined
  /** How many programs to run. Default 100. */
  readonly numRuns?: number | undefined
  /** The seed of fast-check's generator, to replay a failure. Default: a fresh one, printed on failure. */
  readonly seed?: number | undefined
  /** With `seed`, the path to one shrunk case in fast-check's search, to replay exactly that case. */
  readonly path?: string | undefined
  /** The shard the flusher is made for. Default `shardId-000000000000`. */
  readonly shardId?: ShardId.ShardId | undefined
  /** For `describe`: the timeout of each test, in milliseconds. Default: vitest's. */
  readonly timeout?: number | undefined
}

/**
 * A broken law: the smallest program fast-check found that breaks it, what the flusher answered, and how to replay
 * it. `report` says all of it in text.
 *
 * @since 0.1.0
 * @category models
 */
export interface Failure {
  /** The laws the program breaks, among those checked, each with its first violation. */
  readonly violations: ReadonlyArray<FlusherLaws.Violation>
  /** The program, after shrinking. */
  readonly program: Programs.Program
  readonly trace: FlusherLaws.Trace
  readonly seed: number
  /** The path that replays this very program, with `seed`. */
  readonly path: string
  /** How many programs ran until the first failure. */
  readonly runs: number
  readonly shrinks: number
  readonly report: string
}

/**
 * Thrown by `assert` when a law is broken; its message is the failure's report.
 *
 * @since 0.1.0
 * @category errors
 */
export class LawBroken extends Data.TaggedError("LawBroken")<{ readonly failure: Failure }> {
  override get message(): string {
    return this.failure.report
  }
}

/**
 * Checks the laws on generated programs and answers the first failure, shrunk, or `undefined` when every law held
 * on every program.
 *
 * @example
 * ```ts
 * import { BatchingFlusher } from "@flusher/core"
 * import { FlusherLawsRunner } from "@flusher/testing"
 *
 * const failure = FlusherLawsRunner.check(BatchingFlusher.make({ maxAge: "1 minute" }), { numRuns: 200 })
 * if (failure !== undefined) throw new Error(failure.report)
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const check = <S, B, E>(
  flusher: Flusher.Flusher<S, B, E>,
  options: Options = {}
): Failure | undefined => {
  const laws = selectLaws(flusher, options)
  const runOptions = { shardId: options.shardId, purity: laws.some((law) => law.needsPurity) }
  const traceOf = (program: Programs.Program) => FlusherLaws.run(flusher, program, runOptions)
  const property = fc.property(
    Programs.program(options),
    (program) => FlusherLaws.violations(traceOf(program), laws).length === 0
  )
  const details = fc.check(property, parameters(options))
  if (!details.failed || details.counterexample === null) return undefined

  const program = details.counterexample[0]
  const trace = traceOf(program)
  const failure = {
    violations: FlusherLaws.violations(trace, laws),
    program,
    trace,
    seed: details.seed,
    path: details.counterexamplePath ?? "",
    runs: details.numRuns,
    shrinks: details.numShrinks
  }
  return { ...failure, report: report(failure, details.error) }
}

/**
 * Checks the laws like `check`, and throws `LawBroken`, whose message is the report, when one is broken.
 *
 * @since 0.1.0
 * @category running
 */
export const assert = <S, B, E>(flusher: Flusher.Flusher<S, B, E>, options: Options = {}): void => {
  const failure = check(flusher, options)
  if (failure !== undefined) throw new LawBroken({ failure })
}

// -----------------------------------------------------------------------------
// machinery
// -----------------------------------------------------------------------------

/** @internal */
export const allNames = FlusherLaws.all.map((law) => law.name)

const selectLaws = (
  flusher: { readonly recordsOf?: unknown },
  options: Options
): ReadonlyArray<FlusherLaws.Law> => FlusherLaws.named(options.laws ?? allNames).filter((law) => law.appliesTo(flusher))

const parameters = (options: Options): fc.Parameters<[Programs.Program]> => ({
  numRuns: options.numRuns ?? 100,
  ...(options.seed === undefined ? {} : { seed: options.seed }),
  ...(options.path === undefined ? {} : { path: options.path })
})

const report = (failure: Omit<Failure, "report">, error: string | null): string => {
  const broken = failure.violations.length === 0 ?
    [
      "A law broke on the program below, but running it again breaks none: the flusher answers differently from " +
      "one run to the next (it keeps state outside its state value, or draws random numbers), or the runner " +
      "itself is at fault.",
      ...(error === null ? [] : [error])
    ] :
    failure.violations.flatMap((violation) => [
      `Law ${violation.law.name} is broken (${violation.law.summary}):`,
      `  ${violation.message}`
    ])
  const found = `found after ${failure.runs} program${failure.runs === 1 ? "" : "s"}, ` +
    `shrunk ${failure.shrinks} time${failure.shrinks === 1 ? "" : "s"}`
  return [
    ...broken,
    "",
    `The shrunk program and the flusher's answers (${found}):`,
    indent(FlusherLaws.format(failure.trace)),
    "",
    `Replay this program with the options { seed: ${failure.seed}, path: ${JSON.stringify(failure.path)} }, ` +
    `or the whole search with { seed: ${failure.seed} }.`
  ].join("\n")
}

const indent = (text: string): string =>
  text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n")
