"""Webhook signatures as PayPal makes them: SHA256withRSA over ``transmission_id|time|webhook_id|crc32(body)``,
with the signing certificate served at the PAYPAL-CERT-URL the delivery names."""

from __future__ import annotations

import base64
import re
import secrets
import zlib
from datetime import timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from app import clock

AUTH_ALGO = "SHA256withRSA"
# PayPal's verify-webhook-signature schema wants a signature that starts with a word character.
_SCHEMA_SAFE = re.compile(r"^(?!\d+$)\w+\S+")


def signed_message(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()


class Signer:
    """A fresh key pair and self-signed certificate per sandbox process (nothing to keep secret or rotate)."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.sandbox.recurra")])
        now = clock.now()
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .sign(self._key, hashes.SHA256())
        )
        self.cert_id = "CERT-360caa42-fca2a594-" + secrets.token_hex(4)

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, message: bytes) -> str:
        signature = self._key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def is_schema_safe(self, signature: str) -> bool:
        return _SCHEMA_SAFE.match(signature) is not None

    def verify(self, message: bytes, signature: str) -> bool:
        try:
            self._key.public_key().verify(
                base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return False
        return True
