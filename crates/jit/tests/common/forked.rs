//! Runs code in a forked child that reports through a page shared with the
//! parent (for tests that must survive the faults they provoke).

/// Maps `len` bytes of anonymous memory; `None` if the kernel refuses.
pub fn map(len: usize, prot: libc::c_int, flags: libc::c_int) -> Option<*mut u8> {
    // SAFETY: an anonymous mapping at an address the kernel picks; the
    // result is checked.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            flags | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(p.cast())
}

/// Runs `child` in a forked child with a zeroed `T` on a page shared with
/// this process, waits for it and returns its wait status and the `T` it
/// left. `child` may only make system calls and write memory, as after any
/// `fork`; if it returns, the child exits with status 0.
pub fn fork_with_shared<T: Copy>(child: impl FnOnce(*mut T)) -> (libc::c_int, T) {
    let size = std::mem::size_of::<T>();
    let shared = map(size, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED)
        .expect("mmap of the shared page")
        .cast::<T>();
    // SAFETY: fork in a test process; the child runs `child`, which never
    // returns.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        child(shared);
        // SAFETY: `_exit` ends the child without running any Rust code.
        unsafe { libc::_exit(0) }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid, "waitpid");
    // SAFETY: the child has exited; the page is mapped, zeroed at creation
    // and holds a `T` (the caller's `T` is plain data, valid when zeroed).
    let value = unsafe { shared.read() };
    // SAFETY: unmapping the page mapped above; no reference to it remains.
    unsafe { libc::munmap(shared.cast(), size) };
    (status, value)
}
