"""The import page without a browser: scopes and CSRF, how the files were understood, every problem by row
and column, a column mapped by hand, a segment added for a CRM value, then all or nothing as a new revision."""

from __future__ import annotations

import base64
import re
from typing import Any

from fastapi.testclient import TestClient
from pages_support import sign_in

CSMS = (
    "Full Name,Email,User ID,Segments,Territory\n"
    "Dana Whitfield,dana@example.com,0055e000001DanaAAA,Commercial;Majors,NA\n"
    "Lee Okafor,lee@example.com,0055e000001LeeOAAA,Commercial,NA\n"
)
# "Owner Mail" is no known header: the owner column must be mapped by hand. "Scale" is no segment yet.
ACCOUNTS = (
    "Account ID;Account Name;ARR (EUR);Segment;Owner Mail;Health Score\n"
    "0015e00001AcmeAAA;Acme;120.000,50;Majors;dana@example.com;42\n"
    "0015e00001GlobAAA;Globex;45.000,00;Commercial;LEE@example.com;80\n"
    "0015e00001InitAAA;Café Olé;9.500,00;Scale;lee@example.com;90\n"
)
POLICY = {
    "tiers": {"commercial": {"hours_per_year": 30}, "majors": {"hours_per_year": 300, "label": "Majors"}}
}


def put_policy(client: TestClient) -> None:
    key = client.keys["ops"]  # type: ignore[attr-defined]
    book = client.get("/v1/book", headers={"Authorization": f"Bearer {key}"}).json()
    book["policy"] = {**book["policy"], **POLICY}
    assert client.put("/v1/book", json=book, headers={"Authorization": f"Bearer {key}"}).status_code == 200


def revision(client: TestClient) -> int:
    key = client.keys["ops"]  # type: ignore[attr-defined]
    return int(client.get("/v1/book/summary", headers={"Authorization": f"Bearer {key}"}).json()["revision"])


def hidden(page: str) -> dict[str, str]:
    """Every hidden field and selected option of the page's form, as the browser would send them back."""
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    for name, body in re.findall(r'<select id="[^"]+" name="([^"]+)">(.*?)</select>', page, re.S):
        fields[name] = re.search(r'<option value="([^"]+)" selected', body)[1]  # type: ignore[index]
    return {
        k: v.replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&") for k, v in fields.items()
    }


def upload(client: TestClient, csrf: str) -> Any:
    files = {
        "accounts_file": ("accounts.csv", ACCOUNTS.encode("cp1252"), "text/csv"),
        "csms_file": ("csms.csv", CSMS.encode(), "text/csv"),
    }
    return client.post("/import", data={"csrf": csrf, "action": "check"}, files=files)


def test_the_import_page_is_for_ops_and_checks_the_csrf_token(client: TestClient) -> None:
    assert client.get("/import").status_code == 303
    sign_in(client, "hr")
    assert client.get("/import").status_code == 403
    csrf = sign_in(client, "ops")
    assert client.get("/import").status_code == 200
    assert upload(client, "forged").status_code == 403
    assert upload(client, csrf).status_code == 200


def test_an_upload_shows_the_mapping_the_parsed_rows_and_every_problem_and_stores_nothing(
    client: TestClient,
) -> None:
    put_policy(client)
    csrf = sign_in(client, "ops")
    before = revision(client)
    page = upload(client, csrf).text
    assert "semicolon-separated, Windows-1252, numbers with a decimal comma" in page
    fields = hidden(page)
    assert fields["map:accounts:2"] == "arr" and fields["map:accounts:4"] == "-"  # Owner Mail: ignored
    assert fields["map:csms:2"] == "crm_user_id"
    assert "120000.5" in page  # the first rows as parsed
    assert re.search(r"<th scope=\"row\">4</th><td>Segment</td><td><code>Scale</code></td>", page)
    assert 'id="import" disabled' in page
    assert revision(client) == before


