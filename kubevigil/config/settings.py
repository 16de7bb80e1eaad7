"""The root config model, built from the tables the loader is given, so a new role or sink needs no change here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from kubevigil.config.tables import Tables
from kubevigil.core.hostport import split_host_port
from kubevigil.core.model import Model, SecretKeyRef
from kubevigil.core.names import check_sink_name

DEFAULT_STATE_DIR = "./kubevigil-state"
SinkName = Annotated[str, AfterValidator(check_sink_name)]


class ClusterSettings(Model):
    """Which cluster and how to reach it; no kubeconfig means in-cluster, then $KUBECONFIG."""

    name: str = Field(default="kubernetes", min_length=1, description="The Cluster dimension and clusterName in events")
    kubeconfig: Path | None = Field(default=None, description="kubeconfig file (default: in-cluster, then $KUBECONFIG)")
    context: str | None = Field(default=None, description="kubeconfig context (default: the current one)")


class WebSettings(Model):
    """The web page at / and its panels' JSON under /api/panels (actions such as run-now have their own token)."""

    reads: Literal["open", "token", "off"] = Field(
        "open", description="open: anyone who reaches the port may look; token: a bearer token from `token` is "
                            "needed; off: no page and no panel API")
    token: SecretKeyRef | None = Field(None, description="The Secret holding the bearer token for reads: token")
    refresh_seconds: float = Field(3.0, ge=1, le=300, description="How often an open page refreshes its panels")

    @model_validator(mode="after")
    def _token_with_token_reads(self) -> WebSettings:
        if self.reads == "token" and self.token is None:
            raise ValueError("reads: token needs `token` (the Secret that holds the bearer token)")
        if self.reads != "token" and self.token is not None:
            raise ValueError(f"`token` is used only with reads: token (reads is {self.reads})")
        return self


class ServerSettings(Model):
    """The HTTP server for /metrics, /healthz, /readyz, role routes and the web page."""

    listen: str = Field(default="0.0.0.0:8080", description="host:port to bind, e.g. 0.0.0.0:8080 or [::]:8080")
    web: WebSettings = Field(default_factory=lambda: WebSettings.model_validate({}),
                             description="The web page at / (reads open by default)")

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        split_host_port(value)
        return value


# kube/leader.py's JITTER: a candidate waits retry_period * (1 + up to 0.2) between tries (a test keeps them equal)
ELECTION_JITTER = 0.2
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class LeaderElectionSettings(Model):
    """One Lease per process: the roles that need a single writer (events, checks, scrape) run only while this
    process holds it; the others (status, nurse) run on every replica."""

    enabled: bool = Field(default=True, description="Elect a leader among replicas (off: every replica runs every role)")
    namespace: str | None = Field(default=None, description="Namespace of the Lease (default: the pod's, $POD_NAMESPACE, else default)")
    lease_name: str = Field(default="kubevigil", description="Name of the coordination.k8s.io Lease")
    lease_duration: float = Field(default=15.0, gt=0, le=3600, description="Seconds a leader holds the lease without renewing")
    renew_deadline: float = Field(default=10.0, gt=0, le=3600, description="Seconds the leader keeps trying to renew before it steps down")
    retry_period: float = Field(default=2.0, gt=0, le=3600, description="Seconds between renewals and between candidates' tries")

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        if value and not _DNS_LABEL.match(value):
            raise ValueError(f"{value!r} is not a namespace name (lowercase letters, digits and '-', at most 63)")
        return value or None

    @field_validator("lease_name")
    @classmethod
    def _lease_name(cls, value: str) -> str:
        if not _DNS_SUBDOMAIN.match(value):
            raise ValueError(f"{value!r} is not an object name (lowercase letters, digits, '-' and '.')")
        return value

    @model_validator(mode="after")
    def _durations(self) -> LeaderElectionSettings:
        # client-go's rule: a leader must give up before its lease can expire under it, and retry within the deadline.
        if not self.lease_duration > self.renew_deadline > self.retry_period * (1 + ELECTION_JITTER):
            raise ValueError(
                f"need lease_duration ({self.lease_duration:g}) > renew_deadline ({self.renew_deadline:g}) > "
                f"retry_period * {1 + ELECTION_JITTER:g} ({self.retry_period * (1 + ELECTION_JITTER):g})")
        return self


class LoggingSettings(Model):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "console"] = "json"


