"""`proxy.admin.config()` masks every secret a config can hold, wherever it is."""

from __future__ import annotations

import msgspec

from literllm import Proxy
from literllm.config import parse_config
from literllm.testing import FakeUpstream

MARK = "Zq9SeCrEt"
"""In every secret below and nowhere else."""
MASTER = f"sk-master-{MARK}-01"
TOML = f"""
[general]
master_key = "{MASTER}"

[[models]]
name = "chat"
provider_model = "openai/gpt-4o"
api_key = "sk-prov-{MARK}-02"
base_url = "https://user:pw-{MARK}-03@llm.example.test/v1"

[[aliases]]
pattern = "groq/*"
api_key = "gsk-{MARK}-04"

[[keys]]
key = "vk-{MARK}-05"
description = "team"

[state]
backend = "redis"

[state.backend_config]
url = "redis://:pw-{MARK}-06@127.0.0.1:6390/0"

[files]
backend = "s3"

[files.backend_config]
bucket = "b"
region = "us-east-1"
access_key_id = "AKIA{MARK}07"
secret_access_key = "sak-{MARK}-08"

[cache]
backend = "redis"
ttl_seconds = 60

[cache.backend_config]
endpoint = "tcp://127.0.0.1:6391"
password = "pw-{MARK}-09"

[alerts]
webhook_urls = ["https://hook:pw-{MARK}-10@hooks.example.test/x?token=t-{MARK}-11"]
secret = "whsec-{MARK}-12"
"""


def test_no_secret_of_any_table_is_shown() -> None:
    config = parse_config(TOML, "secrets.toml", environ={})
    proxy = Proxy.from_config(config, transport=FakeUpstream(), environ={})
    shown = msgspec.json.encode(proxy.admin.config(api_key=MASTER)).decode()
    assert MARK not in shown
    # what is masked is still there, recognisably
    assert '"bucket":"b"' in shown and "llm.example.test" in shown
    assert '"description":"team"' in shown
