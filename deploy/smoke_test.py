"""Runs this folder's example on one machine, as far as it can be without systemd and a real
domain, and checks that it works: nginx with deploy/nginx/gridline.conf (a self-signed
certificate, ports moved to 127.0.0.1), two `--role web` processes and two `--role worker`
processes started with the units' commands and deploy/gridline.env.example, one PostgreSQL
(scripts/test-postgres), and a fake Bot API in place of Telegram.

    .venv/bin/python deploy/smoke_test.py      # needs nginx and openssl installed

Checks: each web process registered the webhook; updates posted through nginx over TLS, with the
secret, reach both web processes and every person gets an answer, delivered once; an update
without the secret is refused; an Open311 key stays out of nginx's log; /healthz answers through nginx and /metrics does not.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_telegram import FakeBotApi  # noqa: E402

SECRET = "smoke-test-secret"
WEB_PORTS = (18081, 18082)
WORKER_PORTS = (18091, 18092)
TLS_PORT = 18443


def example_environment(api: FakeBotApi, db_url: str, data_dir: Path) -> dict[str, str]:
    """gridline.env.example as the units read it, with what cannot be real here replaced."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")}
    for line in (ROOT / "deploy" / "gridline.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    env.update({"GRIDLINE_BOT_TOKEN": api.token, "GRIDLINE_API_URL": api.url, "GRIDLINE_DB_URL": db_url,
                "GRIDLINE_DATA_DIR": str(data_dir), "GRIDLINE_WEBHOOK_SECRET": SECRET,
                "GRIDLINE_WEBHOOK_URL": f"https://127.0.0.1:{TLS_PORT}/telegram/hook",
                "GRIDLINE_PUBLIC_URL": f"https://127.0.0.1:{TLS_PORT}"})
    return env


def unit_command(unit: str) -> list[str]:
    text = (ROOT / "deploy" / "systemd" / unit).read_text()
    command = re.search(r"^ExecStart=(.+)$", text, re.M).group(1).split()  # type: ignore[union-attr]
    return [str(ROOT / ".venv" / "bin" / "gridline"), *command[1:]]


def nginx_config(folder: Path) -> Path:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=bot.example.org",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")], check=True, capture_output=True)
    site = (ROOT / "deploy" / "nginx" / "gridline.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/bot.example.org/fullchain.pem", str(folder / "cert.pem"))
    site = site.replace("/etc/letsencrypt/live/bot.example.org/privkey.pem", str(folder / "key.pem"))
    site = site.replace("/var/log/nginx/", f"{folder}/")
    site = site.replace("listen 443 ssl", f"listen 127.0.0.1:{TLS_PORT} ssl").replace("listen 80;", "listen 127.0.0.1:18080;")
    for real, here in zip(("8081", "8082"), WEB_PORTS, strict=True):
        site = site.replace(f"127.0.0.1:{real} ", f"127.0.0.1:{here} ")
    (folder / "site.conf").write_text(site)
    main = folder / "nginx.conf"
    main.write_text(f"""pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{}}
http {{
    log_format upstream '$request $status $upstream_addr';
    access_log {folder}/access.log upstream;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    include {folder}/site.conf;
}}
""")
    return main


async def fresh_database(admin: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(admin.replace("postgresql+asyncpg://", "postgresql://"))
    await connection.execute("CREATE DATABASE smoke")
    await connection.close()
    return admin.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0] + "/smoke"


