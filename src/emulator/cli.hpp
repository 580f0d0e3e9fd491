#pragma once

namespace xdr::emulator {

// `xdr-emulator [--config FILE] [--listen HOST:PORT] [--state-dir DIR] [--http] [--ready-file FILE] ...`
// Serves until SIGTERM or SIGINT; returns the process exit code.
int run_main(int argc, char** argv);

} // namespace xdr::emulator
