# The shop: the event list, an event's order form, the review step, the order's
# result and receipt, and the shop's own error messages.

## The event list

shop-events-title = Choose an event
shop-events-for = For { $phone }
shop-events-mail-link = where your mail goes
shop-events-profile-link = your details
shop-events-web-intro = Buy on the web: you name the phone that will receive the ticket.
shop-events-none = No events are on sale right now.
shop-seats-left = { $count ->
    [0] sold out
    [one] 1 left
   *[other] { $count } left
}
shop-not-on-sale = Not on sale now.
shop-sold-out = Sold out
shop-from-price = from { $price }

## An event's page and order form

shop-back-to-events = ← All events
shop-doors = Doors open { $time }
shop-contact = Contact: { $contact }
shop-sold-out-heading = Sold out
shop-sold-out-body = Every seat for this date has been sold.
shop-not-on-sale-body = This event is not on sale now.
shop-other-dates = Other dates
shop-other-events = More { $genre } events
shop-no-other-dates = There are no other dates for this event.
shop-seat-type = Seats
shop-seat-option = { $name } — { $price } ({ $left })
shop-seat-map = Choose your seats
shop-seat-map-hint = Tick the seats you want: the seat type and quantity follow what you tick. Tick none and we pick the best free seats.
shop-seat-map-stage = Stage
shop-seat-label = Seat { $seat }, { $type }, { $price }
shop-seat-taken = Seat { $seat }, taken
shop-quantity = Quantity
shop-quantity-hint = At most { $max } in one order.
shop-recipient-required = Phone that will receive the ticket
shop-recipient-optional = Give it to another phone (optional)
shop-recipient-required-hint = The ticket is issued when that phone calls the issue number. Type it as you would dial it here, e.g. { $example }.
shop-recipient-optional-hint = Leave empty to keep the ticket on { $phone }.
shop-payment = Payment
shop-method-card = Credit card
shop-method-konbini = Convenience-store payment
shop-method-carrier = Carrier billing (with your phone bill)
shop-method-prepaid = Prepaid code
shop-method-unavailable = (not available)
shop-billing-phone = Phone to bill
shop-billing-hint = Nothing is billed until you call, from that phone, the number we give you for this order after you press Buy.
shop-card-number = Card number
shop-card-test = Test mode: 4242 4242 4242 4242 is approved, 4000 0000 0000 0002 declined, 4000 0027 6000 3184 asks for a code (123456).
shop-prepaid-code = Prepaid code
shop-prepaid-test = Test mode: DT-12345672 works.
shop-konbini-hint = After you press Buy you get a payment number, also by mail, to pay with at any convenience store.
shop-review-button = Review order
shop-review-note = Nothing is bought yet: you see the total on the next page.

## The review step

shop-review-title = Check your order
shop-review-intro = Nothing has been bought yet. Check the order, then press Buy.
shop-review-event = Event
shop-review-date = Date
shop-review-venue = Venue
shop-review-seats = Seats
shop-review-chosen-seats = Chosen seats
shop-review-quantity = Quantity
shop-review-unit-price = Price each
shop-review-fees = Fees
shop-review-no-fees = None
shop-review-total = Total
shop-review-payment = Payment
shop-review-card-ending = card ending { $last4 }
shop-review-policy = Cancellation
shop-review-cancellable = You can cancel until { $deadline } ({ $days ->
    [one] 1 day
   *[other] { $days } days
} before the start) and get the full amount back.
shop-review-not-cancellable = This order cannot be cancelled: the cancellation deadline ({ $deadline }) has passed.
shop-review-phone = Phone that will receive the ticket
shop-review-confirm-phone = This phone ({ $phone }) will receive the ticket
shop-review-billing-phone = Phone to bill
shop-review-mail = Mail address for a receipt (optional)
shop-review-mail-hint = We send the receipt there. Leave it empty if you do not want one.
shop-review-buy = Buy for { $total }
shop-review-change = Change the order

## The order's result

