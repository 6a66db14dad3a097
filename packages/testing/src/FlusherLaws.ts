/**
 * The flusher laws, as pure predicates over a trace.
 *
 * `run` plays a program against a flusher the way the batch processor drives one, and records every call and
 * answer in a `Trace`. Each law is a predicate over a trace that answers `undefined` when the law holds, or a
 * sentence describing its first violation. The laws say what `Flusher.ts` promises: tokens come back exactly once,
 * `full` leaves nothing behind, `Full` is an honest answer, heartbeats invent nothing, and operations are pure.
 *
 * Running programs under fast-check and reporting failures is the job of `FlusherLawsRunner`.
 *
 * @since 0.1.0
 */
import { type Flusher, type FlushMode, Position, ShardId, StreamRecord, Token } from "@flusher/core"
import * as Programs from "./Programs.js"

// -----------------------------------------------------------------------------
// traces
// -----------------------------------------------------------------------------

/**
 * A call the runner made to the flusher.
 *
 * - `Add` carries the record's token; `attempt` is `afterFull` when the runner offers the record again, with the
 *   same token, after a `Full` and a partial flush.
 * - `Flush` carries why the runner flushed: the program asked (`program`), a `Full` answer (`afterFull`), to check
 *   that a full flush left nothing behind (`secondFull`), or the end of the program (`final`).
 *
 * @since 0.1.0
 * @category models
 */
export type Call =
  | { readonly _tag: "Init"; readonly shardId: ShardId.ShardId }
  | {
    readonly _tag: "Add"
    readonly record: StreamRecord.StreamRecord
    readonly token: Token.Token
    readonly now: number
    readonly attempt: "first" | "afterFull"
  }
  | { readonly _tag: "Flush"; readonly mode: FlushMode.FlushMode; readonly origin: FlushOrigin }
  | { readonly _tag: "Heartbeat"; readonly now: number }

/**
 * Why the runner flushed.
 *
 * @since 0.1.0
 * @category models
 */
export type FlushOrigin = "program" | "afterFull" | "secondFull" | "final"

/**
 * What the flusher answered, without its states (kept out so that a trace stays small and printable). A flush keeps
 * the records of its batch when the flusher has `recordsOf`. `Threw` is an exception; `Malformed` an answer that is
 * none of the contract's results.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome =
  | { readonly _tag: "Initialized" }
  | { readonly _tag: "Added" }
  | { readonly _tag: "Ignored" }
  | { readonly _tag: "Full" }
  | { readonly _tag: "Failed"; readonly error: unknown }
  | {
    readonly _tag: "Flushed"
    readonly tokens: ReadonlyArray<Token.Token>
    readonly records: ReadonlyArray<StreamRecord.StreamRecord> | undefined
  }
  | { readonly _tag: "NotFlushed" }
  | { readonly _tag: "Threw"; readonly error: unknown; readonly during: "call" | "recordsOf" }
  | { readonly _tag: "Malformed"; readonly answer: string }

/**
 * One call and its answer, with what the purity checks saw: how a replay of the call on the same input answered
 * differently, and how the call changed its input (each `undefined` when nothing was wrong or it was not checked).
 *
 * @since 0.1.0
 * @category models
 */
export interface Step {
  /** The index of the program operation this call serves; `null` for the runner's own calls at start and end. */
  readonly operation: number | null
  readonly call: Call
  readonly outcome: Outcome
  readonly replayDifference: string | undefined
  readonly inputChange: string | undefined
}

/**
 * Everything a run did. `end` says how it stopped: `Completed` (the program ran, then a `full` flush and a second
 * one), `Threw` (the last step threw or answered nonsense), or `Failed` (a flush or heartbeat answered `Failed`,
 * which stops a real shard too, so what was outstanding is then nobody's business).
 *
 * @since 0.1.0
 * @category models
 */
export interface Trace {
  readonly program: Programs.Program
  readonly steps: ReadonlyArray<Step>
  readonly end: "Completed" | "Threw" | "Failed"
  /** Whether every call was replayed and its input watched; the purity laws hold trivially otherwise. */
  readonly purityChecked: boolean
  /**
   * For a flusher with `addAll`: the first way the program played with `addAll` differs from the program played
   * one `add` at a time, or `undefined` when they agree (or the flusher has no `addAll`).
   */
  readonly bulkDifference: string | undefined
}

/**
 * How `run` plays a program.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** The shard the flusher is made for. Default `shardId-000000000000`. */
  readonly shardId?: ShardId.ShardId | undefined
  /**
   * Whether to call every operation twice on the same input and to compare the input before and after. Default
   * `true`; the runner turns it off when no law that needs it is checked.
   */
  readonly purity?: boolean | undefined
}

/**
 * Plays a program against a flusher, as the batch processor would, and records what happened.
 *
 * Each record offered gets a fresh token (1, 2, 3…). When the flusher answers `Full`, the runner keeps its state,
 * flushes `partial`, and offers the same record again with the same token; a second `Full` leaves the record out.
 * A `Failed` add leaves the record out and keeps the state. After each `full` flush, and at the end after the `full`
 * flush the runner always appends, it flushes `full` once more to see that nothing was left. A flush or heartbeat
 * that answers `Failed`, or any exception, stops the run.
 *
 * @since 0.1.0
 * @category running
 */
