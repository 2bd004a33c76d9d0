"""/healthz while clients sign in (argon2 verifies) beside /healthz on a quiet app."""

import asyncio
import contextlib

import httpx

from bench.report import Figure, at_most
from bench.stack import BenchStack
from bench.stats import Samples, timed_ms
from tests.web_helpers import PASSWORD

SIGNING_IN = ("planning", "resource_management", "chief_of_mission", "operations")


async def _sign_in_forever(http: httpx.AsyncClient, username: str, codes: list[int]) -> None:
    while True:
        response = await http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        codes.append(response.status_code)


async def healthz_under_sign_in(stack: BenchStack, pairs: int, per_block: int) -> Figure:
    """Blocks of /healthz calls, quiet then with 4 clients signing in, interleaved."""
    assert stack.http is not None
    quiet, loaded = Samples(), Samples()
    codes: list[int] = []
    base = stack.processes.base_url
    for _ in range(pairs):
        for _ in range(per_block):
            ms, _ = await timed_ms(lambda: stack.http.get("/healthz"))  # type: ignore[union-attr]
            quiet.add(ms)
        async with contextlib.AsyncExitStack() as clients:
            https = [
                await clients.enter_async_context(httpx.AsyncClient(base_url=base, timeout=120))
                for _ in SIGNING_IN
            ]
            loops = [
                asyncio.create_task(_sign_in_forever(h, u, codes))
                for h, u in zip(https, SIGNING_IN, strict=True)
            ]
            await asyncio.sleep(0.3)  # each has a verify in flight
            for _ in range(per_block):
                ms, _ = await timed_ms(lambda: stack.http.get("/healthz"))  # type: ignore[union-attr]
                loaded.add(ms)
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
    refused = sum(1 for c in codes if c != 200)
    figure = Figure(
        "healthz_signin",
        f"/healthz p95 while {len(SIGNING_IN)} clients sign in",
        f"p50 {loaded.median:.1f} ms, p95 {loaded.p95:.1f} ms ({len(codes)} sign-ins, {refused} not 200)",
        f"/healthz quiet: p50 {quiet.median:.1f} ms, p95 {quiet.p95:.1f} ms",
        loaded.p95 / quiet.p95,
        detail={
            "quiet_ms": quiet.summary(),
            "loaded_ms": loaded.summary(),
            "sign_ins": len(codes),
            "not_200": refused,
        },
    )
    return at_most(figure, 3)
