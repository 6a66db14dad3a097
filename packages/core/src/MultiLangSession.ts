/**
 * The MultiLang protocol as a pure state machine: what the daemon may send next, and what the worker may send now.
 *
 * The runtime feeds it every message it reads (`received`) and every message it is about to write (`sent`); each
 * answers the next session or a `ProtocolViolation` that says what was wrong. The rules, from the daemon's
 * behaviour (see `specs/multilang.md`):
 *
 * - The first message is `initialize`. Then come `processRecords`*, and the session ends with `leaseLost`,
 *   `shardEnded`, or `shutdownRequested` followed by one of those two. Legacy daemons send `shutdown` with `ZOMBIE`
 *   (lease lost) or `TERMINATE` (shard ended) in their place.
 * - No pipelining: after an action, the daemon sends nothing more until the worker sends exactly one status, whose
 *   `responseFor` is the action's name.
 * - Checkpoint requests go only between an action and its status, one at a time: send, then wait for the reply.
 *   During `initialize` and a lost lease (`leaseLost`, `shutdown` `ZOMBIE`) the daemon has no checkpointer.
 * - A shard that ended must be checkpointed at its end (a request with a `null` sequence number, answered without
 *   error) before its status, or its child shards never start; unless the daemon answered `ShutdownException`
 *   (the lease was lost meanwhile), after which the status is still due.
 * - After the status of `leaseLost`, `shardEnded` or `shutdown`, the session is finished: the daemon closes stdin.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import type * as BatchProcessor from "./BatchProcessor.js"
import * as MultiLang from "./MultiLang.js"
import * as SequenceNumber from "./SequenceNumber.js"
import type { ShardId } from "./ShardId.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * Where a session is. Treat it as opaque and read it through the getters and guards.
 *
 * - `AwaitingInitialize`: nothing received yet.
 * - `Idle`: between actions; `shutdownRequested` once the status of `shutdownRequested` was sent.
 * - `InAction`: an action was received and its status is due; `pendingCheckpoint` is the request waiting for its
 *   reply, `shardEndCheckpointed` tells that the end of the shard was checkpointed during this action, `leaseLost`
 *   that the daemon answered a request with `ShutdownException`.
 * - `Finished`: the status of the last action was sent.
 *
 * @since 0.1.0
 * @category models
 */
export type Session = Data.TaggedEnum<{
  AwaitingInitialize: {}
  Idle: { readonly shardId: ShardId; readonly shutdownRequested: boolean }
  InAction: {
    readonly shardId: ShardId
    readonly action: MultiLang.ActionName
    /** How the action stops the shard, or `null` for `initialize` and `processRecords`. */
    readonly reason: BatchProcessor.ShutdownReason | null
    readonly pendingCheckpoint: MultiLang.CheckpointRequest | null
    readonly shardEndCheckpointed: boolean
    readonly leaseLost: boolean
  }
  Finished: { readonly shardId: ShardId; readonly reason: BatchProcessor.ShutdownReason }
}>

/**
 * Constructors and matchers for sessions.
 *
 * @since 0.1.0
 * @category constructors
 */
export const Session = Data.taggedEnum<Session>()

/**
 * The session of a worker that has received nothing yet.
 *
 * @since 0.1.0
 * @category constructors
 */
export const initial: Session = Session.AwaitingInitialize()

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * What broke the protocol.
 *
 * Received from the daemon:
 * - `OutOfOrder`: an action that may not come in this state (before `initialize`, a second `initialize`,
 *   `processRecords` after `shutdownRequested`, anything after the session finished);
 * - `Pipelined`: an action before the status of the previous one;
 * - `UnexpectedCheckpointReply`: a checkpoint reply while no request was waiting for one.
 *
 * To be sent by the worker:
 * - `NoActionToAnswer`: a status or a checkpoint request while no action is being handled;
 * - `WrongStatus`: a status whose `responseFor` is not the action being handled;
 * - `CheckpointPending`: anything before the reply to the pending checkpoint request;
 * - `NoCheckpointer`: a checkpoint request during `initialize` or a lost lease;
 * - `ShardEndNotCheckpointed`: the status of a shard that ended, before the end of the shard was checkpointed;
 * - `InvalidCheckpointRequest`: a request with an invalid sequence or sub-sequence number.
 *
 * @since 0.1.0
 * @category errors
 */
