//! The sales page's figures without I/O: tickets sold per day on the venue's
//! clock, the split by payment method and by channel, and the chart of the days
//! as an SVG drawn with `plotters` (its SVG backend, no fonts of its own: the
//! labels are `<text>` the browser sets in the page's font).

use std::collections::BTreeMap;

use plotters::prelude::*;

/// Days the chart shows at most (the latest ones).
pub(super) const MAX_DAYS: i64 = 62;

/// A sale as the figures count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sale<'a> {
    /// When it was made, and the venue clock's offset from UTC then (seconds).
    pub at: i64,
    pub offset: i32,
    pub tickets: i64,
    pub amount: i64,
    pub method: &'a str,
    pub channel: &'a str,
}

/// The day number (days since 1970-01-01 on the venue's clock) of `at`.
pub(super) fn venue_day(at: i64, offset: i32) -> i64 {
    (at + i64::from(offset)).div_euclid(86_400)
}

/// Tickets per venue day from the first sale's day to `today` (at most the last
/// [`MAX_DAYS`]), days without a sale included as 0.
pub(super) fn per_day(sales: &[Sale], today: i64) -> Vec<(i64, i64)> {
    let mut days: BTreeMap<i64, i64> = BTreeMap::new();
    for s in sales {
        *days.entry(venue_day(s.at, s.offset)).or_default() += s.tickets;
    }
    let Some(first) = days.keys().next().copied() else { return Vec::new() };
    let last = today.max(days.keys().next_back().copied().unwrap_or(first));
    let first = first.max(last - MAX_DAYS + 1);
    (first..=last).map(|d| (d, days.get(&d).copied().unwrap_or(0))).collect()
}

