#include <emulator/cli.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include <emulator/emulator.hpp>

namespace xdr::emulator {

namespace {
int serve(int argc, char** argv);
} // namespace

int run_main(int argc, char** argv) {
  try {
    return serve(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "xdr-emulator: " << e.what() << "\n";
    return 2;
  }
}

namespace {

int serve(int argc, char** argv) {
  CLI::App app{"xdr-emulator: an offline Microsoft Entra ID and Defender XDR for tests and demos.\n"
               "Example: xdr-emulator --listen 127.0.0.1:0 --state-dir ./emu --ready-file ./emu/ready.json"};
  EmulatorOptions opts;
  std::string ready_file;
  app.add_option("--config", opts.config_file, "Scenario JSON (apps, tenants, consents); default: built-in")
      ->check(CLI::ExistingFile);
  app.add_option("--listen", opts.listen, "HOST:PORT to listen on; port 0 picks a free one")->capture_default_str();
  app.add_option("--state-dir", opts.state_dir, "Where the CA, server certificate and generated secrets are kept");
  app.add_flag("--http", opts.http, "Serve plain HTTP instead of HTTPS (Microsoft's clients refuse it)");
  app.add_option("--ready-file", ready_file, "Write {\"url\",\"ca_file\",\"pid\"} here once ready");
  app.add_option("--hostname", opts.hostnames, "Extra DNS name for the server certificate (repeatable)");
  app.add_option("--threads", opts.threads, "Worker threads (one per keep-alive connection)")->capture_default_str();
  app.add_option("--render-cache-mb", opts.render_cache_mb,
                 "Memory for cached rendered incidents across all tenants; past it, incidents are rendered per "
                 "request")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  Emulator emulator(opts);
  auto started = emulator.start();
  if (!started) {
    std::cerr << "xdr-emulator: " << started.error().message << "\n";
    return 2;
  }
  std::string line = emulator.ready_info().dump();
  if (!ready_file.empty()) {
    std::string tmp = ready_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << line << "\n";
      if (!out) {
        std::cerr << "xdr-emulator: cannot write the ready file " << ready_file << "\n";
        return 2;
      }
    }
    std::filesystem::rename(tmp, ready_file);
  }
  std::cout << line << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cerr << "xdr-emulator: stopping on " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << "\n";
  emulator.stop();
  return 0;
}

} // namespace

} // namespace xdr::emulator
