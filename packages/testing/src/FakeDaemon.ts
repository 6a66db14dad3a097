/**
 * A fake KCL MultiLangDaemon, to test a MultiLang worker as the daemon runs it: as a child process speaking the
 * protocol on its stdin and stdout.
 *
 * It launches the worker as the daemon does (`executableName` split on spaces, no shell, the environment and working
 * directory inherited), sends actions, answers checkpoint requests with scripted replies, and checks every line the
 * worker writes, more strictly than the daemon, which would skip a bad line and then wait forever:
 *
 * - each line is a known message with exactly the protocol's keys (`keys: "known"` allows a key to be left out, as
 *   the daemon does, for clients such as `aws-kcl` that leave `subSequenceNumber` out);
 * - a status answers the action just sent, and comes once;
 * - checkpoint requests come only between an action and its status, never during `initialize` or a lost lease;
 * - nothing is written between actions.
 *
 * Blank lines are skipped, as the daemon skips them. Everything exchanged is kept in a transcript, with the worker's
 * stderr and exit. It depends on no test framework: tests and benchmarks use it alike.
 *
 * @example
 * ```ts
 * import { FakeDaemon } from "@flusher/testing"
 * import { Effect } from "effect"
 *
 * const session = Effect.scoped(
 *   Effect.gen(function*() {
 *     const daemon = yield* FakeDaemon.spawn({ executableName: "node worker.js" })
 *     yield* daemon.act({ action: "initialize", shardId: "shardId-000000000000", sequenceNumber: "TRIM_HORIZON" })
 *     const exchange = yield* daemon.act({ action: "shardEnded" }, { replies: ["ThrottlingException"] })
 *     yield* daemon.closeInput
 *     return { exchange, exited: yield* daemon.exited }
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 */
import type { MultiLang } from "@flusher/core"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { spawn as spawnChild } from "node:child_process"
import { createInterface } from "node:readline"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * How to launch the worker.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The command, split on spaces and run without a shell, as the daemon's `executableName`. */
  readonly executableName: string
  /** Variables set over the inherited environment; `undefined` removes one. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** The working directory. Default: this process's. */
  readonly cwd?: string | undefined
  /** How lines sent to the worker end. Default `"\n"`; the daemon on Windows writes `"\r\n"`. */
  readonly lineEnding?: "\n" | "\r\n" | undefined
  /**
   * `"exact"` (default): every line must hold exactly the protocol's keys. `"known"`: no key the protocol does not
   * name, as the daemon requires, but keys may be left out.
   */
  readonly keys?: "exact" | "known" | undefined
  /** How long to wait for each line of the worker, and for its exit. Default 30 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * An action to send: a message as the daemon writes it, or one encoded beforehand with `prepare`.
 *
 * @since 0.1.0
 * @category models
 */
export type Action =
  | MultiLang.InitializeEncoded
  | MultiLang.ProcessRecordsEncoded
  | MultiLang.LeaseLost
  | MultiLang.ShardEnded
  | MultiLang.ShutdownRequested
  | MultiLang.Shutdown
  | Prepared

/**
 * An action encoded once, to send many times without encoding it again (a benchmark's records).
 *
 * @since 0.1.0
 * @category models
 */
export interface Prepared {
  readonly _tag: "Prepared"
  readonly action: MultiLang.ActionName
  /** Whether the daemon accepts checkpoints during this action. */
  readonly checkpointer: boolean
  readonly line: string
  /** The line and its `\n` as UTF-8, so that sending it encodes nothing. */
  readonly bytes: Uint8Array
}

/**
 * A checkpoint request as the worker wrote it (keys it left out read as `null`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckpointRequest {
  readonly sequenceNumber: string | null
  readonly subSequenceNumber: number | null
}

/**
 * How to answer checkpoint requests: the `error` of each reply in turn (`null`: stored), then `null` for the rest;
 * or a function of the request and its index within the action.
 *
 * @since 0.1.0
 * @category models
 */
export type Replies =
  | ReadonlyArray<string | null>
  | ((request: CheckpointRequest, index: number) => string | null)

/**
 * An action and the checkpoint requests made during it, with the error each was answered with.
 *
 * @since 0.1.0
 * @category models
 */
