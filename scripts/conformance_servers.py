"""Run the official MCP conformance suite's server scenarios against each of our servers.

    python scripts/conformance_servers.py [--conformance PATH] [--out DIR] [--json FILE]

Starts `assistant serve mcp` (all servers, a fresh data folder, the embedded database),
and in front of it a small proxy that does what the orchestrator's hub does: it adds a
short-lived user token for the server's audience to each request (the suite itself sends
no credentials). Host, Origin and everything else pass through untouched, so the suite's
DNS-rebinding checks meet our real guard. Then, for each server and protocol revision,
`conformance server --url ... --scenario S` for every scenario that applies to a real
server (those that need the suite's own fixture tools are listed in FIXTURE_SCENARIOS).
Prints a table and exits non-zero on any failed check.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcp_servers.identity import sign_user_token  # noqa: E402

SERVERS = ("knowledge", "web", "files", "assistant")
VERSIONS = ("2025-11-25", "2026-07-28")

# Scenarios that apply to any real server: lifecycle, listing, error and transport rules.
SCENARIOS = {
    "2025-11-25": [
        "server-initialize",
        "server-session-lifecycle",
        "ping",
        "tools-list",
        "resources-list",
        "prompts-list",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
    ],
    "2026-07-28": [
        "server-stateless",
        "tools-list",
        "resources-list",
        "prompts-list",
        "sep-2164-resource-not-found",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
        "caching",
        "http-header-validation",
    ],
}
# Not run: they call tools, prompts and resources that only the suite's reference fixture
# has (test_simple_text, test_image_content, test_prompt_with_image, sampling and
# elicitation fixtures, completion fixtures, logging/setLevel, subscriptions, the
# input-required fixture tools).
FIXTURE_SCENARIOS = "tools-call-*, prompts-get-*, resources-read-*, resources-templates-read, \
resources-(un)subscribe, completion-complete, logging-set-level, json-schema-2020-12, \
elicitation-*, input-required-result-*, tasks-*, server-sse-polling, \
http-custom-header-server-validation (needs tools with x-mcp-header)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proxy_app(upstream: str, secret: str):
    client = httpx.AsyncClient(base_url=upstream, timeout=60.0, trust_env=False)

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        path = request.url.path
        # Header values arrive with their optional whitespace trimmed, as any HTTP parser does.
        headers = [
            (k, v.strip()) for k, v in request.headers.items() if k.lower() != "content-length"
        ]
        if path.startswith("/mcp/") and "authorization" not in request.headers:
            server = path.split("/")[2]
            token = sign_user_token(secret, server, "conformance-user")
            headers.append(("authorization", f"Bearer {token}"))
        body = await request.body()
        upstream_request = client.build_request(
            request.method, path, params=request.query_params, headers=headers, content=body
        )
        response = await client.send(upstream_request, stream=True)
        passthrough = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding", "content-encoding")
        }

        async def body_iterator():
            try:
                async for chunk in response.aiter_raw():
                    yield chunk
            finally:
                await response.aclose()

        if "text/event-stream" in response.headers.get("content-type", ""):
            out: Response = StreamingResponse(
                body_iterator(), status_code=response.status_code, headers=passthrough
            )
        else:
            data = await response.aread()
            await response.aclose()
            out = Response(data, status_code=response.status_code, headers=passthrough)
        await out(scope, receive, send)

    return app


def wait_for(url: str, headers: dict[str, str], deadline: float) -> None:
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, headers=headers, timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--conformance", default=str(ROOT / ".tools/node/node_modules/.bin/conformance")
    )
    parser.add_argument("--out", default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--servers", default=",".join(SERVERS))
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="conformance-"))
    data = Path(tempfile.mkdtemp(prefix="mcp-conformance-data-"))
    port, proxy_port = free_port(), free_port()
    env = {
        **os.environ,
        "ASSISTANT_ENV_FILE": "",
        "DATA_DIR": str(data),
        "MCP_PORT": str(port),
        "KNOWLEDGE_EMBEDDINGS": "none",
        "OPENAI_API_KEY": "",
        "LOG_LEVEL": "WARNING",
    }
    if os.environ.get("CONFORMANCE_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["CONFORMANCE_DATABASE_URL"]
    out.mkdir(parents=True, exist_ok=True)
    servers_log = (out / "servers.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "assistant"), "serve", "mcp"],
        env=env,
        cwd=ROOT,
        stdout=servers_log,
        stderr=subprocess.STDOUT,
    )
    proxy = None
    try:
        deadline = time.monotonic() + 60
        while not (data / "mcp-service-token").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        secret = (data / "mcp-service-token").read_text().strip()
        wait_for(f"http://127.0.0.1:{port}/healthz", {}, deadline)
        proxy = uvicorn.Server(
            uvicorn.Config(
                proxy_app(f"http://127.0.0.1:{port}", secret),
                host="127.0.0.1",
                port=proxy_port,
                log_level="warning",
            )
        )
        thread = threading.Thread(target=proxy.run, daemon=True)
        thread.start()
        wait_for(f"http://127.0.0.1:{proxy_port}/healthz", {}, deadline)
        results: dict[str, dict[str, dict[str, list[int]]]] = {}
        failed = 0
        for server in args.servers.split(","):
            for version in VERSIONS:
                for scenario in SCENARIOS[version]:
                    target = out / server / version / scenario
                    target.mkdir(parents=True, exist_ok=True)
                    run = subprocess.run(
                        [
                            args.conformance,
                            "server",
                            "--url",
                            f"http://localhost:{proxy_port}/mcp/{server}",
                            "--scenario",
                            scenario,
                            "--spec-version",
                            version,
                            "-o",
                            str(target),
                        ],
                        capture_output=True,
                        text=True,
                        timeout=180,
                        check=False,
                    )
                    (target / "stdout.txt").write_text(run.stdout + run.stderr)
                    passed, total = count_checks(target)
                    if total == 0 or passed < total:
                        failed += 1
                    results.setdefault(server, {}).setdefault(version, {})[scenario] = [
                        passed,
                        total,
                    ]
        print_table(results)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        return 1 if failed else 0
    finally:
        if proxy is not None:
            proxy.should_exit = True
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def not_applicable(check: dict) -> bool:
    """Checks that only the suite's fixture server can pass (they name its test_ tools)."""
    message = str(check.get("errorMessage", ""))
    return message.startswith("Not testable") or "'test_" in message


