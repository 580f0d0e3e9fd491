#include <xdr/api/filter.hpp>

#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::api {

namespace {

std::string_view op_text(FilterOp op) {
  switch (op) {
  case FilterOp::eq: return "eq";
  case FilterOp::ne: return "ne";
  case FilterOp::gt: return "gt";
  case FilterOp::ge: return "ge";
  case FilterOp::lt: return "lt";
  case FilterOp::le: return "le";
  }
  return "eq";
}

bool value_fits(FilterField field, const FilterValue& v) {
  switch (field) {
  case FilterField::last_update_time:
  case FilterField::created_time: return std::holds_alternative<TimePoint>(v);
  case FilterField::assigned_to: return std::holds_alternative<std::optional<std::string>>(v);
  case FilterField::status: return std::holds_alternative<IncidentStatus>(v);
  case FilterField::severity: return std::holds_alternative<Severity>(v);
  case FilterField::classification: return std::holds_alternative<Classification>(v);
  case FilterField::determination: return std::holds_alternative<Determination>(v);
  }
  return false;
}

template <class E>
std::vector<FilterValue> values_of(const std::vector<E>& list) {
  return std::vector<FilterValue>(list.begin(), list.end());
}

template <class T>
bool compare(FilterOp op, const T& a, const T& b) {
  switch (op) {
  case FilterOp::eq: return a == b;
  case FilterOp::ne: return a != b;
  case FilterOp::gt: return a > b;
  case FilterOp::ge: return a >= b;
  case FilterOp::lt: return a < b;
  case FilterOp::le: return a <= b;
  }
  return false;
}

// Enums compare by their declared order (Severity low < medium < high).
template <class E>
bool compare_enum(FilterOp op, E a, E b) {
  return compare(op, static_cast<int>(a), static_cast<int>(b));
}

bool matches_value(const Incident& i, FilterField field, FilterOp op, const FilterValue& v) {
  switch (field) {
  case FilterField::last_update_time:
  case FilterField::created_time: {
    const auto& t = field == FilterField::created_time ? i.created_time : i.last_update_time;
    if (!t) return false;
    return compare(op, *t, std::get<TimePoint>(v));
  }
  case FilterField::assigned_to: {
    const auto& want = std::get<std::optional<std::string>>(v);
    const bool unassigned = !i.assigned_to || i.assigned_to->empty();
    bool equal;
    if (!want) {
      equal = unassigned;
    } else {
      equal = !unassigned && util::iequals(*i.assigned_to, *want);
      if (op != FilterOp::eq && op != FilterOp::ne && !unassigned)
        return compare(op, util::to_lower(*i.assigned_to), util::to_lower(*want));
    }
    return op == FilterOp::ne ? !equal : (op == FilterOp::eq ? equal : false);
  }
  case FilterField::status: return compare_enum(op, i.status, std::get<IncidentStatus>(v));
  case FilterField::severity: return compare_enum(op, i.severity, std::get<Severity>(v));
  case FilterField::classification: return compare_enum(op, i.classification, std::get<Classification>(v));
  case FilterField::determination: return compare_enum(op, i.determination, std::get<Determination>(v));
  }
  return false;
}

} // namespace

std::string_view filter_property(FilterField field, Dialect dialect) {
  const bool legacy = dialect == Dialect::legacy;
  switch (field) {
  case FilterField::last_update_time: return legacy ? "lastUpdateTime" : "lastUpdateDateTime";
  case FilterField::created_time: return legacy ? "createdTime" : "createdDateTime";
  case FilterField::status: return "status";
  case FilterField::assigned_to: return "assignedTo";
  case FilterField::severity: return "severity";
  case FilterField::classification: return "classification";
  case FilterField::determination: return "determination";
  }
  return "status";
}

bool server_filterable(FilterField field, Dialect dialect) {
  if (dialect == Dialect::graph) return true;
  return field == FilterField::last_update_time || field == FilterField::created_time ||
         field == FilterField::status || field == FilterField::assigned_to;
}

