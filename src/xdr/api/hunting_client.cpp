#include <xdr/api/hunting_client.hpp>

#include <cctype>

#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::api {

namespace {

using Window = std::pair<util::TimePoint, util::TimePoint>;

std::string kql_time(util::TimePoint t) { return "datetime(" + util::format_rfc3339(t, 7, true) + ")"; }

std::string describe_schema(const std::vector<HuntingColumn>& schema) {
  std::vector<std::string> parts;
  for (const auto& c : schema) parts.push_back(c.name + ":" + c.type);
  return util::join(parts, ", ");
}

std::string describe_window(const Window& w) {
  return util::format_rfc3339(w.first, 7, true) + " .. " + util::format_rfc3339(w.second, 7, true);
}

} // namespace

Result<HuntingApi> parse_hunting_api(std::string_view text) {
  const std::string t = util::to_lower(util::trim(text));
  if (t == "legacy" || t == "xdr") return HuntingApi::xdr;
  if (t == "mde") return HuntingApi::mde;
  if (t == "graph") return HuntingApi::graph;
  return fail(ErrorKind::config, "unknown API '" + std::string(text) + "': use legacy, mde or graph");
}

Result<std::string> restrict_query_to_window(std::string_view query, util::TimePoint start, util::TimePoint end) {
  // The first pipe outside string literals and comments ends the table part.
  size_t i = 0;
  size_t pipe = std::string_view::npos;
  while (i < query.size()) {
    const char c = query[i];
    if (c == '"' || c == '\'') {
      const char quote = c;
      for (++i; i < query.size() && query[i] != quote; ++i)
        if (query[i] == '\\') ++i;
      ++i;
      continue;
    }
    if (c == '/' && i + 1 < query.size() && query[i + 1] == '/') {
      while (i < query.size() && query[i] != '\n') ++i;
      continue;
    }
    if (c == '|') {
      pipe = i;
      break;
    }
    ++i;
  }
  const std::string_view head = util::trim(query.substr(0, pipe));
  bool identifier = !head.empty() && (std::isalpha(static_cast<unsigned char>(head[0])) || head[0] == '_');
  for (char c : head)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') identifier = false;
  static const char* k_keywords[] = {"let", "union", "search", "find", "print", "range", "datatable", "evaluate"};
  for (const char* k : k_keywords)
    if (head == k) identifier = false;
  if (!identifier)
    return fail(ErrorKind::config, "splitting by time needs a query that starts with a table name (e.g. "
                                   "\"DeviceProcessEvents | where ...\"); this one starts with \"" +
                                       std::string(head.substr(0, 40)) + "\"");
  std::string out(head);
  out += " | where Timestamp >= " + kql_time(start) + " and Timestamp < " + kql_time(end);
  if (pipe != std::string_view::npos) out += " " + std::string(query.substr(pipe));
  return out;
}

HuntingClient::HuntingClient(std::shared_ptr<http::Transport> transport, TokenProvider tokens, HuntingClientOptions options)
    : m_transport(std::move(transport)), m_tokens(std::move(tokens)), m_options(std::move(options)) {
  if (!m_options.client.budget) m_options.client.budget = std::make_shared<QuotaBudget>();
  if (!m_options.clock) m_options.clock = util::system_clock();
  m_options.client.dialect = m_options.api == HuntingApi::graph ? Dialect::graph : Dialect::legacy;
  if (!m_transport || !m_tokens) throw Fatal("HuntingClient needs a transport and a token provider");
}

std::string HuntingClient::url() const {
  const auto& e = m_options.client.endpoints;
  switch (m_options.api) {
  case HuntingApi::xdr: return e.xdr_base + "/api/advancedhunting/run";
  case HuntingApi::mde: return e.mde_base + "/api/advancedqueries/run";
  case HuntingApi::graph: return e.graph_base + "/v1.0/security/runHuntingQuery";
  }
  return {};
}

Result<std::string> HuntingClient::request_body(const HuntingRequest& request, std::optional<Window> window) const {
  if (util::trim(request.query).empty())
    return fail(ErrorKind::config, "the hunting query is empty: give a KQL query (or -f FILE)");
  std::optional<std::chrono::seconds> span;
  if (!request.timespan.empty()) {
    span = util::parse_iso_duration(request.timespan);
    if (!span || span->count() <= 0)
      return fail(ErrorKind::config, "timespan '" + request.timespan + "' is not an ISO 8601 duration such as P7D or PT12H");
  }
  OrderedJson body = OrderedJson::object();
  if (m_options.api == HuntingApi::graph) {
    body["Query"] = request.query;
    if (window) {
      body["Timespan"] = util::format_rfc3339(window->first, 7, true) + "/" + util::format_rfc3339(window->second, 7, true);
    } else if (!request.timespan.empty()) {
      body["Timespan"] = request.timespan;
    }
    return body.dump();
  }
  if (!window && span) {
    const auto now = m_options.clock->now();
    window = Window{now - *span, now};
  }
  if (window) {
    XDR_TRY_ASSIGN(std::string q, restrict_query_to_window(request.query, window->first, window->second));
    body["Query"] = q;
  } else {
    body["Query"] = request.query;
  }
  return body.dump();
}

