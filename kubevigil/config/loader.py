"""`load`: file -> parsed YAML -> ${ENV} expansion -> importer -> validated Settings, every problem reported at once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kubevigil.config import importers
from kubevigil.config.document import Document, parse_document, read_document, unwrap_configmap
from kubevigil.config.expansion import bare_variables, expand_environment
from kubevigil.config.issues import ConfigError, ConfigIssue, Loc, dotted
from kubevigil.config.messages import describe_errors
from kubevigil.config.references import check_sink_packages, check_sink_refs
from kubevigil.config.settings import DEFAULT_STATE_DIR, Settings, settings_model_for
from kubevigil.config.tables import Tables
from kubevigil.core.secrets import environment_secrets, remember, remember_model


@dataclass
class Loaded:
    """A validated config and where it came from; `warnings` are the importer's notes for the user."""

    settings: Settings
    source: Path
    format: str
    warnings: list[str] = field(default_factory=list)


def load(path: Path, tables: Tables, *, format: str | None = None, environ: Mapping[str, str] = os.environ) -> Loaded:
    """Read, expand, translate and validate `path` against `tables`; raise ConfigError listing every problem."""
    path = Path(path)
    document, notes = unwrap_configmap(read_document(path))
    if document.data is None:
        document.data = {}
    if not isinstance(document.data, dict):
        raise ConfigError([ConfigIssue(path, document.line_of(()), "", "the config must be a mapping of sections (cluster:, sinks:, status:, ...)")])
    name = _format_name(path, format, document.data, tables)
    importer = importers.table()[name]
    # before anything can quote them (a validation error, a warning): what secret-named variables put in the file
    remember(environment_secrets(document.text, environ))
    expand_text = getattr(importer, "expand_text", None)
    if expand_text is not None:  # the tool expands its file's text before parsing it (event-exporter)
        text, env_notes = expand_text(document.text, environ)
        if text != document.text:
            document = parse_document(text, path, document.first_line)
        expanded = document.data if isinstance(document.data, dict) else {}
        env_problems: list[tuple[Loc, str]] = []
        notes += env_notes
    else:
        expanded, env_problems = expand_environment(document.data, environ)
        notes += bare_variables(document.data)
    trail = _Trail(document, importer, expanded)
    native, warnings = trail.translate()
    env_issues = [trail.issue_at_original(loc, message) for loc, message in env_problems]
    issues = env_issues + list(document.duplicates)
    settings, validation = _validate(native, environ, trail, tables)
    skip = {issue.loc for issue in env_issues}
    issues += [i for i in validation if not any(i.loc[: len(s)] == s for s in skip)]
    issues += [trail.issue(loc, message) for loc, message in check_sink_refs(native, tables)]
    issues += [trail.issue(loc, message) for loc, message in check_sink_packages(native, tables)]
    if issues or settings is None:
        raise ConfigError(sorted(issues, key=lambda i: i.line or 0))
    remember_model(settings)
    return Loaded(settings=settings, source=path, format=name, warnings=notes + warnings)


def _format_name(path: Path, format: str | None, doc: dict[str, Any], tables: Tables) -> str:
    if format is None:
        try:
            return importers.detect_format(doc, [*Settings.model_fields, *tables.roles])
        except ConfigError as exc:
            raise ConfigError([ConfigIssue(path, None, i.path, i.message) for i in exc.issues]) from None
    known = importers.names()
    if format not in known:
        raise ConfigError([ConfigIssue(path, None, "", f"unknown config format {format!r}; known formats: {', '.join(known)}")])
    return format