export type ViolationReason =
  | "OutOfOrder"
  | "Pipelined"
  | "UnexpectedCheckpointReply"
  | "NoActionToAnswer"
  | "WrongStatus"
  | "CheckpointPending"
  | "NoCheckpointer"
  | "ShardEndNotCheckpointed"
  | "InvalidCheckpointRequest"

/**
 * A message that the protocol does not allow in the session's state. `received` means the daemon sent it; `sent`
 * means the worker was about to send it, and must not.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProtocolViolation extends Data.TaggedError("ProtocolViolation")<{
  readonly direction: "received" | "sent"
  readonly reason: ViolationReason
  readonly shardId: ShardId | null
  /** The message, in a few words. */
  readonly subject: string
  readonly detail: string
}> {
  override get message(): string {
    const shard = this.shardId === null ? "A worker not yet initialized" : `The worker of shard ${this.shardId}`
    if (this.direction === "received") {
      return `${shard} received ${this.subject} (${this.reason}): ${this.detail}. The daemon and the worker no ` +
        `longer agree on the MultiLang protocol: stop the worker; the shard resumes from its last checkpoint.`
    }
    return `${shard} may not send ${this.subject} now (${this.reason}): ${this.detail}. Nothing was sent; this is ` +
      `a bug in the worker, which must stop rather than confuse the daemon.`
  }
}

// -----------------------------------------------------------------------------
// transitions
// -----------------------------------------------------------------------------

/**
 * The session after the daemon sent a message, or the violation when the protocol does not allow it now.
 *
 * @since 0.1.0
 * @category transitions
 */
export const received = (
  self: Session,
  message: MultiLang.DaemonMessage
): Either.Either<Session, ProtocolViolation> => {
  const subject = describeReceived(message)
  switch (self._tag) {
    case "AwaitingInitialize": {
      if (message.action === "initialize") return Either.right(startAction(message.shardId, message))
      return Either.left(
        violation("received", "OutOfOrder", null, subject, "the first message of a session must be initialize")
      )
    }
    case "Idle": {
      if (message.action === "checkpoint") {
        return Either.left(
          violation("received", "UnexpectedCheckpointReply", self.shardId, subject, "no checkpoint request was sent")
        )
      }
      const allowed = actionsAfter(self.shutdownRequested)
      if (!allowed.includes(message.action)) {
        return Either.left(
          violation(
            "received",
            "OutOfOrder",
            self.shardId,
            subject,
            `after ${self.shutdownRequested ? "shutdownRequested" : "initialize"} only ${allowed.join(", ")} may come`
          )
        )
      }
      return Either.right(startAction(self.shardId, message))
    }
    case "InAction": {
      if (message.action !== "checkpoint") {
        return Either.left(
          violation(
            "received",
            "Pipelined",
            self.shardId,
            subject,
            `${self.action} is still waiting for its status${
              self.pendingCheckpoint === null ? "" : " and a checkpoint request for its reply"
            }`
          )
        )
      }
      const request = self.pendingCheckpoint
      if (request === null) {
        return Either.left(
          violation(
            "received",
            "UnexpectedCheckpointReply",
            self.shardId,
            subject,
            "no checkpoint request is waiting for a reply"
          )
        )
      }
      return Either.right(Session.InAction({
        ...self,
        pendingCheckpoint: null,
        shardEndCheckpointed: self.shardEndCheckpointed || (message.error === null && request.sequenceNumber === null),
        leaseLost: self.leaseLost || MultiLang.checkpointOutcome(message) === "LeaseLost"
      }))
    }
    case "Finished":
      return Either.left(
        violation(
          "received",
          "OutOfOrder",
          self.shardId,
          subject,
          "the session finished with the status of the last action; the daemon should have closed stdin"
        )
      )
  }
}

