"""The user requirements in validation/requirements.yaml, loaded and checked for form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REQUIREMENTS_FILE = Path(__file__).with_name("requirements.yaml")
ID_PATTERN = re.compile(r"URS-\d{3}")
RISKS = ("high", "medium", "low")
IMPACTS = ("patient safety", "product quality", "data integrity")
FIELDS = {"id", "area", "statement", "risk", "impact", "rationale", "clauses"}


class RequirementsError(ValueError):
    """The requirements file is malformed; `problems` says where."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Requirement:
    id: str
    area: str
    statement: str
    risk: str
    impact: str
    rationale: str
    clauses: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    """The requirements, in file order, and the clauses they cite with what each asks."""

    requirements: tuple[Requirement, ...]
    clauses: dict[str, str]
    path: Path

    def ids(self) -> set[str]:
        return {r.id for r in self.requirements}

    def next_id(self) -> str:
        numbers = [int(r.id.removeprefix("URS-")) for r in self.requirements]
        return f"URS-{max(numbers, default=0) + 1:03d}"


def load(path: Path = REQUIREMENTS_FILE) -> Catalogue:
    """Read and check the requirements file; raises RequirementsError listing every problem."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise RequirementsError(path, ["the file must hold `clauses` and `requirements`"])
    clauses = data.get("clauses") or {}
    problems: list[str] = []
    if not isinstance(clauses, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in clauses.items()
    ):
        problems.append("`clauses` must map each clause to what it asks")
        clauses = {}
    items = data.get("requirements")
    if not isinstance(items, list) or not items:
        raise RequirementsError(path, [*problems, "`requirements` must be a non-empty list"])
    requirements: list[Requirement] = []
    seen: set[str] = set()
    for position, item in enumerate(items, start=1):
        requirement, found = _requirement(item, position, clauses)
        problems += found
        if requirement is None:
            continue
        if requirement.id in seen:
            problems.append(f"{requirement.id} is defined twice")
        seen.add(requirement.id)
        requirements.append(requirement)
    if problems:
        raise RequirementsError(path, problems)
    return Catalogue(tuple(requirements), dict(clauses), path)


def _requirement(
    item: Any, position: int, clauses: dict[str, str]
) -> tuple[Requirement | None, list[str]]:
    if not isinstance(item, dict):
        return None, [f"requirement #{position} is not a mapping"]
    name = str(item.get("id", f"requirement #{position}"))
    problems = [f"{name}: unknown field '{k}'" for k in sorted(set(item) - FIELDS)]
    problems += [f"{name}: '{k}' is missing" for k in sorted(FIELDS - set(item))]
    if problems:
        return None, problems
    if not isinstance(item["id"], str) or not ID_PATTERN.fullmatch(item["id"]):
        problems.append(f"{name}: the id must look like URS-014")
    for text in ("area", "statement", "rationale"):
        if not isinstance(item[text], str) or not item[text].strip():
            problems.append(f"{name}: '{text}' must be text")
    if isinstance(item["statement"], str) and not item["statement"].rstrip().endswith("."):
        problems.append(f"{name}: the statement must be one sentence ending with a full stop")
    if item["risk"] not in RISKS:
        problems.append(f"{name}: risk must be one of {', '.join(RISKS)}")
    if item["impact"] not in IMPACTS:
        problems.append(f"{name}: impact must be one of {', '.join(IMPACTS)}")
    cited = item["clauses"]
    if not isinstance(cited, list) or not all(isinstance(c, str) for c in cited):
        problems.append(f"{name}: clauses must be a list of clause names")
        cited = []
    for clause in cited:
        if clause not in clauses:
            problems.append(f"{name}: clause '{clause}' is not listed under `clauses`")
    if problems:
        return None, problems
    requirement = Requirement(
        id=item["id"],
        area=item["area"].strip(),
        statement=" ".join(item["statement"].split()),
        risk=item["risk"],
        impact=item["impact"],
        rationale=" ".join(item["rationale"].split()),
        clauses=tuple(cited),
    )
    return requirement, []
