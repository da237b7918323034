# What every page says: the layout, the language switch, errors.
# Ids are kebab-case; a page's own messages live in its own file.

language-name = English
switch-language = Language
test-mode = Test mode: a demo, no real money moves and no ticket is real.
footer = dialticket

## Errors: a heading on top, the detail, then what to do next.

error-our-side = Something went wrong on our side.
error-no-page = There is no page at this address.
error-home-link = Go to the start page

error-expired-heading = This link has expired
error-expired-message = This link has expired.
error-expired-hint = Call the number again to get a fresh link.
error-replaced-heading = This link was replaced
error-replaced-message = A newer link replaced this one.
error-replaced-hint = A newer mail replaced this one: open the link in the latest mail.
error-bad-link-heading = This link does not work
error-bad-link-message = This link is not valid.
error-bad-link-hint = Open the link exactly as it arrived in your mail, or call again for a new one.
error-unexpected-heading = Something went wrong
error-unexpected-hint = Please try again in a moment.
error-unavailable-heading = Busy for a moment
error-unavailable-message = We cannot reach our ticket records right now. Nothing was done or charged.
error-unavailable-hint = Please try again in a few seconds. If you were sending a form, send it again: it will not be done twice.
error-not-found-heading = Not found
error-not-found-hint = Check the address, or open the link in your mail again.
error-conflict-heading = That could not be done
error-conflict-hint = Nothing was charged. Open the page again to see where things stand.
error-invalid-heading = Please check what you entered
error-invalid-hint = Nothing was done. Correct it and send it again.
error-staff-only-heading = Staff only
error-staff-only-hint = Venue staff check tickets in with the staff app.
error-too-many-tries-heading = Too many tries
error-too-many-tries-hint = Ask the organizer for the staff PIN; this ticket takes PINs again later.
error-rate-limited-heading = Too many requests
error-rate-limited-hint = Please try again in an hour.
error-cross-site-heading = Sent from another site
error-cross-site-hint = Nothing was done. Open the page again from the link in your mail and send it from there.
error-forbidden-heading = Not yours to see
error-forbidden-hint = Nothing was shown or changed. Sign in with the account this belongs to, or ask an operator.
error-bad-form-heading = This form has expired
error-bad-form-hint = Nothing was changed. Go back, reload the page and send the form again.
error-gone-heading = This link no longer works
error-gone-hint = A one-time link works once and for 24 hours. Ask an operator for a new one.
