"""Bitcoin deposit addresses that look real: Base58Check-encoded P2PKH.

The emulator hands these out as deposit addresses. They are well formed (the
version byte, a 20-byte payload and a double-SHA256 checksum, as wallets check),
but the payload comes from a seeded RNG, not from a key: nobody can spend from
them, and nothing paid to them would ever arrive.
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["b58decode", "b58encode", "decode_p2pkh", "new_address", "p2pkh_address"]

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
P2PKH_VERSION = 0x00  # mainnet pay-to-public-key-hash: addresses start with '1'


def _checksum(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()[:4]


def b58encode(data: bytes) -> str:
    """Base58 text for `data`; each leading zero byte becomes a '1'."""
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(ALPHABET[remainder])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """The bytes of Base58 `text`; raises ValueError on a character outside the alphabet."""
    number = 0
    for char in text:
        index = ALPHABET.find(char)
        if index < 0:
            raise ValueError(f"{char!r} is not a Base58 character")
        number = number * 58 + index
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def p2pkh_address(payload: bytes) -> str:
    """The Base58Check P2PKH address of a 20-byte public key hash."""
    if len(payload) != 20:
        raise ValueError(f"a P2PKH payload is 20 bytes, not {len(payload)}")
    versioned = bytes([P2PKH_VERSION]) + payload
    return b58encode(versioned + _checksum(versioned))


def decode_p2pkh(address: str) -> bytes:
    """The 20-byte payload of a P2PKH address; raises ValueError if it is not one."""
    raw = b58decode(address)
    if len(raw) != 25:
        raise ValueError(f"a P2PKH address decodes to 25 bytes, not {len(raw)}")
    versioned, checksum = raw[:21], raw[21:]
    if _checksum(versioned) != checksum:
        raise ValueError("bad checksum")
    if versioned[0] != P2PKH_VERSION:
        raise ValueError(f"version byte {versioned[0]:#04x} is not P2PKH")
    return versioned[1:]


def new_address(rng: random.Random) -> str:
    """A fresh address whose payload is drawn from `rng` (deterministic when it is seeded)."""
    return p2pkh_address(rng.randbytes(20))
