"""Kafka TLS and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) from ``RISKWATCH_*`` variables.

One :class:`KafkaSecurity` is part of :class:`streams.settings.Settings`; it
gives faust its ``broker_credentials`` (:mod:`faust.auth`) and every
kafka-python client riskwatch creates the same settings
(:meth:`KafkaSecurity.kafka_python_config`). Secrets come from a variable or a
file (``RISKWATCH_SASL_PASSWORD_FILE``, for mounted secrets) and are never part
of a repr, so they cannot reach a log line through the settings object.
"""
from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class SecurityError(ValueError):
    """A security variable riskwatch cannot use (the message never holds a secret)."""


@dataclass(frozen=True, slots=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    #: Kept out of repr (and so out of any log of the settings).
    sasl_password: str | None = field(default=None, repr=False)
    #: CA bundle to verify the brokers; None: the system's CAs.
    ssl_cafile: str | None = None
    #: Client certificate and key, for brokers that require mutual TLS.
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_key_password: str | None = field(default=None, repr=False)
    ssl_check_hostname: bool = True

    @property
    def uses_ssl(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    def kafka_python_config(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's KafkaProducer, KafkaConsumer and KafkaAdminClient."""
        config: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_sasl:
            config.update(sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.sasl_username,
                          sasl_plain_password=self.sasl_password)
        if self.uses_ssl:
            config.update(ssl_cafile=self.ssl_cafile, ssl_certfile=self.ssl_certfile, ssl_keyfile=self.ssl_keyfile,
                          ssl_password=self.ssl_key_password, ssl_check_hostname=self.ssl_check_hostname)
        return config

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context faust (aiokafka) connects with: verifies the brokers' certificates."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ssl_cafile)
        context.check_hostname = self.ssl_check_hostname
        if self.ssl_certfile:
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile, password=self.ssl_key_password)
        return context

    def faust_credentials(self) -> Any:
        """faust's ``broker_credentials``, or None for PLAINTEXT."""
        from faust.auth import SASLCredentials, SSLCredentials

        if self.uses_sasl:
            return SASLCredentials(username=self.sasl_username, password=self.sasl_password,
                                   mechanism=self.sasl_mechanism,
                                   ssl_context=self.ssl_context() if self.uses_ssl else None)
        if self.uses_ssl:
            return SSLCredentials(self.ssl_context())
        return None


def _value(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    return None if raw is None or raw.strip() == "" else raw


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """``NAME`` or the contents of the file ``NAME_FILE`` (one trailing newline dropped), not both."""
    direct, path = env.get(name) or None, _value(env, f"{name}_FILE")
    if direct is not None and path is not None:
        raise SecurityError(f"set {name} or {name}_FILE, not both")
    if path is None:
        return direct
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise SecurityError(f"{name}_FILE {path!r} cannot be read ({error.strerror})") from None
    return text[:-1] if text.endswith("\n") else text


def _readable(env: Mapping[str, str], name: str) -> str | None:
    path = _value(env, name)
    if path is not None and not Path(path).is_file():
        raise SecurityError(f"{name} {path!r} is not a readable file")
    return path


def load_security(env: Mapping[str, str]) -> KafkaSecurity:
    """:class:`KafkaSecurity` from ``RISKWATCH_KAFKA_SECURITY_PROTOCOL`` (``PLAINTEXT``, ``SSL``,
    ``SASL_PLAINTEXT``, ``SASL_SSL``), ``RISKWATCH_SASL_MECHANISM`` (``PLAIN``, ``SCRAM-SHA-256``,
    ``SCRAM-SHA-512``), ``RISKWATCH_SASL_USERNAME``, ``RISKWATCH_SASL_PASSWORD[_FILE]``,
    ``RISKWATCH_SSL_CAFILE``, ``RISKWATCH_SSL_CERTFILE``, ``RISKWATCH_SSL_KEYFILE``,
    ``RISKWATCH_SSL_KEY_PASSWORD[_FILE]`` and ``RISKWATCH_SSL_CHECK_HOSTNAME`` (``true``/``false``)."""
    protocol = (_value(env, "RISKWATCH_KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise SecurityError(f"RISKWATCH_KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    sasl = protocol.startswith("SASL_")
    mechanism = username = password = None
    if sasl:
        mechanism = (_value(env, "RISKWATCH_SASL_MECHANISM") or "").upper()
        if mechanism not in MECHANISMS:
            raise SecurityError(f"RISKWATCH_SASL_MECHANISM must be one of {', '.join(MECHANISMS)} for {protocol}, "
                                f"got {mechanism or 'nothing'!r}")
        username = _value(env, "RISKWATCH_SASL_USERNAME")
        password = _secret(env, "RISKWATCH_SASL_PASSWORD")
        if not username or not password:
            raise SecurityError(f"{protocol} needs RISKWATCH_SASL_USERNAME and RISKWATCH_SASL_PASSWORD "
                                "(or RISKWATCH_SASL_PASSWORD_FILE)")
    else:
        unused = [n for n in ("RISKWATCH_SASL_MECHANISM", "RISKWATCH_SASL_USERNAME", "RISKWATCH_SASL_PASSWORD",
                              "RISKWATCH_SASL_PASSWORD_FILE") if _value(env, n)]
        if unused:
            raise SecurityError(f"{', '.join(unused)} set but RISKWATCH_KAFKA_SECURITY_PROTOCOL is {protocol}: "
                                "use SASL_PLAINTEXT or SASL_SSL")
    certfile, keyfile = _readable(env, "RISKWATCH_SSL_CERTFILE"), _readable(env, "RISKWATCH_SSL_KEYFILE")
    if keyfile and not certfile:
        raise SecurityError("RISKWATCH_SSL_KEYFILE needs RISKWATCH_SSL_CERTFILE")
    check = (_value(env, "RISKWATCH_SSL_CHECK_HOSTNAME") or "true").lower()
    if check not in ("true", "false"):
        raise SecurityError(f"RISKWATCH_SSL_CHECK_HOSTNAME must be true or false, got {check!r}")
    return KafkaSecurity(protocol=protocol, sasl_mechanism=mechanism, sasl_username=username, sasl_password=password,
                         ssl_cafile=_readable(env, "RISKWATCH_SSL_CAFILE"), ssl_certfile=certfile,
                         ssl_keyfile=keyfile, ssl_key_password=_secret(env, "RISKWATCH_SSL_KEY_PASSWORD"),
                         ssl_check_hostname=check == "true")