def test_mapping_a_column_adding_a_segment_and_importing_makes_a_new_revision(client: TestClient) -> None:
    put_policy(client)
    csrf = sign_in(client, "ops")
    before = revision(client)
    fields = hidden(upload(client, csrf).text)
    fields.update(
        {"map:accounts:4": "current_csm", "seg_name:0": "scale", "seg_hours:0": "12,5", "action": "add:0"}
    )
    page = client.post("/import", data=fields).text
    assert "No problems: 3 rows ready." in page and "No problems: 2 rows ready." in page
    assert 'id="import" disabled' not in page
    fields = hidden(page)
    assert base64.b64decode(fields["accounts_data"]).decode("cp1252") == ACCOUNTS
    fields["action"] = "import"
    done = client.post("/import", data=fields)
    assert done.status_code == 303 and done.headers["location"] == "/?imported=1"
    assert revision(client) == before + 1
    key = client.keys["ops"]  # type: ignore[attr-defined]
    book = client.get("/v1/book", headers={"Authorization": f"Bearer {key}"}).json()
    scale = book["policy"]["tiers"]["scale"]
    assert (scale["hours_per_year"], scale["label"], scale["aliases"]) == (12.5, "Scale", ["Scale"])
    assert [(a["id"], a["tier"], a["arr"], a["current_csm"]) for a in book["accounts"]] == [
        ("0015e00001AcmeAAA", "majors", 120000.5, "dana@example.com"),
        ("0015e00001GlobAAA", "commercial", 45000.0, "lee@example.com"),
        ("0015e00001InitAAA", "scale", 9500.0, "lee@example.com"),
    ]
    events = client.get("/v1/audit?action=book_imported", headers={"Authorization": f"Bearer {key}"}).json()
    [event] = events["items"]
    assert event["detail"]["segments_added"] == ["scale"]
    assert event["detail"]["mappings"]["accounts"]["Owner Mail"] == "current_csm"


def test_an_import_with_problems_left_stores_nothing(client: TestClient) -> None:
    put_policy(client)
    csrf = sign_in(client, "ops")
    before = revision(client)
    fields = hidden(upload(client, csrf).text)
    fields["action"] = "import"
    page = client.post("/import", data=fields)
    assert page.status_code == 200 and "Nothing was imported" in page.text
    assert revision(client) == before


def test_a_new_segment_without_hours_is_refused_in_words(client: TestClient) -> None:
    put_policy(client)
    csrf = sign_in(client, "ops")
    fields = hidden(upload(client, csrf).text)
    fields.update({"seg_name:0": "scale", "seg_hours:0": "", "action": "add:0"})
    page = client.post("/import", data=fields).text
    assert "needs its hours a year per account" in page
    fields.update({"seg_name:0": "commercial", "seg_hours:0": ""})  # an existing segment: an alias
    page = client.post("/import", data=fields).text
    assert "Scale" not in re.findall(r"<code>([^<]*)</code>", page)


def test_an_import_after_the_book_changed_since_the_check_stores_nothing(client: TestClient) -> None:
    put_policy(client)
    csrf = sign_in(client, "ops")
    fields = hidden(upload(client, csrf).text)
    fields.update(
        {"map:accounts:4": "current_csm", "seg_name:0": "scale", "seg_hours:0": "12", "action": "add:0"}
    )
    fields = hidden(client.post("/import", data=fields).text)
    put_policy(client)  # someone else changes the book meanwhile
    changed = revision(client)
    fields["action"] = "import"
    page = client.post("/import", data=fields)
    assert page.status_code == 200 and "changed while you checked the files" in page.text
    assert revision(client) == changed


def test_hours_typed_for_a_segment_are_kept_when_the_form_is_checked_with_enter(client: TestClient) -> None:
    put_policy(client)
    csrf = sign_in(client, "ops")
    fields = hidden(upload(client, csrf).text)
    fields.update({"seg_name:0": "scale", "seg_hours:0": "12", "action": "check"})
    page = client.post("/import", data=fields).text
    assert "Segments the book does not know" not in page
    assert "scale" in hidden(page)["segments"]
