"""/healthz while clients sign in: does argon2 hold the event loop?

Starts the dev stack (bench/loop_stack.py) from a checkout, times /healthz alone, then while
`--clients` clients sign in over and over (POST /api/v1/auth/token), in alternating rounds, and
prints p50/p95 of both and the ratio (target: p95 under load <= 3 x quiet p95):

    .venv/bin/python bench/signin_load.py [--repo PATH] [--clients 4] [--rounds 3] [--samples 100]
"""

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

import httpx

from bench.loop_stack import HERE, DevStack, load_average, percentile


async def _health_times(http: httpx.AsyncClient, samples: int) -> list[float]:
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        response = await http.get("/healthz")
        times.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
    return times


async def _sign_in_forever(http: httpx.AsyncClient, stop: asyncio.Event, counted: list[int]) -> None:
    while not stop.is_set():
        response = await http.post("/api/v1/auth/token", data={"username": "planning", "password": "demo"})
        response.raise_for_status()
        counted.append(1)


async def measure(url: str, *, clients: int, rounds: int, samples: int) -> dict[str, object]:
    """Quiet and loaded /healthz times in alternating rounds, in milliseconds."""
    quiet: list[float] = []
    loaded: list[float] = []
    sign_ins: list[int] = []
    limits = httpx.Limits(max_connections=clients + 2)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        await _health_times(http, 10)  # warm up
        for _ in range(rounds):
            quiet += await _health_times(http, samples)
            stop = asyncio.Event()
            signers = [asyncio.create_task(_sign_in_forever(http, stop, sign_ins)) for _ in range(clients)]
            await asyncio.sleep(0.5)  # every signer is in flight
            loaded += await _health_times(http, samples)
            stop.set()
            await asyncio.gather(*signers)
    figures: dict[str, object] = {
        "quiet_p50_ms": statistics.median(quiet),
        "quiet_p95_ms": percentile(quiet, 0.95),
        "loaded_p50_ms": statistics.median(loaded),
        "loaded_p95_ms": percentile(loaded, 0.95),
        "sign_ins": len(sign_ins),
        "load_average": load_average(),
    }
    figures["ratio_p95"] = float(figures["loaded_p95_ms"]) / float(figures["quiet_p95_ms"])  # type: ignore[arg-type]
    return figures


def main() -> None:
    """Run it and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repo", type=Path, default=HERE)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    with DevStack(args.repo) as stack:
        figures = asyncio.run(
            measure(stack.url, clients=args.clients, rounds=args.rounds, samples=args.samples)
        )
    print(json.dumps({"repo": str(args.repo), "clients": args.clients, **figures}, indent=2))
    verdict = "met" if float(figures["ratio_p95"]) <= 3 else "NOT met"  # type: ignore[arg-type]
    ratio = f"{figures['ratio_p95']:.2f}x"
    print(f"signin_load: /healthz p95 with {args.clients} signing in = {ratio} quiet ({verdict})")


if __name__ == "__main__":
    main()
