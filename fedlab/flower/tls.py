"""Certificates and keys for a secured federation: TLS everywhere, SuperNode authentication.

A rehearsal on one machine (``python -m fedlab flower --tls``, ``Federation(tls=True)``) and
the tests make their own: a certificate authority (CA) that exists only for the run, a
server certificate for the SuperLink signed by it (with the addresses the SuperNodes dial
as subject alternative names, ``IP:127.0.0.1`` on localhost), and one ECDSA P-384 key pair
per site in OpenSSH format, as Flower's node authentication wants. Across real hospitals
the coordinating centre's certificate comes from the institution's CA instead, and each
hospital makes its key pair itself and sends only the public key.

References
----------
Flower 1.42, "Enable TLS connections" and "Authenticate SuperNodes",
https://flower.ai/docs/framework/
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from fedlab._files import write_new

__all__ = ["make_certificates", "make_node_key", "superlink_flags", "supernode_flags",
           "connection_toml"]


def make_certificates(folder, *, hosts=("127.0.0.1", "localhost"), days=2):
    """Write ``ca.crt``, ``server.pem``, ``server.key``: a new CA, the SuperLink's certificate.

    Parameters
    ----------
    folder : str or Path
        An existing folder; none of the three files may exist there.
    hosts : sequence of str, default=("127.0.0.1", "localhost")
        The names and IP addresses the SuperNodes use to reach the SuperLink: each becomes
        a subject alternative name of the server certificate (``IP:`` for an address).
    days : int, default=2
        How long both certificates are valid.

    Returns
    -------
    dict
        ``{"ca": Path, "certificate": Path, "key": Path}``. The CA's private key is never
        written: no further certificate can be signed with it.

    Examples
    --------
    >>> import tempfile
    >>> paths = make_certificates(tempfile.mkdtemp())
    >>> sorted(p.name for p in paths.values())
    ['ca.crt', 'server.key', 'server.pem']
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = Path(folder)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, server_key = ec.generate_private_key(ec.SECP384R1()), ec.generate_private_key(
        ec.SECP384R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fedlab rehearsal CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=days))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    names = [_alternative_name(h) for h in hosts]
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
              .issuer_name(ca_name).public_key(server_key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5))
              .not_valid_after(now + datetime.timedelta(days=days))
              .add_extension(x509.SubjectAlternativeName(names), critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    paths = {"ca": folder / "ca.crt", "certificate": folder / "server.pem",
             "key": folder / "server.key"}
    write_new(paths["ca"], ca.public_bytes(pem))
    write_new(paths["certificate"], server.public_bytes(pem))
    write_new(paths["key"], server_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    paths["key"].chmod(0o600)
    return paths


def make_node_key(folder, name):
    """Write a site's key pair, ``NAME.key`` (private) and ``NAME.pub``; return both paths.

    ECDSA on NIST P-384, both in OpenSSH format (what ``flower-supernode
    --auth-supernode-private-key`` and ``flwr supernode register`` read), as
    ``ssh-keygen -t ecdsa -b 384 -N "" -f NAME`` makes them.

    Examples
    --------
    >>> import tempfile
    >>> private, public = make_node_key(tempfile.mkdtemp(), "north")
    >>> public.read_text().startswith("ecdsa-sha2-nistp384 ")
    True
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    folder = Path(folder)
    key = ec.generate_private_key(ec.SECP384R1())
    private, public = folder / f"{name}.key", folder / f"{name}.pub"
    write_new(private, key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.OpenSSH,
                                         serialization.NoEncryption()))
    private.chmod(0o600)
    write_new(public, key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                    serialization.PublicFormat.OpenSSH) + b"\n")
    return private, public


def _alternative_name(host):
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def superlink_flags(paths=None):
    """``flower-superlink``'s security flags: TLS with ``paths`` and node authentication."""
    if paths is None:
        return ["--insecure"]
    return ["--ssl-ca-certfile", str(paths["ca"]), "--ssl-certfile", str(paths["certificate"]),
            "--ssl-keyfile", str(paths["key"]), "--enable-supernode-auth"]


def supernode_flags(paths=None, private_key=None):
    """``flower-supernode``'s: trust the run's CA, authenticate with the site's private key."""
    if paths is None:
        return ["--insecure"]
    return ["--root-certificates", str(paths["ca"]),
            "--auth-supernode-private-key", str(private_key)]


def connection_toml(name, address, paths=None):
    """The ``[superlink.NAME]`` connection of ``$FLWR_HOME/config.toml`` (``flwr`` reads it).

    Examples
    --------
    >>> print(connection_toml("local", "127.0.0.1:9092"))
    [superlink]
    default = "local"
    <BLANKLINE>
    [superlink.local]
    address = "127.0.0.1:9092"
    insecure = true
    <BLANKLINE>
    """
    import json

    security = ("insecure = true" if paths is None else
                f"root-certificates = {json.dumps(str(paths['ca']))}")
    return (f'[superlink]\ndefault = "{name}"\n\n[superlink.{name}]\n'
            f'address = "{address}"\n{security}\n')
