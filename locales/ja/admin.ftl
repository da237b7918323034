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

## 公演の作成・編集・複製、販売と公開

admin-ev-new = 公演を作成
admin-ev-new-title = 新しい公演
admin-ev-edit-title = { $name } を編集
admin-ev-id = 公演ID
admin-ev-id-hint = 半角小文字・数字・ハイフン(例: spring-gala-2027)。公演のリンクに使われ、後から変更できません。
admin-ev-name = 公演名
admin-ev-genre = ジャンル
admin-ev-venue = 会場
admin-ev-region = 地域
admin-ev-description = 説明
admin-ev-contact = 購入者向けの問い合わせ先
admin-ev-time-zone = 会場のタイムゾーン
admin-ev-time-zone-hint = 以下の日時はすべて会場の時刻です。
admin-ev-starts-at = 開演
admin-ev-doors-open = 開場
admin-ev-sale-start = 販売開始
admin-ev-sale-end = 販売終了
admin-ev-admission-opens = 入場受付開始(空欄: 開場時刻)
admin-ev-admission-closes = 入場受付終了(空欄: 開演の4時間後)
admin-ev-cancellable-days = キャンセル期限(開演の何日前まで)
admin-ev-phone-limit = 電話番号あたりの枚数上限
admin-ev-phone-limit-hint = この公演で1つの電話番号が購入済み・確保中の枚数。0は上限なし。
admin-ev-reentry = 再入場を許可する
admin-ev-seat-types = 席種
admin-ev-seat-types-hint = 指定席は列と1列の席数、自由席は席数を入力します。使わない行は空欄のままにしてください。
admin-ev-seat-type-n = 席種 { $n }
admin-ev-seat-field = 席種 { $n } の{ $field }
admin-ev-st-code = コード
admin-ev-st-name = 名称
admin-ev-st-price = 価格
admin-ev-st-rows = 列(例: A B C)
admin-ev-st-per_row = 1列の席数
admin-ev-st-count = 席数(自由席)
admin-ev-st-gate = ゲート
admin-ev-create = 公演を作成
admin-ev-save = 変更を保存
admin-ev-missing = 「{ $field }」を入力してください。
admin-ev-bad-id = 公演IDは半角小文字・数字・ハイフンで1〜64文字です(ハイフンで始まらないこと)。
admin-ev-bad-time = 「{ $field }」: { $value } は日時として読めません。
admin-ev-no-such-time = 「{ $field }」: { $value } は { $zone } では存在しない時刻です(時計が飛ばす時間帯)。別の時刻を選んでください。
admin-ev-bad-zone = { $zone } はタイムゾーンではありません。
admin-ev-bad-number = 「{ $field }」は0以上の整数で入力してください。
admin-ev-no-seat-types = 席種を1つ以上入力してください。
admin-ev-bad-seat-code = 席種コード「{ $code }」: 半角英数字1〜16文字にしてください。
admin-ev-seat-code-twice = 席種コード { $code } が2回使われています。
admin-ev-no-seats = 席種 { $code } に席がありません。列と1列の席数、または席数を入力してください。
admin-ev-bad-gate = 席種 { $code }: ゲートは半角英数字1〜8文字です。
admin-ev-doors-after-start = 開場は開演より前にしてください。
admin-ev-sale-ends-first = 販売終了は販売開始より後にしてください。
admin-ev-admission-closes-first = 入場受付終了は受付開始より後にしてください。
admin-ev-invalid = 公演を保存できません: { $detail }
admin-ev-id-taken = 公演ID { $id } はすでに使われています。別のIDにしてください。
admin-ev-below-sold = 席種 { $code } を { $wanted } 席にはできません。販売済み { $sold } 席、確保中 { $held } 席があります。{ $sold } + { $held } 席以上にしてください。
admin-ev-bad-action = 不明な操作です。
admin-ev-controls = 販売と公開
admin-ev-paused = 販売停止中
admin-ev-selling = 販売中
admin-ev-published = ショップに掲載中
admin-ev-unpublished = 非公開(購入者には表示されません)
admin-ev-limit-is = 電話番号あたり最大 { $n } 枚。
admin-ev-no-limit = 電話番号あたりの枚数上限なし。
admin-ev-stop = 販売を停止
admin-ev-resume = 販売を再開
admin-ev-unpublish = 非公開にする
admin-ev-publish = 公開する
admin-ev-edit = 編集
admin-ev-duplicate = 複製
