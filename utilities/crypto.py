"""SM3 / SM4 field-level crypto, pure Python (no Django), on the ``cryptography`` package.

* ``sm3_hex`` — GB/T 32905-2016 hash; ``hmac_sm3_hex`` — HMAC (RFC 2104) over SM3.
* ``encrypt``/``decrypt`` — SM4 (GB/T 32907-2016) in GCM mode (as in RFC 8998) with a
  random 96-bit nonce and 128-bit tag, tagged with the key id so old keys keep working after
  rotation. Token format: ``sm4gcm$<kid>$<base64url(nonce || ciphertext || tag)>``.
* ``blind_index`` — keyed HMAC-SM3 of a normalised value, for exact-match search on
  encrypted columns without storing the plaintext.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping
from types import MappingProxyType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "DecryptionError",
    "KeyRing",
    "TOKEN_PREFIX",
    "sm3_hex",
    "hmac_sm3_hex",
    "encrypt",
    "decrypt",
    "is_token",
    "blind_index",
    "reencrypt",
    "token_kid",
]

TOKEN_PREFIX = "sm4gcm"
SM4_KEY_SIZE = 16
NONCE_SIZE = 12
TAG_SIZE = 16
MIN_INDEX_KEY_SIZE = 16

_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_TOKEN = re.compile(r"sm4gcm\$([A-Za-z0-9_-]{1,32})\$([A-Za-z0-9_-]+={0,2})")


class DecryptionError(ValueError):
    """A token could not be decrypted: malformed, unknown key id, wrong AAD or tampered."""


# --------------------------------------------------------------------------- hashing


def sm3_hex(data: bytes) -> str:
    """Return the hex SM3 digest (GB/T 32905-2016) of ``data``."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def hmac_sm3_hex(key: bytes, data: bytes) -> str:
    """Return the hex HMAC-SM3 (RFC 2104 construction with SM3) of ``data`` under ``key``."""
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize().hex()


# --------------------------------------------------------------------------- key ring


