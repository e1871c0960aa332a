"""Warnings: configurations that load and run, but probably not the way they were meant."""

from __future__ import annotations

from .checks import is_provider_model
from .schema import Config

__all__ = ["config_warnings"]


def config_warnings(config: Config) -> list[str]:
    """Human-readable warnings, most serious first. Pure: reads nothing but `config`.

    Call it after `apply_overrides`, so a master key from a flag or the environment counts.
    """
    warnings: list[str] = []
    if config.general.master_key is None and not config.keys:
        warnings.append(
            "no master key and no [[keys]]: the gateway is closed, every request will be "
            "rejected (set [general] master_key, --master-key, LITER_LLM_MASTER_KEY, "
            "or add a [[keys]] entry)"
        )
    if config.files is not None and config.files.backend == "memory":
        warnings.append(
            '[files] backend = "memory": uploaded files vanish on restart '
            '(use "fs", "s3", "gcs" or "azblob" to keep them)'
        )
    health = config.health
    if health is not None and health.probe_model is not None and health.interval_secs is None:
        warnings.append(
            "[health] probe_model is set without interval_secs: health probes are disabled"
        )
    if not config.models:
        for index, key in enumerate(config.keys):
            bare = [m for m in key.models if not is_provider_model(m)]
            if bare:
                warnings.append(
                    f"[[keys]] #{index + 1} allows {', '.join(bare)}, but no [[models]] are "
                    "defined: requests for those names cannot be routed"
                )
    for index, alias in enumerate(config.aliases):
        if alias.api_key is None and alias.base_url is None:
            warnings.append(
                f'[[aliases]] #{index + 1} ("{alias.pattern}") sets neither api_key nor '
                "base_url (an unset ${VAR} counts as not set): the names it matches are "
                "served with the provider's own environment variable and endpoint"
            )
    return warnings
