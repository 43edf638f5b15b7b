"""Ed25519 signatures of evidence bundles (the ``cryptography`` package).

A lab makes a key pair once (``auditkit keygen lab-key``: the private key in ``lab-key``, never
shared; the public key in ``lab-key.pub``, one line in OpenSSH format, published).  ``auditkit sign
BUNDLE --key lab-key`` signs the bytes of ``manifest.json`` — which holds the sha256 of every other
file — and writes ``signature.json``.  ``auditkit verify BUNDLE --signer lab-key.pub`` fails unless
that signature is valid for that key, on top of every other check.

A signature says *who* vouches for the bundle, not that the audit is right: see docs/reports.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ._output import write_bytes
from .bundle import MANIFEST_FILE, SIGNATURE_FILE
from .exceptions import AuditkitError, InputDataError

__all__ = ["SignatureError", "check_signature", "fingerprint", "keygen", "sign_bundle"]

_ALGORITHM = "ed25519"


class SignatureError(AuditkitError, ValueError):
    """A key or signature auditkit cannot use (exit 1)."""


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as err:
        raise SignatureError("Signing and checking signatures needs the 'cryptography' package: "
                             "pip install 'auditkit[sign]'.") from err
    return serialization, ed25519


def fingerprint(raw_public: bytes) -> str:
    """The key's fingerprint as OpenSSH prints it (``ssh-keygen -l``): SHA256 of the key blob, base64."""
    blob = _ssh_blob(raw_public)
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _ssh_blob(raw_public: bytes) -> bytes:
    def field(b: bytes) -> bytes:
        return len(b).to_bytes(4, "big") + b

    return field(b"ssh-ed25519") + field(raw_public)


def keygen(path: str | os.PathLike, comment: str = "auditkit") -> tuple[Path, str]:
    """Write a new private key to ``path`` (mode 0600, PEM) and its public key to ``path.pub``.

    Returns the public key's path and fingerprint.  Existing files are never overwritten.
    """
    serialization, ed25519 = _crypto()
    path = Path(path)
    pub = Path(str(path) + ".pub")
    for p in (path, pub):
        if os.path.lexists(p):
            raise SignatureError(f"{p} exists already; auditkit never overwrites a key. Choose another name.")
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    line = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    write_bytes(path, private, private=True, exclusive=True)
    write_bytes(pub, line + f" {comment}\n".encode(), exclusive=True)
    return pub, fingerprint(raw)


def _read(path: str | os.PathLike, what: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise SignatureError(f"{path}: the {what} cannot be read ({err.strerror or err}).") from err
    return data


def _private_key(path: str | os.PathLike) -> Any:
    serialization, ed25519 = _crypto()
    data = _read(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        hint = " (that is the public key; give the file without .pub)" if data.startswith(b"ssh-") else ""
        raise SignatureError(f"{path}: not an unencrypted PEM private key{hint}. Make one with "
                             "`auditkit keygen KEYFILE`.") from err
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise SignatureError(f"{path}: an {type(key).__name__}, not an Ed25519 key.")
    return key


def public_key(path: str | os.PathLike) -> bytes:
    """The raw 32-byte Ed25519 public key in ``path`` (OpenSSH one-line format, or PEM)."""
    serialization, ed25519 = _crypto()
    data = _read(path, "public key")
    try:
        key = (serialization.load_ssh_public_key(data.strip()) if data.startswith(b"ssh-")
               else serialization.load_pem_public_key(data))
    except (ValueError, TypeError, Exception) as err:  # noqa: BLE001 - cryptography raises several kinds
        raise SignatureError(f"{path}: not an Ed25519 public key (expected the one line of KEYFILE.pub, "
                             "'ssh-ed25519 AAAA…').") from err
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise SignatureError(f"{path}: not an Ed25519 public key.")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sign_bundle(bundle: str | os.PathLike, key_path: str | os.PathLike) -> tuple[Path, str]:
    """Sign ``bundle``'s manifest with the private key in ``key_path``; return the signature file and fingerprint.

    Check the bundle first (``auditkit sign`` does): a signature vouches for what is signed.
    """
    from .bundle import read_manifest

    bundle = Path(bundle)
    read_manifest(bundle)
    key = _private_key(key_path)
    serialization, _ = _crypto()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    manifest = (bundle / MANIFEST_FILE).read_bytes()
    doc = {"algorithm": _ALGORITHM, "signed_file": MANIFEST_FILE,
           "signed_sha256": hashlib.sha256(manifest).hexdigest(),
           "public_key": base64.b64encode(raw).decode(), "key_fingerprint": fingerprint(raw),
           "signature": base64.b64encode(key.sign(manifest)).decode()}
    path = bundle / SIGNATURE_FILE
    write_bytes(path, (json.dumps(doc, indent=2, allow_nan=False) + "\n").encode())
    return path, doc["key_fingerprint"]


def _signature_doc(bundle: Path, report: Any) -> dict | None:
    path = bundle / SIGNATURE_FILE
    if os.path.islink(path) or not path.is_file():
        report.problems.append(f"The bundle has no {SIGNATURE_FILE}: it is not signed.")
        return None
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
        raw_pub = base64.b64decode(doc["public_key"], validate=True)
        sig = base64.b64decode(doc["signature"], validate=True)
        if doc["algorithm"] != _ALGORITHM or doc["signed_file"] != MANIFEST_FILE or len(raw_pub) != 32 \
                or len(sig) != 64:
            raise ValueError("not an Ed25519 signature of manifest.json")
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as err:
        report.problems.append(f"{SIGNATURE_FILE} is not a signature auditkit can read ({type(err).__name__}: "
                               f"{str(err)[:100]}).")
        return None
    return {"public": raw_pub, "signature": sig}


def check_signature(bundle: Path, manifest: bytes, signer: str | os.PathLike | None, report: Any) -> None:
    """Check ``signature.json`` against the manifest bytes (and against ``signer``'s key, when given)."""
    doc = _signature_doc(bundle, report)
    if doc is None:
        return
    _, ed25519 = _crypto()
    from cryptography.exceptions import InvalidSignature

    try:
        ed25519.Ed25519PublicKey.from_public_bytes(doc["public"]).verify(doc["signature"], manifest)
    except (InvalidSignature, ValueError):
        report.problems.append(f"{SIGNATURE_FILE}: the signature does not match manifest.json (the manifest changed "
                               "after signing, or the signature was altered).")
        return
    named = fingerprint(doc["public"])
    if signer is None:
        report.notes.append(f"Signed by key {named}; give --signer KEYFILE.pub to check it is the key you trust.")
        return
    trusted = public_key(signer)
    if trusted != doc["public"]:
        report.problems.append(f"The bundle is signed by key {named}, not by the key in {signer} "
                               f"({fingerprint(trusted)}).")
        return
    report.signer = named
