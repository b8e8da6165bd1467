"""Serve the Voilà dashboards in ``dashboards/``.

:func:`voila_command` builds the command line, :func:`serve` runs it in the foreground and
:func:`add_dashboard_parser` plugs an ``atmp-hta dashboard`` subcommand into an ``argparse`` parser.
The server is configured so that a visitor can move the widgets of a dashboard and nothing else:

- bound to ``127.0.0.1`` unless another host is asked for;
- notebook sources stripped from the pages, tracebacks never sent to the browser, and the template
  and theme chosen by the server (a ``?template=`` or ``?theme=`` in the address is ignored);
- no terminals and no contents API with file content (Voilà never starts them), kernels accept only
  widget (comm) messages, so an ``execute_request`` from a browser is ignored;
- ``.ipynb``/``.py`` files and hidden files are never served as static files; only images are;
- no pool of pre-heated kernels, and idle kernels are shut down (*culled*): each page request starts a
  kernel, and a client that never opens the page's websocket would otherwise keep it forever;
- configuration comes from this command line only (plus a ``voila.json`` placed in the dashboards
  folder itself), not from a user's or the working directory's Jupyter configuration;
- Jupyter's data and runtime directories are private temporary directories unless the environment
  sets ``JUPYTER_DATA_DIR`` / ``JUPYTER_RUNTIME_DIR``: nothing is written to the user's home, and the
  kernel is the ``python3`` of the interpreter running Voilà (the one with ``atmp_hta`` installed).

The landing page ``dashboards/index.ipynb`` lists :data:`DASHBOARDS`; add an entry there when a new
dashboard notebook is added to the folder.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from atmp_hta.exceptions import invalid

__all__ = [
    "DASHBOARDS",
    "DASHBOARDS_DIR",
    "DEFAULT_CULLING",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "Culling",
    "Dashboard",
    "add_dashboard_parser",
    "check_host",
    "check_port",
    "dashboard_url",
    "index_html",
    "run_dashboard",
    "serve",
    "voila_command",
    "voila_environment",
]

#: The ``dashboards/`` folder of the source tree.
DASHBOARDS_DIR = Path(__file__).resolve().parent.parent / "dashboards"
DEFAULT_PORT = 8866
DEFAULT_HOST = "127.0.0.1"

_WHERE = "dashboard"
# JupyterLab's stylesheet makes links look like plain text: show them as links.
_LINK_STYLE = ' style="color: #1a5fb4; text-decoration: underline"'
_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$")
# Static files a dashboard may reference through /voila/files/: images only.
_FILE_ALLOWLIST = (r".*\.(png|jpe?g|gif|svg|webp)",)
# Never served, even if the allowlist is widened in a voila.json: sources and hidden paths.
_FILE_DENYLIST = (r".*\.(ipynb|py|pyc|yaml|yml|json|toml|cfg|ini)", r"(.*/)?\..*")


@dataclass(frozen=True)
class Dashboard:
    """One entry of the landing page.

    Parameters
    ----------
    notebook : str
        File name of the notebook, relative to the dashboards folder (``"benefit_risk.ipynb"``).
    title : str
        Short name shown as the link.
    summary : str
        What the dashboard shows, in one line.
    """

    notebook: str
    title: str
    summary: str


#: The dashboards listed on the landing page, in display order.
DASHBOARDS: tuple[Dashboard, ...] = (
    Dashboard(
        notebook="benefit_risk.ipynb",
        title="Benefit–risk",
        summary="decision, net-value waterfall, tipping points",
    ),
    Dashboard(
        notebook="cost_effectiveness.ipynb",
        title="Cost-effectiveness",
        summary="ICER table, CE plane, acceptability curve, EVPI and value-based price",
    ),
    Dashboard(
        notebook="shedding_planner.ipynb",
        title="Shedding-study planner",
        summary="viral-vector shedding: schedules compared, clearance, barrier-contraception period",
    ),
    Dashboard(
        notebook="surrogate_planner.ipynb",
        title="Surrogate-endpoint planner",
        summary="Phase II sizing on FIX activity and bleeding rates, lead-in design, surrogate validation",
    ),
)


@dataclass(frozen=True)
class Culling:
    """When the server shuts down idle kernels.

    Every page request starts a kernel. A kernel is culled once it has been idle (no message in or out)
    for ``idle_timeout_s`` seconds; the server looks for such kernels every ``interval_s`` seconds. A
    kernel with a browser connected is culled too only if ``connected`` is true: leave it false so that
    an assessor who reads a dashboard for a while without touching it keeps a working page.

    Parameters
    ----------
    idle_timeout_s : int
        Seconds of inactivity after which a kernel is shut down (> 0).
    interval_s : int
        Seconds between two checks (> 0).
    connected : bool
        Whether kernels with an open websocket may be culled as well.

    Examples
    --------
    >>> Culling(idle_timeout_s=5, interval_s=1).options()
    ['--MappingKernelManager.cull_idle_timeout=5', '--MappingKernelManager.cull_interval=1', \
'--MappingKernelManager.cull_connected=False', '--MappingKernelManager.cull_busy=False']
    """

    idle_timeout_s: int = 600
    interval_s: int = 60
    connected: bool = False

    def __post_init__(self):
        for name in ("idle_timeout_s", "interval_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise invalid(name, "a whole number of seconds >= 1", value, "Culling")
        if not isinstance(self.connected, bool):
            raise invalid("connected", "True or False", self.connected, "Culling")

    def options(self) -> list[str]:
        """Voilà command-line options for this policy (``MappingKernelManager`` traits)."""
        return [
            f"--MappingKernelManager.cull_idle_timeout={self.idle_timeout_s}",
            f"--MappingKernelManager.cull_interval={self.interval_s}",
            f"--MappingKernelManager.cull_connected={self.connected}",
            "--MappingKernelManager.cull_busy=False",
        ]


DEFAULT_CULLING = Culling()


def check_port(port, where: str = _WHERE) -> int:
    """Return ``port`` if it is a TCP port number, else raise :class:`~atmp_hta.exceptions.ParameterError`.

    Examples
    --------
    >>> check_port(8866)
    8866
    >>> check_port(70000)
    Traceback (most recent call last):
    ...
    atmp_hta.exceptions.ParameterError: The 'port' parameter of dashboard must be in [1, 65535]. Got 70000.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise invalid("port", "in [1, 65535]", port, where)
    return port


