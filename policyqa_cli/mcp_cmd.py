"""`policyqa mcp`: the MCP tools over standard input and output, for an agent that starts the command itself."""
from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_INDEX = Path("index")


def cmd_mcp(args: argparse.Namespace) -> int:
    from qa_server.mcp_server import run_stdio

    run_stdio(args.index)  # standard output carries the protocol: nothing else may be printed there
    return 0


def add_command(sub) -> None:
    p = sub.add_parser("mcp", help="以 MCP 服务器运行（标准输入输出），供智能体调用 ask、search_clauses 等工具")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="索引目录（默认 index）")
    p.set_defaults(func=cmd_mcp)
