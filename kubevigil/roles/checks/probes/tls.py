"""The `tls` probe: a handshake with host:port; the chain and name verified, days to the certificate's expiry."""

from __future__ import annotations

import asyncio
import ssl
from functools import cached_property

from cryptography import x509
from pydantic import Field, model_validator

from kubevigil.roles.checks.probes.failures import tls_reason
from kubevigil.roles.checks.probes.probe import Attempt, CheckFailed, Outcome, ProbeEnv, ProbeSpec, close_stream

DAY = 86400.0


class TlsProbe(ProbeSpec):
    """Pass when the chain verifies, the name matches and the certificate has at least `min_days_to_expiry` left."""

    host: str = Field(min_length=1, description="Host name or IP address to connect to")
    port: int = Field(443, ge=1, le=65535)
    server_name: str | None = Field(None, description="SNI and the name the certificate must match; default `host`")
    min_days_to_expiry: float = Field(14.0, ge=0, description="Fail when fewer days are left before the expiry")
    verify_chain: bool = Field(True, description="Verify the chain against the system's CAs or `ca_file`")
    ca_file: str | None = Field(None, description="PEM bundle of the CAs to trust instead of the system's")
    check_hostname: bool = Field(True, description="The certificate must match `server_name` (or `host`)")

    @model_validator(mode="after")
    def _hostname_needs_chain(self) -> TlsProbe:
        if self.check_hostname and not self.verify_chain:
            raise ValueError("check_hostname needs verify_chain: a name in an unverified certificate proves nothing")
        return self

    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        sni = f" (SNI {self.server_name})" if self.server_name else ""
        return f"tls {host}:{self.port}{sni}"

    @cached_property
    def _verifying(self) -> ssl.SSLContext:
        try:
            ctx = ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise CheckFailed(f"config: cannot load ca_file: {reason}") from None
        ctx.check_hostname = self.check_hostname
        ctx.verify_mode = ssl.CERT_REQUIRED if self.verify_chain else ssl.CERT_NONE
        return ctx

    async def check(self, env: ProbeEnv, attempt: Attempt) -> Outcome:
        attempt.doing = "in the TLS handshake"
        failure = None
        try:
            der = await self._peer_certificate(self._verifying)
        except ssl.SSLCertVerificationError as exc:
            failure = tls_reason(exc)
            attempt.doing = "in a second TLS handshake, reading the certificate that failed verification"
            der = await self._peer_certificate(_reader_context())
        cert = x509.load_der_x509_certificate(der)
        days = (cert.not_valid_after_utc.timestamp() - env.clock.now()) / DAY
        values = {"days_to_expiry": days}
        if failure is not None:
            return Outcome(False, failure, values)
        if days < self.min_days_to_expiry:
            return Outcome(False, f"expiring: the certificate expires in {days:.1f} days "
                                  f"(threshold {self.min_days_to_expiry:g})", values)
        verified = ", chain and name verified" if self.check_hostname else ", chain verified" if self.verify_chain else ""
        return Outcome(True, f"certificate valid for {days:.1f} more days{verified}", values)

    async def _peer_certificate(self, ctx: ssl.SSLContext) -> bytes:
        name = self.server_name or self.host
        _, writer = await asyncio.open_connection(self.host, self.port, ssl=ctx, server_hostname=name)
        try:
            der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        finally:
            await close_stream(writer)
        if not der:
            raise CheckFailed("tls: the server sent no certificate")
        return bytes(der)


def _reader_context() -> ssl.SSLContext:
    """A context that accepts any certificate: only to read the one that failed verification."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
