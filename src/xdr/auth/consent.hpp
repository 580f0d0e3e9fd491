#pragma once
// Admin-consent links that a customer's administrator opens to let the partner app into a tenant.

#include <string>
#include <string_view>

namespace xdr::auth {

// The link from Microsoft's Defender XDR partner guide, on `authority_host`:
// {host}/common/oauth2/authorize?prompt=consent&client_id=<id>&response_type=code&sso_reload=true
std::string v1_consent_link(std::string_view authority_host, std::string_view client_id);

struct AdminConsentOptions {
  std::string tenant;                                   // empty: "organizations"
  std::string resource = "https://api.security.microsoft.com";
  std::string redirect_uri = "https://portal.azure.com"; // must be registered on the app
  std::string state;                                    // omitted when empty
};

// The v2 admin-consent link: {host}/{tenant|organizations}/v2.0/adminconsent?client_id=..
// &scope=<resource>/.default&redirect_uri=..[&state=..], every value URL-encoded.
std::string v2_admin_consent_link(std::string_view authority_host, std::string_view client_id,
                                  const AdminConsentOptions& options = {});

} // namespace xdr::auth
