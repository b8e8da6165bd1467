"""atmp_hta.serve: the Voilà command line, its validation, the landing page's HTML (no server started)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import pytest

from atmp_hta import serve as serve_module
from atmp_hta.exceptions import ParameterError
from atmp_hta.serve import (
    DASHBOARDS,
    DASHBOARDS_DIR,
    Culling,
    Dashboard,
    add_dashboard_parser,
    check_host,
    check_port,
    index_html,
    serve,
    voila_command,
    voila_environment,
)


@pytest.mark.parametrize("port", [0, -1, 65536, 70000, 8866.0, "8866", True, None])
def test_bad_port_is_refused_with_the_project_message(port):
    with pytest.raises(ParameterError) as info:
        check_port(port)
    assert str(info.value) == f"The 'port' parameter of dashboard must be in [1, 65535]. Got {port!r}."
    assert info.value.field == "port"


def test_port_70000_message_exactly():
    with pytest.raises(
        ParameterError, match=r"^The 'port' parameter of dashboard must be in \[1, 65535\]\. Got 70000\.$"
    ):
        voila_command(DASHBOARDS_DIR, port=70000)


@pytest.mark.parametrize("port", [1, 8866, 65535])
def test_good_ports_pass(port):
    assert check_port(port) == port


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "0.0.0.0", "dash.example.org", "host-1"])
def test_good_hosts_pass(host):
    assert check_host(host) == host


@pytest.mark.parametrize("host", ["", "http://x", "a b", "-bad", "x" * 64, "1.2.3.4:80", None, 127])
def test_bad_hosts_are_refused(host):
    with pytest.raises(ParameterError, match=r"^The 'host' parameter of dashboard must be an IP address"):
        check_host(host)


@pytest.mark.parametrize(
    "kwargs", [{"idle_timeout_s": 0}, {"interval_s": -5}, {"idle_timeout_s": 1.5}, {"connected": "yes"}]
)
def test_bad_culling_is_refused(kwargs):
    with pytest.raises(ParameterError, match="parameter of Culling"):
        Culling(**kwargs)


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="'dashboards_dir'"):
        voila_command(tmp_path / "nowhere")


def test_command_is_locked_down():
    argv = voila_command(culling=Culling(idle_timeout_s=30, interval_s=2, connected=True))
    assert argv[:4] == [sys.executable, "-m", "voila", str(DASHBOARDS_DIR)]
    for option in (
        "--no-browser",
        "--port=8866",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.preheat_kernel=False",
        "--VoilaConfiguration.allow_template_override=NOTEBOOK",
        "--VoilaConfiguration.allow_theme_override=NOTEBOOK",
        "--MappingKernelManager.cull_idle_timeout=30",
        "--MappingKernelManager.cull_interval=2",
        "--MappingKernelManager.cull_connected=True",
    ):
        assert option in argv
    assert not any("token" in a or "terminal" in a.lower() for a in argv)


def test_without_culling_no_cull_option():
    assert not any("cull" in a for a in voila_command(culling=None))


def test_voila_reads_the_command_as_intended():
    """Voilà's own parser accepts every option, and its kernel manager picks up the culling policy."""
    pytest.importorskip("voila")
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from voila.app import Voila

    argv = voila_command(port=8999, culling=Culling(idle_timeout_s=7, interval_s=3))
    app = Voila()
    previous = signal.getsignal(signal.SIGTERM)
    try:
        app.initialize(argv[3:])
    finally:
        signal.signal(signal.SIGTERM, previous)
    conf = app.voila_configuration
    assert (app.port, app.ip, app.port_retries, app.open_browser) == (8999, "127.0.0.1", 0, False)
    assert app.root_dir == str(DASHBOARDS_DIR)
    assert app.config_file_paths == [str(DASHBOARDS_DIR)]
    assert conf.strip_sources and not conf.show_tracebacks and not conf.preheat_kernel
    assert conf.allow_template_override == conf.allow_theme_override == "NOTEBOOK"
    assert conf.extension_language_mapping == {}  # only .ipynb files are rendered, never .py
    assert any(p.startswith(r".*\.(ipynb|py") for p in conf.file_denylist)
    manager = AsyncMappingKernelManager(config=app.config)
    assert (manager.cull_idle_timeout, manager.cull_interval) == (7, 3)
    assert (manager.cull_connected, manager.cull_busy) == (False, False)


