import { assert, describe, it } from "@effect/vitest"
import { MultiLang, MultiLangSession, Position, SequenceNumber, ShardId } from "@flusher/core"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"

const shardId = ShardId.unsafeMake("shardId-000000000004")
const seq = SequenceNumber.unsafeMake

// -----------------------------------------------------------------------------
// a small language for conversations
// -----------------------------------------------------------------------------

type Step =
  | { readonly _tag: "Receive"; readonly message: MultiLang.DaemonMessage }
  | { readonly _tag: "Send"; readonly message: MultiLang.WorkerMessage }

const receive = (message: MultiLang.DaemonMessage): Step => ({ _tag: "Receive", message })
const send = (message: MultiLang.WorkerMessage): Step => ({ _tag: "Send", message })

const initialize: MultiLang.Initialize = {
  action: "initialize",
  shardId,
  initialPosition: { _tag: "AtSentinel", sentinel: "TRIM_HORIZON" }
}
const processRecords: MultiLang.ProcessRecords = { action: "processRecords", records: [], millisBehindLatest: 0 }
const leaseLost: MultiLang.LeaseLost = { action: "leaseLost" }
const shardEnded: MultiLang.ShardEnded = { action: "shardEnded" }
const shutdownRequested: MultiLang.ShutdownRequested = { action: "shutdownRequested" }
const zombie: MultiLang.Shutdown = { action: "shutdown", reason: "ZOMBIE" }
const terminate: MultiLang.Shutdown = { action: "shutdown", reason: "TERMINATE" }

const reply = (
  request: MultiLang.CheckpointRequest,
  error: string | null = null
): MultiLang.CheckpointReply => ({
  action: "checkpoint",
  sequenceNumber: request.sequenceNumber,
  subSequenceNumber: request.subSequenceNumber,
  error
})

const atRecord = MultiLang.checkpointRequest(Position.make(seq("1234"), 0))
const atEnd = MultiLang.checkpointRequest(null)

/** An action answered at once. */
const handled = (action: MultiLang.Action): ReadonlyArray<Step> => [
  receive(action),
  send(MultiLang.status(action.action))
]

/** An action answered after a checkpoint request and its reply. */
const handledWithCheckpoint = (
  action: MultiLang.Action,
  request: MultiLang.CheckpointRequest,
  error: string | null = null
): ReadonlyArray<Step> => [
  receive(action),
  send(request),
  receive(reply(request, error)),
  send(MultiLang.status(action.action))
]

const step = (session: MultiLangSession.Session, next: Step) =>
  next._tag === "Receive" ?
    MultiLangSession.received(session, next.message) :
    MultiLangSession.sent(session, next.message)

/** Plays a conversation: the session after it, or the first violation with the index of its step. */
const play = (
  steps: ReadonlyArray<Step>,
  from: MultiLangSession.Session = MultiLangSession.initial
): Either.Either<
  MultiLangSession.Session,
  { readonly index: number; readonly violation: MultiLangSession.ProtocolViolation }
> => {
  let session = from
  for (let index = 0; index < steps.length; index++) {
    const result = step(session, steps[index])
    if (Either.isLeft(result)) return Either.left({ index, violation: result.left })
    session = result.right
  }
  return Either.right(session)
}

const accepted = (steps: ReadonlyArray<Step>): MultiLangSession.Session => {
  const result = play(steps)
  if (Either.isLeft(result)) {
    throw new Error(`step ${result.left.index} was refused: ${result.left.violation.message}`)
  }
  return result.right
}

/** Plays a conversation whose last step must be refused, and every step before it accepted. */
const refusedLast = (steps: ReadonlyArray<Step>): MultiLangSession.ProtocolViolation => {
  const result = play(steps)
  if (Either.isRight(result)) throw new Error("the conversation was accepted")
  assert.strictEqual(result.left.index, steps.length - 1, result.left.violation.message)
  return result.left.violation
}

const started = handled(initialize)

