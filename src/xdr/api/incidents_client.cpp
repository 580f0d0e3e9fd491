#include <xdr/api/incidents_client.hpp>

#include <algorithm>

#include <xdr/api/dialect.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::api {

namespace {

bool determination_fits(Classification c, Determination d) {
  using D = Determination;
  switch (c) {
  case Classification::true_positive:
    return d == D::multi_staged_attack || d == D::malicious_user_activity || d == D::compromised_user ||
           d == D::malware || d == D::phishing || d == D::unwanted_software || d == D::other;
  case Classification::informational_expected_activity:
    return d == D::security_testing || d == D::line_of_business_application || d == D::confirmed_user_activity ||
           d == D::other;
  case Classification::false_positive: return d == D::clean || d == D::insufficient_data || d == D::other;
  default: return true;
  }
}

std::string allowed_determinations(Classification c) {
  switch (c) {
  case Classification::true_positive:
    return "MultiStagedAttack, MaliciousUserActivity, CompromisedUser, Malware, Phishing, UnwantedSoftware, Other";
  case Classification::informational_expected_activity:
    return "SecurityTesting, LineOfBusinessApplication, ConfirmedUserActivity, Other";
  case Classification::false_positive: return "Clean, InsufficientData, Other";
  default: return "";
  }
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::shared_ptr<QuotaBudget> ensure_budget(std::shared_ptr<QuotaBudget> b) {
  return b ? b : std::make_shared<QuotaBudget>();
}

} // namespace

Status check_patch(const IncidentPatch& p, Dialect dialect) {
  const bool legacy = dialect == Dialect::legacy;
  if (p.empty()) return fail(ErrorKind::config, "nothing to update: give at least one of status, assigned-to, "
                                                "classification, determination, tag or comment");
  if (p.status) {
    if (*p.status == IncidentStatus::unknown_future_value)
      return fail(ErrorKind::config, "status: use Active, InProgress, Resolved or Redirected");
    if (legacy && *p.status == IncidentStatus::awaiting_action)
      return fail(ErrorKind::config, "status AwaitingAction exists only on the Graph security API (--api graph); the "
                                     "Defender XDR API takes Active, InProgress, Resolved or Redirected");
  }
  if (p.classification) {
    if (*p.classification == Classification::unknown_future_value || (legacy && *p.classification == Classification::unknown))
      return fail(ErrorKind::config, "classification: use TruePositive, InformationalExpectedActivity or FalsePositive");
  }
  if (p.determination) {
    const auto d = *p.determination;
    if (d == Determination::unknown_future_value || d == Determination::not_available)
      return fail(ErrorKind::config, "determination: use one of the values of the classification (e.g. Malware, "
                                     "SecurityTesting, Clean, Other)");
    if (d == Determination::apt || d == Determination::security_personnel)
      return fail(ErrorKind::config, "determination " + std::string(to_string(d, Dialect::legacy)) +
                                         " was deprecated in August 2022 and is no longer accepted by the API");
    if (p.classification && !determination_fits(*p.classification, d))
      return fail(ErrorKind::config, "determination " + std::string(to_string(d, Dialect::legacy)) +
                                         " does not belong to classification " +
                                         std::string(to_string(*p.classification, Dialect::legacy)) + ": use one of " +
                                         allowed_determinations(*p.classification));
  }
  if (p.tags)
    for (const auto& t : *p.tags)
      if (util::trim(t).empty()) return fail(ErrorKind::config, "a tag is empty: give each tag some text");
  if (p.comment && util::trim(*p.comment).empty())
    return fail(ErrorKind::config, "the comment is empty: give it some text");
  return {};
}

std::string patch_body(const IncidentPatch& p, Dialect dialect) {
  OrderedJson j = OrderedJson::object();
  if (p.status) j["status"] = std::string(to_string(*p.status, dialect));
  if (p.assigned_to) {
    if (p.assigned_to->empty()) {
      j["assignedTo"] = nullptr;
    } else {
      j["assignedTo"] = *p.assigned_to;
    }
  }
  if (p.classification) j["classification"] = std::string(to_string(*p.classification, dialect));
  if (p.determination) j["determination"] = std::string(to_string(*p.determination, dialect));
  if (p.tags) j[dialect == Dialect::legacy ? "tags" : "customTags"] = *p.tags;
  if (p.comment && dialect == Dialect::legacy) j["comment"] = *p.comment;
  return j.dump();
}

IncidentsClient::IncidentsClient(std::shared_ptr<http::Transport> transport, TokenProvider tokens, ClientOptions options)
    : m_transport(std::move(transport)), m_tokens(std::move(tokens)), m_options(std::move(options)) {
  m_options.budget = ensure_budget(m_options.budget);
  if (!m_transport || !m_tokens) throw Fatal("IncidentsClient needs a transport and a token provider");
}

std::string IncidentsClient::collection_url() const {
  return m_options.endpoints.base(m_options.dialect) +
         (m_options.dialect == Dialect::legacy ? "/api/incidents" : "/v1.0/security/incidents");
}

Result<std::string> IncidentsClient::incident_url(std::string_view id) const {
  const std::string_view trimmed = util::trim(id);
  if (trimmed.empty() || trimmed.size() > 64 || (m_options.dialect == Dialect::legacy && !is_digits(trimmed)))
    return fail(ErrorKind::config, "incident id '" + std::string(id) + "' is not valid: " +
                                       (m_options.dialect == Dialect::legacy ? "the Defender XDR API's incident ids are numbers"
                                                                             : "give the incident's id"));
  return collection_url() + "/" + util::url_encode(trimmed);
}

Result<http::Response> IncidentsClient::call(http::Request request, std::string_view operation) {
  return detail::call(*m_transport, m_tokens, m_options, *m_options.budget, QuotaApi::incidents,
                      m_options.endpoints.resource(m_options.dialect), std::move(request), operation);
}

std::string IncidentsClient::first_page_url(const ListOptions& options) const {
  const FilterPlan plan = plan_filter(options.filter, m_options.dialect);
  int top = std::clamp(options.page_size, 1, 100);
  if (options.limit && plan.client_side.empty()) top = static_cast<int>(std::min<size_t>(top, std::max<size_t>(*options.limit, 1)));
  std::string url = collection_url() + "?";
  if (!plan.odata.empty()) url += "$filter=" + util::url_encode(plan.odata) + "&";
  url += "$top=" + std::to_string(top);
  if (m_options.dialect == Dialect::graph && options.expand_alerts) url += "&$expand=alerts";
  return url;
}

Result<ListSummary> IncidentsClient::list(const ListOptions& options, const PageSink& sink) {
  const FilterPlan plan = plan_filter(options.filter, m_options.dialect);
  ListSummary summary;
  summary.client_side_filters = plan.notes;
  if (options.limit && *options.limit == 0) return summary;
  const std::string first = first_page_url(options);
  const std::string origin = detail::origin_of(first);
  // $skip paging appends to the first URL.
  const int top = std::clamp(options.page_size, 1, 100);
  int requested_top = top;
  if (options.limit && plan.client_side.empty()) requested_top = static_cast<int>(std::min<size_t>(top, *options.limit));
  std::string url = first;
  size_t skip = 0;
  const std::string operation = m_options.dialect == Dialect::legacy ? "GET /api/incidents" : "GET /v1.0/security/incidents";
  // One page object for the whole listing: each response is parsed into what the page before left (the
  // sink's vector included, unless the sink moved it away), so strings and vectors are not allocated again.
  IncidentPage page;
  for (;;) {
    http::Request request;
    request.method = "GET";
    request.url = url;
    XDR_TRY_ASSIGN(http::Response response, call(std::move(request), operation));
    ++summary.pages;
    XDR_TRY(parse_incident_page_into(response.body, m_options.dialect, page));
    const size_t received = page.incidents.size();
    if (!plan.client_side.empty()) {
      auto keep = std::remove_if(page.incidents.begin(), page.incidents.end(),
                                 [&](const Incident& i) { return !matches(i, plan.client_side); });
      summary.filtered_out += static_cast<size_t>(page.incidents.end() - keep);
      page.incidents.erase(keep, page.incidents.end());
    }
    bool limit_reached = false;
    if (options.limit && summary.incidents + page.incidents.size() >= *options.limit) {
      page.incidents.resize(*options.limit - summary.incidents);
      limit_reached = true;
    }
    for (auto& i : page.incidents)
      if (i.tenant_id.empty()) i.tenant_id = m_options.tenant;
    summary.incidents += page.incidents.size();
    const bool more_pages = page.next_link.has_value() || received == static_cast<size_t>(requested_top);
    if (!sink(page.incidents)) {
      summary.stopped = more_pages || limit_reached;
      return summary;
    }
    if (limit_reached) {
      summary.stopped = more_pages;
      return summary;
    }
    // $skip counts every page, followed links included: a service that stops sending @odata.nextLink on a
    // full page is asked past everything already received, never for a page it already served.
    skip += received;
    if (page.next_link) {
      if (detail::origin_of(*page.next_link) != origin)
        return fail(ErrorKind::invalid_response,
                    "the service's @odata.nextLink points to " + detail::origin_of(*page.next_link) + ", not to " + origin +
                        ": refusing to send the tenant's token there");
      url = *page.next_link;
      continue;
    }
    if (received == 0 || received < static_cast<size_t>(requested_top)) return summary;
    url = first + "&$skip=" + std::to_string(skip);
  }
}

Result<std::vector<Incident>> IncidentsClient::list_all(const ListOptions& options, ListSummary* summary) {
  std::vector<Incident> all;
  auto result = list(options, [&](std::vector<Incident>& page) {
    for (auto& i : page) all.push_back(std::move(i));
    return true;
  });
  if (!result) return fail(result.error());
  if (summary) *summary = std::move(*result);
  return all;
}

Result<Incident> IncidentsClient::get(std::string_view incident_id) {
  XDR_TRY_ASSIGN(std::string url, incident_url(incident_id));
  http::Request request;
  request.method = "GET";
  request.url = url;
  const std::string operation = std::string("GET ") +
                                (m_options.dialect == Dialect::legacy ? "/api/incidents/" : "/v1.0/security/incidents/") +
                                std::string(util::trim(incident_id));
  XDR_TRY_ASSIGN(http::Response response, call(std::move(request), operation));
  XDR_TRY_ASSIGN(Incident incident, parse_incident(response.body, m_options.dialect));
  if (incident.tenant_id.empty()) incident.tenant_id = m_options.tenant;
  return incident;
}

Result<Incident> IncidentsClient::update(std::string_view incident_id, const IncidentPatch& patch) {
  XDR_TRY(check_patch(patch, m_options.dialect));
  XDR_TRY_ASSIGN(std::string url, incident_url(incident_id));
  const std::string id(util::trim(incident_id));
  const bool legacy = m_options.dialect == Dialect::legacy;
  const std::string path = (legacy ? "/api/incidents/" : "/v1.0/security/incidents/") + id;
  std::optional<Incident> updated;
  IncidentPatch fields = patch;
  if (!legacy) fields.comment.reset();
  if (legacy || !fields.empty()) {
    http::Request request;
    request.method = "PATCH";
    request.url = url;
    request.headers.set("Content-Type", "application/json");
    request.body = patch_body(patch, m_options.dialect);
    XDR_TRY_ASSIGN(http::Response response, call(std::move(request), "PATCH " + path));
    XDR_TRY_ASSIGN(updated, parse_incident(response.body, m_options.dialect));
  }
  if (!legacy && patch.comment) {
    http::Request request;
    request.method = "POST";
    request.url = url + "/comments";
    request.headers.set("Content-Type", "application/json");
    OrderedJson body = {{"@odata.type", "microsoft.graph.security.alertComment"}, {"comment", *patch.comment}};
    request.body = body.dump();
    XDR_TRY_ASSIGN(http::Response response, call(std::move(request), "POST " + path + "/comments"));
    XDR_TRY_ASSIGN(std::vector<Comment> comments, parse_comments(response.body));
    if (!updated) {
      XDR_TRY_ASSIGN(updated, get(id));
    }
    updated->comments = std::move(comments);
  }
  if (updated->tenant_id.empty()) updated->tenant_id = m_options.tenant;
  return std::move(*updated);
}

} // namespace xdr::api
