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
