"""Ed25519 signatures: keygen, sign, verify --signer; checked against cryptography and OpenSSH's key format."""

from __future__ import annotations

import base64
import json
import os
import stat

import pandas as pd
import pytest
from click.testing import CliRunner

from auditkit.cli import main

pytest.importorskip("cryptography")


def _run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


@pytest.fixture
def signed(tmp_path):
    rows = [("a", int(i < 30)) for i in range(100)] + [("b", int(i < 50)) for i in range(100)]
    pd.DataFrame(rows, columns=["g", "d"]).to_csv(tmp_path / "d.csv", index=False)
    assert _run("audit", tmp_path / "d.csv", "--protected", "g", "--decision", "d", "--out", tmp_path / "b",
                "--quiet").exit_code == 0
    made = _run("keygen", tmp_path / "lab-key")
    assert made.exit_code == 0, made.output
    result = _run("sign", tmp_path / "b", "--key", tmp_path / "lab-key")
    assert result.exit_code == 0, result.output
    return tmp_path


def test_keygen_writes_a_private_key_and_an_openssh_public_key(signed):
    """The private key is PEM, mode 0600; the public key one OpenSSH line that cryptography reads back."""
    from cryptography.hazmat.primitives import serialization

    key = signed / "lab-key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    pub = (signed / "lab-key.pub").read_text()
    assert pub.startswith("ssh-ed25519 ") and pub.count("\n") == 1
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    assert serialization.load_ssh_public_key(pub.encode()).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw) == private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_keygen_never_overwrites_a_key(signed):
    """A second keygen on the same name is refused and the key is unchanged."""
    before = (signed / "lab-key").read_bytes()
    result = _run("keygen", signed / "lab-key")
    assert result.exit_code == 1 and "never overwrites" in result.output
    assert (signed / "lab-key").read_bytes() == before


def test_signed_bundle_verifies_with_its_key_and_the_signature_is_real(signed):
    """verify --signer passes, and the signature checks independently with cryptography over manifest.json."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    result = _run("verify", signed / "b", "--signer", signed / "lab-key.pub")
    assert result.exit_code == 0 and "Signature: valid, by key SHA256:" in result.output, result.output
    doc = json.loads((signed / "b" / "signature.json").read_text())
    Ed25519PublicKey.from_public_bytes(base64.b64decode(doc["public_key"])).verify(
        base64.b64decode(doc["signature"]), (signed / "b" / "manifest.json").read_bytes())


def test_fingerprint_is_the_openssh_one(signed):
    """The fingerprint printed is what `ssh-keygen -lf KEY.pub` prints: sha256 of the key blob, base64."""
    import hashlib

    blob = base64.b64decode((signed / "lab-key.pub").read_text().split()[1])
    expected = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    assert json.loads((signed / "b" / "signature.json").read_text())["key_fingerprint"] == expected


def test_another_key_fails(signed):
    """A bundle signed by one key, checked against another: exit 1, both fingerprints named."""
    _run("keygen", signed / "other-key")
    result = _run("verify", signed / "b", "--signer", signed / "other-key.pub")
    assert result.exit_code == 1 and "not by the key in" in result.output


def test_unsigned_bundle_fails_with_signer(signed):
    """--signer on a bundle without a signature fails: unsigned."""
    os.unlink(signed / "b" / "signature.json")
    result = _run("verify", signed / "b", "--signer", signed / "lab-key.pub")
    assert result.exit_code == 1 and "it is not signed" in result.output


@pytest.mark.parametrize("change", ["manifest", "signature", "public_key", "file"])
def test_altered_signed_bundle_fails(signed, change):
    """A manifest edit, an altered signature, a swapped public key, an edited file: each fails --signer."""
    b = signed / "b"
    if change == "manifest":
        text = (b / "manifest.json").read_text()
        (b / "manifest.json").write_text(text.replace('"command": "auditkit', '"command": "auditkit ', 1))
    elif change == "file":
        (b / "findings.json").write_text("[]\n")
    else:
        doc = json.loads((b / "signature.json").read_text())
        if change == "signature":
            raw = bytearray(base64.b64decode(doc["signature"]))
            raw[0] ^= 1
            doc["signature"] = base64.b64encode(bytes(raw)).decode()
        else:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

            other = Ed25519PrivateKey.generate()
            doc["public_key"] = base64.b64encode(other.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()
            doc["signature"] = base64.b64encode(other.sign((b / "manifest.json").read_bytes())).decode()
        (b / "signature.json").write_text(json.dumps(doc))
    result = _run("verify", b, "--signer", signed / "lab-key.pub")
    assert result.exit_code == 1 and "FAILED" in result.output


def test_sign_refuses_a_bundle_that_does_not_verify(signed):
    """auditkit signs only an intact bundle."""
    (signed / "b" / "results.json").write_text("{}")
    result = _run("sign", signed / "b", "--key", signed / "lab-key")
    assert result.exit_code == 1 and "signs only an intact bundle" in result.output


def test_adding_a_report_removes_the_stale_signature(signed):
    """`auditkit report` into a signed bundle lists the report, removes the signature and says to sign again."""
    result = _run("report", signed / "b", "--lang", "nl")
    assert result.exit_code == 0 and "Sign again" in result.output
    assert not (signed / "b" / "signature.json").exists()
    assert _run("sign", signed / "b", "--key", signed / "lab-key").exit_code == 0
    assert _run("verify", signed / "b", "--signer", signed / "lab-key.pub").exit_code == 0


def test_a_private_key_given_as_signer_is_a_clear_error(signed):
    """Giving the private key (or garbage) where the public key goes: exit 1, said in words."""
    result = _run("verify", signed / "b", "--signer", signed / "lab-key")
    assert result.exit_code == 1 and "not an Ed25519 public key" in result.output
    result = _run("sign", signed / "b", "--key", signed / "lab-key.pub")
    assert result.exit_code == 1 and "that is the public key" in result.output
