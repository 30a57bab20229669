from __future__ import annotations

from app.payments.sandbox.faults import Fault, FaultBook, FaultKind


def test_per_call_fault_fires_its_number_of_times_for_its_operation() -> None:
    book = FaultBook()
    book.arm(Fault(FaultKind.HTTP_503, operation="orders.capture", times=2))
    assert not book.fire("orders.create").kinds
    assert book.fire("orders.capture").http_status() == 503
    assert book.fire("orders.capture").http_status() == 503
    assert book.fire("orders.capture").http_status() is None


def test_per_payer_fault_stays_until_cleared() -> None:
    book = FaultBook()
    book.arm(Fault(FaultKind.INSTRUMENT_DECLINED, payer_email="Jane@Example.com"))
    for _ in range(3):
        assert book.fire("orders.create", "jane@example.com").business() == FaultKind.INSTRUMENT_DECLINED
    assert book.fire("orders.create", "bob@example.com").business() is None
    book.clear()
    assert book.fire("orders.create", "jane@example.com").business() is None


def test_demo_payer_email_names_a_business_fault() -> None:
    fired = FaultBook().fire("orders.capture", "buyer+insufficient_funds@example.com")
    assert fired.business() == FaultKind.INSUFFICIENT_FUNDS


def test_delays_default_per_kind() -> None:
    book = FaultBook()
    book.arm(Fault(FaultKind.TIMEOUT_AFTER_CAPTURE))
    assert book.fire("orders.capture").delays[FaultKind.TIMEOUT_AFTER_CAPTURE] == 30.0
