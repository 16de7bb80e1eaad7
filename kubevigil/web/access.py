"""Who may read the page, and the headers every page response carries (a strict Content-Security-Policy)."""

from __future__ import annotations

import hmac

from aiohttp import web

from kubevigil.kube.secrets import SecretKey
from kubevigil.web.process import Process

# Scripts and styles come only from the page's own files: no inline script, no eval, no inline style, no frames.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class ReadAccess:
    """`server.web.reads`: open, a bearer token from a Secret, or off."""

    def __init__(self, process: Process) -> None:
        settings = process.settings
        self.off = settings.reads == "off"
        self._secret: SecretKey | None = None
        self._no_api = False
        if settings.reads == "token" and settings.token is not None:
            ref = settings.token
            if process.api is None:
                self._no_api = True
            else:
                self._secret = SecretKey(process.api, ref.namespace or process.pod.namespace, ref.secret, ref.key)

    @property
    def open(self) -> bool:
        return not self.off and self._secret is None and not self._no_api

    async def refusal(self, request: web.Request) -> str:
        """Why this request may not read ("" when it may)."""
        if self.open:
            return ""
        if self.off:
            return "the web page is off (server.web.reads: off)"
        expected = await self._secret.get() if self._secret is not None else None
        if expected is None:
            return "reads need a token, and its Secret cannot be read"
        header = request.headers.get("Authorization", "")
        given = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
        if given and hmac.compare_digest(given.encode(), expected.encode()):
            return ""
        return "reads need a bearer token (server.web.reads: token)"
