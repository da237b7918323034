#!/usr/bin/env bash
# Generate the announcement prompts in prompts/<lang>/<name>.wav:
# 8 kHz, mono, G.711 µ-law WAV (what the SIP endpoint streams as PCMU, and
# converts to PCMA when that is negotiated), each at most 4 seconds.
#
# Needs espeak-ng and sox:  apt-get install -y espeak-ng sox
# Usage: scripts/make-prompts.sh [output-dir]   (default: prompts/ next to this script)
set -euo pipefail

out="${1:-$(cd "$(dirname "$0")/.." && pwd)/prompts}"
max_seconds=4.0
for tool in espeak-ng sox soxi; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (apt-get install -y espeak-ng sox)" >&2; exit 1; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# make <lang> <voice> <speed wpm> <name> <text>
make() {
    local lang="$1" voice="$2" speed="$3" name="$4" text="$5"
    mkdir -p "$out/$lang"
    espeak-ng -v "$voice" -s "$speed" -w "$tmp/raw.wav" -- "$text"
    # Trim leading/trailing silence, normalize, resample for the telephone band.
    sox "$tmp/raw.wav" -r 8000 -c 1 "$tmp/trim.wav" gain -6 \
        silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
        highpass 200 lowpass 3400 gain -n -3 pad 0.1 0.25
    local dur
    dur="$(soxi -D "$tmp/trim.wav")"
    if awk -v d="$dur" -v m="$max_seconds" 'BEGIN { exit !(d > m) }'; then
        # Too long for a prompt: speed it up (pitch kept) to fit.
        local factor
        factor="$(awk -v d="$dur" -v m="$max_seconds" 'BEGIN { printf "%.3f", d / (m - 0.05) }')"
        sox "$tmp/trim.wav" "$tmp/fit.wav" tempo -s "$factor"
        mv "$tmp/fit.wav" "$tmp/trim.wav"
    fi
    sox "$tmp/trim.wav" -r 8000 -c 1 -e u-law -b 8 "$out/$lang/$name.wav"
    printf '%-3s %-20s %5.2fs\n' "$lang" "$name" "$(soxi -D "$out/$lang/$name.wav")"
}

while IFS='|' read -r name text; do
    [ -n "$name" ] && make en en-gb 165 "$name" "$text"
done <<'TEXTS'
purchase-link-sent|Thank you. We have sent a purchase link to your e-mail.
ticket-sent|Your ticket has been issued and sent to your e-mail.
ticket-resent|Your ticket has been sent to your e-mail again.
admission-sent|Your admission page has been sent. Please show it to the staff.
nothing-to-issue|There is no paid ticket for this phone number.
no-ticket|There is no ticket to use for this phone number now.
already-admitted|This ticket has already been used for admission.
anonymous-refused|Please call again with your number shown.
service-error|Sorry, the service is not available. Please try again later.
welcome|Welcome to dial ticket.
press-1-to-resend|To have it sent again, press 1.
identity-refused|We cannot confirm your number. Please call from your own phone.
too-many-requests|We have already sent this several times. Please check your e-mail.
billing-confirmed|Thank you. Your order will be billed with your phone bill.
nothing-to-confirm|There is no order waiting for your confirmation.
billing-refused|Your carrier did not accept billing for this order. Please check your e-mail.
busy-call-again|We are very busy right now. Please call again in a few minutes.
sold-out-link-sent|This date is sold out. We have sent you a link.
press-2-to-wait|For the waiting list, press 2. To resend the link, press 1.
waitlist-joined|You are on the waiting list. We will e-mail you.
waitlist-seats-free|Seats are on sale now. Please use the link we sent.
TEXTS

# Parts the usage call reads seats and gates from ("Your seats: seat A 1 2, gate B"):
# digits and letters one by one, as phone support spells a code.
while IFS='|' read -r name text; do
    [ -n "$name" ] && make en en-gb 165 "$name" "$text"
