"""Fault injection: make the sandbox decline, fail, stall or repeat itself, per payer or per call.

A per-call fault is armed for an operation (``orders.capture``) and fires ``times`` times. A per-payer fault
fires on every money-moving call for that payer's e-mail until cleared. In the demo a payer can also ask for a
business fault through the e-mail they type on the approval page: ``buyer+instrument_declined@example.com``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    INSTRUMENT_DECLINED = "instrument_declined"  # 422 INSTRUMENT_DECLINED
    INSUFFICIENT_FUNDS = "insufficient_funds"  # the capture is made but DECLINED; PAYMENT.CAPTURE.DENIED follows
    PAYER_ACTION_REQUIRED = "payer_action_required"  # the payer must come back to PayPal before paying
    HTTP_500 = "http_500"
    HTTP_503 = "http_503"
    HTTP_429 = "http_429"
    SLOW = "slow"  # wait delay_s, then do the work and answer normally
    TIMEOUT_AFTER_CAPTURE = "timeout_after_capture"  # do the work, then hold the answer for delay_s
    DUPLICATE_WEBHOOK = "duplicate_webhook"  # deliver this call's webhooks twice
    GARBAGE_BODY = "garbage_body"  # answer 200 with a body that is not PayPal's (a proxy's page), work undone


# The answer a GARBAGE_BODY fault gives, marked so that the contract checks know it is off-contract on purpose.
GARBAGE = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
FAULT_HEADER = "x-sandbox-fault"
BUSINESS_FAULTS = {FaultKind.INSTRUMENT_DECLINED, FaultKind.INSUFFICIENT_FUNDS, FaultKind.PAYER_ACTION_REQUIRED}
HTTP_FAULTS = {FaultKind.HTTP_500: 500, FaultKind.HTTP_503: 503, FaultKind.HTTP_429: 429}
DEFAULT_DELAY_S = {FaultKind.SLOW: 1.0, FaultKind.TIMEOUT_AFTER_CAPTURE: 30.0}


@dataclass(slots=True)
class Fault:
    kind: FaultKind
    operation: str | None = None  # an operationId such as orders.capture; None matches any call
    payer_email: str | None = None  # set: a per-payer fault, which stays armed until cleared
    times: int = 1  # per-call faults fire this many times
    delay_s: float = 0.0

    def matches(self, operation: str, payer_email: str | None) -> bool:
        if self.operation is not None and self.operation != operation:
            return False
        return self.payer_email is None or (payer_email or "").lower() == self.payer_email.lower()


@dataclass(frozen=True, slots=True)
class FiredFaults:
    kinds: frozenset[FaultKind]
    delays: dict[FaultKind, float]

    def has(self, kind: FaultKind) -> bool:
        return kind in self.kinds

    def http_status(self) -> int | None:
        return next((status for kind, status in HTTP_FAULTS.items() if kind in self.kinds), None)

    def business(self) -> FaultKind | None:
        return next((kind for kind in FaultKind if kind in BUSINESS_FAULTS and kind in self.kinds), None)


class FaultBook:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def arm(self, fault: Fault) -> None:
        if fault.delay_s <= 0:
            fault.delay_s = DEFAULT_DELAY_S.get(fault.kind, 0.0)
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def fire(self, operation: str, payer_email: str | None = None) -> FiredFaults:
        """The faults that apply to this call; per-call ones are used up."""
        kinds: set[FaultKind] = set()
        delays: dict[FaultKind, float] = {}
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(operation, payer_email):
                    continue
                kinds.add(fault.kind)
                delays[fault.kind] = fault.delay_s
                if fault.payer_email is None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
        if payer_email:
            for kind in BUSINESS_FAULTS:
                if f"+{kind.value}@" in payer_email.lower():
                    kinds.add(kind)
        return FiredFaults(frozenset(kinds), delays)