export const run = <S, B, E>(
  flusher: Flusher.Flusher<S, B, E>,
  program: Programs.Program,
  options: RunOptions = {}
): Trace => {
  const shardId = options.shardId ?? defaultShardId
  const purity = options.purity ?? true
  const steps: Array<Step> = []
  let end: Trace["end"] = "Completed"

  // Performs one call (twice, and watching its input, when purity is checked) and records it.
  const perform = <A>(
    operation: number | null,
    call: Call,
    input: object,
    invoke: () => A,
    read: (answer: A) => Reading<S>
  ): Reading<S> | undefined => {
    const before = purity ? snapshot(input) : undefined
    let answer: A
    try {
      answer = invoke()
    } catch (error) {
      steps.push({
        operation,
        call,
        outcome: threw(error, "call"),
        replayDifference: undefined,
        inputChange: undefined
      })
      end = "Threw"
      return undefined
    }
    let replayDifference: string | undefined
    let inputChange: string | undefined
    if (before !== undefined) {
      const first = snapshot(answer)
      inputChange = difference(before, snapshot(input))
      try {
        const again = difference(first, snapshot(invoke()))
        replayDifference = again === undefined ? undefined : `the answers differ at ${again}`
      } catch (error) {
        replayDifference = `the replay threw ${describeError(error)}`
      }
    }
    const reading = read(answer)
    steps.push({ operation, call, outcome: reading.outcome, replayDifference, inputChange })
    if (reading.outcome._tag === "Threw" || reading.outcome._tag === "Malformed") {
      end = "Threw"
      return undefined
    }
    return reading
  }

  const initialized = perform(null, { _tag: "Init", shardId }, { shardId }, () => flusher.init(shardId), (state) => ({
    outcome: { _tag: "Initialized" },
    next: { state }
  }))
  const bulkDifference = flusher.addAll === undefined ? undefined : compareBulk(flusher, program, shardId)
  if (initialized?.next === undefined) return { program, steps, end, purityChecked: purity, bulkDifference }
  let state = initialized.next.state

  // Answers whether the run goes on.
  const flushOnce = (operation: number | null, mode: FlushMode.FlushMode, origin: FlushOrigin): boolean => {
    const reading = perform(
      operation,
      { _tag: "Flush", mode, origin },
      { state },
      () => flusher.flush(state, mode),
      (answer) => readFlush(flusher, answer)
    )
    if (reading === undefined) return false
    if (reading.next === undefined) {
      end = "Failed"
      return false
    }
    state = reading.next.state
    return true
  }

  const flush = (operation: number | null, mode: FlushMode.FlushMode, origin: FlushOrigin): boolean =>
    flushOnce(operation, mode, origin) && (mode === "partial" || flushOnce(operation, "full", "secondFull"))

  const offer = (
    operation: number,
    record: StreamRecord.StreamRecord,
    token: Token.Token,
    now: number,
    attempt: "first" | "afterFull"
  ): Reading<S> | undefined => {
    const reading = perform(
      operation,
      { _tag: "Add", record, token, now, attempt },
      { state, record },
      () => flusher.add(state, record, token, now),
      readAdd
    )
    if (reading?.next !== undefined) state = reading.next.state
    return reading
  }

  let nextToken = 1
  const operations = program.operations
  for (let i = 0; i < operations.length && end === "Completed"; i++) {
    const operation = operations[i]
    switch (operation._tag) {
      case "Add": {
        // A copy, so that a flusher that changes its records cannot change the program, which replays the failure.
        const record = copyRecord(operation.record)
        const token = Token.unsafeMake(nextToken++)
        const first = offer(i, record, token, operation.now, "first")
        if (first?.outcome._tag === "Full" && flushOnce(i, "partial", "afterFull")) {
          offer(i, record, token, operation.now, "afterFull")
        }
        break
      }
      case "Flush":
        flush(i, operation.mode, "program")
        break
      case "Heartbeat": {
        const now = operation.now
        const reading = perform(
          i,
          { _tag: "Heartbeat", now },
          { state },
          () => flusher.heartbeat(state, now),
          (answer) => readFlush(flusher, answer)
        )
        if (reading?.next !== undefined) state = reading.next.state
        else if (reading !== undefined) end = "Failed"
        break
      }
    }
  }
  if (end === "Completed") flush(null, "full", "final")
  return { program, steps, end, purityChecked: purity, bulkDifference }
}

/**
 * Plays a program twice, one `add` at a time and with `addAll` for runs of adds at the same time, and describes the
 * first difference in what the flusher answered, or `undefined` when both agree.
 */
const compareBulk = <S, B, E>(
  flusher: Flusher.Flusher<S, B, E>,
  program: Programs.Program,
  shardId: ShardId.ShardId
): string | undefined => {
  let single: ReadonlyArray<string>
  let bulk: ReadonlyArray<string>
  try {
    single = playLogged(flusher, program, shardId, false)
    bulk = playLogged(flusher, program, shardId, true)
  } catch (error) {
    return `playing the program threw ${describeError(error)}`
  }
  for (let i = 0; i < Math.max(single.length, bulk.length); i++) {
    if (single[i] !== bulk[i]) {
      return `one add at a time: ${single[i] ?? "nothing more"}; with addAll: ${bulk[i] ?? "nothing more"}`
    }
  }
  return undefined
}

