# 管理用ポートのバックオフィス：ログイン、1回限りのリンク、公演一覧、アカウント。

admin-brand = dialticket 管理画面
admin-nav = 管理画面
admin-signed-in-as = { $name }（{ $role }）でログイン中
admin-role-operator = 運営者
admin-role-organizer = 主催者
admin-accounts = アカウント
admin-password-change = パスワード変更
admin-logout = ログアウト
admin-back = 公演一覧に戻る

## ログイン

admin-login-title = ログイン
admin-name = ログイン名
admin-password = パスワード
admin-login-button = ログイン
admin-login-note = 主催者・運営者向けです。アカウントは運営者が作成し、パスワード設定用の1回限りのリンクをお渡しします。
admin-login-wrong = ログイン名またはパスワードが違います。
admin-login-too-many = ログインの試行が多すぎます。数分待ってからもう一度お試しください。
admin-sign-in-first = 先にログインしてください。
admin-bad-form = このフォームは確認用トークンなし、または古いトークンで送信されました。
admin-operators-only = このページは運営者のみ開けます。
admin-not-yours = この公演は別の主催者のものです。
admin-no-event = 公演「{ $id }」はありません。

## 1回限りのリンクとパスワード

admin-setup-title = パスワードの設定
admin-setup-intro = このリンクは1回だけ使えます。{ $min }文字以上のパスワードを決めてください。以後はログイン名とこのパスワードでログインします。
admin-setup-button = パスワードを設定してログイン
admin-setup-unknown = このリンクは正しくありません。
admin-setup-used = このリンクは使用済みです。パスワードでログインするか、運営者に新しいリンクを依頼してください。
admin-setup-expired = このリンクは有効期限が切れています。運営者に新しいリンクを依頼してください。
admin-password-title = パスワードの変更
admin-password-old = 現在のパスワード
admin-password-new = 新しいパスワード
admin-password-again = 新しいパスワード（確認）
admin-password-hint = { $min }文字以上。
admin-password-button = パスワードを変更
admin-password-done = パスワードを変更しました。ほかの端末のログインは解除されました。
admin-password-too-short = 新しいパスワードは{ $min }文字以上にしてください。
admin-password-too-long = 新しいパスワードが長すぎます。
admin-password-mismatch = 新しいパスワードが2つの欄で一致しません。
admin-password-unchanged = 新しいパスワードが現在のものと同じです。
admin-password-old-wrong = 現在のパスワードが正しくありません。

## 公演と販売状況

admin-home-title = 公演
admin-no-events = 公演はまだありません。
admin-no-organizers = 表示できる主催者はまだありません。
admin-starts = 開演：
admin-sold-by = 販売電話番号：
admin-not-on-sale = 現在は販売期間外
admin-on-sale = 販売中
admin-seats = 座席
admin-seat-type = 席種
admin-sold = 販売済
admin-held = 仮押さえ
admin-free = 残席
admin-total = 合計
admin-revenue = 売上：

## アカウント

admin-accounts-title = アカウント
admin-accounts-list = アカウント一覧
admin-accounts-new = 主催者アカウントの作成
admin-account-name = ログイン名
admin-account-organizer = 主催者
admin-account-choose = 主催者を選んでください
admin-account-make = アカウントを作成
admin-account-made = { $organizer } のアカウント { $name } を作成しました。この1回限りのリンクを主催者に渡してください。24時間以内に1回だけ、パスワードを設定できます。リンクは今しか表示されません。
admin-account-link = 1回限りのリンク
admin-account-bad-name = ログイン名は1～64文字の英数字・かな漢字、ドット、ハイフン、アンダースコア、@ で指定してください。
admin-account-name-taken = { $name } という名前のアカウントはすでにあります。
admin-account-no-organizer = カタログの主催者から選んでください。
admin-account-role = 役割
admin-account-state = パスワード
admin-account-password-set = 設定済み
admin-account-password-unset = 未設定

## 注文（orders.rs、order_actions.rs）

