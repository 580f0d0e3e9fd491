#include <xdr/auth/consent.hpp>

#include <xdr/auth/cloud.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::auth {

namespace {
std::string_view without_trailing_slash(std::string_view host) {
  while (!host.empty() && host.back() == '/') host.remove_suffix(1);
  return host;
}
} // namespace

std::string v1_consent_link(std::string_view authority_host, std::string_view client_id) {
  return std::string(without_trailing_slash(authority_host)) + "/common/oauth2/authorize?prompt=consent&client_id=" +
         util::url_encode(client_id) + "&response_type=code&sso_reload=true";
}

std::string v2_admin_consent_link(std::string_view authority_host, std::string_view client_id,
                                  const AdminConsentOptions& options) {
  std::string tenant = options.tenant.empty() ? std::string("organizations") : options.tenant;
  std::string link = std::string(without_trailing_slash(authority_host)) + "/" + util::url_encode(tenant) +
                     "/v2.0/adminconsent?client_id=" + util::url_encode(client_id) +
                     "&scope=" + util::url_encode(default_scope(options.resource)) +
                     "&redirect_uri=" + util::url_encode(options.redirect_uri);
  if (!options.state.empty()) link += "&state=" + util::url_encode(options.state);
  return link;
}

} // namespace xdr::auth
