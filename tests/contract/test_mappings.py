"""Mappings (issue 16 item 2): suggest, preview, saved and reused; every mistake in a
mapping fails with file, line and reason before any row is read; mapped imports keep
the contract's promises (read = loaded + rejected + left out, rejects carry the
source columns, re-import changes nothing)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from keepwell.contract.mapping import Mapper, load_mapping
from keepwell.core.errors import ConfigurationError
from tests.cli_runner import Result, run_cli

FIXTURES = Path(__file__).parent / "fixtures"
SUBS = FIXTURES / "stripe" / "subscriptions.csv"


@pytest.fixture
def home(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path / "ws"
    assert run_cli(["init", str(home)], home, capsys, monkeypatch).code == 0
    return home


@pytest.fixture
def cli(home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def run(*args: str) -> Result:
        return run_cli(list(args), home, capsys, monkeypatch)

    return run


@pytest.fixture
def stripe(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path / "stripe"
    shutil.copytree(FIXTURES / "stripe", folder)
    assert cli("import", "accounts", str(folder / "customers.csv"), "--mapping",
               "stripe-customers").code == 0  # fmt: skip
    assert cli("import", "fx_rates", str(folder / "fx_rates.csv")).code == 0
    return folder


def test_suggest_recognises_each_preset_from_its_fixtures_header(cli) -> None:  # type: ignore[no-untyped-def]
    expected = {
        "stripe/customers.csv": "stripe-customers",
        "stripe/subscriptions.csv": "stripe-subscriptions",
        "stripe/invoices.csv": "stripe-invoices",
        "chargebee/customers.csv": "chargebee-customers",
        "chargebee/subscriptions.csv": "chargebee-subscriptions",
        "chargebee/invoices.csv": "chargebee-invoices",
        "hubspot/companies.csv": "hubspot-companies",
        "hubspot/contacts.csv": "hubspot-contacts",
        "hubspot/line_items.csv": "hubspot-deals",
        "salesforce/accounts.csv": "salesforce-accounts",
        "salesforce/contacts.csv": "salesforce-contacts",
        "salesforce/opportunities.csv": "salesforce-opportunities",
        "salesforce/cases.csv": "salesforce-cases",
        "survey/responses.csv": "survey-nps",
    }
    for file, preset in expected.items():
        result = cli("map", "suggest", str(FIXTURES / file))
        assert result.code == 0, result.err
        assert f"recognised: the {preset} preset" in result.err, file
        assert load_mapping(result.out, file).entity  # the text printed is the mapping


def test_suggest_matches_columns_by_name_and_a_saved_mapping_is_reused(
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    accounts = tmp_path / "crm.csv"
    accounts.write_text("Account Number,Company Name,Industry,Region\nA1,Acme,saas,EU\n")

    result = cli("map", "suggest", str(accounts), "--save", "crm")
    imported = cli("import", "accounts", str(accounts), "--mapping", "crm", "--format", "json")
    listed = cli("map", "list")

    assert result.code == 0, result.err
    assert 'account_id: "Account Number"' in result.out
    assert 'name: "Company Name"' in result.out
    assert 'region: "Region"' in result.out
    assert imported.code == 0, imported.err
    assert json.loads(imported.out)["loaded"] == 1
    assert "crm" in listed.out
    assert "saved" in listed.out
    assert "stripe-subscriptions" in listed.out


def test_suggest_does_not_save_a_mapping_missing_a_required_column(
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Foo,Bar\n1,2\n")
    result = cli("map", "suggest", str(path), "--entity", "accounts", "--save", "x")
    assert result.code == 2
    assert "not saved" in result.err
    assert "account_id" in result.err


def test_preview_shows_mapped_rows_and_the_reasons_they_would_be_rejected(
    cli,
    stripe: Path,  # type: ignore[no-untyped-def]
) -> None:
    result = cli("import", "subscriptions", str(stripe / "subscriptions.csv"), "--mapping",
                 "stripe-subscriptions", "--preview", "--rows", "3",
                 "--format", "json")  # fmt: skip
    rows = json.loads(result.out)["rows"]
    assert [r["line"] for r in rows] == [2, 3, 4]
    assert rows[0]["mrr"] == "120.000000" or Decimal(rows[0]["mrr"]) == Decimal("120")
    assert rows[2]["result"] == "left out (where)"  # sub_C is trialing
    again = cli("metrics", "mrr", "--from", "2025-01", "--to", "2025-02", "--format", "json")
    assert not any(Decimal(str(r["ending_mrr"])) for r in json.loads(again.out))  # nothing written


def test_a_row_the_mapping_cannot_make_is_rejected_with_its_source_columns(
    cli,
    stripe: Path,  # type: ignore[no-untyped-def]
) -> None:
    subs = stripe / "subscriptions.csv"
    text = (
        subs.read_text().replace(",20OFF,", ",NOPE,").replace(",month,60.00,", ",fortnight,60.00,")
    )
    subs.write_text(text)

    result = cli("import", "subscriptions", str(subs), "--mapping", "stripe-subscriptions",
                 "--format", "json")  # fmt: skip

    summary = json.loads(result.out)
    assert result.code == 1
    assert (summary["read"], summary["loaded"], summary["rejected"], summary["filtered"]) == (
        10, 6, 2, 2,
    )  # fmt: skip
    reasons = {r["line"]: r["reason"] for r in summary["rejects"]}
    assert "'NOPE' is not in coupons.csv" in reasons[2]
    assert "'fortnight' is not one of the mapped values" in reasons[9]
    rejects = Path(summary["rejects_file"]).read_text().splitlines()
    assert rejects[0].startswith("id,Customer ID,Customer Name,")  # the source's columns
    assert rejects[1].startswith("sub_A,cus_1,Acme Inc,")


def test_a_mapped_reimport_changes_nothing(cli, stripe: Path) -> None:  # type: ignore[no-untyped-def]
    args = ["import", "subscriptions", str(stripe / "subscriptions.csv"), "--mapping",
            "stripe-subscriptions", "--format", "json"]  # fmt: skip
    first, second = json.loads(cli(*args).out), json.loads(cli(*args).out)
    assert (first["new"], second["new"], second["updated"], second["unchanged"]) == (8, 0, 0, 8)


BAD_MAPPINGS = [
    ("entity: widgets\ncolumns: {a: b}\n", "line 1: unknown entity 'widgets'"),
    (
        "entity: accounts\ncolumns:\n  account_id: id\n  nme: Name\n",
        "line 4: accounts has no column 'nme'",
    ),
    ("entity: accounts\ncolumns:\n  account_id: id\n", "line 3: columns must give name"),
    (
        'entity: accounts\ncolumns:\n  account_id: id\n  name: {expr: "Name +"}\n',
        "line 4: cannot parse",
    ),
    (
        'entity: accounts\ncolumns:\n  account_id: id\n  name: {expr: "upper(Name)"}\n',
        "line 4: the function upper() is not allowed",
    ),
    (
        "entity: accounts\ncolumns:\n  account_id: id\n  name: Nom\n",
        "line 4: the file has no column 'Nom'",
    ),
    (
        "entity: accounts\ncolumns:\n  account_id: id\n  name: {colum: Name}\n",
        "line 4: unknown key 'colum'",
    ),
    (
        "entity: accounts\ncolumns:\n  account_id: id\n  name: {column: Name, value: x}\n",
        "line 4: a value needs exactly one of",
    ),
    ("entity: accounts\ncolumns:\n  account_id: id\n  name: [Name\n", "not valid YAML"),
    (
        "entity: accounts\ndialect: {decimal: ';'}\ncolumns:\n  account_id: id\n  name: Name\n",
        "line 2: decimal: expected one of",
    ),
    (
        "entity: accounts\nwhere: \"Nme = 'x'\"\ncolumns:\n  account_id: id\n  name: Name\n",
        "line 2: the file has no column 'Nme'",
    ),
    (
        "entity: accounts\nlookups:\n  l: {file: missing.csv, key: id}\ncolumns:\n"
        "  account_id: id\n  name: {lookup: l, key: id, field: n}\n",
        "line 3: lookup 'l' needs",
    ),
    (
        "entity: accounts\ncolumns:\n  account_id: id\n"
        "  name: {lookup: nowhere, key: id, field: n}\n",
        "line 4: no lookup named 'nowhere'",
    ),
    (
        "entity: subscriptions\ncolumns:\n  line_id: id\n  account_id: id\n  product: id\n"
        "  mrr: id\n  starts_on: id\n",
        "the mapping is for subscriptions, not accounts",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_MAPPINGS)
def test_a_mapping_with_a_mistake_fails_with_file_line_and_reason_before_any_row(
    cli,
    home: Path,
    tmp_path: Path,
    text: str,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    data = tmp_path / "accounts.csv"
    data.write_text("id,Name\nA1,Acme\n")
    mapping = tmp_path / "bad.yaml"
    mapping.write_text(text)

    result = cli("import", "accounts", str(data), "--mapping", str(mapping))

    assert result.code == 2, result.out
    assert message in result.err
    assert "Traceback" not in result.err
    if "line" in message:
        assert str(mapping) in result.err
    assert not (tmp_path / "accounts.rejects.csv").exists()
    listed = cli("import", "accounts", str(data), "--dry-run", "--mapping", str(mapping))
    assert listed.code == 2


def test_an_unknown_mapping_name_lists_the_known_ones(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "a.csv"
    data.write_text("id,Name\nA1,Acme\n")
    result = cli("import", "accounts", str(data), "--mapping", "strpe")
    assert result.code == 2
    assert "no mapping named 'strpe'" in result.err
    assert "stripe-customers" in result.err


def test_a_mappings_dialect_states_the_flags_once(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "a.csv"
    data.write_text("Nr;Firma;Budget;Seit\nA1;Acme;1.234,50;03/04/2025\n")
    mapping = tmp_path / "de.yaml"
    mapping.write_text(
        "entity: accounts\ndialect: {decimal: ',', date_order: dmy}\ncolumns:\n"
        "  account_id: Nr\n  name: Firma\n  category_budget: Budget\n  created_at: Seit\n"
    )
    result = cli("import", "accounts", str(data), "--mapping", str(mapping), "--format", "json")
    assert result.code == 0, result.err
    without = tmp_path / "plain.yaml"
    without.write_text(
        mapping.read_text().replace("dialect: {decimal: ',', date_order: dmy}\n", "")
    )
    refused = cli("import", "accounts", str(data), "--mapping", str(without))
    assert refused.code == 2
    assert "--date-order" in refused.err
    assert "line 2" in refused.err


def test_expressions_are_exact_decimals_with_sql_nulls() -> None:
    mapping = load_mapping(
        "entity: subscriptions\ncolumns:\n  line_id: id\n  account_id: a\n  product: p\n"
        '  mrr: {expr: "round(amount / 3, 2) + coalesce(extra, 0)"}\n  starts_on: s\n'
        '  quantity: {expr: "greatest(q, 1)"}\n',
        "m.yaml",
    )
    mapper = Mapper(mapping)
    row = mapper.apply(
        {"id": "1", "a": "A", "p": "P", "amount": "100", "extra": "", "s": "2025-01-01", "q": "0"}
    )
    assert row is not None
    assert (row["mrr"], row["quantity"]) == ("33.33", "1")
    thirds = Mapper(load_mapping(
        "entity: subscriptions\ncolumns:\n  line_id: id\n  account_id: a\n  product: p\n"
        "  mrr: {expr: \"amount / 3\"}\n  starts_on: s\n", "m.yaml"))  # fmt: skip
    made = thirds.apply({"id": "1", "a": "A", "p": "P", "amount": "100", "s": "2025-01-01"})
    assert made is not None
    assert made["mrr"] == "33.333333"  # 6 places, half to even


def test_division_by_zero_is_a_row_problem_naming_the_column() -> None:
    mapping = load_mapping(
        "entity: subscriptions\ncolumns:\n  line_id: id\n  account_id: a\n  product: p\n"
        '  mrr: {expr: "amount / months"}\n  starts_on: s\n',
        "m.yaml",
    )
    with pytest.raises(ValueError, match=r"mrr: division by zero .*m.yaml line 6"):
        Mapper(mapping).apply(
            {"id": "1", "a": "A", "p": "P", "amount": "1", "months": "0", "s": "x"}
        )


def test_a_mapping_file_names_its_line_in_errors() -> None:
    with pytest.raises(ConfigurationError, match=r"m.yaml line 3: unknown key 'wehre'"):
        load_mapping("entity: accounts\ncolumns: {account_id: a, name: b}\nwehre: x\n", "m.yaml")
