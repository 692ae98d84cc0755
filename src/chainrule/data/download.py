"""Downloading a file from a list of mirrors, verified by its SHA-256, written atomically."""

import hashlib
import logging
from pathlib import Path

from chainrule.atomic import atomic_write
from chainrule.errors import ChainruleError

logger = logging.getLogger("chainrule.data")
_CHUNK = 1 << 20


class DownloadError(ChainruleError, OSError):
    """No mirror gave the file with the expected SHA-256; the message lists every attempt."""


class HashMismatch(ChainruleError, ValueError):
    """A downloaded file's SHA-256 is not the one expected (raised inside one attempt)."""


def open_url(url, timeout):
    """Open ``url`` for reading (a seam: tests replace it to serve bytes without a network)."""
    import urllib.request  # imported here: most runs never download, and it is slow to import

    request = urllib.request.Request(url, headers={"User-Agent": "chainrule"})
    return urllib.request.urlopen(request, timeout=timeout)


def fetch(name, mirrors, sha256, directory, timeout=30.0):
    """Download ``name`` into ``directory`` from the first mirror that serves it with the right hash.

    Each mirror is a URL prefix (``name`` is appended). The bytes stream into a temporary file in
    ``directory`` while being hashed; only a file whose SHA-256 equals ``sha256`` is renamed into
    place, so a failed or corrupted download leaves nothing behind. Returns the file's path; raises
    :class:`DownloadError` listing every mirror's failure.
    """
    from http.client import HTTPException  # a cut connection; not an OSError

    destination = Path(directory) / name
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            atomic_write(destination, lambda handle, url=url: _download_into(handle, url, sha256, timeout))
        except (OSError, HTTPException, HashMismatch) as error:  # urllib's errors are OSErrors
            logger.warning("download of %s failed: %s", url, error)
            failures.append(f"{url}: {error}")
            continue
        logger.info("downloaded %s (SHA-256 verified) to %s", url, destination)
        return destination
    tried = "; ".join(failures) if failures else "no mirrors were given"
    raise DownloadError(f"could not download {name!r} with SHA-256 {sha256}: {tried}. Check the network, "
                        f"or put the file in {Path(directory)} yourself")


def _download_into(handle, url, expected_sha256, timeout):
    digest = hashlib.sha256()
    with open_url(url, timeout) as response:
        while True:
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            digest.update(chunk)
            handle.write(chunk)
    got = digest.hexdigest()
    if got != expected_sha256.lower():
        raise HashMismatch(f"expected SHA-256 {expected_sha256}, got {got} (corrupted or different file)")
