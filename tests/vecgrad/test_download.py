"""The downloader, end to end against a local HTTP server on 127.0.0.1.

One server plays several mirrors, chosen by the first part of the URL path:

    /good/NAME      the file
    /corrupt/NAME   the file with one byte changed (same length)
    /drop/NAME      Content-Length of the whole file, then half of it, then the socket closes
    /missing/NAME   404
    /stall/NAME     never answers (until the test ends)
    /stallbody/NAME the headers and half the body, then nothing
    /endless/NAME   no Content-Length: the file, then 20 MB more, then the socket closes
    /wronglength/NAME  a Content-Length one byte short, then the file

plus "refused": a port nobody listens on. The files are copies of the real MNIST files
in ../shared/data/mnist-5k, and the expected SHA-256 come from its SHA256SUMS.
"""

import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vecgrad.apps.download import (
    DownloadError,
    cache_dir,
    download,
    download_file,
    remove_stale_parts,
    sha256_of,
)
from vecgrad.apps.idx import read_idx

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist-5k"
pytestmark = pytest.mark.skipif(
    not (SHARED / "SHA256SUMS").is_file(),
    reason=f"real MNIST copy not found at {SHARED} (../shared/data)",
)
TIMEOUT = 5.0  # seconds; every test finishes well within a few of these


def shared_sums() -> dict[str, str]:
    """File name → SHA-256, from the shared SHA256SUMS file."""
    sums = {}
    for line in (SHARED / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            sha, name = line.split()
            sums[name] = sha
    return sums


class MirrorHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        _, mode, name = self.path.split("/", 2)
        self.server.log.append(self.path)
        path = self.server.root / name
        if mode == "missing" or not path.is_file():
            self.send_error(404)
            return
        if mode == "stall":
            self.server.release.wait(30)
            return
        body = path.read_bytes()
        if mode == "endless":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)
            try:
                for _ in range(20):
                    self.wfile.write(bytes(1 << 20))
            except OSError:  # the client hung up: what a capped download does
                pass
            return
        if mode == "corrupt":
            body = body[:100] + bytes([body[100] ^ 0xFF]) + body[101:]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body) - (mode == "wronglength")))
        self.end_headers()
        if mode in ("drop", "stallbody"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if mode == "stallbody":
                self.server.release.wait(30)
            return  # HTTP/1.0: returning closes the connection, short of Content-Length
        self.wfile.write(body)

    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirror")
    for name in shared_sums():
        shutil.copy(SHARED / name, root / name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), MirrorHandler)
    httpd.root, httpd.log, httpd.release = root, [], threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def mirror(server):
    """mirror("good") → the base URL of that kind of mirror; the request log starts empty."""
    server.log.clear()
    port = server.server_address[1]
    return lambda mode: f"http://127.0.0.1:{port}/{mode}/"