admin-orders = 注文
admin-orders-title = 注文：{ $event }
admin-orders-search = 電話番号・氏名・注文番号・座席
admin-orders-search-hint = 電話番号はどの書き方でも（090-1234-5678、+81 90…）。氏名、注文番号、座席（A-12）、チケットのコード（K7QF2-M9XTA）でも探せます。
admin-orders-search-button = 検索
admin-orders-found = { $count } 件の注文
admin-orders-none = 該当する注文はありません。
admin-orders-page = { $pages } ページ中 { $page } ページ目
admin-orders-prev = 前へ
admin-orders-next = 次へ
admin-orders-csv = 注文をダウンロード（CSV）
admin-order-title = 注文 { $id }
admin-order-id = 注文番号
admin-order-holder = チケットの持ち主
admin-order-phone = 電話番号
admin-order-name = 氏名
admin-order-no-name = （氏名の登録なし）
admin-order-seat-type = 席種
admin-order-seats = 座席
admin-order-quantity = 枚数
admin-order-amount = 金額
admin-order-payment = 支払い
admin-order-payment-ref = 決済番号
admin-order-state = 状態
admin-order-channel = 購入経路
admin-order-created = 注文日時
admin-order-issued = 発券日時
admin-order-code = チケットのコード
admin-order-admitted = 入場
admin-order-journal = 履歴
admin-order-when = 日時
admin-order-what = 内容
admin-order-who = 操作者
admin-order-back = 注文一覧へ戻る
admin-order-refunded = キャンセル済み：{ $date } に { $amount } を返金しました。
admin-order-actions = 操作
admin-order-resend = チケットのメールを再送
admin-order-reissue = チケットを再発行（新しいコード）
admin-order-cancel = キャンセルして返金
admin-order-confirm-resend = チケットのメールを持ち主にもう一度送りますか？座席のコードは変わりません。前に送ったチケットのリンクは使えなくなります。
admin-order-confirm-reissue = 新しいコードでチケットを再発行しますか？前に発行したコードは入場口で使えなくなります（コードが漏れたときに使います）。新しいコードを持ち主にメールします。
admin-order-confirm-cancel = この注文をキャンセルして { $amount } を返金しますか？座席は販売に戻り、持ち主にメールが届きます。持ち主のキャンセル期限を過ぎていても実行できます。
admin-order-keep = 注文をこのままにする
admin-order-done-resend = チケットのメールを持ち主に送りました。
admin-order-done-reissue = 新しいコードを発行して持ち主にメールしました。前のコードは使えません。
admin-order-done-cancel = 注文をキャンセルして返金しました。持ち主にメールしました。
admin-order-not-paid = この注文は支払われていません。
admin-order-not-issued = チケットはまだ発券されていません。先に持ち主が発券番号に電話します。
admin-no-order = 注文「{ $id }」はありません。
admin-order-state-reserved = 仮押さえ（未払い）
admin-order-state-payment-failed = 支払い失敗
admin-order-state-expired = 期限切れ
admin-order-state-paid = 支払い済み
admin-order-state-issue-guided = 支払い済み・発券案内送信済み
admin-order-state-issued = 発券済み
admin-order-state-admitted = 入場済み
admin-order-state-cancelled = キャンセル・返金済み
admin-channel-phone-link = 電話で届いたリンク
admin-channel-web = ウェブショップ
admin-channel-unknown = 記録なし
admin-actor-account = { $name }（管理画面）
admin-actor-call = 持ち主の電話
admin-actor-web = 持ち主（ウェブ）
admin-actor-staff = 会場の係員
admin-actor-payment = 決済事業者
admin-actor-system = dialticket
admin-journal-reserved = 座席を確保
admin-journal-payment = 支払い
admin-journal-payment-awaited = 支払い待ち
admin-journal-billing-consent = キャリア決済の承認
admin-journal-billing-consent-refused = キャリア決済の拒否
admin-journal-issue-guide = 発券案内をメール
admin-journal-issue-call = 発券の電話
admin-journal-issued = 発券
admin-journal-usage-call = 利用確認の電話
admin-journal-admission-permit = 入場ページをメール
admin-journal-admission = 入場
admin-journal-scan = 入場口で読み取り
admin-journal-cancel = キャンセル
admin-journal-refund = 返金
admin-journal-expire = 仮押さえの期限切れ
admin-journal-admin-cancel = 管理画面でキャンセル
admin-journal-admin-resend = チケットのメールを再送
admin-journal-admin-reissue = 新しいコードで再発行

## 売上（sales.rs）

admin-sales = 売上
admin-sales-title = 売上：{ $event }
admin-sales-chart = 日ごとの販売枚数
admin-sales-chart-table = 表で見る
admin-sales-day = 日付
admin-sales-tickets = 枚数
admin-sales-none = まだ販売はありません。
admin-sales-by-method = 支払い方法別
admin-sales-by-channel = 購入経路別
admin-csv-reference = 注文番号
admin-csv-event = 公演
admin-csv-seat-type = 席種
admin-csv-seats = 座席
admin-csv-quantity = 枚数
admin-csv-amount = 金額
admin-csv-payment-method = 支払い方法
admin-csv-payment-status = 状態
admin-csv-channel = 購入経路
admin-csv-phone = 持ち主の電話番号
admin-csv-name = 氏名
admin-csv-created = 注文日時（会場時刻）
admin-order-created-at = 注文日時：{ $at }
