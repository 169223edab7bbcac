"""RISKWATCH_* security variables to faust's broker_credentials and kafka-python's settings;
secrets from variables or files, never in a repr or an error message."""
from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
from faust.auth import SASLCredentials, SSLCredentials
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from streams.app import faust_settings
from streams.settings import SettingsError, load_settings

SECRET = "s3cr3t-Pa55"


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory) -> str:
    """A self-signed certificate to stand for a broker CA (openssl, as a deployment would)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("ca")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
                    "-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.pem")],
                   check=True, capture_output=True)
    return str(folder / "ca.pem")


def test_plaintext_by_default():
    settings = load_settings({})
    assert settings.kafka_client_config == {"security_protocol": "PLAINTEXT"}
    assert "broker_credentials" not in faust_settings(settings)


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_plaintext_reaches_faust_and_kafka_python(mechanism):
    settings = load_settings({"RISKWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                              "RISKWATCH_SASL_MECHANISM": mechanism.lower(), "RISKWATCH_SASL_USERNAME": "riskwatch",
                              "RISKWATCH_SASL_PASSWORD": SECRET})
    assert settings.kafka_client_config == {
        "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": mechanism, "sasl_plain_username": "riskwatch",
        "sasl_plain_password": SECRET}
    credentials = faust_settings(settings)["broker_credentials"]
    assert isinstance(credentials, SASLCredentials)
    # What faust hands aiokafka for these credentials.
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SASL_PLAINTEXT" and auth["sasl_mechanism"] == mechanism
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("riskwatch", SECRET)
    assert auth["ssl_context"] is None


def test_sasl_ssl_with_the_password_from_a_file_and_a_ca(tmp_path, ca_file):
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET + "\n")  # as `kubectl create secret` or an editor leaves it
    settings = load_settings({"RISKWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                              "RISKWATCH_SASL_MECHANISM": "SCRAM-SHA-512", "RISKWATCH_SASL_USERNAME": "riskwatch",
                              "RISKWATCH_SASL_PASSWORD_FILE": str(secret_file), "RISKWATCH_SSL_CAFILE": ca_file})
    config = settings.kafka_client_config
    assert config["security_protocol"] == "SASL_SSL" and config["sasl_plain_password"] == SECRET
    assert config["ssl_cafile"] == ca_file and config["ssl_check_hostname"] is True
    auth = credentials_to_aiokafka_auth(faust_settings(settings)["broker_credentials"])
    assert auth["security_protocol"] == "SASL_SSL" and auth["sasl_mechanism"] == "SCRAM-SHA-512"
    context = auth["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert any(c["subject"] == ((("commonName", "test-ca"),),) for c in context.get_ca_certs())


def test_tls_only_and_without_hostname_check(ca_file):
    settings = load_settings({"RISKWATCH_KAFKA_SECURITY_PROTOCOL": "ssl", "RISKWATCH_SSL_CAFILE": ca_file,
                              "RISKWATCH_SSL_CHECK_HOSTNAME": "false"})
    assert settings.kafka_client_config["security_protocol"] == "SSL"
    assert "sasl_mechanism" not in settings.kafka_client_config
    credentials = faust_settings(settings)["broker_credentials"]
    assert isinstance(credentials, SSLCredentials)
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SSL" and auth["ssl_context"].check_hostname is False


def test_secrets_never_appear_in_the_settings_repr(tmp_path, ca_file):
    settings = load_settings({"RISKWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "RISKWATCH_SASL_MECHANISM": "PLAIN",
                              "RISKWATCH_SASL_USERNAME": "riskwatch", "RISKWATCH_SASL_PASSWORD": SECRET,
                              "RISKWATCH_SSL_CAFILE": ca_file, "RISKWATCH_SSL_KEY_PASSWORD": "key-" + SECRET})
    for text in (repr(settings), str(settings), repr(settings.kafka_security),
                 repr(faust_settings(settings)["broker_credentials"])):
        assert SECRET not in text
    assert "riskwatch" in repr(settings.kafka_security)  # the rest is still there to debug with


@pytest.mark.parametrize("env, message", [
    ({"RISKWATCH_KAFKA_SECURITY_PROTOCOL": "TLS"}, "must be one of PLAINTEXT, SSL"),
    ({"RISKWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "RISKWATCH_SASL_USERNAME": "u",
      "RISKWATCH_SASL_PASSWORD": SECRET}, "RISKWATCH_SASL_MECHANISM must be one of"),
    ({"RISKWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "RISKWATCH_SASL_MECHANISM": "GSSAPI",
      "RISKWATCH_SASL_USERNAME": "u", "RISKWATCH_SASL_PASSWORD": SECRET}, "got 'GSSAPI'"),
    ({"RISKWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "RISKWATCH_SASL_MECHANISM": "PLAIN",
      "RISKWATCH_SASL_USERNAME": "u"}, "needs RISKWATCH_SASL_USERNAME and RISKWATCH_SASL_PASSWORD"),
    ({"RISKWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "RISKWATCH_SASL_MECHANISM": "PLAIN",
      "RISKWATCH_SASL_USERNAME": "u", "RISKWATCH_SASL_PASSWORD": SECRET,
      "RISKWATCH_SASL_PASSWORD_FILE": "/etc/hostname"}, "not both"),
    ({"RISKWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "RISKWATCH_SASL_MECHANISM": "PLAIN",
      "RISKWATCH_SASL_USERNAME": "u", "RISKWATCH_SASL_PASSWORD_FILE": "/nonexistent/pw"}, "cannot be read"),
    ({"RISKWATCH_SASL_PASSWORD": SECRET}, "RISKWATCH_SASL_PASSWORD set but RISKWATCH_KAFKA_SECURITY_PROTOCOL is"),
    ({"RISKWATCH_KAFKA_SECURITY_PROTOCOL": "SSL", "RISKWATCH_SSL_CAFILE": "/nonexistent/ca.pem"},
     "is not a readable file"),
    ({"RISKWATCH_KAFKA_SECURITY_PROTOCOL": "SSL", "RISKWATCH_SSL_CHECK_HOSTNAME": "no"}, "true or false"),
])
def test_unusable_security_settings_name_the_variable_and_never_the_secret(env, message):
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    assert message in str(info.value)
    assert SECRET not in str(info.value)