// -----------------------------------------------------------------------------
// legal conversations
// -----------------------------------------------------------------------------

describe("MultiLangSession, legal conversations", () => {
  it("finishes a shard that ended, after checkpoints during records and at the end of the shard", () => {
    const session = accepted([
      ...started,
      ...handled(processRecords),
      ...handledWithCheckpoint(processRecords, atRecord),
      ...handledWithCheckpoint(shardEnded, atEnd)
    ])
    assert.isTrue(MultiLangSession.isFinished(session))
    assert.deepStrictEqual(session, MultiLangSession.Session.Finished({ shardId, reason: "ShardEnded" }))
  })

  it("finishes on a lost lease, without any checkpoint", () => {
    const session = accepted([...started, ...handled(processRecords), ...handled(leaseLost)])
    assert.deepStrictEqual(session, MultiLangSession.Session.Finished({ shardId, reason: "LeaseLost" }))
  })

  it("finishes a requested shutdown with a lost lease or the end of the shard", () => {
    const requested = [...started, ...handledWithCheckpoint(shutdownRequested, atRecord)]
    assert.isTrue(MultiLangSession.isFinished(accepted([...requested, ...handled(leaseLost)])))
    assert.isTrue(MultiLangSession.isFinished(accepted([...requested, ...handledWithCheckpoint(shardEnded, atEnd)])))
    assert.isTrue(MultiLangSession.isFinished(accepted([...requested, ...handled(zombie)])))
  })

  it("finishes on the legacy shutdowns: ZOMBIE at once, TERMINATE after the end of the shard is checkpointed", () => {
    assert.deepStrictEqual(
      accepted([...started, ...handled(zombie)]),
      MultiLangSession.Session.Finished({ shardId, reason: "LeaseLost" })
    )
    assert.deepStrictEqual(
      accepted([...started, ...handledWithCheckpoint(terminate, atEnd)]),
      MultiLangSession.Session.Finished({ shardId, reason: "ShardEnded" })
    )
  })

  it("lets a requested shutdown answer without a checkpoint", () => {
    const session = accepted([...started, ...handled(shutdownRequested)])
    assert.deepStrictEqual(session, MultiLangSession.Session.Idle({ shardId, shutdownRequested: true }))
  })

  it("retries a throttled checkpoint, one request at a time", () => {
    const session = accepted([
      ...started,
      receive(processRecords),
      send(atRecord),
      receive(reply(atRecord, "ThrottlingException")),
      send(atRecord),
      receive(reply(atRecord, "KinesisClientLibDependencyException")),
      send(atRecord),
      receive(reply(atRecord)),
      send(MultiLang.status("processRecords"))
    ])
    assert.deepStrictEqual(session, MultiLangSession.Session.Idle({ shardId, shutdownRequested: false }))
  })

  it("still answers a shard that ended when the daemon says the lease was lost during its checkpoint", () => {
    const session = accepted([...started, ...handledWithCheckpoint(shardEnded, atEnd, "ShutdownException")])
    assert.isTrue(MultiLangSession.isFinished(session))
  })

  it("checkpoints several times within one action, at records then at the end of the shard", () => {
    assert.isTrue(MultiLangSession.isFinished(accepted([
      ...started,
      receive(shardEnded),
      send(atRecord),
      receive(reply(atRecord)),
      send(atEnd),
      receive(reply(atEnd)),
      send(MultiLang.status("shardEnded"))
    ])))
  })

  it.prop(
    "accepts every conversation the daemon may hold, and finishes exactly when the last status was sent",
    [
      fc.array(fc.constantFrom<"plain" | "checkpoint" | "throttled">("plain", "checkpoint", "throttled"), {
        maxLength: 8
      }),
      fc.boolean(),
      fc.constantFrom<MultiLang.Action>(leaseLost, shardEnded, zombie, terminate),
      fc.boolean()
    ],
    ([batches, requested, ending, checkpointRequested]) => {
      const steps: Array<Step> = [...started]
      for (const batch of batches) {
        if (batch === "plain") steps.push(...handled(processRecords))
        else if (batch === "checkpoint") steps.push(...handledWithCheckpoint(processRecords, atRecord))
        else {
          steps.push(receive(processRecords), send(atRecord), receive(reply(atRecord, "ThrottlingException")))
          steps.push(send(atRecord), receive(reply(atRecord)), send(MultiLang.status("processRecords")))
        }
      }
      if (requested) {
        steps.push(
          ...(checkpointRequested ? handledWithCheckpoint(shutdownRequested, atRecord) : handled(shutdownRequested))
        )
      }
      const endsShard = MultiLang.shutdownReason(ending) === "ShardEnded"
      steps.push(...(endsShard ? handledWithCheckpoint(ending, atEnd) : handled(ending)))

      let session = MultiLangSession.initial
      let actions = 0
      let statuses = 0
      for (const next of steps) {
        assert.isFalse(MultiLangSession.isFinished(session))
        session = Either.getOrThrow(step(session, next))
        if (next._tag === "Receive" && next.message.action !== "checkpoint") actions++
        if (next._tag === "Send" && next.message.action === "status") statuses++
      }
      assert.isTrue(MultiLangSession.isFinished(session))
      assert.strictEqual(statuses, actions)
    }
  )
})

