//! Recorded arrivals replayed from a CSV file (a client's `trace`): reading and checking the
//! file, row by row, into a compact form, with diagnostics that point at the file, line and
//! column of the first bad field.
//!
//! A trace is read once per load (a scenario and its variants share it) and held in memory,
//! bounded: at most [`MAX_ROWS`] rows, about 13 bytes each. Lines are read one at a time, so a
//! file larger than that is refused after reading only what it may keep.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tailsim_engine::SimDuration;

use crate::diag::{Diagnostic, InFile, Location, clipped};

/// The most rows a trace may have.
pub const MAX_ROWS: usize = 10_000_000;

/// The longest line a trace may have, in bytes: a file that is not a trace (a device, a binary)
/// is refused before it fills the memory.
const MAX_LINE: usize = 64 * 1024;

/// The most distinct classes a trace may name.
const MAX_TRACE_CLASSES: usize = 63;

/// A trace as read: each row's arrival time and, when the file has those columns, its class
/// and its key.
#[derive(Debug, Default)]
pub struct Trace {
    /// Arrival times in nanoseconds from the start of the run, in order (ties allowed).
    pub times_ns: Vec<u64>,
    /// Each row's class, an index into `class_names`; empty without a class column.
    pub classes: Vec<u8>,
    /// The class names the file uses, in order of first use.
    pub class_names: Vec<String>,
    /// Where each class name is first used, for messages.
    pub class_first_use: Vec<(Location, String)>,
    /// Each row's key; empty without a key column.
    pub keys: Vec<u32>,
    /// The file as shown in messages.
    pub shown_as: String,
}

impl Trace {
    /// Whether the file has a class column.
    pub fn has_classes(&self) -> bool {
        !self.class_names.is_empty()
    }

    /// Whether the file has a key column.
    pub fn has_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The largest key, if the file has keys.
    pub fn max_key(&self) -> Option<u32> {
        self.keys.iter().copied().max()
    }
}

/// The largest trace file tailsim opens, in bytes: room for [`MAX_ROWS`] rows of time, class
/// and key, and a guard against a path that names something else (a disk image, a log).
pub const MAX_TRACE_BYTES: u64 = 1 << 30;

/// Where a scenario's trace files are found, and the traces already read, so that each file is
/// read once however many variants (or aliases of its path) name it.
///
/// A scenario file is untrusted: a trace path is relative to the scenario file's folder and must
/// stay inside it, after following links, unless [`Files::allowing`] opens more folders. Only
/// regular files of at most [`MAX_TRACE_BYTES`] are read, and a file is known by its canonical
/// path. Without a folder ([`Files::default`]), paths are relative to the current directory and
/// stay inside it.
#[derive(Debug, Default)]
pub struct Files {
    dir: Option<PathBuf>,
    shown_dir: Option<String>,
    allowed: Vec<PathBuf>,
    read: RefCell<BTreeMap<PathBuf, Arc<Trace>>>,
}

impl Files {
    /// Trace paths relative to `dir`, the scenario file's folder, shown in messages as `shown`
    /// (the folder as the user named it).
    pub fn in_dir(dir: &Path) -> Files {
        Files { dir: Some(dir.to_path_buf()), shown_dir: Some(dir.display().to_string()), ..Files::default() }
    }

    /// The same, letting traces be read from each of `dirs` (and below) too.
    pub fn allowing(mut self, dirs: &[PathBuf]) -> Files {
        self.allowed.extend(dirs.iter().cloned());
        self
    }

    /// The file a trace path names, and how messages show it.
    fn resolve(&self, path: &str) -> (PathBuf, String) {
        let relative = Path::new(path);
        let dir = self.dir.as_deref().unwrap_or(Path::new("."));
        let shown = match self.shown_dir.as_deref() {
            Some(shown) if !shown.is_empty() && relative.is_relative() => {
                Path::new(shown).join(relative).display().to_string()
            }
            _ => path.to_string(),
        };
        (dir.join(relative), shown)
    }

