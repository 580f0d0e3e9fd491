#include <cli/discovery.hpp>

#include <xdr/auth/aadsts.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::cli {

Result<TenantDiscovery> discover_tenant(http::Transport& transport, const std::string& authority,
                                        const std::string& tenant, auth::Cloud cloud, util::TimePoint now) {
  TenantDiscovery d;
  d.metadata_url = authority + "/" + util::url_encode(tenant) + "/v2.0/.well-known/openid-configuration";
  http::Request request;
  request.url = d.metadata_url;
  request.headers.set("accept", "application/json");
  auto response = transport.send(request);
  if (!response) {
    Error e = response.error();
    e.message = "cannot reach the authority at " + d.metadata_url + ": " + e.message +
                "; check the network, any proxy (HTTPS_PROXY, NO_PROXY), --authority-host and --ca-file";
    return fail(std::move(e));
  }
  if (auto date = response->headers.get("date")) d.date = util::parse_http_date(*date);
  if (response->status != 200) {
    auth::TokenErrorContext context;
    context.authority_host = authority;
    context.cloud = auth::endpoints(cloud).name;
    context.tenant = tenant;
    context.token_endpoint = d.metadata_url;
    Error e = auth::map_token_error(*response, context, now);
    if (response->status == 400 || response->status == 404) {
      if (e.kind == ErrorKind::invalid_request || e.kind == ErrorKind::invalid_response) e.kind = ErrorKind::not_found;
    }
    return fail(std::move(e));
  }
  auto doc = util::parse_json(response->body, "OpenID configuration");
  if (!doc || !doc->is_object())
    return fail(ErrorKind::invalid_response, d.metadata_url + " did not return an OpenID configuration (" +
                                                 util::describe_body(response->body) + ")");
  std::string endpoint = doc->value("token_endpoint", std::string());
  // "https://host/<tenant GUID>/oauth2/v2.0/token"
  auto scheme = endpoint.find("://");
  if (scheme != std::string::npos) {
    auto path = endpoint.find('/', scheme + 3);
    if (path != std::string::npos) {
      auto segments = util::split(std::string_view(endpoint).substr(path + 1), '/');
      if (!segments.empty() && util::is_guid(segments.front())) d.tenant_id = util::to_lower(segments.front());
    }
  }
  if (d.tenant_id.empty())
    return fail(ErrorKind::invalid_response, "the OpenID configuration at " + d.metadata_url +
                                                 " names no token endpoint with a tenant ID; is " + authority +
                                                 " an Entra ID authority?");
  return d;
}

} // namespace xdr::cli
