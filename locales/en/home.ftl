# The start page (/): what dialticket is and the numbers to call.

home-title = dialticket: tickets by phone call
home-intro = Tickets by phone call. Call a number, get a link by mail.
home-numbers-heading = Numbers to call
home-action-purchase = Buy tickets: get a purchase link by mail
home-action-issue = Get your paid tickets by mail
home-action-usage = At the venue: get the admission page
home-action-confirm-billing = Say yes to carrier billing for your order
home-action-announce = Hear an announcement
home-action-reject = Not in service
home-for-event = for { $event }
home-free-call = Not answered, so the call is free.
home-number-language = Spoken and mailed in { $language }
home-buy-web = Buy on the web
home-buy-web-note = for a phone you name
home-outbox = Open the local outbox
home-outbox-note = No SMTP server is configured, so mails are kept in the outbox on the admin listener (this computer only) for you to read.

## The local outbox (/outbox): every mail kept, when no SMTP server is configured.

outbox-title = Local outbox
outbox-intro = No SMTP server is configured: every mail the gateway sends is kept here. Newest first; the page refreshes itself.
outbox-to = To
outbox-subject = Subject
outbox-state = State
outbox-empty = No mail yet. Call the purchase number to get one.
outbox-back = Outbox
outbox-mail-meta = To { $to } · { $state } · template { $template }
outbox-show-html = Show the HTML version
outbox-off = The local outbox is off: mail goes to the configured SMTP server.
outbox-no-mail = There is no mail #{ $id }.
