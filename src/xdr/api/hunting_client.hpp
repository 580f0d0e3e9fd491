#pragma once
// HuntingClient: advanced hunting on the legacy Defender XDR API (POST {base}/api/advancedhunting/run
// {"Query"}), Defender for Endpoint (POST {base}/api/advancedqueries/run {"Query"}) or Graph
// (POST {base}/v1.0/security/runHuntingQuery {"Query","Timespan"}). The schema is typed; rows are given
// to a callback as they are parsed.
//
// Past the caps (100,000 rows, or the service's result-size 400), run_split() runs the query over smaller
// time ranges (halving a window that is still too big) and merges the results, checking that every window's
// schema is the same. On Graph a window is the Timespan ("start/end"); on the other APIs the query gets
// `| where Timestamp >= datetime(start) and Timestamp < datetime(end)` after its first table, so it must
// start with a table name. Aggregations are per window: split only queries that return rows.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <xdr/api/client.hpp>
#include <xdr/api/dialect.hpp>
#include <xdr/util/clock.hpp>

namespace xdr::api {

enum class HuntingApi { xdr, mde, graph };

// Parses "legacy"/"xdr", "mde", "graph"; any case.
Result<HuntingApi> parse_hunting_api(std::string_view text);

struct HuntingRequest {
  std::string query;
  // ISO 8601 duration ("P7D") looking back from now; empty: the service's default (30 days). Graph gets it
  // as Timespan; the other APIs as a Timestamp filter added to the query.
  std::string timespan;
};

struct HuntingSummary {
  std::vector<HuntingColumn> schema;
  size_t rows = 0;
  size_t requests = 0;
  bool stopped = false;   // the row sink stopped
  bool at_row_cap = false; // (run) exactly the cap came back: the answer may be cut; use run_split
  std::vector<std::pair<util::TimePoint, util::TimePoint>> windows; // (run_split) the windows that answered
};

// Receives the schema once, before any row.
using SchemaSink = std::function<void(const std::vector<HuntingColumn>& schema)>;

struct SplitOptions {
  std::optional<util::TimePoint> start; // default: end - timespan (or 30 days)
  std::optional<util::TimePoint> end;   // default: now
  std::chrono::seconds min_window{60};  // a window this small that is still too big is an error
  size_t row_cap = 100'000;             // the service's row cap: this many rows means "too big"
};

struct HuntingClientOptions {
  ClientOptions client;     // tenant, endpoints, budget, 429 handling (client.dialect is ignored)
  HuntingApi api = HuntingApi::xdr;
  std::shared_ptr<const util::Clock> clock = util::system_clock();
};

class HuntingClient {
public:
  HuntingClient(std::shared_ptr<http::Transport> transport, TokenProvider tokens, HuntingClientOptions options);

  // Runs the query once; rows go to `rows` as parsed.
  Result<HuntingSummary> run(const HuntingRequest& request, const HuntingRowSink& rows, const SchemaSink& schema = {});
  // Runs it over time windows small enough to stay under the caps (see the header comment).
  Result<HuntingSummary> run_split(const HuntingRequest& request, const SplitOptions& split, const HuntingRowSink& rows,
                                   const SchemaSink& schema = {});

  // The request body for `query` over an optional window (what run/run_split send).
  Result<std::string> request_body(const HuntingRequest& request,
                                   std::optional<std::pair<util::TimePoint, util::TimePoint>> window) const;
  // The URL queries are posted to.
  std::string url() const;

private:
  // Sends one query; a result-size 400 is reported through `too_big` rather than as an error.
  Result<http::Response> send(const std::string& body, bool* too_big);

  std::shared_ptr<http::Transport> m_transport;
  TokenProvider m_tokens;
  HuntingClientOptions m_options;
};

// The query restricted to [start, end): `| where Timestamp >= datetime(start) and Timestamp < datetime(end)`
// inserted after the first table. Errors (config) when the query does not start with a table name.
Result<std::string> restrict_query_to_window(std::string_view query, util::TimePoint start, util::TimePoint end);

} // namespace xdr::api