/** What the flusher answers, operation by operation, in words: the record of a play that `compareBulk` compares. */
const playLogged = <S, B, E>(
  flusher: Flusher.Flusher<S, B, E>,
  program: Programs.Program,
  shardId: ShardId.ShardId,
  useAddAll: boolean
): ReadonlyArray<string> => {
  const log: Array<string> = []
  let state = flusher.init(shardId)
  const logFlush = (label: string, answer: Flusher.FlushResult<S, B, E>): boolean => {
    if (answer._tag === "Failed") {
      log.push(`${label}: Failed`)
      return false
    }
    state = answer.state
    if (answer._tag === "NotFlushed") log.push(`${label}: NotFlushed`)
    else {
      const records = flusher.recordsOf?.(answer.batch).map(Position.format).join(" ") ?? "?"
      log.push(`${label}: Flushed tokens ${answer.tokens.join(" ")} records ${records}`)
    }
    return true
  }
  const addOne = (i: number, record: StreamRecord.StreamRecord, token: Token.Token, now: number): boolean => {
    let answer = flusher.add(state, record, token, now)
    if (answer._tag === "Full") {
      log.push(`#${i + 1} add ${Position.format(record)}: Full`)
      if (!logFlush(`#${i + 1} partial flush after Full`, flusher.flush(state, "partial"))) return false
      answer = flusher.add(state, record, token, now)
    }
    log.push(`#${i + 1} add ${Position.format(record)}: ${answer._tag}`)
    if (answer._tag === "Added" || answer._tag === "Ignored") state = answer.state
    return answer._tag !== "Failed"
  }

  const operations = program.operations
  let nextToken = 1
  for (let i = 0; i < operations.length; i++) {
    const operation = operations[i]
    if (operation._tag === "Flush") {
      if (!logFlush(`#${i + 1} flush ${operation.mode}`, flusher.flush(state, operation.mode))) return log
      continue
    }
    if (operation._tag === "Heartbeat") {
      if (!logFlush(`#${i + 1} heartbeat`, flusher.heartbeat(state, operation.now))) return log
      continue
    }
    // A run of adds at the same time, which the processor would see as one chunk.
    let end = i + 1
    while (
      useAddAll && end < operations.length && operations[end]._tag === "Add" && operations[end].now === operation.now
    ) end++
    const records: Array<StreamRecord.StreamRecord> = []
    for (let k = i; k < end; k++) {
      const add = operations[k]
      if (add._tag === "Add") records.push(copyRecord(add.record))
    }
    const firstToken = nextToken
    nextToken += records.length
    for (let j = 0; j < records.length;) {
      const bulk = useAddAll && flusher.addAll !== undefined
        ? flusher.addAll(state, records, j, records.length, Token.unsafeMake(firstToken + j), operation.now)
        : { state, count: 0 }
      for (let k = 0; k < bulk.count; k++) log.push(`#${i + j + k + 1} add ${Position.format(records[j + k])}: Added`)
      state = bulk.state
      j += bulk.count
      if (j < records.length) {
        if (!addOne(i + j, records[j], Token.unsafeMake(firstToken + j), operation.now)) return log
        j++
      }
    }
    i = end - 1
  }
  logFlush("final full flush", flusher.flush(state, "full"))
  return log
}

// -----------------------------------------------------------------------------
// laws
// -----------------------------------------------------------------------------

/**
 * The stable names of the laws.
 *
 * @since 0.1.0
 * @category models
 */
export type LawName =
  | "neverThrows"
  | "returnsEveryAcceptedToken"
  | "returnsNoTokenTwice"
  | "returnsOnlyAcceptedTokens"
  | "fullFlushLeavesNothing"
  | "emptyIsNeverFull"
  | "partialFlushMakesRoom"
  | "emptyHeartbeatFlushesNothing"
  | "replayGivesEqualResult"
  | "leavesInputsUnchanged"
  | "batchHoldsReturnedRecords"
  | "addAllAgreesWithAdd"

/**
 * A law: its name, a one-line summary of what it demands, and its predicate over a trace.
 *
 * @since 0.1.0
 * @category models
 */
export interface Law {
  readonly name: LawName
  readonly summary: string
  /** `undefined` when the law holds on the trace; otherwise what broke it first, in a sentence. */
  readonly check: (trace: Trace) => string | undefined
  /** Whether the law judges the replays and input snapshots that `run` takes when `purity` is on. */
  readonly needsPurity: boolean
  /** Whether the law says anything about this flusher (the batch law needs `recordsOf`). */
  readonly appliesTo: (flusher: { readonly recordsOf?: unknown; readonly addAll?: unknown }) => boolean
}

/**
 * The flusher reports its errors as `Failed` and never throws; every answer is one of the contract's results. An
 * exception in a flusher fails the whole shard instead of the one operation.
 *
 * @since 0.1.0
 * @category laws
 */
export const neverThrows: Law = makeLaw(
  "neverThrows",
  "no operation throws, and every answer is one of the contract's results",
  (trace) => {
    const last = trace.steps[trace.steps.length - 1]
    if (last === undefined || trace.end !== "Threw") return undefined
    const outcome = last.outcome
    if (outcome._tag === "Malformed") {
      return `at ${where(last)}: ${
        describeCall(last.call)
      } answered ${outcome.answer}, which is none of the contract's ` +
        `results`
    }
    if (outcome._tag !== "Threw") return undefined
    const source = outcome.during === "recordsOf" ?
      `recordsOf, on the batch of ${describeCall(last.call)},` :
      describeCall(last.call)
    return `at ${where(last)}: ${source} threw ${describeError(outcome.error)}`
  }
)

/**
 * Every token the flusher accepted (`Added`) comes back, from a flush or a heartbeat, by the end of the program. A
 * token that never comes back holds the shard's checkpoint back forever: the shard stalls.
 *
 * @since 0.1.0
 * @category laws
 */
