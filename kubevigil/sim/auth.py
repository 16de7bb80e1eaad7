"""Authentication: the admin bearer token (rotatable at run time) and ServiceAccount tokens the emulator mints.

ServiceAccount tokens are HS256 JWTs with the claims of bound tokens (`kubernetes.io.serviceaccount`), signed with
a key the `Cluster` keeps (in its state file when it has one, so tokens survive a restart). A token stops working
when it expires or when its ServiceAccount is deleted (the uid must match), as bound tokens do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any

import orjson

from kubevigil.sim.rbac import ADMIN, User, service_account_user

if TYPE_CHECKING:
    from kubevigil.sim.store import Store

ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_EXPIRATION = 3600
MIN_EXPIRATION = 600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """Maps a bearer token to a User, or None (401)."""

    def __init__(self, store: Store, admin_token: str, signing_key: bytes | None = None) -> None:
        self._store = store
        self.admin_token = admin_token
        self.signing_key = signing_key or secrets.token_bytes(32)

    def authenticate(self, authorization: str | None) -> User | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        token = authorization[len("Bearer "):].strip()
        if hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return ADMIN
        return self.review(token)

    def mint(self, namespace: str, name: str, uid: str, expiration_seconds: int | None,
             audiences: list[str] | None = None) -> tuple[str, float]:
        """A token for ServiceAccount namespace/name (uid pins it to this incarnation); returns (token, expiry)."""
        now = int(self._store.clock.now())
        exp = now + max(MIN_EXPIRATION, int(expiration_seconds or DEFAULT_EXPIRATION))
        claims = {"aud": audiences or [ISSUER], "exp": exp, "iat": now, "iss": ISSUER, "nbf": now,
                  "jti": secrets.token_hex(8), "sub": f"system:serviceaccount:{namespace}:{name}",
                  "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}}}
        head = _b64(orjson.dumps({"alg": "HS256", "kid": "kubevigil-sim", "typ": "JWT"}))
        body = f"{head}.{_b64(orjson.dumps(claims))}"
        return f"{body}.{_b64(self._sign(body))}", float(exp)

    def review(self, token: str) -> User | None:
        """The ServiceAccount user a minted token stands for, if it is valid now."""
        claims = self._claims(token)
        if claims is None or claims.get("exp", 0) <= self._store.clock.now():
            return None
        ident = claims.get("kubernetes.io") or {}
        namespace, sa = ident.get("namespace", ""), ident.get("serviceaccount") or {}
        stored = self._store.try_get(self._store.resource("v1", "ServiceAccount"), namespace, sa.get("name", ""))
        if stored is None or stored["metadata"].get("uid") != sa.get("uid"):
            return None
        return service_account_user(namespace, sa["name"], sa["uid"])

    def _sign(self, body: str) -> bytes:
        return hmac.new(self.signing_key, body.encode(), hashlib.sha256).digest()

    def _claims(self, token: str) -> dict[str, Any] | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            if not hmac.compare_digest(_unb64(parts[2]), self._sign(f"{parts[0]}.{parts[1]}")):
                return None
            claims = orjson.loads(_unb64(parts[1]))
        except (ValueError, orjson.JSONDecodeError):
            return None
        return claims if isinstance(claims, dict) else None
