//! The demo's report: a summary table for the terminal, and JSON and HTML files (the HTML with
//! the study's effect per income group as a chart) for whoever wants to look again.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::{DemoError, Step};

/// What the demo did and found.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// Every checked step, in order.
    pub steps: Vec<Step>,
    /// The wall time of the whole demo, in seconds.
    pub seconds: f64,
    /// The average salary the analyst learned.
    pub salary_mean: f64,
    /// The study's result, as the statistics bureau received it.
    pub study: Value,
    /// How many records of the insurer and the hospital match.
    pub matches: u64,
    /// Where the data directories were kept, if they were.
    pub kept: Option<PathBuf>,
}

impl DemoReport {
    /// The time each scenario took, in its order.
    pub fn scenarios(&self) -> Vec<(&'static str, u128)> {
        let mut out: Vec<(&'static str, u128)> = Vec::new();
        for step in &self.steps {
            match out.last_mut() {
                Some((name, millis)) if *name == step.scenario => *millis += step.millis,
                _ => out.push((step.scenario, step.millis)),
            }
        }
        out
    }

    /// The summary table.
    pub fn table(&self) -> String {
        let mut out = String::from("\n scenario        checks   time\n");
        for (name, millis) in self.scenarios() {
            let checks = self.steps.iter().filter(|s| s.scenario == name).count();
            let _ = writeln!(
                out,
                " {name:<15} {checks:>6}   {:>6.2} s",
                millis as f64 / 1000.0
            );
        }
        let _ = writeln!(
            out,
            " {:<15} {:>6}   {:>6.2} s",
            "total",
            self.steps.len(),
            self.seconds
        );
        out
    }

    /// Writes `report.json` and `report.html` into `dir`; their paths.
    pub fn write(&self, dir: &Path) -> Result<(PathBuf, PathBuf), DemoError> {
        let io = |e: std::io::Error| DemoError::Io(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(io)?;
        let json_path = dir.join("report.json");
        let json = serde_json::to_vec_pretty(self).map_err(|e| DemoError::Io(e.to_string()))?;
        std::fs::write(&json_path, json).map_err(io)?;
        let html_path = dir.join("report.html");
        std::fs::write(&html_path, self.html()).map_err(io)?;
        Ok((json_path, html_path))
    }

    /// The report as one HTML page, with the study's effects drawn as bars.
    pub fn html(&self) -> String {
        let mut steps = String::new();
        for step in &self.steps {
            let _ = writeln!(
                steps,
                "<tr><td>{}</td><td>{}</td><td>{} ms</td></tr>",
                escape(step.scenario),
                escape(&step.proved),
                step.millis
            );
        }
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>Symbolon demo</title><style>body{{font-family:sans-serif;max-width:60em;\
             margin:2em auto}}td{{padding:.3em .6em;vertical-align:top}}</style></head><body>\
             <h1>Symbolon demo</h1><p>Every check held, in {:.2} s. Average salary learned by \
             the analyst: <b>{:.2}</b>. Matching records in the fraud signal: <b>{}</b>.</p>\
             <h2>The app's effect on annual costs, per income group</h2>{}\
             <h2>Steps</h2><table>{steps}</table></body></html>",
            self.seconds,
            self.salary_mean,
            self.matches,
            self.chart()
        )
    }

    /// An SVG bar chart of the study's effect on costs (app users minus non-users) per group;
    /// suppressed groups are marked, not drawn.
    fn chart(&self) -> String {
        let effects = self.study["effects"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let values: Vec<(String, Option<f64>)> = effects
            .iter()
            .map(|e| {
                let value = (e["suppressed"] != true)
                    .then(|| e["outcomes"]["annual_cost_eur"].as_f64())
                    .flatten();
                (e["group"].to_string(), value)
            })
            .collect();
        let largest = values
            .iter()
            .filter_map(|(_, v)| v.map(f64::abs))
            .fold(1.0_f64, f64::max);
        let (width, row) = (300.0, 28.0);
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\">",
            width * 2.0 + 160.0,
            row * values.len() as f64 + 10.0
        );
        for (i, (group, value)) in values.iter().enumerate() {
            let y = i as f64 * row + 5.0;
            let _ = write!(
                svg,
                "<text x=\"0\" y=\"{}\" font-size=\"13\">group {}</text>",
                y + 16.0,
                escape(group)
            );
            match value {
                Some(v) => {
                    let length = v.abs() / largest * width;
                    let x = if *v < 0.0 {
                        80.0 + width - length
                    } else {
                        80.0 + width
                    };
                    let colour = if *v < 0.0 { "#2a9d8f" } else { "#e76f51" };
                    let _ = write!(
                        svg,
                        "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{length:.1}\" height=\"20\" \
                         fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{v:+.0} €</text>",
                        80.0 + width * 2.0 + 5.0,
                        y + 15.0
                    );
                }
                None => {
                    let _ = write!(
                        svg,
                        "<text x=\"{}\" y=\"{}\" font-size=\"12\">suppressed (small group)</text>",
                        80.0 + width,
                        y + 15.0
                    );
                }
            }
        }
        svg.push_str("</svg>");
        svg
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
