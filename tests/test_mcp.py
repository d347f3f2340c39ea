"""The MCP tools over stdio (`policyqa mcp`) and streamable HTTP (/mcp), with the official `mcp` SDK as the client.

Each tool must give exactly the record its /api/v1 twin gives for the same index.
"""
import asyncio
import sys
from urllib.parse import quote

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from indexer.build import build_index
from tests.conftest import CORPUS, ROOT, assert_error_shape, run_async, start_server

KEY = "mcp-key"
TOOLS = {"ask", "search_clauses", "get_document", "list_documents"}
DOC = "赣医保发〔2023〕9号"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("mcp") / "index"
    build_index(CORPUS, out)
    return out


@pytest.fixture(scope="module")
def mcp_server(index_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("mcp-server")
    proc, url = start_server("--index", str(index_dir), "--corpus", str(CORPUS), env={
        "POLICYQA_API_KEYS": KEY, "POLICYQA_DATABASE_URL": f"sqlite:///{d / 'f.db'}"})
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def api_records(mcp_server):
    """What the JSON API returns for the calls the tools are asked to make."""
    with httpx.Client(base_url=mcp_server, headers={"X-API-Key": KEY}, timeout=30) as api:
        return {
            "ask": api.post("/api/v1/ask", json={"question": "孩子刚出生怎么参保", "region": "360902"}).json(),
            "search_clauses": api.get("/api/v1/search", params={"q": "新生儿", "region": "宜春市", "limit": 3}).json(),
            "get_document": api.get(f"/api/v1/documents/{quote(DOC)}").json(),
            "list_documents": api.get("/api/v1/documents").json(),
        }


CALLS = {
    "ask": {"question": "孩子刚出生怎么参保", "region": "360902"},
    "search_clauses": {"q": "新生儿", "region": "宜春市", "limit": 3},
    "get_document": {"doc_id": DOC},
    "list_documents": {},
}


async def _use(server) -> dict:
    """List the tools, call each once and a tool with a bad argument; what came back, by call."""
    async with Client(server, read_timeout_seconds=60) as client:
        listed = await client.list_tools()
        results = {name: await client.call_tool(name, arguments) for name, arguments in CALLS.items()}
        results["unknown document"] = await client.call_tool("get_document", {"doc_id": "没有这份文件"})
        results["unknown region"] = await client.call_tool("ask", {"question": "新生儿怎么参保", "region": "火星"})
    return {"tools": listed.tools, **results}


def _check(seen: dict, api_records: dict) -> None:
    assert {t.name for t in seen["tools"]} == TOOLS
    for tool in seen["tools"]:
        assert tool.description and tool.input_schema["type"] == "object"
    for name in CALLS:
        result = seen[name]
        assert not result.is_error, result.content
        assert result.structured_content == api_records[name], f"{name} gives what the JSON API gives"
    assert seen["ask"].structured_content["answers"][0]["doc_number"] == DOC
    for refused, words in (("unknown document", "找不到文件"), ("unknown region", "地区不正确")):
        assert seen[refused].is_error and words in seen[refused].content[0].text


def test_the_tools_over_stdio(index_dir, api_records):
    command = ["-m", "policyqa_cli", "mcp", "--index", str(index_dir)]
    server = StdioServerParameters(command=sys.executable, args=command, cwd=str(ROOT))
    _check(run_async(asyncio.wait_for(_use(server), timeout=120)), api_records)


def test_the_tools_over_http_behind_the_key(mcp_server, api_records):
    async def use_over_http():
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as http:
            return await _use(streamable_http_client(f"{mcp_server}/mcp", http_client=http))

    _check(run_async(asyncio.wait_for(use_over_http(), timeout=120)), api_records)


def test_the_http_endpoint_needs_the_key(mcp_server):
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    assert_error_shape(httpx.post(f"{mcp_server}/mcp", json=hello, headers=headers, timeout=30), 401)
    assert_error_shape(httpx.post(f"{mcp_server}/mcp", json=hello, timeout=30,
                                  headers={**headers, "X-API-Key": "wrong"}), 401)


def test_policyqa_mcp_without_an_index_says_so_in_one_line(tmp_path):
    from tests.conftest import run_cli

    result = run_cli("mcp", "--index", str(tmp_path / "missing"), timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("错误：索引不存在") and "Traceback" not in result.stderr
