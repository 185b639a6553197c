"""asterisk/ loads on its own: the files a stock Asterisk reads are there, every module
modules.conf loads finds its configuration, every #include resolves, and the queue and the
SIP endpoints the traces rely on exist.

No Asterisk package exists for this machine, so what Asterisk reads is written down here from
its sources: the files its core reads at start (main/*.c), and the file each module loaded by
modules.conf reads (CONFIG_OF). A module added to modules.conf without an entry here fails the
test, so the table cannot fall behind.
"""

from __future__ import annotations

import re

from callcenter.config import SETTINGS_BY_NAME

from .asterisk_conf import (
    ASTERISK_DIR, DIALPLAN_DIR, ConfigError, _INCLUDE_RE, config_files, load_config, parse_config,
    resolve_sections, strip_comments,
)
from .dialplan_model import load_dialplan, pjsip_endpoints

# Read by Asterisk's core at every start (asterisk.c, loader.c, logger.c, manager.c, cdr.c,
# cel.c, features_config.c, indications.c, ccss.c, udptl.c, named_acl.c).
CORE_FILES = {
    "asterisk.conf", "modules.conf", "logger.conf", "manager.conf", "cdr.conf", "cel.conf",
    "features.conf", "indications.conf", "ccss.conf", "udptl.conf", "acl.conf",
}  # fmt: skip

# The configuration file(s) each module reads when it loads (None: it reads none).
CONFIG_OF = {
    "res_pjproject.so": "pjproject.conf", "res_sorcery_config.so": None, "res_sorcery_memory.so": None,
    "res_sorcery_astdb.so": None, "res_pjsip.so": "pjsip.conf", "res_pjsip_session.so": None,
    "res_pjsip_pubsub.so": None, "chan_pjsip.so": "pjsip.conf",
    "res_pjsip_authenticator_digest.so": None, "res_pjsip_outbound_authenticator_digest.so": None,
    "res_pjsip_endpoint_identifier_user.so": None, "res_pjsip_endpoint_identifier_ip.so": "pjsip.conf",
    "res_pjsip_acl.so": "pjsip.conf", "res_pjsip_registrar.so": None,
    "res_pjsip_outbound_registration.so": "pjsip.conf", "res_pjsip_sdp_rtp.so": None,
    "res_pjsip_nat.so": None, "res_pjsip_caller_id.so": None, "res_pjsip_diversion.so": None,
    "res_pjsip_rfc3326.so": None, "res_pjsip_dtmf_info.so": None, "res_pjsip_refer.so": None,
    "res_pjsip_path.so": None, "res_pjsip_logger.so": None, "res_pjsip_header_funcs.so": None,
    "res_rtp_asterisk.so": "rtp.conf", "res_timing_timerfd.so": None,
    "res_musiconhold.so": "musiconhold.conf", "codec_ulaw.so": None, "codec_alaw.so": None,
    "codec_a_mu.so": None, "codec_gsm.so": None, "format_wav.so": None, "format_pcm.so": None,
    "format_gsm.so": None, "bridge_simple.so": None, "bridge_native_rtp.so": None,
    "bridge_builtin_features.so": None, "bridge_builtin_interval_features.so": None,
    "bridge_holding.so": None, "pbx_config.so": "extensions.conf", "app_dial.so": None,
    "app_queue.so": ("queues.conf", "queuerules.conf"), "app_mixmonitor.so": None, "app_chanspy.so": None,
    "app_stack.so": None, "app_exec.so": None, "app_verbose.so": None, "func_strings.so": None,
    "func_logic.so": None, "func_callerid.so": None, "func_channel.so": None,
    "func_timeout.so": None, "func_cdr.so": None, "cdr_csv.so": "cdr.conf",
    "cdr_custom.so": "cdr_custom.conf", "cdr_manager.so": "cdr_manager.conf",
    "cdr_pgsql.so": "cdr_pgsql.conf", "app_voicemail.so": "voicemail.conf",
}  # fmt: skip

