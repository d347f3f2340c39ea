"""Cross-site form posts to the pages are refused; same-site ones, non-browser clients and the JSON API are not."""

import httpx
import pytest

from qa_server.same_origin import same_origin
from tests.conftest import assert_error_shape, start_host_app

EVIL = "https://evil.example"


@pytest.mark.parametrize("headers, allowed", [
    ({"host": "policyqa.example.cn", "origin": "https://policyqa.example.cn"}, True),
    ({"host": "policyqa.example.cn", "origin": "http://policyqa.example.cn"}, True),   # TLS ended at the proxy
    ({"host": "policyqa.example.cn:443", "origin": "https://policyqa.example.cn"}, True),
    ({"host": "POLICYQA.example.cn", "origin": "https://policyqa.example.cn"}, True),
    ({"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8000"}, True),
    ({"host": "[::1]:8000", "origin": "http://[::1]:8000"}, True),
    ({"host": "policyqa.example.cn"}, True),                                          # curl, a backend
    ({"host": "policyqa.example.cn", "referer": "https://policyqa.example.cn/search?q=1"}, True),
    ({"host": "127.0.0.1:8000", "x-forwarded-host": "policyqa.example.cn",
      "origin": "https://policyqa.example.cn"}, True),                                 # behind a proxy
    ({"host": "policyqa.example.cn", "origin": EVIL}, False),
    ({"host": "policyqa.example.cn", "origin": "https://policyqa.example.cn.evil.example"}, False),
    ({"host": "policyqa.example.cn", "origin": "https://policyqa.example.cn:8443"}, False),
    ({"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8001"}, False),
    ({"host": "policyqa.example.cn", "origin": "null"}, False),                       # sandboxed frame, data: URL
    ({"host": "policyqa.example.cn", "referer": "https://evil.example/form.html"}, False),
    ({"host": "policyqa.example.cn", "origin": EVIL, "referer": "https://policyqa.example.cn/"}, False),
    ({"host": "policyqa.example.cn", "origin": "file://"}, False),
    ({"host": "policyqa.example.cn", "origin": "https://user@evil.example"}, False),
])
def test_same_origin(headers, allowed):
    assert same_origin(headers) is allowed


def _refused_page(response: httpx.Response, root: str = "") -> None:
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "拒绝来自其他网站的表单提交" in response.text and f'href="{root}/static/app.css"' in response.text


FORMS = [("/", {"question": "新生儿怎么参保", "city": "360900"}),
         ("/feedback", {"helpful": "1", "question": "新生儿怎么参保", "doc_number": "赣医保发〔2023〕9号"}),
         ("/prefs", {"large_text": "1", "next": "/"})]


@pytest.mark.parametrize("path, form", FORMS)
def test_a_cross_site_form_post_is_refused_with_a_page(server, path, form):
    with httpx.Client(base_url=server, timeout=30) as client:
        _refused_page(client.post(path, data=form, headers={"Origin": EVIL}))
        _refused_page(client.post(path, data=form, headers={"Referer": f"{EVIL}/form.html"}))
        _refused_page(client.post(path, data=form, headers={"Origin": "null"}))
        _refused_page(client.post(path, files={"x": ("a.txt", b"a")}, data=form, headers={"Origin": EVIL}))


@pytest.mark.parametrize("path, form", FORMS)
def test_a_same_site_form_post_or_one_without_origin_goes_through(server, path, form):
    with httpx.Client(base_url=server, timeout=30) as client:
        for headers in ({"Origin": server}, {"Referer": f"{server}/"}, {}):
            response = client.post(path, data=form, headers=headers)
            assert response.status_code in (200, 201, 303), (headers, response.status_code)


def test_the_json_api_is_not_checked(server):
    response = httpx.post(f"{server}/api/v1/ask", json={"question": "新生儿怎么参保", "region": "宜春市"},
                          headers={"Origin": EVIL}, timeout=30)
    assert response.status_code == 200 and response.json()["answered"]
    # A form-encoded post to the API gets what the API says about it (a validation error), never this check's 403.
    assert_error_shape(httpx.post(f"{server}/api/v1/ask", data={"question": "x"}, headers={"Origin": EVIL},
                                  timeout=30), 422)


def test_behind_a_proxy_the_forwarded_host_is_the_origin(server):
    form = {"question": "新生儿怎么参保", "city": "360900"}
    proxied = {"X-Forwarded-Host": "policyqa.example.cn", "X-Forwarded-Proto": "https"}
    ok = httpx.post(f"{server}/", data=form, headers={**proxied, "Origin": "https://policyqa.example.cn"}, timeout=30)
    assert ok.status_code == 200
    _refused_page(httpx.post(f"{server}/", data=form, headers={**proxied, "Origin": EVIL}, timeout=30))


def test_under_a_prefix_in_a_host_application(tmp_path):
    proc, base = start_host_app(tmp_path)
    try:
        form = {"question": "剖宫产能报多少", "city": "410700"}
        _refused_page(httpx.post(f"{base}/policyqa/", data=form, headers={"Origin": EVIL}, timeout=30), "/policyqa")
        answer = httpx.post(f"{base}/policyqa/", data=form, headers={"Origin": base}, timeout=30)
        assert answer.status_code == 200 and 'href="/policyqa/documents/' in answer.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
