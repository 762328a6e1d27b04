"""A TCP proxy in front of Redis that can lose one reply, as a broken network would.

Armed, it forwards the next transaction that appends to a stream (MULTI ... XADD ...
EXEC) to Redis, which applies it, then closes that connection before the reply gets
back. The sender cannot tell whether its write landed: the case an at-least-once
retry turns into a duplicate.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from shared.redis_server import free_port

EXEC = b"*1\r\n$4\r\nEXEC\r\n"
CHUNK = 1 << 16


class CuttingProxy:
    """Forwards 127.0.0.1:<port> to a Redis port; ``arm()`` schedules one cut."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.cut = threading.Event()
        self._armed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, redis_url: str) -> str:
        """The same Redis URL, through this proxy."""
        return redis_url.replace(f":{self.target_port}/", f":{self.port}/")

    def arm(self) -> None:
        self.cut.clear()
        self._armed.set()

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            doomed = threading.Event()
            threading.Thread(
                target=self._upstream, args=(client, server, doomed), daemon=True
            ).start()
            threading.Thread(
                target=self._downstream, args=(server, client, doomed), daemon=True
            ).start()

    def _upstream(
        self, client: socket.socket, server: socket.socket, doomed: threading.Event
    ) -> None:
        """Client to Redis; marks the connection when an armed XADD batch passes."""
        pending = b""
        while data := _recv(client):
            pending = (pending + data)[-CHUNK:] if b"XADD" in pending + data else b""
            if self._armed.is_set() and pending.endswith(EXEC):
                self._armed.clear()
                doomed.set()
            if not _send(server, data):
                break
        _close(client, server)

    def _downstream(
        self, server: socket.socket, client: socket.socket, doomed: threading.Event
    ) -> None:
        """Redis to client; the reply to a doomed transaction never arrives."""
        held = b""
        while data := _recv(server):
            if doomed.is_set():
                # +OK and +QUEUED come first; EXEC's reply is the first array, so
                # once it shows, Redis has applied the transaction.
                held += data
                if b"*" in held:
                    self.cut.set()
                    break
                continue
            if not _send(client, data):
                break
        _close(client, server)


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(CHUNK)
    except OSError:
        return b""


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