IncidentFilter& IncidentFilter::last_update_time(FilterOp op, TimePoint value) {
  return add({FilterField::last_update_time, op, {value}});
}
IncidentFilter& IncidentFilter::created_time(FilterOp op, TimePoint value) {
  return add({FilterField::created_time, op, {value}});
}
IncidentFilter& IncidentFilter::status(std::vector<IncidentStatus> any_of) {
  return add({FilterField::status, FilterOp::eq, values_of(any_of)});
}
IncidentFilter& IncidentFilter::severity(std::vector<Severity> any_of) {
  return add({FilterField::severity, FilterOp::eq, values_of(any_of)});
}
IncidentFilter& IncidentFilter::classification(std::vector<Classification> any_of) {
  return add({FilterField::classification, FilterOp::eq, values_of(any_of)});
}
IncidentFilter& IncidentFilter::determination(std::vector<Determination> any_of) {
  return add({FilterField::determination, FilterOp::eq, values_of(any_of)});
}
IncidentFilter& IncidentFilter::assigned_to(std::optional<std::string> user) {
  return add({FilterField::assigned_to, FilterOp::eq, {FilterValue(std::move(user))}});
}

IncidentFilter& IncidentFilter::add(FilterTerm term) {
  if (term.values.empty()) throw Fatal("IncidentFilter: a term needs at least one value");
  if (term.values.size() > 1 && term.op != FilterOp::eq)
    throw Fatal("IncidentFilter: several values are only allowed with eq (they are joined with or)");
  for (const auto& v : term.values)
    if (!value_fits(term.field, v)) throw Fatal("IncidentFilter: a value's type does not fit its field");
  m_terms.push_back(std::move(term));
  return *this;
}

std::string format_literal(const FilterValue& value, Dialect dialect) {
  struct Visitor {
    Dialect dialect;
    std::string operator()(const TimePoint& t) const { return util::format_rfc3339(t, 7, true); }
    std::string operator()(const std::optional<std::string>& s) const {
      if (!s) return "null";
      std::string out = "'";
      for (char c : *s) {
        if (c == '\'') out += '\'';
        out += c;
      }
      return out + "'";
    }
    std::string operator()(IncidentStatus v) const { return "'" + std::string(to_string(v, dialect)) + "'"; }
    std::string operator()(Severity v) const { return "'" + std::string(to_string(v, dialect)) + "'"; }
    std::string operator()(Classification v) const { return "'" + std::string(to_string(v, dialect)) + "'"; }
    std::string operator()(Determination v) const { return "'" + std::string(to_string(v, dialect)) + "'"; }
  };
  return std::visit(Visitor{dialect}, value);
}

std::string format_term(const FilterTerm& term, Dialect dialect) {
  const std::string property(filter_property(term.field, dialect));
  if (term.values.size() == 1) return property + " " + std::string(op_text(term.op)) + " " + format_literal(term.values[0], dialect);
  std::string out = "(";
  for (size_t i = 0; i < term.values.size(); ++i) {
    if (i) out += " or ";
    out += property + " eq " + format_literal(term.values[i], dialect);
  }
  return out + ")";
}

FilterPlan plan_filter(const IncidentFilter& filter, Dialect dialect) {
  FilterPlan plan;
  for (const auto& term : filter.terms()) {
    if (server_filterable(term.field, dialect)) {
      if (!plan.odata.empty()) plan.odata += " and ";
      plan.odata += format_term(term, dialect);
    } else {
      plan.client_side.push_back(term);
      plan.notes.push_back(format_term(term, dialect) + " applied client-side: the " +
                           (dialect == Dialect::legacy ? "Defender XDR API" : "Graph security API") +
                           " does not filter on " + std::string(filter_property(term.field, dialect)) +
                           ", so every page is fetched and filtered here");
    }
  }
  return plan;
}

bool matches(const Incident& incident, const FilterTerm& term) {
  for (const auto& v : term.values)
    if (matches_value(incident, term.field, term.op, v)) return true;
  return false;
}

bool matches(const Incident& incident, const std::vector<FilterTerm>& terms) {
  for (const auto& t : terms)
    if (!matches(incident, t)) return false;
  return true;
}

} // namespace xdr::api
