"""Static files: ours and the pinned npm libraries, fingerprinted, compressed, cached for good.

At startup the files are gathered into `DATA_DIR/frontend-assets/<hash>/`, where `<hash>`
is a digest of every file's content: a change anywhere gives a new URL prefix, so browsers
may keep each file forever (`Cache-Control: immutable`), and the ES modules' relative
imports (`./markdown.js`, `../vendor/marked.esm.js`) keep working without a build step or
an import map (which would need an inline script). WhiteNoise serves the folder with the
gzip copies made here.

The libraries come from `node_modules` (`npm ci`, run by `make setup`); none from a CDN.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from whitenoise.compress import Compressor

from frontend.settings import ConfigError

__all__ = ["VENDOR_FILES", "Assets"]

logger = logging.getLogger(__name__)

PREFIX = "/assets/"
_STATIC = Path(__file__).parent / "static"

# Where each served library file comes from in node_modules (versions pinned in package.json).
VENDOR_FILES: dict[str, str] = {
    "vendor/socket.io.esm.min.js": "socket.io-client/dist/socket.io.esm.min.js",
    "vendor/marked.esm.js": "marked/lib/marked.esm.js",
    "vendor/purify.es.js": "dompurify/dist/purify.es.mjs",
    "vendor/highlight.min.js": "@highlightjs/cdn-assets/es/highlight.min.js",
    "vendor/hljs-light.css": "@highlightjs/cdn-assets/styles/github.min.css",
    "vendor/hljs-dark.css": "@highlightjs/cdn-assets/styles/github-dark.min.css",
}


def _sources(node_modules: Path) -> dict[str, Path]:
    """Every served file by its path under the prefix.

    Raises:
        ConfigError: a library is missing from node_modules.
    """
    files = {
        path.relative_to(_STATIC).as_posix(): path
        for path in sorted(_STATIC.rglob("*"))
        if path.is_file()
    }
    for served, source in VENDOR_FILES.items():
        path = node_modules / source
        if not path.is_file():
            raise ConfigError(
                f"{path} is missing: the front end's libraries come from npm. "
                "Run `make setup` (or `npm ci`) in the repository."
            )
        files[served] = path
    return files


class Assets:
    """The gathered static files and their URLs."""

    def __init__(self, root: Path, digest: str) -> None:
        self.root = root
        self.digest = digest

    def url(self, path: str) -> str:
        return f"{PREFIX}{self.digest}/{path}"

    @classmethod
    def collect(cls, data_dir: Path, node_modules: Path) -> Assets:
        """Gather and compress the files (once per content; old versions are removed).

        Raises:
            ConfigError: a library is missing from node_modules.
        """
        sources = _sources(node_modules)
        digest = hashlib.sha256()
        for served, path in sources.items():
            digest.update(served.encode() + b"\0" + path.read_bytes() + b"\0")
        name = digest.hexdigest()[:16]
        root = data_dir / "frontend-assets"
        target = root / name
        if not target.is_dir():
            root.mkdir(parents=True, exist_ok=True)
            draft = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
            compressor = Compressor(use_brotli=False, quiet=True)
            for served, path in sources.items():
                destination = draft / served
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination)
                if compressor.should_compress(destination.name):
                    list(compressor.compress(str(destination)))
            try:
                draft.rename(target)
            except OSError:  # another process gathered the same files first
                shutil.rmtree(draft, ignore_errors=True)
            for old in root.iterdir():
                if old.name != name and not old.name.startswith("."):
                    with contextlib.suppress(OSError):
                        shutil.rmtree(old)
            logger.info("static files gathered into %s", target)
        os.utime(target)
        return cls(root, name)
