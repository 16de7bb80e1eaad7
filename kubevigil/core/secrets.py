"""Secrets: how config models mark them, and the one redaction every output applies.

A config model marks what is secret: a `SecretStr` field (tokens, passwords, API keys, header values) or a
`WebhookUrl` field (a URL whose path and query are the credential: Slack, Teams, Opsgenie, Loki, webhooks). Loading a
config `remember`s the values those marks hold, plus what `${VAR}` expansion took from variables whose names look
secret. Every output then passes its text through `scrub`: the config view, log lines, HTTP answers (/status,
/metrics, /api), dead letters and the errors of failed sends. `scrub` also masks, in any URL, the userinfo, secret
query parameters, and the path of a webhook-style URL, so text kubevigil never saw before (an exception from a
library) is covered as well.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_core import to_jsonable_python

MASK = "***"
# A remembered value shorter than this is masked where it is a whole config value, never inside free text: a few
# letters of a log line are not worth guessing about, and no credential is that short.
MIN_SCRUBBED = 6
_MAX_REMEMBERED = 10_000  # values are remembered per loaded config; a reloading process must not grow without end

_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_SECRET_WORDS = frozenset({
    "token", "tokens", "password", "passwd", "pwd", "passphrase", "secret", "secrets", "credential", "credentials",
    "apikey", "key", "authorization", "auth", "sig", "signature",
})
# The last word that makes a name point at a secret rather than hold it: `token_file`, `secretKeyRef`, `key_id`.
_REFERENCES = frozenset({"file", "path", "ref", "name", "dir", "id", "type", "kind"})


def looks_secret(name: str) -> bool:
    """Whether a field, header, query parameter or variable called `name` holds a secret (`api_key`, `X-Api-Key`,
    `GITHUB_TOKEN`, `password`), but not one that names where a secret is (`token_file`, `secret_name`)."""
    words = [w.lower() for w in _WORDS.findall(name)]
    if not words or words[-1] in _REFERENCES:
        return False
    return any(w in _SECRET_WORDS or w.endswith(("token", "password", "secret")) for w in words)


@dataclass(frozen=True, slots=True)
class SecretPath:
    """Field metadata: the URL's path and query are the secret (a webhook URL); scheme, host and port are not."""


WebhookUrl = Annotated[str, SecretPath()]

# Chat and alerting services whose webhook URLs carry the credential in the path or query, in any field.
_WEBHOOK_HOSTS = ("hooks.slack.com", "webhook.office.com", "outlook.office.com", "outlook.office365.com",
                  "logic.azure.com", "discord.com", "discordapp.com", "chat.googleapis.com")
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/?#@\"'<>]*@)?"
                  r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s/?#:\"'<>]*)(?P<port>:\d+)?(?P<rest>[^\s\"'<>]*)")
_QUERY_PARAM = re.compile(r"(?P<name>[^?&=#]+)=(?P<value>[^&#]*)")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class _Remembered:
    """The secret values and webhook origins of the configs this process loaded; thread-safe (logs of threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: dict[str, None] = {}  # insertion-ordered: past the bound, the oldest are forgotten first
        self.origins: set[tuple[str, int | None]] = set()
        self.pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str], origins: Iterable[tuple[str, int | None]]) -> None:
        with self._lock:
            for value in values:
                if value and value != MASK:
                    self.values.pop(value, None)
                    self.values[value] = None
            for old in list(self.values)[: max(0, len(self.values) - _MAX_REMEMBERED)]:
                del self.values[old]
            self.origins |= set(origins)
            forms = {form for v in self.values if len(v) >= MIN_SCRUBBED for form in _written_forms(v)}
            self.pattern = _pattern(forms) if forms else None


_remembered = _Remembered()


def _pattern(words: set[str]) -> re.Pattern[str]:
    """One regex matching any of `words`, longest first, shaped as their prefix tree: a flat alternation of a
    thousand tokens costs 20 times more per byte scanned (bench/secrets_scrub.py)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    try:
        return re.compile(_branch(trie))
    except (RecursionError, re.error):  # thousands of words each a prefix of the next: nest no deeper
        return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