// -----------------------------------------------------------------------------
// rules
// -----------------------------------------------------------------------------

describe("MultiLangSession, the first message", () => {
  it("must be initialize", () => {
    const others: ReadonlyArray<MultiLang.DaemonMessage> = [
      processRecords,
      leaseLost,
      shardEnded,
      shutdownRequested,
      zombie,
      terminate,
      reply(atRecord)
    ]
    for (const message of others) {
      const violation = refusedLast([receive(message)])
      assert.strictEqual(violation.reason, "OutOfOrder")
      assert.strictEqual(violation.direction, "received")
      assert.isNull(violation.shardId)
      assert.include(violation.message, "the first message of a session must be initialize")
    }
  })

  it("comes only once", () => {
    const violation = refusedLast([...started, ...handled(processRecords), receive(initialize)])
    assert.strictEqual(violation.reason, "OutOfOrder")
    assert.include(violation.message, `shard ${shardId}`)
  })

  it("gives the session its shard", () => {
    assert.isNull(MultiLangSession.shardId(MultiLangSession.initial))
    assert.strictEqual(MultiLangSession.shardId(accepted([receive(initialize)])), shardId)
  })
})

describe("MultiLangSession, no pipelining", () => {
  it("refuses an action before the status of the previous one", () => {
    for (const action of [processRecords, leaseLost, shardEnded, shutdownRequested, zombie]) {
      const violation = refusedLast([...started, receive(processRecords), receive(action)])
      assert.strictEqual(violation.reason, "Pipelined")
      assert.include(violation.message, "processRecords is still waiting for its status")
    }
    assert.strictEqual(refusedLast([receive(initialize), receive(processRecords)]).reason, "Pipelined")
  })

  it("refuses an action while a checkpoint request waits for its reply", () => {
    const violation = refusedLast([...started, receive(processRecords), send(atRecord), receive(leaseLost)])
    assert.strictEqual(violation.reason, "Pipelined")
    assert.include(violation.message, "a checkpoint request for its reply")
  })

  it("sends exactly one status per action, echoing its name", () => {
    const twice = refusedLast([...started, ...handled(processRecords), send(MultiLang.status("processRecords"))])
    assert.strictEqual(twice.reason, "NoActionToAnswer")
    assert.strictEqual(twice.direction, "sent")
    const wrong = refusedLast([...started, receive(processRecords), send(MultiLang.status("shardEnded"))])
    assert.strictEqual(wrong.reason, "WrongStatus")
    assert.include(wrong.message, "the action being handled is processRecords")
    const legacy = refusedLast([...started, receive(zombie), send(MultiLang.status("leaseLost"))])
    assert.strictEqual(legacy.reason, "WrongStatus")
  })

  it("refuses a status before anything was received", () => {
    assert.strictEqual(refusedLast([send(MultiLang.status("initialize"))]).reason, "NoActionToAnswer")
  })
})

