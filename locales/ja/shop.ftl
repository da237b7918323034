# ショップ：公演の一覧、公演ごとの注文フォーム、確認画面、注文の結果と領収書、
# ショップのエラーメッセージ。

## 公演の一覧

shop-events-title = 公演を選ぶ
shop-events-for = { $phone } のご注文
shop-events-mail-link = メールの送り先
shop-events-profile-link = お客さま情報
shop-events-web-intro = ウェブでのご購入：チケットを受け取る電話番号を入力していただきます。
shop-events-none = いま販売中の公演はありません。
shop-seats-left = { $count ->
    [0] 売り切れ
   *[other] 残り{ $count }席
}
shop-not-on-sale = 現在は販売していません。
shop-sold-out = 売り切れ
shop-from-price = { $price }から

## 公演のページと注文フォーム

shop-back-to-events = ← 公演の一覧
shop-doors = 開場 { $time }
shop-contact = お問い合わせ：{ $contact }
shop-sold-out-heading = 売り切れ
shop-sold-out-body = この日の席はすべて売り切れました。
shop-not-on-sale-body = この公演は現在販売していません。
shop-other-dates = ほかの日程
shop-other-events = ほかの{ $genre }の公演
shop-no-other-dates = この公演にほかの日程はありません。
shop-seat-type = 席の種類
shop-seat-option = { $name } — { $price }（{ $left }）
shop-seat-map = 座席を選ぶ
shop-seat-map-hint = ご希望の席にチェックを入れてください。席の種類と枚数はチェックした席に合わせます。チェックしなければ、空いている良い席をこちらで選びます。
shop-seat-map-stage = ステージ
shop-seat-label = 座席 { $seat }、{ $type }、{ $price }
shop-seat-taken = 座席 { $seat }、販売済み
shop-quantity = 枚数
shop-quantity-hint = 1回のご注文で最大{ $max }枚です。
shop-recipient-required = チケットを受け取る電話番号
shop-recipient-optional = ほかの電話に贈る（任意）
shop-recipient-required-hint = その電話から発券番号に電話すると、チケットが発券されます。ふだん電話をかけるとおりに入力してください（例：{ $example }）。
shop-recipient-optional-hint = 空欄のままなら、チケットは { $phone } に届きます。
shop-payment = お支払い方法
shop-method-card = クレジットカード
shop-method-konbini = コンビニ払い
shop-method-carrier = キャリア決済（携帯電話料金と合算）
shop-method-prepaid = プリペイドコード
shop-method-unavailable = （ご利用いただけません）
shop-billing-phone = 請求先の電話番号
shop-billing-hint = 「購入する」を押したあとにお知らせする番号へ、その電話から電話をかけるまで請求はされません。
shop-card-number = カード番号
shop-card-test = テストモード：4242 4242 4242 4242 は承認、4000 0000 0000 0002 は拒否、4000 0027 6000 3184 は確認コード（123456）を求めます。
shop-prepaid-code = プリペイドコード
shop-prepaid-test = テストモード：DT-12345672 が使えます。
shop-konbini-hint = 「購入する」を押すと、コンビニでお支払いいただくための払込番号をお知らせします（メールでもお送りします）。
shop-review-button = 注文内容を確認する
shop-review-note = まだ購入は確定しません。次の画面で合計金額をご確認いただけます。

## 確認画面

