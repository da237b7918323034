# トップページ（/）：dialticket の説明とお電話いただく番号。

home-title = dialticket：電話でチケット
home-intro = 電話一本でチケット。番号にお電話いただくと、リンクをメールでお送りします。
home-numbers-heading = お電話いただく番号
home-action-purchase = チケットを買う：購入用リンクをメールでお送りします
home-action-issue = お支払い済みのチケットをメールで受け取る
home-action-usage = 会場で：入場ページを受け取る
home-action-confirm-billing = ご注文の携帯電話料金合算払いを承認する
home-action-announce = お知らせを聞く
home-action-reject = 現在使われておりません
home-for-event = 対象：{ $event }
home-free-call = 応答しないため、通話料はかかりません。
home-number-language = 音声とメール：{ $language }
home-buy-web = ウェブで買う
home-buy-web-note = 指定した電話番号あてに
home-outbox = ローカルの送信箱を開く
home-outbox-note = SMTP サーバーが設定されていないため、メールは管理用ポート（このコンピューターからのみ）の送信箱に保管されます。

## ローカルの送信箱（/outbox）：SMTP サーバーが設定されていないとき、すべてのメールを保管します。

outbox-title = ローカルの送信箱
outbox-intro = SMTP サーバーが設定されていないため、ゲートウェイが送るメールはすべてここに保管されます。新しい順に表示し、ページは自動で更新されます。
outbox-to = 宛先
outbox-subject = 件名
outbox-state = 状態
outbox-empty = メールはまだありません。購入番号にお電話いただくと届きます。
outbox-back = 送信箱
outbox-mail-meta = 宛先 { $to } ・ { $state } ・ テンプレート { $template }
outbox-show-html = HTML 版を表示
outbox-off = ローカルの送信箱は使われていません。メールは設定された SMTP サーバーに送られます。
outbox-no-mail = メール #{ $id } はありません。