@pytest.fixture
def refused():
    """The base URL of a port that refuses connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # closed again: nobody listens there


SUMS = shared_sums() if (SHARED / "SHA256SUMS").is_file() else {}
NAME = "t10k-labels-idx1-ubyte.gz"  # small: most single-file tests use it


def assert_only(directory: Path, names):
    """Nothing but ``names`` in ``directory``: no .part file, no partial file."""
    assert sorted(p.name for p in directory.iterdir()) == sorted(names)


# --- good files --------------------------------------------------------------------------


def test_good_mirror_gives_all_four_verified_files(mirror, tmp_path):
    dest = tmp_path / "mnist"
    paths = download(SUMS, [mirror("good")], dest, timeout=TIMEOUT, progress=False)
    assert set(paths) == set(SUMS)
    for name, path in paths.items():
        assert path == dest / name
        assert path.read_bytes() == (SHARED / name).read_bytes()
        assert sha256_of(path) == SUMS[name]
    assert_only(dest, SUMS)
    assert read_idx(paths["t10k-images-idx3-ubyte.gz"]).shape == (10000, 28, 28)


def test_files_already_there_are_not_fetched_again(mirror, server, tmp_path):
    download(SUMS, [mirror("good")], tmp_path, timeout=TIMEOUT, progress=False)
    assert len(server.log) == 4
    download(SUMS, [mirror("good")], tmp_path, timeout=TIMEOUT, progress=False)
    assert len(server.log) == 4


def test_a_stale_file_with_the_wrong_hash_is_replaced(mirror, tmp_path):
    (tmp_path / NAME).write_bytes(b"an old, broken copy")
    download({NAME: SUMS[NAME]}, [mirror("good")], tmp_path, timeout=TIMEOUT, progress=False)
    assert (tmp_path / NAME).read_bytes() == (SHARED / NAME).read_bytes()
    assert_only(tmp_path, [NAME])


# --- a corrupted file ---------------------------------------------------------------------


def test_corrupted_file_is_rejected_and_the_next_mirror_used(mirror, server, tmp_path):
    path = download_file(
        NAME,
        SUMS[NAME],
        [mirror("corrupt"), mirror("good")],
        tmp_path,
        timeout=TIMEOUT,
        progress=False,
    )
    assert server.log == [f"/corrupt/{NAME}", f"/good/{NAME}"]
    assert path.read_bytes() == (SHARED / NAME).read_bytes()
    assert_only(tmp_path, [NAME])


def test_corrupted_everywhere_leaves_nothing_behind(mirror, tmp_path):
    with pytest.raises(DownloadError, match="SHA-256 mismatch") as info:
        download_file(
            NAME, SUMS[NAME], [mirror("corrupt")], tmp_path, timeout=TIMEOUT, progress=False
        )
    assert f"{mirror('corrupt')}{NAME}" in str(info.value)
    assert SUMS[NAME] in str(info.value)
    assert_only(tmp_path, [])


# --- a dropped connection -----------------------------------------------------------------


def test_dropped_connection_falls_back_to_the_next_mirror(mirror, tmp_path):
    name = "t10k-images-idx3-ubyte.gz"  # 1.6 MB: the drop happens mid-body
    path = download_file(
        name,
        SUMS[name],
        [mirror("drop"), mirror("good")],
        tmp_path,
        timeout=TIMEOUT,
        progress=False,
    )
    assert sha256_of(path) == SUMS[name]
    assert_only(tmp_path, [name])


def test_dropped_connection_everywhere_leaves_nothing_behind(mirror, tmp_path):
    name = "t10k-images-idx3-ubyte.gz"
    size = (SHARED / name).stat().st_size
    with pytest.raises(DownloadError, match=f"received {size // 2} of {size} bytes"):
        download_file(name, SUMS[name], [mirror("drop")], tmp_path, timeout=TIMEOUT, progress=False)
    assert_only(tmp_path, [])


# --- a missing mirror ---------------------------------------------------------------------


def test_404_mirror_falls_back_to_the_next(mirror, server, tmp_path):
    download_file(
        NAME,
        SUMS[NAME],
        [mirror("missing"), mirror("good")],
        tmp_path,
        timeout=TIMEOUT,
        progress=False,
    )
    assert server.log == [f"/missing/{NAME}", f"/good/{NAME}"]
    assert_only(tmp_path, [NAME])


def test_refused_connection_falls_back_to_the_next(mirror, refused, tmp_path):
    path = download_file(
        NAME, SUMS[NAME], [refused, mirror("good")], tmp_path, timeout=TIMEOUT, progress=False
    )
    assert sha256_of(path) == SUMS[NAME]


@pytest.mark.parametrize("mode", ["stall", "stallbody"])
def test_a_silent_mirror_times_out_and_the_next_is_used(mirror, tmp_path, mode):
    start = time.monotonic()
    path = download_file(
        NAME, SUMS[NAME], [mirror(mode), mirror("good")], tmp_path, timeout=0.5, progress=False
    )
    assert time.monotonic() - start < 4 * TIMEOUT
    assert sha256_of(path) == SUMS[NAME]
    assert_only(tmp_path, [NAME])


def test_every_failure_is_listed(mirror, refused, tmp_path):
    mirrors = [refused, mirror("missing"), mirror("corrupt"), mirror("drop"), mirror("stall")]
    with pytest.raises(DownloadError) as info:
        download_file(NAME, SUMS[NAME], mirrors, tmp_path, timeout=0.5, progress=False)
    message = str(info.value)
    for expected in (
        "unreachable",
        "HTTP 404",
        "SHA-256 mismatch",
        "connection dropped",
        "timed out",
    ):
        assert expected in message
    assert_only(tmp_path, [])


# --- no network at all --------------------------------------------------------------------


def test_no_network_says_where_to_put_the_four_files(refused, tmp_path):
    dest = tmp_path / "cache" / "mnist"
    with pytest.raises(DownloadError) as info:
        download(SUMS, [refused, refused], dest, timeout=TIMEOUT, progress=False)
    message = str(info.value)
    assert "Without internet access" in message
    assert f"put them in {dest}" in message
    for name, sha in SUMS.items():
        assert name in message and sha in message
    assert_only(dest, [])


def test_an_empty_mirror_list_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="mirror list is empty"):
        download(SUMS, [], tmp_path)


# --- an interrupted download ---------------------------------------------------------------


class InterruptedResponse:
    """A response whose second read is interrupted by the user (Ctrl-C)."""

    headers = {"Content-Length": "1000"}

    def __init__(self):
        self.reads = 0

    def read(self, n):
        self.reads += 1
        if self.reads > 1:
            raise KeyboardInterrupt
        return b"x" * 10

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_ctrl_c_mid_download_propagates_and_leaves_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: InterruptedResponse())
    with pytest.raises(KeyboardInterrupt):
        download_file(NAME, SUMS[NAME], ["http://127.0.0.1:9/"], tmp_path, progress=False)
    assert_only(tmp_path, [])


# --- progress bar ----------------------------------------------------------------------------


def test_progress_bar_on_stderr_and_disable_able(mirror, tmp_path, capsys):
    download_file(NAME, SUMS[NAME], [mirror("good")], tmp_path / "a", timeout=TIMEOUT)
    out, err = capsys.readouterr()
    assert out == "" and NAME in err and "4.44k" in err  # 4542 B in KiB, as tqdm writes it
    download_file(
        NAME, SUMS[NAME], [mirror("good")], tmp_path / "b", timeout=TIMEOUT, progress=False
    )
    assert capsys.readouterr() == ("", "")


# --- the cache directory --------------------------------------------------------------------


def test_cache_dir_order(monkeypatch, tmp_path):
    monkeypatch.setenv("VECGRAD_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir("mnist") == tmp_path / "data" / "mnist"
    monkeypatch.delenv("VECGRAD_DATA")
    assert cache_dir("mnist") == tmp_path / "xdg" / "vecgrad" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir("mnist") == tmp_path / "home" / ".cache" / "vecgrad" / "mnist"
    assert cache_dir() == tmp_path / "home" / ".cache" / "vecgrad"


# --- a known size caps the download (issue #13) ----------------------------------------------


def test_a_mirror_streaming_without_length_is_cut_off_at_the_known_size(mirror, tmp_path):
    size = (SHARED / NAME).stat().st_size
    with pytest.raises(DownloadError) as info:
        download_file(
            NAME, SUMS[NAME], [mirror("endless")], tmp_path, size=size, timeout=TIMEOUT,
            progress=False,
        )  # fmt: skip
    assert f"sent more than the {size} bytes of {NAME}; stopped after {size + 1}" in str(info.value)
    assert_only(tmp_path, [])


def test_the_capped_download_falls_back_to_the_next_mirror(mirror, tmp_path):
    size = (SHARED / NAME).stat().st_size
    mirrors = [mirror("endless"), mirror("good")]
    download_file(NAME, SUMS[NAME], mirrors, tmp_path, size=size, timeout=TIMEOUT, progress=False)
    assert (tmp_path / NAME).read_bytes() == (SHARED / NAME).read_bytes()
    assert_only(tmp_path, [NAME])


def test_a_wrong_content_length_is_refused_before_the_body(mirror, tmp_path):
    size = (SHARED / NAME).stat().st_size
    with pytest.raises(DownloadError, match=f"announces {size - 1} bytes .*has {size}"):
        download_file(
            NAME, SUMS[NAME], [mirror("wronglength")], tmp_path, size=size, timeout=TIMEOUT,
            progress=False,
        )  # fmt: skip
    assert_only(tmp_path, [])


def test_download_passes_the_sizes_on(mirror, tmp_path):
    sizes = {name: (SHARED / name).stat().st_size for name in SUMS}
    with pytest.raises(DownloadError, match="sent more than"):
        download(SUMS, [mirror("endless")], tmp_path, sizes=sizes, timeout=TIMEOUT, progress=False)


# --- a client killed mid-transfer: its .part file is removed by the next run ------------------


def start_stalled_download(url: str, dest: Path) -> subprocess.Popen:
    """A separate process downloading NAME from a mirror that stalls half-way."""
    code = (
        "import sys; from vecgrad.apps.download import download_file; "
        "download_file(sys.argv[1], sys.argv[2], [sys.argv[3]], sys.argv[4], timeout=60, "
        "progress=False)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, NAME, SUMS[NAME], url, str(dest)],
        cwd=Path(__file__).resolve().parents[2],
    )
    deadline = time.monotonic() + 30
    while not list(dest.glob(f".{NAME}.*.part")):
        assert process.poll() is None, "the download process ended early"
        assert time.monotonic() < deadline, "no .part file appeared"
        time.sleep(0.05)
    return process


def test_a_killed_download_leaves_a_part_file_the_next_run_removes(mirror, tmp_path):
    process = start_stalled_download(mirror("stallbody"), tmp_path)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    [stale] = list(tmp_path.glob(f".{NAME}.*.part"))  # the killed process could not clean up
    download_file(NAME, SUMS[NAME], [mirror("good")], tmp_path, timeout=TIMEOUT, progress=False)
    assert not stale.exists()
    assert_only(tmp_path, [NAME])


def test_the_next_run_removes_stale_parts_even_when_the_file_is_complete(mirror, tmp_path):
    download(SUMS, [mirror("good")], tmp_path, timeout=TIMEOUT, progress=False)
    process = start_stalled_download(mirror("stallbody"), tmp_path)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    download(SUMS, [mirror("good")], tmp_path, timeout=TIMEOUT, progress=False)
    assert_only(tmp_path, SUMS)


def test_a_live_download_keeps_its_part_file(mirror, tmp_path):
    process = start_stalled_download(mirror("stallbody"), tmp_path)
    try:
        [live] = list(tmp_path.glob(f".{NAME}.*.part"))
        assert remove_stale_parts(tmp_path, NAME) == []
        download_file(NAME, SUMS[NAME], [mirror("good")], tmp_path, timeout=TIMEOUT, progress=False)
        assert live.exists()  # another process is still writing it
    finally:
        process.kill()
        process.wait(10)
    assert remove_stale_parts(tmp_path, NAME) == [live]
    assert_only(tmp_path, [NAME])
