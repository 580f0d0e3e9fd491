#include <xdr/api/endpoints.hpp>

#include <xdr/util/strings.hpp>

namespace xdr::api {

namespace {

Result<std::string> normalize_base(std::string_view url, std::string_view what) {
  std::string u(util::trim(url));
  while (!u.empty() && u.back() == '/') u.pop_back();
  const bool scheme = util::istarts_with(u, "https://") || util::istarts_with(u, "http://");
  const size_t host_start = u.find("://") + 3;
  if (!scheme || u.size() <= host_start || u.find_first_of("?#") != std::string::npos || u.find('@') != std::string::npos)
    return fail(ErrorKind::config, std::string(what) + " '" + std::string(url) +
                                       "' is not a usable base URL: write it as https://host[:port][/path], e.g. the "
                                       "emulator's URL https://127.0.0.1:8443");
  return u;
}

} // namespace

Result<Region> parse_region(std::string_view text) {
  const std::string t = util::to_lower(util::trim(text));
  if (t.empty() || t == "none" || t == "global") return Region::none;
  if (t == "us") return Region::us;
  if (t == "eu") return Region::eu;
  if (t == "uk") return Region::uk;
  if (t == "au") return Region::au;
  if (t == "swa") return Region::swa;
  return fail(ErrorKind::config, "unknown region '" + std::string(text) + "': use us, eu, uk, au or swa (or none)");
}

std::string_view to_string(Region region) {
  switch (region) {
  case Region::none: return "none";
  case Region::us: return "us";
  case Region::eu: return "eu";
  case Region::uk: return "uk";
  case Region::au: return "au";
  case Region::swa: return "swa";
  }
  return "none";
}

Result<ApiEndpoints> resolve_endpoints(auth::Cloud cloud, Region region, const EndpointOverrides& overrides) {
  const auth::CloudEndpoints& c = auth::endpoints(cloud);
  ApiEndpoints e;
  e.xdr_resource = std::string(c.xdr_api);
  e.mde_resource = std::string(c.mde_api);
  e.graph_resource = std::string(c.graph_api);
  e.xdr_base = e.xdr_resource;
  e.mde_base = e.mde_resource;
  e.graph_base = e.graph_resource;
  if (region != Region::none) {
    if (cloud != auth::Cloud::global)
      return fail(ErrorKind::config, "region " + std::string(to_string(region)) + " exists only in the global cloud; the " +
                                         std::string(auth::to_string(cloud)) + " cloud has one API host (" +
                                         std::string(c.xdr_api) + ")");
    const std::string r(to_string(region));
    if (region == Region::au || region == Region::swa) {
      e.xdr_base = "https://" + r + ".api.security.microsoft.com";
    } else {
      e.xdr_base = "https://api-" + r + ".security.microsoft.com";
    }
    if (region != Region::swa) e.mde_base = "https://api-" + r + ".securitycenter.microsoft.com";
  }
  if (!overrides.api_base.empty()) {
    XDR_TRY_ASSIGN(std::string base, normalize_base(overrides.api_base, "API base"));
    e.xdr_base = base;
    e.mde_base = base;
    e.graph_base = base;
  }
  if (!overrides.graph_base.empty()) {
    XDR_TRY_ASSIGN(e.graph_base, normalize_base(overrides.graph_base, "Graph base"));
  }
  return e;
}

Result<TenantEndpoints> TenantEndpoints::create(auth::Cloud cloud, std::string_view run_region,
                                                const EndpointOverrides& overrides) {
  TenantEndpoints e;
  e.m_cloud = cloud;
  e.m_overrides = overrides;
  e.m_run_region_given = !util::trim(run_region).empty();
  XDR_TRY_ASSIGN(Region region, parse_region(run_region));
  XDR_TRY_ASSIGN(e.m_run, resolve_endpoints(cloud, region, overrides));
  return e;
}

Result<ApiEndpoints> TenantEndpoints::for_tenant(std::string_view registry_region) const {
  if (m_run_region_given) return m_run;
  auto region = parse_region(registry_region);
  if (!region)
    return fail(ErrorKind::config, "registry region '" + std::string(registry_region) +
                                       "' is not a region (us, eu, uk, au, swa; none: the global host)");
  if (*region == Region::none) return m_run;
  return resolve_endpoints(m_cloud, *region, m_overrides);
}

EndpointOverrides overrides_from_environment(const auth::Environment& env, EndpointOverrides explicit_values) {
  if (!env) return explicit_values;
  if (explicit_values.api_base.empty())
    if (auto v = env("XDR_API_BASE"); v && !util::trim(*v).empty()) explicit_values.api_base = std::string(util::trim(*v));
  if (explicit_values.graph_base.empty())
    if (auto v = env("XDR_GRAPH_BASE"); v && !util::trim(*v).empty()) explicit_values.graph_base = std::string(util::trim(*v));
  return explicit_values;
}

} // namespace xdr::api