describe("MultiLangSession, checkpoint requests", () => {
  it("are refused between actions, where the daemon would answer them inside the next action", () => {
    const violation = refusedLast([...started, send(atRecord)])
    assert.strictEqual(violation.reason, "NoActionToAnswer")
    assert.include(violation.message, "answered inside the next one")
    assert.strictEqual(refusedLast([send(atRecord)]).reason, "NoActionToAnswer")
  })

  it("are refused during initialize and a lost lease, where the daemon has no checkpointer", () => {
    for (
      const steps of [
        [receive(initialize), send(atRecord)],
        [...started, receive(leaseLost), send(atRecord)],
        [...started, receive(zombie), send(atEnd)]
      ]
    ) {
      const violation = refusedLast(steps)
      assert.strictEqual(violation.reason, "NoCheckpointer")
      assert.include(violation.message, "InvalidStateException")
    }
  })

  it("go one at a time: nothing is sent before the reply", () => {
    const second = refusedLast([...started, receive(processRecords), send(atRecord), send(atRecord)])
    assert.strictEqual(second.reason, "CheckpointPending")
    const status = refusedLast([
      ...started,
      receive(processRecords),
      send(atRecord),
      send(MultiLang.status("processRecords"))
    ])
    assert.strictEqual(status.reason, "CheckpointPending")
  })

  it("are answered once: a reply without a request is refused", () => {
    assert.strictEqual(refusedLast([...started, receive(reply(atRecord))]).reason, "UnexpectedCheckpointReply")
    assert.strictEqual(
      refusedLast([...started, receive(processRecords), receive(reply(atRecord))]).reason,
      "UnexpectedCheckpointReply"
    )
    assert.strictEqual(
      refusedLast([
        ...started,
        receive(processRecords),
        send(atRecord),
        receive(reply(atRecord)),
        receive(reply(atRecord))
      ])
        .reason,
      "UnexpectedCheckpointReply"
    )
  })

  it("are allowed while records, a requested shutdown, or the end of a shard are handled", () => {
    for (const action of [processRecords, shutdownRequested, shardEnded, terminate]) {
      const session = accepted([...started, receive(action)])
      assert.isTrue(MultiLangSession.canCheckpoint(session), action.action)
    }
  })

  it("must name a valid position", () => {
    const invalid: ReadonlyArray<MultiLang.CheckpointRequest> = [
      { action: "checkpoint", sequenceNumber: seq("1"), subSequenceNumber: -1 },
      { action: "checkpoint", sequenceNumber: seq("1"), subSequenceNumber: 1.5 },
      { action: "checkpoint", sequenceNumber: seq("1"), subSequenceNumber: Number.NaN },
      { action: "checkpoint", sequenceNumber: null, subSequenceNumber: 3 },
      { action: "checkpoint", sequenceNumber: "12x" as SequenceNumber.SequenceNumber, subSequenceNumber: 0 }
    ]
    for (const request of invalid) {
      const violation = refusedLast([...started, receive(processRecords), send(request)])
      assert.strictEqual(violation.reason, "InvalidCheckpointRequest", JSON.stringify(request))
    }
  })
})

