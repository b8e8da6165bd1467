"""Tests of atmp_hta.report: HTML reports with inputs hidden, static charts, PDF through the system Chromium.

The notebooks here are built in memory with their outputs already in place (no kernel needed): what a
papermill run would have saved.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from atmp_hta import report
from atmp_hta.report import ReportError, add_report_parser, export_report, find_chromium, render_html

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="50" height="10">'
    '<rect id="static-bar" width="30" height="10"/></svg>'
)


def _vegalite_spec() -> tuple[str, dict]:
    alt = pytest.importorskip("altair")
    chart = alt.Chart(pd.DataFrame({"arm": ["A", "B"], "qaly": [1.0, 2.0]})).mark_bar().encode(x="arm", y="qaly")
    alt.renderers.enable("mimetype")
    try:
        bundle = chart._repr_mimebundle_()
    finally:
        alt.renderers.enable("default")
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    mime = next(m for m in data if "vegalite" in m)
    return mime, data[mime]


def _executed_notebook(path: Path, vegalite: bool = False) -> Path:
    """A saved, executed notebook; with ``vegalite``, two charts saved by Altair's mimetype renderer."""
    cells = [
        new_markdown_cell("# Report title\n\nSome prose for the reader."),
        new_code_cell(
            "SECRET_INPUT_SOURCE = 1\nprint('printed output')",
            outputs=[new_output("stream", name="stdout", text="printed output\n")],
            execution_count=1,
        ),
        new_code_cell(
            "display(SVG(chart_svg)); display(HTML(table))",
            outputs=[
                new_output("display_data", data={"image/svg+xml": SVG, "text/plain": "<SVG>"}),
                new_output(
                    "display_data",
                    data={"text/html": "<table class='results'><tr><td>ICER 21000</td></tr></table>"},
                ),
            ],
            execution_count=2,
        ),
    ]
    if vegalite:
        mime, spec = _vegalite_spec()
        # Altair 6 says "application/vnd.vegalite.v6.json", which nbformat stores as text; Altair 5's
        # "...v5+json" is stored as a JSON object.
        for data in ({mime: json.dumps(spec)}, {"application/vnd.vegalite.v5+json": spec}):
            cells.append(
                new_code_cell(
                    "chart  # mimetype renderer",
                    outputs=[
                        new_output("execute_result", data={**data, "text/plain": "alt.Chart(...)"}, execution_count=3)
                    ],
                    execution_count=3,
                )
            )
    nb = new_notebook(
        cells=cells,
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    nbformat.write(nb, path)
    return path


def _svg_payloads(html: str) -> list[bytes]:
    found = re.findall(r'data-mime-type="image/svg\+xml".*?src="data:image/svg\+xml;base64,([^"]+)"', html, re.S)
    return [base64.b64decode(item) for item in found]


def test_html_hides_inputs_and_keeps_outputs(tmp_path):
    notebook = _executed_notebook(tmp_path / "analysis.ipynb")
    html = render_html(notebook)
    assert "SECRET_INPUT_SOURCE" not in html and "display(SVG" not in html
    assert "printed output" in html and "ICER 21000" in html and "Some prose for the reader." in html
    assert [b'id="static-bar"' in svg for svg in _svg_payloads(html)] == [True]
    assert "<title>analysis</title>" in html


def test_vegalite_outputs_become_static_svg(tmp_path):
    notebook = _executed_notebook(tmp_path / "charts.ipynb", vegalite=True)
    svgs = _svg_payloads(render_html(notebook))
    assert len(svgs) == 3
    for svg in svgs[1:]:
        assert svg.startswith(b"<svg") and b"qaly" in svg  # the axis title of the converted chart
    # The notebook on disk is untouched.
    assert "image/svg+xml" not in nbformat.read(notebook, as_version=4).cells[-1].outputs[0]["data"]


def test_export_html_next_to_the_notebook_and_in_a_run_dir(tmp_path):
    notebook = _executed_notebook(tmp_path / "analysis.ipynb")
    written = export_report(notebook)
    assert written == tmp_path / "analysis.html" and "ICER 21000" in written.read_text()

    run_dir = tmp_path / "runs" / "base-1234abcd"
    run_dir.mkdir(parents=True)
    _executed_notebook(run_dir / "notebook.ipynb")
    assert export_report(run_dir) == run_dir / "report.html"
    assert "<title>base-1234abcd</title>" in (run_dir / "report.html").read_text()

    custom = export_report(run_dir, output=tmp_path / "deep" / "er" / "out.html")
    assert custom.is_file()
    assert not list(tmp_path.rglob("*.tmp"))


def test_export_rejects_what_is_not_a_notebook(tmp_path):
    with pytest.raises(ValueError, match=r"^The 'notebook_or_run_dir' parameter of export_report must be an"):
        export_report(tmp_path)  # a directory without notebook.ipynb
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="an executed .ipynb file or a batch run directory"):
        export_report(tmp_path / "notes.txt")