export interface Exchange {
  readonly action: MultiLang.ActionName
  readonly checkpoints: ReadonlyArray<{ readonly request: CheckpointRequest; readonly error: string | null }>
}

/**
 * A line of the transcript.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly from: "daemon" | "worker"
  readonly line: string
}

/**
 * How the worker ended: its exit code (or the signal that killed it), its stderr, and the lines it wrote that no
 * action read (a worker that keeps to the protocol leaves none).
 *
 * @since 0.1.0
 * @category models
 */
export interface Exited {
  readonly code: number | null
  readonly signal: string | null
  readonly stderr: string
  readonly unread: ReadonlyArray<string>
}

/**
 * A running worker and the daemon side of its session.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeDaemon {
  readonly pid: number | undefined
  /**
   * Sends an action, answers the worker's checkpoint requests with `replies`, and returns once its status came.
   * Fails when the worker breaks the protocol, exits, or takes longer than the timeout for a line.
   */
  readonly act: (action: Action, options?: { readonly replies?: Replies | undefined }) => Effect.Effect<
    Exchange,
    FakeDaemonError
  >
  /** Sends an action without waiting for anything. */
  readonly send: (action: Action) => Effect.Effect<void, FakeDaemonError>
  /** Sends a line as it is (the line ending is added): to send what no daemon would. */
  readonly sendLine: (line: string) => Effect.Effect<void, FakeDaemonError>
  /** Closes the worker's stdin, as the daemon does after the last status, or when it dies. */
  readonly closeInput: Effect.Effect<void>
  /** Waits for the worker to exit, at most the timeout. */
  readonly exited: Effect.Effect<Exited, FakeDaemonError>
  /** What the worker wrote to stderr so far. */
  readonly stderr: Effect.Effect<string>
  readonly transcript: Effect.Effect<ReadonlyArray<Entry>>
}

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * The worker did something a daemon would not accept (`ProtocolViolation`), exited or closed stdout while an answer
 * was due (`WorkerExited`), did not answer in time (`Timeout`), or could not be written to or started
 * (`WriteFailed`, `SpawnFailed`). The message ends with the worker's last stderr lines.
 *
 * @since 0.1.0
 * @category errors
 */
export class FakeDaemonError extends Data.TaggedError("FakeDaemonError")<{
  readonly reason: "ProtocolViolation" | "WorkerExited" | "Timeout" | "WriteFailed" | "SpawnFailed"
  readonly detail: string
  readonly stderr: string
}> {
  override get message(): string {
    const tail = this.stderr.length > 2000 ? `...${this.stderr.slice(-2000)}` : this.stderr
    return `Fake MultiLangDaemon (${this.reason}): ${this.detail}` +
      (tail.trim() === "" ? " The worker wrote nothing to stderr." : `\nThe worker's stderr:\n${tail}`)
  }
}

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * Encodes an action once, for sending it many times.
 *
 * @since 0.1.0
 * @category constructors
 */
export const prepare = (action: Exclude<Action, Prepared>): Prepared => {
  const line = JSON.stringify(action)
  return {
    _tag: "Prepared",
    action: action.action,
    checkpointer: hasCheckpointer(action),
    line,
    bytes: Buffer.from(`${line}\n`, "utf8")
  }
}

/**
 * Launches a worker. The process is killed when the scope closes, if it is still running.
 *
 * @since 0.1.0
 * @category constructors
 */
