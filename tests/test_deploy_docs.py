"""The snippets of docs/deploy.md work: nginx accepts the configuration, systemd the unit, policyqa the command."""
import re
import shlex
import shutil
import subprocess

import pytest

from policyqa_cli.cli import build_parser
from qa_server.settings import Settings
from tests.conftest import ROOT

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
    # A throwaway certificate where the example names the real one, so that nginx -t can load it.
    subprocess.run([_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=policyqa.example.cn", "-keyout", str(tmp_path / "privkey.pem"),
                    "-out", str(tmp_path / "fullchain.pem")], check=True, capture_output=True, timeout=60)
    (tmp_path / "policyqa.conf").write_text(config.replace("/etc/ssl/policyqa/", f"{tmp_path}/"))
    # The main nginx.conf of a Debian install, reduced to what the test needs, with every path in tmp_path.
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
    result = subprocess.run([_tool("nginx"), "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path),
                             "-e", str(tmp_path / "error.log")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


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
