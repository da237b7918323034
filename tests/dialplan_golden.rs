//! Golden files for dialplans, the way mail-parser keeps its test messages:
//! every case in `tests/dialplans/` (a `NAME.toml`, or a directory `NAME/`) is
//! run through `dialticket dialplan check` and `route` as an admin would, and
//! what the commands print is compared with the transcripts beside it
//! (`NAME.check`, `NAME.route`). Adding a case is adding files; see
//! `tests/dialplans/README.md`. `DIALTICKET_BLESS=1` rewrites the transcripts.

use std::path::{Path, PathBuf};
use std::process::Command;

use dialticket::dialplan::{self, KnownNames};

const CASES: &str = "tests/dialplans";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Case names and their dialplan paths, relative to the repository root.
fn cases() -> Vec<(String, String)> {
    let mut cases: Vec<(String, String)> = std::fs::read_dir(root().join(CASES))
        .expect("tests/dialplans")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let file = p.file_name()?.to_str()?.to_string();
            if p.is_dir() {
                Some((file.clone(), format!("{CASES}/{file}")))
            } else {
                let name = file.strip_suffix(".toml")?;
                Some((name.to_string(), format!("{CASES}/{file}")))
            }
        })
        .collect();
    cases.sort();
    cases
}

/// Split a command line into words; double quotes group words with spaces.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(word);
    }
    out
}

/// Run a `dialticket …` command line from the repository root; stdout, then stderr,
/// then `[exit N]` if it failed.
fn run(line: &str) -> String {
    let words = words(line);
    assert_eq!(words.first().map(String::as_str), Some("dialticket"), "transcript command: {line}");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialticket"));
    cmd.args(&words[1..]).current_dir(root()).env("RUST_LOG", "off");
    // The outcome must not depend on the developer's environment...
    for (k, _) in std::env::vars() {
        if k.starts_with("DIALTICKET_") {
            cmd.env_remove(k);
        }
    }
    // ...nor on a database lying around: event names come from --events or nowhere.
    cmd.env("DIALTICKET_DATABASE_URL", "sqlite://tests/dialplans/no-database.db");
    let out = cmd.output().expect("run dialticket");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        text.push_str(&format!("[exit {}]\n", out.status.code().unwrap_or(-1)));
    }
    text
}

/// `(command, expected output)` pairs of a transcript file.
fn parse(transcript: &str) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in transcript.lines() {
        if let Some(cmd) = line.strip_prefix("$ ") {
            entries.push((cmd.to_string(), String::new()));
        } else if let Some((_, out)) = entries.last_mut() {
            out.push_str(line);
            out.push('\n');
        }
    }
    entries
}

fn render(entries: &[(String, String)]) -> String {
    entries
        .iter()
        .map(|(cmd, out)| format!("$ {cmd}\n{}\n\n", out.trim_end()))
        .collect::<String>()
        .trim_end()
        .to_string()
        + "\n"
}

/// Run every command of `file`; the differences, or (blessing) rewrite the file.
fn verify(file: &Path, case_path: &str, bless: bool) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let entries = parse(&text);
    let mut failures = Vec::new();
    if entries.is_empty() {
        failures.push(format!("{}: no `$ dialticket …` command", file.display()));
    }
    let mut actual = Vec::new();
    for (cmd, expected) in &entries {
        if !words(cmd).iter().any(|w| w == case_path) {
            failures.push(format!("{}: `{cmd}` does not run {case_path}", file.display()));
        }
        let got = run(cmd);
        if got.trim_end() != expected.trim_end() {
            failures.push(format!(
                "{}: `{cmd}`\n--- expected\n{}\n--- got\n{}",
                file.display(),
                expected.trim_end(),
                got.trim_end()
            ));
        }
        actual.push((cmd.clone(), got));
    }
    if bless && !entries.is_empty() {
        std::fs::write(file, render(&actual)).expect("write transcript");
        return Vec::new();
    }
    failures
}

#[test]
fn golden_dialplans() {
    let bless = std::env::var_os("DIALTICKET_BLESS").is_some();
    let cases = cases();
    assert!(cases.len() >= 5, "expected the dialplan cases in {CASES}, found {cases:?}");
    let mut failures = Vec::new();
    for (name, path) in &cases {
        let check = root().join(CASES).join(format!("{name}.check"));
        if !check.exists() {
            if !bless {
                failures.push(format!("{}: missing (DIALTICKET_BLESS=1 writes it)", check.display()));
                continue;
            }
            let cmd = format!("dialticket dialplan check {path} --events events/demo.toml");
            std::fs::write(&check, format!("$ {cmd}\n")).expect("write .check");
        }
        failures.extend(verify(&check, path, bless));
        let route = root().join(CASES).join(format!("{name}.route"));
        if route.exists() {
            failures.extend(verify(&route, path, bless));
        }
    }
    assert!(failures.is_empty(), "{} golden mismatch(es):\n\n{}", failures.len(), failures.join("\n\n"));
}

/// mail-parser re-reads its messages with other line endings; a dialplan saved
/// on Windows must give the same diagnostics, at the same lines and columns.
#[test]
fn line_endings_do_not_change_diagnostics() {
    for (name, path) in cases() {
        let sources = dialplan::read_sources(&root().join(&path)).expect("read case");
        let crlf: Vec<(PathBuf, String)> = sources.iter().map(|(f, t)| (f.clone(), t.replace('\n', "\r\n"))).collect();
        // Where and how bad; the TOML parser words a syntax error around a stray '\r' differently.
        let show = |s: &[(PathBuf, String)]| {
            dialplan::check::check_sources(s, &KnownNames::default())
                .diagnostics
                .iter()
                .map(|d| format!("{}: {:?}", d.at, d.severity))
                .collect::<Vec<_>>()
        };
        assert_eq!(show(&sources), show(&crlf), "{name}");
    }
}

#[test]
fn transcripts_round_trip() {
    let text = "$ dialticket a\nout\n\n$ dialticket \"b c\"\n[exit 1]\n";
    let entries = parse(text);
    assert_eq!(entries[1].0, "dialticket \"b c\"");
    assert_eq!(words(&entries[1].0), ["dialticket", "b c"]);
    assert_eq!(render(&entries), text);
}
