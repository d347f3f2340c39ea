"""Every setting is documented in the README."""
from qa_server.settings import Settings
from tests.conftest import ROOT


def test_every_setting_is_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"POLICYQA_{name.upper()}" not in readme]
    assert not missing, missing
