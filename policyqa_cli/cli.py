"""The `policyqa` command: index, serve, ask, eval, report. A thin layer over the library.

Exit statuses: 0 done; 1 index built, but some corpus files could not be read (each named on stderr);
2 a mistake (missing index or corpus, unknown place, bad setting); 3 the disk is full (or a quota or file
size limit was hit): the index was not written and the one served before is untouched; 130 and 143
interrupted by SIGINT or SIGTERM (a build's workers and temporary directory go with it).
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .errors import UserError

DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path("index")
EXIT_DISK_FULL = 3
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}

# The limits on reading corpus files (indexer.loading.IngestLimits), from the environment: name → field.
INGEST_SETTINGS = {
    "POLICYQA_MAX_FILE_MB": "max_file_mb",
    "POLICYQA_PDF_MAX_PAGES": "pdf_max_pages",
    "POLICYQA_PDF_MAX_INFLATED_MB": "pdf_max_inflated_mb",
    "POLICYQA_PDF_MEMORY_MB": "pdf_memory_mb",
    "POLICYQA_PDF_TIMEOUT_SECONDS": "pdf_timeout_seconds",
}


class Terminated(BaseException):
    """SIGTERM during a build, raised where the build is so that it cleans up (workers, temporary files)."""


def ingest_limits(environ=os.environ):
    """IngestLimits from POLICYQA_* variables; a value that is not a positive number is a mistake (status 2)."""
    import dataclasses

    from indexer.loading import IngestLimits

    values = {}
    for name, field in INGEST_SETTINGS.items():
        raw = environ.get(name, "").strip()
        if not raw:
            continue
        kind = type(getattr(IngestLimits, field))
        try:
            value = kind(raw)
        except ValueError:
            value = 0
        if value <= 0:
            raise UserError(f"设置 {name}={raw} 不正确：须为正{'整数' if kind is int else '数'}")
        values[field] = value
    return dataclasses.replace(IngestLimits(), **values)


@contextlib.contextmanager
def interruptible():
    """SIGTERM raises Terminated in the main thread while a build runs (SIGINT already raises KeyboardInterrupt),
    so the build stops its workers and removes its temporary directory instead of dying where it stands."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _disk_full(e: BaseException) -> int:
    print(f"错误：{e}", file=sys.stderr)
    return EXIT_DISK_FULL


class ProgressBar:
    """Progress on stderr: a bar redrawn in place on a terminal; without one (CI, systemd's journal), a plain
    line every few seconds, so a long build is never silent."""

    LINE_EVERY = 5.0  # seconds between progress lines when stderr is not a terminal

    def __init__(self, label: str, stream=sys.stderr):
        self.label, self.stream = label, stream
        self.terminal = stream.isatty()
        self._last = time.monotonic() if not self.terminal else 0.0

    def __call__(self, done: int, total: int, stage: str | None = None) -> None:
        """`stage`, when given, names what is counted (a build reads files, then writes the index)."""
        now = time.monotonic()
        label = stage or self.label
        if self.terminal:
            if now - self._last < 0.2 and done < total:
                return
            width = 30
            filled = int(width * done / total) if total else width
            self.stream.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            if done >= total:
                self.stream.write("\n")
        else:
            if now - self._last < self.LINE_EVERY or done >= total:
                return
            self.stream.write(f"{label}：{done}/{total}（{done / total:.0%}）\n" if total else "")
        self._last = now
        self.stream.flush()


def run_index(corpus: Path, out: Path) -> int:
    from indexer.build import NothingToIndex, build_index
    from indexer.store import DiskFull

    try:
        with interruptible():
            report = build_index(corpus, out, progress=ProgressBar("建立索引"), limits=ingest_limits())
    except NothingToIndex as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2
    except DiskFull as e:
        return _disk_full(e)
    for problem in report.warnings:
        print(f"注意：{problem.file}：{problem.reason}", file=sys.stderr)
    for problem in report.errors:
        print(f"错误：{problem.file}：{problem.reason}", file=sys.stderr)
    rate = report.characters / report.seconds if report.seconds else 0
    print(f"已建立索引 {out}：文件 {report.files} 个（出错 {len(report.errors)} 个），"
          f"通知 {report.notices} 条，条款 {report.clauses} 条，用时 {report.seconds:.1f} 秒（{rate:,.0f} 字/秒）")
    return 1 if report.errors else 0


def cmd_index(args: argparse.Namespace) -> int:
    if args.add or args.remove:
        return run_update(args.out, args.add or [], args.remove or [])
    return run_index(args.corpus, args.out)


def run_update(index: Path, add: list[Path], remove: list[str]) -> int:
    from indexer.build import NothingToIndex
    from indexer.incremental import UnknownNotice, update_index
    from indexer.store import DiskFull

    try:
        with interruptible():
            report = update_index(index, add=add, remove=remove, limits=ingest_limits())
    except (UnknownNotice, NothingToIndex) as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2
    except DiskFull as e:
        return _disk_full(e)
    for problem in report.errors:
        print(f"错误：{problem.file}：{problem.reason}", file=sys.stderr)
    print(f"已更新索引 {index}：新增文件 {report.files} 个（出错 {len(report.errors)} 个），"
          f"现有通知 {report.notices} 条，条款 {report.clauses} 条，用时 {report.seconds:.1f} 秒")
    if add:
        _print_supersession(index, {Path(p).name for p in add})
    return 1 if report.errors else 0


