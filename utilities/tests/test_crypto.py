"""Tests for utilities.crypto (SM3, HMAC-SM3, SM4-GCM tokens, blind index, key ring)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utilities.crypto import (
    DecryptionError,
    KeyRing,
    _sm4_gcm_decrypt,
    _sm4_gcm_encrypt,
    blind_index,
    decrypt,
    encrypt,
    hmac_sm3_hex,
    is_token,
    reencrypt,
    sm3_hex,
    token_kid,
)

RING = KeyRing({"k1": bytes(range(16))}, "k1", bytes(range(100, 132)))

# --------------------------------------------------------------------------- known answers


def test_sm3_vectors() -> None:
    # GB/T 32905-2016 appendix A
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert (
        sm3_hex(b"abcd" * 16)
        == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


def test_hmac_sm3_is_keyed() -> None:
    a = hmac_sm3_hex(b"k" * 16, b"data")
    assert len(a) == 64
    assert a == hmac_sm3_hex(b"k" * 16, b"data")
    assert a != hmac_sm3_hex(b"j" * 16, b"data")
    assert a != sm3_hex(b"data")


def test_sm4_gcm_rfc8998_vector() -> None:
    # RFC 8998 appendix A.1 (SM4-GCM)
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plaintext = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    expected = bytes.fromhex(
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        "83DE3541E4C2B58177E065A9BF7B62EC"
    )
    assert _sm4_gcm_encrypt(key, nonce, plaintext, aad) == expected
    assert _sm4_gcm_decrypt(key, nonce, expected, aad) == plaintext


# --------------------------------------------------------------------------- tokens


@given(st.text())
@settings(max_examples=200)
def test_round_trip(plaintext: str) -> None:
    token = encrypt(RING, plaintext)
    assert is_token(token)
    assert token.startswith("sm4gcm$k1$")
    assert token.isascii()
    assert decrypt(RING, token) == plaintext


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)), st.binary())
def test_round_trip_chinese_with_aad(plaintext: str, aad: bytes) -> None:
    assert decrypt(RING, encrypt(RING, plaintext, aad), aad) == plaintext


def test_round_trip_examples() -> None:
    for text in ["", "320505199001011234", "张三丰", "江苏省苏州市姑苏区 1 号 🚓"]:
        assert decrypt(RING, encrypt(RING, text, b"person:1"), b"person:1") == text


def test_encryption_is_randomised() -> None:
    a, b = encrypt(RING, "same"), encrypt(RING, "same")
    assert a != b
    assert decrypt(RING, a) == decrypt(RING, b) == "same"


def test_token_layout() -> None:
    token = encrypt(RING, "abc")
    prefix, kid, payload = token.split("$")
    blob = base64.urlsafe_b64decode(payload)
    assert (prefix, kid) == ("sm4gcm", "k1")
    assert len(blob) == 12 + 3 + 16
    assert token_kid(token) == "k1"


@given(st.text(max_size=40), st.data())
def test_tampering_any_byte_is_detected(plaintext: str, data: st.DataObject) -> None:
    token = encrypt(RING, plaintext)
    prefix, kid, payload = token.split("$")
    blob = bytearray(base64.urlsafe_b64decode(payload))
    i = data.draw(st.integers(0, len(blob) - 1))
    blob[i] ^= data.draw(st.integers(1, 255))
    forged = f"{prefix}${kid}${base64.urlsafe_b64encode(bytes(blob)).decode()}"
    with pytest.raises(DecryptionError):
        decrypt(RING, forged)


@given(st.text(max_size=40), st.data())
def test_tampering_any_token_character_is_detected(plaintext: str, data: st.DataObject) -> None:
    token = encrypt(RING, plaintext)
    i = data.draw(st.integers(0, len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=$"
    new = data.draw(st.sampled_from(alphabet).filter(lambda c: c != token[i]))
    forged = token[:i] + new + token[i + 1 :]
    with pytest.raises(DecryptionError):
        decrypt(RING, forged)


def test_truncated_and_malformed_tokens() -> None:
    token = encrypt(RING, "hello")
    for bad in [
        token[:-4],
        token + "AAAA",
        "sm4gcm$k1$",
        "sm4gcm$k1$AAAA",
        "aes$k1$" + token.split("$")[2],
        "plain text",
        "",
    ]:
        with pytest.raises(DecryptionError):
            decrypt(RING, bad)
    with pytest.raises(DecryptionError):
        decrypt(RING, None)  # type: ignore[arg-type]


def test_wrong_aad_is_rejected() -> None:
    token = encrypt(RING, "secret", b"person:1")
    with pytest.raises(DecryptionError):
        decrypt(RING, token, b"person:2")
    with pytest.raises(DecryptionError):
        decrypt(RING, token)


def test_wrong_key_and_unknown_kid() -> None:
    token = encrypt(RING, "secret")
    other = KeyRing({"k1": b"\x01" * 16}, "k1", b"\x02" * 16)
    with pytest.raises(DecryptionError):
        decrypt(other, token)
    stranger = KeyRing({"k9": bytes(range(16))}, "k9", b"\x02" * 16)
    with pytest.raises(DecryptionError):
        decrypt(stranger, token)


def test_is_token() -> None:
    assert is_token(encrypt(RING, "x"))
    assert not is_token("320505199001011234")
    assert not is_token(None)
    assert not is_token("sm4gcm$bad kid$AAAA")


# --------------------------------------------------------------------------- rotation


def test_rotation_keeps_old_tokens_readable() -> None:
    old_token = encrypt(RING, "张三", b"aad")
    rotated = RING.rotated("k2")
    assert rotated.current_kid == "k2"
    assert decrypt(rotated, old_token, b"aad") == "张三"
    new_token = encrypt(rotated, "李四")
    assert token_kid(new_token) == "k2"
    with pytest.raises(DecryptionError):
        decrypt(RING, new_token)  # old ring does not know k2


def test_reencrypt_moves_to_current_key() -> None:
    old_token = encrypt(RING, "王五", b"aad")
    rotated = RING.rotated("k2", b"\x07" * 16)
    fresh = reencrypt(rotated, old_token, b"aad")
    assert token_kid(fresh) == "k2"
    assert decrypt(rotated, fresh, b"aad") == "王五"
    assert reencrypt(rotated, fresh, b"aad") == fresh  # already current: unchanged
    with pytest.raises(DecryptionError):
        reencrypt(rotated, old_token, b"wrong")


# --------------------------------------------------------------------------- blind index


def test_blind_index_deterministic_and_keyed() -> None:
    a = blind_index(RING, "320505199001011234", "person.id_number")
    assert a == blind_index(RING, " 320505199001011234 ", "person.id_number")
    assert len(a) == 64
    assert a != blind_index(RING, "320505199001011234", "person.mobile")
    other = KeyRing({"k1": bytes(range(16))}, "k1", b"\xff" * 32)
    assert a != blind_index(other, "320505199001011234", "person.id_number")
    # rotating data keys does not change the index
    assert a == blind_index(RING.rotated("k2"), "320505199001011234", "person.id_number")
    with pytest.raises(ValueError):
        blind_index(RING, "x", "")


@given(st.text(), st.text())
def test_blind_index_distinguishes_values(a: str, b: str) -> None:
    if a.strip() != b.strip():
        assert blind_index(RING, a, "p") != blind_index(RING, b, "p")
    else:
        assert blind_index(RING, a, "p") == blind_index(RING, b, "p")


# --------------------------------------------------------------------------- key ring


def test_from_spec_defaults_to_last_key() -> None:
    ring = KeyRing.from_spec(
        f"old:{'00' * 16}, new:{'11' * 16}", None, "22" * 16
    )
    assert ring.kids == ("old", "new")
    assert ring.current_kid == "new"
    assert ring.key("old") == b"\x00" * 16
    assert KeyRing.from_spec(f"old:{'00' * 16},new:{'11' * 16}", "old", "22" * 16).current_kid == "old"


@pytest.mark.parametrize(
    ("spec", "current", "index_hex"),
    [
        ("", None, "22" * 16),
        ("k1:" + "00" * 15, None, "22" * 16),  # 15-byte key
        ("k1:" + "zz" * 16, None, "22" * 16),  # not hex
        ("k1" + "00" * 16, None, "22" * 16),  # missing colon
        ("bad kid:" + "00" * 16, None, "22" * 16),
        ("k1:" + "00" * 16 + ",k1:" + "11" * 16, None, "22" * 16),  # duplicate
        ("k1:" + "00" * 16, "k2", "22" * 16),  # unknown current
        ("k1:" + "00" * 16, None, "22" * 8),  # short index key
    ],
)
def test_from_spec_rejects_bad_input(spec: str, current: str | None, index_hex: str) -> None:
    with pytest.raises(ValueError):
        KeyRing.from_spec(spec, current, index_hex)


def test_json_round_trip_and_generate() -> None:
    ring = KeyRing.generate().rotated("k2")
    data = json.loads(ring.to_json())
    assert data["current"] == "k2"
    assert set(data["keys"]) == {"k1", "k2"}
    loaded = KeyRing.from_json(ring.to_json())
    token = encrypt(ring, "数据")
    assert decrypt(loaded, token) == "数据"
    assert blind_index(loaded, "v", "p") == blind_index(ring, "v", "p")
    assert KeyRing.generate().key("k1") != KeyRing.generate().key("k1")


def test_repr_hides_keys() -> None:
    text = repr(RING)
    assert "k1" in text
    assert bytes(range(16)).hex() not in text
    assert "\\x00" not in text
