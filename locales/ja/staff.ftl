# スタッフ用入場チェックアプリ（/staff）とログインページ。判定の文言は
# スキャン API の翻訳済み `headline`・`reason` にも使われます。

staff-title = スタッフ：{ $event }
staff-gate = { $gate } ゲート
staff-counts = 入場 { $admitted } / { $expected }
staff-counts-reentry = 場内 { $inside } · 入場 { $admitted } / { $expected }
staff-gate-count = { $gate } ゲート：{ $admitted }
staff-code-label = QR コードを読み取るか、チケットの照会番号を入力
staff-check = 確認
staff-camera = カメラを使う
staff-camera-stop = カメラを止める
staff-direction = 読み取りの向き
staff-direction-in = 入場
staff-direction-out = 退場（再入場可）
staff-ready = 準備完了
staff-ready-hint = チケットの QR コードを読み取ってください。
staff-seat = 座席 { $seat }
staff-seat-gate = 座席 { $seat }・{ $gate }ゲート
staff-seat-other-gate = 座席 { $seat }・入場は{ $gate }ゲートです（このゲートではありません）
staff-holder = 名義 { $name }
staff-admitted-when = 入場 { $when }
staff-admitted-gate = {"、"}{ $gate } ゲート
staff-admitted-by = {"、"}担当 { $name }
staff-reentered-when = 再入場 { $when }
staff-checked-out-when = 退場 { $when }
staff-not-checked = 未確認
staff-offline = サーバーに接続できません。コードは確認されていません。もう一度お試しください。
staff-camera-failed = カメラを起動できませんでした。コードを入力するか、スキャナーで読み取ってください。
staff-refused = 受け付けられませんでした

staff-login-heading = スタッフ：{ $event }
staff-login-text = このリンクで、このブラウザーに会場スタッフとしてログインします。使えるのは一度だけです。
staff-sign-in = ログイン

staff-not-signed-in = ログインしていません。受け取ったログイン用リンクを開いてください。
staff-login-used = このログイン用リンクは使用済みか無効です。新しいリンクを依頼してください。
staff-empty-code = コードを読み取るか、チケットの照会番号を入力してください。
staff-api-token-needed = スタッフ用 API トークンが必要です（Authorization: Bearer …）。
staff-api-bad-body = JSON {"{"}"code": "…"{"}"} でチケットのコードか照会番号を送ってください。
staff-api-bad-direction = "direction" は "in"（入場）か "out"（退場）です。
staff-api-other-event = このスタッフトークンは別の公演（{ $event }）のものです。
staff-too-many-scans = この端末からのスキャンが多すぎます。少し間をあけてください。
staff-event-gone = このスタッフアカウントのイベントは削除されました。
staff-our-side = システム側で問題が発生しました。もう一度スキャンしてください。

staff-headline-admitted = 入場OK
staff-headline-already_admitted = 入場済み
staff-headline-revoked = 失効
staff-headline-invalid = 無効
staff-headline-wrong_event = 別のイベント
staff-headline-not_open = 入場時間外
staff-headline-cancelled = キャンセル済み
staff-headline-not_confirmed = 利用確認前
staff-headline-stale = 期限切れ
staff-headline-reentry = 再入場OK
staff-headline-checked_out = 退場
staff-headline-not_inside = 場内にいません
staff-headline-no_reentry = 再入場不可

staff-reason-admitted = 入場できます。お通しください。
staff-reason-already_admitted = この座席はすでに入場済みです。チケットのコピーか、二重の読み取りです。
staff-reason-revoked = 失効：この座席には新しいチケットが発行されています（発券番号への再度のお電話）。最新のチケットを見せてもらってください。
staff-reason-invalid = このシステムのチケットコードではありません（偽造・破損・入力ミス）。
staff-reason-wrong_event = 別のイベントのチケットです。
staff-reason-not_open = 入場できるのは { $opens } から { $closes } までです。
staff-reason-cancelled = このチケットはキャンセルされ、返金済みです。
staff-reason-not_confirmed = 利用確認の番号にまだお電話いただいていません。チケットの電話からお電話いただき、もう一度読み取ってください。
staff-reason-stale = 入場ページのライブコードの期限が切れています（スクリーンショットかコピー）。ライブページを開いてもらい、もう一度読み取ってください。
staff-reason-reentry = 再入場です（退場の記録があります）。お通しください。
staff-reason-checked_out = 退場を記録しました。同じチケットで再入場できます。
staff-reason-not_inside = この座席は場内にいません（未入場か、すでに退場済みです）。
staff-reason-no_reentry = このイベントは再入場できないため、退場は記録しません。

# オフライン入場確認（docs/checkin.md「Offline」）
staff-offline-bad-upload = JSON {"{"}"scans": [{"{"}"id": "…", "code": "…", "direction": "in", "at": 1796533543{"}"}]{"}"} を送ってください（最大1000件、各件に固有のid：英数字・-・_）。
staff-app-name = dialticket 入場チェック
staff-app-short-name = 入場チェック
staff-net-online = オンライン・{ $at }に同期
staff-net-offline = オフライン・この端末で確認中・{ $at }に同期
staff-net-never = オフライン・未同期のため、この端末ではコードを確認できません
staff-net-waiting = 送信待ち { $count }件
staff-net-conflicts = オフライン中に二重入場：{ $seats }
staff-offline-verdict = オフラインのため、この端末で確認しました。通信が戻ると送信されます。
staff-offline-checked = オフラインのため、この端末で確認しました。
staff-bundle-refused = 受信した入場データの署名を確認できませんでした。この端末は最後に確認できたデータを使います。
staff-headline-not_synced = 未同期のチケット
staff-reason-not_synced = この端末の最終同期より後に発券されたチケットです。お客様の入場ページを確認するか、責任者を呼んでください
staff-headline-clock = 時計を確認
staff-reason-clock = この端末の時計がゲートウェイと{ $minutes }分ずれています。時刻を合わせてください。それまでオフラインでは入場させません。
