"""A visitor of the dashboards can move widgets and nothing else.

These tests talk to the server the way a hostile client would: hand-made websocket messages on a
kernel's channels, requests for source files, and requests for the Jupyter endpoints that run code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import time
import uuid
from datetime import UTC, datetime

import pytest
from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1
from tornado.websocket import websocket_connect
from voila_helpers import fetch_kernel_id, request

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
QUIET_WAIT_S = 1.5  # an executed request would answer within milliseconds


def _message(msg_type: str, content: dict, session: str) -> dict:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "session": session,
            "username": "visitor",
            "date": datetime.now(UTC).isoformat(),
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": content,
        "buffers": [],
    }


def _encode(msg: dict, channel: str, protocol: str | None):
    if protocol == V1_PROTOCOL:
        parts = [json.dumps(msg[key]).encode() for key in ("header", "parent_header", "metadata", "content")]
        return serialize_msg_to_ws_v1(parts, channel), True
    return json.dumps({**msg, "channel": channel}), False


def _parent_id(raw, protocol: str | None) -> str | None:
    if protocol == V1_PROTOCOL:
        offsets_n = int.from_bytes(raw[:8], "little")
        offsets = [int.from_bytes(raw[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(offsets_n)]
        # parts: channel, header, parent_header, metadata, content, buffers...
        parent = json.loads(raw[offsets[2] : offsets[3]] or b"{}")
    else:
        parent = json.loads(raw).get("parent_header") or {}
    return parent.get("msg_id")


async def _send_execute_and_probe(ws_url: str, code: str, protocol: str | None) -> dict:
    """Send an execute_request, then a kernel_info_request; report which of them got answers."""
    conn = await websocket_connect(ws_url, subprotocols=[protocol] if protocol else None)
    session = uuid.uuid4().hex
    execute = _message(
        "execute_request",
        {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        session,
    )
    info = _message("kernel_info_request", {}, session)
    replies = {"execute": 0, "kernel_info": 0}
    for msg, channel in ((execute, "shell"), (execute, "control"), (info, "shell")):
        data, binary = _encode(msg, channel, protocol)
        await conn.write_message(data, binary=binary)
    deadline = time.monotonic() + 30
    info_seen_at = None
    while time.monotonic() < deadline:
        if info_seen_at is not None and time.monotonic() - info_seen_at > QUIET_WAIT_S:
            break
        try:
            raw = await asyncio.wait_for(conn.read_message(), timeout=0.5)
        except TimeoutError:
            continue
        if raw is None:
            break
        parent = _parent_id(raw, protocol)
        if parent == execute["header"]["msg_id"]:
            replies["execute"] += 1
        elif parent == info["header"]["msg_id"]:
            replies["kernel_info"] += 1
            info_seen_at = info_seen_at or time.monotonic()
    conn.close()
    return replies


@pytest.fixture(scope="module")
def kernel_id(voila_server):
    """A kernel started by a page request, as a visitor's browser would be given."""
    return fetch_kernel_id(voila_server.url)


@pytest.mark.parametrize("protocol", [None, V1_PROTOCOL], ids=["json-protocol", "v1-protocol"])
def test_websocket_execute_request_is_ignored(voila_server, kernel_id, tmp_path, protocol):
    marker = tmp_path / "executed.txt"
    code = f"import os\nopen({str(marker)!r}, 'w').write(str(os.getpid()))"
    ws_url = f"ws://127.0.0.1:{voila_server.port}/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4()}"

    # In a thread of its own: the session's Playwright runs an event loop in this one.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        replies = pool.submit(asyncio.run, _send_execute_and_probe(ws_url, code, protocol)).result()

    assert replies["kernel_info"] >= 1, "the channel is live: an allowed request is answered"
    assert replies["execute"] == 0, "no reply, output or status for the execute_request"
    assert not marker.exists(), "the code was not run"
    assert 'Received message of type "execute_request", which is not allowed. Ignoring.' in (voila_server.log_text())


@pytest.mark.parametrize(
    "path",
    [
        "/voila/files/index.ipynb",
        "/voila/files/./index.ipynb",
        "/voila/files/..%2Fatmp_hta%2Fserve.py",
        "/voila/files/../atmp_hta/serve.py",
        "/voila/files/%2E%2E/pyproject.toml",
        "/voila/render/..%2Fpyproject.toml",
        "/voila/render/..%2Fatmp_hta%2Fserve.py",
        "/voila/static/..%2F..%2Fvoila%2Fapp.py",
        "/index.ipynb",
        "/files/index.ipynb",
        "/api/contents/index.ipynb",
        "/voila/files/.git/config",
    ],
)
def test_source_files_are_not_served(voila_url, path):
    status, headers, body = request(voila_url, path=path)
    if status in (301, 302, 303, 307, 308):
        status, headers, body = request(voila_url, path=headers["Location"])
    assert status in (403, 404), (status, body[:200])
    for leak in ("import ipywidgets", "[project]", "def voila_command", "class Voila", "[core]"):
        assert leak not in body


def test_contents_api_lists_names_but_never_content(voila_url):
    status, _, body = request(voila_url, path="/voila/api/contents/index.ipynb")
    if status == 200:
        assert json.loads(body)["content"] is None
    else:
        assert status in (403, 404)
    assert "import ipywidgets" not in body


def test_rendered_page_has_no_sources(voila_url):
    status, _, page = request(voila_url, path="/voila/render/index.ipynb")
    assert status == 200
    assert "from atmp_hta.serve import" not in page and "index_html(DASHBOARDS" not in page


@pytest.mark.parametrize("query", ["?template=no-such-template", "?template=classic&theme=../../x"])
def test_visitor_cannot_choose_the_template(voila_url, query):
    """An address cannot switch the page template: an unknown one would otherwise hang the request."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        status, _, page = pool.submit(request, voila_url, "GET", f"/voila/render/index.ipynb{query}").result(timeout=60)
    assert status == 200
    assert 'class="jp-Notebook' in page or "jp-Notebook" in page  # the server's own (lab) template
    assert "from atmp_hta.serve import" not in page


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/terminals"),
        ("GET", "/terminals/1"),
        ("GET", "/api/terminals"),
        ("POST", "/api/terminals"),
        ("GET", "/terminals/websocket/1"),
        ("GET", "/api/kernels"),
        ("POST", "/api/kernels"),
        ("POST", "/api/kernels/00000000-0000-0000-0000-000000000000"),
        ("POST", "/api/kernels/00000000-0000-0000-0000-000000000000/restart"),
        ("GET", "/api/sessions"),
        ("POST", "/api/sessions"),
        ("GET", "/api/contents"),
        ("PUT", "/api/contents/evil.ipynb"),
        ("PUT", "/voila/api/contents/evil.ipynb"),
        ("GET", "/tree"),
        ("GET", "/lab"),
        ("GET", "/notebooks/index.ipynb"),
        ("GET", "/edit/index.ipynb"),
    ],
)
def test_code_running_endpoints_are_absent(voila_url, method, path):
    body = b"{}" if method in ("POST", "PUT") else None
    status, _, text = request(voila_url, method=method, path=path, body=body)
    assert status in (403, 404, 405), (status, text[:200])


def test_no_terminal_was_started(voila_server):
    """None of the requests above made the server start a terminal."""
    log = voila_server.log_text()
    assert "Terminal" not in log and "terminado" not in log.lower()
