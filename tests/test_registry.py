import pytest

from genaug_core.errors import GenAugError, RegistryError
from genaug_core.registry import Registry


def test_register_get_and_list():
    reg: Registry = Registry("widget")

    @reg.register("b")
    def b():
        return 2

    reg.add("a", 1)
    assert reg.get("b") is b and reg.get("a") == 1
    assert reg.names() == ["b", "a"] and "a" in reg and len(reg) == 2


def test_unknown_name_lists_known_ones():
    reg: Registry = Registry("widget")
    reg.add("x", 1)
    reg.add("y", 2)
    with pytest.raises(RegistryError, match=r"unknown widget 'z'; known: x, y") as info:
        reg.get("z")
    assert isinstance(info.value, GenAugError)
    assert str(info.value) == "unknown widget 'z'; known: x, y"


def test_duplicates_and_bad_names_are_refused():
    reg: Registry = Registry("widget")
    reg.add("x", 1)
    with pytest.raises(ValueError, match="already registered"):
        reg.add("x", 2)
    with pytest.raises(ValueError, match="non-empty"):
        reg.add(" x", 2)