def _print_supersession(index: Path, added_files: set[str]) -> None:
    """What the added notices replace: which notices, and how many of their clauses are now superseded."""
    from policyqa import Assistant

    assistant = Assistant.load(index)
    for old in assistant.documents():
        new = assistant.replaced_by(old)
        if new is not None and new.source in added_files:
            year = f"（{new.coverage_year}年度）" if new.coverage_year else ""
            print(f"{new.doc_number}{year} 替代 {old.doc_number}：其 {assistant.clause_count(old)} 条条款现已被替代，"
                  "回答和检索默认使用新文件")


def _unservable(index: Path) -> str | None:
    """Why the server would refuse this index (none there, another format version, another dictionary), from its
    manifest alone; None when it looks servable. Checked before starting, so the answer is one line, not a
    traceback from a worker that failed to start."""
    from indexer.resources import dictionary_fingerprint
    from indexer.store import IndexLoadError, read_manifest

    try:
        manifest = read_manifest(index)
    except IndexLoadError as e:
        return str(e)
    if manifest.get("dictionary") != dictionary_fingerprint():
        return f"索引 {index} 是用另一版本的词典建立的，与本程序的分词不一致，请重新运行 policyqa index"
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    from indexer.build import index_corpus_dir, index_is_stale

    problem = _unservable(args.index)
    if args.corpus.is_dir() and (problem or index_is_stale(args.index, args.corpus)):
        built_from = index_corpus_dir(args.index)
        if built_from is not None and built_from != args.corpus.resolve():
            # Someone else's index (built from another corpus): never overwrite it; serve it if it can be served.
            if problem:
                raise UserError(f"{problem}（它由语料 {built_from} 建立，不自动重建）")
            print(f"索引 {args.index} 由语料 {built_from} 建立，与 {args.corpus} 不同：按原样提供服务，不重建",
                  file=sys.stderr)
            args.corpus = built_from
            return _serve(args)
        print(f"索引缺失、过期或与本程序不兼容，正在重建：{args.corpus} → {args.index}", file=sys.stderr)
        status = run_index(args.corpus, args.index)
        if status == 1:
            print("部分语料文件有错误（见上），其余文件已建立索引，继续启动服务。", file=sys.stderr)
        elif status:
            return status
    elif problem:
        raise UserError(problem)
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from qa_server.app import create_app
    from qa_server.http_protocol import server_options
    from qa_server.settings import Settings

    if args.workers > 1:
        # Each worker process loads the index itself; the arrays are memory-mapped, so they share one copy.
        os.environ["POLICYQA_INDEX_DIR"] = str(args.index.resolve())
        os.environ["POLICYQA_CORPUS_DIR"] = str(args.corpus.resolve())
        from qa_server.serving import run_workers

        run_workers(args.host, args.port, args.workers, args.log_level, not args.no_access_log)
        return 0
    settings = Settings(index_dir=args.index, corpus_dir=args.corpus)  # other settings from POLICYQA_* variables
    # Header limits and timeouts, forwarded headers, no server header: the same as each worker's (http_protocol.py).
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level,
                access_log=not args.no_access_log, **server_options(settings))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policyqa", description="城乡居民医保政策问答：建索引、启动服务、提问、评测")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="从语料目录建立索引")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="语料目录（默认 corpus）")
    p.add_argument("--out", type=Path, default=DEFAULT_INDEX, help="索引目录（默认 index）")
    p.add_argument("--add", type=Path, action="append", metavar="FILE",
                   help="把这个文件里的通知加入现有索引（同文号的替换），不重新分词其余通知；可重复")
    p.add_argument("--remove", action="append", metavar="DOC_NUMBER", help="从现有索引中删除这份通知；可重复")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("serve", help="启动问答服务（索引缺失或过期时先重建）")
    p.add_argument("--host", default="127.0.0.1",
                   help="监听地址（默认 127.0.0.1；对外服务请放在 nginx 等反向代理之后）")
    p.add_argument("--port", type=int, default=8000, help="端口（默认 8000）")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="索引目录（默认 index）")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="语料目录（默认 corpus）")
    p.add_argument("--workers", type=int, default=1, help="工作进程数（共享同一份内存映射的索引）")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                   help="日志级别（默认 info）")
    p.add_argument("--no-access-log", action="store_true", help="不记录每个请求（压测时用）")
    p.set_defaults(func=cmd_serve)

    from . import cli_qa, mcp_cmd
    cli_qa.add_commands(sub)
    mcp_cmd.add_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from indexer.loading import CorpusFileError
    from indexer.store import IndexLoadError

    try:
        status = args.func(args)
        sys.stdout.flush()  # a reader that went away shows here, as BrokenPipeError, rather than at exit
        return status
    except KeyboardInterrupt:
        return 130
    except Terminated:
        return 128 + signal.SIGTERM
    except BrokenPipeError:
        return _closed_pipe()
    except (UserError, IndexLoadError, CorpusFileError, ValueError) as e:
        # What the user asked for can't be done (a missing index, an unknown place, an empty question):
        # one line saying so, not a traceback. ValueError is how the library refuses bad input.
        print(f"错误：{e}", file=sys.stderr)
        return 2
    except OSError as e:
        if e.errno == errno.EPIPE:
            return _closed_pipe()
        if e.errno in _DISK_FULL:
            print(f"错误：磁盘空间不足（{e.strerror}{f'：{e.filename}' if e.filename else ''}）", file=sys.stderr)
            return EXIT_DISK_FULL
        print(f"错误：{e.strerror or e}{f'：{e.filename}' if e.filename else ''}", file=sys.stderr)
        return 2


def _closed_pipe() -> int:
    """The reader went away (`policyqa ask … | head`): stop quietly, without Python's complaint at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
