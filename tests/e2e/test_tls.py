"""TLS on the serving port (`[security] tls_cert`/`tls_key`, and `tls_client_ca` for
mutual TLS) through stock pymilvus, the RESTful API over HTTPS, and the refusals: a client
without a certificate, with an expired one or one from another CA under mutual TLS, and a
plaintext client against a TLS port (which the server log names as such)."""

import datetime
import json
import os
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from conftest import QuiverServer

DIM = 4
# A refused handshake shows as a connection that never becomes ready; do not wait long.
REFUSED_TIMEOUT_S = 3


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(directory: Path, stem: str, subject: str, issuer=None, *, ca=False, server=False, expired=False):
    """Write `<stem>.pem` and `<stem>.key`: a certificate for `subject`, signed by
    `issuer` (a (cert, key) pair) or self-signed. Returns (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    not_after = now - datetime.timedelta(days=1) if expired else now + datetime.timedelta(days=1)
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_cert.subject if issuer_cert else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=2))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    (directory / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / f"{stem}.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    """A CA with a server and client certificate, an expired client certificate, and a
    second CA with a client certificate of its own."""
    directory = tmp_path_factory.mktemp("certs")
    ca = _issue(directory, "ca", "Quiver test CA", ca=True)
    _issue(directory, "server", "localhost", ca, server=True)
    _issue(directory, "client", "alice", ca)
    _issue(directory, "expired", "alice", ca, expired=True)
    rogue = _issue(directory, "rogue-ca", "Someone else's CA", ca=True)
    _issue(directory, "rogue", "mallory", rogue)
    return directory


def tls_config(certs: Path, mutual: bool) -> str:
    lines = ["[security]", f'tls_cert = "{certs / "server.pem"}"', f'tls_key = "{certs / "server.key"}"']
    if mutual:
        lines.append(f'tls_client_ca = "{certs / "ca.pem"}"')
    return "\n".join(lines) + "\n"


def serving(quiver_bin, tmp_path, config: str):
    srv = QuiverServer(quiver_bin, tmp_path / "data", tmp_path / "quiver.log", config=config)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def tls_server(quiver_bin, tmp_path, certs):
    yield from serving(quiver_bin, tmp_path, tls_config(certs, mutual=False))


@pytest.fixture
def mtls_server(quiver_bin, tmp_path, certs):
    yield from serving(quiver_bin, tmp_path, tls_config(certs, mutual=True))


def https(server: QuiverServer) -> str:
    return f"https://localhost:{server.port}"


def round_trip(client: MilvusClient, name: str) -> None:
    client.create_collection(name, dimension=DIM)
    client.insert(name, [{"id": i, "vector": [float(i)] * DIM} for i in range(5)])
    hits = client.search(name, data=[[1.0] * DIM], limit=2)
    assert len(hits[0]) == 2


def logged(server: QuiverServer, *fragments: str, timeout: float = 10.0) -> str:
    """The server log once it holds every fragment: a refused handshake is logged by the
    server's handshake task, which may finish after the client has given up."""
    deadline = time.monotonic() + timeout
    while True:
        log = server.log_text()
        if all(f in log for f in fragments) or time.monotonic() > deadline:
            for fragment in fragments:
                assert fragment in log, f"{fragment!r} not in the server log:\n{log}"
            return log
        time.sleep(0.1)


def refused(**kwargs) -> str:
    with pytest.raises(MilvusException) as info:
        client = MilvusClient(timeout=REFUSED_TIMEOUT_S, dedicated=True, **kwargs)
        client.list_collections()
    return str(info.value)


def test_one_way_tls_serves_pymilvus_and_rest(tls_server, certs):
    client = MilvusClient(uri=https(tls_server), server_pem_path=str(certs / "ca.pem"), server_name="localhost", dedicated=True)
    round_trip(client, "over_tls")
    assert "over_tls" in client.list_collections()
    client.close()
    # The RESTful API shares the port: HTTP/1.1 over the same TLS (ALPN http/1.1).
    context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    request = urllib.request.Request(
        f"{https(tls_server)}/v2/vectordb/collections/list", data=b"{}", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, context=context, timeout=30) as reply:
        assert "over_tls" in json.loads(reply.read())["data"]
    logged(tls_server, 'tls="one-way"')


