"""The shipped Alertmanager example (config/alertmanager/alertmanager.yml) is a config
Alertmanager accepts, and it sends every group and its resolution to tracker's intake."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import IN_CI

CONFIG = Path(__file__).resolve().parent.parent / "config" / "alertmanager" / "alertmanager.yml"
AMTOOL = shutil.which("amtool")


def test_the_shipped_alertmanager_config_passes_amtool_check_config():
    if AMTOOL is None:
        reason = "amtool (Debian package prometheus-alertmanager) is not installed"
        if IN_CI:
            pytest.fail(f"CI=true needs it: {reason}")
        pytest.skip(reason)
    checked = subprocess.run(
        [AMTOOL, "check-config", str(CONFIG)], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_shipped_alertmanager_config_sends_resolutions_to_the_intake():
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    (receiver,) = (r for r in config["receivers"] if r["name"] == config["route"]["receiver"])
    (webhook,) = receiver["webhook_configs"]
    assert webhook["url"].endswith("/api/v1/alerts/alertmanager")
    assert webhook["send_resolved"] is True
    assert config["route"]["group_by"] == ["alertname", "service"]
