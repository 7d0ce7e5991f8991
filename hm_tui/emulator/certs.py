"""The emulator's MQTT certificates: a CA, a server certificate and one client certificate.

Generated once into the state dir and reused on the next start, like the console's downloads
(`root.pem`, `certificate.pem.crt`, `private.pem.key`). The client id is the client certificate's
common name, a UUID, as on the platform (docs/platform.md#mqtt-streaming-push).
"""

from __future__ import annotations

import ipaddress
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 825
RENEW_BEFORE = timedelta(days=30)
SERVER_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class CertBundle:
    """Paths of the PEM files (all 0600) and the client id the client certificate names."""

    ca_file: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_id: str


def bundle_paths(state_dir: Path) -> CertBundle:
    """Where `ensure_certs` keeps the files (client_id left empty)."""
    base = Path(state_dir) / "mqtt"
    return CertBundle(
        ca_file=base / "root.pem",
        server_cert=base / "server.pem.crt",
        server_key=base / "server.pem.key",
        client_cert=base / "certificate.pem.crt",
        client_key=base / "private.pem.key",
        client_id="",
    )


def ensure_certs(state_dir: Path) -> CertBundle:
    """Reuse the certificates in `state_dir/mqtt` if complete and valid, else generate new ones."""
    paths = bundle_paths(state_dir)
    existing = _load_existing(paths)
    if existing is not None:
        return existing
    return _generate(paths)


def _load_existing(paths: CertBundle) -> CertBundle | None:
    files = (
        paths.ca_file,
        paths.server_cert,
        paths.server_key,
        paths.client_cert,
        paths.client_key,
    )
    if not all(path.is_file() for path in files):
        return None
    try:
        client = x509.load_pem_x509_certificate(paths.client_cert.read_bytes())
        server = x509.load_pem_x509_certificate(paths.server_cert.read_bytes())
    except (OSError, ValueError):
        return None
    deadline = datetime.now(UTC) + RENEW_BEFORE
    if min(client.not_valid_after_utc, server.not_valid_after_utc) < deadline:
        return None
    names = client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        return None
    return _with_client_id(paths, str(names[0].value))


def _with_client_id(paths: CertBundle, client_id: str) -> CertBundle:
    return CertBundle(
        paths.ca_file,
        paths.server_cert,
        paths.server_key,
        paths.client_cert,
        paths.client_key,
        client_id,
    )


def _generate(paths: CertBundle) -> CertBundle:
    paths.ca_file.parent.mkdir(parents=True, exist_ok=True)
    client_id = str(uuid.uuid4())
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca_certificate(ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _leaf_certificate(
        ca_key, ca_cert, server_key, "hm-tui emulator broker", server=True
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = _leaf_certificate(ca_key, ca_cert, client_key, client_id, server=False)
    _write(paths.ca_file, _cert_pem(ca_cert), 0o600)
    _write(paths.server_cert, _cert_pem(server_cert), 0o600)
    _write(paths.server_key, _key_pem(server_key), 0o600)
    _write(paths.client_cert, _cert_pem(client_cert), 0o600)
    _write(paths.client_key, _key_pem(client_key), 0o600)
    return _with_client_id(paths, client_id)


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hm-tui emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, "hm-tui emulator MQTT CA"),
        ]
    )
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _leaf_certificate(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    common_name: str,
    *,
    server: bool,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hm-tui emulator"),
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(_server_names(), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def _server_names() -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for name in SERVER_NAMES:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(names)


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not ca,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write atomically; the file never exists with wider permissions than `mode`."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    os.replace(tmp, path)
