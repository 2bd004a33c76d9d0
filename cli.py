"""The `crc` command: migrate, seed, worker, web, and `dev` which runs the whole stack locally."""

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from crc.roles import ROLE_LABELS, Role
from crc.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a child gets when its parent dies

# No locals in tracebacks: they would print DATABASE_URL passwords and the secret key.
app = typer.Typer(
    no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_show_locals=False
)

STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def _settings() -> Settings:
    """The settings, or a clear message and exit status 2 when they are refused."""
    try:
        return get_settings()
    except ValidationError as exc:
        messages = "; ".join(str(error["msg"]) for error in exc.errors())
        typer.secho(f"Configuration refused: {messages}", fg="red", err=True)
        raise typer.Exit(2) from exc


def _shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _migrate(settings: Settings) -> None:
    from migrations import upgrade  # alembic is only needed here

    settings.CRC_DATA_DIR.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(settings.database_url)
    except OperationalError as exc:
        typer.secho(
            f"Cannot reach the database {_shown_url(settings.database_url)}: {exc.orig}", fg="red", err=True
        )
        raise typer.Exit(1) from exc
    typer.echo(f"Database {_shown_url(settings.database_url)} is at the latest revision.")


def _seed(settings: Settings) -> bool:
    from crc.db import create_sync_engine
    from crc.seed import seed_demo

    engine = create_sync_engine(settings.database_url)
    try:
        seeded = seed_demo(engine, password=settings.CRC_DEMO_PASSWORD)
    finally:
        engine.dispose()
    if seeded:
        typer.echo("Demo data seeded: one user per role, roster, posts, courses and stock.")
    else:
        typer.echo("The database already has users: demo seed skipped.")
    return seeded


