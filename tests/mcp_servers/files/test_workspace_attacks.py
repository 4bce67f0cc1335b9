"""Attack tests: nothing a tool is given can reach outside the caller's workspace."""

import os
from pathlib import Path

import pytest

from mcp_servers.files import Workspace, WorkspaceError

ESCAPES = [
    "../outside.txt",
    "../../etc/passwd",
    "a/../../outside.txt",
    "./../outside.txt",
    "a/b/../../../outside.txt",
    "/etc/passwd",
    "//etc/passwd",
    "\\etc\\passwd",
    "..\\outside.txt",
    "C:\\Windows\\win.ini",
    "c:/windows/win.ini",
    "ok\x00/../../x",
    "..",
    "../alice2/secret.txt",
    "../alice/secret.txt",
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "workspaces"
    root.mkdir()
    (tmp_path / "outside.txt").write_text("outside")
    return root


def workspace(root: Path, user: str) -> Workspace:
    return Workspace(root, user, max_file_bytes=1_000_000, quota_bytes=10_000_000)


@pytest.mark.parametrize("path", ESCAPES)
@pytest.mark.parametrize("operation", ["read", "write", "delete", "list", "move-from", "move-to"])
def test_paths_out_of_the_workspace_are_refused(root: Path, path: str, operation: str) -> None:
    alice = workspace(root, "alice")
    alice.write("inside.txt", b"mine")
    workspace(root, "alice2").write("secret.txt", b"sibling's")
    with pytest.raises(WorkspaceError):
        if operation == "read":
            alice.read(path)
        elif operation == "write":
            alice.write(path, b"pwned")
        elif operation == "delete":
            alice.delete(path, recursive=True)
        elif operation == "list":
            alice.list(path)
        elif operation == "move-from":
            alice.move(path, "stolen.txt")
        else:
            alice.move("inside.txt", path)
    assert (root.parent / "outside.txt").read_text() == "outside"
    assert (root / "alice2" / "secret.txt").read_bytes() == b"sibling's"


@pytest.mark.parametrize(
    "link_target", ["/etc", "../../..", "../alice2", "/etc/passwd", "inside.txt"]
)
def test_symlinks_are_never_followed(root: Path, link_target: str) -> None:
    alice = workspace(root, "alice")
    alice.write("inside.txt", b"mine")
    workspace(root, "alice2").write("secret.txt", b"sibling's")
    os.symlink(link_target, root / "alice" / "link")
    for attempt in (
        lambda: alice.read("link"),
        lambda: alice.read("link/passwd"),
        lambda: alice.read("link/secret.txt"),
        lambda: alice.list("link"),
        lambda: alice.write("link/new.txt", b"x"),
        lambda: alice.write("link", b"x"),
    ):
        with pytest.raises(WorkspaceError):
            attempt()
    assert "link" not in [entry.path for entry in alice.list(".")]


def test_a_symlinked_workspace_root_is_refused(root: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", root / "mallory")
    with pytest.raises(WorkspaceError):
        workspace(root, "mallory").list(".")


def test_a_sibling_folder_sharing_a_prefix_is_out_of_reach(root: Path) -> None:
    workspace(root, "alice2").write("secret.txt", b"sibling's")
    alice = workspace(root, "alice")
    assert alice.search("sibling") == []
    assert alice.list(".", recursive=True) == []


def test_user_ids_that_look_like_paths_get_their_own_folder(root: Path) -> None:
    for user in ("../alice", "/etc", "alice/../bob", "."):
        folder = workspace(root, user).root
        assert folder.parent == root
        assert folder.name.startswith("u-")


def test_files_over_the_size_limit_or_quota_are_refused(root: Path) -> None:
    small = Workspace(root, "carol", max_file_bytes=10, quota_bytes=15)
    small.write("a.txt", b"0123456789")
    with pytest.raises(WorkspaceError, match="exceed"):
        small.write("b.txt", b"01234567890")
    with pytest.raises(WorkspaceError, match="quota"):
        small.write("c.txt", b"0123456789")


def test_the_quota_counts_every_entry_of_a_workspace_with_thousands_of_files(root: Path) -> None:
    # 2,500 files of 100 bytes, in two folders: more than one listing page holds.
    many = Workspace(root, "dave", max_file_bytes=1_000, quota_bytes=250_050, quota_entries=2_502)
    for number in range(2_500):
        folder = many.root / ("a" if number % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{number:05}.txt").write_bytes(b"x" * 100)
    assert many.totals() == (250_000, 2_502)
    with pytest.raises(WorkspaceError, match="bytes"):
        many.write("one-more.txt", b"x" * 100)  # 250,100 bytes would be over 250,050
    many.write("a/00001.txt", b"y" * 100)  # replacing a file adds no entry
    with pytest.raises(WorkspaceError, match="files and folders"):
        many.write("tiny.txt", b"x")
    with pytest.raises(WorkspaceError, match="files and folders"):
        many.make_directory("c")
    many.delete("a/00003.txt")
    many.write("tiny.txt", b"x")
