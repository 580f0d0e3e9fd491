#pragma once
// Renders a query result as the advanced-hunting APIs answer.

#include <nlohmann/json.hpp>

#include <emulator/kql/kql.hpp>

namespace xdr::emulator::kql {

// Defender XDR /api/advancedhunting/run: {"Stats": {...}, "Schema": [{"Name","Type"}], "Results": [{col: value}]},
// datetimes as "2020-08-30T06:38:35.7664356Z", dynamic columns as JSON values.
nlohmann::ordered_json to_defender_json(const QueryResult& result);

// Graph /security/runHuntingQuery: {"@odata.context": ..., "schema": [{"name","type"}], "results": [...]}.
nlohmann::ordered_json to_graph_json(const QueryResult& result);

} // namespace xdr::emulator::kql