export const spawn = (options: Options): Effect.Effect<FakeDaemon, FakeDaemonError, Scope.Scope> =>
  Effect.gen(function*() {
    const timeout = Duration.decode(options.timeout ?? "30 seconds")
    const ending = options.lineEnding ?? "\n"
    const exact = (options.keys ?? "exact") === "exact"
    const [command, ...args] = options.executableName.split(" ").filter((part) => part.length > 0)
    const env: Record<string, string | undefined> = { ...process.env, ...options.env }
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key]

    // Lines of the worker, `null` once its stdout closed; fed by Node's callbacks.
    const lines = yield* Queue.unbounded<string | null>()
    const exit = yield* Deferred.make<{ readonly code: number | null; readonly signal: string | null }>()
    const transcript: Array<Entry> = []
    const stderr: Array<string> = []
    let stdoutClosed = false
    let startError = null as Error | null

    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawnChild(command, args, { cwd: options.cwd ?? process.cwd(), env, stdio: ["pipe", "pipe", "pipe"] })
      ),
      (child) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
    )
    child.stdin.on("error", () => {})
    child.stderr.setEncoding("utf8")
    child.stderr.on("data", (text: string) => stderr.push(text))
    const reader = createInterface({ input: child.stdout, crlfDelay: Infinity })
    reader.on("line", (line) => {
      transcript.push({ from: "worker", line })
      if (line.trim() !== "") Queue.unsafeOffer(lines, line)
    })
    reader.on("close", () => {
      stdoutClosed = true
      Queue.unsafeOffer(lines, null)
    })
    child.on("error", (error) => {
      startError = error
      Deferred.unsafeDone(exit, Effect.succeed({ code: null, signal: null }))
    })
    child.on("close", (code, signal) => Deferred.unsafeDone(exit, Effect.succeed({ code, signal })))

    const fail = (reason: FakeDaemonError["reason"], detail: string) =>
      new FakeDaemonError({ reason, detail, stderr: stderr.join("") })

    const write = (line: string, bytes?: Uint8Array): Effect.Effect<void, FakeDaemonError> =>
      Effect.async<void, FakeDaemonError>((resume) => {
        transcript.push({ from: "daemon", line })
        const data = bytes !== undefined && ending === "\n" ? bytes : `${line}${ending}`
        child.stdin.write(data, (error) => {
          if (error === null || error === undefined) return resume(Effect.void)
          // A worker that could not start fails its first write; its 'error' event says why, a moment later.
          setImmediate(() =>
            resume(Effect.fail(
              startError === null ?
                fail("WriteFailed", `could not write to the worker's stdin: ${error.message}`) :
                fail("SpawnFailed", `could not start ${JSON.stringify(options.executableName)}: ${startError.message}`)
            ))
          )
        })
      })

    // The next message of the worker, checked; fails when the worker closed stdout or took too long.
    const next = (waitingFor: string): Effect.Effect<WorkerMessage, FakeDaemonError> =>
      Queue.take(lines).pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => fail("Timeout", `no line from the worker in ${Duration.format(timeout)} ${waitingFor}`)
        }),
        Effect.flatMap((line) => {
          if (line === null) {
            // Once closed, stays closed for every later read.
            Queue.unsafeOffer(lines, null)
            return Effect.fail(
              startError === null ?
                fail("WorkerExited", `the worker closed stdout ${waitingFor}`) :
                fail("SpawnFailed", `could not start ${JSON.stringify(options.executableName)}: ${startError.message}`)
            )
          }
          const parsed = parseWorkerLine(line, exact)
          return typeof parsed === "string" ?
            Effect.fail(fail("ProtocolViolation", `${parsed} ${waitingFor}: ${excerpt(line)}`)) :
            Effect.succeed(parsed)
        })
      )

    const send = (action: Action): Effect.Effect<void, FakeDaemonError> =>
      "_tag" in action ? write(action.line, action.bytes) : write(JSON.stringify(action))

    const act = (
      action: Action,
      actOptions: { readonly replies?: Replies | undefined } = {}
    ): Effect.Effect<Exchange, FakeDaemonError> =>
      Effect.gen(function*() {
        const name = action.action
        const checkpointer = "_tag" in action ? action.checkpointer : hasCheckpointer(action)
        const early = yield* Queue.takeAll(lines)
        const written = Array.from(early).filter((line): line is string => line !== null)
        if (written.length > 0) {
          return yield* Effect.fail(
            fail("ProtocolViolation", `the worker wrote between actions, before ${name}: ${excerpt(written[0])}`)
          )
        }
        if (early.length > 0) Queue.unsafeOffer(lines, null)

        yield* send(action)
        const checkpoints: Array<Exchange["checkpoints"][number]> = []
        const waitingFor = `while waiting for the status of ${name}`
        for (;;) {
          const message = yield* next(waitingFor)
          if (message.action === "status") {
            if (message.responseFor !== name) {
              return yield* Effect.fail(
                fail("ProtocolViolation", `the worker answered ${name} with a status for ${message.responseFor}`)
              )
            }
            return { action: name, checkpoints }
          }
          if (!checkpointer) {
            return yield* Effect.fail(
              fail(
                "ProtocolViolation",
                `the worker asked for a checkpoint during ${describeAction(action)}, when the daemon has no ` +
                  `checkpointer (it would answer InvalidStateException)`
              )
            )
          }
          const request = { sequenceNumber: message.sequenceNumber, subSequenceNumber: message.subSequenceNumber }
          const replies = actOptions.replies ?? []
          const error = typeof replies === "function" ?
            replies(request, checkpoints.length) :
            replies[checkpoints.length] ?? null
          checkpoints.push({ request, error })
          yield* write(JSON.stringify({ action: "checkpoint", ...request, error }))
        }
      })

    const exited = Deferred.await(exit).pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => fail("Timeout", `the worker did not exit within ${Duration.format(timeout)}`)
      }),
      // The exit can come before the last lines of stdout were read: wait for stdout to close too.
      Effect.zipLeft(Effect.promise(() => stdoutClosed ? Promise.resolve() : onceClosed(reader))),
      Effect.flatMap(({ code, signal }) =>
        Effect.map(Queue.takeAll(lines), (left) => ({
          code,
          signal,
          stderr: stderr.join(""),
          unread: Array.from(left).filter((line): line is string => line !== null)
        }))
      )
    )

    return {
      pid: child.pid,
      act,
      send,
      sendLine: (line) => write(line),
      closeInput: Effect.sync(() => {
        child.stdin.end()
      }),
      exited,
      stderr: Effect.sync(() => stderr.join("")),
      transcript: Effect.sync(() => transcript.slice())
    }
  })