def _branch(node: dict[str, Any]) -> str:
    run = ""
    while len(node) == 1 and "" not in node:  # a chain without branches is plain text, not nested groups
        (char, node), = node.items()
        run += re.escape(char)
    alternatives = [re.escape(char) + _branch(child) for char, child in sorted(node.items()) if char]
    if not alternatives:
        return run
    body = alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"
    return run + (f"(?:{body})?" if "" in node else body)


def _written_forms(value: str) -> set[str]:
    """A value as it may appear in output: as is, inside JSON, percent-encoded in a URL."""
    return {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
            urllib.parse.quote(value, safe="")}


def remember(values: Iterable[str] = (), origins: Iterable[tuple[str, int | None]] = ()) -> None:
    """Secret values (and webhook origins: host, port) that every later output must not show."""
    _remembered.add(values, origins)


def is_remembered(value: str) -> bool:
    return value in _remembered.values


def forget() -> None:
    """Forget every remembered secret (tests, and a process that loads unrelated configs one after another)."""
    global _remembered
    _remembered = _Remembered()


# ---- text


def scrub(text: str) -> str:
    """`text` with every remembered secret, URL userinfo, secret query value and webhook path replaced by ***."""
    pattern = _remembered.pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return _URL.sub(_scrub_url, text) if "://" in text else text


def scrub_value(value: Any) -> Any:
    """`scrub` on every string inside `value` (a log field, a JSON document); other values as they are."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value


def _scrub_url(match: re.Match[str]) -> str:
    scheme, host, port, rest = match["scheme"], match["host"], match["port"] or "", match["rest"]
    userinfo = f"{MASK}@" if match["userinfo"] else ""
    if rest.strip("/") and _secret_path(scheme, host, port):
        rest = f"/{MASK}"
    elif "?" in rest:
        path, _, query = rest.partition("?")
        rest = f"{path}?{_QUERY_PARAM.sub(_scrub_param, query)}"
    return f"{scheme}{userinfo}{host}{port}{rest}"


def _scrub_param(match: re.Match[str]) -> str:
    name = urllib.parse.unquote(match["name"])
    return f"{match['name']}={MASK}" if looks_secret(name) and match["value"] else match.group(0)


def _origin(scheme: str, host: str, port: str) -> tuple[str, int | None]:
    number = int(port[1:]) if port else _DEFAULT_PORTS.get(scheme.removesuffix("://").lower())
    return host.lower().strip("[]"), number


def _secret_path(scheme: str, host: str, port: str) -> bool:
    hostname = host.lower()
    if any(hostname == h or hostname.endswith(f".{h}") for h in _WEBHOOK_HOSTS):
        return True
    return _origin(scheme, host, port) in _remembered.origins


def mask_url_path(url: str) -> str:
    """A `WebhookUrl` for display: `https://hooks.slack.com/***` (userinfo masked too)."""
    match = _URL.match(url)
    if match is None:
        return MASK
    userinfo = f"{MASK}@" if match["userinfo"] else ""
    rest = f"/{MASK}" if match["rest"].strip("/") else match["rest"]
    return f"{match['scheme']}{userinfo}{match['host']}{match['port'] or ''}{rest}"


# ---- models


def view(value: Any) -> Any:
    """A model (or what is inside one) as JSON-able plain values, every secret it marks or holds shown as ***."""
    if isinstance(value, str):
        return MASK if value in _remembered.values else scrub(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, BaseModel):
        return {key: mask_url_path(item) if secret_path and isinstance(item, str) else view(item)
                for name, key, secret_path in _fields(type(value)) for item in (getattr(value, name),)}
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if isinstance(value, dict):
        return {str(k): _entry_view(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [view(v) for v in value]
    return to_jsonable_python(value)


@functools.cache
def _fields(model: type[BaseModel]) -> tuple[tuple[str, str, bool], ...]:
    """Per model class: (attribute, key in the config, whether it is a `WebhookUrl`) of each field."""
    return tuple((name, info.alias or name, any(isinstance(m, SecretPath) for m in info.metadata))
                 for name, info in model.model_fields.items())


def _entry_view(key: str, value: Any) -> Any:
    """An entry of a free-form mapping (a layout, a resource's spec): named like a secret, or a header, is masked."""
    if isinstance(value, str) and value and looks_secret(key):
        return MASK
    if key.lower() == "headers" and isinstance(value, dict):
        return {str(k): MASK if isinstance(v, str) else view(v) for k, v in value.items()}
    return view(value)


def remember_model(model: BaseModel) -> None:
    """Remember every secret `model` holds, so no output shows it (called for each loaded config)."""
    values: set[str] = set()
    origins: set[tuple[str, int | None]] = set()
    _collect(model, values, origins)
    remember(values, origins)


def _collect(value: Any, values: set[str], origins: set[tuple[str, int | None]]) -> None:
    if isinstance(value, str):
        if "://" in value:
            _collect_urls(value, values)
    elif value is None or isinstance(value, bool | int | float):
        return
    elif isinstance(value, BaseModel):
        _collect_model(value, values, origins)
    elif isinstance(value, SecretStr):
        values |= _credential_forms(value.get_secret_value())
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, str) and looks_secret(str(key)):
                values |= _credential_forms(item)
            else:
                _collect(item, values, origins)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _collect(item, values, origins)


