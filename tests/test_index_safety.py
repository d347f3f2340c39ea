"""An index that cannot be damaged under a running server: versions published whole and never written again,
every byte checked at load, the last good version served when the current one is damaged, and builds that
clean up after themselves (killed, or out of disk)."""
import contextlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from indexer import versions
from indexer.build import build_index, index_is_stale
from indexer.store import FORMAT_VERSION, DiskFull, IndexLoadError, load_index, verify_version
from qa_server.settings import Settings
from qa_server.state import LiveState
from tests.conftest import CORPUS, ROOT, SHARED, start_server, wait_for
from tests.index_helpers import current, republish


@pytest.fixture
def built(tmp_path):
    out = tmp_path / "index"
    build_index(CORPUS, out)
    return out


def _same_size_garbage(path: Path, start: int = 0, length: int = 64) -> None:
    """Overwrite bytes in place, the size kept: what a bad disk or a careless edit does."""
    with open(path, "r+b") as f:
        f.seek(start)
        f.write(random.Random(7).randbytes(length))


# --- versions and the pointer ---------------------------------------------------------------------------------


def test_each_build_is_a_new_version_and_one_previous_good_one_is_kept(built):
    first = current(built).name
    build_index(CORPUS, built)
    second = current(built).name
    build_index(CORPUS, built)
    third = current(built).name
    assert len({first, second, third}) == 3 and third > second > first
    assert (built / "CURRENT").read_text().strip() == third
    assert [v.name for v in versions.versions(built)] == [third, second], "the one before is kept, older removed"
    assert load_index(built).version == third


def test_the_previous_version_kept_is_a_good_one(built):
    good = current(built).name
    build_index(CORPUS, built)
    _same_size_garbage(current(built) / "clauses.jsonl", 100)  # the served version goes bad
    build_index(CORPUS, built)
    assert [v.name for v in versions.versions(built)][1] == good, "a damaged version is not what is kept"


def test_a_published_version_is_never_written_again(built):
    before = {p.name: p.read_bytes() for p in current(built).iterdir()}
    old = current(built)
    build_index(CORPUS, built)
    assert current(built) != old
    assert {p.name: p.read_bytes() for p in old.iterdir()} == before


@pytest.mark.parametrize("damage", ["clauses_random_bytes", "notices_blank_list", "weights_one_byte",
                                    "weights_truncated", "vocabulary_missing", "manifest_one_byte"])
def test_damage_of_any_size_is_refused_with_a_reason(built, damage):
    version = current(built)
    if damage == "clauses_random_bytes":
        _same_size_garbage(version / "clauses.jsonl", 500, 200)
    elif damage == "notices_blank_list":  # `[   ]`: valid JSON, the size kept
        path = version / "notices.json"
        path.write_bytes(b"[" + b" " * (path.stat().st_size - 2) + b"]")
    elif damage == "weights_one_byte":
        data = bytearray((version / "weights.npy").read_bytes())
        data[-9] ^= 0x01
        (version / "weights.npy").write_bytes(bytes(data))
    elif damage == "weights_truncated":
        os.truncate(version / "weights.npy", 100)
    elif damage == "vocabulary_missing":
        (version / "vocabulary.json").unlink()
    else:
        data = bytearray((version / "manifest.json").read_bytes())
        data[data.index(b'"k1": 1.5') + 6] = ord("7")
        (version / "manifest.json").write_bytes(bytes(data))
    with pytest.raises(IndexLoadError, match="索引已损坏"):
        load_index(built)
    with pytest.raises(IndexLoadError):
        verify_version(version)
    assert index_is_stale(built, CORPUS), "policyqa serve rebuilds its own damaged index"


