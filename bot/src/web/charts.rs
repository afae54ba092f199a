//! Server-drawn SVG charts: stacked bars, two lines, and horizontal bars. Written by
//! hand rather than with a plotting crate: the three shapes are a few rectangles and
//! polylines, the markup goes through maud (so every label is escaped), no font files
//! are needed to measure text, and the page stays far under its weight budget. Colours
//! are CSS classes, so dark mode and the no-inline-style policy both hold.

use maud::{html, Markup};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

/// A "nice" axis maximum at or above `max`.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * magnitude >= max {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// An axis maximum for durations in minutes: four grid steps of a duration people
/// read at a glance (5m, 15m, 1h, 6h, 1d…), so every tick is a whole value.
pub fn nice_minutes_max(max: f64) -> f64 {
    const STEPS: [f64; 14] =
        [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 180.0, 360.0, 720.0, 1440.0, 2880.0, 10080.0];
    let step =
        STEPS.iter().copied().find(|step| step * 4.0 >= max).unwrap_or_else(|| (max / 4.0 / 10080.0).ceil() * 10080.0);
    step * 4.0
}

/// A tick of a minutes axis: `45m`, `2h`, `1h 30m`, `3d`.
pub fn minutes_tick(minutes: f64) -> String {
    let total = minutes.round() as i64;
    let (days, hours, mins) = (total / 1440, (total / 60) % 24, total % 60);
    match (days, hours, mins) {
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, 0) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

fn axis(title: &str, y_max: f64, y_label: impl Fn(f64) -> String, x_labels: &[(usize, String)], n: usize) -> Markup {
    let plot_h = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / n.max(1) as f64;
    html! {
        title { (title) }
        line.axis x1=(LEFT) y1=(HEIGHT - BOTTOM) x2=(WIDTH) y2=(HEIGHT - BOTTOM) {}
        line.axis x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(HEIGHT - BOTTOM) {}
        @for i in 0..=4 {
            @let value = y_max * f64::from(i) / 4.0;
            @let y = HEIGHT - BOTTOM - plot_h * f64::from(i) / 4.0;
            line.axis x1=(LEFT) y1=(y) x2=(WIDTH) y2=(y) stroke-opacity="0.4" {}
            text x=(LEFT - 4.0) y=(y + 4.0) text-anchor="end" { (y_label(value)) }
        }
        @for (index, label) in x_labels {
            text x=(LEFT + slot * (*index as f64 + 0.5)) y=(HEIGHT - 10.0) text-anchor="middle" { (label) }
        }
    }
}

/// Every `every`-th x label, so they do not overlap.
fn sparse_labels(labels: &[String]) -> Vec<(usize, String)> {
    let every = labels.len().div_ceil(8).max(1);
    labels.iter().enumerate().filter(|(i, _)| i % every == 0).map(|(i, l)| (i, l.clone())).collect()
}

/// Bars of stacked series: `values[bar][series]`, drawn with `classes[series]`.
pub fn stacked_bars(title: &str, labels: &[String], values: &[Vec<f64>], classes: &[&str]) -> Markup {
    let max = values.iter().map(|bar| bar.iter().sum::<f64>()).fold(0.0, f64::max);
    // Counts: a maximum divisible by the four grid steps keeps every tick a whole number.
    let y_max = (nice_max(max) / 4.0).ceil() * 4.0;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / values.len().max(1) as f64;
    let mut rects = Vec::new();
    for (i, bar) in values.iter().enumerate() {
        let mut base = 0.0;
        for (s, value) in bar.iter().enumerate() {
            if *value > 0.0 {
                let class = classes.get(s).copied().unwrap_or("bar");
                let x = LEFT + slot * i as f64 + slot * 0.15;
                let y = HEIGHT - BOTTOM - plot_h * (base + value) / y_max;
                let tip = format!("{}: {value}", labels.get(i).map_or("", String::as_str));
                rects.push((class, x, y, plot_h * value / y_max, tip));
            }
            base += value;
        }
    }
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(title) {
            (axis(title, y_max, |v| format!("{v:.0}"), &sparse_labels(labels), values.len()))
            @for (class, x, y, h, tip) in &rects {
                rect class=(class) x=(x) y=(y) width=(slot * 0.7) height=(h) { title { (tip) } }
            }
        }
    }
}