export const returnsEveryAcceptedToken: Law = makeLaw(
  "returnsEveryAcceptedToken",
  "every token the flusher accepted comes back by the end, from a flush or a heartbeat",
  (trace) => {
    if (trace.end !== "Completed") return undefined
    const ledger = keepLedger(trace)
    const left = ledger.outstanding()
    if (left.length === 0) return undefined
    const first = ledger.entry(left[0])
    const more = left.length > 1 ? ` (and ${left.length - 1} more: tokens ${formatTokens(left.slice(1))})` : ""
    return `token ${left[0]} (record ${formatPosition(first?.record)}), accepted at ${whereAt(trace, first?.since)}, ` +
      `never came back, not even from the full flushes the runner appends at the end${more}`
  }
)

/**
 * No token comes back twice. A repeated token means the flusher wrote the record twice, or worse, that a later
 * write was credited to the wrong record; the processor refuses it and fails the shard.
 *
 * @since 0.1.0
 * @category laws
 */
export const returnsNoTokenTwice: Law = makeLaw(
  "returnsNoTokenTwice",
  "no token comes back twice",
  (trace) => {
    const ledger = keepLedger(trace)
    for (const event of ledger.returns) {
      if (event.verdict !== "twice") continue
      const step = trace.steps[event.step]
      const earlier = event.earlier === event.step ?
        "it appears twice in that one answer" :
        `the answer at ${whereAt(trace, event.earlier)} had already returned it`
      return `at ${where(step)}: ${describeCall(step.call)} returned token ${event.token} (record ` +
        `${formatPosition(ledger.entry(event.token)?.record)}), but ${earlier}`
    }
    return undefined
  }
)

/**
 * Only tokens the flusher accepted come back: never one it ignored, refused (with `Full` or `Failed`), or one that
 * was never issued. Such a token would let the shard checkpoint past a record that was never written.
 *
 * @since 0.1.0
 * @category laws
 */
export const returnsOnlyAcceptedTokens: Law = makeLaw(
  "returnsOnlyAcceptedTokens",
  "no token comes back that was ignored, refused, or never issued",
  (trace) => {
    const ledger = keepLedger(trace)
    for (const event of ledger.returns) {
      if (event.verdict === "accepted" || event.verdict === "twice") continue
      const step = trace.steps[event.step]
      const entry = ledger.entry(event.token)
      const record = `record ${formatPosition(entry?.record)}`
      const earlier = whereAt(trace, event.earlier)
      const why = {
        foreign: "was never issued: no record was offered with it",
        ignored: `belongs to ${record}, which the flusher answered Ignored at ${earlier}`,
        refusedFull:
          `belongs to ${record}, which the flusher refused with Full at ${earlier} and has not accepted since`,
        refusedFailed: `belongs to ${record}, which the flusher refused with Failed at ${earlier}`
      }[event.verdict]
      return `at ${where(step)}: ${describeCall(step.call)} returned token ${event.token}, which ${why}`
    }
    return undefined
  }
)

/**
 * A `full` flush leaves nothing outstanding, so a second `full` flush right after it returns no tokens. The shard's
 * end and shutdown rely on it: a record left behind is never written, and its shard never checkpoints its end.
 *
 * @since 0.1.0
 * @category laws
 */
export const fullFlushLeavesNothing: Law = makeLaw(
  "fullFlushLeavesNothing",
  "a full flush leaves no accepted token behind, and a second full flush returns none",
  (trace) => {
    const ledger = keepLedger(trace)
    for (let i = 0; i < trace.steps.length; i++) {
      const step = trace.steps[i]
      if (step.call._tag !== "Flush" || step.call.mode !== "full") continue
      if (step.outcome._tag !== "Flushed" && step.outcome._tag !== "NotFlushed") continue
      const left = ledger.outstandingAfter[i]
      if (left.length > 0) {
        const tokens = step.outcome._tag === "Flushed" ? describeTokens(step.outcome.tokens) : "nothing"
        return `at ${where(step)}: ${describeCall(step.call)} returned ${tokens} and left ${left.length} accepted ` +
          `token${left.length === 1 ? "" : "s"} behind: ${formatTokens(left)}`
      }
      if (step.call.origin === "secondFull" && step.outcome._tag === "Flushed" && step.outcome.tokens.length > 0) {
        return `at ${where(step)}: a second flush full, right after a full one, returned ` +
          describeTokens(step.outcome.tokens)
      }
    }
    return undefined
  }
)

/**
 * A flusher that holds no accepted token never answers `Full`. A record that cannot fit even in an empty batch must
 * be refused with a typed error, or the processor would flush nothing, offer it again, and fail.
 *
 * @since 0.1.0
 * @category laws
 */
export const emptyIsNeverFull: Law = makeLaw(
  "emptyIsNeverFull",
  "a flusher holding no accepted token never answers Full",
  (trace) => {
    const ledger = keepLedger(trace)
    for (let i = 0; i < trace.steps.length; i++) {
      const step = trace.steps[i]
      if (step.call._tag === "Add" && step.outcome._tag === "Full" && ledger.outstandingBefore[i] === 0) {
        return `at ${where(step)}: the flusher answered Full to record ${formatPosition(step.call.record)} while ` +
          `holding no accepted token`
      }
    }
    return undefined
  }
)

/**
 * After `Full`, a `partial` flush makes room: the same record is then `Added`, `Ignored`, or refused with `Failed`,
 * never `Full` again. The processor relies on one flush being enough, and treats a second `Full` as a broken
 * contract.
 *
 * @since 0.1.0
 * @category laws
 */