def check_host(host, where: str = _WHERE) -> str:
    """Return ``host`` if it is an IP address or a host name, else raise a ``ParameterError``.

    Examples
    --------
    >>> check_host("127.0.0.1"), check_host("::1"), check_host("localhost")
    ('127.0.0.1', '::1', 'localhost')
    >>> check_host("http://example.org")
    Traceback (most recent call last):
    ...
    atmp_hta.exceptions.ParameterError: The 'host' parameter of dashboard must be an IP address or a \
host name such as '127.0.0.1'. Got 'http://example.org'.
    """
    allowed = "an IP address or a host name such as '127.0.0.1'"
    if not isinstance(host, str):
        raise invalid("host", allowed, host, where)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOSTNAME.match(host):
            raise invalid("host", allowed, host, where) from None
    return host


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dashboard_url(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, notebook: str | None = "index.ipynb"):
    """Address of a dashboard page (or of the folder listing if ``notebook`` is None).

    Examples
    --------
    >>> dashboard_url("127.0.0.1", 8866)
    'http://127.0.0.1:8866/voila/render/index.ipynb'
    >>> dashboard_url("::1", 9000, None)
    'http://[::1]:9000/'
    """
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}/"
    return base if notebook is None else f"{base}voila/render/{notebook}"


def voila_command(
    dashboards_dir=None,
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    culling: Culling | None = DEFAULT_CULLING,
    preheat: bool = False,
) -> list[str]:
    """The argument list that runs Voilà on the dashboards folder.

    Parameters
    ----------
    dashboards_dir : path-like, optional
        Folder of dashboard notebooks; default :data:`DASHBOARDS_DIR`.
    port : int
        TCP port in [1, 65535]. Voilà is told not to try other ports if this one is taken.
    host : str
        Address to bind; ``127.0.0.1`` keeps the server on this machine.
    culling : Culling or None
        Idle-kernel policy; None leaves kernels running until the server stops (not advised).
    preheat : bool
        Keep one kernel per dashboard with its notebook already executed (Voilà's pre-heated kernel pool),
        so a page appears without waiting for the kernel's imports; the pool is refilled after each
        request. Pooled kernels are never culled (Voilà protects them); the kernels handed to visitors are.

    Returns
    -------
    list of str
        ``[sys.executable, "-m", "voila", ...]``, ready for :func:`subprocess.run`.

    Examples
    --------
    >>> argv = voila_command("dashboards", port=8900, culling=Culling(idle_timeout_s=30, interval_s=5))
    >>> argv[1:3], argv[3].endswith("dashboards"), "--port=8900" in argv, "--Voila.ip=127.0.0.1" in argv
    (['-m', 'voila'], True, True, True)
    >>> "--MappingKernelManager.cull_idle_timeout=30" in argv
    True
    """
    port = check_port(port)
    host = check_host(host)
    if culling is not None and not isinstance(culling, Culling):
        raise invalid("culling", "a Culling or None", culling, _WHERE)
    folder = Path(DASHBOARDS_DIR if dashboards_dir is None else dashboards_dir).resolve()
    if not folder.is_dir():
        raise invalid("dashboards_dir", "an existing folder", str(folder), _WHERE)
    argv = [
        sys.executable,
        "-m",
        "voila",
        str(folder),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={host}",
        "--Voila.port_retries=0",
        "--Voila.autoreload=False",
        # Read a voila.json only from the dashboards folder, never from the user's Jupyter config.
        "--Voila.config_file_paths",
        str(folder),
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        f"--VoilaConfiguration.preheat_kernel={bool(preheat)}",
        f"--VoilaConfiguration.default_pool_size={1 if preheat else 0}",
        "--VoilaConfiguration.progressive_rendering=False",
        # A visitor's ?template=/?theme= is ignored (an unknown template would hang the request with
        # its kernel); a dashboard notebook's own metadata may still choose them.
        "--VoilaConfiguration.allow_template_override=NOTEBOOK",
        "--VoilaConfiguration.allow_theme_override=NOTEBOOK",
    ]
    for pattern in _FILE_ALLOWLIST:
        argv += ["--VoilaConfiguration.file_allowlist", pattern]
    for pattern in _FILE_DENYLIST:
        argv += ["--VoilaConfiguration.file_denylist", pattern]
    if culling is not None:
        argv += culling.options()
    return argv