def with_environment_defaults(native: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """`state_dir` and `server.listen` where the config leaves them out: $KUBEVIGIL_STATE_DIR and $KUBEVIGIL_LISTEN
    (a container sets them without a file to edit), else the built-in defaults."""
    native = dict(native)
    if "state_dir" not in native:
        native["state_dir"] = environ.get("KUBEVIGIL_STATE_DIR") or DEFAULT_STATE_DIR
    server = native.get("server")
    if environ.get("KUBEVIGIL_LISTEN") and (server is None or (isinstance(server, dict) and "listen" not in server)):
        native["server"] = {**(server or {}), "listen": environ["KUBEVIGIL_LISTEN"]}
    return native


def _validate(
    native: dict[str, Any], environ: Mapping[str, str], trail: _Trail, tables: Tables
) -> tuple[Settings | None, list[ConfigIssue]]:
    native = with_environment_defaults(native, environ)
    model = settings_model_for(tables, native)
    # `status:` with nothing under it means "on, with defaults", not "off"
    native = {k: {} if v is None and k in model.role_names else v for k, v in native.items()}
    try:
        return model.model_validate(native), []
    except ValidationError as exc:
        described = describe_errors(exc.errors(), model, native)
        return None, [trail.issue(loc, message) for loc, message in described]


class _Trail:
    """Maps key paths of the translated (native) config back to lines of the original file."""

    def __init__(self, document: Document, importer: importers.Importer, original: dict[str, Any]) -> None:
        self.document = document
        self.importer = importer
        self.original = original
        self.native: dict[str, Any] = original
        self.moved: dict[Loc, Loc] = {}

    def translate(self) -> tuple[dict[str, Any], list[str]]:
        try:
            native, warnings = self.importer.translate(self.original, self.document.file)
        except ConfigError as exc:
            raise ConfigError(sorted((self._fill(i) for i in exc.issues), key=lambda i: i.line or 0)) from None
        if not isinstance(native, dict):
            raise TypeError(f"importer {self.importer!r} returned {type(native).__name__}, not a dict")
        self.native = native
        if native is not self.original:
            self.moved = _reused_containers(self.original, native)
        return native, list(warnings)

    def issue(self, loc: Loc, message: str) -> ConfigIssue:
        """An issue at a native key path, shown at the original file's path and line where known."""
        original = self._original_loc(loc)
        if original is None:  # the importer cannot say where: the native path, at the file's first line
            return ConfigIssue(self.document.file, self.document.line_of(()), dotted(loc), message, loc)
        return ConfigIssue(self.document.file, self.document.line_of(original), dotted(original), message, loc)

    def issue_at_original(self, loc: Loc, message: str) -> ConfigIssue:
        return ConfigIssue(self.document.file, self.document.line_of(loc), dotted(loc), message, loc)

    def _fill(self, issue: ConfigIssue) -> ConfigIssue:
        line = issue.line if issue.line is not None else self.document.line_of(issue.loc)
        return ConfigIssue(issue.file or self.document.file, line, issue.path, issue.message, issue.loc)

    def _original_loc(self, loc: Loc) -> Loc | None:
        if self.native is self.original:
            return loc
        explicit = importers.origin_of(self.importer, loc, self.original)
        if explicit is not None:
            return explicit
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.moved:
                return self.moved[loc[:end]] + loc[end:]
        return None


def _reused_containers(original: dict[str, Any], native: dict[str, Any]) -> dict[Loc, Loc]:
    """native path -> original path for every dict/list the importer passed through as the same object."""
    where: dict[int, Loc] = {}
    _index(original, (), where)
    moved: dict[Loc, Loc] = {}
    _match(native, (), where, moved)
    return moved


def _index(value: Any, loc: Loc, where: dict[int, Loc]) -> None:
    if isinstance(value, dict):
        where.setdefault(id(value), loc)
        for key, item in value.items():
            _index(item, (*loc, key), where)
    elif isinstance(value, list):
        where.setdefault(id(value), loc)
        for index, item in enumerate(value):
            _index(item, (*loc, index), where)


def _match(value: Any, loc: Loc, where: dict[int, Loc], moved: dict[Loc, Loc]) -> None:
    if isinstance(value, dict | list) and id(value) in where:
        moved[loc] = where[id(value)]
        return
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        _match(item, (*loc, key), where, moved)


class MissingConfig(ConfigError):
    """No config file exists where kubevigil looked (as opposed to one that exists but is wrong)."""


def find_config_path(explicit: str | None, environ: Mapping[str, str] = os.environ, cwd: Path | None = None) -> Path:
    """The config file to use: explicit, $KUBEVIGIL_CONFIG, $KS2CW_CONFIG_PATH, ./config.yaml, /etc/kubevigil/config.yaml.
    MissingConfig when none exists."""
    base = cwd if cwd is not None else Path.cwd()
    looked: list[str] = []
    named = [("--config", explicit), ("$KUBEVIGIL_CONFIG", environ.get("KUBEVIGIL_CONFIG")), ("$KS2CW_CONFIG_PATH", environ.get("KS2CW_CONFIG_PATH"))]
    for source, value in named:
        if not value:
            looked.append(f"{source} (not set)")
            continue
        path = Path(value) if Path(value).is_absolute() else base / value
        if path.is_dir():
            raise ConfigError([ConfigIssue(path, None, "", f"config file from {source} is a directory, not a file")])
        if not path.is_file():
            raise MissingConfig([ConfigIssue(path, None, "", f"config file from {source} does not exist")])
        return path
    for path in (base / "config.yaml", Path("/etc/kubevigil/config.yaml")):
        if path.is_file():
            return path
        looked.append(f"{path} (no such file)")
    raise MissingConfig([ConfigIssue(None, None, "", "no config file found; looked at: " + ", ".join(looked))])