export const partialFlushMakesRoom: Law = makeLaw(
  "partialFlushMakesRoom",
  "after Full, a partial flush makes room for the same record",
  (trace) => {
    for (const step of trace.steps) {
      if (step.call._tag === "Add" && step.call.attempt === "afterFull" && step.outcome._tag === "Full") {
        return `at ${where(step)}: the flusher answered Full to record ${formatPosition(step.call.record)}, was ` +
          `flushed partially, and answered Full again to the same record`
      }
    }
    return undefined
  }
)

/**
 * A heartbeat on a flusher that holds no accepted token returns no tokens: there is nothing to flush, and any token
 * it returned would be invented.
 *
 * @since 0.1.0
 * @category laws
 */
export const emptyHeartbeatFlushesNothing: Law = makeLaw(
  "emptyHeartbeatFlushesNothing",
  "a heartbeat on an empty flusher returns no tokens",
  (trace) => {
    const ledger = keepLedger(trace)
    for (let i = 0; i < trace.steps.length; i++) {
      const step = trace.steps[i]
      if (
        step.call._tag === "Heartbeat" && step.outcome._tag === "Flushed" && step.outcome.tokens.length > 0 &&
        ledger.outstandingBefore[i] === 0
      ) {
        return `at ${where(step)}: a heartbeat on an empty flusher returned ${describeTokens(step.outcome.tokens)}`
      }
    }
    return undefined
  }
)

/**
 * Calling an operation again on the same input gives an equal answer: same tag, same tokens, equal batch and equal
 * state. The processor offers a refused record again from its kept state, and keeps old states across flushes.
 *
 * @since 0.1.0
 * @category laws
 */
export const replayGivesEqualResult: Law = makeLaw(
  "replayGivesEqualResult",
  "an operation replayed on the same input gives an equal answer",
  (trace) => {
    for (const step of trace.steps) {
      if (step.replayDifference !== undefined) {
        return `at ${where(step)}: ${describeCall(step.call)}, called twice on the same input, answered differently: ` +
          step.replayDifference
      }
    }
    return undefined
  },
  { needsPurity: true }
)

/**
 * No operation changes the state or the record it was given. A flusher that changes its input in place breaks
 * every kept state: after `Full`, the processor offers the record again to the state it kept.
 *
 * @since 0.1.0
 * @category laws
 */
export const leavesInputsUnchanged: Law = makeLaw(
  "leavesInputsUnchanged",
  "no operation changes the state or record it was given",
  (trace) => {
    for (const step of trace.steps) {
      if (step.inputChange !== undefined) {
        return `at ${where(step)}: ${describeCall(step.call)} changed its input: ${step.inputChange}`
      }
    }
    return undefined
  },
  { needsPurity: true }
)

/**
 * The batch a flush returns holds exactly the records whose tokens it returns, in any order. Otherwise a record is
 * counted as written when it was not, or written without being counted. Checked only for a flusher with
 * `recordsOf`.
 *
 * @since 0.1.0
 * @category laws
 */
export const batchHoldsReturnedRecords: Law = makeLaw(
  "batchHoldsReturnedRecords",
  "a flushed batch holds exactly the records whose tokens the flush returns",
  (trace) => {
    const ledger = keepLedger(trace)
    for (const step of trace.steps) {
      if (step.outcome._tag !== "Flushed" || step.outcome.records === undefined) continue
      const problem = compareBatch(step.outcome.tokens, step.outcome.records, ledger)
      if (problem !== undefined) return `at ${where(step)}: ${describeCall(step.call)} ${problem}`
    }
    return undefined
  },
  { appliesTo: (flusher) => flusher.recordsOf !== undefined }
)

/**
 * For a flusher with `addAll`: taking a run of records with `addAll` answers as taking them one `add` at a time
 * would (the same flushes, tokens and batches), so the processor's fast path changes nothing.
 *
 * @since 0.1.0
 * @category laws
 */
export const addAllAgreesWithAdd: Law = makeLaw(
  "addAllAgreesWithAdd",
  "adding a run of records with addAll answers as adding them one at a time",
  (trace) => trace.bulkDifference,
  { appliesTo: (flusher) => flusher.addAll !== undefined }
)

/**
 * Every law, in the order the runner reports them.
 *
 * @since 0.1.0
 * @category laws
 */
export const all: ReadonlyArray<Law> = [
  neverThrows,
  returnsEveryAcceptedToken,
  returnsNoTokenTwice,
  returnsOnlyAcceptedTokens,
  fullFlushLeavesNothing,
  emptyIsNeverFull,
  partialFlushMakesRoom,
  emptyHeartbeatFlushesNothing,
  replayGivesEqualResult,
  leavesInputsUnchanged,
  batchHoldsReturnedRecords,
  addAllAgreesWithAdd
]

/**
 * The laws with these names, in the order of `all`.
 *
 * @since 0.1.0
 * @category laws
 */
export const named = (names: ReadonlyArray<LawName>): ReadonlyArray<Law> =>
  all.filter((law) => names.includes(law.name))

/**
 * A broken law and what broke it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Violation {
  readonly law: Law
  readonly message: string
}

/**
 * The laws a trace breaks, each with its first violation.
 *
 * @since 0.1.0
 * @category laws
 */
export const violations = (trace: Trace, laws: ReadonlyArray<Law> = all): ReadonlyArray<Violation> => {
  const found: Array<Violation> = []
  for (const law of laws) {
    const message = law.check(trace)
    if (message !== undefined) found.push({ law, message })
  }
  return found
}

