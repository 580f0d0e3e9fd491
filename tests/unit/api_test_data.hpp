#pragma once
// Reads tests/data/api/<name>. __FILE__ is relative to the build directory when ccache rewrites paths
// (base_dir), so the file is looked up from the current directory and from the test binary's directory.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace xdr::testing {

inline std::filesystem::path api_data_path(const std::string& name) {
  const std::filesystem::path source = std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "api" / name;
  if (source.is_absolute() || std::filesystem::exists(source)) return source;
  char exe[4096] = {};
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    // The binary is <build>/tests/xdr_unit_tests; __FILE__ is relative to <build>.
    const std::filesystem::path build = std::filesystem::path(std::string(exe, size_t(n))).parent_path().parent_path();
    if (std::filesystem::exists(build / source)) return build / source;
  }
  return source;
}

inline std::string read_api_data(const std::string& name) {
  const auto path = api_data_path(name);
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace xdr::testing
