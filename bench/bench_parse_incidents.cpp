// Parsing incident pages: xdr::api::parse_incident_page (JSON -> typed model) against raw simdjson On-Demand
// visiting every value of the same documents (strings unescaped, numbers parsed), in the same run.
// The pages are the emulator's (src/emulator/defender_data): 100 incidents each, with alerts, devices and
// entities carrying all documented keys, about 10 MB in all. Target: the parser >= 1 GB/s.
// usage: bench_parse_incidents [seconds per measurement, default 1] [megabytes, default 10]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <simdjson.h>

#include <emulator/defender_data.hpp>
#include <xdr/api/dialect.hpp>

namespace {

namespace od = simdjson::ondemand;
using Clock = std::chrono::steady_clock;

std::vector<std::string> make_pages(size_t target_bytes) {
  xdr::emulator::TenantProfile profile;
  profile.tenant_id = "3f2b8c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e";
  profile.domain = "fabrikam.onmicrosoft.com";
  profile.incidents = 5000;
  xdr::emulator::TenantData data(7, profile, std::chrono::system_clock::now());
  std::vector<std::string> pages;
  size_t total = 0;
  for (size_t start = 0; start < data.order.size() && total < target_bytes; start += 100) {
    xdr::OrderedJson page = {{"@odata.context", "https://api.security.microsoft.com/api/$metadata#Incidents"},
                             {"value", xdr::OrderedJson::array()}};
    for (size_t i = start; i < start + 100 && i < data.order.size(); ++i)
      page["value"].push_back(data.render(data.incidents[data.order[i]]));
    page["@odata.nextLink"] = "https://api.security.microsoft.com/api/incidents?$skip=" + std::to_string(start + 100);
    pages.push_back(page.dump());
    total += pages.back().size();
  }
  return pages;
}

// Visits every value; returns a checksum so nothing is optimised away. false on a parse error.
bool walk(od::value v, size_t& sum) {
  od::json_type t{};
  if (v.type().get(t)) return false;
  switch (t) {
  case od::json_type::object: {
    od::object o;
    if (v.get_object().get(o)) return false;
    for (auto item : o) {
      od::field f;
      if (std::move(item).get(f)) return false;
      std::string_view key;
      if (f.unescaped_key().get(key)) return false;
      sum += key.size();
      if (!walk(f.value(), sum)) return false;
    }
    return true;
  }
  case od::json_type::array: {
    od::array a;
    if (v.get_array().get(a)) return false;
    for (auto item : a) {
      od::value e;
      if (std::move(item).get(e)) return false;
      if (!walk(e, sum)) return false;
    }
    return true;
  }
  case od::json_type::string: {
    std::string_view s;
    if (v.get_string().get(s)) return false;
    sum += s.size();
    return true;
  }
  case od::json_type::number: {
    double d;
    if (v.get_double().get(d)) return false;
    sum += static_cast<size_t>(d) & 1;
    return true;
  }
  case od::json_type::boolean: {
    bool b;
    if (v.get_bool().get(b)) return false;
    sum += b;
    return true;
  }
  case od::json_type::null: return true;
  }
  return true;
}

template <class F>
double measure(double seconds, size_t bytes_per_round, F&& round) {
  size_t rounds = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  do {
    round();
    ++rounds;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  return static_cast<double>(bytes_per_round) * static_cast<double>(rounds) / elapsed / 1e6;
}

} // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  const double megabytes = argc > 2 ? std::atof(argv[2]) : 10.0;
  std::vector<std::string> pages = make_pages(static_cast<size_t>(megabytes * 1e6));
  size_t bytes = 0;
  for (const auto& p : pages) bytes += p.size();
  std::vector<simdjson::padded_string> padded;
  for (const auto& p : pages) padded.emplace_back(p);

  // Correctness first: every page parses, 100 incidents each.
  size_t incidents = 0;
  for (const auto& p : pages) {
    auto page = xdr::api::parse_incident_page(p, xdr::api::Dialect::legacy);
    if (!page) {
      std::fprintf(stderr, "parse failed: %s\n", page.error().message.c_str());
      return 1;
    }
    incidents += page->incidents.size();
  }

  od::parser parser;
  size_t checksum = 0;
  bool raw_ok = true;
  const double raw = measure(seconds, bytes, [&] {
    for (auto& p : padded) {
      od::document doc;
      od::value root;
      if (parser.iterate(p).get(doc) || doc.get_value().get(root) || !walk(root, checksum)) raw_ok = false;
    }
  });
  // As the client parses response bodies: in place (the raw side gets pre-padded documents too).
  const double ours = measure(seconds, bytes, [&] {
    for (auto& p : pages) {
      auto page = xdr::api::parse_incident_page_in_place(p, xdr::api::Dialect::legacy);
      checksum += page ? page->incidents.size() : 0;
    }
  });
  if (!raw_ok) {
    std::fprintf(stderr, "raw simdjson walk failed\n");
    return 1;
  }
#define XDR_STRINGIFY_INNER(x) #x
#define XDR_STRINGIFY(x) XDR_STRINGIFY_INNER(x)
  std::printf("incident pages: %zu pages, %zu incidents, %.2f MB (On-Demand kernel: %s; stage 1: %s)\n", pages.size(),
              incidents, static_cast<double>(bytes) / 1e6, XDR_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION),
              simdjson::get_active_implementation()->name().c_str());
  std::printf("%-52s %10.0f MB/s\n", "raw simdjson On-Demand, every value visited", raw);
  std::printf("%-52s %10.0f MB/s\n", "xdr::api::parse_incident_page (typed model)", ours);
  std::printf("ratio parser / raw: %.2f   target >= 1000 MB/s: %s   (checksum %zu)\n", ours / raw,
              ours >= 1000 ? "met" : "NOT met", checksum % 1000);
  return 0;
}
