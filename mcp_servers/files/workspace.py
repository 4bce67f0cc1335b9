"""One user's workspace folder, with no way out of it.

Every operation walks the path one component at a time with `openat`-style calls
(`dir_fd`) and `O_NOFOLLOW`, starting from a descriptor of the workspace root. So `..`,
absolute paths, symlinks (wherever they point) and sibling folders that merely share a
prefix (`/ws/alice` vs `/ws/alice2`) are refused by construction, and a symlink swapped in
between a check and a use cannot redirect the operation: there is no check-then-use.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fnmatch
import hashlib
import os
import re
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

__all__ = ["Entry", "Match", "Workspace", "WorkspaceError", "workspace_folder_name"]

_MAX_DEPTH = 32
_MAX_LIST = 2_000
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class WorkspaceError(Exception):
    """A refused or failed operation; the message is safe to show the model."""


@dataclass(frozen=True, slots=True)
class Entry:
    path: str
    type: str  # "file" or "directory"
    size: int
    modified: str


@dataclass(frozen=True, slots=True)
class Match:
    path: str
    line: int | None
    text: str


def workspace_folder_name(user_id: str) -> str:
    """A folder name for a user id: the id itself when it is plain, else a digest of it."""
    if _SAFE_ID.match(user_id) and user_id not in (".", ".."):
        return user_id
    return "u-" + hashlib.sha256(user_id.encode()).hexdigest()[:40]


def _parts(path: str) -> list[str]:
    """The components of a workspace-relative path.

    Raises:
        WorkspaceError: absolute, `..`, NUL, or too deep.
    """
    if "\x00" in path:
        raise WorkspaceError("Path contains a NUL character.")
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path):
        raise WorkspaceError(f"{path!r}: absolute paths are not allowed; use a relative path.")
    parts = [part for part in PurePosixPath(path.replace("\\", "/")).parts if part != "."]
    if ".." in parts:
        raise WorkspaceError(f"{path!r}: '..' is not allowed.")
    if len(parts) > _MAX_DEPTH:
        raise WorkspaceError(f"{path!r}: too deep.")
    return parts


def _refuse_os_error(error: OSError, path: str) -> WorkspaceError:
    if error.errno == errno.ELOOP or error.errno == errno.ENOTDIR:
        return WorkspaceError(f"{path!r}: not a plain path inside the workspace (symlink?).")
    if error.errno == errno.ENOENT:
        return WorkspaceError(f"{path!r}: no such file or directory.")
    if error.errno == errno.EEXIST:
        return WorkspaceError(f"{path!r}: already exists.")
    if error.errno == errno.ENOTEMPTY:
        return WorkspaceError(f"{path!r}: directory not empty (use recursive).")
    if error.errno == errno.EISDIR:
        return WorkspaceError(f"{path!r}: is a directory.")
    return WorkspaceError(f"{path!r}: {os.strerror(error.errno or 0)}.")


class Workspace:
    """A user's folder under `root`. Synchronous: call it from a worker thread."""

    def __init__(
        self,
        root: Path,
        user_id: str,
        *,
        max_file_bytes: int,
        quota_bytes: int,
        quota_entries: int = 10_000,
    ):
        self.root = root / workspace_folder_name(user_id)
        self.max_file_bytes = max_file_bytes
        self.quota_bytes = quota_bytes
        self.quota_entries = quota_entries

    # -- walking -------------------------------------------------------------------------

    def _root_fd(self) -> int:
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            return os.open(self.root, _DIR_FLAGS)
        except OSError as error:
            raise WorkspaceError(
                "The workspace folder is not usable (is it a symlink?)."
            ) from error

    @contextlib.contextmanager
    def _parent(self, path: str, *, create: bool = False) -> Iterator[tuple[int, str]]:
        """A descriptor of the folder holding `path`'s last component, and that component."""
        parts = _parts(path)
        if not parts:
            raise WorkspaceError("The workspace root itself cannot be used here.")
        fd = self._root_fd()
        try:
            for part in parts[:-1]:
                try:
                    next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o700, dir_fd=fd)
                    next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = next_fd
            yield fd, parts[-1]
        except OSError as error:
            raise _refuse_os_error(error, path) from error
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _directory(self, path: str) -> Iterator[int]:
        parts = _parts(path)
        fd = self._root_fd()
        try:
            for part in parts:
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = next_fd
            yield fd
        except OSError as error:
            raise _refuse_os_error(error, path) from error
        finally:
            os.close(fd)

    # -- operations ----------------------------------------------------------------------

    def list(self, path: str = ".", *, recursive: bool = False) -> list[Entry]:
        entries: list[Entry] = []
        base = PurePosixPath(*_parts(path)) if _parts(path) else PurePosixPath()
        with self._directory(path) as fd:
            self._collect(fd, base, recursive, entries)
        return entries

    def _collect(self, fd: int, base: PurePosixPath, recursive: bool, out: list[Entry]) -> None:
        with os.scandir(fd) as scan:
            items = sorted(scan, key=lambda item: item.name)
        for item in items:
            if len(out) >= _MAX_LIST:
                return
            info = item.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                continue  # never shown, never followed
            kind = "directory" if stat.S_ISDIR(info.st_mode) else "file"
            rel = base / item.name
            out.append(Entry(str(rel), kind, info.st_size if kind == "file" else 0, _when(info)))
            if recursive and kind == "directory":
                child = os.open(item.name, _DIR_FLAGS, dir_fd=fd)
                try:
                    self._collect(child, rel, recursive, out)
                finally:
                    os.close(child)

    def read(self, path: str, *, max_bytes: int | None = None) -> tuple[bytes, int]:
        """The file's first `max_bytes` (default: the file limit) and its full size."""
        limit = min(max_bytes or self.max_file_bytes, self.max_file_bytes)
        with self._parent(path) as (fd, name):
            try:
                file_fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except OSError as error:
                raise _refuse_os_error(error, path) from error
            with os.fdopen(file_fd, "rb") as file:
                info = os.fstat(file.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise WorkspaceError(f"{path!r}: not a regular file.")
                return file.read(limit), info.st_size

    def write(self, path: str, data: bytes, *, overwrite: bool = True, append: bool = False) -> int:
        if len(data) > self.max_file_bytes:
            raise WorkspaceError(f"The file would exceed {self.max_file_bytes} bytes.")
        used, entries = self.totals()
        existing = self._size(path)
        replaced = existing if existing is not None and not append else 0
        if used - replaced + len(data) > self.quota_bytes:
            raise WorkspaceError(
                f"The workspace quota ({self.quota_bytes} bytes) would be exceeded "
                f"({used} bytes used)."
            )
        if entries >= self.quota_entries and existing is None:
            raise self._entries_exceeded(entries)
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        if append:
            flags |= os.O_APPEND
        elif overwrite:
            flags |= os.O_TRUNC
        else:
            flags |= os.O_EXCL
        with self._parent(path, create=True) as (fd, name):
            try:
                file_fd = os.open(name, flags, 0o600, dir_fd=fd)
            except OSError as error:
                raise _refuse_os_error(error, path) from error
            with os.fdopen(file_fd, "ab" if append else "wb") as file:
                if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                    raise WorkspaceError(f"{path!r}: not a regular file.")
                file.write(data)
                file.flush()
                return os.fstat(file.fileno()).st_size

    def make_directory(self, path: str) -> None:
        _, entries = self.totals()
        if entries >= self.quota_entries and self._size(path) is None:
            raise self._entries_exceeded(entries)
        with self._parent(path, create=True) as (fd, name):
            try:
                os.mkdir(name, 0o700, dir_fd=fd)
            except FileExistsError:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISDIR(info.st_mode):
                    raise WorkspaceError(f"{path!r}: exists and is not a directory.") from None

    def move(self, source: str, destination: str, *, overwrite: bool = False) -> None:
        with self._parent(source) as (src_fd, src_name):
            try:
                os.stat(src_name, dir_fd=src_fd, follow_symlinks=False)
            except OSError as error:
                raise _refuse_os_error(error, source) from error
            with self._parent(destination, create=True) as (dst_fd, dst_name):
                exists = True
                try:
                    os.stat(dst_name, dir_fd=dst_fd, follow_symlinks=False)
                except FileNotFoundError:
                    exists = False
                if exists and not overwrite:
                    raise WorkspaceError(f"{destination!r}: already exists (use overwrite).")
                try:
                    os.rename(src_name, dst_name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
                except OSError as error:
                    raise _refuse_os_error(error, destination) from error

    def delete(self, path: str, *, recursive: bool = False) -> None:
        with self._parent(path) as (fd, name):
            try:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    if recursive:
                        shutil.rmtree(name, dir_fd=fd)
                    else:
                        os.rmdir(name, dir_fd=fd)
                else:
                    os.unlink(name, dir_fd=fd)
            except OSError as error:
                raise _refuse_os_error(error, path) from error

    def search(
        self, query: str, *, path: str = ".", glob: str | None = None, limit: int = 50
    ) -> list[Match]:
        """Files whose name or text contains `query` (case-insensitive), with matching lines."""
        needle = query.lower()
        matches: list[Match] = []
        for entry in self.list(path, recursive=True):
            if len(matches) >= limit:
                break
            name = entry.path.rsplit("/", 1)[-1]
            if glob and not fnmatch.fnmatch(name, glob):
                continue
            if needle in name.lower():
                matches.append(Match(entry.path, None, f"name matches ({entry.type})"))
            if entry.type != "file" or entry.size > self.max_file_bytes:
                continue
            data, _ = self.read(entry.path)
            if b"\x00" in data[:4096]:
                continue  # binary
            text = data.decode("utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), start=1):
                if needle in line.lower():
                    matches.append(Match(entry.path, number, line.strip()[:300]))
                    if len(matches) >= limit:
                        break
        return matches

    def usage(self) -> int:
        """The bytes held by every file of the workspace."""
        return self.totals()[0]

    def totals(self) -> tuple[int, int]:
        """Bytes and entries (files and folders) of the whole workspace.

        Every entry is counted: unlike `list`, which stops at a page of entries, the quota
        cannot be dodged by holding more files than a listing shows.
        """
        size = entries = 0
        with contextlib.suppress(WorkspaceError):
            fd = self._root_fd()
            try:
                size, entries = _count(fd)
            finally:
                os.close(fd)
        return size, entries

    def _size(self, path: str) -> int | None:
        """The size of what is at `path` (0 for a folder), None when nothing is."""
        try:
            with self._parent(path) as (fd, name):
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except (WorkspaceError, OSError):
            return None
        return info.st_size if stat.S_ISREG(info.st_mode) else 0

    def _entries_exceeded(self, entries: int) -> WorkspaceError:
        return WorkspaceError(
            f"The workspace quota ({self.quota_entries} files and folders) would be exceeded "
            f"({entries} used); delete some first."
        )


def _count(fd: int, depth: int = 0) -> tuple[int, int]:
    """Bytes and entries under the open folder `fd`, symlinks counted but never followed."""
    size = entries = 0
    with os.scandir(fd) as scan:
        items = list(scan)
    for item in items:
        entries += 1
        info = item.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode) and depth < _MAX_DEPTH * 2:
            try:
                child = os.open(item.name, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                continue
            try:
                child_size, child_entries = _count(child, depth + 1)
            finally:
                os.close(child)
            size += child_size
            entries += child_entries
        elif stat.S_ISREG(info.st_mode):
            size += info.st_size
    return size, entries


def _when(info: os.stat_result) -> str:
    return datetime.fromtimestamp(info.st_mtime, UTC).isoformat(timespec="seconds")


def as_text_or_base64(data: bytes) -> tuple[str, bool]:
    """The data as UTF-8 text, or as base64 when it is binary; and whether it was binary."""
    if b"\x00" not in data:
        try:
            return data.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(data).decode("ascii"), True