describe("MultiLangSession, the order of actions", () => {
  it("refuses records after a requested shutdown, and a second request", () => {
    const afterRequest = [...started, ...handled(shutdownRequested)]
    const records = refusedLast([...afterRequest, receive(processRecords)])
    assert.strictEqual(records.reason, "OutOfOrder")
    assert.include(records.message, "only leaseLost, shardEnded, shutdown may come")
    assert.strictEqual(refusedLast([...afterRequest, receive(shutdownRequested)]).reason, "OutOfOrder")
  })

  it("refuses everything once the session finished", () => {
    const finished = [...started, ...handled(leaseLost)]
    for (const message of [processRecords, leaseLost, reply(atRecord)]) {
      const violation = refusedLast([...finished, receive(message)])
      assert.strictEqual(violation.reason, "OutOfOrder")
      assert.include(violation.message, "the session finished")
    }
    assert.strictEqual(refusedLast([...finished, send(MultiLang.status("leaseLost"))]).reason, "NoActionToAnswer")
    assert.strictEqual(refusedLast([...finished, send(atEnd)]).reason, "NoActionToAnswer")
  })
})

describe("MultiLangSession, the end of a shard", () => {
  it("refuses the status before the end of the shard was checkpointed", () => {
    for (const action of [shardEnded, terminate]) {
      const violation = refusedLast([...started, receive(action), send(MultiLang.status(action.action))])
      assert.strictEqual(violation.reason, "ShardEndNotCheckpointed")
      assert.include(violation.message, "children never start")
    }
  })

  it("does not count a checkpoint at the last record, or a failed one, as the end of the shard", () => {
    assert.strictEqual(
      refusedLast([...started, ...handledWithCheckpoint(shardEnded, atRecord)]).reason,
      "ShardEndNotCheckpointed"
    )
    assert.strictEqual(
      refusedLast([...started, ...handledWithCheckpoint(shardEnded, atEnd, "ThrottlingException")]).reason,
      "ShardEndNotCheckpointed"
    )
  })
})

describe("MultiLangSession, guards and getters", () => {
  it("tell along a conversation what may be sent and what is expected", () => {
    let session = MultiLangSession.initial
    assert.deepStrictEqual(MultiLangSession.expected(session), ["initialize"])
    assert.isTrue(MultiLangSession.isAwaitingDaemon(session))
    assert.isFalse(MultiLangSession.canSendStatus(session))

    session = accepted([receive(initialize)])
    assert.strictEqual(MultiLangSession.currentAction(session), "initialize")
    assert.isFalse(MultiLangSession.canCheckpoint(session))
    assert.isTrue(MultiLangSession.canSendStatus(session))
    assert.deepStrictEqual(MultiLangSession.expected(session), [])

    session = accepted([...started, receive(shardEnded)])
    assert.isTrue(MultiLangSession.canCheckpoint(session))
    assert.isFalse(MultiLangSession.canSendStatus(session))

    session = accepted([...started, receive(shardEnded), send(atEnd)])
    assert.deepStrictEqual(MultiLangSession.pendingCheckpoint(session), atEnd)
    assert.isFalse(MultiLangSession.canCheckpoint(session))
    assert.isTrue(MultiLangSession.isAwaitingDaemon(session))
    assert.deepStrictEqual(MultiLangSession.expected(session), ["checkpoint"])

    session = accepted([...started, receive(shardEnded), send(atEnd), receive(reply(atEnd))])
    assert.isNull(MultiLangSession.pendingCheckpoint(session))
    assert.isTrue(MultiLangSession.canSendStatus(session))

    session = accepted([...started, ...handled(shutdownRequested)])
    assert.deepStrictEqual(MultiLangSession.expected(session), ["leaseLost", "shardEnded", "shutdown"])
    assert.isNull(MultiLangSession.currentAction(session))

    session = accepted([...started, ...handled(leaseLost)])
    assert.deepStrictEqual(MultiLangSession.expected(session), [])
    assert.isFalse(MultiLangSession.isAwaitingDaemon(session))
    assert.isTrue(MultiLangSession.isFinished(session))
  })

  it("leave the session it was given unchanged", () => {
    const before = accepted([...started, receive(processRecords)])
    const copy = { ...before }
    Either.getOrThrow(MultiLangSession.sent(before, atRecord))
    assert.deepStrictEqual({ ...before }, copy)
  })
})
