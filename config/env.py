"""Typed readers for environment variables: the only place settings come from."""

import os

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no, got {raw!r}")


def envint(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def envmap(name: str) -> dict[str, list[str]]:
    """A mapping from names to lists of names, written either as comma-separated `key=value` pairs
    (`cx-admins=admin,cx-all=north,cx-all=south`: a key given twice collects both values) or as a
    JSON object whose values are strings or lists of strings (for keys holding `,` or `=`)."""
    import json

    raw = os.environ.get(name, "").strip()
    if not raw:
        return {}
    if raw.startswith("{"):
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} is not valid JSON: {exc}") from None
        mapping: dict[str, list[str]] = {}
        for key, value in parsed.items():
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
                raise ImproperlyConfigured(f"{name}: the value of {key!r} must be a name or a list of names")
            mapping[key] = [v.strip() for v in values]
        return mapping
    mapping = {}
    for pair in raw.split(","):
        if not pair.strip():
            continue
        key, sep, value = pair.rpartition("=")
        if not sep or not key.strip() or not value.strip():
            raise ImproperlyConfigured(
                f"{name}: {pair.strip()!r} is not key=value (e.g. cx-admins=admin); "
                "use a JSON object for names holding ',' or '='")
        mapping.setdefault(key.strip(), []).append(value.strip())
    return mapping