def _one_type_schema(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """JSON Schema for "exactly one sink-type key" (every key but `delivery` is a type)."""
    types = [info.alias or name for name, info in cls.model_fields.items() if name != "delivery"]
    if types:
        schema["oneOf"] = [{"required": [name]} for name in types]


class SinkEntry(Model):
    """One named sink: exactly one sink-type key (its params) plus optional `delivery`."""

    model_config = ConfigDict(json_schema_extra=_one_type_schema)

    # every sink type of the table, whether or not this model has a field for it (messages list them all)
    type_names: ClassVar[tuple[str, ...]] = ()
    # the delivery params model the loader is given (`Tables.delivery`); `settings_model` sets the type
    delivery: Any = None

    @property
    def type(self) -> str:
        return self._chosen()[0]

    @property
    def params(self) -> BaseModel:
        return self._chosen()[1]

    def _chosen(self) -> tuple[str, BaseModel]:
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if name != "delivery" and value is not None:
                return info.alias or name, value
        raise LookupError("sink entry without a type")  # the validator below makes this unreachable

    @model_validator(mode="after")
    def _exactly_one_type(self) -> SinkEntry:
        fields = type(self).model_fields
        chosen = [info.alias or name for name, info in fields.items() if name != "delivery" and getattr(self, name) is not None]
        known = ", ".join(sorted(sink_types(type(self)))) or "none are installed"
        if not chosen:
            raise ValueError(f"a sink needs exactly one sink type key (one of: {known})")
        if len(chosen) > 1:
            raise ValueError(f"a sink has exactly one type; this one has {' and '.join(chosen)}: split it into two named sinks")
        return self


def sink_types(entry: type[SinkEntry]) -> list[str]:
    """The sink-type keys of the table the entry model was built from."""
    return list(entry.type_names)


class Settings(Model):
    """The whole native config. Subclasses built by `settings_model()` add a field per role (`settings_model_for()`:
    per role the config names)."""

    cluster: ClusterSettings = Field(default_factory=lambda: ClusterSettings.model_validate({}))
    server: ServerSettings = Field(default_factory=lambda: ServerSettings.model_validate({}))
    logging: LoggingSettings = Field(default_factory=lambda: LoggingSettings.model_validate({}))
    leader_election: LeaderElectionSettings = Field(default_factory=lambda: LeaderElectionSettings.model_validate({}))
    state_dir: Path = Field(default=Path(DEFAULT_STATE_DIR), description="Delivery journals and checkpoints (default: $KUBEVIGIL_STATE_DIR, else ./kubevigil-state)")
    shutdown_grace: float = Field(default=10.0, ge=0, le=3600, description="Seconds SIGTERM waits for queues to flush")
    sinks: dict[SinkName, SinkEntry] = Field(default_factory=dict, description="Named outputs; roles refer to them by name")

    role_names: ClassVar[tuple[str, ...]] = ()  # every role of the table, with a field here or not
    planned_roles: ClassVar[tuple[str, ...]] = ()  # announced roles not in this build: their sections get a reason

    @classmethod
    def valid_keys(cls) -> list[str]:
        """The top-level keys the table allows, including roles this model was built without."""
        return [*(info.alias or name for name, info in cls.model_fields.items()),
                *(name for name in cls.role_names if name not in cls.model_fields)]

    def roles_enabled(self) -> list[str]:
        """The roles whose section is present, in table order."""
        return [name for name in self.role_names if getattr(self, name, None) is not None]

    def role(self, name: str) -> BaseModel | None:
        """The section of role `name`, None when absent."""
        return getattr(self, name, None) if name in self.role_names else None


_CACHE: dict[tuple[Any, ...], type[Settings]] = {}


def settings_model(tables: Tables) -> type[Settings]:
    """The Settings class for every role and sink type of these tables (the schema; cached per table contents)."""
    return _model(tables, tuple(tables.roles), tuple(tables.sinks))


def settings_model_for(tables: Tables, data: Mapping[str, Any]) -> type[Settings]:
    """The Settings class for the role sections and sink types the native `data` names: the same checks and
    messages as `settings_model`'s, without importing or building the models of the rest (cached per names)."""
    sinks = data.get("sinks")
    entries = sinks.values() if isinstance(sinks, Mapping) else ()
    named = {key for entry in entries if isinstance(entry, Mapping) for key in entry}
    return _model(tables, tuple(name for name in tables.roles if name in data),
                  tuple(name for name in tables.sinks if name in named))


def _model(tables: Tables, roles: tuple[str, ...], sinks: tuple[str, ...]) -> type[Settings]:
    key = (tables.cache_key(), roles, sinks)
    model = _CACHE.get(key)
    if model is None:
        model = _CACHE[key] = _build(tables, roles, sinks)
    return model


def _build(tables: Tables, roles: tuple[str, ...], sinks: tuple[str, ...]) -> type[Settings]:
    delivery = tables.delivery
    entry_fields: dict[str, Any] = {
        _field_name(name, SinkEntry): (tables.sinks[name].params | None,
                                       Field(None, alias=name, description=tables.sinks[name].summary))
        for name in sinks
    }
    entry_fields["delivery"] = (delivery, Field(default_factory=lambda: delivery.model_validate({})))
    entry: type[SinkEntry] = create_model(
        "SinkEntry",
        __base__=SinkEntry,
        __module__=__name__,
        **entry_fields,
    )
    entry.type_names = tuple(tables.sinks)
    role_fields: dict[str, Any] = {
        name: (tables.roles[name].config | None, Field(None, description=tables.roles[name].summary))
        for name in roles
    }
    model: type[Settings] = create_model(
        "Settings",
        __base__=Settings,
        __module__=__name__,
        sinks=(dict[SinkName, entry], Field(default_factory=dict, description="Named outputs; roles refer to them by name")),
        **role_fields,
    )
    model.role_names = tuple(tables.roles)
    model.planned_roles = tuple(tables.planned_roles)
    return model


def _field_name(name: str, owner: type[BaseModel]) -> str:
    """A Python-safe field name for a table key (the key itself stays the YAML alias)."""
    safe = name.replace("-", "_").replace(".", "_")
    return f"{safe}_" if hasattr(owner, safe) else safe


