"""`policyqa ask`, `policyqa eval` and `policyqa report`."""
from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from pathlib import Path

from .errors import UserError

DEFAULT_INDEX = Path("index")
EVAL_HEADER = "X-Policyqa-Eval"  # the server leaves questions marked so out of its unanswered log


def _assistant(index_dir: Path):
    from policyqa import Assistant

    return Assistant.load(index_dir)


def _ask_json(assistant, question: str, region: str | None, top_k: int = 3, as_of: str | None = None) -> dict:
    """The reply exactly as POST /api/v1/ask gives it."""
    from qa_server import presenter

    reply = assistant.ask(question, region=region, top_k=top_k, as_of=as_of)
    return presenter.ask_response(reply, assistant).model_dump()


def cmd_ask(args: argparse.Namespace) -> int:
    from policyqa.understanding import is_blank

    if is_blank(args.question):
        raise UserError("问题不能为空")
    assistant = _assistant(args.index)
    if args.json:
        reply_json = _ask_json(assistant, args.question, args.region, args.top_k, args.as_of)
        print(json.dumps(reply_json, ensure_ascii=False, indent=2))
        return 0
    reply = assistant.ask(args.question, region=args.region, top_k=args.top_k, as_of=args.as_of)
    for part in reply.parts or (None,):
        shown = part.reply if part else reply
        if part:
            print(f"\n问：{part.question}")
        print(shown.message)
        for n, a in enumerate(shown.answers, start=1):
            year = f"（{a.notice.coverage_year}年度）" if a.notice.coverage_year else ""
            print(f"\n{n}. {a.citation}{year}")
            print(f"   {a.quote}")
    return 0