/// Tickets and revenue per key (`key` of each sale), largest first.
pub(super) fn split<'a>(sales: &[Sale<'a>], key: impl Fn(&Sale<'a>) -> &'a str) -> Vec<(&'a str, i64, i64)> {
    let mut by: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for s in sales {
        let e = by.entry(key(s)).or_default();
        e.0 += s.tickets;
        e.1 += s.amount;
    }
    let mut out: Vec<(&str, i64, i64)> = by.into_iter().map(|(k, (t, a))| (k, t, a)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    out
}

/// `M/D` of a day number.
pub(super) fn month_day(day: i64) -> String {
    chrono::DateTime::from_timestamp(day * 86_400, 0).map(|d| d.format("%-m/%-d").to_string()).unwrap_or_default()
}

/// The chart's size: a phone's 390 px shows it nearly at this size, so its
/// 18-point labels (about 14 px) stay readable there.
const WIDTH: u32 = 360;
const HEIGHT: u32 = 200;

/// The bar chart of `days` (day number, tickets) as an SVG element, titled `title`.
/// Each bar carries `data-day` (M/D) and `data-tickets`.
pub(super) fn svg(days: &[(i64, i64)], title: &str) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (left, right, top, bottom) = (46_i32, 8_i32, 12_i32, 30_i32);
        let plot_w = WIDTH as i32 - left - right;
        let plot_h = HEIGHT as i32 - top - bottom;
        let max = days.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
        let ink = RGBColor(0x33, 0x33, 0x33);
        let bar = RGBColor(0x1a, 0x5f, 0xb4);
        let label = |size: u32| ("sans-serif", size).into_font().color(&ink);
        // The axis and the top of the scale.
        root.draw(&PathElement::new(vec![(left, top), (left, top + plot_h), (left + plot_w, top + plot_h)], ink))
            .map_err(|e| e.to_string())?;
        root.draw(&Text::new(max.to_string(), (2, top - 2), label(18))).map_err(|e| e.to_string())?;
        root.draw(&Text::new("0", (2, top + plot_h - 16), label(18))).map_err(|e| e.to_string())?;
        let n = days.len().max(1) as i32;
        // A bar no wider than a thumb, so one day's bar does not read as a wall.
        let slot = (plot_w / n).min(48);
        let every = ((days.len() as i32 * 52) / plot_w.max(1)).max(1) as usize;
        for (i, (day, tickets)) in days.iter().enumerate() {
            let x0 = left + 1 + i as i32 * slot + slot / 6;
            let x1 = (left + 1 + (i as i32 + 1) * slot - slot / 6).max(x0 + 1);
            let h = (*tickets * i64::from(plot_h) / max) as i32;
            if h > 0 {
                root.draw(&Rectangle::new([(x0, top + plot_h - h), (x1, top + plot_h)], bar.filled()))
                    .map_err(|e| e.to_string())?;
            }
            if i % every == 0 || i + 1 == days.len() {
                let text = month_day(*day);
                root.draw(&Text::new(text, (x0, top + plot_h + 6), label(18))).map_err(|e| e.to_string())?;
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    // Accessible and sizable inline: a title, a role, a viewBox; each bar's figures as data attributes.
    let mut bars = days.iter().filter(|(_, n)| *n > 0);
    let mut svg = String::with_capacity(out.len() + 200);
    for line in out.lines() {
        if line.starts_with("<svg") {
            svg.push_str(&format!(
                "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
                escape(title)
            ));
            svg.push_str(&format!("<title>{}</title>", escape(title)));
        } else if line.starts_with("<rect") && line.contains("fill=\"#1A5FB4\"") {
            let (day, n) = bars.next().copied().unwrap_or((0, 0));
            svg.push_str(&line.replacen(
                "<rect",
                &format!("<rect data-day=\"{}\" data-tickets=\"{n}\"", month_day(day)),
                1,
            ));
        } else {
            svg.push_str(line);
        }
        svg.push('\n');
    }
    Ok(svg)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sale(at: i64, tickets: i64, method: &'static str, channel: &'static str) -> Sale<'static> {
        Sale { at, offset: 9 * 3600, tickets, amount: tickets * 1000, method, channel }
    }

    #[test]
    fn days_are_the_venues_and_empty_days_count_zero() {
        // 2026-12-05 20:00 UTC is 12-06 05:00 in Tokyo: the same venue day as 12-06 10:00 JST.
        let a = chrono::DateTime::parse_from_rfc3339("2026-12-05T20:00:00Z").unwrap().timestamp();
        let b = chrono::DateTime::parse_from_rfc3339("2026-12-06T01:00:00Z").unwrap().timestamp();
        let day = venue_day(a, 9 * 3600);
        assert_eq!(venue_day(b, 9 * 3600), day);
        assert_eq!(month_day(day), "12/6");
        let days = per_day(&[sale(a, 2, "card", "web"), sale(b, 1, "card", "web")], day + 2);
        assert_eq!(days, vec![(day, 3), (day + 1, 0), (day + 2, 0)]);
        assert!(per_day(&[], day).is_empty());
        let long = per_day(&[sale(a, 1, "card", "web")], day + 500);
        assert_eq!((long.len() as i64, long.last().copied()), (MAX_DAYS, Some((day + 500, 0))));
    }

    #[test]
    fn the_split_adds_tickets_and_money_per_key() {
        let sales = [sale(0, 2, "card", "web"), sale(0, 1, "konbini", "phone-link"), sale(0, 1, "card", "phone-link")];
        assert_eq!(split(&sales, |s| s.method), vec![("card", 3, 3000), ("konbini", 1, 1000)]);
        assert_eq!(split(&sales, |s| s.channel), vec![("phone-link", 2, 2000), ("web", 2, 2000)]);
    }

    #[test]
    fn the_chart_is_an_svg_with_a_bar_per_day_sold() {
        let svg = svg(&[(20_428, 2), (20_429, 0), (20_430, 1)], "Tickets <per> day").unwrap();
        assert!(svg.starts_with("<svg viewBox=\"0 0 360 200\""), "{svg}");
        assert!(svg.contains("<title>Tickets &lt;per&gt; day</title>"), "{svg}");
        assert_eq!(svg.matches("data-tickets=").count(), 2, "{svg}");
        assert!(svg.contains(&format!("data-day=\"{}\" data-tickets=\"2\"", month_day(20_428))), "{svg}");
        assert!(svg.contains(&month_day(20_430)), "{svg}");
    }
}
