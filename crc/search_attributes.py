"""Custom search attributes of deployment workflows, so operators can filter them in Temporal.

`temporal workflow list --query 'CrcStage="APPROVAL"'` and the Temporal UI's filter use these.
A server refuses a workflow that sets an attribute it does not know, so every namespace must
register them first: `crc dev` passes them to the dev server, workers add them at start-up
(`ensure_registered`), and where neither may (Temporal Cloud), an operator adds them by hand.
"""

from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import (
    SearchAttributeIndexedValueType,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)
from temporalio.service import RPCError, RPCStatusCode

from crc.stages import Stage
from crc.types import DeploymentRequest

CRC_STAGE = SearchAttributeKey.for_keyword("CrcStage")
CRC_POST_CODE = SearchAttributeKey.for_keyword("CrcPostCode")
CRC_MEMBER_ID = SearchAttributeKey.for_int("CrcMemberId")
CRC_COMPONENT = SearchAttributeKey.for_keyword("CrcComponent")

DEPLOYMENT_KEYS: tuple[SearchAttributeKey[Any], ...] = (
    CRC_STAGE,
    CRC_POST_CODE,
    CRC_MEMBER_ID,
    CRC_COMPONENT,
)

# How the temporal CLI spells each index type (`--search-attribute NAME=Type`, `--type Type`).
_CLI_TYPES = {SearchAttributeIndexedValueType.KEYWORD: "Keyword", SearchAttributeIndexedValueType.INT: "Int"}


class SearchAttributeConflict(Exception):
    """The namespace already has one of our attributes with another type; only an operator can fix it."""


def initial_search_attributes(request: DeploymentRequest) -> TypedSearchAttributes:
    """The search attributes a new deployment's workflow starts with (stage REQUESTED)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(CRC_STAGE, Stage.REQUESTED.value),
            SearchAttributePair(CRC_POST_CODE, request.post_code),
            SearchAttributePair(CRC_MEMBER_ID, request.member_id),
            SearchAttributePair(CRC_COMPONENT, request.member_component),
        ]
    )


def dev_server_args() -> list[str]:
    """The `temporal server start-dev` arguments that register every deployment attribute."""
    return [arg for key in DEPLOYMENT_KEYS for arg in ("--search-attribute", f"{key.name}={_cli_type(key)}")]


def registration_commands(namespace: str) -> list[str]:
    """The `temporal operator search-attribute create` commands that register them by hand."""
    # The CLI takes many names but one type per command: one command per type.
    by_type: dict[str, list[str]] = {}
    for key in DEPLOYMENT_KEYS:
        by_type.setdefault(_cli_type(key), []).append(key.name)
    return [
        "temporal operator search-attribute create --namespace "
        + namespace
        + "".join(f" --name {name}" for name in names)
        + f" --type {cli_type}"
        for cli_type, names in by_type.items()
    ]


async def ensure_registered(client: Client, namespace: str) -> list[str]:
    """Register the deployment attributes the namespace lacks; the names it added (idempotent)."""
    existing = await _custom_attributes(client, namespace)
    if existing is not None:
        _refuse_conflicts(existing, namespace)
    added = []
    for key in DEPLOYMENT_KEYS:
        if existing is not None and key.name in existing:
            continue
        # One per request: a server that refuses a known name refuses the whole request.
        request = AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type)},
        )
        try:
            await client.operator_service.add_search_attributes(request)
        except RPCError as err:
            # A worker starting beside us won the race, or the server could not list them.
            if err.status != RPCStatusCode.ALREADY_EXISTS:
                raise
            continue
        added.append(key.name)
    return added


async def _custom_attributes(client: Client, namespace: str) -> dict[str, int] | None:
    """The namespace's custom attributes and their types; None where the server cannot list them."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
    except RPCError as err:
        # Temporal's time-skipping test server has no ListSearchAttributes.
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        return None
    return dict(listed.custom_attributes)


def _refuse_conflicts(existing: dict[str, int], namespace: str) -> None:
    wrong = [
        f"{key.name} is {SearchAttributeIndexedValueType(found).name.title()}, not {_cli_type(key)}"
        for key in DEPLOYMENT_KEYS
        if (found := existing.get(key.name, key.indexed_value_type)) != key.indexed_value_type
    ]
    if wrong:
        raise SearchAttributeConflict(
            f"namespace {namespace!r} has search attributes of another type: " + "; ".join(wrong)
        )


def _cli_type(key: SearchAttributeKey[Any]) -> str:
    return _CLI_TYPES[key.indexed_value_type]
