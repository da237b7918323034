# すべてのページに共通の文言：レイアウト、言語の切り替え、エラー。

language-name = 日本語
switch-language = 言語
test-mode = テストモード：デモです。実際のお金は動かず、チケットも本物ではありません。
footer = dialticket

## エラー：見出し、内容、次にすること。

error-our-side = こちらのシステムで問題が起きました。
error-no-page = このアドレスのページはありません。
error-home-link = トップページへ

error-expired-heading = このリンクは有効期限が切れています
error-expired-message = このリンクは有効期限が切れています。
error-expired-hint = もう一度お電話いただくと、新しいリンクをお送りします。
error-replaced-heading = このリンクは新しいものに置き換わりました
error-replaced-message = 新しいリンクが発行されたため、このリンクは使えません。
error-replaced-hint = いちばん新しいメールのリンクを開いてください。
error-bad-link-heading = このリンクは使えません
error-bad-link-message = このリンクは正しくありません。
error-bad-link-hint = メールに届いたリンクをそのまま開くか、もう一度お電話ください。
error-unexpected-heading = 問題が発生しました
error-unexpected-hint = 少し時間をおいてもう一度お試しください。
error-unavailable-heading = ただいま混み合っています
error-unavailable-message = 現在、チケットの記録にアクセスできません。何も処理・請求されていません。
error-unavailable-hint = 数秒後にもう一度お試しください。フォームを送信していた場合は、もう一度送信してください。二重に処理されることはありません。
error-not-found-heading = 見つかりません
error-not-found-hint = アドレスを確かめるか、メールのリンクをもう一度開いてください。
error-conflict-heading = この操作はできませんでした
error-conflict-hint = 料金は請求されていません。ページを開き直して状況をご確認ください。
error-invalid-heading = 入力内容をご確認ください
error-invalid-hint = 何も処理されていません。修正してもう一度送信してください。
error-staff-only-heading = スタッフ専用
error-staff-only-hint = 会場スタッフはスタッフアプリで入場を確認します。
error-too-many-tries-heading = 試行回数が多すぎます
error-too-many-tries-hint = スタッフPINは主催者にお問い合わせください。しばらくすると再び入力できます。
error-rate-limited-heading = リクエストが多すぎます
error-rate-limited-hint = 1時間ほどしてからもう一度お試しください。
error-cross-site-heading = 別のサイトから送信されました
error-cross-site-hint = 何も処理されていません。メールのリンクからページを開き直して、そこから送信してください。
error-forbidden-heading = 閲覧できません
error-forbidden-hint = 何も表示・変更していません。このページの持ち主のアカウントでログインするか、運営者にお問い合わせください。
error-bad-form-heading = このフォームは有効期限切れです
error-bad-form-hint = 何も変更していません。前のページに戻り、ページを再読み込みしてからもう一度送信してください。
error-gone-heading = このリンクはもう使えません
error-gone-hint = 1回限りのリンクは、24時間以内に1回だけ使えます。運営者に新しいリンクを依頼してください。