    /// The canonical path of the trace at `path`, once it is known to lie inside a folder the
    /// scenario may read, and what to call it.
    fn admit(&self, path: &str) -> Result<(PathBuf, String), Diagnostic> {
        let (file, shown) = self.resolve(path);
        let canonical = std::fs::canonicalize(&file).map_err(|e| refused(&shown, e.to_string(), RELATIVE))?;
        let home = self.dir.as_deref().unwrap_or(Path::new("."));
        let inside = std::iter::once(home)
            .chain(self.allowed.iter().map(PathBuf::as_path))
            .filter_map(|root| std::fs::canonicalize(root).ok())
            .any(|root| canonical.starts_with(root));
        if !inside {
            return Err(refused(
                &shown,
                "it is outside the scenario's folder".into(),
                "a scenario may read traces in its own folder and below (links followed); \
                 `--allow-path DIR` lets it read those in DIR too",
            ));
        }
        Ok((canonical, shown))
    }

    /// Reads the trace at `path` (as written in the scenario), or returns it if already read.
    /// A file that cannot be opened, or that the scenario may not read, gives a diagnostic
    /// without a location (the caller points it at the scenario); a bad row, one that points
    /// into the file.
    pub fn trace(&self, path: &str) -> Result<Arc<Trace>, Diagnostic> {
        let (file, shown) = self.admit(path)?;
        if let Some(trace) = self.read.borrow().get(&file) {
            return Ok(trace.clone());
        }
        let opened = open_regular(&file, &shown)?;
        let limited = std::io::Read::take(opened, MAX_TRACE_BYTES);
        let trace = Arc::new(read(std::io::BufReader::new(limited), &shown)?);
        self.read.borrow_mut().insert(file, trace.clone());
        Ok(trace)
    }
}

/// The hint of a trace that cannot be found or opened.
const RELATIVE: &str = "a trace's path is relative to the scenario file's folder";

/// Why the trace shown as `shown` is not read.
fn refused(shown: &str, why: String, hint: &str) -> Diagnostic {
    Diagnostic::error(format!("cannot read the trace \"{}\": {why}", clipped(shown, 200))).with_hint(hint)
}

/// Opens `file` for reading if it is a regular file of a bearable size. It is opened without
/// waiting (a pipe or a device would block an open for ever) and the checks are made on what
/// was opened, not on the path, so a file swapped for a pipe after the path was looked at is
/// refused too.
fn open_regular(file: &Path, shown: &str) -> Result<std::fs::File, Diagnostic> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let opened = options.open(file).map_err(|e| refused(shown, e.to_string(), RELATIVE))?;
    let metadata = opened.metadata().map_err(|e| refused(shown, e.to_string(), RELATIVE))?;
    if !metadata.is_file() {
        return Err(refused(
            shown,
            "it is not a regular file".into(),
            "a trace is a CSV file, not a folder, device or pipe",
        ));
    }
    if metadata.len() > MAX_TRACE_BYTES {
        return Err(refused(
            shown,
            format!("it has {} bytes, more than the {MAX_TRACE_BYTES} a trace may have", metadata.len()),
            "replay a part of it (the run covers its duration only), or sample it",
        ));
    }
    Ok(opened)
}

/// Which column holds what.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Column {
    Time,
    Class,
    Key,
}

/// Reads a trace: one row per arrival, `time[,class[,key]]`, or the columns a first line of
/// names (`time`, `class`, `key`, in any order) sets out. Blank lines and lines starting with
/// `#` are skipped. A time is seconds from the start of the run (`12.5`) or a duration with a
/// unit (`12.5s`, `250ms`); times never go back. A key is a whole number.
pub fn read(reader: impl BufRead, shown_as: &str) -> Result<Trace, Diagnostic> {
    read_at_most(reader, shown_as, MAX_ROWS)
}