// -----------------------------------------------------------------------------
// formatting
// -----------------------------------------------------------------------------

/**
 * A trace, one call per line with the flusher's answer: the program's operations numbered as in
 * `Programs.format`, the runner's own calls indented under them or at the end.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (self: Trace): string => {
  const start = self.program.start
  const rows = self.steps.flatMap((step): Array<readonly [string, string]> => {
    if (step.call._tag === "Init" && step.outcome._tag === "Initialized") return []
    return [[describeStep(step, self.program.operations, start), describeOutcome(step.outcome)]]
  })
  const width = Math.min(80, Math.max(0, ...rows.map(([left]) => left.length)))
  const ending = self.end === "Completed" ?
    [] :
    [self.end === "Threw" ? "(the run stopped: the flusher threw)" : "(the run stopped: the flusher answered Failed)"]
  return [
    `clock starts at ${start} ms; ${plural(self.program.operations.length, "operation")}`,
    ...rows.map(([left, right]) => `${left.padEnd(width)}  -> ${right}`),
    ...ending
  ].join("\n")
}

// -----------------------------------------------------------------------------
// machinery: reading answers
// -----------------------------------------------------------------------------

// What the run needs from an answer: its outcome, and the state to go on from when the answer carries one.
interface Reading<S> {
  readonly outcome: Outcome
  readonly next: { readonly state: S } | undefined
}

const defaultShardId = ShardId.unsafeMake("shardId-000000000000")

const copyRecord = (record: StreamRecord.StreamRecord): StreamRecord.StreamRecord => ({
  ...record,
  aggregate: record.aggregate === null ? null : { ...record.aggregate },
  data: record.data.slice()
})

const threw = (error: unknown, during: "call" | "recordsOf"): Outcome => ({ _tag: "Threw", error, during })

const malformed = (answer: unknown): Reading<never> => ({
  outcome: { _tag: "Malformed", answer: preview(answer) },
  next: undefined
})

const readAdd = <S, E>(answer: Flusher.AddResult<S, E>): Reading<S> => {
  switch (answer?._tag) {
    case "Added":
      return { outcome: { _tag: "Added" }, next: { state: answer.state } }
    case "Ignored":
      return { outcome: { _tag: "Ignored" }, next: { state: answer.state } }
    case "Full":
      return { outcome: { _tag: "Full" }, next: undefined }
    case "Failed":
      return { outcome: { _tag: "Failed", error: answer.error }, next: undefined }
    default:
      return malformed(answer)
  }
}

const readFlush = <S, B, E>(flusher: Flusher.Flusher<S, B, E>, answer: Flusher.FlushResult<S, B, E>): Reading<S> => {
  switch (answer?._tag) {
    case "Flushed": {
      if (!Array.isArray(answer.tokens)) return malformed(answer)
      const tokens = [...answer.tokens]
      if (flusher.recordsOf === undefined) {
        return { outcome: { _tag: "Flushed", tokens, records: undefined }, next: { state: answer.state } }
      }
      try {
        const records = [...flusher.recordsOf(answer.batch)]
        return { outcome: { _tag: "Flushed", tokens, records }, next: { state: answer.state } }
      } catch (error) {
        return { outcome: threw(error, "recordsOf"), next: undefined }
      }
    }
    case "NotFlushed":
      return { outcome: { _tag: "NotFlushed" }, next: { state: answer.state } }
    case "Failed":
      return { outcome: { _tag: "Failed", error: answer.error }, next: undefined }
    default:
      return malformed(answer)
  }
}

// -----------------------------------------------------------------------------
// machinery: the token ledger
// -----------------------------------------------------------------------------

type Status = "accepted" | "returned" | "ignored" | "refusedFull" | "refusedFailed"

interface Entry {
  readonly record: StreamRecord.StreamRecord
  readonly status: Status
  /** The step that gave the token its status. */
  readonly since: number
}

interface ReturnEvent {
  readonly step: number
  readonly token: Token.Token
  readonly verdict: "accepted" | "twice" | "foreign" | "ignored" | "refusedFull" | "refusedFailed"
  /** The step that gave the token the status it had when it came back. */
  readonly earlier: number
}

interface Ledger {
  readonly entry: (token: Token.Token) => Entry | undefined
  readonly returns: ReadonlyArray<ReturnEvent>
  /** The number of accepted, unreturned tokens before each step. */
  readonly outstandingBefore: ReadonlyArray<number>
  /** The accepted, unreturned tokens after each step. */
  readonly outstandingAfter: ReadonlyArray<ReadonlyArray<Token.Token>>
  /** The accepted, unreturned tokens after the last step. */
  readonly outstanding: () => ReadonlyArray<Token.Token>
}

const statusAfterAdd: Partial<Record<Outcome["_tag"], Status>> = {
  Added: "accepted",
  Ignored: "ignored",
  Full: "refusedFull",
  Failed: "refusedFailed"
}

