"""Reports from executed workbooks: static HTML (inputs hidden) and PDF.

An executed workbook (a batch run's ``notebook.ipynb``, or any notebook saved with outputs) becomes a report
for readers who do not read code: :func:`render_html` keeps every output (text, tables, ``text/html``,
``image/svg+xml``, PNG) and hides every input cell. Charts must be static to survive offline: workbooks
should enable Altair's ``"svg"`` renderer; Vega-Lite outputs saved with the ``mimetype`` renderer are
converted here to SVG with ``vl-convert`` as a fallback.

Reports are fully offline: the page loads no script from the network (nbconvert's ``lab`` template is
used without its require.js, MathJax and Mermaid loaders, see :data:`OFFLINE_TEMPLATE`), so LaTeX in
Markdown cells shows as its source.

PDF is printed from that HTML by Debian's Chromium driven through Playwright's Python package (no browser
download: the system ``chromium`` is used through ``executable_path``).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import copy
import json
import os
import re
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from atmp_hta.exceptions import ParameterError, invalid
from atmp_hta.records import atomic_write_bytes, atomic_write_text

__all__ = ["ReportError", "add_report_parser", "export_report", "find_chromium", "html_to_pdf", "render_html"]

#: Name of the executed notebook inside a batch run directory (see :mod:`atmp_hta.batch`).
RUN_NOTEBOOK = "notebook.ipynb"

#: Chromium flags verified on the project's machines (see STACK.md).
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: nbconvert's ``lab`` template without the scripts it would load from a CDN (require.js, MathJax, Mermaid,
#: the widget renderer): a report must open offline and print to PDF without waiting on the network.
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
_OFFLINE_TEMPLATE_NAME = "atmp_hta_offline_report.html.j2"

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_VEGALITE_MIME = re.compile(r"^application/vnd\.vegalite\.v(\d+)[.+]json$")  # v5+json, v6.json


class ReportError(RuntimeError):
    """A report cannot be produced on this machine (no Chromium, no Playwright, or printing failed)."""


def find_chromium() -> str | None:
    """Return the path of a Chromium executable on ``PATH`` (``chromium`` first), or ``None``."""
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _load_notebook(notebook: Any) -> Any:
    import nbformat

    if isinstance(notebook, str | os.PathLike):
        return nbformat.read(os.fspath(notebook), as_version=4)
    return copy.deepcopy(notebook)


def _static_charts(nb: Any) -> Any:
    """Give every Vega-Lite output an SVG rendering (in place) so that it shows offline and in PDF."""
    try:
        import vl_convert
    except ImportError:  # pragma: no cover - vl-convert is a declared dependency
        return nb
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if not data:
                continue
            mimes = [m for m in data if _VEGALITE_MIME.match(m)]
            if not mimes or "image/svg+xml" in data:
                continue
            spec = data[mimes[0]]
            try:
                # nbformat stores "+json" mimetypes as objects, others (Altair 6's "v6.json") as text
                svg = vl_convert.vegalite_to_svg(json.loads(spec) if isinstance(spec, str) else spec)
            except Exception:  # a spec vl-convert cannot handle: leave the output as it is
                continue
            data["image/svg+xml"] = svg
            # Altair's default renderer also emits text/html that loads Vega from a CDN: blank offline.
            data.pop("text/html", None)
    return nb


def render_html(notebook: Any, title: str | None = None) -> str:
    """Render an executed notebook as a standalone HTML report with every input cell hidden.

    Parameters
    ----------
    notebook : path-like or nbformat.NotebookNode
        The executed workbook (it is not modified).
    title : str, optional
        The page title; defaults to the notebook's file name.

    Returns
    -------
    str
        The HTML document. Outputs keep their richest static form (``text/html``, ``image/svg+xml``,
        PNG, text); Vega-Lite outputs without an SVG rendering are converted to SVG first.
    """
    nb = _static_charts(_load_notebook(notebook))
    if title is None:
        title = Path(os.fspath(notebook)).stem if isinstance(notebook, str | os.PathLike) else "report"
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


_local = threading.local()


def _exporter() -> Any:
    """One HTML exporter per thread: building one compiles its templates (~0.3 s); rendering is cheap."""
    exporter = getattr(_local, "html_exporter", None)
    if exporter is None:
        import jinja2
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            extra_loaders=[jinja2.DictLoader({_OFFLINE_TEMPLATE_NAME: OFFLINE_TEMPLATE})],
            template_file=_OFFLINE_TEMPLATE_NAME,
        )
        _local.html_exporter = exporter
    return exporter


def _print_pdf(html_path: Path) -> bytes:
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page()
            # The report is self-contained; a notebook's own HTML output might still link to the network,
            # which would only delay the load offline.
            page.route(re.compile(r"^https?://"), lambda route: route.abort())
            page.goto(html_path.as_uri(), wait_until="load")
            return page.pdf(
                format="A4",
                print_background=True,
                margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"},
            )
        finally:
            browser.close()


def _check_pdf_support() -> None:
    if find_chromium() is None:
        raise ReportError(
            "PDF export needs Chromium, which is not on PATH: install Debian's package "
            "(apt-get install chromium) or export HTML instead."
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        raise ReportError(
            "PDF export needs the playwright Python package (pip install playwright; the system "
            "chromium is used, do not run `playwright install`)."
        ) from exc


def html_to_pdf(html: str | os.PathLike[str], output: str | os.PathLike[str]) -> Path:
    """Print an HTML file to PDF with headless Chromium, writing ``output`` atomically.

    Parameters
    ----------
    html : path-like
        The HTML file to print.
    output : path-like
        The PDF to write (its directory must exist).

    Returns
    -------
    pathlib.Path
        ``output``.

    Raises
    ------
    ReportError
        If Chromium or Playwright is missing, or printing fails.
    """
    _check_pdf_support()
    html_path = Path(html).resolve()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        in_loop = False
    else:
        in_loop = True
    try:
        if in_loop:  # Playwright's sync API refuses to run inside an event loop (e.g. a Jupyter kernel)
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
                pdf = pool.submit(_print_pdf, html_path).result()
        else:
            pdf = _print_pdf(html_path)
    except ReportError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ReportError(f"Printing {html_path.name} to PDF failed: {type(exc).__name__}: {first}") from exc
    return atomic_write_bytes(output, pdf)


def _resolve_notebook(notebook_or_run_dir: str | os.PathLike[str]) -> tuple[Path, bool]:
    path = Path(notebook_or_run_dir)
    if path.is_dir() and (path / RUN_NOTEBOOK).is_file():
        return path / RUN_NOTEBOOK, True
    if path.is_file() and path.suffix == ".ipynb":
        return path, False
    raise invalid(
        "notebook_or_run_dir",
        f"an executed .ipynb file or a batch run directory containing {RUN_NOTEBOOK}",
        os.fspath(notebook_or_run_dir),
        where="export_report",
    )


def _check_executed(nb: Any, notebook: Path) -> None:
    """Refuse a notebook none of whose code cells has run: its report would be empty."""
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if code and not any(cell.get("execution_count") is not None or cell.get("outputs") for cell in code):
        raise ParameterError(
            f"{notebook} has not been executed (none of its {len(code)} code cells has run), so its report "
            f"would be empty: execute it first (papermill {notebook.name} executed.ipynb, or atmp-hta batch) "
            "and export the executed copy.",
            field="notebook_or_run_dir",
        )


def export_report(
    notebook_or_run_dir: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    pdf: bool = False,
) -> Path:
    """Export an executed workbook as an HTML report (inputs hidden) or as a PDF.

    Parameters
    ----------
    notebook_or_run_dir : path-like
        An executed ``.ipynb`` file, or a batch run directory (holding ``notebook.ipynb``).
    output : path-like, optional
        Where to write. Default: ``report.html``/``report.pdf`` inside a run directory, otherwise the
        notebook's path with the suffix ``.html``/``.pdf``. Missing parent directories are created.
    pdf : bool, default False
        Write a PDF (printed by headless Chromium) instead of HTML.

    Returns
    -------
    pathlib.Path
        The file written (atomically: an interrupted export leaves no partial report).

    Raises
    ------
    ValueError
        If ``notebook_or_run_dir`` is neither a notebook nor a run directory, or is a notebook that has not
        been executed (no code cell has run). Nothing is written.
    ReportError
        If ``pdf=True`` and Chromium or Playwright is missing, or printing fails. Checked before anything
        is written.
    """
    notebook, is_run_dir = _resolve_notebook(notebook_or_run_dir)
    suffix = ".pdf" if pdf else ".html"
    if output is None:
        output = notebook.parent / f"report{suffix}" if is_run_dir else notebook.with_suffix(suffix)
    output = Path(output)
    if output.is_dir():
        raise invalid("output", "a file path, not a directory", os.fspath(output), where="export_report")
    if pdf:
        _check_pdf_support()
    nb = _load_notebook(notebook)
    _check_executed(nb, notebook)
    title = notebook.parent.name if is_run_dir else notebook.stem
    html = render_html(nb, title=title)
    output.parent.mkdir(parents=True, exist_ok=True)
    if not pdf:
        return atomic_write_text(output, html)
    with tempfile.TemporaryDirectory(prefix=".report-", dir=output.parent) as tmp:
        html_path = Path(tmp) / f"{title}.html"
        html_path.write_text(html, encoding="utf-8")
        return html_to_pdf(html_path, output)


def _handle_report(args: argparse.Namespace) -> int:
    try:
        path = export_report(args.notebook_or_run, output=args.output, pdf=args.pdf)
    except (ValueError, TypeError, ReportError, OSError) as exc:
        message = " ".join(str(exc).split())
        print(f"atmp-hta report: error: {message}", file=sys.stderr)
        return 2
    print(path)
    return 0


def add_report_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``report`` subcommand on an :mod:`argparse` subparsers object.

    ``report NOTEBOOK_OR_RUN [--pdf] [--output PATH]``. The parsed namespace carries ``handler``, a
    function ``handler(args) -> int`` returning the exit status (0 written, 2 error: one line on stderr).

    Returns
    -------
    argparse.ArgumentParser
        The subcommand's parser.
    """
    parser = subparsers.add_parser(
        "report",
        help="export an executed workbook (or a batch run) as an HTML or PDF report",
        description="Render an executed workbook as a report with input cells hidden: HTML by default, "
        "PDF with --pdf (printed by the system chromium).",
    )
    parser.add_argument("notebook_or_run", metavar="NOTEBOOK_OR_RUN", help="executed .ipynb or batch run directory")
    parser.add_argument("--pdf", action="store_true", help="write a PDF instead of HTML")
    parser.add_argument(
        "--output",
        "-o",
        default=None,
        metavar="PATH",
        help="file to write (default: next to the notebook, or report.html/.pdf in a run directory)",
    )
    parser.set_defaults(handler=_handle_report)
    return parser


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m atmp_hta.report")
    add_report_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", *(sys.argv[1:] if argv is None else argv)])
    return args.handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())