/// [`read`], refusing a trace of more than `max_rows` rows.
fn read_at_most(mut reader: impl BufRead, shown_as: &str, max_rows: usize) -> Result<Trace, Diagnostic> {
    let mut trace = Trace { shown_as: shown_as.to_string(), ..Trace::default() };
    let mut columns = vec![Column::Time, Column::Class, Column::Key];
    let mut header_seen = false;
    let mut previous: Option<u64> = None;
    let mut bytes = Vec::new();
    for number in 1.. {
        let unreadable = |why: String| {
            Diagnostic::error(format!("cannot read the trace \"{shown_as}\" at line {number}: {why}"))
                .with_hint("a trace is a text file (UTF-8), one arrival per line")
        };
        bytes.clear();
        let read = std::io::Read::take(&mut reader, MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut bytes)
            .map_err(|e| unreadable(e.to_string()))?;
        if read == 0 {
            break;
        }
        if bytes.len() > MAX_LINE {
            return Err(unreadable(format!("a line longer than {MAX_LINE} bytes")));
        }
        let line = std::str::from_utf8(&bytes).map_err(|_| unreadable("not UTF-8 text".to_string()))?;
        let text = line.trim_end_matches('\n').trim_end_matches('\r');
        if text.trim().is_empty() || text.trim_start().starts_with('#') {
            continue;
        }
        let at = RowAt { shown_as, number, text };
        let fields = split_fields(text);
        if !header_seen {
            header_seen = true;
            if fields[0].0.parse::<f64>().is_err() && SimDuration::parse(fields[0].0).is_err() {
                columns = named_columns(&at, &fields)?;
                continue;
            }
            columns.truncate(fields.len().min(3));
        }
        if fields.len() != columns.len() {
            let (column, what) = match fields.get(columns.len()) {
                Some(&(_, column)) => (column, "more"),
                None => (text.chars().count() + 1, "fewer"),
            };
            return Err(at.fail(
                column,
                format!("this row has {} fields, {what} than the {} of the first row", fields.len(), columns.len()),
                "every row has the same columns: time[,class[,key]]; a field holds no comma",
            ));
        }
        if trace.times_ns.len() >= max_rows {
            return Err(at.fail(
                1,
                format!("the trace has more than {max_rows} rows, the most tailsim keeps in memory"),
                "replay a part of it (the run covers its duration only), or sample it",
            ));
        }
        push_row(&mut trace, &at, &columns, &fields, &mut previous)?;
    }
    Ok(trace)
}

/// Where a trace row's problems are reported: the file, the line's number and its text.
struct RowAt<'a> {
    shown_as: &'a str,
    number: usize,
    text: &'a str,
}

impl RowAt<'_> {
    /// An error at `column` of the row.
    fn fail(&self, column: usize, message: String, hint: &str) -> Diagnostic {
        Diagnostic::error(message)
            .at(Some(Location { line: self.number, column }))
            .in_file(InFile { file: self.shown_as.to_string(), line: self.text.to_string() })
            .with_hint(hint)
    }
}

/// A row's fields, trimmed, each with the column (from 1, in characters) it starts at.
fn split_fields(text: &str) -> Vec<(&str, usize)> {
    let mut fields = Vec::new();
    let mut start = 0;
    for part in text.split(',') {
        let leading = part.len() - part.trim_start().len();
        fields.push((part.trim(), text[..start + leading].chars().count() + 1));
        start += part.len() + 1;
    }
    fields
}

/// The columns a header row names: each once, `time` among them.
fn named_columns(at: &RowAt<'_>, fields: &[(&str, usize)]) -> Result<Vec<Column>, Diagnostic> {
    let mut columns = Vec::new();
    for &(name, column) in fields {
        let kind = match name.to_ascii_lowercase().as_str() {
            "time" | "timestamp" => Column::Time,
            "class" => Column::Class,
            "key" => Column::Key,
            _ => {
                return Err(at.fail(
                    column,
                    format!("unknown column \"{}\" in the trace's first line", clipped(name, 40)),
                    "name the columns `time`, `class` and `key` (only `time` is needed), or leave the names out: time[,class[,key]]",
                ));
            }
        };
        if columns.contains(&kind) {
            return Err(at.fail(
                column,
                format!("the column \"{}\" is named twice", clipped(name, 40)),
                "name each column once",
            ));
        }
        columns.push(kind);
    }
    if !columns.contains(&Column::Time) {
        return Err(at.fail(1, "the trace's first line names no `time` column".into(), "add `time`"));
    }
    Ok(columns)
}

