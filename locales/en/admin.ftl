# The back office on the admin listener: sign-in, one-time links, the events page, accounts.

admin-brand = dialticket back office
admin-nav = Back office
admin-signed-in-as = Signed in as { $name } ({ $role })
admin-role-operator = operator
admin-role-organizer = organizer
admin-accounts = Accounts
admin-password-change = Change password
admin-logout = Log out
admin-back = Back to the events

## Signing in

admin-login-title = Sign in
admin-name = Login name
admin-password = Password
admin-login-button = Sign in
admin-login-note = For organizers and operators. An operator makes your account and gives you a one-time link to set your password.
admin-login-wrong = Wrong login name or password.
admin-login-too-many = Too many sign-in attempts. Wait a few minutes, then try again.
admin-sign-in-first = Sign in first.
admin-bad-form = This form was sent without its security token, or with an old one.
admin-operators-only = Only operators can open this page.
admin-not-yours = This event belongs to another organizer.
admin-no-event = There is no event "{ $id }".

## The one-time link and the password

admin-setup-title = Set your password
admin-setup-intro = This link works once. Choose a password of at least { $min } characters; you then sign in with your login name and this password.
admin-setup-button = Set password and sign in
admin-setup-unknown = This link is not valid.
admin-setup-used = This link has already been used. Sign in with your password, or ask an operator for a new link.
admin-setup-expired = This link has expired. Ask an operator for a new one.
admin-password-title = Change your password
admin-password-old = Current password
admin-password-new = New password
admin-password-again = New password, again
admin-password-hint = At least { $min } characters.
admin-password-button = Change password
admin-password-done = Your password has been changed. Your other sessions have been signed out.
admin-password-too-short = The new password needs at least { $min } characters.
admin-password-too-long = The new password is too long.
admin-password-mismatch = The two new passwords are not the same.
admin-password-unchanged = The new password is the same as the current one.
admin-password-old-wrong = The current password is not right.

## Events and their sales

admin-home-title = Events
admin-no-events = No events yet.
admin-no-organizers = There is no organizer to show yet.
admin-starts = Starts:{ " " }
admin-sold-by = Sold by calling:{ " " }
admin-not-on-sale = not on sale now
admin-on-sale = on sale
admin-seats = Seats
admin-seat-type = Seat type
admin-sold = Sold
admin-held = Held
admin-free = Free
admin-total = Total
admin-revenue = Revenue:{ " " }

## Accounts

admin-accounts-title = Accounts
admin-accounts-list = All accounts
admin-accounts-new = New organizer account
admin-account-name = Login name
admin-account-organizer = Organizer
admin-account-choose = Choose an organizer
admin-account-make = Make account
admin-account-made = Account { $name } was made for { $organizer }. Give this one-time link to the organizer: it sets a password, once, within 24 hours. It is shown only now.
admin-account-link = One-time link
admin-account-bad-name = A login name has 1 to 64 letters, digits, dots, hyphens, underscores or @.
admin-account-name-taken = There is already an account named { $name }.
admin-account-no-organizer = Choose an organizer from the catalog.
admin-account-role = Role
admin-account-state = Password
admin-account-password-set = set
admin-account-password-unset = not set yet

## Events: make, edit, duplicate; sales and listing

