"""A ``socketserver`` served from a daemon thread: how takedown's own loopback servers run beside the caller.

The guard proxy (``takedown.sites.guard_proxy``), the demo site (``takedown.demo.site``) and the local
time-stamping authority (``takedown.demo.tsa``) each bind a server, serve it in the background and stop it again;
:class:`ServerThread` is that part, once.
"""

from __future__ import annotations

import socketserver
import threading
from typing import Generic, TypeVar

__all__ = ["ServerThread"]

S = TypeVar("S", bound=socketserver.BaseServer)


class ServerThread(Generic[S]):
    """Serves ``server`` (already bound) from a daemon thread, from construction until :meth:`stop`.

    Args:
        server: the bound server to serve.
        name: the thread's name (it shows in thread dumps and debuggers).
        poll_interval: how often, in seconds, ``serve_forever`` checks for a shutdown request.
    """

    def __init__(self, server: S, *, name: str, poll_interval: float) -> None:
        self.server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": poll_interval}, name=name, daemon=True
        )
        self._thread.start()

    def stop(self, *, timeout: float = 5.0) -> None:
        """Stop serving, close the listening socket and wait up to ``timeout`` seconds for the thread to end.

        Connections already being handled end on their own (their threads are daemons).
        """
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=timeout)
