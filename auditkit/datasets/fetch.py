"""Download a public data set on explicit request, check its SHA-256 and cache it.

Nothing here runs unless a user asks for it (``auditkit datasets fetch NAME``):
the audit path never touches the network.  The file comes from its publisher's
own address (see :data:`~auditkit.datasets.registry.REMOTE`), is written to a
temporary file and moved into the cache only when complete.  A file is marked
*verified* only when its SHA-256 equals a known value: one pinned in the
registry, or one the user supplies after checking it against the source.  Where
neither exists, the computed hash is reported and the file stays unverified.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..exceptions import AuditkitError, UsageError
from .registry import REMOTE, RemoteDataset

__all__ = ["DatasetError", "FetchResult", "cache_dir", "cached_path", "fetch"]

Opener = Callable[[str, float], IO[bytes]]


class DatasetError(AuditkitError, OSError):
    """A data set could not be downloaded, or its hash does not match."""


@dataclass(frozen=True)
class FetchResult:
    """Where a fetched file is, its hash, and whether that hash was checked against a known value."""

    name: str
    path: Path
    sha256: str
    verified: bool
    expected_sha256: str | None
    downloaded: bool

    def describe(self) -> str:
        """What happened, in words, including what to do when the file is not verified."""
        where = "Downloaded" if self.downloaded else "Found in the cache"
        lines = [f"{where}: {self.path}", f"sha256 {self.sha256}"]
        if self.verified:
            lines.append("Verified: the hash equals the known value.")
        else:
            lines.append("NOT VERIFIED: auditkit knows no checked hash for this file. Compare the value above with "
                         "one published by the source (or a colleague's verified copy); then run the fetch again "
                         "with --sha256 VALUE to record the check. Until then, do not cite it as the source data.")
        return "\n".join(lines)


def cache_dir() -> Path:
    """The cache folder: ``AUDITKIT_CACHE`` if set, else ``~/.cache/auditkit``."""
    env = os.environ.get("AUDITKIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "auditkit"


def cached_path(name: str) -> Path:
    """Where data set ``name`` is (or will be) cached."""
    entry = _entry(name)
    return cache_dir() / "datasets" / entry.name / entry.filename


def _entry(name: str) -> RemoteDataset:
    if name not in REMOTE:
        from .._text import did_you_mean

        raise UsageError(f"Unknown data set {name!r}.{did_you_mean(name, REMOTE)} Data sets that can be fetched: "
                         f"{', '.join(sorted(REMOTE))}.")
    return REMOTE[name]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _https_opener(url: str, timeout: float) -> IO[bytes]:
    import urllib.request

    from .._version import __version__

    if not url.startswith("https://"):
        raise DatasetError(f"Refusing to download from {url!r}: only https addresses are fetched.")
    request = urllib.request.Request(url, headers={"User-Agent": f"auditkit/{__version__}"})
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - https only, checked above


#: The function that opens a URL; tests replace it so that nothing is downloaded.
default_opener: Opener = _https_opener


def _manual(entry: RemoteDataset, target: Path, why: str) -> DatasetError:
    return DatasetError(
        f"Could not download {entry.name!r} from {entry.url} ({why}). Without network access, download the file "
        f"by hand from {entry.url} (it is listed on {entry.page}) and save it as {target}; then run "
        f"'auditkit datasets fetch {entry.name}' again to check its hash.")


def _expected(entry: RemoteDataset, given: str | None) -> str | None:
    given = given.strip().lower() if given else None
    if given is not None and (len(given) != 64 or any(c not in "0123456789abcdef" for c in given)):
        raise UsageError(f"--sha256 must be 64 hexadecimal characters; got {given!r}.")
    if entry.sha256 and given and given != entry.sha256:
        raise UsageError(f"--sha256 {given} differs from the hash pinned for {entry.name!r} ({entry.sha256}); "
                         "the pinned value is the one checked against the source.")
    return entry.sha256 or given


def fetch(name: str, *, sha256: str | None = None, force: bool = False, timeout: float = 60.0,
          opener: Opener | None = None) -> FetchResult:
    """Download data set ``name`` into the cache (unless it is there), and check its hash.

    ``sha256`` is a value the user checked against the source, for entries without a pinned hash.
    A cached or downloaded file whose hash differs from the known value is an error (a download that
    does not match is not kept).  Without network access the error says where to download the file
    by hand and where to put it.
    """
    entry = _entry(name)
    expected = _expected(entry, sha256)
    target = cached_path(name)
    downloaded = False
    if force or not target.is_file():
        _download(entry, target, opener or default_opener, timeout, expected)
        downloaded = True
    digest = _sha256(target)
    if expected and digest != expected:
        raise DatasetError(f"{target} has sha256 {digest}, but {entry.name!r} should have {expected}. The file is "
                           "not the published one (changed, truncated or replaced): delete it and fetch again "
                           "(--force), or find out why it differs before using it.")
    return FetchResult(entry.name, target, digest, expected is not None, expected, downloaded)


def _download(entry: RemoteDataset, target: Path, opener: Opener, timeout: float, expected: str | None) -> None:
    from .._output import open_output

    with open_output(target, "wb") as out:  # kept only when complete and its hash matches
        digest = hashlib.sha256()
        try:
            with opener(entry.url, timeout) as response:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
                    digest.update(block)
        except DatasetError:
            raise
        except (OSError, ValueError) as err:  # URLError, timeouts and refused connections are OSErrors
            raise _manual(entry, target, f"{type(err).__name__}: {err}") from err
        if expected and digest.hexdigest() != expected:
            raise DatasetError(f"The download of {entry.name!r} has sha256 {digest.hexdigest()}, not the expected "
                               f"{expected}; it was not kept. The source may have changed the file: check its page "
                               f"({entry.page}).")
