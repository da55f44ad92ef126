"""RSA private keys from PEM, and RSASSA-PKCS1-v1_5 signatures with SHA-256 (RS256).

Only what a Google service-account key needs: a DER reader for the two PEM forms,
``PRIVATE KEY`` (PKCS#8, RFC 5208) wrapping ``RSA PRIVATE KEY`` (PKCS#1, RFC 8017
appendix A.1.2), and the signature of RFC 8017 section 8.2.1 computed with the
Chinese remainder theorem (about four times faster than ``pow(m, d, n)``).

This is not constant-time. It signs a token request every hour with a key the
process already holds, which a timing attacker on the same machine could read
anyway; it is not meant for a server signing attacker-chosen data.

Errors never quote the key: a message names what is wrong, never the bytes.
"""
# Arguments are checked at run time too (callers may be untyped):
# pyright: reportUnnecessaryIsInstance=false

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from .._model.errors import ConfigurationError

__all__ = ["RsaPrivateKey", "load_private_key", "sign_rs256"]

_PEM = re.compile(r"-----BEGIN (RSA PRIVATE KEY|PRIVATE KEY)-----(.*?)-----END \1-----", re.DOTALL)
_SEQUENCE, _INTEGER, _OCTET_STRING, _OID, _NULL = 0x30, 0x02, 0x04, 0x06, 0x05
_RSA_ENCRYPTION = bytes.fromhex("2a864886f70d010101")  # OID 1.2.840.113549.1.1.1
# DER of DigestInfo{AlgorithmIdentifier sha256, NULL}, OCTET STRING (32 bytes) header.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class RsaPrivateKey:
    """An RSA private key with its CRT parameters; its repr shows only the size."""

    __slots__ = ("d", "dp", "dq", "e", "n", "p", "q", "qinv")

    def __init__(self, n: int, e: int, d: int, p: int, q: int, dp: int, dq: int, qinv: int) -> None:
        self.n, self.e, self.d = n, e, d
        self.p, self.q, self.dp, self.dq, self.qinv = p, q, dp, dq, qinv

    @property
    def size(self) -> int:
        """The modulus length in bytes."""
        return (self.n.bit_length() + 7) // 8

    def __repr__(self) -> str:
        return f"RsaPrivateKey({self.n.bit_length()} bits)"


def _bad(problem: str) -> ConfigurationError:
    return ConfigurationError(f"private key: {problem}")


class _Der:
    """A cursor over DER bytes that reads one expected element at a time."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def read(self, tag: int) -> bytes:
        data, pos = self.data, self.pos
        if pos + 2 > len(data) or data[pos] != tag:
            raise _bad("unexpected DER structure")
        length = data[pos + 1]
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            if not 0 < count <= 4 or pos + count > len(data):
                raise _bad("bad DER length")
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        if pos + length > len(data):
            raise _bad("DER element runs past the end")
        self.pos = pos + length
        return data[pos : pos + length]

    def integer(self) -> int:
        return int.from_bytes(self.read(_INTEGER), "big", signed=True)


def _pkcs1(der: bytes) -> RsaPrivateKey:
    fields = _Der(_Der(der).read(_SEQUENCE))
    if fields.integer() != 0:
        raise _bad("only two-prime RSA keys (version 0) are supported")
    key = RsaPrivateKey(*(fields.integer() for _ in range(8)))
    if key.p * key.q != key.n or min(key.n, key.e, key.d, key.p, key.q) <= 0:
        raise _bad("inconsistent RSA parameters")
    return key


def _pkcs8(der: bytes) -> RsaPrivateKey:
    info = _Der(_Der(der).read(_SEQUENCE))
    if info.integer() not in (0, 1):
        raise _bad("unknown PKCS#8 version")
    algorithm = _Der(info.read(_SEQUENCE))
    if algorithm.read(_OID) != _RSA_ENCRYPTION:
        raise _bad("not an RSA key")
    return _pkcs1(info.read(_OCTET_STRING))


_LOADERS = {"PRIVATE KEY": _pkcs8, "RSA PRIVATE KEY": _pkcs1}


def load_private_key(pem: str) -> RsaPrivateKey:
    """Parse a PEM ``PRIVATE KEY`` (PKCS#8) or ``RSA PRIVATE KEY`` (PKCS#1).

    Raises :class:`~minicall.ConfigurationError` for anything else, including
    encrypted keys.
    """
    match = _PEM.search(pem) if isinstance(pem, str) else None
    if match is None:
        raise _bad("no unencrypted PEM 'PRIVATE KEY' or 'RSA PRIVATE KEY' block found")
    try:
        der = base64.b64decode("".join(match.group(2).split()), validate=True)
    except (binascii.Error, ValueError):
        raise _bad("PEM body is not base64") from None
    return _LOADERS[match.group(1)](der)


def sign_rs256(key: RsaPrivateKey, message: bytes) -> bytes:
    """The RSASSA-PKCS1-v1_5 signature of ``message`` with SHA-256."""
    k = key.size
    digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    if k < len(digest_info) + 11:
        raise _bad("RSA modulus too short for SHA-256 signatures")
    encoded = b"\x00\x01" + b"\xff" * (k - len(digest_info) - 3) + b"\x00" + digest_info
    m = int.from_bytes(encoded, "big")
    s1 = pow(m, key.dp, key.p)
    s2 = pow(m, key.dq, key.q)
    s = s2 + key.q * ((key.qinv * (s1 - s2)) % key.p)
    # A faulty CRT result would leak a factor of n if sent; check it before it leaves.
    if pow(s, key.e, key.n) != m:
        raise _bad("RSA signature failed its check; the key is corrupt")
    return s.to_bytes(k, "big")
