# A phone user's own pages, from the purchase link: where mail goes, and the profile.

account-back = Back to the events
account-done = Done

mail-title = Where your mail goes
mail-intro = Mail for { $phone } (purchase links, tickets, admission pages) goes to:
mail-carrier-note = your carrier's address for this phone
mail-other-label = Send it to another address instead
mail-other-hint = We mail a link to that address; mail goes there once you open the link and confirm.
mail-send-button = Send the confirmation link
mail-carrier-button = Use my carrier's address ({ $address }) again

mail-confirm-title = Confirm your mail address
mail-confirm-question = From now on, send mail for { $phone } to { $address }?
mail-confirm-button = Confirm
mail-already = Mail for { $phone } already goes to { $address }.
mail-replaced = Replaced
mail-replaced-text = The mail address for { $phone } was changed after this link was sent, so it no longer applies.

mail-sent-title = Check your mail
mail-sent-text = We sent a confirmation link to { $address }. Open it and confirm; until then mail for { $phone } keeps going to { $delivers_to }.
mail-changed-title = Mail address changed
mail-changed-text = From now on, mail for { $phone } goes to { $address }. We let the address used before know.
mail-unchanged-title = Mail address

mail-error-empty = Enter a mail address.
mail-error-too-long = A mail address has at most { $max } characters.
mail-error-malformed = "{ $address }" is not a mail address (like name@example.com).
mail-error-rate-limited = { $count } confirmation mails were sent for this phone in the last hour.
account-not-called = This phone has not called us yet.

profile-title = Your details
profile-saved = Saved
profile-intro = For { $phone }. Your name is shown on this phone's tickets and admission pages, so venue staff can compare it with an ID. The rest is optional.
profile-name = Name
profile-postal-address = Postal address (optional)
profile-birth-date = Birth date (optional)
profile-save = Save
profile-error-name-too-long = The name has at most { $max } characters.
profile-error-address-too-long = The postal address has at most { $max } characters.
profile-error-bad-date = The birth date "{ $date }" is not a date like 1990-04-01.
profile-error-impossible-date = The birth date { $date } is not possible.
profile-not-saved = Nothing was saved. Correct it and save again.
