"""Cells of real exports, read without a database: numbers in both conventions, currencies, percentages,
ambiguous amounts, dates, lists that hold their own separator, and formula neutralisation."""

from __future__ import annotations

import pytest

from app.services.csv_cells import (
    decide_decimal_mark,
    decode,
    detect_delimiter,
    join_list,
    neutralise,
    number_text,
    parse_date,
    parse_number,
    split_list,
    unneutralise,
)


@pytest.mark.parametrize(
    ("text", "mark", "value"),
    [
        ("1.500,00", ",", 1500.0),
        ("1 500,00", ",", 1500.0),
        ("1\u00a0500,50", ",", 1500.5),
        ("120.000,50", ",", 120000.5),
        ("120000,50", ",", 120000.5),
        ("0,8", ",", 0.8),
        ("1.500", ",", 1500.0),
        ("1,500.00", ".", 1500.0),
        ("1,500", ".", 1500.0),
        ("$120,000", ".", 120000.0),
        ("€ 1.250.000", ",", 1250000.0),
        ("1.250.000 €", ",", 1250000.0),
        ("USD 85,500", ".", 85500.0),
        ("85500 usd", ".", 85500.0),
        ("EUR 12,5", ",", 12.5),
        ("1.2M", ".", 1_200_000.0),
        ("250k", ".", 250_000.0),
        ("1'250'000", ".", 1_250_000.0),
    ],
)
def test_a_number_is_read_with_the_files_decimal_mark_thousands_groups_and_currency(
    text: str, mark: str, value: float
) -> None:
    assert parse_number(text, mark) == pytest.approx(value)  # type: ignore[arg-type]


def test_a_percentage_is_a_share_of_what_100_percent_means_and_refused_for_an_amount() -> None:
    assert parse_number("80%", ".", percent_scale=1.0) == pytest.approx(0.8)
    assert parse_number("82 %", ",", percent_scale=100.0) == pytest.approx(82)
    assert parse_number("62,5%", ",", percent_scale=100.0) == pytest.approx(62.5)
    with pytest.raises(ValueError, match="not a percentage"):
        parse_number("5%", ".")


@pytest.mark.parametrize("text", ["1,500", "12,000", "999,999"])
def test_a_comma_and_three_digits_in_a_decimal_comma_file_is_ambiguous(text: str) -> None:
    with pytest.raises(ValueError, match="one reading only"):
        parse_number(text, ",")


@pytest.mark.parametrize("text", ["0,500", "1,50", "1,5000", "1.500,000"])
def test_a_decimal_comma_that_cannot_be_a_thousands_group_is_not_ambiguous(text: str) -> None:
    assert parse_number(text, ",") == pytest.approx(float(text.replace(".", "").replace(",", ".")))


@pytest.mark.parametrize("text", ["12x00", "1,50,0", "1.500,00", "", "1..5", "--5", "1,"])
def test_a_cell_that_is_not_a_number_in_the_files_convention_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text, ".")


def test_the_decimal_mark_is_the_one_most_cells_show_else_the_separators() -> None:
    assert decide_decimal_mark(["1.500,00", "120000", "0,8"], ",") == ","
    assert decide_decimal_mark(["1,500.00", "1,500", "12.5"], ";") == "."
    assert decide_decimal_mark(["1,500", "2.000"], ";") == ","  # no evidence: the `;` locales' comma
    assert decide_decimal_mark(["1,500", "2000"], ",") == "."


def test_separators_and_encodings_are_detected() -> None:
    assert detect_delimiter("a;b;c\n1,5;2;3\n") == ";"
    assert detect_delimiter("a\tb\tc\n1\t2\t3\n") == "\t"
    assert detect_delimiter('a,b,c\n"1;5",2,3\n') == ","
    assert decode("Tomás".encode("utf-8-sig")) == ("Tomás", "UTF-8 (BOM)")
    assert decode("Tomás".encode()) == ("Tomás", "UTF-8")
    assert decode("Tomás €".encode("cp1252")) == ("Tomás €", "Windows-1252")


@pytest.mark.parametrize(
    ("text", "mark", "day"),
    [
        ("2027-06-30", ".", "2027-06-30"),
        ("2027-06-30T00:00:00.000Z", ".", "2027-06-30"),
        ("30.06.2027", ",", "2027-06-30"),
        ("06/30/2027", ".", "2027-06-30"),
        ("30/06/2027", ".", "2027-06-30"),
        ("03/04/2027", ",", "2027-04-03"),
        ("03/04/2027", ".", "2027-03-04"),
    ],
)
def test_dates_of_crm_exports(text: str, mark: str, day: str) -> None:
    assert parse_date(text, mark).isoformat() == day  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "items", [["en"], ["en", "fr"], ["North America, East", "EU;West", 'the "core" team', "a|b"], [], [" x "]]
)
def test_a_list_cell_reads_back_the_items_it_was_written_from(items: list[str]) -> None:
    assert split_list(join_list(items)) == items


def test_a_crm_list_cell_splits_on_any_usual_separator() -> None:
    assert split_list("en, fr;de | es") == ["en", "fr", "de", "es"]


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1 555 0100", "'+1 555 0100"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("'=already", "''=already"),
        ("-5", "-5"),
        ("-5.25", "-5.25"),
        ("'Tis Corp", "'Tis Corp"),
        ("Acme", "Acme"),
    ],
)
def test_formula_cells_are_neutralised_on_export_and_restored_on_import(cell: str, written: str) -> None:
    assert neutralise(cell) == written
    assert unneutralise(written) == cell


@pytest.mark.parametrize("value", [0.1, 1e-05, 1234567.125, 1e12, 110.0, 7])
def test_an_exported_number_reads_back_exactly(value: float) -> None:
    assert parse_number(number_text(value), ".") == value