def _refuse_outside_dev(settings: Settings, what: str) -> None:
    if not settings.is_dev:
        typer.secho(
            f"Refusing to {what} with CRC_ENV={settings.CRC_ENV!r}: demo users must not exist "
            "outside dev mode (CRC_ENV=dev).",
            fg="red",
            err=True,
        )
        raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Apply the database migrations (alembic upgrade head) to DATABASE_URL."""
    _migrate(_settings())


@app.command()
def seed() -> None:
    """Seed demo users and reference data into an empty database (dev mode only)."""
    settings = _settings()
    _refuse_outside_dev(settings, "seed demo data")
    _migrate(settings)
    _seed(settings)


def _refuse_demo_passwords(settings: Settings) -> None:
    """Outside dev, stop before starting while an active user still has the demo password."""
    if settings.is_dev:
        return
    from crc.accounts import demo_password_refusal

    async def check(db: "AsyncSession") -> str | None:
        return await demo_password_refusal(db, settings.CRC_DEMO_PASSWORD)

    problem = _with_database(settings, check)
    if problem:
        typer.secho(f"Refusing to start with CRC_ENV={settings.CRC_ENV!r}: {problem}.", fg="red", err=True)
        raise typer.Exit(1)


def _with_database(settings: Settings, work: "Callable[[AsyncSession], Awaitable[T]]") -> T:
    """Run `work` with a database session of its own, reporting an unreachable database clearly."""
    from crc.db import create_engine, session_factory

    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as db:
                return await work(db)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (OperationalError, InterfaceError) as exc:
        typer.secho(
            f"Cannot reach the database {_shown_url(settings.database_url)}: {exc.orig}", fg="red", err=True
        )
        raise typer.Exit(1) from exc


@app.command()
def worker() -> None:
    """Run the Temporal worker until Ctrl-C."""
    _refuse_demo_passwords(_settings())
    import worker as worker_module

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(worker_module.main())


@app.command()
def web() -> None:
    """Run the web app and API with uvicorn on CRC_WEB_HOST:CRC_WEB_PORT."""
    import uvicorn

    settings = _settings()
    _refuse_demo_passwords(settings)
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=settings.CRC_WEB_HOST,
        port=settings.CRC_WEB_PORT,
        proxy_headers=True,
    )


@app.command("mail-sink")
def mail_sink() -> None:
    """Keep every email sent to CRC_SMTP_HOST:CRC_SMTP_PORT as an .eml file (dev only)."""
    from crc.mail_sink import mail_dir, run

    settings = _settings()
    _refuse_outside_dev(settings, "run the mail sink")
    where = f"{settings.CRC_SMTP_HOST}:{settings.CRC_SMTP_PORT}"
    try:
        run(
            settings, started=lambda: typer.echo(f"Mail sink on {where}: messages go to {mail_dir(settings)}")
        )
    except OSError as exc:
        typer.secho(f"The mail sink cannot listen on {where}: {exc}; set CRC_SMTP_PORT.", fg="red", err=True)
        raise typer.Exit(1) from exc


@app.command("search-attributes")
def search_attributes() -> None:
    """Register the deployment search attributes in TEMPORAL_NAMESPACE (workers also try at start-up)."""
    settings = _settings()
    import worker as worker_module

    try:
        # A fresh cluster answers a moment before its namespace exists (temporalio/auto-setup).
        Stack().wait_until(
            "Temporal", lambda: _temporal_ready(settings.TEMPORAL_ADDRESS, settings.TEMPORAL_NAMESPACE)
        )
    except RuntimeError as exc:
        typer.secho(f"{exc}.", fg="red", err=True)
        raise typer.Exit(1) from exc
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    async def register() -> bool:
        client = await worker_module.connect(settings)
        return await worker_module.register_search_attributes(client, settings.TEMPORAL_NAMESPACE)

    registered = asyncio.run(register())
    if registered:
        namespace = settings.TEMPORAL_NAMESPACE
        typer.echo(f"The deployment search attributes are registered in namespace {namespace}.")
    _exit_skipping_teardown(0 if registered else 1)


def _exit_skipping_teardown(code: int) -> NoReturn:
    """Exit at once: the Temporal client's Rust threads can abort a short-lived process's interpreter
    teardown ("PyGILState_Release ... finalizing", temporalio/sdk-python#300) after its work is done."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


# --- crc users: the account actions the session rules need -------------------------------------

users_app = typer.Typer(no_args_is_help=True, help="Sign users out, disable them, set their passwords.")
app.add_typer(users_app, name="users")
CLI_ACTOR = "cli"


def _account_action(settings: Settings, action: "Callable[[AsyncSession], Awaitable[object]]") -> None:
    from crc.accounts import UnknownUser

    try:
        _with_database(settings, action)
    except UnknownUser as exc:
        typer.secho(f"No user is named {exc.args[0]!r}.", fg="red", err=True)
        raise typer.Exit(1) from exc


@users_app.command("sign-out")
def users_sign_out(username: str) -> None:
    """End every page session and API token of USERNAME now."""
    from crc.accounts import sign_out_everywhere

    ended: list[int] = []

    async def action(db: "AsyncSession") -> None:
        ended.append(await sign_out_everywhere(db, username=username, actor=CLI_ACTOR))

    _account_action(_settings(), action)
    typer.echo(f"{username} is signed out everywhere: {ended[0]} page sessions ended, API tokens void.")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Stop USERNAME signing in, and end their sessions and tokens now."""
    from crc.accounts import disable_user

    async def action(db: "AsyncSession") -> None:
        await disable_user(db, username=username, actor=CLI_ACTOR)

    _account_action(_settings(), action)
    typer.echo(f"{username} is disabled and signed out everywhere.")


@users_app.command("set-password")
def users_set_password(
    username: str,
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Give USERNAME a new password (asked for twice); their sessions and tokens end."""
    from crc.accounts import set_password

    if not password.strip():
        typer.secho("The password must not be empty.", fg="red", err=True)
        raise typer.Exit(2)

    async def action(db: "AsyncSession") -> None:
        await set_password(db, username=username, password=password, actor=CLI_ACTOR)

    _account_action(_settings(), action)
    typer.echo(f"{username} has a new password and is signed out everywhere.")


# --- crc dev: the whole stack on one machine --------------------------------------------------


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _temporal_ready(address: str, namespace: str) -> bool:
    """True when the frontend answers and the namespace exists."""
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.client import Client

    async def probe() -> None:
        client = await Client.connect(address, namespace=namespace)
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace), timeout=timedelta(seconds=2)
        )

    try:
        asyncio.run(asyncio.wait_for(probe(), timeout=5))
        return True
    except Exception:  # any failure means "not yet"
        return False


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _die_with_parent() -> None:
    """In the child, on Linux: SIGTERM when `crc dev` dies, even by SIGKILL, so that no orphaned
    server keeps the ports (and the next `make run` finds them free)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Stack:
    """Child processes started in order and stopped in reverse order."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.logs: dict[str, Path] = {}

    def start(self, name: str, argv: list[str], log: Path | None = None) -> None:
        # Own process group: Ctrl-C reaches only us, and we stop the children in order.
        output = log.open("ab") if log else None
        try:
            process = subprocess.Popen(  # noqa: S603
                argv, process_group=0, stdout=output, stderr=output, preexec_fn=_die_with_parent
            )
        finally:
            if output:
                output.close()  # the child holds its own copy
        self.children.append((name, process))
        if log:
            self.logs[name] = log

    def dead(self) -> str | None:
        """What the first child that has exited said, or None while all run."""
        for name, process in self.children:
            if process.poll() is not None:
                see = f" (see {self.logs[name]})" if name in self.logs else ""
                return f"{name} exited with status {process.returncode}{see}"
        return None

    def wait_until(self, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not ready():
            if died := self.dead():
                raise RuntimeError(f"{died} while starting")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer within {STARTUP_TIMEOUT_S:.0f} s")
            time.sleep(0.5)

    def stop(self) -> None:
        for name, process in reversed(self.children):
            if process.poll() is None:
                typer.echo(f"Stopping {name}…")
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _banner(settings: Settings, web_url: str) -> None:
    from crc.seed import SCOPED_USERS

    temporal_host, _ = _host_port(settings.TEMPORAL_ADDRESS)
    roles = ", ".join(role.value for role in Role)
    scoped = ", ".join(
        f"{u.username} ({ROLE_LABELS[u.role]} for {', '.join(u.scope)} only)" for u in SCOPED_USERS
    )
    typer.echo(
        "\nCRC deployments is running. Ctrl-C stops everything.\n"
        f"  Web app      {web_url}\n"
        f"  API docs     {web_url}/docs\n"
        f"  Temporal UI  http://{temporal_host}:{settings.CRC_TEMPORAL_UI_PORT}\n"
        f"  Mail         {web_url}/dev/mail (SMTP sink {settings.CRC_SMTP_HOST}:{settings.CRC_SMTP_PORT}, "
        f"messages in {(settings.CRC_DATA_DIR / 'mail').resolve()})\n"
        f"  Data         {settings.CRC_DATA_DIR.resolve()} (Temporal's log: temporal.log)\n"
        f"Demo logins (password {settings.CRC_DEMO_PASSWORD!r}): {roles}\n"
        f"  Scoped: {scoped}\n"
    )


def _run_stack(settings: Settings) -> int:
    from crc.search_attributes import dev_server_args  # temporalio is only needed here

    temporal_host, temporal_port = _host_port(settings.TEMPORAL_ADDRESS)
    web_host = "127.0.0.1" if settings.CRC_WEB_HOST in ("0.0.0.0", "::") else settings.CRC_WEB_HOST  # noqa: S104
    web_url = f"http://{web_host}:{settings.CRC_WEB_PORT}"
    if _port_open(web_host, settings.CRC_WEB_PORT):
        typer.secho(f"Port {settings.CRC_WEB_PORT} is in use; set CRC_WEB_PORT.", fg="red", err=True)
        return 1
    if _port_open(settings.CRC_SMTP_HOST, settings.CRC_SMTP_PORT):
        typer.secho(
            f"Port {settings.CRC_SMTP_PORT} is in use (the mail sink's, on {settings.CRC_SMTP_HOST}); "
            "set CRC_SMTP_PORT.",
            fg="red",
            err=True,
        )
        return 1
    stack = Stack()
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    # Explicit for SIGINT too: a shell starting us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    crc = [sys.executable, "-m", "cli"]
    try:
        if _port_open(temporal_host, temporal_port):
            typer.echo(f"Using the Temporal server already answering at {settings.TEMPORAL_ADDRESS}.")
        else:
            temporal = Path(sys.prefix) / "bin" / "temporal"
            typer.echo(f"Starting the Temporal dev server on {settings.TEMPORAL_ADDRESS}…")
            stack.start(
                "temporal",
                [
                    str(temporal), "server", "start-dev",
                    "--ip", temporal_host, "--port", str(temporal_port),
                    "--ui-port", str(settings.CRC_TEMPORAL_UI_PORT),
                    "--db-filename", str(settings.CRC_DATA_DIR / "temporal.db"),
                    "--log-level", "warn",
                    *dev_server_args(),
                    *(["--namespace", settings.TEMPORAL_NAMESPACE]
                      if settings.TEMPORAL_NAMESPACE != "default" else []),
                ],
                log=settings.CRC_DATA_DIR / "temporal.log",
            )  # fmt: skip
        stack.wait_until(
            "Temporal", lambda: _temporal_ready(settings.TEMPORAL_ADDRESS, settings.TEMPORAL_NAMESPACE)
        )
        stack.start("mail sink", [*crc, "mail-sink"])
        stack.wait_until("the mail sink", lambda: _port_open(settings.CRC_SMTP_HOST, settings.CRC_SMTP_PORT))
        stack.start("worker", [*crc, "worker"])
        stack.start("web", [*crc, "web"])
        stack.wait_until("the web app", lambda: _healthy(f"{web_url}/healthz"))
        _banner(settings, web_url)
        while not (died := stack.dead()):
            time.sleep(0.5)
        typer.secho(f"Unexpectedly, {died}; stopping the others.", fg="red", err=True)
        return 1
    except KeyboardInterrupt:
        stopping = True
        return 0
    except RuntimeError as exc:
        typer.secho(f"{exc}; stopping.", fg="red", err=True)
        return 1
    finally:
        # A second Ctrl-C or SIGTERM must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if stopping:
            typer.echo("Stopped.")


@app.command()
def dev() -> None:
    """Migrate, seed if empty, and run Temporal, the worker and the web app (`make run`)."""
    settings = _settings()
    _refuse_outside_dev(settings, "run the dev stack")
    _migrate(settings)
    _seed(settings)
    raise typer.Exit(_run_stack(settings))


if __name__ == "__main__":
    app()
