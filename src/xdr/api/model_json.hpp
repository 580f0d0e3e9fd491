#pragma once
// The model as JSON for output and storage: Graph's property names and camelCase enum spellings (the API
// Microsoft is moving to), times as RFC 3339 UTC with up to 7 fraction digits, absent values as null.

#include <xdr/api/model.hpp>
#include <xdr/util/json.hpp>

namespace xdr::api {

OrderedJson to_json(const Comment& comment);
OrderedJson to_json(const Device& device);
// Only the entity's non-null keys (plus entityType).
OrderedJson to_json(const Entity& entity);
OrderedJson to_json(const Alert& alert);
// With `alerts` false the incident's alerts are left out (its alert count is still there as "alertCount").
OrderedJson to_json(const Incident& incident, bool alerts = true);
// A hunting cell as its JSON value: strings, numbers and booleans as such, dynamic values parsed.
OrderedJson to_json(const HuntingCell& cell);

} // namespace xdr::api
