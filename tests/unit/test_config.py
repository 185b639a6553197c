"""Settings: precedence, parsing, and every setting documented in the README."""

from pathlib import Path

import pytest

from callcenter.config import SETTINGS, SettingsError, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented_in_the_readme():
    text = README.read_text(encoding="utf-8")
    missing = [s.env for s in SETTINGS if s.env not in text]
    assert not missing, f"settings missing from README.md: {missing}"


def test_required_settings_exist_with_their_defaults():
    s = load_settings(environ={})
    assert s.db_url.startswith("sqlite+aiosqlite:///")
    assert (s.http_host, s.http_port) == ("127.0.0.1", 8080)
    assert s.default_region == "RU" and s.timezone == "Europe/Moscow"
    for name in ("secret_key", "recordings_dir", "ami_host", "ami_port", "ami_username",
                 "ami_secret"):
        assert hasattr(s, name)


def test_precedence_cli_over_env_over_file_over_default(tmp_path):
    cfg = tmp_path / "cc.toml"
    cfg.write_text('http_port = 7000\ntimezone = "Asia/Omsk"\ndefault_region = "UA"\n')
    env = {"CALLCENTER_HTTP_PORT": "7100", "CALLCENTER_TIMEZONE": "Asia/Yekaterinburg"}
    s = load_settings({"http_port": "7200"}, environ=env, config_file=cfg)
    assert s.http_port == 7200 and s.sources["http_port"] == "cli"
    assert s.timezone == "Asia/Yekaterinburg" and s.sources["timezone"] == "env"
    assert s.default_region == "UA" and s.sources["default_region"] == "file"
    assert s.http_host == "127.0.0.1" and s.sources["http_host"] == "default"


@pytest.mark.parametrize("env,message", [
    ({"CALLCENTER_HTTP_PORT": "eighty"}, "http_port"),
    ({"CALLCENTER_TIMEZONE": "Moscow/Kremlin"}, "timezone"),
    ({"CALLCENTER_COOKIE_SECURE": "perhaps"}, "cookie_secure"),
])
def test_bad_values_name_the_setting(env, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=env)


def test_config_file_errors_are_clear(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(environ={}, config_file=tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("http_port = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(environ={}, config_file=bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("colour = 'red'\n")
    with pytest.raises(SettingsError, match="unknown settings colour"):
        load_settings(environ={}, config_file=unknown)


def test_secrets_are_masked_in_the_public_view():
    s = load_settings(environ={"CALLCENTER_AMI_SECRET": "s3cr3t", "CALLCENTER_SECRET_KEY": "k"})
    public = s.public()
    assert public["ami_secret"] == "***" and public["secret_key"] == "***"
    assert "s3cr3t" not in repr(public)