def test_plaintext_client_is_refused_and_the_server_says_why(tls_server):
    message = refused(uri=tls_server.uri)
    assert "Fail connecting to server" in message, message
    logged(tls_server, "refused a connection: not TLS", "use https://")


def test_a_server_certificate_from_another_ca_is_refused_by_the_client(tls_server, certs):
    message = refused(uri=https(tls_server), server_pem_path=str(certs / "rogue-ca.pem"), server_name="localhost")
    assert "Fail connecting to server" in message, message


def test_mutual_tls_needs_a_client_certificate_from_the_ca(mtls_server, certs):
    def mutual(stem: str, ca: str = "ca.pem") -> dict:
        return {
            "uri": https(mtls_server),
            "client_pem_path": str(certs / f"{stem}.pem"),
            "client_key_path": str(certs / f"{stem}.key"),
            "ca_pem_path": str(certs / ca),
            "server_name": "localhost",
        }

    client = MilvusClient(dedicated=True, **mutual("client"))
    round_trip(client, "over_mtls")
    client.close()
    # No client certificate at all.
    refused(uri=https(mtls_server), server_pem_path=str(certs / "ca.pem"), server_name="localhost")
    # Expired, and signed by another CA.
    refused(**mutual("expired"))
    refused(**mutual("rogue"))
    logged(mtls_server, "peer sent no certificates", "certificate expired", "UnknownIssuer")


def test_snapshot_cli_speaks_token_and_mutual_tls(quiver_bin, tmp_path, certs):
    config = tls_config(certs, mutual=True).replace("[security]\n", "[security]\nauthorization = true\n")
    srv = QuiverServer(quiver_bin, tmp_path / "data", tmp_path / "quiver.log", config=config)
    srv.start()
    try:
        ca = str(certs / "ca.pem")
        client = MilvusClient(uri=https(srv), token="root:Milvus", client_pem_path=str(certs / "client.pem"),
                              client_key_path=str(certs / "client.key"), ca_pem_path=ca, server_name="localhost", dedicated=True)
        round_trip(client, "cli_src")
        client.flush("cli_src")
        client.close()

        def snapshot(*args, token=None, env=None, tls=("--tls-ca", ca, "--tls-cert", str(certs / "client.pem"),
                                                      "--tls-key", str(certs / "client.key"))):
            command = [str(quiver_bin), "snapshot", "--uri", https(srv), *tls]
            if token:
                command += ["--token", token]
            full_env = {k: v for k, v in os.environ.items() if not k.startswith("QUIVER_")}
            full_env.update(env or {})
            return subprocess.run(command + list(args), capture_output=True, text=True, timeout=60,
                                  stdin=subprocess.DEVNULL, env=full_env)

        created = snapshot("create", "cli_src", "s1", token="root:Milvus")
        assert created.returncode == 0, created.stderr
        listed = snapshot("list", "cli_src", env={"QUIVER_TOKEN": "root:Milvus"})
        assert (listed.returncode, listed.stdout.split()) == (0, ["s1"]), listed.stderr
        # Wrong password: the server's answer (exit 1); no client certificate: no connection (exit 2).
        wrong = snapshot("list", "cli_src", token="root:nope")
        assert wrong.returncode == 1 and "auth check failure" in wrong.stderr, wrong.stderr
        no_cert = snapshot("list", "cli_src", token="root:Milvus", tls=("--tls-ca", ca))
        assert no_cert.returncode == 2 and "cannot connect" in no_cert.stderr, no_cert.stderr
        plain = snapshot("list", "cli_src", token="root:Milvus", tls=())
        plain_http = subprocess.run([str(quiver_bin), "snapshot", "--uri", srv.uri, "--token", "root:Milvus", "list", "cli_src"],
                                    capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert plain.returncode == 2 and plain_http.returncode == 2, (plain.stderr, plain_http.stderr)
        usage = snapshot("list", "cli_src", tls=("--tls-cert", str(certs / "client.pem")))
        assert usage.returncode == 2 and "--tls-key" in usage.stderr, usage.stderr
    finally:
        srv.stop()
