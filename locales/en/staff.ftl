# The staff check-in app (/staff) and its login page. The verdict's words are
# also the scanning API's translated `headline` and `reason`.

staff-title = Staff: { $event }
staff-gate = gate { $gate }
staff-counts = Admitted { $admitted } of { $expected }
staff-counts-reentry = Inside { $inside } · admitted { $admitted } of { $expected }
staff-gate-count = gate { $gate }: { $admitted }
staff-code-label = Scan, or type the ticket's reference
staff-check = Check
staff-camera = Use the camera
staff-camera-stop = Stop the camera
staff-direction = This scan
staff-direction-in = In
staff-direction-out = Out (check-out)
staff-ready = Ready
staff-ready-hint = Scan a ticket's QR code.
staff-seat = Seat { $seat }
staff-seat-gate = Seat { $seat } · gate { $gate }
staff-seat-other-gate = Seat { $seat } · enters by gate { $gate }, not here
staff-holder = Holder { $name }
staff-admitted-when = Admitted { $when }
staff-admitted-gate = {" "}at gate { $gate }
staff-admitted-by = {" "}by { $name }
staff-reentered-when = Back in { $when }
staff-checked-out-when = Checked out { $when }
staff-not-checked = NOT CHECKED
staff-offline = No connection to the gateway: the code was not checked. Try again.
staff-camera-failed = The camera could not be opened: type or scan the code instead.
staff-refused = refused

staff-login-heading = Staff: { $event }
staff-login-text = This link signs this browser in as venue staff. It works once.
staff-sign-in = Sign in

staff-not-signed-in = Not signed in: open the login link you were given.
staff-login-used = This login link was used already or is not valid: ask for a new one.
staff-empty-code = Scan a code or type a ticket's reference.
staff-api-token-needed = A staff API token is needed (Authorization: Bearer …).
staff-api-bad-body = Send JSON {"{"}"code": "…"{"}"}: a ticket code or reference.
staff-api-bad-direction = "direction" is "in" or "out".
staff-api-other-event = This staff token is for another event ({ $event }).
staff-too-many-scans = Too many scans from this device: slow down.
staff-event-gone = This staff account's event is gone.
staff-our-side = Something went wrong on our side; scan again.

staff-headline-admitted = ADMIT
staff-headline-already_admitted = ALREADY ADMITTED
staff-headline-revoked = REVOKED
staff-headline-invalid = INVALID
staff-headline-wrong_event = WRONG EVENT
staff-headline-not_open = NOT OPEN
staff-headline-cancelled = CANCELLED
staff-headline-not_confirmed = NOT CONFIRMED
staff-headline-stale = STALE
staff-headline-reentry = ADMIT · RE-ENTRY
staff-headline-checked_out = CHECKED OUT
staff-headline-not_inside = NOT INSIDE
staff-headline-no_reentry = NO RE-ENTRY

staff-reason-admitted = admitted: let the holder in
staff-reason-already_admitted = this seat was admitted already: a copy of the ticket, or scanned twice
staff-reason-revoked = revoked: a newer ticket was issued for this seat (the holder called the issue number again); ask for the latest one
staff-reason-invalid = not a ticket code of this gateway (forged, damaged or mistyped)
staff-reason-wrong_event = a ticket for another event
staff-reason-not_open = admission is open from { $opens } to { $closes }
staff-reason-cancelled = this ticket was cancelled and refunded
staff-reason-not_confirmed = the holder has not called the usage-confirmation number yet: ask them to call it from the ticket's phone, then scan again
staff-reason-stale = the admission page's live code has run out: a screenshot or a copy. Ask the holder to open the live page and scan it again
staff-reason-reentry = re-entry: the holder was checked out; let them back in
staff-reason-checked_out = checked out: the holder may come back in with the same ticket
staff-reason-not_inside = this seat is not inside: it was never admitted, or it was checked out already
staff-reason-no_reentry = this event is single entry: there is no check-out and no re-entry

# Offline check-in (docs/checkin.md, "Offline").
staff-offline-bad-upload = Send JSON {"{"}"scans": [{"{"}"id": "…", "code": "…", "direction": "in", "at": 1796533543{"}"}]{"}"}: at most 1000 scans, each with its own id (letters, digits, - and _).
staff-app-name = dialticket door check-in
staff-app-short-name = Check-in
staff-net-online = Online · synced { $at }
staff-net-offline = Offline · checking on this device · synced { $at }
staff-net-never = Offline · not synced yet: codes cannot be checked here
staff-net-waiting = { $count ->
    [one] 1 scan waiting to upload
   *[other] { $count } scans waiting to upload
}
staff-net-conflicts = Admitted twice while offline: { $seats }
staff-offline-verdict = Checked on this device, offline; uploaded when the network is back.
staff-offline-checked = Checked on this device, offline.
staff-bundle-refused = The door data from the network did not verify: this device keeps its last good copy.
staff-headline-not_synced = NOT IN LAST SYNC
staff-reason-not_synced = issued after this device last synced: check the holder's admission page, or call a supervisor
staff-headline-clock = CHECK THE CLOCK
staff-reason-clock = this device's clock is { $minutes } min off the gateway's: set it right. Offline scans admit nobody until then.
