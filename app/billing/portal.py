"""Portal pages for billing: payment methods, paying an open invoice, invoices with their history and PDFs."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template

from app.accounts.auth import CurrentCustomer, provide_customer
from app.billing import pdf, statements, wallet
from app.errors import DomainError
from app.payments.customer import PaymentProblem
from app.web import AnyRequest, away, see_other
from app.web import actor as _actor
from app.web import base_url as _base_url
from app.web import gateway as _gateway
from tables.accounts import Customer

BILLING = "/account/billing"


class BillingPortal(Controller):
    path = BILLING
    include_in_schema = False
    dependencies = {"customer": Provide(provide_customer)}

    @get("/", name="account-billing")
    async def overview(self, customer: CurrentCustomer) -> Template:
        return await _billing_page(customer)

    @post("/method")
    async def change_method(self, request: AnyRequest, customer: CurrentCustomer) -> Template | Redirect:
        base = _base_url(request) + BILLING
        try:
            target = await wallet.begin_method_change(
                _gateway(request), customer.id, return_url=f"{base}/method/return", cancel_url=f"{base}/method/cancel"
            )
        except PaymentProblem as problem:
            return await _billing_page(customer, problem)
        return away(target)

    @get("/method/return")
    async def method_approved(
        self, request: AnyRequest, customer: CurrentCustomer, approval_token_id: FromQuery[str] = ""
    ) -> Template | Redirect:
        try:
            await wallet.finish_method_change(_gateway(request), customer.id, approval_token_id)
        except PaymentProblem as problem:
            return await _billing_page(customer, problem)
        flash(request, "Saved: this PayPal account now pays your subscriptions.", category="success")
        return see_other(BILLING)

    @get("/method/cancel")
    async def method_cancelled(self, request: AnyRequest, customer: CurrentCustomer) -> Redirect:
        flash(request, "Nothing changed: your payment method is the same as before.", category="warning")
        return see_other(BILLING)

    @post("/invoices/{invoice_id:int}/pay")
    async def pay_now(
        self, request: AnyRequest, customer: CurrentCustomer, invoice_id: FromPath[int]
    ) -> Template | Redirect:
        try:
            outcome = await wallet.pay_with_saved_method(
                _gateway(request), customer.id, invoice_id, actor=_actor(customer)
            )
        except PaymentProblem as problem:
            return await _billing_page(customer, problem)
        except DomainError as error:
            flash(request, error.detail, category="error")
            return see_other(BILLING)
        if outcome.succeeded:
            flash(request, "Paid: thank you.", category="success")
        else:
            flash(request, "PayPal has not confirmed the payment yet.", category="warning")
        return see_other(BILLING)

    @post("/invoices/{invoice_id:int}/checkout")
    async def pay_with_paypal(
        self, request: AnyRequest, customer: CurrentCustomer, invoice_id: FromPath[int]
    ) -> Template | Redirect:
        base = _base_url(request)
        try:
            target = await wallet.begin_invoice_checkout(
                _gateway(request),
                customer.id,
                invoice_id,
                return_url=f"{base}/checkout/return",
                cancel_url=f"{base}/checkout/cancel",
                actor=_actor(customer),
            )
        except PaymentProblem as problem:
            return await _billing_page(customer, problem)
        return away(target)


async def _billing_page(customer: Customer, problem: PaymentProblem | None = None) -> Template:
    """The billing page; after PayPal said no or did not answer, with its sentence inline and its status."""
    methods = await wallet.saved_methods(customer.id)
    unpaid = [i for i in await statements.list_invoices(customer.id) if i["status"] == "open"]
    context = {"customer": customer, "methods": methods, "unpaid": unpaid,
               "form_error": problem.detail if problem else ""}  # fmt: skip
    if problem is None:
        return Template("billing/billing.html", context=context)
    return Template("billing/billing.html", context=context, status_code=problem.status, headers=problem.headers)


class InvoicesPortal(Controller):
    path = "/account/invoices"
    include_in_schema = False
    dependencies = {"customer": Provide(provide_customer)}

    @get("/", name="account-invoices")
    async def overview(self, customer: CurrentCustomer) -> Template:
        invoices = await statements.list_invoices(customer.id)
        history = await statements.history(customer.id)
        return Template(
            "billing/invoices.html", context={"customer": customer, "invoices": invoices, "history": history}
        )

    @get("/{invoice_id:int}")
    async def detail(self, customer: CurrentCustomer, invoice_id: FromPath[int]) -> Template:
        detail = await statements.invoice_detail(customer.id, invoice_id)
        return Template("billing/invoice.html", context={"customer": customer, "detail": detail})

    @get("/{invoice_id:int}/pdf")
    async def download(
        self, request: AnyRequest, customer: CurrentCustomer, invoice_id: FromPath[int]
    ) -> Response[bytes]:
        detail = await statements.invoice_detail(customer.id, invoice_id)
        body = await pdf.invoice_pdf(
            request.app.template_engine, detail=detail, site_name=request.app.state.settings.site_name
        )
        kind = "receipt" if detail.invoice["status"] == "paid" else "invoice"
        filename = f"{kind}-{detail.invoice['number']}.pdf"
        return Response(
            body, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
        )