/// Adds a data row's fields to the trace, checking each against its column.
fn push_row(
    trace: &mut Trace,
    at: &RowAt<'_>,
    columns: &[Column],
    fields: &[(&str, usize)],
    previous: &mut Option<u64>,
) -> Result<(), Diagnostic> {
    for (&kind, &(field, column)) in columns.iter().zip(fields) {
        match kind {
            Column::Time => {
                let time = parse_time(field).map_err(|why| {
                    at.fail(
                        column,
                        format!("\"{}\" is not a time: {why}", clipped(field, 40)),
                        "write seconds from the start of the run (`12.5`) or a duration with a unit (`250ms`)",
                    )
                })?;
                if let Some(before) = *previous
                    && time < before
                {
                    return Err(at.fail(
                        column,
                        format!("{} comes before the previous row's {}", SimDuration(time), SimDuration(before)),
                        "sort the trace by time",
                    ));
                }
                *previous = Some(time);
                trace.times_ns.push(time);
            }
            Column::Class => {
                if field.is_empty() {
                    return Err(at.fail(
                        column,
                        "this row has no class".into(),
                        "give every row a class, or drop the column",
                    ));
                }
                let id = match trace.class_names.iter().position(|c| c == field) {
                    Some(id) => id,
                    None if trace.class_names.len() >= MAX_TRACE_CLASSES => {
                        return Err(at.fail(
                            column,
                            format!("more than {MAX_TRACE_CLASSES} classes in one trace"),
                            "a class is a kind of request (`read`, `write`), not an identifier",
                        ));
                    }
                    None => {
                        if let Some(why) = crate::schema::refuse_name(field) {
                            return Err(at.fail(
                                column,
                                format!("this row's class cannot be used: {why}"),
                                "a class is a short printable name",
                            ));
                        }
                        trace.class_names.push(field.to_string());
                        trace.class_first_use.push((Location { line: at.number, column }, at.text.to_string()));
                        trace.class_names.len() - 1
                    }
                };
                trace.classes.push(id as u8);
            }
            Column::Key => {
                let key = field.parse::<u32>().map_err(|_| {
                    at.fail(
                        column,
                        format!("\"{}\" is not a key", clipped(field, 40)),
                        "a key is a whole number from 0 to 4294967295; number string keys by popularity first",
                    )
                })?;
                trace.keys.push(key);
            }
        }
    }
    Ok(())
}

