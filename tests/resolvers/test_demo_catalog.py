"""The demo catalog file: read into the domain types, and refused loudly when it breaks a rule."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from domain.catalog import ContentKind, Difficulty
from resolvers.demo import CCP, CONTENT, PROFILES, SAA, SKILLS
from resolvers.demo.catalog import CATALOG_FILE, DemoCatalogError, load_catalog

VALID: dict[str, Any] = {
    "skills": [
        {"id": "iam", "name": "IAM", "domain": "Security"},
        {"id": "s3", "name": "S3"},
    ],
    "modules": [
        {
            "certification": "SAA",
            "name": "SAA 1",
            "items": [
                {
                    "id": "saa-1",
                    "title": "IAM basics",
                    "kind": "lesson",
                    "skillIds": ["iam", "s3"],
                    "category": "IAM",
                    "difficulty": "beginner",
                    "estimatedMinutes": 20,
                },
                {"id": "saa-2", "title": "  A bare question  ", "kind": "question"},
            ],
        }
    ],
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_shipped_file_is_the_catalog_the_package_exports() -> None:
    catalog = load_catalog(CATALOG_FILE)

    assert catalog.skills == SKILLS and catalog.content == CONTENT
    assert {item.certification for item in CONTENT} == {SAA, CCP}
    assert all(item.module for item in CONTENT)
    known = {skill.id for skill in SKILLS}
    assert all(set(item.skill_ids) <= known for item in CONTENT)
    assert {item_id for profile in PROFILES for item_id in profile.path} <= {
        item.id for item in CONTENT
    }


def test_a_valid_file_becomes_domain_types_with_the_module_on_every_item(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, VALID))

    assert [skill.id for skill in catalog.skills] == ["iam", "s3"]
    assert catalog.skills[1].domain is None
    first, second = catalog.content
    assert first.kind is ContentKind.LESSON and first.difficulty is Difficulty.BEGINNER
    assert first.skill_ids == ("iam", "s3") and first.estimated_minutes == 20
    assert (first.certification, first.module) == ("SAA", "SAA 1")
    # Optional fields may be left out; text is normalised as a catalog upsert would.
    assert second.title == "A bare question"
    assert second.skill_ids == () and second.difficulty is None and second.module == "SAA 1"
    assert catalog.path("SAA") == ("saa-1", "saa-2") and catalog.path("CCP") == ()


def broken(change: str) -> dict[str, Any]:
    """VALID with one thing broken, described as `path=json value` or `path` (removed)."""
    data = copy.deepcopy(VALID)
    where, _, value = change.partition("=")
    *parents, last = where.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    key: Any = int(last) if last.isdigit() else last
    if value:
        target[key] = json.loads(value)
    else:
        del target[key]
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('modules.0.items.0.kind="video"', "modules[0].items[0].kind: must be one of lesson,"),
        ('modules.0.items.0.difficulty="hard"', "modules[0].items[0].difficulty: must be one"),
        ("modules.0.items.0.estimatedMinutes=0", "modules[0].items[0].estimatedMinutes: must be"),
        ('modules.0.items.0.estimatedMinutes="20"', "items[0].estimatedMinutes: must be a whole"),
        ("modules.0.items.1.title", "modules[0].items[1].title: is required"),
        ('modules.0.items.1.title="  "', "modules[0].items[1].title: must be 1-300 characters"),
        ('modules.0.items.0.skillIds.1="ec2"', "items[0].skillIds[1]: unknown skill 'ec2'"),
        ('modules.0.items.0.skillIds.1="iam"', "modules[0].items[0].skillIds: must not repeat"),
        ('modules.0.items.0.skillIds="iam"', "modules[0].items[0].skillIds: must be a JSON array"),
        ("modules.0.items.0.minutes=20", "modules[0].items[0].minutes: unknown key"),
        ('modules.0.items.1.id="saa-1"', "modules[0].items[1].id: 'saa-1' appears more than once"),
        ('modules.0.items.1.id="no spaces"', "modules[0].items[1].id: must be 1-128 characters"),
        ("modules.0.certification", "modules[0].certification: is required"),
        ("modules.0.name=3", "modules[0].name: must be a string"),
        ('skills.1.id="iam"', "skills[1].id: 'iam' appears more than once"),
        ("skills.0.name", "skills[0].name: is required"),
        ("skills=[]", "modules[0].items[0].skillIds[0]: unknown skill 'iam'"),
        ("modules", "modules: is required"),
    ],
)
def test_a_broken_file_fails_naming_the_file_and_the_field(
    tmp_path: Path, change: str, message: str
) -> None:
    with pytest.raises(DemoCatalogError) as raised:
        load_catalog(write(tmp_path, broken(change)))

    assert str(raised.value).startswith("catalog.json: ")
    assert message in str(raised.value)


def test_a_file_that_is_not_json_fails_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text('{"skills": [', encoding="utf-8")

    with pytest.raises(DemoCatalogError, match=r"^catalog\.json: cannot be read"):
        load_catalog(path)
    with pytest.raises(DemoCatalogError, match=r"^catalog\.json: \(file\): must be a JSON object"):
        load_catalog(write(tmp_path, []))
