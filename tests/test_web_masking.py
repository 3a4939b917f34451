"""Identity numbers are masked where monitoring lists them; the applicant's own pages are not."""

from __future__ import annotations

from tests.web_harness import make_web
from webui.masking import mask_personal, mask_value


def test_mask_keeps_only_the_last_digits_at_any_depth():
    data = {"applicant": {"snils": "11223344595", "passport": "4510 123456", "last_name": "Иванова"},
            "documents": [{"oms": "7700000000000016"}], "snils_ok": True}
    masked = mask_personal(data)
    assert masked["applicant"] == {"snils": "*********95", "passport": "**** ****56", "last_name": "Иванова"}
    assert masked["documents"] == [{"oms": "**************16"}]
    assert masked["snils_ok"] is True and data["applicant"]["snils"] == "11223344595"  # the original is untouched
    assert mask_value(None) is None


def test_monitor_shows_masked_identifiers(tmp_path):
    web = make_web(tmp_path)
    started = web.medflow.runtime.start("medbook_issuance", {"applicant": {"snils": "11223344595"}}, actor="petrov")
    page = web.login("supervisor").get(f"/monitor/instances/{started['business_key']}").get_data(as_text=True)
    assert "*********95" in page and "11223344595" not in page


def test_api_masks_identifiers_for_supervision_not_for_the_applicant(tmp_path):
    web = make_web(tmp_path)
    key = web.medflow.runtime.start("medbook_issuance", {"applicant": {"snils": "11223344595"}},
                                    actor="ivanova")["business_key"]
    boss = web.client().get(f"/api/v1/instances/{key}", headers=web.token("supervisor")).get_json()
    own = web.client().get(f"/api/v1/instances/{key}", headers=web.token("ivanova")).get_json()
    assert boss["data"]["applicant"]["snils"] == "*********95"
    assert own["data"]["applicant"]["snils"] == "11223344595"