Result<http::Response> HuntingClient::send(const std::string& body, bool* too_big) {
  http::Request request;
  request.method = "POST";
  request.url = url();
  request.headers.set("Content-Type", "application/json");
  request.body = body;
  const auto& e = m_options.client.endpoints;
  const std::string& resource = m_options.api == HuntingApi::graph ? e.graph_resource
                                : m_options.api == HuntingApi::mde ? e.mde_resource
                                                                   : e.xdr_resource;
  const std::string operation = m_options.api == HuntingApi::graph ? "POST /v1.0/security/runHuntingQuery"
                                : m_options.api == HuntingApi::mde ? "POST /api/advancedqueries/run"
                                                                   : "POST /api/advancedhunting/run";
  auto response = detail::call(*m_transport, m_tokens, m_options.client, *m_options.client.budget, QuotaApi::hunting,
                               resource, std::move(request), operation);
  if (!response && too_big && response.error().http_status == 400) {
    // detail::call mapped it; look at the message it carried.
    const std::string text = util::to_lower(response.error().message);
    if (text.find("result size") != std::string::npos || text.find("exceeded the allowed") != std::string::npos) {
      *too_big = true;
      return http::Response{};
    }
  }
  return response;
}

Result<HuntingSummary> HuntingClient::run(const HuntingRequest& request, const HuntingRowSink& rows, const SchemaSink& schema) {
  XDR_TRY_ASSIGN(std::string body, request_body(request, std::nullopt));
  XDR_TRY_ASSIGN(http::Response response, send(body, nullptr));
  HuntingSummary summary;
  summary.requests = 1;
  XDR_TRY_ASSIGN(HuntingParse parsed, parse_hunting(response.body, rows, schema));
  summary.schema = std::move(parsed.schema);
  summary.rows = parsed.rows;
  summary.stopped = parsed.stopped;
  summary.at_row_cap = parsed.rows >= 100'000;
  return summary;
}

Result<HuntingSummary> HuntingClient::run_split(const HuntingRequest& request, const SplitOptions& split,
                                                const HuntingRowSink& rows, const SchemaSink& schema) {
  const auto now = m_options.clock->now();
  const util::TimePoint end = split.end.value_or(now);
  std::chrono::seconds span = std::chrono::hours(24 * 30);
  if (!request.timespan.empty()) {
    auto parsed = util::parse_iso_duration(request.timespan);
    if (!parsed || parsed->count() <= 0)
      return fail(ErrorKind::config, "timespan '" + request.timespan + "' is not an ISO 8601 duration such as P7D or PT12H");
    span = *parsed;
  }
  const util::TimePoint start = split.start.value_or(end - span);
  if (start >= end) return fail(ErrorKind::config, "the time range to split is empty (start is not before end)");

  HuntingSummary summary;
  std::optional<std::vector<HuntingColumn>> reference;
  std::vector<Window> pending{{start, end}}; // a stack: the oldest window on top
  std::vector<HuntingRow> buffer;
  while (!pending.empty()) {
    const Window w = pending.back();
    pending.pop_back();
    XDR_TRY_ASSIGN(std::string body, request_body(request, w));
    bool too_big = false;
    XDR_TRY_ASSIGN(http::Response response, send(body, &too_big));
    ++summary.requests;
    buffer.clear();
    HuntingParse parsed;
    if (!too_big) {
      XDR_TRY_ASSIGN(parsed, parse_hunting(response.body, [&](HuntingRow& row) {
                       buffer.push_back(row);
                       return true;
                     }));
      too_big = parsed.rows >= split.row_cap;
    }
    if (too_big) {
      if (w.second - w.first <= split.min_window * 2)
        return fail(ErrorKind::invalid_request,
                    "the query returns more than the service's cap (" + std::to_string(split.row_cap) +
                        " rows or the result-size limit) even in the window " + describe_window(w) +
                        ": narrow the query (project fewer columns, filter more) rather than the time");
      const util::TimePoint mid = w.first + (w.second - w.first) / 2;
      pending.push_back({mid, w.second});
      pending.push_back({w.first, mid});
      continue;
    }
    if (!reference) {
      reference = parsed.schema;
      summary.schema = parsed.schema;
      if (schema) schema(parsed.schema);
    } else if (parsed.schema != *reference) {
      return fail(ErrorKind::invalid_response, "the windows of the split query answered different schemas: " +
                                                   describe_schema(*reference) + " vs " + describe_schema(parsed.schema) +
                                                   " (window " + describe_window(w) +
                                                   "); the results cannot be merged");
    }
    summary.windows.push_back(w);
    for (auto& row : buffer) {
      ++summary.rows;
      if (!rows(row)) {
        summary.stopped = true;
        return summary;
      }
    }
  }
  return summary;
}

} // namespace xdr::api