shop-review-title = ご注文内容の確認
shop-review-intro = まだ購入は確定していません。内容をご確認のうえ「購入する」を押してください。
shop-review-event = 公演
shop-review-date = 日時
shop-review-venue = 会場
shop-review-seats = 席の種類
shop-review-chosen-seats = 選んだ座席
shop-review-quantity = 枚数
shop-review-unit-price = 1枚の価格
shop-review-fees = 手数料
shop-review-no-fees = なし
shop-review-total = 合計
shop-review-payment = お支払い方法
shop-review-card-ending = 末尾 { $last4 } のカード
shop-review-policy = キャンセル
shop-review-cancellable = { $deadline }（開演の{ $days }日前）までキャンセルでき、全額を返金します。
shop-review-not-cancellable = このご注文はキャンセルできません（キャンセル期限 { $deadline } を過ぎています）。
shop-review-phone = チケットを受け取る電話番号
shop-review-confirm-phone = この電話（{ $phone }）でチケットを受け取ります
shop-review-billing-phone = 請求先の電話番号
shop-review-mail = 領収書を受け取るメールアドレス（任意）
shop-review-mail-hint = 領収書をこのアドレスにお送りします。不要なら空欄のままにしてください。
shop-review-buy = { $total } で購入する
shop-review-change = 注文内容を変更する

## 注文の結果

shop-paid-title = お支払いを受け付けました
shop-paid-state = ありがとうございます。お支払いが完了しました。
shop-receipt = 領収書
shop-order-reference = ご注文番号
shop-what = ご購入内容
shop-seat-numbers = 座席 { $seats }
shop-total = 合計
shop-receipt-phone = チケットの電話番号
shop-how-to-get = チケットの受け取り方
shop-paid-how = { $phone } から { $number } に電話してください。その電話にチケットが発券されます。同じ内容をメールでもお送りしました。
shop-call-issue = { $number } に電話する
shop-show-guide = 発券の案内を見る
shop-receipt-mailed = 領収書を { $address } にお送りしました。
shop-pending-title = コンビニでお支払いください
shop-pending-instructions = 払込番号 { $number } で、お近くのコンビニでお支払いください
shop-payment-number = 払込番号
shop-pending-how = この番号で、お近くのコンビニ（セブン-イレブン、ローソン、ファミリーマートなど）のレジでお支払いください。
shop-pending-body = 席は { $until } まで確保しています。お支払いを確認しだい、発券の案内をメールでお送りします。払込番号はメールでもお送りしました。
shop-consent-title = キャリア決済の確認
shop-consent-body = { $amount } を { $line } の電話料金と合わせてお支払いいただくには、その電話から次の番号に電話してください：
shop-consent-call = { $number } に電話する
shop-consent-after = その電話があるまで請求はされません。確認できしだい、発券の案内をメールでお送りします。
shop-consent-hold = 席は { $until } まで確保しています。それまでにお電話がなければ、席は販売に戻ります。
shop-consent-instructions = { $amount } を { $line } の電話料金と合わせてお支払いいただくには、{ $until } までにその電話から { $number } に電話してください。電話があるまで請求はされません。
shop-challenge-title = カードの本人確認
shop-challenge-body = カード会社が、{ $event } の { $amount } のお支払いについて本人確認を求めています。
shop-challenge-wrong = 確認コードが正しくありません。もう一度入力してください。
shop-challenge-code = 確認コード
shop-challenge-test = テストモード：確認コードは 123456 です。
shop-challenge-confirm = 確認する
shop-challenge-hold = 席は { $until } まで確保しています。
shop-expired-title = 確保期限が過ぎました
shop-expired-state = 期限までにお支払いがありませんでした
shop-expired-body = 請求はされず、席は販売に戻りました。もう一度ご注文いただくには公演のページを開いてください。
shop-declined-title = お支払いが承認されませんでした
shop-declined-state = カード会社がお支払いを承認しませんでした。
shop-declined-body = 代金はいただいておらず、席の確保は解除しました。別のカードや別のお支払い方法で、もう一度お試しいただけます。
shop-try-again = もう一度購入する
shop-order-line = { $event } · 座席 { $seats } · { $amount }

## ショップのエラー（入力欄の横に表示し、入力内容は残します）

