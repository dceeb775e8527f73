import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genaug_core.config import Config, DataConfig, PreprocessConfig, check_range
from genaug_core.errors import ConfigError


def test_defaults_round_trip_through_dict_and_toml():
    for cls in (DataConfig, PreprocessConfig):
        cfg = cls()
        assert cls.from_dict(cfg.to_dict()) == cfg
        assert cls.from_toml(cfg.to_toml()) == cfg


def test_data_config_with_params_round_trips_through_toml():
    cfg = DataConfig(source="shapes", params={"n": 64, "size": 16}, val_fraction=0.2, seed=7)
    assert DataConfig.from_toml(cfg.to_toml()) == cfg


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DataConfig().seed = 3  # type: ignore[misc]


def test_out_of_range_names_field_and_range():
    with pytest.raises(ConfigError, match=r"DataConfig.val_fraction = 0.9 is out of range; allowed: 0.05 to 0.5"):
        DataConfig(val_fraction=0.9)
    with pytest.raises(ConfigError, match=r"PreprocessConfig.image_size = 1000 .* 0 to 512"):
        PreprocessConfig(image_size=1000)


def test_unknown_key_lists_known_keys():
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) 'val_fractoin'; known: source, params, val_fraction"):
        DataConfig.from_dict({"val_fractoin": 0.1})


def test_wrong_types_are_named():
    with pytest.raises(ConfigError, match=r"DataConfig.seed must be a whole number, got '3'"):
        DataConfig.from_dict({"seed": "3"})
    with pytest.raises(ConfigError, match=r"DataConfig.seed must be a whole number, got True"):
        DataConfig.from_dict({"seed": True})
    with pytest.raises(ConfigError, match=r"PreprocessConfig.fit = 'stretch' is not allowed; choose one of"):
        PreprocessConfig.from_dict({"fit": "stretch"})
    with pytest.raises(ConfigError, match="must be a table of settings"):
        DataConfig.from_dict([1, 2])  # type: ignore[arg-type]


def test_valid_values_keep_their_types():
    cfg = DataConfig.from_dict({"val_fraction": 0.25, "seed": 3})
    assert isinstance(cfg.val_fraction, float) and cfg.seed == 3
    assert isinstance(PreprocessConfig.from_dict({"max_chars": 5}).max_chars, int)


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        DataConfig.from_toml("source = ")
    with pytest.raises(ConfigError, match=r"missing.toml: cannot read the config \(No such file"):
        DataConfig.load(tmp_path / "missing.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="bin.toml: the config is not UTF-8 text"):
        DataConfig.load(tmp_path / "bin.toml")


def test_pad_cannot_exceed_cut():
    with pytest.raises(ConfigError, match="pad_to = 20 exceeds max_chars = 10"):
        PreprocessConfig(max_chars=10, pad_to=20)


@given(st.floats(allow_nan=False), st.floats(0, 1), st.floats(1, 2))
def test_check_range_accepts_exactly_the_interval(value, lo, hi):
    inside = lo <= value <= hi
    try:
        check_range("X", "f", value, lo, hi)
        assert inside
    except ConfigError as exc:
        assert not inside
        assert "X.f" in str(exc)


def test_subclass_from_dict_rejects_nested_bad_values():
    @dataclasses.dataclass(frozen=True)
    class Outer(Config):
        data: DataConfig = dataclasses.field(default_factory=DataConfig)
        sizes: tuple[int, ...] = (1, 2)

    cfg = Outer.from_dict({"data": {"source": "names"}, "sizes": [4, 8]})
    assert cfg.data.source == "names" and cfg.sizes == (4, 8)
    assert Outer.from_toml(cfg.to_toml()) == cfg
    with pytest.raises(ConfigError, match="DataConfig.val_fraction"):
        Outer.from_dict({"data": {"val_fraction": 2.0}})
