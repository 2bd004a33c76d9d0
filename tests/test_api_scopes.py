"""Scoped authority through the API: what each scoped user is offered and may decide.

The matrix runs on read-model rows written by the test, one open task per kind and role at two
deployments, each plain and escalated, behind a stand-in workflow that takes every decision the
web lets through. End to end through the real workflow: com_jub approving JUB's clearance only,
and escalation to the director of the task's office.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from crc import names
from crc.names import deployment_workflow_id
from crc.seed import SCOPED_USERS
from crc.tables import Task, TaskClaim
from crc.tasks import TASK_KINDS
from crc.types import Decision, DecisionResult
from tests import factories
from tests.stub_workflow import accepting_workflows
from tests.web_helpers import World, nav_count, open_task, row_ids, user, web_world
from tests.workflow_helpers import db_notifications, refusal

# Where each matrix task is: a USAID member at JUB, or a State member at KBL.
AT_JUB, AT_KBL = "JUB", "KBL"
TaskKey = tuple[str, str, str, bool]  # kind, role, where, escalated

# What each scoped demo user may decide, written out rather than derived from the rule.
MAY_DECIDE: dict[str, set[TaskKey]] = {
    "com_jub": {
        (kind, "chief_of_mission", AT_JUB, escalated)
        for kind in ("approval", "country_clearance")
        for escalated in (False, True)
    },
    "agency_usaid": {("approval", "home_agency", AT_JUB, escalated) for escalated in (False, True)},
    "director_planning": {
        (kind, "planning", where, True)
        for kind in ("approval", "training_schedule", "extension")
        for where in (AT_JUB, AT_KBL)
    },
}


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        await w.add(
            factories.post(),  # JUB
            factories.post(code=AT_KBL, country="Afghanistan", city="Kabul"),
            *(user(u.username, [u.role.value], scopes={u.role.value: list(u.scope)}) for u in SCOPED_USERS),
        )
        yield w


async def matrix_tasks(world: World) -> dict[TaskKey, Task]:
    """An open task of every kind and role, plain and escalated, at JUB and at KBL."""
    assert world.standby.id is not None and world.member.id is not None
    [at_jub] = await factories.deployment_rows(world.engine, 1, member_id=world.standby.id, post_code=AT_JUB)
    [at_kbl] = await factories.deployment_rows(world.engine, 1, member_id=world.member.id, post_code=AT_KBL)
    tasks = {
        (spec.kind.value, role.value, where, escalated): open_task(
            deployment_id,
            kind=spec.kind.value,
            role=role.value,
            title=f"{spec.label} for {role.value} at {where}",
            outcomes=[o.value for o in spec.outcomes],
            escalated=escalated,
        )
        for spec in TASK_KINDS.values()
        for role in spec.roles
        for where, deployment_id in ((AT_JUB, at_jub), (AT_KBL, at_kbl))
        for escalated in (False, True)
    }
    await world.add(*tasks.values())
    return tasks


@pytest.mark.parametrize("username", sorted(MAY_DECIDE))
async def test_scoped_user_is_offered_and_may_decide_only_their_scope(world: World, username: str) -> None:
    tasks = await matrix_tasks(world)
    assert len(tasks) == 92  # 23 kind-and-role pairs, at two deployments, plain and escalated
    key_of = {t.id: key for key, t in tasks.items()}
    listed = await world.http.get("/api/v1/tasks", headers=await world.headers(username))
    assert listed.status_code == 200
    assert {key_of[t["id"]] for t in listed.json()["items"]} == MAY_DECIDE[username]
    assert listed.json()["total"] == len(MAY_DECIDE[username])
    # The inbox and the count in the navigation say the same.
    async with world.signed_in(username) as browser:
        page = await browser.get("/inbox")
    assert {key_of[i] for i in row_ids(page.text)} == MAY_DECIDE[username]
    assert nav_count(page.text) == len(MAY_DECIDE[username])

    deployments = {t.deployment_id: deployment_workflow_id(t.deployment_id) for t in tasks.values()}
    async with accepting_workflows(world.temporal, world.engine, deployments):
        answers = {
            key: (await world.complete(task.id, username, task.outcomes[0])).status_code
            for key, task in tasks.items()
        }
    assert answers == {key: 200 if key in MAY_DECIDE[username] else 403 for key in tasks}
    decided = await world.complete(tasks[sorted(MAY_DECIDE[username])[0]].id, username, "approve")
    assert decided.status_code == 409  # completed by the stand-in workflow


async def test_out_of_scope_says_why(world: World) -> None:
    tasks = await matrix_tasks(world)
    cases = {
        "com_jub": (("country_clearance", "chief_of_mission", AT_KBL, False), "Chief of Mission (post KBL)"),
        "agency_usaid": (("approval", "home_agency", AT_KBL, False), "Home agency (agency State)"),
        "director_planning": (
            ("approval", "resource_management", AT_JUB, True),
            "Director (office resource_management)",
        ),
    }
    for username, (key, scope) in cases.items():
        response = await world.complete(tasks[key].id, username, "approve")
        assert (response.status_code, response.json()) == (
            403,
            {"detail": f"this task is outside your scope as {scope}"},
        )
    not_escalated = await world.complete(
        tasks[("approval", "planning", AT_JUB, False)].id, "director_planning", "approve"
    )
    assert (not_escalated.status_code, not_escalated.json()) == (
        403,
        {"detail": "this task is for the planning role"},
    )


async def test_unscoped_users_keep_scope_all(world: World) -> None:
    tasks = await matrix_tasks(world)
    key_of = {t.id: key for key, t in tasks.items()}
    for username, role in (("chief_of_mission", "chief_of_mission"), ("home_agency", "home_agency")):
        listed = await world.http.get("/api/v1/tasks", headers=await world.headers(username))
        assert {key_of[t["id"]] for t in listed.json()["items"]} == {k for k in tasks if k[1] == role}
    listed = await world.http.get("/api/v1/tasks", headers=await world.headers("director"))
    assert {key_of[t["id"]] for t in listed.json()["items"]} == {
        k for k in tasks if k[3] and k[1] != "member"
    }


async def test_me_says_what_each_role_covers(world: World) -> None:
    both = user(
        "com_and_requester", ["requester", "chief_of_mission"], scopes={"chief_of_mission": ["JUB", "KBL"]}
    )
    await world.add(both)
    bodies = {}
    for username in ("com_jub", "director_planning", "com_and_requester", "planning"):
        response = await world.http.get("/api/v1/me", headers=await world.headers(username))
        assert response.status_code == 200
        bodies[username] = {k: response.json()[k] for k in ("roles", "scopes")}
    assert bodies == {
        "com_jub": {
            "roles": ["chief_of_mission"],
            "scopes": [{"role": "chief_of_mission", "scope": ["JUB"]}],
        },
        "director_planning": {"roles": ["director"], "scopes": [{"role": "director", "scope": ["planning"]}]},
        "com_and_requester": {
            "roles": ["requester", "chief_of_mission"],
            "scopes": [
                {"role": "requester", "scope": "all"},
                {"role": "chief_of_mission", "scope": ["JUB", "KBL"]},
            ],
        },
        "planning": {"roles": ["planning"], "scopes": [{"role": "planning", "scope": "all"}]},
    }


# --- End to end, through the real workflow ----------------------------------------------------


async def test_com_jub_approves_jubas_clearance_and_no_other(world: World) -> None:
    at_jub = await world.submit(post_code=AT_JUB)
    elsewhere = await world.submit(member=world.standby)
    jub_tasks = await world.open_tasks(at_jub["id"], 3)
    other_tasks = await world.open_tasks(elsewhere["id"], 4)
    listed = await world.http.get("/api/v1/tasks", headers=await world.headers("com_jub"))
    assert [t["id"] for t in listed.json()["items"]] == [jub_tasks["chief_of_mission"]["id"]]

    refused = await world.complete(other_tasks["chief_of_mission"]["id"], "com_jub", "approve")
    assert (refused.status_code, refused.json()) == (
        403,
        {"detail": f"this task is outside your scope as Chief of Mission (post {world.post.code})"},
    )
    approved = await world.complete(jub_tasks["chief_of_mission"]["id"], "com_jub", "approve")
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["completed_by"]) == ("completed", "com_jub")

    # The workflow's validator applies the same rule to the scopes the decision carries.
    handle = world.temporal.get_workflow_handle(elsewhere["workflow_id"])
    scoped = Decision(
        task_id=other_tasks["chief_of_mission"]["id"],
        outcome="approve",
        user="com_jub",
        roles=["chief_of_mission"],
        scopes={"chief_of_mission": ["JUB"]},
    )
    refused_by_workflow = await refusal(
        handle.execute_update(names.UPDATE_DECIDE, scoped, result_type=DecisionResult)
    )
    assert (refused_by_workflow.type, refused_by_workflow.message) == (
        names.ERR_OUT_OF_SCOPE,
        f"this task is outside your scope as Chief of Mission (post {world.post.code})",
    )
    # The Standby member is USAID's: agency_usaid releases them.
    released = await world.complete(other_tasks["home_agency"]["id"], "agency_usaid", "approve")
    assert released.status_code == 200, released.text
    unscoped = await world.complete(other_tasks["chief_of_mission"]["id"], "chief_of_mission", "approve")
    assert unscoped.status_code == 200, unscoped.text


async def test_escalation_goes_to_the_director_of_the_tasks_office(
    world: World, temporal_env: WorkflowEnvironment
) -> None:
    created = await world.submit(post_code=AT_JUB)
    tasks = await world.open_tasks(created["id"], 3)
    before = await world.complete(tasks["planning"]["id"], "director_planning", "approve")
    assert (before.status_code, before.json()) == (403, {"detail": "this task is for the planning role"})
    due = world.app.state.settings.CRC_APPROVAL_DUE_ACTIVE_HOURS * 3600
    await temporal_env.sleep(due + 60)
    await world.wait_for(
        created["id"],
        lambda d: [e["kind"] for e in d["timeline"]].count("escalated") == 3,
    )
    notes = await db_notifications(world.engine, created["id"])
    message = {
        role: f"Overdue approval escalated to the {office} director: {tasks[role]['title']}"
        for role, office in (
            ("planning", "Planning"),
            ("resource_management", "Resource Management"),
            ("chief_of_mission", "Chief of Mission"),
        )
    }
    # Every director hears of each escalation; the director of Planning only of Planning's.
    assert [(n.username, n.task_id, n.subject) for n in notes if n.kind == "escalation"] == [
        ("director", tasks["planning"]["id"], message["planning"]),
        ("director_planning", tasks["planning"]["id"], message["planning"]),
        ("director", tasks["resource_management"]["id"], message["resource_management"]),
        ("director", tasks["chief_of_mission"]["id"], message["chief_of_mission"]),
    ]
    listed = await world.http.get("/api/v1/tasks", headers=await world.headers("director_planning"))
    assert [t["id"] for t in listed.json()["items"]] == [tasks["planning"]["id"]]
    other_office = await world.complete(tasks["resource_management"]["id"], "director_planning", "approve")
    assert (other_office.status_code, other_office.json()) == (
        403,
        {"detail": "this task is outside your scope as Director (office resource_management)"},
    )
    # A planner's claim does not stop the director of Planning.
    now = datetime.now(UTC)
    await world.add(
        TaskClaim(
            task_id=tasks["planning"]["id"],
            username="planning",
            claimed_at=now,
            expires_at=now + timedelta(hours=4),
        )
    )
    taken = await world.complete(tasks["planning"]["id"], "director_planning", "approve")
    assert taken.status_code == 200, taken.text
    assert taken.json()["completed_by"] == "director_planning"
    unscoped = await world.complete(tasks["resource_management"]["id"], "director", "approve")
    assert unscoped.status_code == 200, unscoped.text
    messages = [
        e["message"] for e in (await world.deployment(created["id"]))["timeline"] if e["kind"] == "approved"
    ]
    assert messages == [
        f"Planning approved: {tasks['planning']['title']} "
        "(decided by the Planning director after escalation)",
        f"Resource Management approved: {tasks['resource_management']['title']} "
        "(decided by the Resource Management director after escalation)",
    ]
