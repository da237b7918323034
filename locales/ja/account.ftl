# 購入用リンクから開く、ご自身の設定ページ：メールの送信先とプロフィール。

account-back = イベント一覧に戻る
account-done = 完了

mail-title = メールの送信先
mail-intro = { $phone } あてのメール（購入用リンク、チケット、入場ページ）の送信先：
mail-carrier-note = この電話の携帯会社のアドレス
mail-other-label = 別のアドレスに送る
mail-other-hint = そのアドレスに確認用リンクをお送りします。リンクを開いて確認すると、以後のメールはそちらに届きます。
mail-send-button = 確認用リンクを送る
mail-carrier-button = 携帯会社のアドレス（{ $address }）に戻す

mail-confirm-title = メールアドレスの確認
mail-confirm-question = 今後、{ $phone } あてのメールを { $address } に送りますか？
mail-confirm-button = 確認
mail-already = { $phone } あてのメールは、すでに { $address } に届いています。
mail-replaced = 無効になりました
mail-replaced-text = このリンクを送った後に { $phone } のメールアドレスが変更されたため、このリンクは使えません。

mail-sent-title = メールをご確認ください
mail-sent-text = { $address } に確認用リンクを送りました。リンクを開いて確認してください。確認されるまで、{ $phone } あてのメールは引き続き { $delivers_to } に届きます。
mail-changed-title = メールアドレスを変更しました
mail-changed-text = 今後、{ $phone } あてのメールは { $address } に届きます。以前のアドレスにもお知らせしました。
mail-unchanged-title = メールアドレス

mail-error-empty = メールアドレスを入力してください。
mail-error-too-long = メールアドレスは { $max } 文字以内で入力してください。
mail-error-malformed = 「{ $address }」はメールアドレスではありません（例：name@example.com）。
mail-error-rate-limited = この電話あての確認メールは、この1時間に { $count } 通送信済みです。
account-not-called = この電話からはまだお電話をいただいていません。

profile-title = お客様情報
profile-saved = 保存しました
profile-intro = { $phone } の情報です。お名前はこの電話のチケットと入場ページに表示され、会場スタッフが身分証と照合します。その他の項目は任意です。
profile-name = お名前
profile-postal-address = 住所（任意）
profile-birth-date = 生年月日（任意）
profile-save = 保存する
profile-error-name-too-long = お名前は { $max } 文字以内で入力してください。
profile-error-address-too-long = 住所は { $max } 文字以内で入力してください。
profile-error-bad-date = 生年月日「{ $date }」は日付ではありません（例：1990-04-01）。
profile-error-impossible-date = 生年月日 { $date } はありえない日付です。
profile-not-saved = 保存されていません。修正してもう一度保存してください。
