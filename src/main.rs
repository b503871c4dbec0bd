//! The `basinmap` binary: the library's command line ([`basinmap::cli`]).

fn main() {
    // Output piped into a reader that stops early (`basinmap bench | head -1`) ends the program
    // quietly, as for other command-line tools; Rust ignores SIGPIPE, and println! would panic.
    #[cfg(unix)]
    // SAFETY: restores the default action of one signal before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Mesa's device-select Vulkan layer prints "error: XDG_RUNTIME_DIR is invalid" on headless
    // machines; wgpu chooses the adapter itself, so the layer is of no use here. Set before any
    // thread exists.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
    std::process::exit(basinmap::cli::main(std::env::args_os()));
}
