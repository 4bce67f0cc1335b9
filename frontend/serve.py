"""Serve the front end on FRONTEND_HOST:FRONTEND_PORT with gevent (after monkey-patching)."""

from __future__ import annotations

import logging
import signal
import socket
import sys
import time
from typing import Any

from frontend.settings import ConfigError, FrontendSettings

__all__ = ["main", "serve"]

logger = logging.getLogger(__name__)


def serve(settings: FrontendSettings) -> None:
    """Run until SIGINT or SIGTERM.

    Raises:
        ConfigError: the configuration cannot work.
    """
    import gevent
    import gevent.event
    from gevent.pywsgi import WSGIServer

    from frontend.app import create_app

    started = time.monotonic()
    settings.check()
    app = create_app(settings)
    # What Flask-SocketIO's `run` does under gevent, with a clean stop on SIGTERM too.
    server = WSGIServer(
        (settings.host, settings.port),
        app,
        log=None,
        error_log=logging.getLogger("frontend.wsgi"),
    )
    server.init_socket()
    # Each relayed event is a small write: without TCP_NODELAY, Nagle's algorithm holds it
    # until the browser's delayed ACK (about 40 ms per event). Accepted sockets inherit it.
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stopping = gevent.event.Event()

    def stop(*_: Any) -> None:
        stopping.set()

    gevent.signal_handler(signal.SIGINT, stop)
    gevent.signal_handler(signal.SIGTERM, stop)
    server.start()
    print(
        f"Front end at {settings.url} ({time.monotonic() - started:.1f} s), "
        f"reaching the orchestrator at {settings.orchestrator_url}",
        flush=True,
    )
    stopping.wait()
    server.stop(timeout=5)
    app.extensions["assistant"].orchestrator.close()


def main() -> None:
    """The process entry point (after gevent's monkey-patching)."""
    settings = FrontendSettings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        serve(settings)
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from error
    except OSError as error:
        message = f"The front end cannot listen on port {settings.port}: {error}"
        print(message, file=sys.stderr)
        raise SystemExit(1) from error