admin-ev-new = New event
admin-ev-new-title = New event
admin-ev-edit-title = Edit { $name }
admin-ev-id = Event ID
admin-ev-id-hint = Lowercase letters, digits and hyphens, e.g. spring-gala-2027. It is part of the event's links and cannot change later.
admin-ev-name = Event name
admin-ev-genre = Genre
admin-ev-venue = Venue
admin-ev-region = Region
admin-ev-description = Description
admin-ev-contact = Contact for buyers
admin-ev-time-zone = Venue time zone
admin-ev-time-zone-hint = Every time below is on the venue's clock.
admin-ev-starts-at = Starts
admin-ev-doors-open = Doors open
admin-ev-sale-start = Sale starts
admin-ev-sale-end = Sale ends
admin-ev-admission-opens = Admission opens (empty: when doors open)
admin-ev-admission-closes = Admission closes (empty: 4 hours after the start)
admin-ev-cancellable-days = Cancellable until days before the start
admin-ev-phone-limit = Tickets per phone
admin-ev-phone-limit-hint = Paid and held tickets of one phone for this event. 0: no limit.
admin-ev-reentry = Exit and re-entry allowed
admin-ev-seat-types = Seat types
admin-ev-seat-types-hint = Give rows and seats per row for numbered seats, or a number of places for free seating. Leave a row empty to skip it.
admin-ev-seat-type-n = Seat type { $n }
admin-ev-seat-field = seat type { $n }: { $field }
admin-ev-st-code = Code
admin-ev-st-name = Name
admin-ev-st-price = Price
admin-ev-st-rows = Rows (e.g. A B C)
admin-ev-st-per_row = Seats per row
admin-ev-st-count = Number of places
admin-ev-st-gate = Gate
admin-ev-create = Create event
admin-ev-save = Save changes
admin-ev-missing = Fill in “{ $field }”.
admin-ev-bad-id = An event ID has 1 to 64 lowercase letters, digits and hyphens, and does not start with a hyphen.
admin-ev-bad-time = “{ $field }”: { $value } is not a date and time.
admin-ev-no-such-time = “{ $field }”: { $value } does not exist in { $zone } (the clocks skip it). Choose another time.
admin-ev-bad-zone = { $zone } is not a time zone.
admin-ev-bad-number = “{ $field }” must be a whole number, 0 or more.
admin-ev-no-seat-types = Give at least one seat type.
admin-ev-bad-seat-code = Seat type code “{ $code }”: use 1 to 16 letters or digits.
admin-ev-seat-code-twice = Seat type code { $code } is given twice.
admin-ev-no-seats = Seat type { $code } has no seats: give rows and seats per row, or a number of places.
admin-ev-bad-gate = Seat type { $code }: a gate is 1 to 8 letters or digits.
admin-ev-doors-after-start = Doors must open before the start.
admin-ev-sale-ends-first = The sale must end after it starts.
admin-ev-admission-closes-first = Admission must close after it opens.
admin-ev-invalid = The event cannot be saved: { $detail }
admin-ev-id-taken = There is already an event with the ID { $id }. Choose another.
admin-ev-below-sold = Seat type { $code } cannot have { $wanted } seats: { $sold } are sold and { $held } held. Give at least { $sold } + { $held }.
admin-ev-bad-action = Unknown action.
admin-ev-controls = Sales and listing
admin-ev-paused = sales stopped
admin-ev-selling = sales running
admin-ev-published = listed in the shop
admin-ev-unpublished = not listed (hidden from buyers)
admin-ev-limit-is = At most { $n } tickets per phone.
admin-ev-no-limit = No limit of tickets per phone.
admin-ev-stop = Stop sales
admin-ev-resume = Resume sales
admin-ev-unpublish = Unpublish
admin-ev-publish = Publish
admin-ev-edit = Edit
admin-ev-duplicate = Duplicate
## Orders (orders.rs, order_actions.rs)

