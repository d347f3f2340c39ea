"""The snippets of docs/deploy.md work: nginx accepts the configuration, systemd the unit, policyqa the command."""
import re
import shlex
import shutil
import subprocess
import time

import httpx
import pytest

from policyqa_cli.cli import build_parser
from qa_server.settings import Settings
from tests.conftest import CORPUS, ROOT, clear_of_window_edge, free_port, start_server

DEPLOY = ROOT / "docs" / "deploy.md"


def _blocks(language: str) -> list[str]:
    text = DEPLOY.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def _block(language: str, first_line: str) -> str:
    found = [b for b in _blocks(language) if b.startswith(first_line)]
    assert len(found) == 1, f"one {language} block starting with {first_line!r}"
    return found[0]


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")
    if found is None:
        pytest.fail(f"{name} is not installed: scripts/test.sh installs it (scripts/apt-packages.txt)")
    return found


def test_nginx_accepts_the_configuration(tmp_path):
    config = _block("nginx", "# /etc/nginx/conf.d/policyqa.conf")
    _nginx_files(tmp_path, config)
    result = subprocess.run([_tool("nginx"), "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path),
                             "-e", str(tmp_path / "error.log")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def _nginx_files(tmp_path, config: str) -> None:
    """The configuration with a throwaway certificate where the example names the real one, included by a main
    nginx.conf like Debian's, reduced to what the test needs, with every path in tmp_path."""
    subprocess.run([_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=policyqa.example.cn", "-keyout", str(tmp_path / "privkey.pem"),
                    "-out", str(tmp_path / "fullchain.pem")], check=True, capture_output=True, timeout=60)
    (tmp_path / "policyqa.conf").write_text(config.replace("/etc/ssl/policyqa/", f"{tmp_path}/"))
    (tmp_path / "nginx.conf").write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/policyqa.conf;
}}
""")


def _unit_for_this_checkout() -> str:
    return _block("ini", "# /etc/systemd/system/policyqa.service").replace("/opt/policyqa", str(ROOT))


def test_systemd_accepts_the_unit(tmp_path):
    unit = tmp_path / "policyqa.service"
    unit.write_text(_unit_for_this_checkout())
    result = subprocess.run([_tool("systemd-analyze"), "verify", str(unit)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "policyqa.service" in line]
    assert complaints == [], complaints


def test_the_unit_runs_a_command_policyqa_accepts():
    unit = _unit_for_this_checkout().replace("\\\n", " ")
    command = shlex.split(re.search(r"^ExecStart=(.*)$", unit, flags=re.MULTILINE).group(1))
    assert command[0] == str(ROOT / ".venv" / "bin" / "policyqa")
    args = build_parser().parse_args(command[1:])
    assert args.command == "serve" and args.workers == 2 and args.host == "127.0.0.1"


def test_the_environment_file_sets_only_real_settings():
    lines = [line for line in _block("ini", "# /etc/policyqa/policyqa.env").splitlines()
             if line and not line.startswith("#")]
    names = {line.split("=", 1)[0] for line in lines}
    known = {f"POLICYQA_{name.upper()}" for name in Settings.model_fields}
    assert names and names <= known, names - known
    settings = Settings(**{line.split("=", 1)[0].removeprefix("POLICYQA_").lower(): line.split("=", 1)[1]
                           for line in lines})
    assert settings.api_key_list and settings.forwarded_allow_ips == "127.0.0.1"


def test_behind_the_documented_nginx_each_visitor_has_their_own_limit(tmp_path):
    """The nginx configuration in front of a real server: visitors from two loopback addresses are counted apart,
    because nginx passes the address on and the server believes it from nginx alone; /metrics stays closed."""
    tls, redirect = free_port(), free_port()
    proc, url = start_server("--index", str(tmp_path / "index"), "--corpus", str(CORPUS), env={
        "POLICYQA_RATE_LIMIT": "2/minute", "POLICYQA_FORWARDED_ALLOW_IPS": "127.0.0.1",
        "POLICYQA_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"})
    upstream = url.removeprefix("http://")
    config = (_block("nginx", "# /etc/nginx/conf.d/policyqa.conf")
              .replace("server 127.0.0.1:8000;", f"server {upstream};")
              .replace("listen 80;", f"listen 127.0.0.1:{redirect};")
              .replace("listen 443 ssl;", f"listen 127.0.0.1:{tls} ssl;"))
    _nginx_files(tmp_path, config)
    nginx = subprocess.Popen([_tool("nginx"), "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path),
                              "-e", str(tmp_path / "error.log"), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def visitor(address: str) -> httpx.Client:
            # verify=False: the certificate is the throwaway one made above.
            return httpx.Client(base_url=f"https://127.0.0.1:{tls}", timeout=30,
                                transport=httpx.HTTPTransport(local_address=address, verify=False))

        with visitor("127.0.0.2") as first, visitor("127.0.0.3") as second:
            _wait_for(lambda: first.get("/healthz").status_code == 200)
            # X-Forwarded-For from the client is replaced by nginx: it cannot pick the address it is counted as.
            forged = {"X-Forwarded-For": "198.51.100.7"}
            clear_of_window_edge(60, margin=10)  # the six requests below are counted in one fixed window
            assert [first.get("/api/v1/regions", headers=forged).status_code for _ in range(3)] == [200, 200, 429]
            assert [second.get("/api/v1/regions").status_code for _ in range(3)] == [200, 200, 429]
            assert first.get("/metrics").status_code == 403, "metrics only for the monitoring network"
            assert first.get("/readyz").status_code == 200
        with httpx.Client(timeout=30) as direct:  # straight to the server: no forwarded header, its own address
            assert direct.get(f"{url}/api/v1/regions").status_code == 200
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        proc.terminate()
        proc.wait(timeout=10)


def _wait_for(ready, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("nginx did not start")
        time.sleep(0.1)