class KeyRing:
    """SM4 data keys by key id, the id used for new encryptions, and a blind-index HMAC key."""

    __slots__ = ("_keys", "_current_kid", "_index_key")

    def __init__(self, keys: Mapping[str, bytes], current_kid: str, index_key: bytes) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        checked: dict[str, bytes] = {}
        for kid, key in keys.items():
            if not isinstance(kid, str) or not _KID.fullmatch(kid):
                raise ValueError(f"invalid key id {kid!r}: use 1-32 of [A-Za-z0-9_-]")
            if not isinstance(key, (bytes, bytearray)) or len(key) != SM4_KEY_SIZE:
                raise ValueError(f"key {kid!r} must be exactly {SM4_KEY_SIZE} bytes")
            checked[kid] = bytes(key)
        if current_kid not in checked:
            raise ValueError(f"current key id {current_kid!r} is not in the ring")
        if not isinstance(index_key, (bytes, bytearray)) or len(index_key) < MIN_INDEX_KEY_SIZE:
            raise ValueError(f"index key must be at least {MIN_INDEX_KEY_SIZE} bytes")
        self._keys: Mapping[str, bytes] = MappingProxyType(checked)
        self._current_kid = current_kid
        self._index_key = bytes(index_key)

    # -- accessors (read-only)

    @property
    def current_kid(self) -> str:
        return self._current_kid

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    @property
    def index_key(self) -> bytes:
        return self._index_key

    def key(self, kid: str) -> bytes:
        """Return the SM4 key for ``kid``; ``KeyError`` if unknown."""
        return self._keys[kid]

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __repr__(self) -> str:  # never print key material
        return f"KeyRing(kids={list(self._keys)!r}, current_kid={self._current_kid!r})"

    # -- constructors

    @classmethod
    def from_spec(cls, spec: str, current_kid: str | None, index_key_hex: str) -> KeyRing:
        """Build from ``"kid1:HEX32,kid2:HEX32"``; the current key defaults to the last listed."""
        keys: dict[str, bytes] = {}
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            kid, sep, hex_key = item.partition(":")
            if not sep:
                raise ValueError(f"key spec item {item!r} is not 'kid:hex'")
            kid = kid.strip()
            if kid in keys:
                raise ValueError(f"duplicate key id {kid!r}")
            keys[kid] = _from_hex(hex_key.strip(), f"key {kid!r}")
        if not keys:
            raise ValueError("key spec lists no keys")
        current = current_kid or list(keys)[-1]
        return cls(keys, current, _from_hex(index_key_hex.strip(), "index key"))

    @classmethod
    def generate(cls, kid: str = "k1") -> KeyRing:
        """Return a fresh ring with one random SM4 key and a random 32-byte index key."""
        return cls({kid: os.urandom(SM4_KEY_SIZE)}, kid, os.urandom(32))

    def rotated(self, new_kid: str, new_key: bytes | None = None) -> KeyRing:
        """Return a copy with ``new_key`` (random if omitted) added as the current key."""
        if new_kid in self._keys:
            raise ValueError(f"key id {new_kid!r} already exists")
        keys = dict(self._keys)
        keys[new_kid] = os.urandom(SM4_KEY_SIZE) if new_key is None else new_key
        return KeyRing(keys, new_kid, self._index_key)

    def to_json(self) -> str:
        """Serialise to ``{"current": kid, "keys": {kid: hex}, "index_key": hex}``."""
        return json.dumps(
            {
                "current": self._current_kid,
                "keys": {kid: key.hex() for kid, key in self._keys.items()},
                "index_key": self._index_key.hex(),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        """Load a key file written by :meth:`to_json`."""
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
            raise ValueError("key file must be an object with a 'keys' object")
        keys = {kid: _from_hex(h, f"key {kid!r}") for kid, h in data["keys"].items()}
        return cls(keys, data.get("current"), _from_hex(data.get("index_key"), "index key"))


def _from_hex(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{what} is not valid hex") from None


# --------------------------------------------------------------------------- SM4-GCM


def _sm4_gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """SM4-GCM encrypt; returns ciphertext || tag."""
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    if aad:
        encryptor.authenticate_additional_data(aad)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return ciphertext + encryptor.tag


def _sm4_gcm_decrypt(key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    """SM4-GCM decrypt ``ciphertext || tag``; raises ``InvalidTag`` on failure."""
    ciphertext, tag = data[:-TAG_SIZE], data[-TAG_SIZE:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    if aad:
        decryptor.authenticate_additional_data(aad)
    return decryptor.update(ciphertext) + decryptor.finalize()


def encrypt(ring: KeyRing, plaintext: str, aad: bytes = b"") -> str:
    """Encrypt ``plaintext`` (UTF-8) with the ring's current key, SM4-GCM, random nonce."""
    kid = ring.current_kid
    nonce = os.urandom(NONCE_SIZE)
    sealed = _sm4_gcm_encrypt(ring.key(kid), nonce, plaintext.encode("utf-8"), aad)
    payload = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
    return f"{TOKEN_PREFIX}${kid}${payload}"


def _split_token(token: object) -> tuple[str, bytes]:
    """Return ``(kid, nonce || ciphertext || tag)``; raise DecryptionError if malformed."""
    if not isinstance(token, str):
        raise DecryptionError("token must be a string")
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise DecryptionError("not an sm4gcm token")
    kid, payload = match.groups()
    try:
        blob = base64.b64decode(payload, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionError("token payload is not valid base64url") from None
    # Reject non-canonical encodings so that every change to the token text is detected.
    if base64.urlsafe_b64encode(blob).decode("ascii") != payload:
        raise DecryptionError("token payload is not canonical base64url")
    if len(blob) < NONCE_SIZE + TAG_SIZE:
        raise DecryptionError("token payload is too short")
    return kid, blob


def decrypt(ring: KeyRing, token: str, aad: bytes = b"") -> str:
    """Decrypt a token from :func:`encrypt` with the key named in it; verify the GCM tag."""
    kid, blob = _split_token(token)
    if kid not in ring:
        raise DecryptionError(f"unknown key id {kid!r}")
    try:
        plaintext = _sm4_gcm_decrypt(ring.key(kid), blob[:NONCE_SIZE], blob[NONCE_SIZE:], aad)
    except InvalidTag:
        raise DecryptionError("authentication failed (tampered token, wrong key or AAD)") from None
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptionError("plaintext is not UTF-8") from None


def is_token(value: object) -> bool:
    """True if ``value`` looks like an ``sm4gcm$kid$payload`` token (shape only, not verified)."""
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


def token_kid(token: str) -> str:
    """Return the key id a token was encrypted under; DecryptionError if malformed."""
    return _split_token(token)[0]


def reencrypt(ring: KeyRing, token: str, aad: bytes = b"") -> str:
    """Re-encrypt a token under the ring's current key (key rotation).

    The token is always decrypted (so it is verified); if it already uses the current key it
    is returned unchanged, so a rotation job can skip rows where ``new == old``.
    """
    kid, _ = _split_token(token)
    plaintext = decrypt(ring, token, aad)
    if kid == ring.current_kid:
        return token
    return encrypt(ring, plaintext, aad)


# --------------------------------------------------------------------------- blind index


def blind_index(ring: KeyRing, value: str, purpose: str) -> str:
    """Hex HMAC-SM3 of ``purpose + "\\x00" + value.strip()`` under the ring's index key.

    ``purpose`` (e.g. ``"person.id_number"``) separates indexes of different fields; callers
    pass already-normalised values (e.g. ``parse_id_number(...).normalized``).
    """
    if not purpose or "\x00" in purpose:
        raise ValueError("purpose must be a non-empty string without NUL")
    message = (purpose + "\x00" + value.strip()).encode("utf-8")
    return hmac_sm3_hex(ring.index_key, message)