admin-orders = Orders
admin-orders-title = Orders: { $event }
admin-orders-search = Phone, name, order number or seat
admin-orders-search-hint = A phone number in any form (090-1234-5678, +81 90…), the holder's name, the order number, a seat (A-12) or a ticket's code (K7QF2-M9XTA).
admin-orders-search-button = Search
admin-orders-found = { $count ->
    [one] One order
   *[other] { $count } orders
}
admin-orders-none = No orders match.
admin-orders-page = Page { $page } of { $pages }
admin-orders-prev = Previous
admin-orders-next = Next
admin-orders-csv = Download the orders (CSV)
admin-order-title = Order { $id }
admin-order-id = Order number
admin-order-holder = Holder
admin-order-phone = Phone
admin-order-name = Name
admin-order-no-name = (no name given)
admin-order-seat-type = Seat type
admin-order-seats = Seats
admin-order-quantity = Quantity
admin-order-amount = Amount
admin-order-payment = Payment
admin-order-payment-ref = Payment reference
admin-order-state = State
admin-order-channel = Bought through
admin-order-created = Ordered
admin-order-issued = Ticket issued
admin-order-code = Ticket code
admin-order-admitted = Admitted
admin-order-journal = History
admin-order-when = When
admin-order-what = What
admin-order-who = By
admin-order-back = Back to the orders
admin-order-refunded = Cancelled: { $amount } refunded on { $date }.
admin-order-actions = Actions
admin-order-resend = Resend the ticket mail
admin-order-reissue = Re-issue the ticket (new codes)
admin-order-cancel = Cancel and refund
admin-order-confirm-resend = Mail the ticket to the holder again? The seats' codes stay the same; the ticket link mailed before stops working.
admin-order-confirm-reissue = Issue the ticket again with new codes? The codes issued before stop working at the door (use this when a code has leaked), and the holder is mailed the new ones.
admin-order-confirm-cancel = Cancel this order and refund { $amount }? Its seats go back on sale and the holder is mailed. This is allowed after the holder's cancellation deadline.
admin-order-keep = Keep the order as it is
admin-order-done-resend = The ticket mail is on its way to the holder.
admin-order-done-reissue = New codes were issued and mailed to the holder; the old ones no longer work.
admin-order-done-cancel = The order is cancelled and refunded; the holder was mailed.
admin-order-not-paid = This order is not paid.
admin-order-not-issued = The ticket has not been issued yet: the holder calls the issue number first.
admin-no-order = There is no order "{ $id }".
admin-order-state-reserved = Reserved, not paid
admin-order-state-payment-failed = Payment failed
admin-order-state-expired = Expired
admin-order-state-paid = Paid
admin-order-state-issue-guided = Paid, issue guide sent
admin-order-state-issued = Ticket issued
admin-order-state-admitted = Admitted
admin-order-state-cancelled = Cancelled and refunded
admin-channel-phone-link = Phone call's link
admin-channel-web = Web shop
admin-channel-unknown = Not recorded
admin-actor-account = { $name } (back office)
admin-actor-call = Holder's phone call
admin-actor-web = Holder, on the web
admin-actor-staff = Venue staff
admin-actor-payment = Payment provider
admin-actor-system = dialticket
admin-journal-reserved = Seats reserved
admin-journal-payment = Payment
admin-journal-payment-awaited = Waiting for payment
admin-journal-billing-consent = Carrier billing consent
admin-journal-billing-consent-refused = Carrier billing refused
admin-journal-issue-guide = Issue guide mailed
admin-journal-issue-call = Issue call
admin-journal-issued = Ticket issued
admin-journal-usage-call = Usage-confirmation call
admin-journal-admission-permit = Admission page mailed
admin-journal-admission = Admitted
admin-journal-scan = Scanned at the door
admin-journal-cancel = Cancelled
admin-journal-refund = Refunded
admin-journal-expire = Hold expired
admin-journal-admin-cancel = Cancelled in the back office
admin-journal-admin-resend = Ticket mail resent
admin-journal-admin-reissue = Ticket re-issued with new codes

## Sales (sales.rs)

admin-sales = Sales
admin-sales-title = Sales: { $event }
admin-sales-chart = Tickets sold per day
admin-sales-chart-table = The same as a table
admin-sales-day = Day
admin-sales-tickets = Tickets
admin-sales-none = Nothing sold yet.
admin-sales-by-method = By payment method
admin-sales-by-channel = By channel
admin-csv-reference = Order number
admin-csv-event = Event
admin-csv-seat-type = Seat type
admin-csv-seats = Seats
admin-csv-quantity = Quantity
admin-csv-amount = Amount
admin-csv-payment-method = Payment method
admin-csv-payment-status = State
admin-csv-channel = Channel
admin-csv-phone = Holder's phone
admin-csv-name = Name
admin-csv-created = Ordered (venue time)
admin-order-created-at = Ordered: { $at }

## Cancelling a whole event (event_cancel.rs)

admin-evc-link = Cancel the whole event
admin-evc-title = Cancel the event: { $event }
admin-evc-back = Back to the event
admin-evc-what = { $orders } orders will be cancelled and { $amount } refunded in total. Sales stop at once.
admin-evc-mailed = Every ticket holder is mailed that the event is cancelled and their money refunded, once.
admin-evc-irreversible = This cannot be undone.
admin-evc-type-id = To confirm, type the event's id: { $id }
admin-evc-button = Cancel the event and refund everyone
admin-evc-keep = Keep the event
admin-evc-wrong-id = That is not this event's id. Type { $id } to confirm.
admin-evc-running = The orders are being cancelled and refunded.
admin-evc-refresh = Refresh
admin-evc-progress = { $done } of { $total } orders cancelled
admin-evc-finished = The event is cancelled: all { $total } orders were cancelled and refunded.
admin-evc-started = Cancelled at
admin-evc-finished-at = Finished at
admin-journal-event-cancel = Cancelled with its event