def count_checks(folder: Path) -> tuple[int, int]:
    """(passed, counted): SUCCESS and WARNING (a SHOULD) pass; fixture-only checks and
    SKIPPED/INFO are not counted."""
    passed = total = 0
    for checks in folder.rglob("checks.json"):
        for check in json.loads(checks.read_text()):
            status = check.get("status")
            if status in ("SKIPPED", "INFO") or (status == "FAILURE" and not_applicable(check)):
                continue
            total += 1
            passed += status in ("SUCCESS", "WARNING")
    return passed, total


def print_table(results: dict[str, dict[str, dict[str, list[int]]]]) -> None:
    print("MCP conformance, server scenarios (checks passed/total)")
    grand = [0, 0]
    for server, versions in results.items():
        for version, scenarios in versions.items():
            passed = sum(p for p, _ in scenarios.values())
            total = sum(t for _, t in scenarios.values())
            ok = sum(1 for p, t in scenarios.values() if t and p == t)
            grand[0] += passed
            grand[1] += total
            bad = [f"{s} {p}/{t}" for s, (p, t) in scenarios.items() if not t or p < t]
            print(
                f"  {server:<10} {version}  {passed:>3}/{total:<3} checks, "
                f"{ok}/{len(scenarios)} scenarios" + (f"  FAILED: {', '.join(bad)}" if bad else "")
            )
    print(f"  total: {grand[0]}/{grand[1]} checks")
    print(f"  not applicable (need the suite's fixture server): {FIXTURE_SCENARIOS}")


if __name__ == "__main__":
    raise SystemExit(main())
