// Which thread takes the daemon's signals (SIGTERM, SIGINT, SIGHUP).
//
// Why: the kernel hands a process-directed signal to any thread that does not block it, including
// threads the daemon does not own (gRPC's). Asio's handler is safe on any thread, but under
// ThreadSanitizer a handler runs only when its thread next enters an intercepted call, and a gRPC
// thread parked in a raw futex wait may not for a long time: the daemon once ignored a SIGTERM that
// way. So the main thread blocks the signals before any thread starts (every thread inherits the
// mask) and unblocks them for itself alone once asio's signal_set is installed and the I/O threads
// run. A signal sent during startup stays pending until then and starts a graceful stop at once.
//
// Threading: these change the calling thread's signal mask only (pthread_sigmask).
#pragma once

namespace mg::cmd {

// Blocks the three signals in the calling thread; threads it starts afterwards inherit the block.
void block_daemon_signals();

// Unblocks them in the calling thread only (pending ones are delivered now).
void unblock_daemon_signals();

}  // namespace mg::cmd
