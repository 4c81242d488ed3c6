"""report.html: one self-contained page (no external resource, every figure embedded, user text escaped) written
next to every comparison; the terminal's table of chosen metrics."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hedgegym.cli import app
from hedgegym.config import parse_config
from hedgegym.evaluation.html_report import ReportTable, page, significant, table_html
from hedgegym.evaluation.reports import compare, write_outputs

SMALL = {"name": "report_check", "market": {"model": "gbm"}, "book": [{"strike": 100, "maturity": 0.1,
                                                                       "quantity": -5}],
         "simulation": {"n_steps": 10}, "costs": {"proportional": {"stock": 0.001}}}


def test_page_is_self_contained_and_escapes_user_text():
    frame = pd.DataFrame({"y": [1.5], "y_low": [1.0], "y_high": [2.0]}, index=pd.Index(["<script>x</script>"],
                                                                                         name="hedger"))
    text = page("a <b> title", [("Table", table_html(ReportTable(frame, ["y"], best="<script>x</script>")))],
                config_yaml="name: <x>", command="hedgegym compare --config a&b.yaml")
    assert "<script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text
    assert "a &lt;b&gt; title" in text and "a&amp;b.yaml" in text and "name: &lt;x&gt;" in text
    assert re.search(r"(src|href)=['\"](https?:)?//", text) is None  # nothing fetched from elsewhere
    assert '<tr class="best">' in text and "[1.000, 2.000]" in text


def test_compare_writes_a_report_with_every_figure_embedded(tmp_path):
    config = parse_config(SMALL)
    comparison = compare(config, n_paths=200, bootstrap=50)
    comparison.command = "hedgegym compare --config report_check.yaml"
    written = write_outputs(comparison, tmp_path / "out")
    report = (tmp_path / "out" / "report.html").read_text()
    pngs = [path for path in written if path.suffix == ".png"]
    assert len(pngs) >= 5 and report.count("data:image/png;base64,") == len(pngs)
    for name in comparison.table.index:
        assert f"<td>{name}</td>" in report
    best = comparison.table["y"].idxmin()
    assert f'<tr class="best"><td>{best}</td>' in report
    assert "hedgegym compare --config report_check.yaml" in report and "report_check" in report
    assert {"pnl_boxplot.png", "risk_cost_frontier.png"} <= {path.name for path in pngs}


@pytest.mark.parametrize(("value", "digits", "text"), [
    (10_580.0, 4, "10,580"), (380.0, 2, "380"), (376.4, 2, "380"), (0.00053, 2, "0.00053"), (99_999.0, 2, "100,000"),
    (-280.14, 4, "-280.1"), (0.0, 2, "0"), (np.float64(1.5e16), 2, "1.5e+16"),
])
def test_terminal_figures_have_no_exponent_in_the_usual_range(value, digits, text):
    assert significant(value, digits) == text


def test_compare_terminal_table_shows_the_chosen_metrics_and_refuses_unknown_ones(tmp_path):
    config = Path(tmp_path / "small.yaml")
    import yaml

    config.write_text(yaml.safe_dump(SMALL))
    runner = CliRunner()
    result = runner.invoke(app, ["compare", "-c", str(config), "--paths", "50", "--metrics", "rmse,turnover",
                                 "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "rmse" in result.output and "turnover" in result.output and "cvar_95" not in result.output
    assert (tmp_path / "out" / "report.html").is_file()
    result = runner.invoke(app, ["compare", "-c", str(config), "--paths", "50", "--metrics", "rmse,sharp"])
    assert result.exit_code == 2 and "unknown metric 'sharp'" in result.output and "sharpe" in result.output


def test_leaderboard_writes_a_report_with_its_tables_and_figures(tmp_path):
    from hedgegym.evaluation.leaderboard import build_leaderboard, read_summaries, write_leaderboard

    source = Path(__file__).resolve().parents[2] / "benchmarks" / "sweeps" / "sac_heston_residual"
    board = build_leaderboard(read_summaries(source), reps=200)
    written = write_leaderboard(board, tmp_path / "board")
    report = (tmp_path / "board" / "report.html").read_text()
    assert tmp_path / "board" / "report.html" in written
    assert report.count("data:image/png;base64,") == 2
    assert "IQM over all tasks" in report and "Task heston_straddle" in report and "<td>sac</td>" in report