/**
 * The session after the worker sends a message, or the violation when the protocol does not allow it now. Call it
 * before writing the message, and write nothing when it fails.
 *
 * @since 0.1.0
 * @category transitions
 */
export const sent = (self: Session, message: MultiLang.WorkerMessage): Either.Either<Session, ProtocolViolation> => {
  const subject = describeSent(message)
  if (self._tag !== "InAction") {
    return Either.left(
      violation(
        "sent",
        "NoActionToAnswer",
        shardId(self),
        subject,
        self._tag === "Finished" ?
          "the session is finished" :
          "no action is being handled; a checkpoint request between actions is answered inside the next one"
      )
    )
  }
  if (self.pendingCheckpoint !== null) {
    return Either.left(
      violation(
        "sent",
        "CheckpointPending",
        self.shardId,
        subject,
        "the daemon has not yet replied to the checkpoint request sent before"
      )
    )
  }
  if (message.action === "checkpoint") {
    if (!actionHasCheckpointer(self)) {
      return Either.left(
        violation(
          "sent",
          "NoCheckpointer",
          self.shardId,
          subject,
          `the daemon has no checkpointer during ${self.action}${
            self.action === "shutdown" ? " ZOMBIE" : ""
          } and would answer InvalidStateException`
        )
      )
    }
    const problem = checkpointRequestProblem(message)
    if (problem !== undefined) {
      return Either.left(violation("sent", "InvalidCheckpointRequest", self.shardId, subject, problem))
    }
    return Either.right(Session.InAction({ ...self, pendingCheckpoint: message }))
  }
  if (message.responseFor !== self.action) {
    return Either.left(
      violation("sent", "WrongStatus", self.shardId, subject, `the action being handled is ${self.action}`)
    )
  }
  if (self.reason === "ShardEnded" && !self.shardEndCheckpointed && !self.leaseLost) {
    return Either.left(
      violation(
        "sent",
        "ShardEndNotCheckpointed",
        self.shardId,
        subject,
        "checkpoint the end of the shard first (a request with a null sequence number, answered without error), " +
          "or the daemon retries the shutdown and the shard's children never start"
      )
    )
  }
  switch (self.reason) {
    case "LeaseLost":
    case "ShardEnded":
      return Either.right(Session.Finished({ shardId: self.shardId, reason: self.reason }))
    case "ShutdownRequested":
      return Either.right(Session.Idle({ shardId: self.shardId, shutdownRequested: true }))
    case null:
      return Either.right(Session.Idle({ shardId: self.shardId, shutdownRequested: false }))
  }
}

// -----------------------------------------------------------------------------
// getters
// -----------------------------------------------------------------------------

/**
 * The shard of the session, once `initialize` came.
 *
 * @since 0.1.0
 * @category getters
 */
export const shardId = (self: Session): ShardId | null => self._tag === "AwaitingInitialize" ? null : self.shardId

/**
 * The action whose status is due, if any.
 *
 * @since 0.1.0
 * @category getters
 */
export const currentAction = (self: Session): MultiLang.ActionName | null =>
  self._tag === "InAction" ? self.action : null

/**
 * The checkpoint request waiting for its reply, if any.
 *
 * @since 0.1.0
 * @category getters
 */
export const pendingCheckpoint = (self: Session): MultiLang.CheckpointRequest | null =>
  self._tag === "InAction" ? self.pendingCheckpoint : null

/**
 * The messages the daemon may send next (`checkpoint` standing for a checkpoint reply).
 *
 * @since 0.1.0
 * @category getters
 */
export const expected = (self: Session): ReadonlyArray<MultiLang.DaemonMessage["action"]> => {
  switch (self._tag) {
    case "AwaitingInitialize":
      return ["initialize"]
    case "Idle":
      return actionsAfter(self.shutdownRequested)
    case "InAction":
      return self.pendingCheckpoint === null ? [] : ["checkpoint"]
    case "Finished":
      return []
  }
}