def voila_environment(base: Mapping[str, str] | None = None, scratch_dir=None) -> dict[str, str]:
    """Environment for the Voilà process.

    ``JUPYTER_DATA_DIR`` and ``JUPYTER_RUNTIME_DIR`` are kept if ``base`` sets them, else placed under
    ``scratch_dir``. ``JUPYTER_PLATFORM_DIRS`` is set so that Jupyter does not warn about it.

    Examples
    --------
    >>> env = voila_environment({"PATH": "/bin"}, scratch_dir="/scratch")
    >>> env["JUPYTER_DATA_DIR"].replace(os.sep, "/"), env["JUPYTER_RUNTIME_DIR"].replace(os.sep, "/")
    ('/scratch/data', '/scratch/runtime')
    >>> voila_environment({"JUPYTER_DATA_DIR": "/mine"}, scratch_dir="/scratch")["JUPYTER_DATA_DIR"]
    '/mine'
    """
    env = dict(os.environ if base is None else base)
    env.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    for key, sub in (("JUPYTER_DATA_DIR", "data"), ("JUPYTER_RUNTIME_DIR", "runtime")):
        if not env.get(key):
            if scratch_dir is None:
                raise invalid("scratch_dir", f"a folder when {key} is not set", None, "voila_environment")
            env[key] = str(Path(scratch_dir) / sub)
    return env


def index_html(dashboards: Sequence[Dashboard] = DASHBOARDS, directory=None) -> str:
    """HTML of the landing page: one line per dashboard, linked to its page.

    Parameters
    ----------
    dashboards : sequence of Dashboard
        Entries to list, in order.
    directory : path-like, optional
        Folder holding the notebooks; if given, an entry whose notebook is missing is listed without a
        link and marked "not installed".

    Examples
    --------
    >>> print(index_html([Dashboard("a.ipynb", "A & B", "one line")]))  # doctest: +ELLIPSIS
    <div class="atmp-index" ...<a href="a.ipynb" style=...><strong>A &amp; B</strong></a>: one line</li>...
    """
    rows = []
    for entry in dashboards:
        title = html.escape(entry.title)
        summary = html.escape(entry.summary)
        if directory is not None and not (Path(directory) / entry.notebook).is_file():
            rows.append(f'<li class="atmp-missing">{title}: {summary} <em>(not installed)</em></li>')
        else:
            href = html.escape(entry.notebook, quote=True)
            rows.append(f'<li><a href="{href}"{_LINK_STYLE}><strong>{title}</strong></a>: {summary}</li>')
    return (
        '<div class="atmp-index" style="max-width: 48rem; font-size: 15px; line-height: 1.6">'
        "<h2>ATMP benefit–risk and HTA dashboards</h2>"
        "<p>Open a dashboard, move its sliders, and read the decision as it updates.</p>"
        f'<ul class="atmp-dashboards">{"".join(rows)}</ul>'
        "</div>"
    )