/// A time: seconds as a plain number, or a duration with a unit.
fn parse_time(field: &str) -> Result<u64, String> {
    if let Ok(seconds) = field.parse::<f64>() {
        return if seconds.is_finite() && seconds >= 0.0 && seconds <= crate::schema::MAX_DURATION.as_secs_f64() {
            Ok(SimDuration::from_secs_f64(seconds).as_nanos())
        } else {
            Err("seconds must be zero or more, and at most 100 years".to_string())
        };
    }
    match SimDuration::parse(field) {
        Ok(d) if d <= crate::schema::MAX_DURATION => Ok(d.as_nanos()),
        Ok(_) => Err("at most 100 years".to_string()),
        Err(why) => Err(why.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Trace, Diagnostic> {
        read(text.as_bytes(), "t.csv")
    }

    #[test]
    fn reads_plain_and_named_columns() {
        let trace = parse("0.5\n1\n1.25s\n\n# a comment\n2500ms\n").expect("valid");
        assert_eq!(trace.times_ns, [500_000_000, 1_000_000_000, 1_250_000_000, 2_500_000_000]);
        assert!(!trace.has_classes() && !trace.has_keys());
        let trace = parse("key,time,class\n7,0.1,read\n3,0.2,write\n7,0.2,read\n").expect("valid");
        assert_eq!(trace.times_ns, [100_000_000, 200_000_000, 200_000_000]);
        assert_eq!((trace.classes.as_slice(), trace.class_names.join(" ").as_str()), (&[0u8, 1, 0][..], "read write"));
        assert_eq!(trace.keys, [7, 3, 7]);
    }

    #[test]
    fn bad_rows_point_at_their_field() {
        let error = |text: &str| parse(text).expect_err("invalid");
        let d = error("0.1,read,1\n0.2,read, 1x\n");
        assert_eq!((d.message.as_str(), d.location), ("\"1x\" is not a key", Some(Location { line: 2, column: 11 })));
        assert_eq!(d.in_file.as_ref().map(|f| (f.file.as_str(), f.line.as_str())), Some(("t.csv", "0.2,read, 1x")));
        let d = error("0.3\n0.2\n");
        assert_eq!(
            (d.message.as_str(), d.location),
            ("200ms comes before the previous row's 300ms", Some(Location { line: 2, column: 1 }))
        );
        let d = error("time,klass\n");
        assert_eq!(d.location, Some(Location { line: 1, column: 6 }));
        let d = error("0.1,a\n0.2\n");
        assert!(d.message.starts_with("this row has 1 fields"), "{}", d.message);
        let d = error("time,key\n0.1,-3\n");
        assert_eq!((d.message.as_str(), d.location), ("\"-3\" is not a key", Some(Location { line: 2, column: 5 })));
        let d = error("-1\n");
        assert!(d.message.starts_with("\"-1\" is not a time"), "{}", d.message);
    }

    #[test]
    fn refuses_what_is_not_text() {
        let long = "1".repeat(MAX_LINE + 10);
        assert!(parse(&long).expect_err("too long").message.ends_with("a line longer than 65536 bytes"));
        let d = read(&b"0.5\n\xff\xfe\n"[..], "t.csv").expect_err("binary");
        assert_eq!(d.message, "cannot read the trace \"t.csv\" at line 2: not UTF-8 text");
        assert_eq!(parse("0.5\r\n1.5\r\n").expect("CRLF").times_ns, [500_000_000, 1_500_000_000]);
    }

    #[test]
    fn refuses_more_rows_than_it_keeps() {
        assert!(read_at_most("1\n2\n3\n".as_bytes(), "t.csv", 3).is_ok());
        let d = read_at_most("1\n2\n3\n4\n".as_bytes(), "t.csv", 3).expect_err("too long");
        assert_eq!(
            (d.message.as_str(), d.location),
            ("the trace has more than 3 rows, the most tailsim keeps in memory", Some(Location { line: 4, column: 1 }))
        );
    }

    #[test]
    fn a_file_named_two_ways_is_read_once_and_one_outside_not_at_all() {
        let dir = std::env::temp_dir().join(format!("tailsim-trace-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).expect("a temporary folder");
        std::fs::write(dir.join("sub/t.csv"), "1\n2\n").expect("written");
        let files = Files::in_dir(&dir);
        let a = files.trace("sub/t.csv").expect("read");
        let b = files.trace("./sub/../sub/t.csv").expect("read");
        assert!(Arc::ptr_eq(&a, &b), "read twice");
        let inner = Files::in_dir(&dir.join("sub"));
        let back_inside = inner.trace("../sub/t.csv").is_ok();
        assert!(back_inside, "a path that leaves and comes back is inside");
        std::fs::write(dir.join("outside.csv"), "1\n").expect("written");
        let d = inner.trace("../outside.csv").expect_err("outside");
        assert!(d.message.ends_with("it is outside the scenario's folder"), "{}", d.message);
        assert!(inner.allowing(std::slice::from_ref(&dir)).trace("../outside.csv").is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