// Follows every token through the trace, as the batch processor's watermark would.
const keepLedger = (trace: Trace): Ledger => {
  const entries = new Map<Token.Token, Entry>()
  const outstanding = new Set<Token.Token>()
  const returns: Array<ReturnEvent> = []
  const outstandingBefore: Array<number> = []
  const outstandingAfter: Array<ReadonlyArray<Token.Token>> = []

  trace.steps.forEach((step, i) => {
    outstandingBefore.push(outstanding.size)
    const { call, outcome } = step
    if (call._tag === "Add") {
      const status = statusAfterAdd[outcome._tag]
      if (status !== undefined) entries.set(call.token, { record: call.record, status, since: i })
      if (status === "accepted") outstanding.add(call.token)
    }
    if (outcome._tag === "Flushed") {
      for (const token of outcome.tokens) {
        const entry = entries.get(token)
        if (entry === undefined) {
          returns.push({ step: i, token, verdict: "foreign", earlier: i })
        } else if (entry.status === "accepted") {
          returns.push({ step: i, token, verdict: "accepted", earlier: entry.since })
          entries.set(token, { ...entry, status: "returned", since: i })
          outstanding.delete(token)
        } else {
          returns.push({
            step: i,
            token,
            verdict: entry.status === "returned" ? "twice" : entry.status,
            earlier: entry.since
          })
        }
      }
    }
    outstandingAfter.push([...outstanding])
  })

  return {
    entry: (token) => entries.get(token),
    returns,
    outstandingBefore,
    outstandingAfter,
    outstanding: () => [...outstanding]
  }
}

const compareBatch = (
  tokens: ReadonlyArray<Token.Token>,
  records: ReadonlyArray<StreamRecord.StreamRecord>,
  ledger: Ledger
): string | undefined => {
  const unmatched = new Map<string, Array<StreamRecord.StreamRecord>>()
  for (const record of records) {
    const key = Position.format(record)
    const same = unmatched.get(key)
    if (same === undefined) unmatched.set(key, [record])
    else same.push(record)
  }
  for (const token of tokens) {
    // A token that was never issued names no record; `returnsOnlyAcceptedTokens` reports it.
    const expected = ledger.entry(token)?.record
    if (expected === undefined) continue
    const candidates = unmatched.get(Position.format(expected)) ?? []
    const match = candidates.findIndex((record) => StreamRecord.Equivalence(record, expected))
    if (match === -1) {
      return `returned token ${token}, but its batch does not hold its record ${formatPosition(expected)}` +
        (candidates.length > 0 ? " (it holds a different record at that position)" : "")
    }
    candidates.splice(match, 1)
  }
  for (const left of unmatched.values()) {
    if (left.length > 0) {
      return `returned a batch holding record ${formatPosition(left[0])}, whose token it did not return`
    }
  }
  return undefined
}

// -----------------------------------------------------------------------------
// machinery: describing steps
// -----------------------------------------------------------------------------

function makeLaw(
  name: LawName,
  summary: string,
  check: (trace: Trace) => string | undefined,
  options: { readonly needsPurity?: boolean; readonly appliesTo?: Law["appliesTo"] } = {}
): Law {
  return {
    name,
    summary,
    check,
    needsPurity: options.needsPurity ?? false,
    appliesTo: options.appliesTo ?? (() => true)
  }
}

// Where a step sits: the number of the program operation it serves, or the runner's own place.
const where = (step: Step): string =>
  step.operation === null ? (step.call._tag === "Init" ? "init" : "the end") : `#${step.operation + 1}`

const whereAt = (trace: Trace, index: number | undefined): string => {
  const step = index === undefined ? undefined : trace.steps[index]
  return step === undefined ? "an unknown step" : where(step)
}

const describeCall = (call: Call): string => {
  switch (call._tag) {
    case "Init":
      return `init(${call.shardId})`
    case "Add":
      return `add of record ${formatPosition(call.record)}${call.attempt === "afterFull" ? " (offered again)" : ""}`
    case "Flush":
      return `flush ${call.mode}${flushOrigins[call.origin]}`
    case "Heartbeat":
      return "heartbeat"
  }
}

const flushOrigins: Record<FlushOrigin, string> = {
  program: "",
  afterFull: " (after Full)",
  secondFull: " (a second one)",
  final: " (at the end)"
}

const describeStep = (step: Step, operations: ReadonlyArray<Programs.Operation>, start: number): string => {
  const call = step.call
  const operation = step.operation === null ? undefined : operations[step.operation]
  const programmed = (call._tag === "Add" && call.attempt === "first") ||
    (call._tag === "Flush" && call.origin === "program") || call._tag === "Heartbeat"
  if (programmed && operation !== undefined && step.operation !== null) {
    const token = call._tag === "Add" ? `, token ${call.token}` : ""
    return `#${step.operation + 1} ${Programs.formatOperation(operation, start)}${token}`
  }
  switch (call._tag) {
    case "Init":
      return `init ${call.shardId}`
    case "Add":
      return `   then add ${formatPosition(call.record)} again, token ${call.token}`
    case "Flush":
      return call.origin === "final" ?
        `end flush ${call.mode} (appended by the runner)` :
        `   then flush ${call.mode}${flushOrigins[call.origin]}`
    case "Heartbeat":
      return "   heartbeat"
  }
}

