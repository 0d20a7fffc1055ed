"""GB/T 28181 IDs: decoding known IDs, refusing devices that are not cameras, county checks."""
from __future__ import annotations

import pytest

from gis import kpi


def test_known_ids_decode_to_their_parts():
    d = kpi.decode("33052101001325000001")
    assert (d.centre_code, d.admin_code, d.unit_code, d.serial) == ("33052101", "330521", "01", "000001")
    assert (d.industry.code, d.industry.zh) == ("00", "社会治安路面接入")
    assert (d.type.code, d.type.en) == ("132", "Network camera")
    assert (d.network.code, d.network.zh) == ("5", "公安信息网")
    e = kpi.decode("33010299111318000042")
    assert (e.industry.en, e.type.zh, e.network.en) == ("Education", "摄像机", "Social-resource access network")
    assert kpi.decode("33052101851326000001").industry.zh == "群众共享接入"      # 80–89: built by residents
    assert kpi.decode("33052101421327000001").industry.en == "Manufacturing"
    assert kpi.decode("33052101001326000001").network.zh == "政务网"


def test_a_dvr_is_refused_as_a_camera_with_a_bilingual_message():
    with pytest.raises(kpi.NotACamera) as e:
        kpi.decode("33052101001115000001")
    assert e.value.code == "not_a_camera" and "DVR" in e.value.en and "111" in e.value.zh and "不是摄像机" in e.value.zh
    assert kpi.decode("33052101001115000001", camera=False).type.code == "111"
    with pytest.raises(kpi.NotACamera):
        kpi.decode("3305210100132500000")      # 19 digits


def test_centre_code_of_another_county_is_flagged():
    assert not kpi.admin_mismatch("33052101001325000001", "330521199")
    assert kpi.admin_mismatch("33010201001325000001", "330521199")


def test_kpi_rates_and_lights():
    assert kpi.kpi_rate("networking_all", 8, 10, 0.8).met is True
    on = kpi.kpi_rate("online", 9, 10, 0.98)
    assert (on.value, on.met, on.status) == (0.9, False, "amber")
    assert kpi.kpi_rate("online", 5, 10, 0.98).status == "red"
    assert kpi.worst(["green", "red", "amber"]) == "red"
