# The admission page the holder shows at the door (/a/…), live: its states,
# the words its script writes into it, and why an admit there was refused.

door-title = Admission — { $event }
door-valid = VALID — show this to the staff
door-valid-partial = VALID — { $left } of { $total } seats still to enter
door-valid-reentry = VALID — checked out { $at }: show this to go back in
door-admitted = ADMITTED at { $at }
door-admitted-gate = ADMITTED at { $at } · gate { $gate }
door-locked = LOCKED — too many wrong staff PINs
door-locked-detail = Too many wrong staff PINs: this ticket takes none until { $until }. Staff can still check it in with the staff app.
door-not-open = NOT OPEN YET
door-not-open-detail = Admission opens at { $at }.
door-closed = CLOSED
door-closed-detail = Admission has closed for this event.
door-cancelled = CANCELLED
door-cancelled-detail = This ticket was cancelled and refunded; it admits nobody.
door-no-permit = NOT CONFIRMED
door-no-permit-detail = No admission permit yet: call the usage-confirmation number { $number } from the ticket's phone ({ $phone }).
door-permit-issued = Permit issued { $at }
door-live-note = Staff scan the code above; it changes every 15 seconds, so a screenshot stops working.
door-clock = Time at the venue
door-checked = Checked { $at }
door-refresh = Refresh
door-staff-pin = Staff PIN
door-admit = Staff: admit now

## What the page's script writes (it takes these from the page).

door-unreachable = not reachable now, trying again
door-earlier = earlier
# The moving clock: %Y year, %-m/%m month, %b month name, %-d/%d day, %a weekday,
# %H:%M:%S time, %Z the venue's zone (JST). Names from door-weekdays and door-months.
door-clock-format = %a %-d %b %Y, %H:%M:%S %Z
door-weekdays = Sun Mon Tue Wed Thu Fri Sat
door-months = Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec

## An admit on the holder's phone that was refused.

door-staff-app-only = this event's staff check tickets in with the staff app: show them your ticket's QR code
door-pin-missing = staff only: the staff PIN is missing
door-pin-wrong = wrong staff PIN
door-pin-locked = { $tries } wrong staff PINs for this ticket: it takes none for { $minutes } minutes
door-not-open-now = admission is not open for this event now
door-already-admitted = already admitted at { $at }
