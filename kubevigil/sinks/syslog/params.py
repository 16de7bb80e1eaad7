"""Parameters of the `syslog` sink."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from kubevigil.core.hostport import split_host_port
from kubevigil.core.model import Model
from kubevigil.core.templating import TemplateValue

FACILITIES = {
    "kern": 0, "user": 1, "daemon": 3, "auth": 4, "syslog": 5, "local0": 16, "local1": 17, "local2": 18,
    "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}


class Params(Model):
    """Send each record as an RFC 5424 message: TCP with octet-counting framing (RFC 6587) or one UDP datagram."""

    address: str = Field(description="host:port of the syslog server, e.g. syslog.example:514 or [::1]:514")
    network: Literal["tcp", "udp"] = "tcp"
    tag: str = Field("kubevigil", pattern=r"^[!-~]{1,48}$", description="APP-NAME of each message")
    facility: Literal[tuple(FACILITIES)] = "local0"  # type: ignore[valid-type]
    hostname: str | None = Field(None, description="HOSTNAME field; default: the cluster name")
    layout: TemplateValue | None = Field(None, description="Message document (JSON); default: the record body")
    timeout: float = Field(5.0, gt=0, description="Seconds to connect or write")

    @field_validator("address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        split_host_port(value)
        return value
