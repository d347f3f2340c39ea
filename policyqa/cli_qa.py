"""`policyqa ask` and `policyqa eval`."""
from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_INDEX = Path("index")


def _engine(index_dir: Path):
    from qa_server.engine import Engine

    return Engine.load(index_dir)


def cmd_ask(args: argparse.Namespace) -> int:
    from qa_server.views import ask_response

    response = ask_response(_engine(args.index), args.question, region=args.region, top_k=args.top_k)
    if args.json:
        print(json.dumps(response.model_dump(), ensure_ascii=False, indent=2))
        return 0
    print(response.message)
    for n, a in enumerate(response.answers, start=1):
        where = f"{a.section}{a.heading}".strip() or "正文"
        print(f"\n{n}. 《{a.title}》（{a.doc_number}）{where}")
        print(f"   {a.quote}")
    return 0


def _http_ask(url: str):
    endpoint = url.rstrip("/") + "/api/v1/ask"

    def ask(q) -> dict:
        body = json.dumps({"question": q.question, "region": q.region, "top_k": 3}).encode("utf-8")
        request = urllib.request.Request(endpoint, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return json.loads(r.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            return {"answered": False, "answers": [], "error": e.code}
    return ask


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, load_questions

    questions = load_questions(args.file)
    if args.url:
        ask = _http_ask(args.url)
    else:
        from qa_server.views import ask_response

        engine = _engine(args.index)

        def ask(q) -> dict:
            return ask_response(engine, q.question, region=q.region, top_k=3).model_dump()
    report = evaluate(questions, ask)
    m = report.metrics
    answerable = sum(1 for q in questions if q.expect)
    print(f"问题 {len(questions)} 个（有答案 {answerable} 个，应拒答 {len(questions) - answerable} 个）")
    print(f"hit@1    {m['hit@1']:.1%}\nhit@3    {m['hit@3']:.1%}\nstrict@1 {m['strict@1']:.1%}\n"
          f"quote@1  {m['quote@1']:.1%}\nabstain  {m['abstain']:.1%}\np50      {m['p50_ms']:.1f} ms")
    misses = report.misses()
    if misses:
        print(f"\n未命中 {len(misses)} 个：")
    for o in misses:
        first = (o.response.get("answers") or [{}])[0]
        got = f"{first.get('doc_number', '—')} {first.get('section', '')}" if o.response.get("answered") else "未回答"
        want = "、".join(e["doc"] for e in o.question.expect) or "应拒答"
        flags = "" if not o.question.expect else f" hit@1={'是' if o.hit1 else '否'} quote@1={'是' if o.quote1 else '否'}"
        print(f"  {o.question.id} [{o.question.kind}] {o.question.question}\n      期望 {want}；得到 {got}{flags}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(m, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from qa_server.feedback import FeedbackStore
    from qa_server.settings import Settings

    store = FeedbackStore(args.database_url or Settings().database_url)
    counts = store.counts()
    print(f"反馈 {counts['feedback']} 条，未能回答的提问 {counts['unanswered']} 条")
    print("\n最常见的未能回答的问题：")
    for n, item in enumerate(store.most_unanswered(args.limit), start=1):
        print(f"  {n:>2}. （{item.count} 次）{item.question}")
    print("\n最常被标为“没帮助”的问题：")
    for n, item in enumerate(store.most_not_helpful(args.limit), start=1):
        print(f"  {n:>2}. （{item.count} 次）{item.question}")
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("report", help="列出最常见的未能回答和“没帮助”的问题，供维护人员改进")
    p.add_argument("--database-url", default=None, help="默认取 POLICYQA_DATABASE_URL")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("ask", help="在终端提问")
    p.add_argument("question")
    p.add_argument("--region", default=None, help="所在地区，如 宜春市、辉县")
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("--json", action="store_true", help="输出 JSON（与 /api/v1/ask 相同）")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="按 eval/README.md 的指标评测")
    p.add_argument("file", type=Path)
    p.add_argument("--url", default=None, help="评测运行中的服务（如 http://127.0.0.1:8000），默认在进程内评测")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("--json-out", default=None, help="把指标另存为 JSON 文件")
    p.set_defaults(func=cmd_eval)
