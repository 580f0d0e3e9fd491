#include <xdr/auth/cloud.hpp>

#include <array>
#include <cctype>
#include <cstdlib>

#include <xdr/util/strings.hpp>

namespace xdr::auth {

namespace {

// Sources: Microsoft's "Microsoft Defender XDR for US Government customers" and "Defender for
// Endpoint for US Government customers" pages; national cloud authentication endpoints.
constexpr std::array<CloudEndpoints, 4> k_clouds{{
    {Cloud::global, "global", "https://login.microsoftonline.com", "https://api.security.microsoft.com",
     "https://api.securitycenter.microsoft.com", "https://graph.microsoft.com"},
    {Cloud::gcc, "gcc", "https://login.microsoftonline.com", "https://api-gcc.security.microsoft.us",
     "https://api-gcc.securitycenter.microsoft.us", "https://graph.microsoft.com"},
    {Cloud::gcc_high, "gcc-high", "https://login.microsoftonline.us", "https://api-gov.security.microsoft.us",
     "https://api-gov.securitycenter.microsoft.us", "https://graph.microsoft.us"},
    {Cloud::dod, "dod", "https://login.microsoftonline.us", "https://api-gov.security.microsoft.us",
     "https://api-gov.securitycenter.microsoft.us", "https://dod-graph.microsoft.us"},
}};

bool is_dns_label_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }

// Host names: labels of letters, digits and hyphens (1..63, no leading/trailing hyphen), at least
// two labels, the last one not all digits, 253 characters at most.
bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t labels = 0;
  std::string_view last;
  while (true) {
    size_t dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!is_dns_label_char(c)) return false;
    ++labels;
    last = label;
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  if (labels < 2) return false;
  for (char c : last)
    if (std::isalpha(static_cast<unsigned char>(c))) return true;
  return false;
}

} // namespace

const CloudEndpoints& endpoints(Cloud cloud) { return k_clouds.at(static_cast<size_t>(cloud)); }

std::string_view to_string(Cloud cloud) { return endpoints(cloud).name; }

Result<Cloud> parse_cloud(std::string_view name) {
  std::string n = util::to_lower(util::trim(name));
  if (n == "global" || n == "public" || n == "commercial") return Cloud::global;
  if (n == "gcc") return Cloud::gcc;
  if (n == "gcc-high" || n == "gcchigh" || n == "gcc_high") return Cloud::gcc_high;
  if (n == "dod") return Cloud::dod;
  return fail(ErrorKind::config,
              "unknown cloud '" + std::string(name) + "': use one of global, gcc, gcc-high, dod");
}

Environment process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

Result<std::string> normalize_authority_host(std::string_view host) {
  std::string_view h = util::trim(host);
  auto bad = [&](std::string_view why) {
    return fail(ErrorKind::config, "authority host '" + std::string(host) + "' " + std::string(why) +
                                       ": write it as https://host[:port], e.g. https://login.microsoftonline.com "
                                       "or https://127.0.0.1:8443");
  };
  if (!util::istarts_with(h, "https://")) return bad("is not an https:// URL");
  std::string_view rest = h.substr(8);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return bad("has no host");
  for (char c : rest) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return bad("must not contain a path, query or user name");
  }
  return "https://" + util::to_lower(rest);
}

Result<std::string> resolve_authority_host(Cloud cloud, std::string_view override_host, const Environment& env) {
  if (!util::trim(override_host).empty()) return normalize_authority_host(override_host);
  if (env) {
    if (auto from_env = env("AZURE_AUTHORITY_HOST"); from_env && !util::trim(*from_env).empty()) {
      auto normalized = normalize_authority_host(*from_env);
      if (!normalized) {
        Error e = normalized.error();
        e.message = "AZURE_AUTHORITY_HOST: " + e.message;
        return fail(std::move(e));
      }
      return normalized;
    }
  }
  return std::string(endpoints(cloud).login_host);
}

Status validate_tenant_for_client_credentials(std::string_view tenant) {
  if (tenant.empty())
    return fail(ErrorKind::config, "no tenant given: pass the customer's tenant ID (a GUID) or its domain "
                                   "(e.g. contoso.onmicrosoft.com)");
  if (util::iequals(tenant, "common") || util::iequals(tenant, "organizations") || util::iequals(tenant, "consumers"))
    return fail(ErrorKind::config,
                "tenant '" + std::string(tenant) +
                    "' cannot be used with client credentials: an app-only token belongs to one customer tenant; "
                    "pass that tenant's ID (a GUID) or its domain (e.g. contoso.onmicrosoft.com)");
  if (util::is_guid(tenant)) {
    if (tenant == "00000000-0000-0000-0000-000000000000")
      return fail(ErrorKind::config, "tenant 00000000-0000-0000-0000-000000000000 is not a valid tenant ID: "
                                     "use the customer's tenant ID from the Entra admin center");
    return {};
  }
  if (is_dns_name(tenant)) return {};
  // Show a bounded, printable prefix only: the value might be anything a user pasted.
  std::string shown;
  for (char c : tenant.substr(0, 64)) shown += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  return fail(ErrorKind::config, "tenant '" + shown +
                                     "' is neither a tenant ID (GUID) nor a domain name: pass the customer's tenant "
                                     "ID or its domain (e.g. contoso.onmicrosoft.com)");
}

Result<std::string_view> resolve_resource_view(std::string_view alias_or_uri, Cloud cloud) {
  const CloudEndpoints& e = endpoints(cloud);
  if (alias_or_uri == "xdr") return e.xdr_api;
  if (alias_or_uri == "mde") return e.mde_api;
  if (alias_or_uri == "graph") return e.graph_api;
  if (util::istarts_with(alias_or_uri, "https://") && alias_or_uri.size() > 8) return alias_or_uri;
  if (util::istarts_with(alias_or_uri, "api://") && alias_or_uri.size() > 6) return alias_or_uri;
  if (util::is_guid(alias_or_uri)) return alias_or_uri;
  return fail(ErrorKind::config, "unknown resource '" + std::string(alias_or_uri) +
                                     "': use xdr, mde, graph, or the resource's URI (e.g. "
                                     "https://api.security.microsoft.com)");
}

Result<std::string> resolve_resource(std::string_view alias_or_uri, Cloud cloud) {
  return resolve_resource_view(alias_or_uri, cloud).map([](std::string_view v) { return std::string(v); });
}

std::string default_scope(std::string_view resource) { return std::string(resource) + "/.default"; }

} // namespace xdr::auth