shop-paid-title = Payment received
shop-paid-state = Thank you! Your order is paid.
shop-receipt = Receipt
shop-order-reference = Order reference
shop-what = What
shop-seat-numbers = Seats { $seats }
shop-total = Total
shop-receipt-phone = Ticket phone
shop-how-to-get = How to get your ticket
shop-paid-how = Call { $number } from { $phone }: the ticket is issued to that phone. We have also sent this by mail.
shop-call-issue = Call { $number }
shop-show-guide = Show the issue guide
shop-receipt-mailed = A receipt was sent to { $address }.
shop-pending-title = Pay at a convenience store
shop-pending-instructions = Pay at any convenience store with payment number { $number }
shop-payment-number = Payment number
shop-pending-how = Pay with this number at the register of any convenience store (Seven-Eleven, Lawson, FamilyMart …).
shop-pending-body = Your seats are held until { $until }. Once the payment arrives we mail you the issue guide. The payment number has also been sent by mail.
shop-consent-title = Confirm carrier billing
shop-consent-body = To put { $amount } on the phone bill of { $line }, call this number from that phone:
shop-consent-call = Call { $number }
shop-consent-after = Nothing is billed until that call. Once it is through, we send the issue guide by mail.
shop-consent-hold = Your seats are held until { $until }; without the call they go back on sale.
shop-consent-instructions = To put { $amount } on the phone bill of { $line }, call { $number } from that phone by { $until }. Nothing is billed until that call.
shop-challenge-title = Confirm your card
shop-challenge-body = Your card issuer asks you to confirm this payment of { $amount } for { $event }.
shop-challenge-wrong = That code is wrong. Please type it again.
shop-challenge-code = Confirmation code
shop-challenge-test = Test mode: the code is 123456.
shop-challenge-confirm = Confirm
shop-challenge-hold = Your seats are held until { $until }.
shop-expired-title = Hold expired
shop-expired-state = Not paid in time
shop-expired-body = Nothing was billed and the seats are back on sale. Open the event again to order anew.
shop-declined-title = Payment declined
shop-declined-state = The card issuer did not approve the payment.
shop-declined-body = No money has been taken and the seats were released. You can try again, with another card or another way to pay.
shop-try-again = Try again
shop-order-line = { $event } · seats { $seats } · { $amount }

## The shop's errors (shown next to the field, the form kept)

shop-error-form-incomplete = The form is incomplete; open the event page again.
shop-error-form-used = This form was already used.
shop-error-no-event = There is no event “{ $id }”.
shop-error-not-on-sale = { $event } is not on sale now.
shop-error-recipient-missing = Enter the phone number that will receive the ticket.
shop-error-phone-format = “{ $typed }” is not a phone number we can call. Type a number in { $country } like { $example }, or an international number starting with +.
shop-error-phone-format-any = “{ $typed }” is not a phone number we can call. Type an international number starting with + and the country code, e.g. { $example }.
shop-error-carrier-unavailable = Carrier billing is not available for this event.
shop-error-billing-missing = Carrier billing: enter the phone number whose phone bill pays (a call from it confirms).
shop-error-quantity = Choose a quantity from 1 to { $max }.
shop-error-seat-type = Choose one of the seat types shown.
shop-error-not-enough = Only { $count } seats of this type are left. Choose fewer.
shop-error-seats-mixed = Tick seats of one seat type only.
shop-error-seat-gone = Seat { $seat } is no longer free. Choose another.
shop-error-card = The card number is not valid. Check the 16 digits on the card.
shop-error-prepaid = The prepaid code is not valid. It looks like DT-12345678.
shop-error-method = Choose a payment method that is available.
shop-error-confirm-phone = Tick the box to confirm that this phone will receive the ticket.
shop-error-mail = “{ $typed }” is not a mail address.
shop-error-consent-clash = Another order waits for this phone's consent on the same number: please order again.
shop-error-challenge-link = This link names no purchase.
shop-error-no-purchase = There is no such purchase.
shop-country-jp = Japan
shop-country-gb = the United Kingdom
shop-country-us = the United States

## Sales stopped by the organizer; the limit of tickets per phone

shop-paused = Sales are paused.
shop-paused-body = The organizer has paused sales of this event for now. Your link stays valid: open it again later, or call the purchase number again for a new one.
shop-error-paused = Sales of { $event } are paused for now. Try again later.
shop-error-phone-limit = At most { $limit } tickets per phone for this event, and this phone already has { $has }. Choose fewer.

## The waiting list of a sold-out seat type

shop-wait-join-heading = Join the waiting list
shop-wait-join-how = If seats come back (a cancellation, an unpaid order), we hold them for the first in line and mail you a link. You then have { $minutes } minutes to buy them. Joining costs nothing.
shop-wait-join-button = Join the waiting list
shop-wait-place-heading = You are on the waiting list
shop-wait-number = Number { $number } in line
shop-wait-place-how = When seats come back for you, we mail you. You then have { $minutes } minutes to buy them.
shop-wait-leave-button = Leave the waiting list
shop-wait-offer-heading = Seats are held for you
shop-wait-offer-until = Buy them by { $until } (the venue's time). After that they go to the next in line.
shop-wait-offer-how = Choose how to pay in the form below.
shop-wait-decline-button = I don't want them: let them go
shop-wait-held = { $count ->
    [one] 1 held for you
   *[other] { $count } held for you
}
shop-wait-any-type = Any seat
shop-wait-call = Sold out. To join the waiting list, call { $number } from your phone: we mail you a link to this page.
shop-wait-error-seats-free = { $count ->
    [one] A seat of this type is on sale right now: buy it instead.
   *[other] { $count } seats of this type are on sale right now: buy them instead.
}
shop-wait-error-limit = This phone already has { $limit } tickets for this event, the most the organizer allows.