/// Lines of series over the same x slots: `series[line][x]`, `None` where there is no value.
pub fn lines(
    title: &str,
    labels: &[String],
    series: &[(&str, Vec<Option<f64>>)],
    y_max_for: impl Fn(f64) -> f64,
    y_label: impl Fn(f64) -> String,
) -> Markup {
    let n = labels.len();
    let max = series.iter().flat_map(|(_, s)| s.iter().flatten().copied()).fold(0.0, f64::max);
    let y_max = y_max_for(max);
    let plot_h = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / n.max(1) as f64;
    let point = |i: usize, v: f64| (LEFT + slot * (i as f64 + 0.5), HEIGHT - BOTTOM - plot_h * v / y_max);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(title) {
            (axis(title, y_max, y_label, &sparse_labels(labels), n))
            @for (class, values) in series {
                @let points: Vec<String> = values.iter().enumerate()
                    .filter_map(|(i, v)| v.map(|v| { let (x, y) = point(i, v); format!("{x:.1},{y:.1}") }))
                    .collect();
                polyline class=(class) points=(points.join(" ")) {}
                @for (i, v) in values.iter().enumerate() {
                    @if let Some(v) = v {
                        @let (x, y) = point(i, *v);
                        circle class=(class) cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="2.5" {}
                    }
                }
            }
        }
    }
}

/// Horizontal bars, one per labelled value, longest first as given.
pub fn horizontal_bars(title: &str, rows: &[(String, f64)]) -> Markup {
    let row_h = 22.0;
    let label_w = 220.0;
    let height = (rows.len().max(1) as f64) * row_h + 10.0;
    let max = nice_max(rows.iter().map(|(_, v)| *v).fold(0.0, f64::max));
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (WIDTH) " " (height) } role="img" aria-label=(title) {
            title { (title) }
            @for (i, (label, value)) in rows.iter().enumerate() {
                @let y = 5.0 + i as f64 * row_h;
                @let short: String = label.chars().take(34).collect();
                text x=(label_w - 6.0) y=(y + 15.0) text-anchor="end" { (short) @if label.chars().count() > 34 { "…" } }
                rect.bar x=(label_w) y=(y + 3.0) width=((WIDTH - label_w - 40.0) * value / max) height=(row_h - 6.0) {}
                text x=(label_w + (WIDTH - label_w - 40.0) * value / max + 4.0) y=(y + 15.0) { (value) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_drawn() {
        let svg = horizontal_bars("t", &[("<script>x</script>".into(), 3.0)]).into_string();
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
        assert!(svg.contains("<rect"), "{svg}");
        let bars = stacked_bars("w", &["a".into()], &[vec![1.0, 2.0]], &["fill-sev1", "fill-sev2"]).into_string();
        assert_eq!(bars.matches("<rect").count(), 2, "{bars}");
    }

    #[test]
    fn duration_axes_tick_at_whole_durations() {
        assert_eq!(nice_minutes_max(0.0), 4.0);
        assert_eq!(nice_minutes_max(10.0), 20.0);
        assert_eq!(nice_minutes_max(100.0), 120.0);
        assert_eq!(minutes_tick(30.0), "30m");
        assert_eq!(minutes_tick(90.0), "1h 30m");
        assert_eq!(minutes_tick(120.0), "2h");
        assert_eq!(minutes_tick(2880.0), "2d");
        assert_eq!(minutes_tick(nice_minutes_max(200.0) / 4.0), "1h");
    }

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(23.0), 25.0);
        assert_eq!(nice_max(0.0), 1.0);
    }
}
