// Advanced hunting through the KQL engine (issue 4, performance): DeviceProcessEvents | where ... |
// summarize count() by DeviceName over a synthetic table of 1 million rows, rows scanned per second.
// Runs xdr_kql directly (no HTTP); the answer is checked against a count made in C++. Not part of ctest.
//
// Usage: bench_hunting [--rows N] [--runs N]

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <emulator/kql/kql.hpp>
#include <xdr/util/random.hpp>

namespace {

namespace kql = xdr::emulator::kql;
using Clock = std::chrono::steady_clock;

struct Options {
  size_t rows = 1'000'000;
  int runs = 5;
};

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) throw std::runtime_error(a + " needs a value; use --rows N, --runs N");
    std::string v = argv[++i];
    if (a == "--rows") o.rows = std::stoul(v);
    else if (a == "--runs") o.runs = std::stoi(v);
    else throw std::runtime_error("unknown option " + a + "; use --rows N, --runs N");
  }
  if (o.rows == 0 || o.runs < 1) throw std::runtime_error("--rows and --runs must be positive");
  return o;
}

constexpr int64_t k_tick_s = kql::k_ticks_per_second;
constexpr const char* k_files[] = {"powershell.exe", "cmd.exe", "rundll32.exe", "svchost.exe", "excel.exe",
                                   "chrome.exe", "outlook.exe", "winword.exe"};

struct Expected {
  std::map<std::string, int64_t> per_device;
};

// DeviceProcessEvents with the documented key columns; 200 devices, times over the last 30 days.
kql::Table make_table(size_t rows, int64_t now, Expected& expected) {
  using kql::Type;
  kql::TableBuilder b({{"Timestamp", Type::datetime}, {"DeviceId", Type::string}, {"DeviceName", Type::string},
                       {"ActionType", Type::string}, {"FileName", Type::string}, {"ProcessCommandLine", Type::string},
                       {"AccountName", Type::string}, {"ProcessId", Type::int64}});
  b.reserve(rows);
  xdr::util::DeterministicRng rng(42, "bench_hunting");
  std::vector<std::string> devices;
  for (int i = 0; i < 200; ++i) devices.push_back("ws-" + std::to_string(1000 + i) + ".contoso.local");
  int64_t week_ago = now - 7 * 86400 * k_tick_s;
  for (size_t i = 0; i < rows; ++i) {
    int64_t t = now - static_cast<int64_t>(rng.below(30ull * 86400)) * k_tick_s;
    const std::string& dev = devices[rng.below(devices.size())];
    const char* file = k_files[rng.below(std::size(k_files))];
    std::string cmd = std::string(file) + (rng.below(4) == 0 ? " -enc SQBFAFgA" : " /c whoami");
    if (t > week_ago && std::string(file) == "powershell.exe") ++expected.per_device[dev];
    b.add_row({kql::Value(kql::DateTime{t}), "d" + std::to_string(rng.below(200)), dev, "ProcessCreated", file, cmd,
               "user" + std::to_string(rng.below(50)), static_cast<int64_t>(1000 + rng.below(30000))});
  }
  return b.build();
}

int run(int argc, char** argv) {
  Options opt = parse_options(argc, argv);
  auto now_tp = std::chrono::system_clock::now();
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(now_tp.time_since_epoch()).count() / 100;
  Expected expected;
  auto build_start = Clock::now();
  kql::Catalog catalog;
  catalog.add("DeviceProcessEvents", make_table(opt.rows, now, expected));
  double build_s = std::chrono::duration<double>(Clock::now() - build_start).count();

  const std::string query =
      "DeviceProcessEvents | where Timestamp > ago(7d) and FileName =~ \"powershell.exe\" | summarize count() by DeviceName";
  kql::QueryOptions o;
  o.now = now_tp;
  std::vector<double> seconds;
  size_t scanned = 0;
  for (int i = 0; i < opt.runs; ++i) {
    auto start = Clock::now();
    auto result = kql::run(query, catalog, o);
    double s = std::chrono::duration<double>(Clock::now() - start).count();
    if (!result) throw std::runtime_error("the query failed: " + result.error().message);
    std::map<std::string, int64_t> got;
    for (const auto& row : result->rows) got[row[0].as_string()] = row[1].as_long();
    if (got != expected.per_device) throw std::runtime_error("the query's counts differ from the C++ count");
    scanned = result->stats.rows_scanned;
    seconds.push_back(s);
  }
  std::sort(seconds.begin(), seconds.end());
  double median = seconds[seconds.size() / 2];
  std::cout << "bench_hunting: " << opt.rows << " rows of DeviceProcessEvents built in " << std::fixed
            << std::setprecision(2) << build_s << " s; " << opt.runs << " runs of\n  " << query << "\n\n";
  std::cout << std::left << std::setw(16) << "rows scanned" << std::right << std::setw(14) << "median ms" << std::setw(14)
            << "best ms" << std::setw(18) << "rows/s (median)" << "\n";
  std::cout << std::left << std::setw(16) << scanned << std::right << std::setprecision(1) << std::setw(14)
            << median * 1000 << std::setw(14) << seconds.front() * 1000 << std::setprecision(0) << std::setw(18)
            << static_cast<double>(scanned) / median << "\n";
  std::cout << "\nresult checked: " << expected.per_device.size() << " devices, counts equal to a direct C++ count\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_hunting: " << e.what() << "\n";
    return 1;
  }
}
