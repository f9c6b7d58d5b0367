//! The searcher's process: `sh -c COMMAND` in its own process group, JSON lines over its
//! stdin/stdout, stderr copied to the run's log file with its last lines kept for errors.

use anyhow::{Context, Result};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weaknas_harness::evaluator::command::{kill_group, track_process_group, untrack_process_group};

/// Lines of stderr quoted in errors.
const TAIL_LINES: usize = 20;

/// What the searcher did next.
pub enum Next {
    /// A line on stdout (without its newline).
    Line(String),
    /// Its stdout closed (it exited, or closed stdout).
    Eof,
    /// Nothing within the timeout.
    Silent,
}

/// A running searcher.
pub struct SearcherProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<std::io::Result<String>>,
    tail: Arc<Mutex<VecDeque<String>>>,
    stderr_done: Receiver<()>,
    group: i32,
}

impl SearcherProcess {
    /// Starts `sh -c command`; stderr goes to `log` (truncated first) when given.
    pub fn spawn(command: &str, log: Option<&Path>, env: &[(&str, String)]) -> Result<Self> {
        let mut log_file = match log {
            Some(p) => {
                if let Some(d) = p.parent() {
                    std::fs::create_dir_all(d)
                        .with_context(|| format!("creating {}", d.display()))?;
                }
                Some(
                    std::fs::File::create(p)
                        .with_context(|| format!("creating {}", p.display()))?,
                )
            }
            None => None,
        };
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .envs(env.iter().map(|(k, v)| (k, v)));
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            c.process_group(0);
        }
        let mut child = c
            .spawn()
            .with_context(|| format!("starting sh -c {command:?}"))?;
        let group = child.id() as i32;
        track_process_group(group);
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut buf = Vec::new();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) => break,
                    Ok(_) => {
                        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                            buf.pop();
                        }
                        let line = String::from_utf8(buf)
                            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e));
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let (done_tx, stderr_done) = std::sync::mpsc::channel();
        let t = tail.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stderr);
            let mut buf = Vec::new();
            while matches!(r.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
                if let Some(f) = log_file.as_mut() {
                    let _ = f.write_all(&buf);
                }
                let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                if let Ok(mut q) = t.lock() {
                    q.push_back(line);
                    if q.len() > TAIL_LINES {
                        q.pop_front();
                    }
                }
                buf.clear();
            }
            if let Some(f) = log_file.as_mut() {
                let _ = f.flush();
            }
            let _ = done_tx.send(());
        });
        let stdin = child.stdin.take();
        Ok(Self {
            child,
            stdin,
            lines,
            tail,
            stderr_done,
            group,
        })
    }

    /// Sends one JSON line; an error means the searcher no longer reads its stdin.
    pub fn send(&mut self, msg: &serde_json::Value) -> std::io::Result<()> {
        let Some(w) = self.stdin.as_mut() else {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        };
        let mut line = serde_json::to_vec(msg).expect("a JSON value serialises");
        line.push(b'\n');
        w.write_all(&line)?;
        w.flush()
    }

    /// The next line of stdout, waiting at most `timeout`.
    pub fn next(&mut self, timeout: Duration) -> std::io::Result<Next> {
        match self.lines.recv_timeout(timeout) {
            Ok(Ok(line)) => Ok(Next::Line(line)),
            Ok(Err(e)) => Err(e),
            Err(RecvTimeoutError::Timeout) => Ok(Next::Silent),
            Err(RecvTimeoutError::Disconnected) => Ok(Next::Eof),
        }
    }

    /// Closes its stdin and waits up to `timeout` for it to exit; `None` if it did not
    /// (it is then killed).
    pub fn finish(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.stdin = None;
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                untrack_process_group(self.group);
                return Some(s);
            }
            if start.elapsed() > timeout {
                self.kill();
                return None;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Kills its process group, unless it has already exited and been reaped (its group id
    /// may then belong to someone else).
    pub fn kill(&mut self) {
        self.stdin = None;
        if matches!(self.child.try_wait(), Ok(None)) {
            kill_group(&mut self.child);
        }
        untrack_process_group(self.group);
    }

    /// The last lines it wrote to stderr (waiting briefly for the copy to catch up).
    pub fn stderr_tail(&self) -> Vec<String> {
        let _ = self.stderr_done.recv_timeout(Duration::from_millis(500));
        self.tail
            .lock()
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Drop for SearcherProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
