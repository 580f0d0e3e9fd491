#pragma once
// A typed incident filter: terms on the fields either API knows, joined with `and`. Planning a filter for a
// dialect splits it into the OData $filter the service can evaluate (only the fields that API documents as
// filterable, literals formatted for that dialect) and the terms the client must apply itself (for example
// severity on the legacy API), each with a note that says so.
//
// Legacy Defender XDR filters on lastUpdateTime, createdTime, status, assignedTo. Graph filters on
// assignedTo, classification, createdDateTime, determination, lastUpdateDateTime, severity, status.
// Datetimes are unquoted (`createdTime gt 2021-04-01T00:00:00Z`); strings and enums are quoted with ''
// doubling; enums are spelled per dialect (`'InProgress'` vs `'inProgress'`).

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <xdr/api/model.hpp>
#include <xdr/util/result.hpp>

namespace xdr::api {

enum class FilterField { last_update_time, created_time, status, assigned_to, severity, classification, determination };
enum class FilterOp { eq, ne, gt, ge, lt, le };

// The OData property name of `field` in `dialect` ("lastUpdateTime" / "lastUpdateDateTime").
std::string_view filter_property(FilterField field, Dialect dialect);
// Whether the service of `dialect` filters on `field`.
bool server_filterable(FilterField field, Dialect dialect);

// A literal: a time, a string (nullopt: OData null), or an enum value.
using FilterValue = std::variant<TimePoint, std::optional<std::string>, IncidentStatus, Severity, Classification, Determination>;

// One term: `field op value`, or with several values `(field eq v1 or field eq v2 ...)` (op eq only).
struct FilterTerm {
  FilterField field = FilterField::status;
  FilterOp op = FilterOp::eq;
  std::vector<FilterValue> values;

  bool operator==(const FilterTerm&) const = default;
};

class IncidentFilter {
public:
  // Updated (or created) at or after / before a time; `op` may be any comparison.
  IncidentFilter& last_update_time(FilterOp op, TimePoint value);
  IncidentFilter& created_time(FilterOp op, TimePoint value);
  // Any of the statuses / severities / ... (one value: `eq`).
  IncidentFilter& status(std::vector<IncidentStatus> any_of);
  IncidentFilter& severity(std::vector<Severity> any_of);
  IncidentFilter& classification(std::vector<Classification> any_of);
  IncidentFilter& determination(std::vector<Determination> any_of);
  // Assigned to this user (UPN); std::nullopt: unassigned (`assignedTo eq null`).
  IncidentFilter& assigned_to(std::optional<std::string> user);
  // Any term; throws xdr::Fatal when the value's type does not fit the field or a multi-value term is not `eq`.
  IncidentFilter& add(FilterTerm term);

  const std::vector<FilterTerm>& terms() const { return m_terms; }
  bool empty() const { return m_terms.empty(); }

private:
  std::vector<FilterTerm> m_terms;
};

// A filter split for one dialect.
struct FilterPlan {
  std::string odata;                   // the $filter value (not yet percent-encoded); empty: none
  std::vector<FilterTerm> client_side; // terms the client applies to each incident
  std::vector<std::string> notes;      // one per client-side term: "severity eq 'High' applied client-side: ..."
};
FilterPlan plan_filter(const IncidentFilter& filter, Dialect dialect);

// One term as OData text in `dialect` ("status eq 'Active'", "(severity eq 'high' or severity eq 'medium')").
std::string format_term(const FilterTerm& term, Dialect dialect);
// A literal as OData text: unquoted datetime with trailing fraction zeros trimmed, quoted string with ''
// escaping, `null`, or a quoted enum name in the dialect's spelling.
std::string format_literal(const FilterValue& value, Dialect dialect);

// Whether `incident` satisfies the term / every term (what the client-side filter evaluates; string
// comparison of assignedTo is case-insensitive, as the services compare UPNs).
bool matches(const Incident& incident, const FilterTerm& term);
bool matches(const Incident& incident, const std::vector<FilterTerm>& terms);

} // namespace xdr::api
