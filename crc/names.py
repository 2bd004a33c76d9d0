"""Names shared by the workflow, the worker and the web: queue, message names, ids."""

import uuid

WORKFLOW_NAME = "DeploymentWorkflow"

# Updates (decisions that need an answer), signals and queries of DeploymentWorkflow.
UPDATE_DECIDE = "decide"
UPDATE_AMEND = "amend"
UPDATE_CANCEL = "cancel"
UPDATE_CHECK_IN = "check_in"
UPDATE_EXTEND = "request_extension"
UPDATE_WITHDRAW = "withdraw"  # undo a decision still held in its undo window
QUERY_STATUS = "status"
SIGNAL_THREAT_CHANGE = "threat_level_changed"  # the post's threat level (and its rules) changed

# Fixed namespace so task ids derived inside the workflow are the same on every replay.
_TASK_NAMESPACE = uuid.UUID("6f1f3c0e-2a57-4b7e-9a43-2f6f2a0c9d11")


def deployment_workflow_id(deployment_id: str) -> str:
    """The workflow id of a deployment: one workflow per deployment, ever."""
    return f"deployment-{deployment_id}"


def task_id(deployment_id: str, key: str) -> str:
    """A stable task id from the deployment and a key unique within it (deterministic)."""
    return str(uuid.uuid5(_TASK_NAMESPACE, f"{deployment_id}/{key}"))


# ApplicationError types the workflow raises to refuse a message; the web maps them to HTTP.
ERR_UNKNOWN_TASK = "UnknownTask"  # 404
ERR_TASK_NOT_OPEN = "TaskNotOpen"  # 409
ERR_WRONG_ROLE = "WrongRole"  # 403
ERR_OWN_REQUEST = "OwnRequest"  # 403
ERR_OUT_OF_SCOPE = "OutOfScope"  # 403: the caller's role does not reach this post, agency or office
ERR_UNKNOWN_OUTCOME = "UnknownOutcome"  # 422
ERR_INVALID_DATA = "InvalidData"  # 422
ERR_COMMENT_REQUIRED = "CommentRequired"  # 422: this outcome needs a comment saying why
ERR_NOT_AMENDABLE = "NotAmendable"  # 409
ERR_NOT_REQUESTER = "NotRequester"  # 403
ERR_NOT_NOW = "NotNow"  # 409: the deployment is not at a stage where this can happen
ERR_NOT_ALLOWED = "NotAllowed"  # 403: the caller may not do this to this deployment
ERR_NOT_ELIGIBLE = "NotEligible"  # 409: the deployment fails a rule for this (e.g. a longer stay)
ERR_TASK_HELD = "TaskHeld"  # 409: someone decided the task a moment ago; it may still be undone
ERR_NOT_HELD = "NotHeld"  # 409: no decision on the task waits to take effect
ERR_NOT_HOLDER = "NotHolder"  # 403: a held decision is undone only by whoever took it
ERR_MEMBER_BUSY = "MemberBusy"  # 409: a member named is in another deployment over those dates
ERR_MISSING_ROW = "MissingRow"  # an activity found no row where one must exist; retrying won't help
ERR_OVERDRAWN = "Overdrawn"  # 409: approving this budget would overdraw the operation's fund
