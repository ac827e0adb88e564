"""Anonymous signatures of WACZ packages, as the WACZ Signing and Verification spec shapes them.

The signed message is the ``hash`` string of ``datapackage.json`` (``sha256:<hex>``,
UTF-8), signed with ECDSA over SHA-256 on the P-256 or P-384 curve. ``signedData``
carries ``hash``, ``created``, ``software``, the ``signature`` (base64 of the raw
``r || s`` pair, the form WebCrypto and so ArchiveWeb.page and ReplayWeb.page use) and
the ``publicKey`` (base64 of its DER SubjectPublicKeyInfo). Who holds the key is for
the reader to know out of band: the spec's other form, a domain certificate with an
RFC 3161 timestamp, is made by a signing server (webrecorder's authsign), not here.
:func:`check_signed_data` also takes a DER-encoded signature.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from storage.errors import BadInput, one_line

CURVES: dict[str, int] = {"secp256r1": 32, "secp384r1": 48}  # curve -> bytes of r and of s
_SIGNED = ec.ECDSA(hashes.SHA256())


def _created(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


class Signer:
    """Signs package hashes with one EC private key (P-256 or P-384)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, software: str) -> None:
        if key.curve.name not in CURVES:
            raise BadInput(f"signing key is on curve {key.curve.name}: use P-256 or P-384")
        self.key = key
        self.software = software

    @classmethod
    def from_pem(cls, path: Path, software: str) -> Signer:
        """The signer of the PEM private key at ``path`` (unencrypted PKCS#8 or SEC1)."""
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except OSError as exc:
            raise BadInput(f"--sign {path}: cannot read it: {one_line(exc)}") from exc
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise BadInput(
                f"--sign {path}: not an unencrypted PEM private key ({one_line(exc)}); make one "
                "with: openssl ecparam -name secp384r1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt"
            ) from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise BadInput(f"--sign {path}: not an elliptic-curve key: use ECDSA P-256 or P-384")
        return cls(key, software)

    def public_key(self) -> str:
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode("ascii")

    def sign(self, package_hash: str, created: datetime) -> dict[str, Any]:
        """The ``signedData`` of ``package_hash`` (``sha256:<hex>``)."""
        r, s = decode_dss_signature(self.key.sign(package_hash.encode("utf-8"), _SIGNED))
        size = CURVES[self.key.curve.name]
        raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
        return {
            "hash": package_hash,
            "created": _created(created),
            "software": self.software,
            "signature": base64.b64encode(raw).decode("ascii"),
            "publicKey": self.public_key(),
        }


def check_signed_data(signed: object, package_hash: str) -> list[str]:
    """What is wrong with an anonymous ``signedData`` of ``package_hash``; [] if nothing."""
    if not isinstance(signed, dict):
        return ["signedData is not an object"]
    if "domainCert" in signed or "domain" in signed:
        return [
            "signedData is a domain signature (certificate and timestamp): check it with a "
            "signing server's verifier (authsign), not here"
        ]
    problems = []
    for name in ("hash", "created", "software", "signature", "publicKey"):
        if not isinstance(signed.get(name), str):
            problems.append(f"signedData has no {name} string")
    if problems:
        return problems
    if signed["hash"] != package_hash:
        return [f"signedData hash {signed['hash']} is not datapackage.json's {package_hash}"]
    try:
        key = serialization.load_der_public_key(base64.b64decode(signed["publicKey"]))
        signature = base64.b64decode(signed["signature"], validate=True)
    except (ValueError, binascii.Error, UnsupportedAlgorithm) as exc:
        return [f"signedData publicKey or signature is unreadable: {one_line(exc)}"]
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in CURVES:
        return ["signedData publicKey is not an ECDSA P-256 or P-384 key"]
    size = CURVES[key.curve.name]
    if len(signature) == 2 * size:
        r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
        signature = encode_dss_signature(r, s)
    try:
        key.verify(signature, signed["hash"].encode("utf-8"), _SIGNED)
    except InvalidSignature:
        return ["signedData signature does not verify with its publicKey"]
    return []
