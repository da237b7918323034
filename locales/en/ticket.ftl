# The holder's pages about one purchase: the issue guide, the ticket, cancelling,
# and the ticket code's check (verify).

## What several of these pages show.

ticket-when = { $starts } · doors { $doors }
ticket-seats = Seats: { $seats }
ticket-seats-count = Seats: { $seats } ({ $count })
ticket-purchase-ref = Purchase { $id } · payment { $status }
ticket-payment-status = { $status ->
    [paid] paid
    [refunded] refunded
    [pending] pending
    [declined] declined
    [expired] expired
   *[other] { $status }
  }
ticket-holder = Holder
ticket-holder-phone = Holder { $phone } · purchase { $id }
# The state after cancelling, on the guide and the ticket.
ticket-cancelled-refunded = Cancelled — { $amount } refunded on { $date }
ticket-cancel-button = Cancel and refund…
ticket-cancel-until = You can cancel until { $until }.

## The issue guide (/g/…).

guide-title = Issue your ticket
guide-issued = Issued — check your mail for the ticket.
guide-call-from = Call this number from { $phone }:
guide-call-note = Your ticket is sent by mail when you call. Calling again sends it again.
guide-cancelled-note = This purchase was cancelled: there is nothing to issue, and calls from { $phone } issue no ticket for it.

## The ticket (/t/…).

ticket-title = Ticket — { $event }
ticket-state-valid = Valid ticket
ticket-state-used = Used for admission
ticket-usage-call = At the venue, call this number from { $phone }; you will receive the admission page to show the staff:
ticket-your-seats = { $count ->
    [one] Your seat
   *[other] Your { $count } seats
  }
ticket-each-seat = Each seat is its own ticket: show its QR code at the door. If it cannot be scanned, staff type the reference.
ticket-seat = Seat { $seat }
ticket-reference = Reference
ticket-no-reference = Call the issue number again for a reference staff can type.
ticket-seat-admitted = Admitted { $at }
ticket-seat-admitted-gate = Admitted { $at } · gate { $gate }
ticket-seat-checked-out = Checked out { $at }: this code takes you back in
ticket-enter-by-gate = Enter by gate { $gate }
ticket-check-code = Check this code
ticket-cancelled-note = This ticket was cancelled: its codes admit nobody.
ticket-not-issued = this ticket has not been issued

## Cancelling: the confirmation step (GET), then the result (after the POST).

cancel-title = Cancel this purchase?
cancel-what = What is cancelled
cancel-refund = Refund: { $amount }, to the way you paid.
cancel-effects = The seats go back on sale, and calls from { $phone } will no longer issue this ticket. This cannot be undone.
cancel-confirm = Yes, cancel and refund { $amount }
cancel-keep = No, keep my ticket
cancel-closed = This purchase can no longer be cancelled.
cancelled-title = Cancelled
cancelled-mailed = The seats are back on sale; a confirmation has been mailed.
cancelled-back = Back to the purchase
cancel-too-late = the cancellation deadline has passed ({ $until })
cancel-admitted = a ticket used for admission cannot be cancelled
cancel-not-paid = only a paid purchase can be cancelled
cancel-refund-failed = the refund could not be made: { $reason }
cancel-no-purchase = this link names no purchase
cancel-no-such-purchase = no such purchase
cancel-no-such-event = no such event

## The ticket code's check (/verify/…), for staff.

verify-title = Ticket check
verify-not-valid = Not valid
verify-used = Genuine, already used
verify-genuine = Genuine ticket
verify-admitted = Admitted already
verify-checked-out = Admitted, checked out since: may go back in
verify-permit-issued = Admission page sent; not admitted yet
verify-not-admitted = Not admitted yet
verify-holder = Holder's phone { $phone } · purchase { $id }
verify-masked = The holder's phone shows only its last digits: compare them with the phone the holder calls from.