@pytest.mark.parametrize("edit", [
    lambda m: [],
    lambda m: {**m, "counts": "9"},
    lambda m: {**m, "counts": {**m["counts"], "clauses": "90"}},
    lambda m: {**m, "counts": {**m["counts"], "clauses": True}},
    lambda m: {**m, "files": list(m["files"])},
    lambda m: {**m, "files": {**m["files"], "weights.npy": {"size": "55880", "sha256": "0" * 64}}},
    lambda m: {**m, "files": {k: v for k, v in m["files"].items() if k != "idf.npy"}},
    lambda m: {**m, "bm25": "k1=1.5"},
    lambda m: {**m, "bm25": {"k1": None, "b": 0.75, "epsilon": 0.25}},
    lambda m: {**m, "arrays": {**m["arrays"], "idf": {"dtype": "<f8", "shape": ["1545"]}}},
    lambda m: {**m, "corpus": ["corpus"]},
    lambda m: {**m, "dictionary": 5},
    lambda m: {**m, "counts": {**m["counts"], "clauses": m["counts"]["clauses"] + 1}},
    lambda m: {**m, "arrays": {**m["arrays"], "idf": {"dtype": "<f4", "shape": m["arrays"]["idf"]["shape"]}}},
], ids=["list", "counts-string", "count-string", "count-bool", "files-list", "size-string", "file-left-out",
        "bm25-string", "bm25-null", "shape-strings", "corpus-list", "dictionary-number", "count-off-by-one",
        "dtype-other"])
def test_a_manifest_of_the_wrong_type_or_values_is_refused_never_a_type_error(built, edit):
    republish(built, edit)  # named after its own hash: only the edit is wrong with it
    with pytest.raises(IndexLoadError):
        load_index(built)


def test_staleness_follows_the_pointer_and_the_dictionary(built):
    assert not index_is_stale(built, CORPUS)
    republish(built, lambda manifest: {**manifest, "dictionary": "another"})
    assert index_is_stale(built, CORPUS), "cut with another dictionary: serve rebuilds an index it built itself"
    (built / "CURRENT").write_text("garbage\n")
    assert index_is_stale(built, CORPUS)


def test_a_broken_pointer_is_refused(built):
    (built / "CURRENT").write_text("../../etc\n")
    with pytest.raises(IndexLoadError, match="CURRENT"):
        load_index(built)
    (built / "CURRENT").write_text("v-20990101T000000000000Z-0123456789abcdef\n")
    with pytest.raises(IndexLoadError, match="不存在"):
        load_index(built)


def test_an_index_of_the_old_flat_layout_asks_for_a_rebuild_and_a_build_replaces_it(tmp_path):
    flat = tmp_path / "index"
    flat.mkdir()
    (flat / "manifest.json").write_text(json.dumps({"format": "policyqa-index", "version": 3}))
    (flat / "weights.npy").write_bytes(b"old")
    with pytest.raises(IndexLoadError, match=f"格式版本为 3，本程序需要版本 {FORMAT_VERSION}.*policyqa index"):
        load_index(flat)
    build_index(CORPUS, flat)
    assert load_index(flat).manifest["counts"]["notices"] == 9
    assert not (flat / "manifest.json").exists() and not (flat / "weights.npy").exists()


def test_large_files_are_mapped_from_private_copies_that_no_damage_reaches(built, resources):
    from engine import BM25Engine

    index = load_index(built, private_copy_above=0)  # every file through a private copy, as large ones go
    engine = BM25Engine(index, resources)
    clauses = list(index.clauses)
    found = [(h.row, h.score, h.clause) for h in engine.search("新生儿参保登记", limit=5).hits]
    names = sorted(p.name for p in built.iterdir())
    version = current(built)
    os.truncate(version / "weights.npy", 100)
    os.truncate(version / "clauses.jsonl", 0)
    _same_size_garbage(version / "part_terms.npy", 200, 2000)
    assert [(h.row, h.score, h.clause) for h in engine.search("新生儿参保登记", limit=5).hits] == found
    assert list(index.clauses) == clauses and [engine.clause_terms(r) for r in range(len(clauses))]
    assert sorted(p.name for p in built.iterdir()) == names, "the copies have no name anyone could damage"


# --- a worker's fallback ----------------------------------------------------------------------------------------


def _live(index: Path, tmp_path: Path) -> LiveState:
    return LiveState(Settings(index_dir=index, database_url=f"sqlite:///{tmp_path / 'f.db'}",
                              reload_check_seconds=0))


def test_a_worker_starting_on_a_damaged_version_serves_the_last_good_one_and_says_so(built, tmp_path):
    good = current(built).name
    build_index(CORPUS, built)
    damaged = current(built).name
    os.truncate(current(built) / "weights.npy", 100)
    live = _live(built, tmp_path)
    assert live.assistant.ask("新生儿怎么参保", region="宜春市").answered
    assert live.index_version == good
    assert damaged in live.fallback_reason or "损坏" in live.fallback_reason
    assert good in live.fallback_reason