async def smoke(folder: Path, admin: str) -> list[str]:
    problems: list[str] = []
    api = FakeBotApi()
    await api.start()
    env = example_environment(api, await fresh_database(admin), folder / "data")
    migrate = subprocess.run(unit_command("gridline-migrate.service"), env=env, capture_output=True, text=True)
    if migrate.returncode != 0:
        return [f"gridline-migrate failed: {migrate.stderr}"]
    processes = []
    for unit, ports, name in (("gridline-web@.service", WEB_PORTS, "web"), ("gridline-worker@.service", WORKER_PORTS, "worker")):
        for port in ports:
            log = open(folder / f"{name}-{port}.log", "w")  # noqa: SIM115 - closed with the process
            processes.append(subprocess.Popen(unit_command(unit), stdout=log, stderr=subprocess.STDOUT,
                                              env=env | {"GRIDLINE_HTTP_PORT": str(port), "GRIDLINE_INSTANCE": f"smoke-{name}-{port}"}))
    nginx = subprocess.Popen(["nginx", "-c", str(nginx_config(folder)), "-g", "daemon off;"])
    tls = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    tls.check_hostname = False
    base = f"https://127.0.0.1:{TLS_PORT}"
    try:
        await api.wait_for(lambda: len(api.methods("setWebhook")) >= 2, timeout=60)
        if {c.params.get("url") for c in api.methods("setWebhook")} != {env["GRIDLINE_WEBHOOK_URL"]}:
            problems.append("the web processes registered another webhook URL")
        people = range(900_001, 900_021)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as http:
            for _ in range(100):  # until nginx and both web processes answer
                try:
                    async with http.get(f"{base}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            for chat in people:
                update = {"update_id": api.next_update_id(), "message": {
                    "message_id": 1, "date": int(time.time()), "chat": {"id": chat, "type": "private"},
                    "from": {"id": chat, "is_bot": False, "first_name": "Smoke", "language_code": "en"}, "text": "/start"}}
                async with http.post(f"{base}/telegram/hook", json=update,
                                     headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                    if response.status != 200:
                        problems.append(f"an update through nginx got HTTP {response.status}")
            async with http.post(f"{base}/telegram/hook", json={"update_id": 1},
                                 headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as response:
                if response.status != 403:
                    problems.append(f"an update with a wrong secret got HTTP {response.status}, not 403")
            async with http.get(f"{base}/open311/v2/requests.json", params={"api_key": "smoke-key-not-for-logs"}) as response:
                if response.status != 403:
                    problems.append(f"reading requests with an unknown key got HTTP {response.status}, not 403")
            async with http.get(f"{base}/metrics") as response:
                if response.status != 404:
                    problems.append(f"/metrics is reachable through nginx (HTTP {response.status})")
        await api.wait_for(lambda: all(api.messages(chat) for chat in people), timeout=60)
        answered = sum(1 for chat in people if len(api.messages(chat)) >= 1)
        if answered != len(people):
            problems.append(f"{len(people) - answered} of {len(people)} people got no answer")
        twice = sum(1 for chat in people if len(api.messages(chat)) > len(api.messages(people[0])))
        if twice:
            problems.append(f"{twice} people got more messages than the first one")
    finally:
        nginx.send_signal(signal.SIGQUIT)
        nginx.wait(timeout=30)
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
        await api.stop()
    logged = (folder / "access.log").read_text()
    if "smoke-key-not-for-logs" in logged:
        problems.append("nginx's access log holds an Open311 api_key")
    hooks = [line for line in logged.splitlines() if line.startswith("POST /telegram/hook")]
    per_process = {port: sum(1 for line in hooks if line.endswith(f":{port}")) for port in WEB_PORTS}
    print(f"updates per web process, through nginx: {per_process}")
    if not all(per_process.values()):
        problems.append("nginx did not share the updates between the web processes")
    return problems


def main() -> int:
    for tool in ("nginx", "openssl"):
        if shutil.which(tool) is None:
            print(f"smoke test: {tool} is not installed", file=sys.stderr)
            return 3
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        folder.chmod(0o755)
        admin = subprocess.run([str(ROOT / "scripts" / "test-postgres"), "start", str(folder / "pg")], check=True,
                               capture_output=True, text=True).stdout.strip()
        try:
            problems = asyncio.run(smoke(folder, admin))
        finally:
            subprocess.run([str(ROOT / "scripts" / "test-postgres"), "stop", str(folder / "pg")], check=False)
    for problem in problems:
        print(f"smoke test: {problem}", file=sys.stderr)
    print("smoke test: the deploy example works" if not problems else "smoke test: FAILED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