// -----------------------------------------------------------------------------
// internal
// -----------------------------------------------------------------------------

type WorkerMessage =
  | { readonly action: "status"; readonly responseFor: string }
  | { readonly action: "checkpoint"; readonly sequenceNumber: string | null; readonly subSequenceNumber: number | null }

const hasCheckpointer = (action: Exclude<Action, Prepared>): boolean =>
  action.action !== "initialize" && action.action !== "leaseLost" &&
  !(action.action === "shutdown" && action.reason === "ZOMBIE")

const describeAction = (action: Action): string =>
  "_tag" in action || action.action !== "shutdown" ? action.action : `shutdown ${action.reason}`

const statusKeys = ["action", "responseFor"]
const checkpointKeys = ["action", "sequenceNumber", "subSequenceNumber"]

/** The message a line holds, or why it is not one the daemon would act on. */
const parseWorkerLine = (line: string, exact: boolean): WorkerMessage | string => {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch {
    return "the worker wrote a line that is not JSON"
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return "the worker wrote JSON that is not an object"
  }
  const fields = json as Record<string, unknown>
  const keys = fields.action === "status" ? statusKeys : fields.action === "checkpoint" ? checkpointKeys : null
  if (keys === null) return `the worker wrote a message with the unknown action ${JSON.stringify(fields.action)}`
  const extra = Object.keys(fields).filter((key) => !keys.includes(key))
  if (extra.length > 0) return `the worker wrote a ${fields.action} with keys the daemon does not know (${extra})`
  const missing = keys.filter((key) => !(key in fields))
  if (exact && missing.length > 0) return `the worker wrote a ${fields.action} without the keys ${missing}`

  if (fields.action === "status") {
    const { responseFor } = fields
    return typeof responseFor === "string"
      ? { action: "status", responseFor }
      : "the worker wrote a status without responseFor"
  }
  const sequenceNumber = fields.sequenceNumber ?? null
  const subSequenceNumber = fields.subSequenceNumber ?? null
  if (sequenceNumber !== null && !(typeof sequenceNumber === "string" && /^[0-9]+$/.test(sequenceNumber))) {
    return "the worker asked for a checkpoint at a sequence number that is not a string of digits"
  }
  if (subSequenceNumber !== null && !(Number.isSafeInteger(subSequenceNumber) && Number(subSequenceNumber) >= 0)) {
    return "the worker asked for a checkpoint at a sub-sequence number that is not a non-negative integer"
  }
  return { action: "checkpoint", sequenceNumber, subSequenceNumber: subSequenceNumber as number | null }
}

const excerpt = (line: string): string =>
  line.length > 300 ? `${line.slice(0, 300)}... (${line.length} characters)` : line

const onceClosed = (reader: ReturnType<typeof createInterface>): Promise<void> =>
  new Promise((resolve) => reader.once("close", () => resolve()))