def test_a_worker_keeps_what_it_serves_when_the_new_version_is_damaged(built, tmp_path):
    live = _live(built, tmp_path)
    served = live.assistant
    first = live.index_version
    build_index(CORPUS, built)
    _same_size_garbage(current(built) / "clauses.jsonl", 300)
    with pytest.raises(IndexLoadError):
        live.reload()
    assert live.assistant is served and live.index_version == first
    assert "clauses.jsonl" in live.fallback_reason
    build_index(CORPUS, built)  # a good build again
    live.reload()
    assert live.index_version == current(built).name and live.fallback_reason is None


def test_no_version_at_all_is_still_an_error(tmp_path):
    with pytest.raises(IndexLoadError, match="policyqa index"):
        _ = _live(tmp_path / "nowhere", tmp_path).assistant


# --- under load, on real servers --------------------------------------------------------------------------------


class Clients:
    """Client threads asking on and on; every failure (status, unanswered, connection error) is kept."""

    def __init__(self, urls: list[str], per_url: int = 3):
        self.failures: list = []
        self.done = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._ask, args=(url,)) for url in urls for _ in range(per_url)]

    def _ask(self, url: str) -> None:
        # A connection a request, so that the kernel spreads them over every worker.
        with httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            while not self._stop.is_set():
                try:
                    r = client.post(f"{url}/api/v1/ask", json={"question": "剖宫产能报多少", "region": "新乡市"})
                    if r.status_code != 200 or not r.json()["answered"] or not r.json()["answers"][0]["quote"]:
                        self.failures.append((url, r.status_code, r.text[:200]))
                    self.done += 1
                except httpx.HTTPError as e:
                    self.failures.append((url, repr(e)))

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join()


def _readyz_index(url: str) -> dict:
    return httpx.get(f"{url}/readyz", timeout=30).json().get("index", {})


def _settled(url: str, version: str, fallback: str | None, times: int = 6) -> bool:
    """`times` answers in a row (new connections: any worker) report `version` and `fallback`; a question first,
    since a worker looks at the index when it answers one."""
    for _ in range(times):
        httpx.post(f"{url}/api/v1/ask", json={"question": "交多少钱"}, timeout=30)
        state = _readyz_index(url)
        if state.get("version") != version or state.get("fallback") != fallback:
            return False
    return True


