"""Prepay and deposits, the older invoice views, earnings, machines, API keys and set user."""

from __future__ import annotations

from conftest import KEY, Api, running


def test_prepay_buys_a_discount_and_locks_credit(api: Api) -> None:
    instance_id = running(api)
    before = api.get("/api/v0/users/current/").json["credit"]
    assert api.get(f"/api/v0/instances/balance/{instance_id}/").json == {
        "success": True, "refundable_deposit": 0.0, "total_discount": 0.0, "discount_months": 0}
    paid = api.put(f"/api/v0/instances/prepay/{instance_id}/", {"amount": 20}).json
    assert paid["success"] is True and paid["timescale"] > 0 and 0 < paid["discount_rate"] <= 0.4
    deposit = api.get(f"/api/v0/instances/balance/{instance_id}/").json
    assert 19.9 < deposit["refundable_deposit"] <= 20 and deposit["total_discount"] >= 0
    assert deposit["discount_months"] == int(paid["timescale"])
    assert api.get("/api/v0/users/current/").json["credit"] < before - 19.9
    broke = api.put(f"/api/v0/instances/prepay/{instance_id}/", {"amount": 1000})
    assert broke.status == 411 and broke.json["msg"] == "Insufficient credit"
    assert api.put(f"/api/v0/instances/prepay/{instance_id}/", {"amount": "x"}).status == 400
    assert api.get("/api/v0/instances/balance/9999999/").status == 404


def test_search_invoices_and_the_deprecated_invoice_view(api: Api) -> None:
    instance_id = running(api)
    api.put(f"/api/v0/instances/prepay/{instance_id}/", {"amount": 5})
    invoices = api.get("/api/v0/invoices", query={"select_cols": ["*"], "select_filters": {}}).json
    assert [(i["service"], i["amount_cents"]) for i in invoices] == [("credit", 10000), ("instance_prepay", 500)]
    credits_only = api.get("/api/v0/invoices", query={"select_filters": {"is_credit": {"eq": True}}}).json
    assert [i["service"] for i in credits_only] == ["credit"]
    old = api.get("/api/v0/users/me/invoices", query={"owner": "me", "sdate": 0, "edate": 9e9,
                                                      "inc_charges": True}).json
    types = sorted({(r["type"], r["description"].split(" ")[0]) for r in old["invoices"]})
    assert types == [("charge", "Instance"), ("payment", "Prepay"), ("payment", "Sandbox")]
    assert set(old["current"]) == {"charges", "service_fee", "total", "credit"}
    payments = api.get("/api/v0/users/me/invoices", query={"sdate": 0, "edate": 9e9, "inc_charges": False}).json
    assert {r["type"] for r in payments["invoices"]} == {"payment"}
    assert api.get("/api/v0/users/me/invoices", query={"sdate": 0, "edate": 1}).json["invoices"] == []
    assert api.get("/api/v0/users/123/invoices").status == 403


def test_earnings_and_machines_of_a_renter_only_account(api: Api) -> None:
    earnings = api.get("/api/v0/users/me/machine-earnings", query={"sday": 0, "eday": 99999}).json
    assert earnings["summary"] == {"total_gpu": 0.0, "total_stor": 0.0, "total_bwu": 0.0, "total_bwd": 0.0}
    assert earnings["per_machine"] == [] and earnings["per_day"] == []
    assert api.get("/api/v0/machines", query={"owner": "me"}).json == {"machines": []}


def test_api_keys_list_the_account_key_without_revealing_it(api: Api) -> None:
    me = api.get("/api/v0/users/current/").json["id"]
    answer = api.get("/api/v0/auth/apikeys/")
    assert [k["id"] for k in answer.json["apikeys"]] == [me]
    assert KEY.encode() not in answer.raw
    assert api.get(f"/api/v0/auth/apikeys/{me}/").json["user_id"] == me
    assert api.get("/api/v0/auth/apikeys/1/").status == 404


def test_set_user_changes_what_show_user_says_and_refuses_unknown_fields(api: Api) -> None:
    done = api.put("/api/v0/users/", {"fullname": "Ada Lovelace", "billaddress_city": "London"}).json
    assert done["success"] is True
    user = api.get("/api/v0/users/current/").json
    assert (user["fullname"], user["billaddress_city"]) == ("Ada Lovelace", "London")
    for body, error in (({"api_key": "x"}, "nonexistent_key"), ({}, "missing_input"),
                        ({"fullname": ""}, "empty_input"), ({"fullname": "x" * 300}, "input_too_long")):
        refused = api.put("/api/v0/users/", body)
        assert refused.status == 400 and refused.json["error"] == error, body
    assert api.get("/api/v0/users/current/").json["fullname"] == "Ada Lovelace"