shop-error-form-incomplete = フォームの内容が足りません。公演のページをもう一度開いてください。
shop-error-form-used = このフォームはすでに使われています。
shop-error-no-event = 「{ $id }」という公演はありません。
shop-error-not-on-sale = { $event } は現在販売していません。
shop-error-recipient-missing = チケットを受け取る電話番号を入力してください。
shop-error-phone-format = 「{ $typed }」はおかけできる電話番号ではありません。{ $country }の番号を { $example } のように入力するか、+ から始まる国際番号を入力してください。
shop-error-phone-format-any = 「{ $typed }」はおかけできる電話番号ではありません。+ と国番号から始まる国際番号を入力してください（例：{ $example }）。
shop-error-carrier-unavailable = この公演ではキャリア決済をご利用いただけません。
shop-error-billing-missing = キャリア決済：料金を支払う電話の番号を入力してください（その電話からの電話で確定します）。
shop-error-quantity = 枚数は1〜{ $max }枚から選んでください。
shop-error-seat-type = 表示されている席の種類から選んでください。
shop-error-not-enough = この席の残りは{ $count }席です。枚数を減らしてください。
shop-error-seats-mixed = 1回のご注文では、同じ種類の席だけを選んでください。
shop-error-seat-gone = 座席 { $seat } はすでに販売済みです。ほかの席を選んでください。
shop-error-card = カード番号が正しくありません。カードの16桁の番号をご確認ください。
shop-error-prepaid = プリペイドコードが正しくありません。DT-12345678 のような形です。
shop-error-method = ご利用いただけるお支払い方法を選んでください。
shop-error-confirm-phone = この電話でチケットを受け取ることを確認するため、チェックを入れてください。
shop-error-mail = 「{ $typed }」はメールアドレスではありません。
shop-error-consent-clash = この電話の確認を同じ番号で待っている別のご注文があります。もう一度ご注文ください。
shop-error-challenge-link = このリンクには注文が含まれていません。
shop-error-no-purchase = そのご注文は見つかりません。
shop-country-jp = 日本
shop-country-gb = イギリス
shop-country-us = アメリカ

## 主催者による販売停止、電話番号あたりの枚数上限

shop-paused = 販売を一時停止しています。
shop-paused-body = 主催者がこの公演の販売を一時停止しています。このリンクは引き続き有効です。後でもう一度開くか、購入番号に再度お電話ください。
shop-error-paused = { $event } の販売は一時停止中です。後でもう一度お試しください。
shop-error-phone-limit = この公演は電話番号あたり最大 { $limit } 枚で、この電話番号ではすでに { $has } 枚あります。枚数を減らしてください。

## 売り切れた席種のキャンセル待ち

shop-wait-join-heading = キャンセル待ちに登録する
shop-wait-join-how = キャンセルや未払いでお席が戻ると、順番の早い方からお取り置きし、メールでお知らせします。お知らせから{ $minutes }分以内にご購入ください。登録は無料です。
shop-wait-join-button = キャンセル待ちに登録
shop-wait-place-heading = キャンセル待ちに登録済みです
shop-wait-number = 現在 { $number } 番目
shop-wait-place-how = お席をご用意できたらメールでお知らせします。お知らせから{ $minutes }分以内にご購入ください。
shop-wait-leave-button = キャンセル待ちをやめる
shop-wait-offer-heading = お席をお取り置きしています
shop-wait-offer-until = { $until }（会場の時刻）までにご購入ください。期限を過ぎると次の方へご案内します。
shop-wait-offer-how = 下のフォームでお支払い方法を選んでください。
shop-wait-decline-button = 辞退して次の方に譲る
shop-wait-held = お取り置き { $count } 席
shop-wait-any-type = どの席でも
shop-wait-call = 売り切れです。キャンセル待ちには、お使いの電話から { $number } にお電話ください。このページへのリンクをメールでお送りします。
shop-wait-error-seats-free = この席種は現在 { $count } 席販売中です。そちらをご購入ください。
shop-wait-error-limit = この電話番号はすでにこの公演のチケットを { $limit } 枚お持ちです（主催者が定める上限）。
