"""The HTTP server process: uvicorn with read timeouts it does not have by itself.

uvicorn closes idle keep-alive connections, but a client that opens a connection and never
finishes its request headers (or drips them a byte at a time) is held forever; a few hundred
such connections exhaust the process. This protocol gives every request a deadline for its
headers and every connection a limit on silence while a body is being read.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol


class TimedH11Protocol(H11Protocol):
    header_seconds = 10.0
    idle_seconds = 30.0

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm_header_timer()

    def _waiting_for_headers(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_seconds, self._timed_out)

    def _timed_out(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._waiting_for_headers():
            self._arm_header_timer()  # the deadline runs from the first byte of a request, not per byte
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        super().data_received(data)
        if not self._waiting_for_headers():
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
            # Reading a body: the client may pause, but not for longer than this.
            self._idle_timer = self.loop.call_later(self.idle_seconds, self._idle)

    def _idle(self) -> None:
        self._idle_timer = None
        if self.cycle is not None and not self.cycle.response_complete and not self.cycle.more_body:
            return  # the whole request arrived; the app is working on it
        if not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._header_timer, self._idle_timer):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)


def protocol(header_seconds: float, idle_seconds: float) -> type[TimedH11Protocol]:
    """The protocol class with these limits (uvicorn takes a class, not an instance)."""
    return type("SiteregH11Protocol", (TimedH11Protocol,), {"header_seconds": header_seconds, "idle_seconds": idle_seconds})
