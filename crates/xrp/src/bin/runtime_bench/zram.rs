//! A zram block device with ext4 mounted on a temporary directory, for
//! measuring in the low-latency regime XRP was built for. Root only.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A zram device with ext4 mounted on a temp dir; dropping it unmounts and
/// removes the device, whatever happened in between.
pub struct Zram {
    id: u32,
    pub mount: PathBuf,
    mounted: bool,
    made_dir: bool,
}

const ZRAM_CONTROL: &str = "/sys/class/zram-control";

extern "C" {
    fn geteuid() -> u32;
}

impl Zram {
    pub fn setup(size_mib: u64) -> Result<Zram, String> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { geteuid() } != 0 {
            return Err("not root".into());
        }
        for tool in ["mkfs.ext4", "mount", "umount"] {
            find_tool(tool).ok_or_else(|| format!("{tool} not found (e2fsprogs / util-linux)"))?;
        }
        if !Path::new(ZRAM_CONTROL).exists() {
            // The module may just not be loaded; modprobe may itself be missing.
            let _ = find_tool("modprobe").map(|m| Command::new(m).arg("zram").stderr(Stdio::null()).status());
            if !Path::new(ZRAM_CONTROL).exists() {
                return Err(format!("no {ZRAM_CONTROL} (zram module absent and not loadable)"));
            }
        }
        // A new device of our own, never one somebody else may be using.
        let id = fs::read_to_string(format!("{ZRAM_CONTROL}/hot_add")).map_err(|e| format!("zram hot_add: {e}"))?;
        let id: u32 = id.trim().parse().map_err(|_| format!("zram hot_add returned {id:?}"))?;
        let mount = std::env::temp_dir().join(format!("xrpkv-zram-{}", std::process::id()));
        let mut zram = Zram { id, mount, mounted: false, made_dir: false };
        zram.format(size_mib)?;
        Ok(zram)
    }

    pub fn device(&self) -> String {
        format!("/dev/zram{}", self.id)
    }

    fn format(&mut self, size_mib: u64) -> Result<(), String> {
        // Room for the file plus ext4's journal and metadata.
        let disk_mib = size_mib + size_mib / 4 + 64;
        let sys = format!("/sys/block/zram{}", self.id);
        fs::write(format!("{sys}/disksize"), format!("{disk_mib}M")).map_err(|e| format!("zram disksize: {e}"))?;
        let device = self.device();
        wait_for(Path::new(&device))?;
        run_tool("mkfs.ext4", &["-q", &device])?;
        fs::create_dir_all(&self.mount).map_err(|e| format!("mkdir {}: {e}", self.mount.display()))?;
        self.made_dir = true;
        run_tool("mount", &["-t", "ext4", &device, &self.mount.to_string_lossy()])?;
        self.mounted = true;
        Ok(())
    }

    pub fn describe(&self) -> String {
        let algorithm = fs::read_to_string(format!("/sys/block/zram{}/comp_algorithm", self.id)).unwrap_or_default();
        // The active algorithm is the bracketed one: "lzo [lz4] zstd".
        let active = algorithm.split_whitespace().find(|a| a.starts_with('[')).unwrap_or("?").trim_matches(['[', ']']);
        format!("zram ({}, ext4, {active} compression)", self.device())
    }
}

impl Drop for Zram {
    fn drop(&mut self) {
        if self.mounted {
            if let Err(e) = run_tool("umount", &[&self.mount.to_string_lossy()]) {
                eprintln!("runtime-bench: {e}; not removing {}", self.device());
                return;
            }
        }
        if self.made_dir {
            let _ = fs::remove_dir(&self.mount);
        }
        if let Err(e) = fs::write(format!("{ZRAM_CONTROL}/hot_remove"), self.id.to_string()) {
            eprintln!("runtime-bench: cannot remove {}: {e}", self.device());
        }
    }
}

/// A device node appears shortly after hot_add, once udev or devtmpfs has made it.
fn wait_for(path: &Path) -> Result<(), String> {
    for _ in 0..100 {
        if path.exists() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("{} did not appear", path.display()))
}

/// `name` on PATH or in the sbin directories a non-login root PATH may lack.
fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path.split(':').map(PathBuf::from).chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from));
    dirs.map(|d| d.join(name)).find(|p| p.is_file())
}

fn run_tool(name: &str, args: &[&str]) -> Result<(), String> {
    let tool = find_tool(name).ok_or_else(|| format!("{name} not found"))?;
    let out = Command::new(&tool).args(args).stdin(Stdio::null()).output().map_err(|e| format!("{name}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{name} {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