# Included on purpose but kept out of git: the AMI secret (asterisk/README.md, step 3), and
# cdr_pgsql's password when that backend is used.
SECRET_INCLUDES = {"manager_secret.conf", "cdr_pgsql_secret.conf"}


def shipped() -> set[str]:
    return {p.name for p in config_files()}


def modules() -> tuple[dict[str, str], bool]:
    """(module -> 'load' | 'noload' | 'preload', autoload) as modules.conf says."""
    (section,) = [s for s in load_config("modules.conf") if s.name == "modules"]
    out, autoload = {}, True
    for opt in section.options:
        key = opt.key.lower()
        if key == "autoload":
            autoload = opt.value.lower() in ("yes", "true", "1")
        elif key in ("load", "noload", "preload", "require", "preload-require"):
            assert opt.value not in out, f"modules.conf:{opt.line}: {opt.value} listed twice"
            out[opt.value] = key
    return out, autoload


def test_config_files_exist_and_parse():
    names = shipped()
    for required in (
        "callcenter.conf",
        "callcenter-aliases.conf",
        "extensions.conf",
        "manager.conf",
        "pjsip.conf",
        "queues.conf",
        "modules.conf",
    ):
        assert required in names
    for path in config_files():
        parse_config(path.read_text(encoding="utf-8"), path.name, resolve=None)
    assert (ASTERISK_DIR / "README.md").is_file()


def test_the_core_finds_every_file_it_reads():
    missing = CORE_FILES - shipped()
    assert not missing, f"a stock Asterisk reads these at start: {sorted(missing)}"


def test_modules_are_loaded_explicitly_and_each_finds_its_configuration():
    listed, autoload = modules()
    # with autoload every built module loads, each looking for its own file: the set of
    # files needed would depend on the build. Explicit loading makes it known.
    assert autoload is False
    loaded = [m for m, how in listed.items() if how != "noload"]
    unknown = [m for m in listed if m not in CONFIG_OF]
    assert not unknown, f"add these to CONFIG_OF (the file they read, or None): {unknown}"
    needs = set()
    for module in loaded:
        files = CONFIG_OF[module] or ()
        needs.update((files,) if isinstance(files, str) else files)
    missing = needs - shipped()
    assert not missing, f"modules loaded without their configuration: {sorted(missing)}"
    # what the dialplan and the CRM rely on is loaded
    for module in ("chan_pjsip.so", "pbx_config.so", "app_dial.so", "app_queue.so",
                   "app_mixmonitor.so", "app_chanspy.so", "func_strings.so", "func_logic.so",
                   "format_wav.so", "res_musiconhold.so", "res_rtp_asterisk.so", "cdr_custom.so"):
        assert listed.get(module) == "load", module
    assert listed.get("cdr_manager.so") == "noload"


def test_requirements_of_loaded_modules_are_loaded_too():
    # from the modules' AST_MODULE_INFO .requires (Asterisk 22)
    requires = {
        "res_pjsip.so": {"res_pjproject.so", "res_sorcery_config.so", "res_sorcery_memory.so", "res_sorcery_astdb.so"},
        "chan_pjsip.so": {"res_pjsip.so", "res_pjsip_session.so", "res_pjsip_pubsub.so"},
        "res_pjsip_refer.so": {"res_pjsip.so", "res_pjsip_session.so", "res_pjsip_pubsub.so"},
        "res_pjsip_session.so": {"res_pjsip.so"},
        "res_pjsip_pubsub.so": {"res_pjsip.so"},
    }
    listed, _ = modules()
    for module, needed in requires.items():
        if listed.get(module) == "load":
            assert {m for m in needed if listed.get(m) == "load"} == needed, module


