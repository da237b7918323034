# 入口でお見せする入場ページ（/a/…、ライブ表示）：状態、スクリプトが書く文言、
# そこでの入場確定が断られた理由。

door-title = 入場 — { $event }
door-valid = 有効 — 係員にお見せください
door-valid-partial = 有効 — { $total }席中 { $left }席がまだ入場していません
door-valid-reentry = 有効 — { $at }に退場：再入場の際に係員にお見せください
door-admitted = 入場済み { $at }
door-admitted-gate = 入場済み { $at }・ゲート { $gate }
door-locked = ロック中 — スタッフPINの誤りが多すぎます
door-locked-detail = スタッフPINの誤りが多すぎるため、{ $until }までPINを受け付けません。スタッフアプリでの入場確認はできます。
door-not-open = 入場受付前
door-not-open-detail = 入場受付は{ $at }からです。
door-closed = 入場受付終了
door-closed-detail = この公演の入場受付は終了しました。
door-cancelled = キャンセル済み
door-cancelled-detail = このチケットはキャンセル・返金済みのため、入場できません。
door-no-permit = 未確認
door-no-permit-detail = まだ入場許可がありません。チケットの電話（{ $phone }）から利用確認番号 { $number } にお電話ください。
door-permit-issued = 入場許可の発行 { $at }
door-live-note = 係員が上のコードを読み取ります。コードは15秒ごとに変わるため、スクリーンショットでは入場できません。
door-clock = 会場の現在時刻
door-checked = 確認 { $at }
door-refresh = 更新
door-staff-pin = スタッフPIN
door-admit = スタッフ：入場を確定

## ページのスクリプトが書く文言（ページから読み取ります）。

door-unreachable = 現在つながりません。再試行しています
door-earlier = 前回
# 動く時計：%Y 年、%-m 月、%-d 日、%a 曜日、%H:%M:%S 時刻、%Z 会場のタイムゾーン（JST）。
door-clock-format = %Y年%-m月%-d日(%a) %H:%M:%S %Z
door-weekdays = 日 月 火 水 木 金 土
door-months = 1月 2月 3月 4月 5月 6月 7月 8月 9月 10月 11月 12月

## 入場ページでの入場確定が断られた理由。

door-staff-app-only = この公演では係員がスタッフアプリで入場を確認します。チケットの QR コードを係員にお見せください
door-pin-missing = スタッフ専用：スタッフPINが入力されていません
door-pin-wrong = スタッフPINが違います
door-pin-locked = このチケットはスタッフPINの誤りが{ $tries }回あったため、{ $minutes }分間PINを受け付けません
door-not-open-now = この公演は現在入場受付時間外です
door-already-admitted = { $at }に入場済みです