def _collect_urls(text: str, values: set[str]) -> None:
    """URL userinfo and the values of secret-named query parameters in `text`."""
    for match in _URL.finditer(text):
        if match["userinfo"]:
            values |= _userinfo_forms(urllib.parse.unquote(match["userinfo"][:-1]))
        _, _, query = match["rest"].partition("?")
        values |= {urllib.parse.unquote(m["value"]) for m in _QUERY_PARAM.finditer(query)
                   if m["value"] and looks_secret(urllib.parse.unquote(m["name"]))}


def _collect_model(model: BaseModel, values: set[str], origins: set[tuple[str, int | None]]) -> None:
    for name, _, secret_path in _fields(type(model)):
        item = getattr(model, name)
        if secret_path and isinstance(item, str):
            match = _URL.match(item)
            if match is not None:
                origins.add(_origin(match["scheme"], match["host"], match["port"] or ""))
                if len(match["rest"]) >= MIN_SCRUBBED:  # an answer may quote the path alone ("404: /hooks/…")
                    values.add(match["rest"])
        _collect(item, values, origins)
    username, password = getattr(model, "username", None), getattr(model, "password", None)
    if isinstance(username, str) and isinstance(password, SecretStr):  # basic auth: its header is a secret too
        values |= _userinfo_forms(f"{username}:{password.get_secret_value()}")


def _credential_forms(value: str) -> set[str]:
    """A secret and its credential part: `Bearer abc…` is also remembered as `abc…`."""
    forms = {value}
    scheme, _, credential = value.strip().partition(" ")
    if credential and " " not in credential and scheme.isalpha():
        forms.add(credential)
    return forms


def _userinfo_forms(userinfo: str) -> set[str]:
    """`user:password` from a URL or basic auth: the password, and the `Authorization: Basic` value it becomes."""
    _, _, password = userinfo.partition(":")
    forms = {base64.b64encode(userinfo.encode()).decode()}
    if password:
        forms.add(password)
    return forms


def environment_secrets(text: str, environ: Mapping[str, str]) -> set[str]:
    """Values of the variables `text` refers to (`$NAME`, `${NAME}`, `${NAME:-default}`) whose names look secret."""
    names = {m.group(1) or m.group(2) for m in _VARIABLE.finditer(text)}
    return {environ[n] for n in names if n in environ and looks_secret(n)}


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