def _http_ask(url: str):
    endpoint = url.rstrip("/") + "/api/v1/ask"

    def ask(q) -> dict:
        body = json.dumps({"question": q.question, "region": q.region, "top_k": 3}).encode("utf-8")
        request = urllib.request.Request(endpoint, data=body,
                                         headers={"Content-Type": "application/json", EVAL_HEADER: "1"})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return json.loads(r.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            return {"answered": False, "answers": [], "error": e.code}
    return ask


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, load_questions

    questions = []
    for path in args.files:
        if not path.is_file():
            raise UserError(f"找不到评测文件：{path}")
        try:
            questions += load_questions(path)
        except (ValueError, KeyError) as e:
            raise UserError(f"评测文件格式不正确：{path}（{e}）") from e
    if args.url:
        ask = _http_ask(args.url)
    else:
        assistant = _assistant(args.index)

        def ask(q) -> dict:
            return _ask_json(assistant, q.question, q.region)
    report = evaluate(questions, ask)
    answerable = sum(1 for q in questions if q.expect)
    print(f"问题 {len(questions)} 个（有答案 {answerable} 个，应拒答 {len(questions) - answerable} 个）")
    m = report.metrics
    print(f"hit@1    {m['hit@1']:.1%}\nhit@3    {m['hit@3']:.1%}\nstrict@1 {m['strict@1']:.1%}\n"
          f"quote@1  {m['quote@1']:.1%}\nabstain  {m['abstain']:.1%}\np50      {m['p50_ms']:.1f} ms")
    by_kind = report.by_kind()
    if len(by_kind) > 1:
        print("\n按类型（kind）：")
        print(f"  {'kind':<16}{'问题':>6}{'hit@1':>9}{'quote@1':>9}{'abstain':>9}")
        for kind, (count, km) in by_kind.items():
            cells = [f"{km[k]:.1%}" if km[k] is not None else "—" for k in ("hit@1", "quote@1", "abstain")]
            print(f"  {kind:<16}{count:>6}" + "".join(f"{c:>9}" for c in cells))
    misses = report.misses()
    if misses:
        print(f"\n未命中 {len(misses)} 个：")
    for o in misses:
        first = (o.response.get("answers") or [{}])[0]
        got = f"{first.get('doc_number', '—')} {first.get('section', '')}" if o.response.get("answered") else "未回答"
        want = "、".join(e["doc"] for e in o.question.expect) or "应拒答"
        flags = ("" if not o.question.expect
                 else f" hit@1={'是' if o.hit1 else '否'} quote@1={'是' if o.quote1 else '否'}")
        print(f"  {o.question.id} [{o.question.kind}] {o.question.question}\n      期望 {want}；得到 {got}{flags}")
    if args.json_out:
        out = {**m, "by_kind": {k: {"count": c, **km} for k, (c, km) in by_kind.items()}}
        Path(args.json_out).write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


def _sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:/// URL, None for other databases or an in-memory one."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix):] in ("", ":memory:"):
        return None
    return Path(url[len(prefix):])


def cmd_report(args: argparse.Namespace) -> int:
    from qa_server.feedback import FeedbackStore
    from qa_server.settings import Settings

    url = args.database_url or Settings().database_url
    path = _sqlite_path(url)
    if path is not None and not path.is_file():
        raise UserError(f"找不到反馈数据库 {path.resolve()}：请在启动服务的目录运行，"
                        "或用 --database-url / POLICYQA_DATABASE_URL 指定")
    store = FeedbackStore(url)
    try:
        where = path.resolve() if path is not None else url.split("@")[-1]  # no password in the output
        counts = store.counts()
        print(f"数据库：{where}")
        print(f"反馈 {counts['feedback']} 条，未能回答的提问 {counts['unanswered']} 条")
        print("\n最常见的未能回答的问题：")
        for n, item in enumerate(store.most_unanswered(args.limit), start=1):
            print(f"  {n:>2}. （{item.count} 次）{item.question}")
        print("\n最常被标为“没帮助”的回答：")
        for n, item in enumerate(store.most_not_helpful(args.limit), start=1):
            cited = f" → {item.doc_number} {item.section}".rstrip() if item.doc_number else ""
            print(f"  {n:>2}. （{item.count} 次）{item.question or '（未记录问题）'}{cited}")
    finally:
        store.close()
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("须为正整数")
    return value


def _top_k(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10:
        raise argparse.ArgumentTypeError("须在 1 到 10 之间")
    return value


def add_commands(sub) -> None:
    p = sub.add_parser("report", help="列出最常见的未能回答和“没帮助”的问题，供维护人员改进")
    p.add_argument("--database-url", default=None,
                   help="反馈数据库（SQLAlchemy URL）；默认取 POLICYQA_DATABASE_URL，"
                        "再默认当前目录的 policyqa-feedback.db")
    p.add_argument("--limit", type=_positive, default=20, help="每个列表最多列几条（默认 20）")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("ask", help="在终端提问")
    p.add_argument("question", help="要问的问题，如“孩子刚出生怎么参保”（最多 500 字）")
    p.add_argument("--region", default=None, help="所在地区：六位行政区划代码或名称，如 360902、宜春市、辉县")
    p.add_argument("--top-k", type=_top_k, default=3, help="最多列出几条条款（1–10，默认 3）")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="索引目录（默认 index）")
    p.add_argument("--json", action="store_true", help="输出 JSON（与 POST /api/v1/ask 的回应相同）")
    p.add_argument("--as-of", default=None, metavar="DATE_OR_YEAR",
                   help="按哪一天（如 2023-10-01）或哪个年度（如 2024）的现行文件回答；默认今天")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="按评测集 README 定义的指标（hit@1、quote@1、abstain 等）评测")
    p.add_argument("files", type=Path, nargs="+", metavar="FILE",
                   help="评测文件（JSON Lines，如 ../shared/eval/dev.jsonl 或 "
                        "tests/data/realistic-heldout.jsonl），可给多个")
    p.add_argument("--url", default=None, help="评测运行中的服务（如 http://127.0.0.1:8000），默认在进程内评测")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="进程内评测用的索引目录（默认 index）")
    p.add_argument("--json-out", default=None, metavar="FILE", help="把指标另存为 JSON 文件")
    p.set_defaults(func=cmd_eval)