done <<'TEXTS'
your-seats|Your seats:
seat|seat
gate|gate
press-1-repeat-2-resend|To hear it again, press 1. To have the page sent again, press 2.
digit-0|zero
digit-1|one
digit-2|two
digit-3|three
digit-4|four
digit-5|five
digit-6|six
digit-7|seven
digit-8|eight
digit-9|nine
TEXTS
for letter in A B C D E F G H I J K L M N O P Q R S T U V W X Y Z; do
    make en en-gb 165 "letter-${letter,,}" "$letter"
done

# Japanese: espeak-ng reads kana reliably (kanji readings are hit and miss), so the
# texts are written in kana.
if espeak-ng -v ja -w "$tmp/probe.wav" "てすと" 2>/dev/null && [ "$(soxi -s "$tmp/probe.wav")" -gt 0 ]; then
    while IFS='|' read -r name text; do
        [ -n "$name" ] && make ja ja 170 "$name" "$text"
    done <<'TEXTS'
purchase-link-sent|ありがとうございます。こうにゅうようの リンクを メールで おおくりしました。
ticket-sent|チケットを はっこうし、メールで おおくりしました。
ticket-resent|チケットを もういちど メールで おおくりしました。
admission-sent|にゅうじょうようの ページを おおくりしました。スタッフに おみせください。
nothing-to-issue|この でんわばんごうには しはらいずみの チケットが ありません。
no-ticket|いま つかえる チケットが ありません。
already-admitted|この チケットは すでに にゅうじょうに つかわれています。
anonymous-refused|でんわばんごうを つうちして おかけなおしください。
service-error|もうしわけありません。ただいま ごりよう いただけません。
welcome|ダイヤルチケットへ ようこそ。
press-1-to-resend|もういちど おおくりする ばあいは、1を おしてください。
identity-refused|でんわばんごうを かくにんできません。ごじぶんの でんわから おかけください。
too-many-requests|すでに なんども おおくりしています。メールを ごかくにんください。
billing-confirmed|ありがとうございます。ごちゅうもんは でんわりょうきんと いっしょに せいきゅうされます。
nothing-to-confirm|かくにんを まっている ごちゅうもんは ありません。
billing-refused|けいやくの でんわがいしゃが この せいきゅうを うけつけませんでした。メールを ごかくにんください。
busy-call-again|ただいま たいへん こみあっています。しばらくしてから おかけなおしください。
sold-out-link-sent|この ひは うりきれです。リンクを おおくりしました。
press-2-to-wait|キャンセルまちは 2を、リンクの さいそうは 1を おしてください。
waitlist-joined|キャンセルまちに とうろくしました。メールで おしらせします。
waitlist-seats-free|いま おせきを はんばいしています。おおくりした リンクを ごりようください。
TEXTS
    while IFS='|' read -r name text; do
        [ -n "$name" ] && make ja ja 170 "$name" "$text"
    done <<'TEXTS'
your-seats|おせきは、
seat|せき
gate|ゲート
press-1-repeat-2-resend|もういちど きく ばあいは 1を、ページを もういちど おおくりする ばあいは 2を おしてください。
digit-0|ぜろ
digit-1|いち
digit-2|に
digit-3|さん
digit-4|よん
digit-5|ご
digit-6|ろく
digit-7|なな
digit-8|はち
digit-9|きゅう
letter-a|エー
letter-b|ビー
letter-c|シー
letter-d|ディー
letter-e|イー
letter-f|エフ
letter-g|ジー
letter-h|エイチ
letter-i|アイ
letter-j|ジェー
letter-k|ケー
letter-l|エル
letter-m|エム
letter-n|エヌ
letter-o|オー
letter-p|ピー
letter-q|キュー
letter-r|アール
letter-s|エス
letter-t|ティー
letter-u|ユー
letter-v|ブイ
letter-w|ダブリュー
letter-x|エックス
letter-y|ワイ
letter-z|ゼット
TEXTS
else
    echo "espeak-ng has no usable Japanese voice; skipping prompts/ja" >&2
fi
