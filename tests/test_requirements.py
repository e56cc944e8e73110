"""The version floors requirements.txt promises are the versions CI tests (.ci/oldest.txt)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pins(path, op):
    return dict(re.findall(rf"^([A-Za-z0-9_.-]+){re.escape(op)}([0-9][^\s#]*)", path.read_text(), re.M))


def test_the_oldest_versions_ci_tests_are_the_floors_of_requirements():
    floors = pins(ROOT / "requirements.txt", ">=")
    oldest = pins(ROOT / ".ci" / "oldest.txt", "==")
    assert set(oldest) == {"numpy", "scipy", "matplotlib"}
    for name, version in oldest.items():
        assert floors.get(name) and version.startswith(floors[name]), (
            f"requirements.txt says {name}>={floors.get(name)}, .ci/oldest.txt tests {name}=={version}")
