//! Child processes that cannot outlive the test process: spawned from one thread that lives
//! as long as the process, with `PR_SET_PDEATHSIG = SIGKILL` (the signal fires when the
//! spawning *thread* exits, so a short-lived test thread must not be the parent).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

type SpawnRequest = (Command, File, mpsc::Sender<std::io::Result<std::process::Child>>);

static SPAWNER: OnceLock<std::sync::Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();

/// Why a child did not start.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("cannot create the log {}", path.display())]
    Log {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start {name}")]
    Start {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the spawner thread is gone")]
    Spawner,
}

/// A running child process, killed on drop.
pub struct Child(std::process::Child);

impl Child {
    /// # Errors
    /// [`SpawnError`]: the log cannot be created or the program cannot start.
    pub fn spawn(mut command: Command, log: &std::path::Path) -> Result<Self, SpawnError> {
        let name = command.get_program().to_string_lossy().into_owned();
        let log_file = File::create(log).map_err(|source| SpawnError::Log { path: log.to_owned(), source })?;
        let parent_pid = std::process::id();
        // SAFETY: prctl and getppid are async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // The parent may have died before prctl took effect.
                if libc::getppid() as u32 != parent_pid {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let (reply_to, reply) = mpsc::channel();
        let sender = SPAWNER.get_or_init(|| std::sync::Mutex::new(start_spawner()));
        sender
            .lock()
            .map_err(|_| SpawnError::Spawner)?
            .send((command, log_file, reply_to))
            .map_err(|_| SpawnError::Spawner)?;
        let child = reply.recv().map_err(|_| SpawnError::Spawner)?;
        child.map(Child).map_err(|source| SpawnError::Start { name, source })
    }

    pub fn has_exited(&mut self) -> bool {
        !matches!(self.0.try_wait(), Ok(None))
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// The exit status, if the process has exited.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.0.try_wait().ok().flatten()
    }

    /// Waits up to `limit` for the process to exit by itself; kills it after that (`None`).
    pub fn wait_timeout(mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill_and_wait();
        None
    }

    pub fn kill_and_wait(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`. Returns the exit status
    /// when it exited by itself.
    pub fn terminate_and_wait(mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill_and_wait();
        None
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_spawner() -> mpsc::Sender<SpawnRequest> {
    let (tx, rx) = mpsc::channel::<SpawnRequest>();
    std::thread::Builder::new()
        .name("test-harness-spawner".into())
        .spawn(move || {
            for (mut command, log, reply) in rx {
                let stderr = log.try_clone();
                command.stdin(Stdio::null()).stdout(log);
                if let Ok(stderr) = stderr {
                    command.stderr(stderr);
                }
                let _ = reply.send(command.spawn());
            }
        })
        .unwrap_or_else(|e| panic!("cannot start the spawner thread: {e}"));
    tx
}
