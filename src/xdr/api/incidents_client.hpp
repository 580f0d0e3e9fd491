#pragma once
// IncidentsClient: list (with automatic paging and a page callback), get and update incidents of one tenant,
// on the legacy Defender XDR API (GET/PATCH {base}/api/incidents) or the Graph security API
// (GET/PATCH {base}/v1.0/security/incidents, comments via POST .../comments).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <xdr/api/client.hpp>
#include <xdr/api/filter.hpp>
#include <xdr/api/model.hpp>

namespace xdr::api {

struct ListOptions {
  IncidentFilter filter;
  std::optional<size_t> limit; // stop after this many (matching) incidents; nullopt: all
  int page_size = 100;         // $top of each request, 1..100
  bool expand_alerts = true;   // Graph: $expand=alerts (the legacy API always includes alerts)
};

struct ListSummary {
  size_t incidents = 0;    // given to the sink
  size_t pages = 0;        // requests made
  size_t filtered_out = 0; // removed by client-side filters
  std::vector<std::string> client_side_filters; // one note per filter the API cannot do (see FilterPlan)
  bool stopped = false;    // the sink or the limit stopped paging before the last page
};

// Receives each page (after client-side filtering; possibly empty); return false to stop paging. The sink may
// take the incidents (move or swap them out); whatever it leaves in the vector is parsed into for the next
// page (IncidentsClient::list reuses the objects, see parse_incident_page_into), so a sink that only reads
// costs no allocation per page.
using PageSink = std::function<bool(std::vector<Incident>& page)>;

// A typed update. Omitted fields keep their values.
struct IncidentPatch {
  std::optional<IncidentStatus> status;
  std::optional<std::string> assigned_to; // "" unassigns (JSON null)
  std::optional<Classification> classification;
  std::optional<Determination> determination;
  std::optional<std::vector<std::string>> tags; // replaces the list (Graph: customTags)
  std::optional<std::string> comment;           // appended (Graph: POST .../comments)

  bool empty() const {
    return !status && !assigned_to && !classification && !determination && !tags && !comment;
  }
};

// Checks a patch before anything is sent: values the API accepts for PATCH in `dialect` (no
// unknown_future_value; awaitingAction only on Graph; deprecated Apt / SecurityPersonnel refused), a
// determination that belongs to the classification, non-empty tags and comment. Errors are config.
Status check_patch(const IncidentPatch& patch, Dialect dialect);
// The PATCH body: legacy {"status","assignedTo","classification","determination","tags","comment"};
// Graph {"status","assignedTo","classification","determination","customTags"} (the comment is posted apart).
std::string patch_body(const IncidentPatch& patch, Dialect dialect);

class IncidentsClient {
public:
  // `options.endpoints` must be set (resolve_endpoints); a null budget gets a private one.
  IncidentsClient(std::shared_ptr<http::Transport> transport, TokenProvider tokens, ClientOptions options);

  // Lists incidents newest first, page by page: follows @odata.nextLink when the service sends one, else
  // advances $skip while pages come back full. Filters the API cannot do are applied to each page and named
  // in the summary. Stops when `sink` returns false or `options.limit` is reached.
  Result<ListSummary> list(const ListOptions& options, const PageSink& sink);
  // list() collecting everything.
  Result<std::vector<Incident>> list_all(const ListOptions& options, ListSummary* summary = nullptr);

  // One incident; a 404 is ErrorKind::not_found.
  Result<Incident> get(std::string_view incident_id);
  // Checks and sends `patch`; returns the updated incident as the service answered it.
  Result<Incident> update(std::string_view incident_id, const IncidentPatch& patch);

  const ClientOptions& options() const { return m_options; }
  // The first page's URL for `options` (what list() requests first).
  std::string first_page_url(const ListOptions& options) const;

private:
  Result<http::Response> call(http::Request request, std::string_view operation);
  std::string collection_url() const;
  Result<std::string> incident_url(std::string_view incident_id) const;

  std::shared_ptr<http::Transport> m_transport;
  TokenProvider m_tokens;
  ClientOptions m_options;
};

} // namespace xdr::api
