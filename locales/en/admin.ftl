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
