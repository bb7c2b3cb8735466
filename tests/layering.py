"""Contract types of import-linter (``contract_types`` in pyproject.toml): the layering
rules written as allowlists, so a module or slice added later is checked without being
named anywhere.

Patterns name modules by their dotted path: ``*`` is one part, ``**`` any number of
parts (none included), ``{slice}`` the importer's own slice (``keepwell.<slice>``'s
second part). An exception is written ``"importer -> imported: reason"`` (patterns
allowed); one without a reason, or one that no import uses, breaks the contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


def _regex(pattern: str, slice_name: str | None = None) -> re.Pattern[str]:
    if slice_name is not None:
        pattern = pattern.replace("{slice}", slice_name)
    parts = []
    for part in pattern.split("."):
        if part == "**":
            parts.append(r"(?:\.[^.]+)*")
        else:
            body = re.escape(part).replace(r"\*", "[^.]*")
            parts.append(r"\." + body)
    return re.compile("".join(parts)[2:] if parts[0].startswith(r"\.") else "".join(parts))


def _matches(module: str, patterns: list[str], slice_name: str | None = None) -> bool:
    return any(_regex(p, slice_name).fullmatch(module) for p in patterns)


def _slice(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class Allowance:
    importer: str
    imported: str
    reason: str

    @classmethod
    def parse(cls, text: str) -> Allowance:
        arrow, _, reason = text.partition(":")
        importer, _, imported = arrow.partition("->")
        if not importer.strip() or not imported.strip() or not reason.strip():
            raise ValueError(f"exception {text!r} must read 'importer -> imported: reason'")
        return cls(importer.strip(), imported.strip(), reason.strip())

    def covers(self, importer: str, imported: str) -> bool:
        return _matches(importer, [self.importer]) and _matches(imported, [self.imported])


def _strings(contract: Contract, name: str) -> list[str]:
    """The option ``name`` of ``contract`` (a list of strings; [] when not given)."""
    value = getattr(contract, name, None)
    return [str(v) for v in value] if value else []


def _line(graph: ImportGraph, importer: str, imported: str) -> str:
    details = graph.get_import_details(importer=importer, imported=imported)
    return ", ".join(f"l.{d['line_number']}" for d in details) or "?"


class AllowlistContract(Contract):
    """Each module matching ``source_modules`` (and none of ``exclude_modules``) imports
    from the root package only modules matching ``allowed_modules`` or an exception, and
    imports none of the (external) ``forbidden_modules`` itself."""

    type_name = "allowlist"

    source_modules = fields.ListField(subfield=fields.StringField())
    exclude_modules = fields.ListField(subfield=fields.StringField(), required=False)
    allowed_modules = fields.ListField(subfield=fields.StringField())
    exceptions = fields.ListField(subfield=fields.StringField(), required=False)
    forbidden_modules = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        sources: list[str] = _strings(self, "source_modules")
        forbidden: list[str] = _strings(self, "forbidden_modules")
        excluded: list[str] = _strings(self, "exclude_modules")
        allowed: list[str] = _strings(self, "allowed_modules")
        exceptions = [Allowance.parse(e) for e in _strings(self, "exceptions")]
        root = self.session_options["root_packages"][0]
        used: set[Allowance] = set()
        broken: list[str] = []
        for importer in sorted(graph.modules):
            if not _matches(importer, sources) or _matches(importer, excluded):
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                if _matches(imported, forbidden):
                    line = _line(graph, importer, imported)
                    broken.append(f"{importer} -> {imported} ({line}): forbidden")
                    continue
                if not (imported == root or imported.startswith(root + ".")):
                    continue
                if _matches(imported, allowed, _slice(importer)):
                    continue
                covering = [e for e in exceptions if e.covers(importer, imported)]
                if covering:
                    used.update(covering)
                    continue
                broken.append(f"{importer} -> {imported} ({_line(graph, importer, imported)})")
        broken += [
            f"exception used by no import: {e.importer} -> {e.imported}"
            for e in exceptions
            if e not in used
        ]
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["broken"]:
            output.print_error(f"-   {line}", bold=False)
        output.new_line()


class PureByDefaultContract(Contract):
    """Every module matching ``source_modules`` is pure unless it matches ``io_modules``
    or is named in ``declared_io`` (``"module: reason"``): a pure module reaches none of
    ``forbidden_modules``, directly or through the modules it imports."""

    type_name = "pure_by_default"

    source_modules = fields.ListField(subfield=fields.StringField())
    io_modules = fields.ListField(subfield=fields.StringField())
    declared_io = fields.ListField(subfield=fields.StringField(), required=False)
    forbidden_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        sources: list[str] = _strings(self, "source_modules")
        kinds: list[str] = _strings(self, "io_modules")
        declared: dict[str, str] = {}
        broken: list[str] = []
        for text in _strings(self, "declared_io"):
            module, _, reason = text.partition(":")
            if not reason.strip():
                broken.append(f"declared I/O module without a reason: {text!r}")
            declared[module.strip()] = reason.strip()
        forbidden = [m for m in _strings(self, "forbidden_modules") if m in graph.modules]
        pure: list[str] = []
        for module in sorted(graph.modules):
            if _matches(module, sources) and not _matches(module, kinds) and module not in declared:
                pure.append(module)
        broken += [
            f"declared I/O module does not exist: {m}" for m in declared if m not in graph.modules
        ]
        for module in pure:
            for target in forbidden:
                chain = graph.find_shortest_chain(importer=module, imported=target)
                if chain:
                    broken.append(f"{module} is pure but reaches {target}: {' -> '.join(chain)}")
        return ContractCheck(kept=not broken, metadata={"broken": broken, "pure": pure})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["broken"]:
            output.print_error(f"-   {line}", bold=False)
        output.new_line()


def pure_modules(graph: ImportGraph, config: dict[str, Any]) -> list[str]:
    """The modules the ``pure_by_default`` contract ``config`` takes as pure."""
    declared = {str(t).partition(":")[0].strip() for t in config.get("declared_io", [])}
    return [
        m
        for m in sorted(graph.modules)
        if _matches(m, config["source_modules"])
        and not _matches(m, config["io_modules"])
        and m not in declared
    ]
