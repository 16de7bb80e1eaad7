"""`host:port` text: the server's `listen`, the syslog sink's `address`, and DNS servers whose port is optional."""

from __future__ import annotations

import ipaddress


def split_host_port(text: str) -> tuple[str, int]:
    """`0.0.0.0:8080` -> ("0.0.0.0", 8080); `[::]:8080` -> ("::", 8080); ValueError saying what is expected otherwise."""
    expected = f"expected host:port such as 0.0.0.0:8080 or [::]:8080; got {text!r}"
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(expected)
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValueError(expected)
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IPv6 address; {expected}") from None
    elif ":" in host:
        raise ValueError(f"an IPv6 host needs brackets, e.g. [::]:8080; got {text!r}")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"port {port} is out of range (0-65535)")
    return host, port


def split_host_optional_port(text: str, default_port: int) -> tuple[str, int]:
    """`10.0.0.10`, `10.0.0.10:5353`, `::1`, `[::1]`, `[::1]:5353` -> (host, port), `default_port` when none is given.

    An unbracketed text with several colons is an IPv6 address without a port, as DNS server lists write it."""
    if text.startswith("[") and text.endswith("]"):
        return text[1:-1], default_port
    if text.startswith("[") or text.count(":") == 1:
        return split_host_port(text)
    return text, default_port
