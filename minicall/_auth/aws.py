"""AWS credential sources, in botocore's order after explicit keys: the environment, then
the shared credentials and config files of the profile. Only the static-key parts of the
chain: no SSO, no assume-role, no instance metadata.

The files are INI; ``~/.aws/credentials`` names a section by the bare profile name and
``~/.aws/config`` as ``profile NAME`` (``default`` is bare in both). A parse error is
reported by its class name alone, since the parser's message may quote a line that holds
a secret.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Sequence

from .._model.errors import ConfigurationError
from ._env import env_first
from .sigv4 import AwsCredentials

__all__ = ["KEY_ENV", "REGION_ENV", "env_credentials", "file_credentials", "file_region"]

REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION")
KEY_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def _read_ini(path: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(os.path.expanduser(path), encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        # Only the parser's class name: its message may quote a line holding a secret.
        raise ConfigurationError(f"cannot read AWS file {path}: {type(exc).__name__}") from None
    return parser


def _profile_sections(profile: str) -> tuple[str, ...]:
    # ~/.aws/credentials names sections by profile; ~/.aws/config prefixes "profile ".
    return (profile,) if profile == "default" else (profile, f"profile {profile}")


def _from_file(path: str, profile: str, keys: Sequence[str]) -> dict[str, str]:
    parser = _read_ini(path)
    for section in _profile_sections(profile):
        if parser.has_section(section):
            return {k: v for k in keys if (v := parser.get(section, k, fallback="").strip())}
    return {}


def _shared_files() -> tuple[str, str, str]:
    profile = env_first("AWS_PROFILE", "AWS_DEFAULT_PROFILE") or "default"
    credentials = env_first("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    config = env_first("AWS_CONFIG_FILE") or "~/.aws/config"
    return profile, credentials, config


_FILE_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")


def file_credentials() -> AwsCredentials | None:
    """Keys of the profile (``AWS_PROFILE``, else ``default``) in the shared credentials
    file, else in the config file, as botocore's SharedCredentialProvider and
    ConfigProvider look for them; ``None`` when neither has both halves."""
    profile, credentials, config = _shared_files()
    for path in (credentials, config):
        found = _from_file(path, profile, _FILE_KEYS)
        if "aws_access_key_id" in found and "aws_secret_access_key" in found:
            return AwsCredentials(
                found["aws_access_key_id"],
                found["aws_secret_access_key"],
                found.get("aws_session_token"),
            )
    return None


def file_region() -> str | None:
    """The profile's ``region`` in the config file, if any."""
    profile, _, config = _shared_files()
    return _from_file(config, profile, ("region",)).get("region")


def env_credentials() -> AwsCredentials | None:
    """``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN``), if both are set."""
    key, secret = (os.environ.get(name) for name in KEY_ENV)
    if key and secret:
        return AwsCredentials(key, secret, os.environ.get("AWS_SESSION_TOKEN") or None)
    return None
