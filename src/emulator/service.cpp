#include <emulator/service.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <thread>

#include <xdr/crypto/crypto.hpp>
#include <xdr/jwt/token.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::emulator {
namespace {

bool secret_field(std::string_view k) {
  return k == "client_secret" || k == "client_assertion" || k == "assertion" || k == "code" || k == "password" ||
         k == "access_token" || k == "refresh_token" || k == "id_token";
}

Json masked_fields(const util::FormFields& fields) {
  Json out = Json::object();
  for (const auto& [k, v] : fields) out[k] = secret_field(k) ? Json("***") : Json(v);
  return out;
}

// ---- packed request-log entries ----
// An entry is one string: the time (nanoseconds since the epoch) and the status, then length-prefixed
// strings (method, path, route, tenant, remote, the masked form body) and two counted lists of
// name/value pairs (the query, masked; the allow-listed headers, Authorization masked).

void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

class Unpacker {
public:
  explicit Unpacker(std::string_view data) : m_data(data) {}

  template <class T>
  T number() {
    T v{};
    std::memcpy(&v, m_data.data() + m_pos, sizeof v);
    m_pos += sizeof v;
    return v;
  }

  std::string_view str() {
    auto n = number<uint32_t>();
    std::string_view s = m_data.substr(m_pos, n);
    m_pos += n;
    return s;
  }

private:
  std::string_view m_data;
  size_t m_pos = 0;
};

// Would util::url_decode accept this text?
bool valid_escapes(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') continue;
    if (i + 2 >= text.size() || util::hex_digit(text[i + 1]) < 0 || util::hex_digit(text[i + 2]) < 0) return false;
    i += 2;
  }
  return true;
}

// The form body with every secret value replaced by "***", still form-encoded (decoded when the log
// is read); nullopt when util::parse_form would reject it.
std::optional<std::string> masked_form_body(std::string_view body) {
  std::string out;
  bool ok = util::for_each_form_pair(body, [&](std::string_view k, std::string_view v) {
    if (!valid_escapes(k) || !valid_escapes(v)) return false;
    bool secret = k.find_first_of("%+") == std::string_view::npos ? secret_field(k) : secret_field(*util::url_decode(k));
    if (!out.empty()) out += '&';
    out.append(k);
    if (secret) {
      out += "=***";
    } else if (v.data() == k.data() + k.size() + 1) { // the part had "=": keep it and the value as sent
      out += '=';
      out.append(v);
    }
    return true;
  });
  if (!ok) return std::nullopt;
  return out;
}

// Headers the log keeps (lower case); Authorization is kept apart, masked.
constexpr std::array<std::string_view, 7> k_logged_headers = {
    "content-type", "user-agent", "client-request-id", "x-client-sku", "x-client-ver", "x-ms-lib-capability",
    "x-ms-client-request-id"};

// Only a known scheme is kept; everything after it, or a value without one, is masked.
std::string masked_authorization(std::string_view a) {
  std::string_view auth_scheme = a.substr(0, a.find_first_of(" \t"));
  bool known = util::iequals(auth_scheme, "Bearer") || util::iequals(auth_scheme, "Basic");
  return known && auth_scheme.size() < a.size() ? std::string(auth_scheme) + " ***" : std::string("***");
}

Json unpack_entry(std::string_view packed) {
  Unpacker u(packed);
  Json j = Json::object();
  auto ns = u.number<util::TimePoint::duration::rep>();
  j["time"] = util::format_rfc3339(util::TimePoint(util::TimePoint::duration(ns)));
  j["status"] = u.number<int32_t>();
  j["method"] = u.str();
  j["path"] = u.str();
  j["route"] = u.str();
  j["tenant"] = u.str();
  j["remote"] = u.str();
  auto form = util::parse_form(u.str());
  j["form"] = form ? masked_fields(*form) : Json::object();
  j["query"] = Json::object();
  for (auto n = u.number<uint32_t>(); n > 0; --n) {
    std::string k(u.str());
    j["query"][k] = u.str();
  }
  j["headers"] = Json::object();
  for (auto n = u.number<uint32_t>(); n > 0; --n) {
    std::string k(u.str());
    j["headers"][k] = u.str();
  }
  return j;
}

} // namespace

