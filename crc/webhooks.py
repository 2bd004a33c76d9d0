"""Webhooks for API clients: the event types, subscription ids and secrets, message ids and
bodies as the Standard Webhooks specification has them (https://www.standardwebhooks.com)."""

import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

SECRET_PREFIX = "whsec_"  # noqa: S105 - the specification's prefix, not a secret
SECRET_BYTES = 24


class WebhookEvent(StrEnum):
    """What a subscription may ask to be told about."""

    STAGE_CHANGED = "deployment.stage_changed"
    DEPLOYMENT_COMPLETED = "deployment.completed"
    TASK_CREATED = "task.created"
    TASK_COMPLETED = "task.completed"


class DeliveryStatus(StrEnum):
    """Where one delivery stands: still being tried, received (2xx), or given up."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def new_subscription_id() -> str:
    """A short random id for a subscription."""
    return "wh_" + secrets.token_hex(8)


def new_secret() -> str:
    """A signing secret: the prefix and the base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def message_id(subscription_id: str, event_key: str, event_type: str) -> str:
    """The webhook-id of one message: derived from what it is, so a retried fan-out agrees."""
    digest = hashlib.sha256(f"{subscription_id}\n{event_key}\n{event_type}".encode()).hexdigest()
    return "msg_" + digest[:32]


def body(event_type: WebhookEvent, at: datetime, data: dict[str, Any]) -> str:
    """The JSON body of a message, exactly as it is signed and sent."""
    timestamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event_type.value, "timestamp": timestamp, "data": data}, separators=(",", ":"))
