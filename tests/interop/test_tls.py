"""TLS on `shfn broker`, with the official Python client: pulsar+ssl:// and the admin API over
https with Pulsar's settings (tlsCertificateFilePath, tlsKeyFilePath, tlsTrustCertsFilePath),
client certificates as a way to authenticate, and clear errors for certificates that are wrong,
expired or for another host. Certificates are made here with openssl, a CA of their own each
run. The round trip over TLS runs against Pulsar standalone too (scripts/test.sh starts it with
TLS); the rest is about the shfn broker's own settings."""
import contextlib
import os
import shutil
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request
import uuid

import pulsar
import pytest

from conftest import _env, _hs256_token


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def issue(cwd, name, subject, ca, days=30, extensions=("subjectAltName=IP:127.0.0.1",)):
    """A key and a certificate signed by `ca` (a name made by make_ca)."""
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={subject}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=cwd)
    with open(os.path.join(cwd, f"{name}.ext"), "w") as f:
        f.write("\n".join([*extensions, "basicConstraints=CA:FALSE"]) + "\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", str(days), "-extfile", f"{name}.ext",
            "-out", f"{name}.pem", cwd=cwd)


def make_ca(cwd, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=cwd)


@pytest.fixture(scope="module")
def pki():
    d = tempfile.mkdtemp(prefix="shfn-tls-")
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    issue(d, "server", "localhost", "ca")
    issue(d, "expired", "localhost", "ca", days=-1)
    issue(d, "elsewhere", "elsewhere.example", "ca",
          extensions=("subjectAltName=DNS:elsewhere.example",))
    issue(d, "alice", "alice", "ca", extensions=())
    issue(d, "mallory", "mallory", "other-ca", extensions=())
    yield lambda name: os.path.join(d, name)
    shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def tls_broker(pki, certificate="server", *extra):
    """`shfn broker` with pulsar+ssl:// and https on free ports; yields its four URLs and the
    path of its log."""
    data = tempfile.mkdtemp(prefix="shfn-tls-broker-")
    log = os.path.join(data, "broker.log")
    with open(log, "wb") as stderr:
        proc = subprocess.Popen(
            [_env("SHFN_BIN"), "broker", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
             "--data-dir", os.path.join(data, "data"), "--tls-listen", "127.0.0.1:0",
             "--admin-tls", "127.0.0.1:0", "--tlsCertificateFilePath", pki(f"{certificate}.pem"),
             "--tlsKeyFilePath", pki(f"{certificate}.key"), *extra],
            stdout=subprocess.PIPE, stderr=stderr, env=dict(os.environ, SHFN_LOG="info"))
    try:
        lines = [proc.stdout.readline().decode().strip() for _ in range(4)]
        urls = [line.split(" on ", 1)[1] for line in lines if " ready on " in line]
        assert len(urls) == 4, f"shfn broker did not start: {lines}\n{open(log).read()}"
        yield {"url": urls[0], "http": urls[1], "tls_url": urls[2], "https": urls[3], "log": log}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


def round_trip(client, topic):
    consumer = client.subscribe(topic, "s", initial_position=pulsar.InitialPosition.Earliest)
    producer = client.create_producer(topic)
    producer.send(b"over tls")
    assert consumer.receive(timeout_millis=20000).data() == b"over tls"


def refused(make_client, topic):
    """A client that must not get through gets an error, not a producer."""
    client = make_client()
    try:
        with pytest.raises(Exception):
            client.create_producer(topic)
    finally:
        client.close()


@pytest.fixture
def shfn_only(embedded):
    if not embedded:
        pytest.skip("about the shfn broker's own TLS settings: run by interop_python_embedded")


def test_pulsar_ssl_against_pulsar_standalone(broker, embedded):
    """The reference for the shfn broker's round trip below."""
    if embedded or not os.environ.get("PULSAR_TLS_URL"):
        pytest.skip("Pulsar standalone with TLS (scripts/test.sh) is not the broker of this run")
    auth = pulsar.AuthenticationToken(broker["token"]) if broker["token"] else None
    client = pulsar.Client(os.environ["PULSAR_TLS_URL"], authentication=auth,
                           tls_trust_certs_file_path=os.environ["PULSAR_CA"],
                           tls_validate_hostname=True, operation_timeout_seconds=20)
    round_trip(client, f"tls-{uuid.uuid4().hex[:8]}")
    client.close()


def test_pulsar_ssl_and_https_with_a_certificate_the_client_trusts(pki, shfn_only):
    topic = f"tls-{uuid.uuid4().hex[:8]}"
    with tls_broker(pki) as b:
        assert b["tls_url"].startswith("pulsar+ssl://127.0.0.1:")
        client = pulsar.Client(b["tls_url"], tls_trust_certs_file_path=pki("ca.pem"),
                               tls_validate_hostname=True, operation_timeout_seconds=20)
        round_trip(client, topic)
        client.close()
        # Given the https:// URL, the client looks topics up over https and is sent to
        # pulsar+ssl://.
        over_https = pulsar.Client(b["https"], tls_trust_certs_file_path=pki("ca.pem"),
                                   operation_timeout_seconds=20)
        round_trip(over_https, topic + "-https")
        over_https.close()
        trusted = ssl.create_default_context(cafile=pki("ca.pem"))
        with urllib.request.urlopen(b["https"] + "/admin/v2/tenants", context=trusted,
                                    timeout=20) as answer:
            assert answer.status == 200 and b"public" in answer.read()