def test_pdf_without_chromium_is_a_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    notebook = _executed_notebook(tmp_path / "analysis.ipynb")
    monkeypatch.setattr(report, "find_chromium", lambda: None)
    with pytest.raises(ReportError, match=r"PDF export needs Chromium.*apt-get install chromium"):
        export_report(notebook, pdf=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.ipynb"]


def test_cli_report(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="atmp-hta")
    add_report_parser(parser.add_subparsers(dest="command"))
    notebook = _executed_notebook(tmp_path / "analysis.ipynb")
    args = parser.parse_args(["report", str(notebook), "--output", str(tmp_path / "r.html")])
    assert args.handler(args) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "r.html")

    args = parser.parse_args(["report", str(tmp_path / "missing.ipynb")])
    assert args.handler(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("atmp-hta report: error: The 'notebook_or_run_dir' parameter")


def test_pdf_is_printed_by_chromium(tmp_path):
    # `make test` installs Debian's chromium and Playwright: a missing one is a failed set-up, not a skip
    assert find_chromium() is not None, "Debian's chromium is not installed (`make browser` installs it)"
    notebook = _executed_notebook(tmp_path / "analysis.ipynb")
    written = export_report(notebook, pdf=True)
    assert written == tmp_path / "analysis.pdf"
    data = written.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.ipynb", "analysis.pdf"]


def _network_scripts(html: str) -> list[str]:
    """Scripts the page would fetch from the network: <script src="http(s)://..."> and module imports."""
    found = re.findall(r"<script\b[^>]*\bsrc\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)", html, re.I)
    found += re.findall(r"\bimport\s*\(?\s*[\"']((?:https?:)?//[^\"']+)", html)
    return found


def test_html_report_loads_no_script_from_the_network(tmp_path):
    html = render_html(_executed_notebook(tmp_path / "charts.ipynb", vegalite=True))
    assert _network_scripts(html) == []  # no require.js, MathJax or Mermaid from a CDN: the report works offline
    assert "cdnjs.cloudflare.com" not in html and "unpkg.com" not in html
    assert "ICER 21000" in html and len(_svg_payloads(html)) == 3  # still the whole report


def _unexecuted_notebook(path: Path) -> Path:
    nb = new_notebook(
        cells=[new_markdown_cell("# Not run yet"), new_code_cell("x = 1"), new_code_cell("print(x)")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    nbformat.write(nb, path)
    return path


def test_an_unexecuted_notebook_is_refused_and_nothing_is_written(tmp_path, capsys):
    notebook = _unexecuted_notebook(tmp_path / "fresh.ipynb")
    with pytest.raises(ValueError, match=r"fresh\.ipynb has not been executed \(none of its 2 code cells has run\)"):
        export_report(notebook)
    run_dir = tmp_path / "run-1234abcd"
    run_dir.mkdir()
    _unexecuted_notebook(run_dir / "notebook.ipynb")
    with pytest.raises(ValueError, match="has not been executed"):
        export_report(run_dir)

    parser = argparse.ArgumentParser(prog="atmp-hta")
    add_report_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", str(notebook)])
    assert args.handler(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("atmp-hta report: error: ") and "fresh.ipynb has not been executed" in captured.err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["fresh.ipynb", "notebook.ipynb", "run-1234abcd"]
