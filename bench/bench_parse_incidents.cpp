// Parsing incident pages: what IncidentsClient::list does with each response body (JSON -> typed model,
// xdr::api::parse_incident_page_into) against raw simdjson On-Demand visiting every value of the same documents
// (strings unescaped, numbers parsed), in the same run, for both dialects.
// The pages are the emulator's (src/emulator/defender_data, graph_api): legacy pages of 100 incidents and
// Graph pages of 50 ($expand=alerts, the service's largest page), with alerts, devices and entities (Graph:
// evidence) carrying all documented keys, about 10 MB per dialect. Target: the parser >= 1 GB/s.
// Each measurement runs rounds (one round parses every page once) for the given time and reports the
// rounds' mean (wall clock) and the best round by thread CPU time: on a shared machine the latter is the
// steadier number.
// usage: bench_parse_incidents [seconds per measurement, default 1] [megabytes per dialect, default 10]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include <simdjson.h>

#include <emulator/defender_data.hpp>
#include <emulator/graph_render.hpp>
#include <xdr/api/dialect.hpp>

namespace {

namespace od = simdjson::ondemand;
using Clock = std::chrono::steady_clock;

std::vector<std::string> make_pages(xdr::api::Dialect dialect, size_t target_bytes) {
  const bool legacy = dialect == xdr::api::Dialect::legacy;
  xdr::emulator::TenantProfile profile;
  profile.tenant_id = "3f2b8c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e";
  profile.domain = "fabrikam.onmicrosoft.com";
  profile.incidents = 5000;
  xdr::emulator::TenantData data(7, profile, std::chrono::system_clock::now());
  const size_t per_page = legacy ? 100 : 50;
  std::vector<std::string> pages;
  size_t total = 0;
  for (size_t start = 0; start < data.order.size() && total < target_bytes; start += per_page) {
    xdr::OrderedJson page = {{"@odata.context", legacy ? "https://api.security.microsoft.com/api/$metadata#Incidents"
                                                       : "https://graph.microsoft.com/v1.0/$metadata#security/incidents(alerts())"},
                             {"value", xdr::OrderedJson::array()}};
    for (size_t i = start; i < start + per_page && i < data.order.size(); ++i) {
      const auto& incident = data.incidents[data.order[i]];
      page["value"].push_back(legacy ? data.render(incident) : xdr::emulator::graph_incident(data, incident, true));
    }
    page["@odata.nextLink"] = legacy ? "https://api.security.microsoft.com/api/incidents?$skip=" + std::to_string(start + per_page)
                                     : "https://graph.microsoft.com/v1.0/security/incidents?$expand=alerts&$skip=" +
                                           std::to_string(start + per_page);
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

struct Speed {
  double mean = 0; // MB/s over all rounds, wall clock
  double best = 0; // MB/s of the fastest round, by the thread's CPU time (time the thread was descheduled
                   // on the shared machine does not count)
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

template <class F>
Speed measure(double seconds, size_t bytes_per_round, F&& round) {
  size_t rounds = 0;
  double fastest = 1e300;
  const auto start = Clock::now();
  double elapsed = 0;
  do {
    const double t0 = thread_cpu_seconds();
    round();
    fastest = std::min(fastest, thread_cpu_seconds() - t0);
    ++rounds;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  const double bytes = static_cast<double>(bytes_per_round);
  return {bytes * static_cast<double>(rounds) / elapsed / 1e6, bytes / fastest / 1e6};
}

// The product's parse of one page: what IncidentsClient::list calls on each response body, into the page
// object it keeps across pages.
bool parse_as_client(std::string& body, xdr::api::Dialect dialect, xdr::api::IncidentPage& page) {
  return xdr::api::parse_incident_page_into(body, dialect, page).has_value();
}

// Measures one dialect; false when a page does not parse or parses differently when reused.
bool run(xdr::api::Dialect dialect, double seconds, double megabytes, bool& met) {
  const char* name = dialect == xdr::api::Dialect::legacy ? "legacy" : "graph";
  std::vector<std::string> pages = make_pages(dialect, static_cast<size_t>(megabytes * 1e6));
  size_t bytes = 0;
  for (const auto& p : pages) bytes += p.size();
  std::vector<simdjson::padded_string> padded;
  for (const auto& p : pages) padded.emplace_back(p);

  // Correctness first: every page parses, and parsing into the page object reused across pages gives what
  // a fresh parse gives.
  size_t incidents = 0;
  size_t alerts = 0;
  xdr::api::IncidentPage reused;
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < pages.size(); ++i) {
      auto fresh = xdr::api::parse_incident_page(pages[i], dialect);
      if (!fresh) {
        std::fprintf(stderr, "%s page %zu: parse failed: %s\n", name, i, fresh.error().message.c_str());
        return false;
      }
      std::string body = pages[(pages.size() - 1 - i)];
      if (!parse_as_client(body, dialect, reused)) return false; // a different page first: reuse is exercised
      body = pages[i];
      if (!parse_as_client(body, dialect, reused) || reused.incidents != fresh->incidents ||
          reused.next_link != fresh->next_link || reused.count != fresh->count) {
        std::fprintf(stderr, "%s page %zu: parsed into a reused page, the result differs from a fresh parse\n", name, i);
        return false;
      }
      if (pass == 0) {
        incidents += fresh->incidents.size();
        for (const auto& inc : fresh->incidents) alerts += inc.alerts.size();
      }
    }
  }

  od::parser parser;
  size_t checksum = 0;
  bool raw_ok = true;
  const Speed raw = measure(seconds, bytes, [&] {
    for (auto& p : padded) {
      od::document doc;
      od::value root;
      if (parser.iterate(p).get(doc) || doc.get_value().get(root) || !walk(root, checksum)) raw_ok = false;
    }
  });
  // As the client parses response bodies: in place, into the page object it keeps (the raw side gets
  // pre-padded documents too).
  xdr::api::IncidentPage page;
  bool ours_ok = true;
  const Speed ours = measure(seconds, bytes, [&] {
    for (auto& p : pages) {
      if (!parse_as_client(p, dialect, page)) ours_ok = false;
      checksum += page.incidents.size();
    }
  });
  if (!raw_ok || !ours_ok) {
    std::fprintf(stderr, "%s: %s failed while measuring\n", name, raw_ok ? "the parser" : "the raw simdjson walk");
    return false;
  }
  std::printf("%s incident pages: %zu pages, %zu incidents, %zu alerts, %.2f MB\n", name, pages.size(), incidents,
              alerts, static_cast<double>(bytes) / 1e6);
  std::printf("  %-46s %8.0f MB/s mean %8.0f MB/s best round (CPU time)\n", "raw simdjson On-Demand, every value visited",
              raw.mean, raw.best);
  std::printf("  %-46s %8.0f MB/s mean %8.0f MB/s best round (CPU time)\n", "typed model, as IncidentsClient::list parses",
              ours.mean, ours.best);
  std::printf("  ratio parser / raw: %.2f (mean) %.2f (best)   target >= 1000 MB/s: %s   (checksum %zu)\n",
              ours.mean / raw.mean, ours.best / raw.best, ours.mean >= 1000 ? "met" : "NOT met", checksum % 1000);
  met = met && ours.mean >= 1000;
  return true;
}

} // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  const double megabytes = argc > 2 ? std::atof(argv[2]) : 10.0;
#define XDR_STRINGIFY_INNER(x) #x
#define XDR_STRINGIFY(x) XDR_STRINGIFY_INNER(x)
  std::printf("On-Demand kernel: %s; stage 1: %s\n", XDR_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION),
              simdjson::get_active_implementation()->name().c_str());
  bool met = true;
  for (auto dialect : {xdr::api::Dialect::legacy, xdr::api::Dialect::graph})
    if (!run(dialect, seconds, megabytes, met)) return 1;
  std::printf("target >= 1000 MB/s (mean) on both dialects: %s\n", met ? "met" : "NOT met");
  return 0;
}