def test_truncating_and_corrupting_the_served_files_under_load_fails_no_request(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = tmp_path / "index"
    build_index(corpus, index)
    good = current(index).name
    build_index(corpus, index)
    served = current(index)
    env = {"POLICYQA_ADMIN_KEY": "admin-secret", "POLICYQA_RELOAD_CHECK_SECONDS": "0.5",
           "POLICYQA_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"}
    proc, url = start_server("--index", str(index), "--corpus", str(corpus), "--workers", "2", env=env)
    restarted = None
    try:
        with Clients([url]) as clients:
            time.sleep(1)
            # What took every worker down before: a mapped file truncated in place (SIGBUS), and same-size garbage.
            os.truncate(served / "weights.npy", 100)
            os.truncate(served / "part_terms.npy", 0)
            _same_size_garbage(served / "clauses.jsonl", 1000, 4000)
            notices = served / "notices.json"
            notices.write_bytes(b"[" + b" " * (notices.stat().st_size - 2) + b"]")
            refused = httpx.post(f"{url}/api/v1/admin/reload", headers={"X-Admin-Key": "admin-secret"}, timeout=60)
            assert refused.status_code == 409 and "损坏" in refused.json()["error"]["message"]
            proc.send_signal(signal.SIGHUP)  # every worker tries, every worker refuses
            time.sleep(2)  # and the periodic checks see the damage too
            index_state = _readyz_index(url)
            assert index_state["version"] == served.name and "损坏" in (index_state["fallback"] or "")

            # A worker started now cannot load the current version: it serves the last good one, and says so.
            restarted, restarted_url = start_server("--index", str(index), "--corpus", str(tmp_path / "none"),
                                                    env=env)
            with Clients([restarted_url]) as more:
                time.sleep(1)
                state = _readyz_index(restarted_url)
                assert state["version"] == good and good in state["fallback"]

                build_index(corpus, index)  # a good build: every server moves to it by itself
                fresh = current(index).name
                for u in (url, restarted_url):
                    assert wait_for(lambda u=u: _settled(u, fresh, None)), _readyz_index(u)
                time.sleep(1)
        assert clients.failures == [] and more.failures == []
        assert clients.done > 50 and more.done > 20
        assert [v.name for v in versions.versions(index)] == [fresh, good], "the damaged version is not kept"
    finally:
        for p in (proc, restarted):
            if p is not None:
                p.terminate()
                p.wait(timeout=30)


# --- builds: killed, stale leftovers, a full disk -------------------------------------------------------------


@pytest.fixture(scope="module")
def generated_corpus(tmp_path_factory) -> Path:
    if not (SHARED / "bench" / "make_corpus.py").exists():
        pytest.skip("shared/bench not beside the checkout")
    out = tmp_path_factory.mktemp("generated") / "corpus"
    subprocess.run([sys.executable, str(SHARED / "bench" / "make_corpus.py"), "--notices", "600", "--out", str(out)],
                   check=True, capture_output=True, timeout=120)
    return out


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may never reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _workers(pid: int) -> list[int]:
    """The tokenizer workers: forked children, so they carry the parent's command line."""
    own = Path(f"/proc/{pid}/cmdline").read_bytes()
    found = []
    for child in _children(pid):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{child}/cmdline").read_bytes() == own:
                found.append(child)
    return found


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: the build tokenizes without worker processes")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_killing_a_build_ends_its_workers(generated_corpus, tmp_path, sig):
    index = tmp_path / "index"
    build = subprocess.Popen([sys.executable, "-m", "policyqa_cli", "index", "--corpus", str(generated_corpus),
                              "--out", str(index)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: len(_workers(build.pid)) >= 2 or build.poll() is not None, 180)
        workers = _workers(build.pid)
        assert len(workers) >= 2, "the build tokenizes in worker processes"
        time.sleep(0.5)
        build.send_signal(sig)
        status = build.wait(timeout=60)
        assert wait_for(lambda: not any(_running(w) for w in workers), 20), "no worker outlives the build"
        if sig != signal.SIGKILL:
            assert status == {signal.SIGTERM: 143, signal.SIGINT: 130}[sig]
            assert "Traceback" not in build.stderr.read().decode()
            assert not list(index.glob(".building-*")), "the temporary directory goes with it"
        assert not (index / "CURRENT").exists()
    finally:
        if build.poll() is None:
            build.kill()
            build.wait()
        build.stdout.close()
        build.stderr.close()


def test_the_next_build_removes_what_a_killed_build_left_behind(built, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = built / f"{versions.BUILDING_PREFIX}{int(dead.stdout)}-x1y2z3"
    stale.mkdir()
    (stale / "clauses.jsonl").write_bytes(b"half")
    old_layout = tmp_path / ".index.building-abc123"  # what the flat layout of earlier versions left beside it
    old_layout.mkdir()
    alive = built / f"{versions.BUILDING_PREFIX}{os.getppid()}-busy"  # a build still running is left alone
    alive.mkdir()
    build_index(CORPUS, built)
    assert not stale.exists() and not old_layout.exists()
    assert alive.exists()


def _mount_tmpfs(where: Path, size: str) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    where.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def test_a_full_disk_is_one_line_status_3_and_the_old_index_stays(tmp_path):
    """A real full disk where possible (a 600 KB tmpfs: room for one version, not two); otherwise a file size
    limit (RLIMIT_FSIZE), whose EFBIG is treated as ENOSPC."""
    disk = tmp_path / "disk"
    mounted = _mount_tmpfs(disk, "600k")
    try:
        index = disk / "index"
        build_index(CORPUS, index)
        pointer, served = (index / "CURRENT").read_text(), current(index)

        def limit_file_size():
            if not mounted:
                resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

        result = subprocess.run([sys.executable, "-m", "policyqa_cli", "index", "--corpus", str(CORPUS), "--out",
                                 str(index)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                                preexec_fn=limit_file_size)
        assert result.returncode == 3, (result.returncode, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "磁盘空间不足" in lines[0] and "原索引保持不变" in lines[0], result.stderr
        assert "Traceback" not in result.stderr
        assert (index / "CURRENT").read_text() == pointer
        assert load_index(index).version == served.name
        assert not list(index.glob(".building-*")) and not list(index.glob(".CURRENT.*"))
        if mounted:
            with pytest.raises(DiskFull):  # the library says the same
                build_index(CORPUS, index)
    finally:
        if mounted:
            subprocess.run(["umount", str(disk)], check=True)
