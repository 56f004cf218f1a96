"""The emulator as an httpx transport: a CUPI server in the same process, no sockets.

Faults behave as over HTTP: a dropped POST raises ``httpx.RemoteProtocolError`` after the
object was committed, and latency beyond the client's read timeout raises
``httpx.ReadTimeout`` (after the server did its work, as a real slow server would).
"""

from __future__ import annotations

import httpx

from cupiform.emulator.core import Emulator, EmulatorRequest


class EmulatorTransport(httpx.BaseTransport):
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        headers: dict[str, str] = {}
        for name, value in request.headers.multi_items():
            key = name.lower()
            headers[key] = (
                f"{headers[key]}; {value}" if key == "cookie" and key in headers else value
            )
        url = request.url
        default_port = 443 if url.scheme == "https" else 80
        port = f":{url.port}" if url.port not in (None, default_port) else ""
        timeouts = request.extensions.get("timeout", {})
        answer = self.emulator.handle(
            EmulatorRequest(
                method=request.method,
                path=url.path,
                query=url.query.decode("ascii", "replace"),
                headers=headers,
                body=body,
                base_url=f"{url.scheme}://{url.host}{port}",
                timeout=timeouts.get("read"),
            )
        )
        if answer.drop_connection:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if answer.timed_out:
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        return httpx.Response(
            answer.status, headers=list(answer.headers), content=answer.body, request=request
        )
