"""Reaching an assistant from the terminal: a running one, or one started in-process.

The client's HTTP work runs on an event loop in a background thread (`Background`), so that
the terminal's thread can block on the keyboard and take Ctrl-C as "cancel this run".

With no URL given, a local orchestrator (HOST:PORT from the settings) is used when one
answers; otherwise the app starts inside this process on a free loopback port, on the same
data folder as `assistant up`, with tokens minted for the local admin.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import socket
import threading
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from common.tls import MutualTLS, scheme
from orchestrator.client.api import ApiError, AssistantClient, Credentials
from orchestrator.client.config import ClientConfig

__all__ = ["Background", "Connection", "Stream", "connect"]

T = TypeVar("T")
_DONE = object()


class Background:
    """An event loop on a daemon thread; the caller's thread waits on its results."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the loop and wait for its result.

        Raises:
            Exception: whatever the coroutine raised.
        """
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stream(self, source: AsyncIterator[T]) -> Stream[T]:
        """Read an async iterator from this thread, one item at a time."""
        return Stream(source, self.loop)

    def close(self) -> None:
        """Cancel what still runs on the loop, then stop it."""

        async def cancel_the_rest() -> None:
            current = asyncio.current_task()
            pending = [task for task in asyncio.all_tasks() if task is not current]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(cancel_the_rest(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()


class Stream(Generic[T]):
    """An async iterator pumped on the background loop, read from another thread.

    A Ctrl-C while `next` waits interrupts the wait only: the stream goes on and `next`
    can be called again.
    """

    def __init__(self, source: AsyncIterator[T], loop: asyncio.AbstractEventLoop) -> None:
        self._items: queue.Queue[Any] = queue.Queue()

        async def pump() -> None:
            try:
                async for item in source:
                    self._items.put(item)
            except Exception as error:  # handed to the reading thread, which raises it
                self._items.put(error)
            finally:
                self._items.put(_DONE)

        self._future = asyncio.run_coroutine_threadsafe(pump(), loop)
        self._done = False

    def next(self) -> T | None:
        """The next item, or None at the end.

        Raises:
            Exception: whatever the source raised.
        """
        if self._done:
            return None
        while True:
            try:
                item = self._items.get(timeout=0.2)  # bounded, so Ctrl-C gets through
            except queue.Empty:
                continue
            if item is _DONE:
                self._done = True
                return None
            if isinstance(item, Exception):
                self._done = True
                raise item
            return item

    def close(self) -> None:
        """Stop reading: the pump on the loop is cancelled and `next` returns None."""
        self._done = True
        self._future.cancel()


@dataclass
class Connection:
    """A client connected to an assistant, and the in-process server when it started one.

    `where` says which for the user: the URL, or "in-process".
    """

    client: AssistantClient
    where: str
    server: InProcessServer | None = None

    async def aclose(self) -> None:
        """Close the client, and stop the in-process server if there is one."""
        await self.client.aclose()
        if self.server is not None:
            await self.server.stop()


class InProcessServer:
    """The orchestrator app served by uvicorn on this process's loop."""

    def __init__(self, settings: Any) -> None:
        self._settings = settings
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self.app: Any = None

    async def start(self) -> str:
        """Serve the app on a free loopback port; returns its URL.

        Raises:
            ApiError: the server stopped before it was up.
        """
        import uvicorn

        from orchestrator.main import create_app

        self.app = create_app(self._settings, announce_model=False)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:  # uvicorn offers no started event
            if self._task.done():
                await self._task
                raise ApiError("The assistant did not start in-process.")
            await asyncio.sleep(0.02)
        port = sock.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def credentials(self) -> Credentials:
        """Tokens for the local admin, minted by the app without a password."""
        settings = self._settings
        email = settings.auth.admin_email or _first_admin_email(settings.data_dir)
        pair = await self.app.state.services.auth.session_for(email)
        return Credentials(pair.access_token, pair.refresh_token)

    async def stop(self) -> None:
        """Ask uvicorn to exit and wait until it has."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task


def _first_admin_email(data_dir: Path) -> str:
    try:
        return (data_dir / "initial-admin-password").read_text().split()[0]
    except (OSError, IndexError):
        return "admin@localhost"


def _first_admin_login(data_dir: Path) -> tuple[str, str] | None:
    try:
        email, password = (data_dir / "initial-admin-password").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return email, password


async def connect(target: ClientConfig, settings_factory: Any) -> Connection:
    """A logged-in client for `target`, a local orchestrator, or the app in-process.

    Raises:
        ApiError: the server is unreachable or refuses the credentials.
    """
    if target.url is not None:
        client = AssistantClient(
            target.url, Credentials(target.api_key) if target.api_key else None
        )
        if client.credentials is None:
            await client.aclose()
            raise ApiError(
                f"No API key for {target.url}: run `assistant login --url {target.url}`, "
                "or set ASSISTANT_API_KEY."
            )
        await _check(client)
        return Connection(client, target.url)
    settings = settings_factory()
    tls = MutualTLS.of(settings, "orchestrator")
    local_url = f"{scheme(tls)}://127.0.0.1:{settings.port}"
    client = AssistantClient(local_url, verify=tls.client_context() if tls else True)
    if await client.healthy():
        if target.api_key:
            client.credentials = Credentials(target.api_key)
        else:
            login = _first_admin_login(settings.data_dir)
            if login is None:
                await client.aclose()
                raise ApiError(
                    f"The assistant runs at {local_url}, but there is no key to use: run "
                    "`assistant login`, or set ASSISTANT_API_KEY."
                )
            await client.login(*login)
        await _check(client)
        return Connection(client, local_url)
    await client.aclose()
    server = InProcessServer(settings)
    url = await server.start()
    try:
        credentials = await server.credentials()
    except BaseException:
        await server.stop()
        raise
    return Connection(AssistantClient(url, credentials), "in-process", server)


async def _check(client: AssistantClient) -> None:
    try:
        await client.me()
    except ApiError:
        await client.aclose()
        raise
