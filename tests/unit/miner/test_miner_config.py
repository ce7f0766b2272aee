from __future__ import annotations

import pytest

from dashcam.errors import ConfigError
from dashcam.miner.config import parse_config

GOOD = "name: cars\nfilter:\n  siglip:\n    model: ./m\n    positive: [a car]\n"


def test_good_config_has_defaults() -> None:
    cfg = parse_config(GOOD)
    assert cfg.filter.siglip is not None and cfg.filter.siglip.threshold == 0.5
    assert cfg.workers.numprocs.extract == 1


@pytest.mark.parametrize(
    ("text", "key", "why"),
    [
        (GOOD + "    threshold: 1.5\n", "filter.siglip.threshold", "less than or equal to 1"),
        ("name: cars\nfilter:\n  siglip:\n    model: ./m\n", "filter.siglip.positive", "required"),
        (
            "name: cars\nfilter:\n  siglip:\n    model: m\n    positive: []\n",
            "filter.siglip.positive",
            "at least 1",
        ),
        ("name: cars\nextract:\n  every_sec: 2\n", "extract.every_sec", "not permitted"),
        ("name: cars\ncolour: red\n", "colour", "not permitted"),
        ("name: ../x\n", "name", "letters"),
        ("name: cars\ndedup:\n  max_distance: 40\n", "dedup.max_distance", "less than"),
        ("name: cars\nextract:\n  mode: sometimes\n", "extract.mode", "interval"),
    ],
)
def test_bad_config_names_key_and_reason(text: str, key: str, why: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="config.yaml")
    msg = str(err.value)
    assert f"{key}: " in msg and why in msg, msg


def test_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match="mapping"):
        parse_config("- a\n- b\n")