def test_every_include_resolves():
    found = 0
    for path in config_files():
        for lineno, line in enumerate(strip_comments(path.read_text(encoding="utf-8")), 1):
            m = _INCLUDE_RE.match(line)
            if not m:
                continue
            found += 1
            kind, name = m.groups()
            if name in SECRET_INCLUDES:
                assert kind == "tryinclude", f"{path.name}:{lineno}: a secret file must be #tryinclude"
                assert not (ASTERISK_DIR / name).exists(), f"{name} must never be committed"
                continue
            assert (ASTERISK_DIR / name).is_file() or (DIALPLAN_DIR / name).is_file(), \
                f"{path.name}:{lineno}: #{kind} {name!r} does not resolve in /etc/asterisk"
    assert found >= 3
    # and the parser agrees: following every include of every file raises nothing
    for path in config_files():
        parse_config(path.read_text(encoding="utf-8"), path.name)


def test_a_missing_include_is_an_error():
    try:
        parse_config('[x]\n#include "no-such-file.conf"\n', "t.conf")
    except ConfigError as exc:
        assert "no-such-file.conf" in str(exc)
    else:
        raise AssertionError("#include of a missing file must fail")
    assert parse_config('[x]\n#tryinclude "no-such-file.conf"\n', "t.conf")[0].name == "x"


def test_recordings_land_where_the_crm_looks():
    (directories,) = [s for s in load_config("asterisk.conf") if s.name == "directories"]
    spool = directories.get("astspooldir")
    assert spool + "/monitor" == SETTINGS_BY_NAME["asterisk_monitor_dir"].default
    assert directories.get("astetcdir") == "/etc/asterisk"


def test_no_file_is_a_template_asterisk_would_not_read():
    # every shipped .conf has at least one section or include, and no stray text
    for path in config_files():
        if path.suffix != ".conf" or path.name in ("acl.conf", "queuerules.conf"):  # empty on purpose
            continue
        sections = parse_config(path.read_text(encoding="utf-8"), path.name, resolve=None)
        text = "\n".join(strip_comments(path.read_text(encoding="utf-8")))
        assert sections or re.search(r"^#", text, re.M), path.name


def test_parser_handles_comments_and_templates():
    text = """
;-- a block
comment --;
[t](!)
type = endpoint ; trailing comment
context = a\\;b
[x](t)
aors = x
[x](+)
auth = x
"""
    secs = resolve_sections(parse_config(text, "t.conf", resolve=None))
    assert len(secs) == 1 and secs[0].name == "x"
    assert secs[0].get("type") == "endpoint"
    assert secs[0].get("context") == "a;b"
    assert secs[0].get("auth") == "x"



def test_queue_shop():
    queues = {s.name: s for s in resolve_sections(load_config("queues.conf"))}
    shop = queues["shop"]
    assert shop.get("strategy") == "ringall"
    assert shop.get_all("member") == ["PJSIP/101", "PJSIP/102"]
    assert int(shop.get("timeout")) > 0


def test_pjsip_endpoints():
    sections = resolve_sections(load_config("pjsip.conf"))
    endpoints = pjsip_endpoints()
    contexts = load_dialplan()
    by_type: dict[str, set[str]] = {}
    for s in sections:
        by_type.setdefault((s.get("type") or "").lower(), set()).add(s.name)
    for op in ("101", "102"):
        ep = endpoints[op]
        assert ep.get("context") == "operators"
        assert ep.get("auth") in by_type["auth"] and ep.get("aors") in by_type["aor"]
    assert endpoints["trunk"].get("context") == "from-trunk"
    for name, ep in endpoints.items():
        assert ep.get("context") in contexts, name
    transports = [s for s in sections if (s.get("type") or "").lower() == "transport"]
    assert transports and all(t.get("protocol") == "udp" for t in transports)
    acl = next(s for s in sections if (s.get("type") or "").lower() == "acl")
    assert acl.options[[o.key for o in acl.options].index("deny")].value == "0.0.0.0/0.0.0.0"
    # the queue's members are real endpoints
    queues = {s.name: s for s in resolve_sections(load_config("queues.conf"))}
    for member in queues["shop"].get_all("member"):
        assert member.split("/", 1)[1] in endpoints


