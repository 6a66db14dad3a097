/**
 * The Node side of the MultiLang worker: stdin as lines, stdout kept for the protocol, logs on stderr, and the exit.
 *
 * @internal
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { isAscii } from "node:buffer"

/** Reading stdin or writing stdout failed. @internal */
export class StdioError extends Data.TaggedError("StdioError")<{ readonly detail: string }> {
  override get message(): string {
    return this.detail
  }
}

/**
 * Runs a worker on stdin and stdout and exits the process when it is done.
 *
 * @internal
 */
export const runMain = <E, LE, R>(
  worker: (
    input: Stream.Stream<string, StdioError>,
    output: (line: string) => Effect.Effect<void, StdioError>
  ) => Effect.Effect<void, E, R>,
  layer: Layer.Layer<R, LE>
): void => {
  const output = keepStdoutForProtocol()
  const program = Effect.gen(function*() {
    const level = yield* Config.logLevel("FLUSHER_LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info))
    return yield* worker(linesOf(process.stdin), output).pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(level)
    )
  }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))))

  NodeRuntime.runMain(program, {
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit) => {
      if (Exit.isFailure(exit)) process.stderr.write(`${describeFailure(exit.cause)}\n`)
      // Exits at once, rather than when the event loop empties: a writer's idle socket must not keep the daemon
      // waiting for a worker that is done. Protocol lines were flushed before the program ended.
      process.exit(Exit.isSuccess(exit) ? 0 : 1)
    }
  })
}

const describeFailure = (cause: Cause.Cause<unknown>): string => {
  if (Cause.isInterruptedOnly(cause)) {
    return "The MultiLang worker was interrupted (SIGINT or SIGTERM) and stopped without checkpointing further."
  }
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && failure.value instanceof Error) return failure.value.message
  return `The MultiLang worker failed unexpectedly: ${Cause.pretty(cause)}`
}

/**
 * Sends everything written to `process.stdout` from now on to stderr, and returns a writer of protocol lines to the
 * real stdout. A stray `console.log` in a flusher or a dependency would otherwise reach the daemon, which acts on a
 * line that parses as a message and stops reading at junk.
 */
const keepStdoutForProtocol = (): (line: string) => Effect.Effect<void, StdioError> => {
  const stdout = process.stdout
  const write = stdout.write.bind(stdout)
  stdout.write = process.stderr.write.bind(process.stderr)
  // A closed pipe is reported to the write's callback; without a listener it would also crash the process.
  stdout.on("error", () => {})
  return (line) =>
    Effect.async<void, StdioError>((resume) => {
      write(`${line}\n`, (error) => {
        resume(
          error === null || error === undefined
            ? Effect.void
            : Effect.fail(new StdioError({ detail: `stdout: ${error.message}` }))
        )
      })
    })
}

const newline = 0x0a
const carriageReturn = 0x0d

/**
 * The lines of a byte stream, decoded as UTF-8, without their `\n` or `\r\n`. A line is cut at the byte `0x0A`,
 * which never occurs inside a multi-byte character, and decoded once whole: a `processRecords` line runs to megabytes
 * and arrives in many chunks.
 */
const linesOf = (readable: NodeJS.ReadableStream): Stream.Stream<string, StdioError> =>
  Stream.asyncPush<string, StdioError>((emit) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        let pending: Array<Buffer> = []
        const lineOf = (bytes: Buffer): string => {
          const end = bytes.length > 0 && bytes[bytes.length - 1] === carriageReturn ? bytes.length - 1 : bytes.length
          // The daemon's JSON is ASCII but for non-ASCII partition keys: checking that is several times faster
          // than decoding UTF-8, and ASCII decodes as Latin-1 several times faster again.
          return bytes.toString(isAscii(bytes) ? "latin1" : "utf8", 0, end)
        }
        const onData = (data: Buffer | string) => {
          const chunk = typeof data === "string" ? Buffer.from(data, "utf8") : data
          const lines: Array<string> = []
          let start = 0
          let end = chunk.indexOf(newline, start)
          while (end !== -1) {
            const piece = chunk.subarray(start, end)
            if (pending.length === 0) {
              lines.push(lineOf(piece))
            } else {
              pending.push(piece)
              lines.push(lineOf(Buffer.concat(pending)))
              pending = []
            }
            start = end + 1
            end = chunk.indexOf(newline, start)
          }
          if (start < chunk.length) pending.push(chunk.subarray(start))
          if (lines.length > 0) emit.chunk(Chunk.unsafeFromArray(lines))
        }
        const onEnd = () => {
          // The daemon ends every line; a last one without its newline is still a line.
          if (pending.length > 0) emit.single(lineOf(Buffer.concat(pending)))
          pending = []
          emit.end()
        }
        const onError = (error: Error) => emit.fail(new StdioError({ detail: `stdin: ${error.message}` }))
        readable.on("data", onData)
        readable.on("end", onEnd)
        readable.on("error", onError)
        return { onData, onEnd, onError }
      }),
      ({ onData, onEnd, onError }) =>
        Effect.sync(() => {
          readable.off("data", onData)
          readable.off("end", onEnd)
          readable.off("error", onError)
        })
    ), { bufferSize: "unbounded" })