void send_json(httplib::Response& res, int status, const Json& body) { send_body(res, status, safe_dump(body)); }

void send_body(httplib::Response& res, int status, std::string body) {
  constexpr size_t k_stream_above = 64 * 1024;
  res.status = status;
  if (body.size() <= k_stream_above || status >= 400) {
    res.set_content(body, "application/json; charset=utf-8");
    return;
  }
  auto shared = std::make_shared<const std::string>(std::move(body));
  res.set_content_provider(shared->size(), "application/json; charset=utf-8",
                           [shared](size_t offset, size_t length, httplib::DataSink& sink) {
                             return sink.write(shared->data() + offset, length);
                           });
}

void append_json_string(std::string& out, std::string_view s) { json_dump_detail::append_string<Json>(s, out); }

void JsonObjectWriter::key(std::string_view k) {
  if (m_out.size() > 1) m_out += ',';
  append_json_string(m_out, k);
  m_out += ':';
}

JsonObjectWriter& JsonObjectWriter::member(std::string_view k, std::string_view value) {
  key(k);
  append_json_string(m_out, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::member(std::string_view k, int64_t value) {
  key(k);
  m_out += std::to_string(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::member(std::string_view k, const std::vector<std::string>& values) {
  key(k);
  m_out += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) m_out += ',';
    append_json_string(m_out, values[i]);
  }
  m_out += ']';
  return *this;
}

std::string JsonObjectWriter::finish() {
  m_out += '}';
  return std::move(m_out);
}

std::string id_random_bytes(size_t n) {
  constexpr size_t k_refill = 4096;
  thread_local std::string buffer;
  thread_local size_t used = 0;
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    if (used == buffer.size()) {
      buffer = crypto::random_bytes(k_refill);
      used = 0;
    }
    size_t take = std::min(n - out.size(), buffer.size() - used);
    out.append(buffer, used, take);
    used += take;
  }
  return out;
}

std::string id_random_guid() { return crypto::guid_v4_from_bytes(id_random_bytes(16)); }

std::string string_member(const Json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_loopback(const std::string& addr) {
  return addr == "127.0.0.1" || addr == "::1" || addr == "::ffff:127.0.0.1" || util::istarts_with(addr, "127.");
}

// ---- request log ----

void RequestLog::add(std::string packed) {
  std::lock_guard lock(m_mutex);
  m_entries.emplace_back(m_next++, std::move(packed));
  while (m_entries.size() > k_cap) m_entries.pop_front();
}

Json RequestLog::to_json(uint64_t since) const {
  std::lock_guard lock(m_mutex);
  Json arr = Json::array();
  for (const auto& [seq, text] : m_entries) {
    if (seq <= since) continue;
    Json j = unpack_entry(text);
    j["seq"] = seq;
    arr.push_back(std::move(j));
  }
  return {{"requests", arr}, {"next", m_next}};
}

void RequestLog::clear() {
  std::lock_guard lock(m_mutex);
  m_entries.clear();
}

// ---- fault rules ----

Json FaultRule::to_json() const {
  Json j = {{"id", id},       {"route", route},        {"tenant", tenant}, {"method", method},
            {"remaining", remaining}, {"status", status}, {"delay_ms", delay_ms}, {"drop", drop}, {"hits", hits}};
  if (retry_after) j["retry_after"] = *retry_after;
  if (!body.empty()) j["body"] = body;
  return j;
}

uint64_t FaultRules::add(FaultRule rule) {
  std::lock_guard lock(m_mutex);
  rule.id = m_next++;
  m_rules.push_back(rule);
  m_count = m_rules.size();
  return rule.id;
}

std::optional<FaultRule> FaultRules::take(std::string_view route, std::string_view path, std::string_view tenant,
                                          std::string_view method) {
  std::lock_guard lock(m_mutex);
  for (auto& r : m_rules) {
    if (r.remaining == 0) continue;
    bool route_ok = r.route.empty() || r.route == "*" || r.route == route ||
                    (route.size() > r.route.size() && route.substr(0, r.route.size()) == r.route &&
                     route[r.route.size()] == '_') ||
                    (!r.route.empty() && r.route[0] == '/' && path.substr(0, r.route.size()) == r.route);
    if (!route_ok) continue;
    if (!r.tenant.empty() && !util::iequals(r.tenant, tenant)) continue;
    if (!r.method.empty() && !util::iequals(r.method, method)) continue;
    if (r.remaining > 0) --r.remaining;
    ++r.hits;
    return r;
  }
  return std::nullopt;
}

Json FaultRules::to_json() const {
  std::lock_guard lock(m_mutex);
  Json arr = Json::array();
  for (const auto& r : m_rules) arr.push_back(r.to_json());
  return arr;
}

void FaultRules::clear() {
  std::lock_guard lock(m_mutex);
  m_rules.clear();
  m_count = 0;
}

bool FaultRules::remove(uint64_t id) {
  std::lock_guard lock(m_mutex);
  bool removed = std::erase_if(m_rules, [id](const FaultRule& r) { return r.id == id; }) > 0;
  m_count = m_rules.size();
  return removed;
}

// ---- routes ----

Route classify(std::string_view method, std::string_view path) {
  (void)method;
  if (path.substr(0, 11) == "/_emulator/" || path == "/_emulator") return {"control", ""};
  if (path.substr(0, 5) == "/api/") return {"api", ""};
  if (path.substr(0, 6) == "/v1.0/" || path.substr(0, 6) == "/beta/") return {"graph", ""};
  if (path == "/common/discovery/instance") return {"instance", "common"};
  std::string_view segments = path.substr(path.empty() ? 0 : 1);
  size_t slash = segments.find('/');
  if (slash == std::string_view::npos) return {"other", ""};
  std::string tenant(segments.substr(0, slash));
  std::string_view rest = path.substr(1 + slash);
  if (rest == "/oauth2/token") return {"token_v1", tenant};
  if (rest == "/oauth2/v2.0/token") return {"token_v2", tenant};
  if (rest == "/.well-known/openid-configuration") return {"openid_v1", tenant};
  if (rest == "/v2.0/.well-known/openid-configuration") return {"openid_v2", tenant};
  if (rest == "/discovery/keys") return {"keys_v1", tenant};
  if (rest == "/discovery/v2.0/keys") return {"keys_v2", tenant};
  if (rest == "/oauth2/authorize") return {"authorize_v1", tenant};
  if (rest == "/v2.0/adminconsent") return {"adminconsent_v2", tenant};
  if (rest == "/adminconsent") return {"adminconsent_legacy", tenant};
  return {"other", tenant};
}

void Emulator::Impl::log_request(const httplib::Request& req, const httplib::Response& res) {
  Route route = classify(req.method, req.path);
  if (route.name == "control") return;
  // Bytes that did not parse as a request line (the unread body of a fault-answered request,
  // read after the client closed): not a request anyone sent.
  if (req.method.empty()) return;
  // One pass over the headers: the allow-listed ones (first value of each), Authorization masked.
  std::string headers;
  uint32_t header_count = 0;
  uint32_t seen = 0;
  std::string_view content_type;
  for (const auto& [name, value] : req.headers) {
    for (size_t i = 0; i < k_logged_headers.size(); ++i) {
      if ((seen & (1u << i)) || !util::iequals(name, k_logged_headers[i])) continue;
      seen |= 1u << i;
      if (i == 0) content_type = value;
      put_str(headers, k_logged_headers[i]);
      put_str(headers, value);
      ++header_count;
    }
    constexpr uint32_t k_authorization_bit = 1u << k_logged_headers.size();
    if (!(seen & k_authorization_bit) && util::iequals(name, "Authorization")) {
      seen |= k_authorization_bit;
      put_str(headers, "authorization");
      put_str(headers, masked_authorization(value));
      ++header_count;
    }
  }
  std::optional<std::string> form;
  if (util::istarts_with(content_type, "application/x-www-form-urlencoded")) form = masked_form_body(req.body);

  std::string e;
  e.reserve(256 + headers.size() + req.path.size() + (form ? form->size() : 0));
  auto time = now().time_since_epoch().count();
  e.append(reinterpret_cast<const char*>(&time), sizeof time);
  auto status = static_cast<int32_t>(res.status);
  e.append(reinterpret_cast<const char*>(&status), sizeof status);
  put_str(e, req.method);
  put_str(e, req.path);
  put_str(e, route.name);
  put_str(e, route.tenant);
  put_str(e, req.remote_addr);
  put_str(e, form ? *form : std::string_view{});
  put_u32(e, static_cast<uint32_t>(req.params.size()));
  for (const auto& [k, v] : req.params) {
    put_str(e, k);
    put_str(e, secret_field(k) ? std::string_view("***") : std::string_view(v));
  }
  put_u32(e, header_count);
  e += headers;
  log.add(std::move(e));
}

namespace {

// The `tid` claim of the request's bearer token, unverified; empty when there is none.
std::string bearer_tenant(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  if (!util::istarts_with(auth, "Bearer ")) return {};
  auto token = jwt::decode(std::string_view(auth).substr(7));
  if (!token) return {};
  auto tid = token->payload.find("tid");
  return tid != token->payload.end() && tid->is_string() ? tid->get<std::string>() : std::string();
}

} // namespace

void Emulator::Impl::install_routes() {
  // Fault rules apply before routing: "the next N calls of route R answer S", delays, drops.
  server->set_pre_routing([this](const httplib::Request& req, httplib::Response& res) {
    if (faults.empty()) return HttpServer::Outcome::unhandled;
    Route route = classify(req.method, req.path);
    if (route.name == "control") return HttpServer::Outcome::unhandled;
    // The resource APIs have no tenant in the path: their tenant is the bearer token's `tid`, read here
    // without verification (the route itself checks the token), so a rule can fault one tenant's calls.
    std::string tenant = route.tenant.empty() ? bearer_tenant(req) : route.tenant;
    auto rule = faults.take(route.name, req.path, tenant, req.method);
    if (!rule) return HttpServer::Outcome::unhandled;
    if (rule->delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(rule->delay_ms));
    if (rule->drop) {
      // Promise a body, then fail to write it: the client sees the connection die mid-response.
      res.set_header("X-Emulator-Fault", std::to_string(rule->id));
      res.set_content_provider(
          1024, "application/json", [](size_t, size_t, httplib::DataSink&) { return false; }, nullptr);
      return HttpServer::Outcome::handled;
    }
    if (rule->status == 0) return HttpServer::Outcome::unhandled;
    // The server has read the whole request, body included, before this hook: the connection stays
    // usable for the client's retry, as with the real services.
    res.status = rule->status;
    res.set_header("X-Emulator-Fault", std::to_string(rule->id));
    if (rule->retry_after) res.set_header("Retry-After", std::to_string(*rule->retry_after));
    if (!rule->body.empty()) {
      res.set_content(rule->body, "application/json; charset=utf-8");
    } else {
      res.set_content(fault_body(route.name, rule->status, rule->retry_after), "application/json; charset=utf-8");
    }
    return HttpServer::Outcome::handled;
  });

  // Every answer carries a Date from the emulator's clock, so clients can measure clock skew
  // (and a clock offset set through the control API shows up as skew). The request is logged here,
  // before the answer is written, so a client that has its answer always finds its request logged.
  server->set_post_routing([this](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Date", util::format_http_date(now()));
    log_request(req, res);
  });


  // The request log: what every client sent, secrets masked.

  // Errors httplib raises itself (bad request line, body too large, no route) in the service's dialect.
  server->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty() || res.content_provider_) return;
    Route route = classify(req.method, req.path);
    if (res.status == 413) res.status = 400;
    res.set_content(fault_body(route.name, res.status, std::nullopt), "application/json; charset=utf-8");
  });

  // Any exception left in a handler is a bug; answer it in the route's dialect, never crash.
  server->set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
    Route route = classify(req.method, req.path);
    res.status = 500;
    res.set_content(fault_body(route.name, 500, std::nullopt), "application/json; charset=utf-8");
  });

  install_entra_routes();
  install_control_routes();
  install_defender_routes();
}

} // namespace xdr::emulator