def test_environment_uses_scratch_dirs_unless_set(tmp_path):
    env = voila_environment({"PATH": os.defpath}, scratch_dir=tmp_path)
    assert env["JUPYTER_DATA_DIR"] == str(tmp_path / "data")
    assert env["JUPYTER_RUNTIME_DIR"] == str(tmp_path / "runtime")
    kept = voila_environment({"JUPYTER_DATA_DIR": "/d", "JUPYTER_RUNTIME_DIR": "/r"}, scratch_dir=tmp_path)
    assert (kept["JUPYTER_DATA_DIR"], kept["JUPYTER_RUNTIME_DIR"]) == ("/d", "/r")
    with pytest.raises(ParameterError):
        voila_environment({})


def test_index_lists_every_registered_dashboard(tmp_path):
    (tmp_path / "present.ipynb").write_text("{}")
    entries = [Dashboard("present.ipynb", "Here", "one line"), Dashboard("absent.ipynb", "<b>", "x & y")]
    page = index_html(entries, directory=tmp_path)
    assert '<li><a href="present.ipynb" style="color: #1a5fb4; text-decoration: underline"><strong>Here' in page
    assert "</strong></a>: one line</li>" in page
    assert '<li class="atmp-missing">&lt;b&gt;: x &amp; y <em>(not installed)</em></li>' in page
    assert page.count("<li") == 2


def test_registry_points_into_the_dashboards_folder():
    assert DASHBOARDS and all(d.notebook.endswith(".ipynb") and "/" not in d.notebook for d in DASHBOARDS)
    assert len({d.notebook for d in DASHBOARDS}) == len(DASHBOARDS)
    assert (DASHBOARDS_DIR / "index.ipynb").is_file()


def test_dashboard_notebooks_are_stored_clean():
    """Dashboards are stored without outputs, and none writes into an ipywidgets.Output."""
    nbformat = pytest.importorskip("nbformat")
    for path in sorted(Path(DASHBOARDS_DIR).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name
                assert "Output(" not in cell.source, path.name


def test_parser_and_handler(monkeypatch):
    calls = []
    monkeypatch.setattr(serve_module, "serve", lambda **kw: calls.append(kw) or 0)
    parser = argparse.ArgumentParser(prog="atmp-hta")
    add_dashboard_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["dashboard", "--port", "9001", "--host", "::1", "--cull-idle", "30"])
    assert args.handler(args) == 0
    assert calls == [
        {
            "port": 9001,
            "host": "::1",
            "dashboards_dir": None,
            "culling": Culling(idle_timeout_s=30, interval_s=30),
            "preheat": True,
        }
    ]
    args = parser.parse_args(["dashboard", "--no-preheat"])
    args.handler(args)
    assert calls[-1]["preheat"] is False


def test_preheat_option_turns_on_the_kernel_pool():
    on = voila_command(preheat=True)
    off = voila_command()
    assert "--VoilaConfiguration.preheat_kernel=True" in on and "--VoilaConfiguration.default_pool_size=1" in on
    assert "--VoilaConfiguration.preheat_kernel=False" in off and "--VoilaConfiguration.default_pool_size=0" in off


def test_serve_prints_the_url_runs_voila_and_cleans_up(monkeypatch, capsys):
    seen = {}

    class FakeProcess:
        def __init__(self, argv, env):
            seen["argv"], seen["env"] = argv, env

        def wait(self, timeout=None):
            return 0

    monkeypatch.delenv("JUPYTER_DATA_DIR", raising=False)
    monkeypatch.delenv("JUPYTER_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(serve_module.subprocess, "Popen", FakeProcess)
    assert serve(port=9002) == 0
    out = capsys.readouterr()
    assert "http://127.0.0.1:9002/voila/render/index.ipynb" in out.out
    assert "--port=9002" in seen["argv"]
    scratch = Path(seen["env"]["JUPYTER_DATA_DIR"]).parent
    assert scratch.name.startswith("atmp-hta-voila-") and not scratch.exists()


def test_serve_warns_when_not_on_loopback(monkeypatch, capsys):
    monkeypatch.setattr(serve_module.subprocess, "Popen", lambda argv, env: type("P", (), {"wait": lambda s: 0})())
    serve(host="0.0.0.0", port=9003)
    assert "Warning: serving on 0.0.0.0" in capsys.readouterr().err


def test_bad_port_starts_nothing(monkeypatch):
    monkeypatch.setattr(serve_module.subprocess, "Popen", lambda *a, **k: pytest.fail("started"))
    with pytest.raises(ParameterError):
        serve(port=0)
