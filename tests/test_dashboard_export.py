"""Dashboard tables hold raw post text, so they offer no "Download as CSV" or bulk copy: a post such as
`=HYPERLINK("http://evil.example","click")` must not reach a spreadsheet as a live formula. (The advocate lists have
their own formula-safe downloads: tests/test_advocates_export.py.)"""

from __future__ import annotations

from streamlit import config

from brandpulse.serve import dashboard_command


def test_the_dashboard_starts_with_data_export_disabled() -> None:
    cmd = dashboard_command("127.0.0.1", 8501)
    assert cmd[cmd.index("--client.disableDataExport") + 1] == "true"
    # the option is one this Streamlit knows (an unknown one would be ignored or refused at start)
    assert "client.disableDataExport" in config._config_options_template