// -----------------------------------------------------------------------------
// guards
// -----------------------------------------------------------------------------

/**
 * Whether the worker may send a checkpoint request now: an action with a checkpointer is being handled and no
 * other request waits for its reply.
 *
 * @since 0.1.0
 * @category guards
 */
export const canCheckpoint = (self: Session): boolean =>
  self._tag === "InAction" && self.pendingCheckpoint === null && actionHasCheckpointer(self)

/**
 * Whether the worker may send the status of the current action now.
 *
 * @since 0.1.0
 * @category guards
 */
export const canSendStatus = (self: Session): boolean =>
  self._tag === "InAction" && self.pendingCheckpoint === null &&
  (self.reason !== "ShardEnded" || self.shardEndCheckpointed || self.leaseLost)

/**
 * Whether the worker is waiting for the daemon: nothing may be sent until its next message.
 *
 * @since 0.1.0
 * @category guards
 */
export const isAwaitingDaemon = (self: Session): boolean =>
  self._tag === "AwaitingInitialize" || self._tag === "Idle" ||
  (self._tag === "InAction" && self.pendingCheckpoint !== null)

/**
 * Whether the status of the last action was sent: the worker should exit once stdin closes.
 *
 * @since 0.1.0
 * @category guards
 */
export const isFinished = (self: Session): boolean => self._tag === "Finished"

// -----------------------------------------------------------------------------
// internal
// -----------------------------------------------------------------------------

const processing: ReadonlyArray<MultiLang.ActionName> = [
  "processRecords",
  "leaseLost",
  "shardEnded",
  "shutdownRequested",
  "shutdown"
]
const afterShutdownRequested: ReadonlyArray<MultiLang.ActionName> = ["leaseLost", "shardEnded", "shutdown"]

const actionsAfter = (shutdownRequested: boolean): ReadonlyArray<MultiLang.ActionName> =>
  shutdownRequested ? afterShutdownRequested : processing

const startAction = (shardId: ShardId, action: MultiLang.Action): Session =>
  Session.InAction({
    shardId,
    action: action.action,
    reason: MultiLang.shutdownReason(action),
    pendingCheckpoint: null,
    shardEndCheckpointed: false,
    leaseLost: false
  })

const actionHasCheckpointer = (self: Data.TaggedEnum.Value<Session, "InAction">): boolean =>
  self.action !== "initialize" && self.reason !== "LeaseLost"

const checkpointRequestProblem = (request: MultiLang.CheckpointRequest): string | undefined => {
  const { sequenceNumber, subSequenceNumber } = request
  if (sequenceNumber !== null) {
    const problem = SequenceNumber.validate(sequenceNumber)
    if (problem !== undefined) return problem
  } else if (subSequenceNumber !== null) {
    return "a request without a sequence number cannot have a sub-sequence number"
  }
  if (subSequenceNumber !== null && !(Number.isSafeInteger(subSequenceNumber) && subSequenceNumber >= 0)) {
    return `a sub-sequence number is a non-negative integer, got ${subSequenceNumber}`
  }
  return undefined
}

const violation = (
  direction: "received" | "sent",
  reason: ViolationReason,
  shardId: ShardId | null,
  subject: string,
  detail: string
): ProtocolViolation => new ProtocolViolation({ direction, reason, shardId, subject, detail })

const describeReceived = (message: MultiLang.DaemonMessage): string => {
  switch (message.action) {
    case "checkpoint":
      return `a checkpoint reply${message.error === null ? "" : ` (${message.error})`}`
    case "shutdown":
      return `shutdown ${message.reason}`
    default:
      return message.action
  }
}

const describeSent = (message: MultiLang.WorkerMessage): string =>
  message.action === "status" ?
    `the status for ${message.responseFor}` :
    `a checkpoint request at ${
      message.sequenceNumber === null ?
        "the largest permitted position" :
        `${message.sequenceNumber}.${message.subSequenceNumber ?? "null"}`
    }`
