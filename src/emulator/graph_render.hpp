#pragma once
// The Graph security API's shape of the emulator's incidents (src/emulator/graph_api.cpp serves it; the
// parser benchmark renders pages with it).

#include <emulator/defender_data.hpp>
#include <xdr/util/json.hpp>

namespace xdr::emulator {

// The incident as GET /v1.0/security/incidents renders it, with its alerts (and their evidence) when
// `with_alerts` ($expand=alerts). The caller holds the data's lock.
OrderedJson graph_incident(const TenantData& data, const Incident& incident, bool with_alerts);

} // namespace xdr::emulator
