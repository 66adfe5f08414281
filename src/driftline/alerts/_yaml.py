"""Read and write alerting configs as YAML, with errors that point at the line.

The text is composed with PyYAML's safe loader (no tags that build Python
objects), validated with the pydantic models of :mod:`driftline.alerts._spec`,
and each problem is mapped back to the line and column of the YAML node it is
about: ``monitors.yaml:12:7: monitors[1].condition.value: expected a number, got 'high'``.

Example
-------
>>> text = '''
... monitors:
...   - name: vol
...     project: p
...     model: m
...     signal: {kind: volume}
...     condition: {kind: threshold, op: "<", value: high}
... '''
>>> load_config("monitors.yaml", text=text)
Traceback (most recent call last):
...
driftline.errors.ConfigError: monitors.yaml:7:50: monitors[0].condition.value: expected a number, got 'high'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from driftline.alerts._problems import FieldProblems, Loc
from driftline.alerts._problems import format_path as _path
from driftline.alerts._spec import AlertingConfig, MonitorSpec
from driftline.errors import ConfigError

__all__ = ["ConfigProblem", "check_config", "dump_config", "load_config", "load_monitor"]

_T = TypeVar("_T", AlertingConfig, MonitorSpec)


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a config file: where (file, 1-based line and column, field path) and what."""

    source: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.source}:{self.line}:{self.column}: {where}{self.message}"


def check_config(
    source: str | Path, *, text: str | None = None
) -> tuple[AlertingConfig | None, list[ConfigProblem]]:
    """Parse and validate a config; return it (or ``None``) with every problem found.

    Parameters
    ----------
    source : str or Path
        The file to read, or, with ``text``, the name used in messages.
    text : str, optional
        The YAML text (then ``source`` is not read).

    Examples
    --------
    >>> cfg, problems = check_config("a.yaml", text="route: {receiver: x}")
    >>> cfg, [str(p) for p in problems]
    (None, ["a.yaml:1:19: route.receiver: unknown receiver 'x' (receivers: none defined)"])
    """
    return _check(source, text, AlertingConfig)


def load_config(source: str | Path, *, text: str | None = None) -> AlertingConfig:
    """Read an alerting config from a YAML file (or ``text``).

    A top-level list is read as the list of monitors.

    Raises
    ------
    ConfigError
        When the file cannot be read, is not YAML, or does not validate; one line
        per problem, each ``file:line:column: path: message``.

    Examples
    --------
    >>> load_config("empty.yaml", text="").monitors
    []
    """
    cfg, problems = _check(source, text, AlertingConfig)
    if cfg is None:
        raise ConfigError("\n".join(str(p) for p in problems))
    return cfg


def load_monitor(text: str, source: str = "<monitor>") -> MonitorSpec:
    """Read one monitor from YAML text; raises :class:`ConfigError` like :func:`load_config`."""
    spec, problems = _check(source, text, MonitorSpec)
    if spec is None:
        raise ConfigError("\n".join(str(p) for p in problems))
    return spec


def dump_config(config: AlertingConfig) -> str:
    """``config`` as YAML text that :func:`load_config` reads back to an equal config.

    Examples
    --------
    >>> cfg = AlertingConfig(receivers=[{"name": "team"}], route={"receiver": "team"})
    >>> load_config("x.yaml", text=dump_config(cfg)) == cfg
    True
    """
    data = config.model_dump(mode="json", by_alias=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _check(
    source: str | Path, text: str | None, model: type[_T]
) -> tuple[_T | None, list[ConfigProblem]]:
    name = str(source)
    if text is None:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            return None, [ConfigProblem(name, 1, 1, "", f"cannot read the file: {exc}")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [ConfigProblem(name, line, col, "", f"invalid YAML: {problem}")]
    problems = _duplicate_keys(name, root, ())
    if problems:
        return None, problems
    if data is None:
        data = {}
    if model is AlertingConfig and isinstance(data, list):
        data = {"monitors": data}
        root = yaml.MappingNode("tag:yaml.org,2002:map", [(yaml.ScalarNode("", "monitors"), root)])
    if not isinstance(data, dict):
        what = "an alerting config" if model is AlertingConfig else "a monitor"
        return None, [
            ConfigProblem(name, 1, 1, "", f"expected a mapping ({what}), got {type(data).__name__}")
        ]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        out: list[ConfigProblem] = []
        for err in exc.errors(include_url=False):
            ctx_error = (err.get("ctx") or {}).get("error")
            if isinstance(ctx_error, FieldProblems):
                base: Loc = tuple(err["loc"])
                found: list[tuple[Loc, str]] = ctx_error.problems
                for where, message in found:
                    out.append(_locate(name, root, data, base + where, message, key=False))
                continue
            out.append(
                _locate(
                    name,
                    root,
                    data,
                    tuple(err["loc"]),
                    _message(err),
                    err["type"] == "extra_forbidden",
                )
            )
        return None, sorted(out, key=lambda p: (p.line, p.column))


def _duplicate_keys(source: str, node: yaml.Node | None, loc: Loc) -> list[ConfigProblem]:
    out: list[ConfigProblem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            key = str(k.value)
            if key in seen:
                out.append(
                    ConfigProblem(
                        source,
                        k.start_mark.line + 1,
                        k.start_mark.column + 1,
                        _path(loc),
                        f"duplicate key {key!r}",
                    )
                )
            seen.add(key)
            out += _duplicate_keys(source, v, (*loc, key))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out += _duplicate_keys(source, v, (*loc, i))
    return out


def _locate(
    source: str, root: yaml.Node | None, data: Any, loc: Loc, message: str, key: bool
) -> ConfigProblem:
    """Walk ``loc`` through the node tree; skip pydantic's union tags; point at the deepest node."""
    node, value = root, data
    shown: list[str | int] = []
    key_node: yaml.Node | None = None
    for i, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            found = next(((k, v) for k, v in node.value if str(k.value) == part), None)
            if found is None:
                if isinstance(value, dict) and value.get("kind") == part:
                    continue  # a discriminated union's tag, not a field
                shown.append(part)
                shown.extend(loc[i + 1 :])
                key_node = None
                break
            key_node, node = found
            value = value.get(part) if isinstance(value, dict) else None
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            key_node, node = None, node.value[part]
            value = value[part] if isinstance(value, list) and part < len(value) else None
        else:
            if isinstance(value, dict) and value.get("kind") == part:
                continue
            shown.extend(p for p in loc[i:] if not (isinstance(p, str) and "[" in p))
            break
        shown.append(part)
    target = key_node if key and key_node is not None else node
    mark = target.start_mark if target is not None else None
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return ConfigProblem(source, line, col, _path(tuple(shown)), message)


def _got(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(err: Any) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in ("float_parsing", "float_type"):
        return f"expected a number, got {_got(value)}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"expected an integer, got {_got(value)}"
    if kind in ("bool_parsing", "bool_type"):
        return f"expected true or false, got {_got(value)}"
    if kind == "string_type":
        return f"expected a string, got {_got(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping, got {_got(value)}"
    if kind == "list_type":
        return f"expected a list, got {_got(value)}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}, got {_got(value)}"
    if kind == "union_tag_invalid":
        return f"unknown kind {ctx.get('tag')!r}, expected one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return f"missing {ctx.get('discriminator', 'kind')}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    msg = str(err["msg"])
    return f"{msg[:1].lower()}{msg[1:]}, got {_got(value)}"