def serve(
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    dashboards_dir=None,
    culling: Culling | None = DEFAULT_CULLING,
    preheat: bool = False,
) -> int:
    """Run Voilà on the dashboards folder until it stops (Ctrl+C); return its exit status.

    Prints the landing page's address first. Arguments as in :func:`voila_command`; invalid ones
    raise :class:`~atmp_hta.exceptions.ParameterError` before anything starts.
    """
    argv = voila_command(dashboards_dir, port=port, host=host, culling=culling, preheat=preheat)
    print(f"Dashboards at {dashboard_url(host, port)}", flush=True)
    if preheat:
        print("Warming one kernel per dashboard: the first page of each may take a minute after start-up.",
              flush=True)
    if not _is_loopback(host):
        print(
            f"Warning: serving on {host}: anyone who can reach this address can open the dashboards "
            "(and start kernels). Use 127.0.0.1 unless that is what you want.",
            file=sys.stderr,
            flush=True,
        )
    scratch = tempfile.mkdtemp(prefix="atmp-hta-voila-")
    try:
        process = subprocess.Popen(argv, env=voila_environment(scratch_dir=scratch))
        with _forward_stop_signals(process):
            try:
                return process.wait()
            except KeyboardInterrupt:
                # Ctrl+C reached Voilà as well: let it stop by itself, then make sure it has.
                try:
                    return process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    return _stop(process)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _stop(process: subprocess.Popen, timeout_s: float = 10.0) -> int:
    """Ask ``process`` to stop (SIGTERM), kill it if it has not after ``timeout_s``; return its status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@contextlib.contextmanager
def _forward_stop_signals(process: subprocess.Popen):
    """While serving, pass SIGTERM/SIGHUP on to Voilà, so that stopping us never orphans the server."""
    names = ("SIGTERM", "SIGHUP")
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def forward(signum, frame):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)

    for name in names:
        if hasattr(signal, name):
            number = getattr(signal, name)
            previous[number] = signal.signal(number, forward)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def add_dashboard_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``dashboard`` subcommand to an ``argparse`` subparsers object.

    The parser's default ``handler`` is :func:`run_dashboard`, so a CLI can do
    ``return args.handler(args)``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="atmp-hta")
    >>> _ = add_dashboard_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["dashboard", "--port", "9000", "--cull-idle", "120"])
    >>> args.port, args.host, args.cull_idle, args.handler is run_dashboard
    (9000, '127.0.0.1', 120, True)
    """
    parser = subparsers.add_parser(
        "dashboard",
        help="serve the Voilà dashboards",
        description="Serve the dashboards/ folder with Voilà (sources hidden, idle kernels culled).",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (default %(default)s)")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default %(default)s: this machine only)")
    parser.add_argument("--dashboards-dir", default=None, help="folder of dashboard notebooks")
    parser.add_argument(
        "--cull-idle",
        type=int,
        default=DEFAULT_CULLING.idle_timeout_s,
        metavar="SECONDS",
        help="shut down kernels idle this long (default %(default)s)",
    )
    parser.add_argument(
        "--preheat",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep one kernel per dashboard with its notebook already run, so pages open at once (default on)",
    )
    parser.set_defaults(handler=run_dashboard)
    return parser


def run_dashboard(args: argparse.Namespace) -> int:
    """Handler of the ``dashboard`` subcommand: :func:`serve` with the parsed options."""
    idle = args.cull_idle
    culling = Culling(idle_timeout_s=idle, interval_s=max(1, min(DEFAULT_CULLING.interval_s, idle)))
    return serve(port=args.port, host=args.host, dashboards_dir=args.dashboards_dir, culling=culling,
                 preheat=args.preheat)
