"""A scripted AWS JSON-protocol endpoint on 127.0.0.1: answers each call from a list of canned replies.

moto accepts everything it can store, so the replies real AWS gives under load (throttling, 5xx, per-entry
failures) come from here, through the real botocore client and its parsers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeAws:
    # (status, JSON body), used in order; the last one answers every call after it, so an outage stays down
    replies: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (X-Amz-Target, request body)
    url: str = ""

    def reply(self, status: int, body: dict[str, Any]) -> None:
        self.replies.append((status, body))

    def error(self, status: int, code: str, message: str = "injected") -> None:
        self.reply(status, {"__type": code, "message": message})

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.calls.append((request.headers.get("X-Amz-Target", ""), json.loads(body or b"{}")))
        status, doc = (self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]) if self.replies else (200, {})
        headers = {"x-amzn-RequestId": "fake", "Content-Type": "application/x-amz-json-1.1"}
        if status >= 400:
            headers["x-amzn-query-error"] = f"{doc['__type']};Sender"  # SQS's JSON protocol reads the code here
        return web.Response(status=status, body=json.dumps(doc), headers=headers)


async def serve() -> AsyncIterator[FakeAws]:
    fake = FakeAws()
    app = web.Application(client_max_size=16 << 20)
    app.router.add_post("/", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()
