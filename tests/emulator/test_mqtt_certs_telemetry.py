"""The emulator's MQTT certificates and its simulated cars."""

from __future__ import annotations

import math
import ssl
import stat
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from hm_tui.domain.autoapi import property_info
from hm_tui.emulator.certs import ensure_certs
from hm_tui.emulator.telemetry import CarSim, changed_properties

T0 = 1_764_000_000.0


def test_certificates_are_made_once_then_reused(tmp_path: Path) -> None:
    first = ensure_certs(tmp_path)
    before = first.client_cert.read_bytes()
    again = ensure_certs(tmp_path)
    assert again == first and again.client_cert.read_bytes() == before


def test_every_certificate_file_is_private(tmp_path: Path) -> None:
    bundle = ensure_certs(tmp_path)
    for path in (
        bundle.ca_file,
        bundle.server_cert,
        bundle.server_key,
        bundle.client_cert,
        bundle.client_key,
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_client_certificate_names_the_client_id_and_chains_to_the_ca(tmp_path: Path) -> None:
    bundle = ensure_certs(tmp_path)
    cert = x509.load_pem_x509_certificate(bundle.client_cert.read_bytes())
    (common_name,) = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert common_name.value == bundle.client_id and len(bundle.client_id) == 36
    context = ssl.create_default_context(cafile=str(bundle.ca_file))
    context.load_cert_chain(str(bundle.client_cert), str(bundle.client_key))


def test_server_certificate_is_valid_for_loopback_names(tmp_path: Path) -> None:
    bundle = ensure_certs(tmp_path)
    cert = x509.load_pem_x509_certificate(bundle.server_cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert "127.0.0.1" in {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}


def test_broken_certificate_files_are_replaced(tmp_path: Path) -> None:
    first = ensure_certs(tmp_path)
    first.client_cert.write_text("garbage")
    second = ensure_certs(tmp_path)
    assert second.client_id != first.client_id
    x509.load_pem_x509_certificate(second.client_cert.read_bytes())


def cycle_of(car: CarSim, steps: int = 400) -> list[dict]:
    return [car.snapshot(T0 + car.cycle * i / steps) for i in range(steps + 1)]


def test_same_car_same_seed_same_data_and_seed_changes_it() -> None:
    assert CarSim("WBA12345678901234", "bmw", 1).snapshot(T0) == CarSim(
        "WBA12345678901234", "bmw", 1
    ).snapshot(T0)
    assert CarSim("WBA12345678901234", "bmw", 1).snapshot(T0) != CarSim(
        "WBA12345678901234", "bmw", 2
    ).snapshot(T0)


def test_snapshot_is_shaped_as_the_auto_api_sends_it() -> None:
    for vin, brand in (("WBA12345678901234", "bmw"), ("5YJ3E1EA7KF000001", "tesla")):
        snap = CarSim(vin, brand, 1).snapshot(T0)
        for capability, props in snap.items():
            for prop, value in props.items():
                info = property_info(capability, prop)
                assert info is not None, f"{capability}.{prop} not in the catalogue"
                if info.kind == "measurement":
                    assert set(value) == {"value", "unit"} and value["unit"] in info.units
                elif info.enum_values:
                    assert value in info.enum_values
                elif info.multiple:
                    assert isinstance(value, list) and value
        level = snap.get("charging", snap["diagnostics"]).get("battery_level") or snap[
            "diagnostics"
        ].get("fuel_level")
        assert 0.0 <= level <= 1.0
        assert set(snap["vehicle_location"]["coordinates"]) == {"latitude", "longitude"}


def test_cars_drive_and_park_with_the_odometer_only_growing() -> None:
    car = CarSim("WVWZZZ1JZXW000001", "volkswagen", 3)
    snaps = cycle_of(car)
    odometers = [s["diagnostics"]["odometer"]["value"] for s in snaps]
    assert odometers == sorted(odometers) and odometers[-1] > odometers[0]
    speeds = [s["diagnostics"]["speed"]["value"] for s in snaps]
    assert max(speeds) > 20 and speeds.count(0) > len(speeds) // 4
    states = {s["ignition"]["state"] for s in snaps}
    assert {"on", "lock"} <= states
    moving = [s for s in snaps if s["diagnostics"]["speed"]["value"] > 0]
    assert all(s["doors"]["locks_state"] == "locked" for s in moving)
    places = {tuple(s["vehicle_location"]["coordinates"].values()) for s in snaps}
    assert len(places) > 50


def test_position_stays_near_the_city() -> None:
    car = CarSim("WBA12345678901234", "bmw", 1)
    lat0, lon0 = car.route.points[0]
    for snap in cycle_of(car, 100):
        where = snap["vehicle_location"]["coordinates"]
        assert math.hypot(where["latitude"] - lat0, where["longitude"] - lon0) < 0.5


def test_electric_car_drains_while_driving_and_charges_at_home() -> None:
    car = CarSim("5YJ3E1EA7KF000001", "tesla", 1)
    statuses = [s["charging"]["status"] for s in cycle_of(car)]
    levels = [s["charging"]["battery_level"] for s in cycle_of(car)]
    assert {"charging", "not_charging"} <= set(statuses)
    assert min(levels) < max(levels)


def test_changed_lists_only_properties_that_differ() -> None:
    car = CarSim("WBA12345678901234", "bmw", 1)
    parked = [i for i, s in enumerate(cycle_of(car)) if s["ignition"]["state"] == "lock"]
    t = T0 + car.cycle * parked[len(parked) // 2] / 400
    assert car.changed(t, t + 1) == []
    before = car.snapshot(t)
    after = {**before, "ignition": {"state": "on"}}
    assert changed_properties(before, after) == [("ignition", "state")]