def test_a_client_that_cannot_trust_the_certificate_is_refused_and_both_sides_say_why(pki, shfn_only):
    topic = f"tls-{uuid.uuid4().hex[:8]}"
    with tls_broker(pki) as b:
        refused(lambda: pulsar.Client(b["tls_url"], operation_timeout_seconds=5,
                                                tls_trust_certs_file_path=pki("other-ca.pem")),
                          topic)
        with open(b["log"]) as log:
            assert "TLS handshake failed" in log.read()
        with pytest.raises(urllib.error.URLError, match="unable to get local issuer"):
            urllib.request.urlopen(b["https"] + "/admin/v2/tenants", timeout=20,
                                   context=ssl.create_default_context(
                                       cafile=pki("other-ca.pem")))


def test_an_expired_certificate_or_one_for_another_host_is_refused(pki, shfn_only):
    topic = f"tls-{uuid.uuid4().hex[:8]}"
    with tls_broker(pki, "expired") as b:
        refused(lambda: pulsar.Client(b["tls_url"], operation_timeout_seconds=5,
                                      tls_trust_certs_file_path=pki("ca.pem")), topic)
        with pytest.raises(urllib.error.URLError, match="certificate has expired"):
            urllib.request.urlopen(b["https"] + "/admin/v2/tenants", timeout=20,
                                   context=ssl.create_default_context(cafile=pki("ca.pem")))
    with tls_broker(pki, "elsewhere") as b:
        refused(lambda: pulsar.Client(b["tls_url"], operation_timeout_seconds=5,
                                      tls_trust_certs_file_path=pki("ca.pem"),
                                      tls_validate_hostname=True), topic)
        # Without the host check the same certificate is trusted.
        client = pulsar.Client(b["tls_url"], tls_trust_certs_file_path=pki("ca.pem"),
                               tls_validate_hostname=False, operation_timeout_seconds=20)
        round_trip(client, topic)
        client.close()
        with pytest.raises(urllib.error.URLError, match="IP address mismatch"):
            urllib.request.urlopen(b["https"] + "/admin/v2/tenants", timeout=20,
                                   context=ssl.create_default_context(cafile=pki("ca.pem")))


def test_a_client_certificate_authenticates_as_a_token_does(pki, shfn_only):
    topic = f"mtls-{uuid.uuid4().hex[:8]}"
    secret = os.urandom(32)
    key_file = pki("secret.key")
    with open(key_file, "wb") as f:
        f.write(secret)
    with tls_broker(pki, "server", "--tlsTrustCertsFilePath", pki("ca.pem"),
                    "--token-secret-file", key_file) as b:
        def client(**auth):
            return pulsar.Client(b["tls_url"], tls_trust_certs_file_path=pki("ca.pem"),
                                 operation_timeout_seconds=5, **auth)

        alice = client(authentication=pulsar.AuthenticationTLS(pki("alice.pem"),
                                                               pki("alice.key")))
        round_trip(alice, topic)
        alice.close()
        with_token = client(authentication=pulsar.AuthenticationToken(
            _hs256_token(secret, "bob")))
        round_trip(with_token, topic + "-token")
        with_token.close()
        refused(lambda: client(), topic)  # neither
        refused(lambda: client(authentication=pulsar.AuthenticationTLS(
            pki("mallory.pem"), pki("mallory.key"))), topic)  # a CA the broker does not trust
        with open(b["log"]) as log:
            text = log.read()
        assert "authentication failed: authentication with a token is required" in text


def test_tls_files_that_are_missing_or_do_not_match_stop_the_start_with_their_name(pki, shfn_only):
    def start(*args):
        data = tempfile.mkdtemp(prefix="shfn-tls-bad-")
        try:
            return subprocess.run(
                [_env("SHFN_BIN"), "broker", "--listen", "127.0.0.1:0", "--admin", "off",
                 "--data-dir", data, "--tls-listen", "127.0.0.1:0", *args],
                capture_output=True, text=True, timeout=30)
        finally:
            shutil.rmtree(data, ignore_errors=True)

    missing = start("--tlsCertificateFilePath", pki("nope.pem"), "--tlsKeyFilePath",
                    pki("server.key"))
    assert missing.returncode != 0
    assert f"tlsCertificateFilePath {pki('nope.pem')}" in missing.stderr
    mismatched = start("--tlsCertificateFilePath", pki("server.pem"), "--tlsKeyFilePath",
                       pki("alice.key"))
    assert mismatched.returncode != 0
    assert f"tlsKeyFilePath {pki('alice.key')}: key values mismatch" in mismatched.stderr
    without_key = start("--tlsCertificateFilePath", pki("server.pem"))
    assert without_key.returncode != 0 and "--tlsKeyFilePath" in without_key.stderr
