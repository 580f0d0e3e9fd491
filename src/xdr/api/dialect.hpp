#pragma once
// Parsing of the two API dialects' JSON into the typed model (xdr/api/model.hpp): the legacy Defender XDR API
// (incidents pages, one incident, advanced hunting) and the Graph security API (incidents, alerts_v2,
// runHuntingQuery). simdjson On-Demand does the work; it is not visible here.
//
// Every parser takes the response body as received. Unknown fields are ignored; an unknown enum value becomes
// `unknown_future_value`; null and absent are the same. Anything else that is not the documented shape (not
// JSON, an HTML page, truncated JSON, a field of the wrong type, a 200 that carries an `error` object) is an
// Error of kind invalid_response whose message names the document, the JSON path, what was expected and what
// was received. A parser never throws.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <xdr/api/model.hpp>
#include <xdr/util/result.hpp>

namespace xdr::api {

// One page of an incidents list.
struct IncidentPage {
  std::vector<Incident> incidents;
  std::optional<std::string> next_link; // @odata.nextLink, when the service says more pages exist
  std::optional<int64_t> count;         // @odata.count (Graph, with $count=true)
};

// One page of Graph alerts_v2.
struct AlertPage {
  std::vector<Alert> alerts;
  std::optional<std::string> next_link;
};

// A legacy or Graph incidents page ({"value": [...], "@odata.nextLink": ...}).
Result<IncidentPage> parse_incident_page(std::string_view body, Dialect dialect);
// The same, parsing `body` where it is instead of copying it to a padded buffer first: its capacity is grown
// by simdjson's padding when short (the content is unchanged). For response bodies the caller owns.
Result<IncidentPage> parse_incident_page_in_place(std::string& body, Dialect dialect);
// parse_incident_page_in_place into `page`, reusing what an earlier page left there: its incidents (and their
// alerts, devices, entities, comments) are parsed into the objects already present, so their strings and
// vectors keep their capacity instead of being allocated again. What IncidentsClient::list does with each
// response. On success `page` is exactly what parse_incident_page would return (every field the body does
// not set is reset; no value of the earlier page survives). On failure `page` holds unspecified (valid) data.
Status parse_incident_page_into(std::string& body, Dialect dialect, IncidentPage& page);
// One incident (GET or PATCH response).
Result<Incident> parse_incident(std::string_view body, Dialect dialect);
// A Graph alerts_v2 page. Device evidence becomes Alert::devices, other evidence Alert::entities.
Result<AlertPage> parse_alert_page(std::string_view body);
// The comments collection Graph answers to POST /security/incidents/{id}/comments.
Result<std::vector<Comment>> parse_comments(std::string_view body);

// Receives each row as it is parsed; return false to stop parsing (the rest is not read).
using HuntingRowSink = std::function<bool(HuntingRow& row)>;

// What parse_hunting saw.
struct HuntingParse {
  std::vector<HuntingColumn> schema;
  size_t rows = 0;      // rows given to the sink
  bool stopped = false; // the sink returned false
};

// An advanced hunting answer: legacy/MDE {"Stats","Schema":[{"Name","Type"}],"Results":[{...}]} or Graph
// {"schema":[{"name","type"}],"results":[...]} (either key spelling is accepted in both). Each row is given
// to `sink` as parsed, its cells in schema order (absent columns are null; keys not in the schema are
// ignored). `on_schema`, when given, receives the schema before the first row, even when the service sends
// "Results" first.
Result<HuntingParse> parse_hunting(std::string_view body, const HuntingRowSink& sink,
                                   const std::function<void(const std::vector<HuntingColumn>&)>& on_schema = {});

// The service's error object of a response body ({"error":{"code","message","target"|"innerError"}}), when
// there is one.
struct ServiceError {
  std::string code;
  std::string message;
  std::string request_id; // legacy `target`, Graph `innerError.request-id`
};
std::optional<ServiceError> parse_service_error(std::string_view body);

} // namespace xdr::api
