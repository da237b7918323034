# 購入ごとのページ：発券案内、チケット、キャンセル、チケットコードの確認。

## 複数のページで使う文言。

ticket-when = { $starts }・開場 { $doors }
ticket-seats = 座席：{ $seats }
ticket-seats-count = 座席：{ $seats }（{ $count }枚）
ticket-purchase-ref = ご購入番号 { $id }・お支払い：{ $status }
ticket-payment-status = { $status ->
    [paid] 支払い済み
    [refunded] 返金済み
    [pending] お支払い待ち
    [declined] 承認されませんでした
    [expired] 期限切れ
   *[other] { $status }
  }
ticket-holder = お名前
ticket-holder-phone = 電話番号 { $phone }・ご購入番号 { $id }
ticket-cancelled-refunded = キャンセル済み — { $date }に{ $amount }を返金しました
ticket-cancel-button = キャンセルして返金…
ticket-cancel-until = { $until }までキャンセルできます。

## 発券案内（/g/…）。

guide-title = チケットを発券する
guide-issued = 発券済みです。チケットはメールでお送りしました。
guide-call-from = { $phone } からこの番号にお電話ください：
guide-call-note = お電話いただくとチケットをメールでお送りします。もう一度お電話いただくと再送します。
guide-cancelled-note = このご購入はキャンセルされました。発券するものはなく、{ $phone } からお電話いただいても発券されません。

## チケット（/t/…）。

ticket-title = チケット — { $event }
ticket-state-valid = 有効なチケット
ticket-state-used = 入場済み
ticket-usage-call = 会場では { $phone } からこの番号にお電話ください。係員にお見せする入場ページをお送りします：
ticket-your-seats = { $count ->
    [one] お客様の座席
   *[other] お客様の座席（{ $count }席）
  }
ticket-each-seat = 座席ごとに1枚のチケットです。入口で各座席の QR コードをお見せください。読み取れないときは係員が参照番号を入力します。
ticket-seat = 座席 { $seat }
ticket-reference = 参照番号
ticket-no-reference = 係員が入力できる参照番号は、発券番号にもう一度お電話いただくと表示されます。
ticket-seat-admitted = 入場 { $at }
ticket-seat-admitted-gate = 入場 { $at }・ゲート { $gate }
ticket-seat-checked-out = 退場 { $at }：このコードで再入場できます
ticket-enter-by-gate = 入場ゲート：{ $gate }
ticket-check-code = このコードを確認
ticket-cancelled-note = このチケットはキャンセルされました。コードでは入場できません。
ticket-not-issued = このチケットはまだ発券されていません

## キャンセル：確認（GET）、そして結果（POST のあと）。

cancel-title = このご購入をキャンセルしますか？
cancel-what = キャンセルする内容
cancel-refund = 返金額：{ $amount }（お支払いに使われた方法に返金します）
cancel-effects = 座席は販売に戻り、{ $phone } からお電話いただいてもこのチケットは発券されなくなります。取り消しはできません。
cancel-confirm = キャンセルして { $amount } を返金する
cancel-keep = キャンセルせずにチケットを残す
cancel-closed = このご購入はもうキャンセルできません。
cancelled-title = キャンセルしました
cancelled-mailed = 座席は販売に戻りました。確認のメールをお送りしました。
cancelled-back = ご購入のページに戻る
cancel-too-late = キャンセルの期限（{ $until }）を過ぎています
cancel-admitted = 入場に使われたチケットはキャンセルできません
cancel-not-paid = キャンセルできるのはお支払い済みのご購入だけです
cancel-refund-failed = 返金できませんでした：{ $reason }
cancel-no-purchase = このリンクはご購入を指していません
cancel-no-such-purchase = ご購入が見つかりません
cancel-no-such-event = 公演が見つかりません

## チケットコードの確認（/verify/…、スタッフ向け）。

verify-title = チケットの確認
verify-not-valid = 無効
verify-used = 本物・入場済み
verify-genuine = 本物のチケット
verify-admitted = 入場済み
verify-checked-out = 入場後に退場中：再入場できます
verify-permit-issued = 入場ページ送信済み・未入場
verify-not-admitted = 未入場
verify-holder = 購入者の電話 { $phone }・ご購入番号 { $id }
verify-masked = 購入者の電話番号は末尾のみ表示しています。購入者がお電話に使う電話と見比べてください。