const describeOutcome = (outcome: Outcome): string => {
  switch (outcome._tag) {
    case "Flushed": {
      const records = outcome.records === undefined ? "" : ` (${plural(outcome.records.length, "record")})`
      return `Flushed ${describeTokens(outcome.tokens)}${records}`
    }
    case "Failed":
      return `Failed: ${describeError(outcome.error)}`
    case "Threw":
      return `threw ${describeError(outcome.error)}${outcome.during === "recordsOf" ? " (in recordsOf)" : ""}`
    case "Malformed":
      return `answered ${outcome.answer}`
    default:
      return outcome._tag
  }
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? "" : "s"}`

const formatPosition = (record: StreamRecord.StreamRecord | undefined): string =>
  record === undefined ? "(none)" : Position.format(record)

const describeTokens = (tokens: ReadonlyArray<Token.Token>): string =>
  tokens.length === 0 ? "no tokens" : `${tokens.length === 1 ? "token" : "tokens"} ${formatTokens(tokens)}`

// Runs of consecutive tokens as ranges: 1-4, 7, 9-10.
const formatTokens = (tokens: ReadonlyArray<Token.Token>): string => {
  const parts: Array<string> = []
  for (let i = 0; i < tokens.length;) {
    let j = i
    while (j + 1 < tokens.length && tokens[j + 1] === tokens[j] + 1) j++
    parts.push(j === i ? `${tokens[i]}` : `${tokens[i]}-${tokens[j]}`)
    i = j + 1
  }
  return parts.join(", ")
}

const describeError = (error: unknown): string => {
  if (error instanceof Error) return truncate(`${error.name}: ${error.message}`)
  return preview(error)
}

const preview = (value: unknown): string => {
  if (typeof value === "object" && value !== null && "_tag" in value) return `a value tagged ${String(value._tag)}`
  return truncate(show(snapshot(value)))
}

const truncate = (text: string, max = 160): string => text.length <= max ? text : `${text.slice(0, max - 1)}…`

// -----------------------------------------------------------------------------
// machinery: structural snapshots
// -----------------------------------------------------------------------------

// A copy of a value's structure that later changes to the value cannot reach: a leaf is a string that says what
// the value was (strings quoted, numbers and other primitives as written, bytes in hex); a node lists its entries.
type Shape = string | Node

interface Node {
  readonly type: string
  readonly entries: ReadonlyArray<readonly [label: string, shape: Shape]>
}

// An object met twice in one snapshot becomes a reference to where it was first met, so shared structure (linked
// lists of earlier states, persistent maps) costs one visit and cycles end.
const snapshot = (value: unknown): Shape => {
  const seen = new Map<object, string>()
  const visit = (value: unknown, path: string): Shape => {
    switch (typeof value) {
      case "string":
        return JSON.stringify(value)
      case "number":
        return Object.is(value, -0) ? "-0" : String(value)
      case "bigint":
        return `${value}n`
      case "boolean":
      case "undefined":
      case "symbol":
        return String(value)
      case "function":
        // Closures made per call would never compare equal by identity, so a function is only its name.
        return `[function ${value.name}]`
    }
    if (value === null) return "null"
    const object = value as object
    const first = seen.get(object)
    if (first !== undefined) return `[the object at ${first === "" ? "the root" : first}]`
    seen.set(object, path)

    if (ArrayBuffer.isView(object)) {
      const bytes = new Uint8Array(object.buffer, object.byteOffset, object.byteLength)
      let hex = ""
      for (let i = 0; i < bytes.length; i++) hex += bytes[i].toString(16).padStart(2, "0")
      return `${object.constructor.name}<${hex}>`
    }
    if (object instanceof Date) return `Date(${object.getTime()})`
    const entries: Array<readonly [string, Shape]> = []
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) entries.push([`[${i}]`, visit(object[i], `${path}[${i}]`)])
      return { type: "Array", entries }
    }
    if (object instanceof Map) {
      let i = 0
      for (const [key, item] of object) {
        const label = `.get(${truncate(show(visit(key, `${path}.keys[${i}]`)), 40)})`
        entries.push([label, visit(item, `${path}${label}`)])
        i++
      }
      return { type: "Map", entries }
    }
    if (object instanceof Set) {
      let i = 0
      for (const item of object) {
        entries.push([`{${i}}`, visit(item, `${path}{${i}}`)])
        i++
      }
      return { type: "Set", entries }
    }
    if (object instanceof Error) {
      entries.push([".name", JSON.stringify(object.name)], [".message", JSON.stringify(object.message)])
    }
    const record = object as Record<string, unknown>
    for (const key of Object.keys(object)) entries.push([`.${key}`, visit(record[key], `${path}.${key}`)])
    const prototype: unknown = Object.getPrototypeOf(object)
    const type = prototype === Object.prototype || prototype === null ?
      "Object" :
      (object.constructor?.name || "object")
    return { type, entries }
  }
  return visit(value, "")
}

// The first place where two snapshots differ, as `path: before then after`, or `undefined` when they are equal.
const difference = (self: Shape, that: Shape, path = ""): string | undefined => {
  if (typeof self === "string" || typeof that === "string") {
    return self === that
      ? undefined
      : `${describePath(path)}: ${truncate(show(self), 60)} then ${truncate(show(that), 60)}`
  }
  if (self.type !== that.type) return `${describePath(path)}: a ${self.type} then a ${that.type}`
  const length = Math.max(self.entries.length, that.entries.length)
  for (let i = 0; i < length; i++) {
    const before = self.entries[i]
    const after = that.entries[i]
    if (before === undefined) return `${describePath(path + after[0])}: absent then ${truncate(show(after[1]), 60)}`
    if (after === undefined) return `${describePath(path + before[0])}: ${truncate(show(before[1]), 60)} then absent`
    if (before[0] !== after[0]) {
      return `${describePath(path)}: entry ${before[0]} then ${after[0]} in the same place`
    }
    const found = difference(before[1], after[1], path + before[0])
    if (found !== undefined) return found
  }
  return undefined
}

const describePath = (path: string): string => {
  const trimmed = path.startsWith(".") ? path.slice(1) : path
  return trimmed === "" ? "the value itself" : trimmed
}

const show = (shape: Shape): string => {
  if (typeof shape === "string") return shape
  const inner = shape.entries.map(([label, item]) => `${label}: ${show(item)}`).join(", ")
  return `${shape.type} { ${inner} }`
}
