#include <xdr/api/dialect.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstring>
#include <iterator>
#include <memory>
#include <type_traits>

#include <simdjson.h>

#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::api {

namespace {

namespace od = simdjson::ondemand;

// ---------------------------------------------------------------------------------------------------------
// Reading state: the parser, a padded copy of the body, the JSON path for messages, the first error.

// The body with simdjson's padding, in a buffer reused by the thread (a page is parsed without allocating).
simdjson::padded_string_view padded(std::string_view body) {
  thread_local std::unique_ptr<char[]> buffer;
  thread_local size_t capacity = 0;
  const size_t need = body.size() + simdjson::SIMDJSON_PADDING;
  if (capacity < need) {
    capacity = need + need / 2;
    buffer.reset(new char[capacity]);
  }
  std::memcpy(buffer.get(), body.data(), body.size());
  std::memset(buffer.get() + body.size(), 0, simdjson::SIMDJSON_PADDING);
  return simdjson::padded_string_view(buffer.get(), body.size(), capacity);
}

od::parser& thread_parser() {
  thread_local od::parser parser;
  return parser;
}

std::string_view type_name(od::json_type t) {
  switch (t) {
  case od::json_type::array: return "an array";
  case od::json_type::object: return "an object";
  case od::json_type::number: return "a number";
  case od::json_type::string: return "a string";
  case od::json_type::boolean: return "a boolean";
  case od::json_type::null: return "null";
  }
  return "an unknown value";
}

class Reader {
public:
  Reader(std::string_view what, std::string_view body) : m_what(what), m_body(body) {}

  // Path segments: a field name, or an array index (name empty).
  void push(std::string_view name) { if (m_depth < m_path.size()) m_path[m_depth] = {name, -1}; ++m_depth; }
  void push_index(int64_t index) { if (m_depth < m_path.size()) m_path[m_depth] = {{}, index}; ++m_depth; }
  void pop() { --m_depth; }

  bool fail_type(std::string_view expected, od::json_type got) {
    return fail("expected " + std::string(expected) + ", received " + std::string(type_name(got)));
  }
  bool fail_simd(simdjson::error_code e) {
    std::string what;
    switch (e) {
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
    case simdjson::UNCLOSED_STRING:
    case simdjson::TAPE_ERROR:
    case simdjson::EMPTY:
      what = "the JSON ends early or is malformed (truncated response?)";
      break;
    case simdjson::INCORRECT_TYPE: what = "a value of the wrong type"; break;
    case simdjson::NUMBER_ERROR:
    case simdjson::NUMBER_OUT_OF_RANGE: what = "a number that does not fit a 64-bit integer"; break;
    case simdjson::UTF8_ERROR: what = "text that is not valid UTF-8"; break;
    default: what = "malformed JSON"; break;
    }
    return fail(what + " (" + simdjson::error_message(e) + ")");
  }
  bool fail(const std::string& problem) {
    if (m_failed) return false;
    m_failed = true;
    std::string path = this->path();
    m_error = Error(ErrorKind::invalid_response,
                    "the " + std::string(m_what) + " is not what the API documents" +
                        (path.empty() ? std::string() : " at " + path) + ": " + problem + "; received " +
                        util::describe_body(m_body));
    return false;
  }
  bool fail_service(ServiceError e) {
    m_failed = true;
    Error error(ErrorKind::invalid_response, "the service answered with an error instead of the " + std::string(m_what) +
                                                 ": " + (e.code.empty() ? std::string() : e.code + ": ") + e.message);
    error.code = e.code;
    error.request_id = e.request_id;
    m_error = std::move(error);
    return false;
  }
  std::string path() const {
    std::string out;
    for (size_t i = 0; i < m_depth && i < m_path.size(); ++i) {
      if (m_path[i].index >= 0) {
        out += "[" + std::to_string(m_path[i].index) + "]";
      } else {
        if (!out.empty()) out += '.';
        out += m_path[i].name;
      }
    }
    return out;
  }
  Error error() const { return m_error; }
  bool failed() const { return m_failed; }

private:
  struct Segment {
    std::string_view name;
    int64_t index = -1;
  };
  std::string_view m_what;
  std::string_view m_body;
  std::array<Segment, 12> m_path{};
  size_t m_depth = 0;
  bool m_failed = false;
  Error m_error;
};

#define XDR_R(expr)                                                                                                    \
  do {                                                                                                                 \
    if (!(expr)) return false;                                                                                         \
  } while (false)

// Keys of one object kind, matched against a field's raw key with a hint: documents write keys in a fixed
// order, so the next expected key is tried first and most keys match with one comparison.
// A comparison reads the raw key (the bytes after its opening quote, inside simdjson's padded buffer, so the
// SIMDJSON_PADDING bytes past the document's end are readable) as up to four 64-bit words and checks them against
// the name's words under a mask, then checks that the key's closing quote follows: no call to memcmp. A key
// written with escapes does not match, as with raw_json_string::unsafe_is_equal.
static_assert(std::endian::native == std::endian::little, "Keys packs names as little-endian words");
constexpr size_t k_max_key_size = 32;
static_assert(k_max_key_size + 8 <= simdjson::SIMDJSON_PADDING); // quote_offset reads 40 bytes

// Offset of the first '"' in raw[0, 32] (the key's length), or more than k_max_key_size when there is none:
// four 64-bit words tested for a '"' byte at once (the lowest flagged byte of the zero-byte test is exact).
inline size_t quote_offset(const char* raw) {
  constexpr uint64_t ones = 0x0101010101010101u;
  constexpr uint64_t highs = 0x8080808080808080u;
  for (size_t w = 0; w <= k_max_key_size / 8; ++w) {
    uint64_t word;
    std::memcpy(&word, raw + 8 * w, 8);
    const uint64_t x = word ^ (ones * '"');
    const uint64_t found = (x - ones) & ~x & highs;
    if (found != 0) return 8 * w + static_cast<size_t>(std::countr_zero(found)) / 8;
  }
  return k_max_key_size + 1;
}

template <size_t N>
struct Keys {
  struct Packed {
    std::array<uint64_t, k_max_key_size / 8> words{};
    uint64_t last_mask = 0; // bytes of the last word that belong to the name
    uint32_t size = 0;
    uint32_t last = 0;      // index of the last word
  };
  std::array<Packed, N> packed{};
  std::array<uint8_t, N> ids{}; // what match returns for packed[i]: the name's index in the canonical list
  std::array<uint64_t, k_max_key_size + 1> by_size{}; // bit i: packed[i]'s name has that many characters
  static_assert(N <= 64);

  static bool equal(const char* raw, const Packed& p) {
    if (raw[p.size] != '"') return false;
    uint64_t diff = 0;
    for (uint32_t w = 0; w < p.last; ++w) {
      uint64_t word;
      std::memcpy(&word, raw + 8 * w, 8);
      diff |= word ^ p.words[w];
    }
    uint64_t word;
    std::memcpy(&word, raw + 8 * p.last, 8);
    diff |= (word ^ p.words[p.last]) & p.last_mask;
    return diff == 0;
  }

  int match(const od::raw_json_string& key, size_t& hint) const {
    const char* raw = reinterpret_cast<const char*>(key.raw());
    if (equal(raw, packed[hint])) {
      const size_t i = hint;
      advance(hint);
      return ids[i];
    }
    // Out of order or unknown: only the names of the key's length are candidates.
    const size_t size = quote_offset(raw);
    if (size > k_max_key_size) return -1;
    for (uint64_t candidates = by_size[size]; candidates != 0; candidates &= candidates - 1) {
      const auto i = static_cast<size_t>(std::countr_zero(candidates));
      if (equal(raw, packed[i])) {
        hint = i;
        advance(hint);
        return ids[i];
      }
    }
    return -1;
  }

  // Moves the hint past the expected key, as a match of that key does.
  static void advance(size_t& hint) { hint = hint + 1 == N ? 0 : hint + 1; }
};

// The names of `canonical` tried in the order of `order` (the same names, in the order one dialect writes
// them); match returns the canonical index.
template <size_t N>
constexpr Keys<N> keys_in_order(const std::string_view (&canonical)[N], const std::string_view (&order)[N]) {
  Keys<N> k{};
  for (size_t i = 0; i < N; ++i) {
    const std::string_view name = order[i];
    size_t id = N;
    for (size_t c = 0; c < N; ++c)
      if (canonical[c] == name) id = c;
    if (id == N) throw "a key of the dialect's order is missing from the canonical names";
    for (size_t j = 0; j < i; ++j)
      if (order[j] == name) throw "a key is listed twice";
    k.ids[i] = static_cast<uint8_t>(id);
    if (name.empty() || name.size() > k_max_key_size) throw "a key name must have 1 to 32 characters";
    auto& p = k.packed[i];
    p.size = static_cast<uint32_t>(name.size());
    p.last = static_cast<uint32_t>((name.size() - 1) / 8);
    for (size_t c = 0; c < name.size(); ++c)
      p.words[c / 8] |= uint64_t{static_cast<unsigned char>(name[c])} << (8 * (c % 8));
    const size_t tail = name.size() - 8 * p.last; // 1..8 bytes in the last word
    p.last_mask = tail == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * tail)) - 1;
    k.by_size[name.size()] |= uint64_t{1} << i;
  }
  return k;
}

template <size_t N>
constexpr Keys<N> keys(const std::string_view (&names)[N]) {
  return keys_in_order(names, names);
}

[[gnu::always_inline]] inline bool type_of(Reader& r, od::value& v, od::json_type& t) {
  if (auto e = v.type().get(t)) return r.fail_simd(e);
  return true;
}

// Calls f(raw key, value) for each field; f returns false to abort.
template <class F>
bool for_each_field(Reader& r, od::value& v, F&& f) {
  od::json_type t{};
  XDR_R(type_of(r, v, t));
  if (t != od::json_type::object) return r.fail_type("an object", t);
  od::object object;
  if (auto e = v.get_object().get(object)) return r.fail_simd(e);
  for (auto item : object) {
    od::field field;
    if (auto e = std::move(item).get(field)) return r.fail_simd(e);
    XDR_R(f(field.key(), field.value()));
  }
  return true;
}

// Calls f(index, element) for each element; null is an empty array.
template <class F>
bool for_each_element(Reader& r, od::value& v, F&& f) {
  od::json_type t{};
  XDR_R(type_of(r, v, t));
  if (t == od::json_type::null) return true;
  if (t != od::json_type::array) return r.fail_type("an array", t);
  od::array array;
  if (auto e = v.get_array().get(array)) return r.fail_simd(e);
  int64_t index = 0;
  for (auto item : array) {
    od::value element;
    if (auto e = std::move(item).get(element)) return r.fail_simd(e);
    r.push_index(index);
    XDR_R(f(element));
    r.pop();
    ++index;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Reuse. A page is parsed into the model objects of the page before it (parse_incident_page_into), so
// strings and vectors keep their capacity instead of being allocated again. Each object notes which of its
// fields the document set (Seen, one bit per field slot) and resets the others afterwards: nothing of an
// earlier page survives. A reader of a seen field writes the whole field (null included).

void reset_field(std::string& s) { s.clear(); }
template <class T>
void reset_field(std::optional<T>& o) { o.reset(); }
template <class T>
void reset_field(std::vector<T>& v) { v.clear(); }
template <class E>
  requires std::is_enum_v<E>
void reset_field(E& e) { e = E{}; }

class Seen {
public:
  void set(unsigned slot) { m_bits |= uint64_t{1} << slot; }
  bool has(unsigned slot) const { return (m_bits >> slot & 1) != 0; }
  // Resets each of `fields` (in slot order) that was not set.
  template <class T, class... M>
  void reset_others(T& object, M T::*... fields) const {
    static_assert(sizeof...(M) <= 64);
    unsigned slot = 0;
    ((has(slot++) ? void() : reset_field(object.*fields)), ...);
  }

private:
  uint64_t m_bits = 0;
};

// Element `index` of `v` to parse into: the one already there (reused) or a new one.
template <class T>
T& element_at(std::vector<T>& v, size_t index) {
  if (index == v.size()) v.emplace_back();
  return v[index];
}

// Parses each element of array `v` into element_at(out, i) with read(element, out[i]); `out` ends with as many
// elements as the array has (null: none).
template <class T, class F>
bool read_array_into(Reader& r, od::value& v, std::vector<T>& out, F&& read) {
  size_t n = 0;
  XDR_R(for_each_element(r, v, [&](od::value& element) { return read(element, element_at(out, n++)); }));
  out.resize(n);
  return true;
}

// A string value into `s`, or null (`is_null`); anything else fails with "expected <expected>". The string is
// asked for first (the common case costs no separate type peek); simdjson leaves a value that is not a string
// unconsumed, so its type can still be read.
[[gnu::always_inline]] inline bool string_or_null(Reader& r, od::value& v, std::string_view& s, bool& is_null,
                                                  std::string_view expected) {
  const auto e = v.get_string().get(s);
  if (e == simdjson::SUCCESS) {
    is_null = false;
    return true;
  }
  if (e != simdjson::INCORRECT_TYPE) return r.fail_simd(e);
  od::json_type t{};
  XDR_R(type_of(r, v, t));
  if (t != od::json_type::null) return r.fail_type(expected, t);
  is_null = true;
  return true;
}

// A string; null gives "".
bool read_string(Reader& r, od::value& v, std::string& out) {
  std::string_view s;
  bool is_null = false;
  XDR_R(string_or_null(r, v, s, is_null, "a string or null"));
  out.clear();
  out.append(s.data(), s.size()); // cheaper than assign (_M_replace); the capacity is kept either way
  return true;
}

// Assigns into the string `out` already holds, if any (its capacity is kept).
void assign_opt(std::optional<std::string>& out, std::string_view s) {
  if (out) {
    out->clear();
    out->append(s.data(), s.size());
  } else {
    out.emplace(s);
  }
}

bool read_opt_string(Reader& r, od::value& v, std::optional<std::string>& out) {
  std::string_view s;
  bool is_null = false;
  XDR_R(string_or_null(r, v, s, is_null, "a string or null"));
  if (is_null) {
    out.reset();
  } else {
    assign_opt(out, s);
  }
  return true;
}

bool read_time(Reader& r, od::value& v, std::optional<TimePoint>& out) {
  std::string_view s;
  bool is_null = false;
  XDR_R(string_or_null(r, v, s, is_null, "an ISO 8601 time string or null"));
  if (is_null) {
    out.reset();
    return true;
  }
  out = util::parse_rfc3339(s);
  if (!out) return r.fail("expected an ISO 8601 UTC time such as \"2020-09-06T14:46:57.0733333Z\", received \"" +
                          std::string(s.substr(0, 40)) + "\"");
  return true;
}

bool read_int(Reader& r, od::value& v, std::optional<int64_t>& out) {
  od::json_type t{};
  XDR_R(type_of(r, v, t));
  if (t == od::json_type::null) {
    out.reset();
    return true;
  }
  if (t != od::json_type::number) return r.fail_type("an integer or null", t);
  int64_t n = 0;
  if (auto e = v.get_int64().get(n)) return r.fail_simd(e);
  out = n;
  return true;
}

// An id sent as a number (legacy) or a string (Graph); kept as decimal text. `present` tells null apart.
bool read_id(Reader& r, od::value& v, std::string& out, bool* present = nullptr) {
  od::json_type t{};
  XDR_R(type_of(r, v, t));
  if (present) *present = t != od::json_type::null;
  if (t == od::json_type::number) {
    int64_t n = 0;
    if (auto e = v.get_int64().get(n)) return r.fail_simd(e);
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out.assign(digits, static_cast<size_t>(end - digits));
    return true;
  }
  if (t == od::json_type::string || t == od::json_type::null) return read_string(r, v, out);
  return r.fail_type("an id (number or string)", t);
}

bool read_opt_id(Reader& r, od::value& v, std::optional<std::string>& out) {
  if (!out) out.emplace();
  bool present = false;
  XDR_R(read_id(r, v, *out, &present));
  if (!present) out.reset();
  return true;
}

bool read_strings(Reader& r, od::value& v, std::vector<std::string>& out) {
  return read_array_into(r, v, out, [&](od::value& element, std::string& s) { return read_string(r, element, s); });
}

// An enum by name in either dialect's spelling; unknown names are unknown_future_value; null is the default
// (the first enumerator).
template <class E>
bool read_enum(Reader& r, od::value& v, E& out, std::optional<E> (*parse)(std::string_view)) {
  std::string_view s;
  bool is_null = false;
  XDR_R(string_or_null(r, v, s, is_null, "a string (enum name)"));
  out = is_null ? E{} : parse(s).value_or(E::unknown_future_value);
  return true;
}

template <class E>
bool read_opt_enum(Reader& r, od::value& v, std::optional<E>& out, std::optional<E> (*parse)(std::string_view)) {
  std::string_view s;
  bool is_null = false;
  XDR_R(string_or_null(r, v, s, is_null, "a string (enum name)"));
  if (is_null) {
    out.reset();
  } else {
    out = parse(s).value_or(E::unknown_future_value);
  }
  return true;
}

// Runs `read` with `name` on the path.
template <class F>
bool field(Reader& r, std::string_view name, F&& read) {
  r.push(name);
  XDR_R(read());
  r.pop();
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Comments, devices, entities (legacy).

constexpr std::string_view k_comment_names[] = {"comment", "createdBy", "createdTime", "createdByDisplayName",
                                                "createdDateTime", "createTime"};
constexpr auto k_comment_keys = keys(k_comment_names);

bool read_comment(Reader& r, od::value& v, Comment& c) {
  size_t hint = 0;
  Seen seen; // slots: comment, created_by, created_time
  XDR_R(for_each_field(r, v, [&](const od::raw_json_string& key, od::value& value) {
    switch (k_comment_keys.match(key, hint)) {
    case 0: seen.set(0); return field(r, "comment", [&] { return read_string(r, value, c.comment); });
    case 1:
    case 3: seen.set(1); return field(r, "createdBy", [&] { return read_string(r, value, c.created_by); });
    case 2:
    case 4:
    case 5: seen.set(2); return field(r, "createdTime", [&] { return read_time(r, value, c.created_time); });
    default: return true;
    }
  }));
  seen.reset_others(c, &Comment::comment, &Comment::created_by, &Comment::created_time);
  return true;
}

bool read_comments(Reader& r, od::value& v, std::vector<Comment>& out) {
  return read_array_into(r, v, out, [&](od::value& element, Comment& c) { return read_comment(r, element, c); });
}

// Device fields in slot order: the legacy keys' order (k_device_names).
void reset_unseen(Device& d, const Seen& seen) {
  seen.reset_others(d, &Device::mdatp_device_id, &Device::aad_device_id, &Device::device_dns_name, &Device::os_platform,
                    &Device::version, &Device::os_processor, &Device::os_build, &Device::health_status,
                    &Device::risk_score, &Device::rbac_group_name, &Device::rbac_group_id, &Device::first_seen,
                    &Device::tags, &Device::defender_av_status, &Device::onboarding_status);
}

constexpr std::string_view k_device_names[] = {
    "mdatpDeviceId", "aadDeviceId", "deviceDnsName", "osPlatform",     "version",          "osProcessor",
    "osBuild",       "healthStatus", "riskScore",    "rbacGroupName",  "rbacGroupId",      "firstSeen",
    "tags",          "defenderAvStatus", "onboardingStatus"};
constexpr auto k_device_keys = keys(k_device_names);

bool read_device(Reader& r, od::value& v, Device& d) {
  size_t hint = 0;
  Seen seen;
  XDR_R(for_each_field(r, v, [&](const od::raw_json_string& key, od::value& value) {
    const int k = k_device_keys.match(key, hint);
    if (k < 0) return true;
    seen.set(static_cast<unsigned>(k));
    return field(r, k_device_names[k], [&] {
      switch (k) {
      case 0: return read_string(r, value, d.mdatp_device_id);
      case 1: return read_opt_string(r, value, d.aad_device_id);
      case 2: return read_string(r, value, d.device_dns_name);
      case 3: return read_string(r, value, d.os_platform);
      case 4: return read_string(r, value, d.version);
      case 5: return read_string(r, value, d.os_processor);
      case 6: return read_int(r, value, d.os_build);
      case 7: return read_string(r, value, d.health_status);
      case 8: return read_string(r, value, d.risk_score);
      case 9: return read_opt_string(r, value, d.rbac_group_name);
      case 10: return read_int(r, value, d.rbac_group_id);
      case 11: return read_time(r, value, d.first_seen);
      case 12: return read_strings(r, value, d.tags);
      case 13: return read_opt_string(r, value, d.defender_av_status);
      default: return read_opt_string(r, value, d.onboarding_status);
      }
    });
  }));
  reset_unseen(d, seen);
  return true;
}

constexpr std::string_view k_entity_names[] = {
    "entityType",        "sha1",           "sha256",           "fileName",
    "filePath",          "processId",      "processCommandLine", "processCreationTime",
    "parentProcessId",   "parentProcessCreationTime", "ipAddress", "url",
    "accountName",       "domainName",     "userSid",          "aadUserId",
    "userPrincipalName", "mailboxDisplayName", "mailboxAddress", "clusterBy",
    "sender",            "recipient",      "subject",          "deliveryAction",
    "securityGroupId",   "securityGroupName", "registryHive",  "registryKey",
    "registryValueType", "registryValue",  "deviceId",         "parentProcessFileName"};
constexpr auto k_entity_keys = keys(k_entity_names);

// Entity field slots: the legacy keys' order (k_entity_names).
enum EntitySlot : unsigned {
  es_entity_type, es_sha1, es_sha256, es_file_name, es_file_path, es_process_id, es_process_command_line,
  es_process_creation_time, es_parent_process_id, es_parent_process_creation_time, es_ip_address, es_url,
  es_account_name, es_domain_name, es_user_sid, es_aad_user_id, es_user_principal_name, es_mailbox_display_name,
  es_mailbox_address, es_cluster_by, es_sender, es_recipient, es_subject, es_delivery_action, es_security_group_id,
  es_security_group_name, es_registry_hive, es_registry_key, es_registry_value_type, es_registry_value,
  es_device_id, es_parent_process_file_name
};

void reset_unseen(Entity& e, const Seen& seen) {
  seen.reset_others(e, &Entity::entity_type, &Entity::sha1, &Entity::sha256, &Entity::file_name, &Entity::file_path,
                    &Entity::process_id, &Entity::process_command_line, &Entity::process_creation_time,
                    &Entity::parent_process_id, &Entity::parent_process_creation_time, &Entity::ip_address,
                    &Entity::url, &Entity::account_name, &Entity::domain_name, &Entity::user_sid, &Entity::aad_user_id,
                    &Entity::user_principal_name, &Entity::mailbox_display_name, &Entity::mailbox_address,
                    &Entity::cluster_by, &Entity::sender, &Entity::recipient, &Entity::subject,
                    &Entity::delivery_action, &Entity::security_group_id, &Entity::security_group_name,
                    &Entity::registry_hive, &Entity::registry_key, &Entity::registry_value_type,
                    &Entity::registry_value, &Entity::device_id, &Entity::parent_process_file_name);
}

bool read_entity(Reader& r, od::value& v, Entity& e) {
  size_t hint = 0;
  Seen seen;
  XDR_R(for_each_field(r, v, [&](const od::raw_json_string& key, od::value& value) {
    // Most of the 31 keys are null on any one entity: a null is what an unseen field is reset to, so the common
    // case costs one type peek and no key comparison. The hint moves on as if the key were the expected one
    // (keys come in the documented order); when it was not, the next match finds the key by its length.
    od::json_type t{};
    XDR_R(type_of(r, value, t));
    if (t == od::json_type::null) {
      k_entity_keys.advance(hint);
      return true;
    }
    const int k = k_entity_keys.match(key, hint);
    if (k < 0) return true;
    seen.set(static_cast<unsigned>(k));
    return field(r, k_entity_names[k], [&] {
      switch (k) {
      case 0: return read_string(r, value, e.entity_type);
      case 1: return read_opt_string(r, value, e.sha1);
      case 2: return read_opt_string(r, value, e.sha256);
      case 3: return read_opt_string(r, value, e.file_name);
      case 4: return read_opt_string(r, value, e.file_path);
      case 5: return read_int(r, value, e.process_id);
      case 6: return read_opt_string(r, value, e.process_command_line);
      case 7: return read_time(r, value, e.process_creation_time);
      case 8: return read_int(r, value, e.parent_process_id);
      case 9: return read_time(r, value, e.parent_process_creation_time);
      case 10: return read_opt_string(r, value, e.ip_address);
      case 11: return read_opt_string(r, value, e.url);
      case 12: return read_opt_string(r, value, e.account_name);
      case 13: return read_opt_string(r, value, e.domain_name);
      case 14: return read_opt_string(r, value, e.user_sid);
      case 15: return read_opt_string(r, value, e.aad_user_id);
      case 16: return read_opt_string(r, value, e.user_principal_name);
      case 17: return read_opt_string(r, value, e.mailbox_display_name);
      case 18: return read_opt_string(r, value, e.mailbox_address);
      case 19: return read_opt_string(r, value, e.cluster_by);
      case 20: return read_opt_string(r, value, e.sender);
      case 21: return read_opt_string(r, value, e.recipient);
      case 22: return read_opt_string(r, value, e.subject);
      case 23: return read_opt_string(r, value, e.delivery_action);
      case 24: return read_opt_string(r, value, e.security_group_id);
      case 25: return read_opt_string(r, value, e.security_group_name);
      case 26: return read_opt_string(r, value, e.registry_hive);
      case 27: return read_opt_string(r, value, e.registry_key);
      case 28: return read_opt_string(r, value, e.registry_value_type);
      case 29: return read_opt_string(r, value, e.registry_value);
      case 30: return read_opt_string(r, value, e.device_id);
      default: return read_opt_string(r, value, e.parent_process_file_name);
      }
    });
  }));
  reset_unseen(e, seen);
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Graph evidence: deviceEvidence -> Device; the rest -> Entity with the legacy entityType names.

void set_entity_type(std::string& out, std::string_view odata_type) {
  constexpr std::string_view prefix = "#microsoft.graph.security.";
  if (odata_type.substr(0, prefix.size()) == prefix) odata_type.remove_prefix(prefix.size());
  struct Map {
    std::string_view graph;
    std::string_view legacy;
  };
  static constexpr Map k_map[] = {
      {"fileEvidence", "File"},           {"processEvidence", "Process"},       {"ipEvidence", "Ip"},
      {"urlEvidence", "Url"},             {"userEvidence", "User"},             {"mailboxEvidence", "MailBox"},
      {"analyzedMessageEvidence", "MailMessage"}, {"mailClusterEvidence", "MailCluster"},
      {"registryKeyEvidence", "Registry"}, {"registryValueEvidence", "Registry"},
      {"securityGroupEvidence", "SecurityGroup"}, {"deviceEvidence", "Device"}};
  for (const auto& m : k_map) {
    if (m.graph == odata_type) {
      out.assign(m.legacy.data(), m.legacy.size());
      return;
    }
  }
  constexpr std::string_view suffix = "Evidence";
  if (odata_type.size() > suffix.size() && odata_type.substr(odata_type.size() - suffix.size()) == suffix)
    odata_type.remove_suffix(suffix.size());
  out.assign(odata_type.data(), odata_type.size());
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
}

constexpr std::string_view k_file_names[] = {"sha1", "sha256", "fileName", "filePath"};
constexpr auto k_file_keys = keys(k_file_names);

// fileDetails / imageFile: hashes, name and path onto the entity (or only the name onto
// parent_process_file_name when `parent`).
bool read_file_details(Reader& r, od::value& v, Entity& e, Seen& seen, bool parent) {
  od::json_type t{};
  XDR_R(type_of(r, v, t));
  if (t == od::json_type::null) return true;
  size_t hint = 0;
  return for_each_field(r, v, [&](const od::raw_json_string& key, od::value& value) {
    const int k = k_file_keys.match(key, hint);
    if (k < 0) return true;
    return field(r, k_file_names[k], [&] {
      if (parent) {
        if (k != 2) return true;
        seen.set(es_parent_process_file_name);
        return read_opt_string(r, value, e.parent_process_file_name);
      }
      switch (k) {
      case 0: seen.set(es_sha1); return read_opt_string(r, value, e.sha1);
      case 1: seen.set(es_sha256); return read_opt_string(r, value, e.sha256);
      case 2: seen.set(es_file_name); return read_opt_string(r, value, e.file_name);
      default: seen.set(es_file_path); return read_opt_string(r, value, e.file_path);
      }
    });
  });
}

constexpr std::string_view k_account_names[] = {"accountName", "domainName", "userSid", "azureAdUserId",
                                                "userPrincipalName"};
constexpr auto k_account_keys = keys(k_account_names);

bool read_user_account(Reader& r, od::value& v, Entity& e, Seen& seen) {
  od::json_type t{};
  XDR_R(type_of(r, v, t));
  if (t == od::json_type::null) return true;
  size_t hint = 0;
  return for_each_field(r, v, [&](const od::raw_json_string& key, od::value& value) {
    const int k = k_account_keys.match(key, hint);
    if (k < 0) return true;
    return field(r, k_account_names[k], [&] {
      switch (k) {
      case 0: seen.set(es_account_name); return read_opt_string(r, value, e.account_name);
      case 1: seen.set(es_domain_name); return read_opt_string(r, value, e.domain_name);
      case 2: seen.set(es_user_sid); return read_opt_string(r, value, e.user_sid);
      case 3: seen.set(es_aad_user_id); return read_opt_string(r, value, e.aad_user_id);
      default: seen.set(es_user_principal_name); return read_opt_string(r, value, e.user_principal_name);
      }
    });
  });
}

// analyzedMessageEvidence.p1Sender is an emailSender object {displayName, domainName, emailAddress}; its
// address is kept. A plain string or null is accepted as well.
constexpr std::string_view k_sender_names[] = {"emailAddress"};
constexpr auto k_sender_keys = keys(k_sender_names);

bool read_email_sender(Reader& r, od::value& v, Entity& e, Seen& seen) {
  od::json_type t{};
  XDR_R(type_of(r, v, t));
  if (t != od::json_type::object) {
    seen.set(es_sender);
    return read_opt_string(r, v, e.sender);
  }
  size_t hint = 0;
  return for_each_field(r, v, [&](const od::raw_json_string& key, od::value& value) {
    if (k_sender_keys.match(key, hint) < 0) return true;
    seen.set(es_sender);
    return field(r, k_sender_names[0], [&] { return read_opt_string(r, value, e.sender); });
  });
}

constexpr std::string_view k_evidence_names[] = {
    "@odata.type",      "mdeDeviceId",       "azureAdDeviceId",  "deviceDnsName",     "osPlatform",
    "osBuild",          "version",           "healthStatus",     "riskScore",         "rbacGroupId",
    "rbacGroupName",    "onboardingStatus",  "defenderAvStatus", "firstSeenDateTime", "tags",
    "fileDetails",      "imageFile",         "parentProcessImageFile", "processId",   "parentProcessId",
    "processCommandLine", "processCreationDateTime", "parentProcessCreationDateTime", "userAccount",
    "registryKey",      "registryHive",      "registryValueType", "registryValue",    "ipAddress",
    "url",              "senderIp",          "recipientEmailAddress", "subject",      "p1Sender",
    "primaryAddress",   "displayName",       "securityGroupId"};
constexpr auto k_evidence_keys = keys(k_evidence_names);

// The Device slot (k_device_names order) each device key of k_evidence_names (1..14) fills.
constexpr unsigned k_evidence_device_slot[] = {0, 0, 1, 2, 3, 6, 4, 7, 8, 10, 9, 14, 13, 11, 12};

// One evidence item, parsed into both `d` and `e` (device evidence keeps `d`, any other `e`; the one not
// kept is left partly written, to be reused or dropped by the caller); `is_device` says which.
bool read_evidence(Reader& r, od::value& v, Device& d, Entity& e, bool& is_device) {
  Seen device_seen;
  Seen entity_seen;
  is_device = false;
  size_t hint = 0;
  XDR_R(for_each_field(r, v, [&](const od::raw_json_string& key, od::value& value) {
    const int k = k_evidence_keys.match(key, hint);
    if (k < 0) return true;
    if (k >= 1 && k <= 14) device_seen.set(k_evidence_device_slot[k]);
    return field(r, k_evidence_names[k], [&] {
      switch (k) {
      case 0: {
        entity_seen.set(es_entity_type);
        std::string_view type;
        bool is_null = false;
        XDR_R(string_or_null(r, value, type, is_null, "a string or null"));
        if (is_null) {
          e.entity_type.clear();
        } else {
          set_entity_type(e.entity_type, type);
        }
        is_device = e.entity_type == "Device";
        return true;
      }
      case 1: {
        XDR_R(read_string(r, value, d.mdatp_device_id));
        if (!d.mdatp_device_id.empty()) {
          entity_seen.set(es_device_id);
          assign_opt(e.device_id, d.mdatp_device_id);
        }
        return true;
      }
      case 2: return read_opt_string(r, value, d.aad_device_id);
      case 3: return read_string(r, value, d.device_dns_name);
      case 4: return read_string(r, value, d.os_platform);
      case 5: return read_int(r, value, d.os_build);
      case 6: return read_string(r, value, d.version);
      case 7: return read_string(r, value, d.health_status);
      case 8: return read_string(r, value, d.risk_score);
      case 9: return read_int(r, value, d.rbac_group_id);
      case 10: return read_opt_string(r, value, d.rbac_group_name);
      case 11: return read_opt_string(r, value, d.onboarding_status);
      case 12: return read_opt_string(r, value, d.defender_av_status);
      case 13: return read_time(r, value, d.first_seen);
      case 14: return read_strings(r, value, d.tags);
      case 15:
      case 16: return read_file_details(r, value, e, entity_seen, false);
      case 17: return read_file_details(r, value, e, entity_seen, true);
      case 18: entity_seen.set(es_process_id); return read_int(r, value, e.process_id);
      case 19: entity_seen.set(es_parent_process_id); return read_int(r, value, e.parent_process_id);
      case 20: entity_seen.set(es_process_command_line); return read_opt_string(r, value, e.process_command_line);
      case 21: entity_seen.set(es_process_creation_time); return read_time(r, value, e.process_creation_time);
      case 22:
        entity_seen.set(es_parent_process_creation_time);
        return read_time(r, value, e.parent_process_creation_time);
      case 23: return read_user_account(r, value, e, entity_seen);
      case 24: entity_seen.set(es_registry_key); return read_opt_string(r, value, e.registry_key);
      case 25: entity_seen.set(es_registry_hive); return read_opt_string(r, value, e.registry_hive);
      case 26: entity_seen.set(es_registry_value_type); return read_opt_string(r, value, e.registry_value_type);
      case 27: entity_seen.set(es_registry_value); return read_opt_string(r, value, e.registry_value);
      case 28:
      case 30: entity_seen.set(es_ip_address); return read_opt_string(r, value, e.ip_address);
      case 29: entity_seen.set(es_url); return read_opt_string(r, value, e.url);
      case 31: entity_seen.set(es_recipient); return read_opt_string(r, value, e.recipient);
      case 32: entity_seen.set(es_subject); return read_opt_string(r, value, e.subject);
      case 33: return read_email_sender(r, value, e, entity_seen);
      case 34: entity_seen.set(es_mailbox_address); return read_opt_string(r, value, e.mailbox_address);
      case 35: entity_seen.set(es_mailbox_display_name); return read_opt_string(r, value, e.mailbox_display_name);
      default: entity_seen.set(es_security_group_id); return read_opt_string(r, value, e.security_group_id);
      }
    });
  }));
  if (is_device) {
    reset_unseen(d, device_seen);
  } else {
    reset_unseen(e, entity_seen);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Alerts: legacy (inside incidents) and Graph (alerts_v2 and $expand=alerts) share one key table.

constexpr std::string_view k_alert_names[] = {
    "alertId",          "incidentId",      "serviceSource",   "creationTime",      "lastUpdatedTime",
    "resolvedTime",     "firstActivity",   "lastActivity",    "title",             "description",
    "category",         "status",          "severity",        "investigationId",   "investigationState",
    "classification",   "determination",   "detectionSource", "detectorId",        "assignedTo",
    "actorName",        "threatFamilyName", "mitreTechniques", "devices",          "entities",
    // Graph names
    "id",               "createdDateTime", "lastUpdateDateTime", "resolvedDateTime", "firstActivityDateTime",
    "lastActivityDateTime", "actorDisplayName", "evidence"};
constexpr auto k_alert_keys = keys(k_alert_names);
// Graph's alerts_v2 order (Microsoft's examples, as the emulator renders them), then the legacy-only names.
constexpr std::string_view k_alert_graph_order[] = {
    "id",                "incidentId",      "status",          "severity",          "classification",
    "determination",     "serviceSource",   "detectionSource", "detectorId",        "title",
    "description",       "category",        "assignedTo",      "actorDisplayName",  "threatFamilyName",
    "mitreTechniques",   "createdDateTime", "lastUpdateDateTime", "resolvedDateTime", "firstActivityDateTime",
    "lastActivityDateTime", "evidence",
    "alertId",           "creationTime",    "lastUpdatedTime", "resolvedTime",      "firstActivity",
    "lastActivity",      "investigationId", "investigationState", "actorName",      "devices",
    "entities"};
constexpr auto k_alert_graph_keys = keys_in_order(k_alert_names, k_alert_graph_order);

// The Alert slot each key fills: the legacy keys' order; Graph names onto their legacy twins (evidence
// fills devices, 23, and entities, 24).
constexpr unsigned k_alert_slot[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                     17, 18, 19, 20, 21, 22, 23, 24, 0,  3,  4,  5,  6,  7,  20, 23};
static_assert(std::size(k_alert_slot) == std::size(k_alert_names));

void reset_unseen(Alert& a, const Seen& seen) {
  seen.reset_others(a, &Alert::alert_id, &Alert::incident_id, &Alert::service_source, &Alert::creation_time,
                    &Alert::last_updated_time, &Alert::resolved_time, &Alert::first_activity, &Alert::last_activity,
                    &Alert::title, &Alert::description, &Alert::category, &Alert::status, &Alert::severity,
                    &Alert::investigation_id, &Alert::investigation_state, &Alert::classification,
                    &Alert::determination, &Alert::detection_source, &Alert::detector_id, &Alert::assigned_to,
                    &Alert::actor_name, &Alert::threat_family_name, &Alert::mitre_techniques, &Alert::devices,
                    &Alert::entities);
}

bool read_alert(Reader& r, od::value& v, Alert& a, Dialect dialect) {
  size_t hint = 0;
  Seen seen;
  // Devices and entities parsed so far: legacy `devices` / `entities` start their list, Graph `evidence`
  // adds to both; the lists are cut to these counts at the end.
  size_t devices = 0;
  size_t entities = 0;
  XDR_R(for_each_field(r, v, [&](const od::raw_json_string& key, od::value& value) {
    const int k = (dialect == Dialect::graph ? k_alert_graph_keys : k_alert_keys).match(key, hint);
    if (k < 0) return true;
    if (dialect == Dialect::graph && k == 0) return true; // Graph's own name is `id`
    seen.set(k_alert_slot[k]);
    return field(r, k_alert_names[k], [&] {
      switch (k) {
      case 0:
      case 25: return read_string(r, value, a.alert_id);
      case 1: return read_id(r, value, a.incident_id);
      case 2: return read_string(r, value, a.service_source);
      case 3:
      case 26: return read_time(r, value, a.creation_time);
      case 4:
      case 27: return read_time(r, value, a.last_updated_time);
      case 5:
      case 28: return read_time(r, value, a.resolved_time);
      case 6:
      case 29: return read_time(r, value, a.first_activity);
      case 7:
      case 30: return read_time(r, value, a.last_activity);
      case 8: return read_string(r, value, a.title);
      case 9: return read_string(r, value, a.description);
      case 10: return read_string(r, value, a.category);
      case 11: return read_enum(r, value, a.status, parse_alert_status);
      case 12: return read_enum(r, value, a.severity, parse_severity);
      case 13: return read_int(r, value, a.investigation_id);
      case 14: return read_string(r, value, a.investigation_state);
      case 15: return read_opt_enum(r, value, a.classification, parse_classification);
      case 16: return read_opt_enum(r, value, a.determination, parse_determination);
      case 17: return read_string(r, value, a.detection_source);
      case 18: return read_string(r, value, a.detector_id);
      case 19: return read_opt_string(r, value, a.assigned_to);
      case 20:
      case 31: return read_opt_string(r, value, a.actor_name);
      case 21: return read_opt_string(r, value, a.threat_family_name);
      case 22: return read_strings(r, value, a.mitre_techniques);
      case 23:
        devices = 0;
        return for_each_element(
            r, value, [&](od::value& element) { return read_device(r, element, element_at(a.devices, devices++)); });
      case 24:
        entities = 0;
        return for_each_element(
            r, value, [&](od::value& element) { return read_entity(r, element, element_at(a.entities, entities++)); });
      default:
        seen.set(24);
        return for_each_element(r, value, [&](od::value& element) {
          Device& d = element_at(a.devices, devices);
          Entity& e = element_at(a.entities, entities);
          bool is_device = false;
          XDR_R(read_evidence(r, element, d, e, is_device));
          ++(is_device ? devices : entities);
          return true;
        });
      }
    });
  }));
  reset_unseen(a, seen);
  if (seen.has(23)) a.devices.resize(devices);
  if (seen.has(24)) a.entities.resize(entities);
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Incidents.

constexpr std::string_view k_incident_names[] = {
    "incidentId",       "redirectIncidentId", "incidentName",    "createdTime",     "lastUpdateTime",
    "assignedTo",       "classification",     "determination",   "status",          "severity",
    "tags",             "comments",           "alerts",          "detectionSource",
    // Graph names
    "id",               "incidentWebUrl",     "tenantId",        "displayName",     "createdDateTime",
    "lastUpdateDateTime", "customTags",       "systemTags",      "description"};
constexpr auto k_incident_keys = keys(k_incident_names);
// Graph's incident order (Microsoft's examples, as the emulator renders them), then the legacy-only names.
constexpr std::string_view k_incident_graph_order[] = {
    "id",         "incidentWebUrl", "redirectIncidentId", "tenantId",   "displayName", "createdDateTime",
    "lastUpdateDateTime", "assignedTo", "classification", "determination", "status",  "severity",
    "customTags", "systemTags",     "comments",           "description", "alerts",
    "incidentId", "incidentName",   "createdTime",        "lastUpdateTime", "tags",   "detectionSource"};
constexpr auto k_incident_graph_keys = keys_in_order(k_incident_names, k_incident_graph_order);

// The Incident slot each key fills: the legacy keys' order, then the Graph-only fields (incidentWebUrl 14,
// tenantId 15, systemTags 16, description 17); Graph names of legacy fields onto their twins.
constexpr unsigned k_incident_slot[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0, 14, 15, 2, 3, 4, 10, 16, 17};
static_assert(std::size(k_incident_slot) == std::size(k_incident_names));

void reset_unseen(Incident& inc, const Seen& seen) {
  seen.reset_others(inc, &Incident::incident_id, &Incident::redirect_incident_id, &Incident::incident_name,
                    &Incident::created_time, &Incident::last_update_time, &Incident::assigned_to,
                    &Incident::classification, &Incident::determination, &Incident::status, &Incident::severity,
                    &Incident::tags, &Incident::comments, &Incident::alerts, &Incident::detection_source,
                    &Incident::incident_web_url, &Incident::tenant_id, &Incident::system_tags,
                    &Incident::description);
}

bool read_incident_field(Reader& r, const od::raw_json_string& key, od::value& value, Incident& inc, Dialect dialect,
                         size_t& hint, Seen& seen) {
    const int k = (dialect == Dialect::graph ? k_incident_graph_keys : k_incident_keys).match(key, hint);
    if (k < 0) return true;
    seen.set(k_incident_slot[k]);
    return field(r, k_incident_names[k], [&] {
      switch (k) {
      case 0:
      case 14: return read_id(r, value, inc.incident_id);
      case 1: return read_opt_id(r, value, inc.redirect_incident_id);
      case 2:
      case 17: return read_string(r, value, inc.incident_name);
      case 3:
      case 18: return read_time(r, value, inc.created_time);
      case 4:
      case 19: return read_time(r, value, inc.last_update_time);
      case 5: return read_opt_string(r, value, inc.assigned_to);
      case 6: return read_enum(r, value, inc.classification, parse_classification);
      case 7: return read_enum(r, value, inc.determination, parse_determination);
      case 8: return read_enum(r, value, inc.status, parse_incident_status);
      case 9: return read_enum(r, value, inc.severity, parse_severity);
      case 10:
      case 20: return read_strings(r, value, inc.tags);
      case 11: return read_comments(r, value, inc.comments);
      case 12:
        return read_array_into(r, value, inc.alerts,
                               [&](od::value& element, Alert& a) { return read_alert(r, element, a, dialect); });
      case 13: return read_string(r, value, inc.detection_source);
      case 15: return read_string(r, value, inc.incident_web_url);
      case 16: return read_string(r, value, inc.tenant_id);
      case 21: return read_strings(r, value, inc.system_tags);
      default: return read_string(r, value, inc.description);
      }
    });
}

bool read_incident(Reader& r, od::value& v, Incident& inc, Dialect dialect) {
  size_t hint = 0;
  Seen seen;
  XDR_R(for_each_field(r, v, [&](const od::raw_json_string& key, od::value& value) {
    return read_incident_field(r, key, value, inc, dialect, hint, seen);
  }));
  reset_unseen(inc, seen);
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Documents.

constexpr std::string_view k_error_names[] = {"code", "message", "target", "innerError", "innererror"};
constexpr auto k_error_keys = keys(k_error_names);
constexpr std::string_view k_inner_names[] = {"request-id", "requestId"};
constexpr auto k_inner_keys = keys(k_inner_names);

bool read_service_error(Reader& r, od::value& v, ServiceError& out) {
  size_t hint = 0;
  return for_each_field(r, v, [&](const od::raw_json_string& key, od::value& value) {
    switch (k_error_keys.match(key, hint)) {
    case 0: {
      od::json_type t{};
      XDR_R(type_of(r, value, t));
      if (t == od::json_type::number) {
        out.code = std::string(util::trim(value.raw_json_token()));
        return true;
      }
      return read_string(r, value, out.code);
    }
    case 1: return read_string(r, value, out.message);
    case 2: return read_string(r, value, out.request_id);
    case 3:
    case 4: {
      od::json_type t{};
      XDR_R(type_of(r, value, t));
      if (t != od::json_type::object) return true;
      size_t inner_hint = 0;
      return for_each_field(r, value, [&](const od::raw_json_string& inner_key, od::value& inner) {
        if (k_inner_keys.match(inner_key, inner_hint) < 0) return true;
        return read_string(r, inner, out.request_id);
      });
    }
    default: return true;
    }
  });
}

// Checks the body starts like a JSON object before simdjson sees it, for a message that says what it is.
bool looks_like_object(Reader& r, std::string_view body) {
  size_t i = 0;
  while (i < body.size() && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) ++i;
  if (i == body.size() || body[i] != '{') return r.fail("expected a JSON object");
  return true;
}

// Parses `body` as an object and calls on_field(raw key, value) for each top-level field; a top-level
// "error" object fails with the service's error.
template <class F>
bool read_document(Reader& r, std::string_view body, simdjson::padded_string_view json, od::document& doc, F&& on_field) {
  XDR_R(looks_like_object(r, body));
  if (auto e = thread_parser().iterate(json).get(doc)) return r.fail_simd(e);
  od::object object;
  if (auto e = doc.get_object().get(object)) return r.fail_simd(e);
  std::optional<ServiceError> service_error;
  for (auto item : object) {
    od::field f;
    if (auto e = std::move(item).get(f)) return r.fail_simd(e);
    if (f.key().unsafe_is_equal("error")) {
      ServiceError se;
      XDR_R(field(r, "error", [&] { return read_service_error(r, f.value(), se); }));
      service_error = std::move(se);
      continue;
    }
    XDR_R(on_field(f.key(), f.value()));
  }
  if (service_error) return r.fail_service(std::move(*service_error));
  return true;
}

constexpr std::string_view k_page_names[] = {"value", "@odata.nextLink", "@odata.count", "@odata.context"};
constexpr auto k_page_keys = keys(k_page_names);

} // namespace

namespace {

// Parses an incidents page into `page`, reusing its objects (see Seen).
Status incident_page(std::string_view body, simdjson::padded_string_view json, Dialect dialect, IncidentPage& page) {
  Reader r(dialect == Dialect::legacy ? "incidents page (Defender XDR API)" : "incidents page (Graph security API)",
           body);
  page.next_link.reset();
  page.count.reset();
  size_t incidents = 0;
  bool have_value = false;
  od::document doc;
  size_t hint = 0;
  const bool ok = read_document(r, body, json, doc, [&](const od::raw_json_string& key, od::value& value) {
    switch (k_page_keys.match(key, hint)) {
    case 0:
      have_value = true;
      return field(r, "value", [&] {
        od::json_type t{};
        XDR_R(type_of(r, value, t));
        if (t != od::json_type::array) return r.fail_type("an array of incidents", t);
        incidents = 0;
        return for_each_element(r, value, [&](od::value& element) {
          return read_incident(r, element, element_at(page.incidents, incidents++), dialect);
        });
      });
    case 1:
      return field(r, "@odata.nextLink", [&] {
        XDR_R(read_opt_string(r, value, page.next_link));
        if (page.next_link && page.next_link->empty()) page.next_link.reset();
        return true;
      });
    case 2: return field(r, "@odata.count", [&] { return read_int(r, value, page.count); });
    default: return true;
    }
  });
  page.incidents.resize(std::min(incidents, page.incidents.size()));
  if (!ok) return fail(r.error());
  if (!have_value) {
    r.fail("expected a \"value\" array of incidents, found none");
    return fail(r.error());
  }
  return {};
}

} // namespace

Result<IncidentPage> parse_incident_page(std::string_view body, Dialect dialect) {
  IncidentPage page;
  XDR_TRY(incident_page(body, padded(body), dialect, page));
  return page;
}

Result<IncidentPage> parse_incident_page_in_place(std::string& body, Dialect dialect) {
  IncidentPage page;
  XDR_TRY(parse_incident_page_into(body, dialect, page));
  return page;
}

Status parse_incident_page_into(std::string& body, Dialect dialect, IncidentPage& page) {
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  return incident_page(body, simdjson::padded_string_view(body.data(), body.size(), body.capacity()), dialect, page);
}

Result<Incident> parse_incident(std::string_view body, Dialect dialect) {
  Reader r(dialect == Dialect::legacy ? "incident (Defender XDR API)" : "incident (Graph security API)", body);
  Incident inc;
  od::document doc;
  size_t hint = 0;
  Seen seen;
  const bool ok = read_document(r, body, padded(body), doc, [&](const od::raw_json_string& key, od::value& value) {
    return read_incident_field(r, key, value, inc, dialect, hint, seen);
  });
  if (!ok) return fail(r.error());
  if (inc.incident_id.empty()) {
    r.fail(std::string("expected an incident with ") + (dialect == Dialect::legacy ? "\"incidentId\"" : "\"id\"") +
           ", found none");
    return fail(r.error());
  }
  return inc;
}

Result<AlertPage> parse_alert_page(std::string_view body) {
  Reader r("alerts page (Graph security API)", body);
  AlertPage page;
  bool have_value = false;
  od::document doc;
  size_t hint = 0;
  const bool ok = read_document(r, body, padded(body), doc, [&](const od::raw_json_string& key, od::value& value) {
    switch (k_page_keys.match(key, hint)) {
    case 0:
      have_value = true;
      return field(r, "value", [&] {
        od::json_type t{};
        XDR_R(type_of(r, value, t));
        if (t != od::json_type::array) return r.fail_type("an array of alerts", t);
        return for_each_element(r, value, [&](od::value& element) {
          page.alerts.emplace_back();
          return read_alert(r, element, page.alerts.back(), Dialect::graph);
        });
      });
    case 1:
      return field(r, "@odata.nextLink", [&] {
        std::optional<std::string> link;
        XDR_R(read_opt_string(r, value, link));
        if (link && !link->empty()) page.next_link = std::move(link);
        return true;
      });
    default: return true;
    }
  });
  if (!ok) return fail(r.error());
  if (!have_value) {
    r.fail("expected a \"value\" array of alerts, found none");
    return fail(r.error());
  }
  return page;
}

Result<std::vector<Comment>> parse_comments(std::string_view body) {
  Reader r("comments collection (Graph security API)", body);
  std::vector<Comment> comments;
  bool have_value = false;
  od::document doc;
  const bool ok = read_document(r, body, padded(body), doc, [&](const od::raw_json_string& key, od::value& value) {
    if (!key.unsafe_is_equal("value")) return true;
    have_value = true;
    return field(r, "value", [&] {
      od::json_type t{};
      XDR_R(type_of(r, value, t));
      if (t != od::json_type::array) return r.fail_type("an array of comments", t);
      return read_comments(r, value, comments);
    });
  });
  if (!ok) return fail(r.error());
  if (!have_value) {
    r.fail("expected a \"value\" array of comments, found none");
    return fail(r.error());
  }
  return comments;
}

namespace {

constexpr std::string_view k_column_names[] = {"Name", "Type", "name", "type"};
constexpr auto k_column_keys = keys(k_column_names);

bool read_schema(Reader& r, od::value& v, std::vector<HuntingColumn>& schema) {
  schema.clear();
  od::json_type t{};
  XDR_R(type_of(r, v, t));
  if (t != od::json_type::array) return r.fail_type("an array of columns", t);
  return for_each_element(r, v, [&](od::value& element) {
    HuntingColumn column;
    size_t hint = 0;
    XDR_R(for_each_field(r, element, [&](const od::raw_json_string& key, od::value& value) {
      const int k = k_column_keys.match(key, hint);
      if (k < 0) return true;
      return field(r, k_column_names[k], [&] { return read_string(r, value, k % 2 == 0 ? column.name : column.type); });
    }));
    if (column.name.empty()) return r.fail("expected a column with a \"Name\"");
    schema.push_back(std::move(column));
    return true;
  });
}

bool read_cell(Reader& r, od::value& v, HuntingCell& cell) {
  od::json_type t{};
  XDR_R(type_of(r, v, t));
  switch (t) {
  case od::json_type::null: cell.kind = HuntingCell::Kind::null; return true;
  case od::json_type::string: {
    std::string_view s;
    if (auto e = v.get_string().get(s)) return r.fail_simd(e);
    cell.kind = HuntingCell::Kind::string;
    cell.text.assign(s.data(), s.size());
    return true;
  }
  case od::json_type::boolean: {
    bool b = false;
    if (auto e = v.get_bool().get(b)) return r.fail_simd(e);
    cell.kind = HuntingCell::Kind::boolean;
    cell.boolean = b;
    cell.text = b ? "true" : "false";
    return true;
  }
  case od::json_type::number: {
    std::string_view raw = util::trim(v.raw_json_token());
    cell.text.assign(raw.data(), raw.size());
    od::number_type nt;
    if (auto e = v.get_number_type().get(nt)) return r.fail_simd(e);
    if (nt == od::number_type::signed_integer) {
      if (auto e = v.get_int64().get(cell.integer)) return r.fail_simd(e);
      cell.kind = HuntingCell::Kind::integer;
      cell.real = static_cast<double>(cell.integer);
    } else {
      if (auto e = v.get_double().get(cell.real)) return r.fail_simd(e);
      cell.kind = HuntingCell::Kind::real;
    }
    return true;
  }
  case od::json_type::object: {
    od::object object;
    std::string_view raw;
    if (auto e = v.get_object().get(object)) return r.fail_simd(e);
    if (auto e = object.raw_json().get(raw)) return r.fail_simd(e);
    cell.kind = HuntingCell::Kind::dynamic;
    cell.text.assign(raw.data(), raw.size());
    return true;
  }
  default: {
    od::array array;
    std::string_view raw;
    if (auto e = v.get_array().get(array)) return r.fail_simd(e);
    if (auto e = array.raw_json().get(raw)) return r.fail_simd(e);
    cell.kind = HuntingCell::Kind::dynamic;
    cell.text.assign(raw.data(), raw.size());
    return true;
  }
  }
}

// The column of a result key: the next column first (rows keep schema order), then a scan.
int column_of(const od::raw_json_string& key, const std::vector<HuntingColumn>& schema, size_t& hint) {
  const size_t n = schema.size();
  for (size_t k = 0; k < n; ++k) {
    size_t i = hint + k;
    if (i >= n) i -= n;
    if (key.unsafe_is_equal(schema[i].name)) {
      hint = i + 1 == n ? 0 : i + 1;
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool read_results(Reader& r, od::value& v, const std::vector<HuntingColumn>& schema, const HuntingRowSink& sink,
                  HuntingParse& out) {
  od::json_type t{};
  XDR_R(type_of(r, v, t));
  if (t != od::json_type::array) return r.fail_type("an array of result rows", t);
  HuntingRow row(schema.size());
  od::array array;
  if (auto e = v.get_array().get(array)) return r.fail_simd(e);
  int64_t index = 0;
  for (auto item : array) {
    od::value element;
    if (auto e = std::move(item).get(element)) return r.fail_simd(e);
    r.push_index(index++);
    for (auto& cell : row) cell = HuntingCell{};
    size_t hint = 0;
    XDR_R(for_each_field(r, element, [&](const od::raw_json_string& key, od::value& value) {
      const int c = column_of(key, schema, hint);
      if (c < 0) return true;
      return field(r, schema[c].name, [&] { return read_cell(r, value, row[c]); });
    }));
    r.pop();
    ++out.rows;
    if (!sink(row)) {
      out.stopped = true;
      return true;
    }
    if (row.size() != schema.size()) row.assign(schema.size(), HuntingCell{});
  }
  return true;
}

} // namespace

Result<HuntingParse> parse_hunting(std::string_view body, const HuntingRowSink& sink,
                                   const std::function<void(const std::vector<HuntingColumn>&)>& on_schema) {
  Reader r("advanced hunting result", body);
  HuntingParse out;
  bool have_schema = false;
  bool results_first = false;
  bool have_results = false;
  od::document doc;
  auto json = padded(body);
  const bool ok = read_document(r, body, json, doc, [&](const od::raw_json_string& key, od::value& value) {
    if (key.unsafe_is_equal("Schema") || key.unsafe_is_equal("schema")) {
      have_schema = true;
      XDR_R(field(r, "Schema", [&] { return read_schema(r, value, out.schema); }));
      if (on_schema) on_schema(out.schema);
      return true;
    }
    if (key.unsafe_is_equal("Results") || key.unsafe_is_equal("results")) {
      have_results = true;
      if (!have_schema) {
        results_first = true;
        return true;
      }
      if (out.stopped) return true;
      return field(r, "Results", [&] { return read_results(r, value, out.schema, sink, out); });
    }
    return true;
  });
  if (!ok) return fail(r.error());
  if (!have_schema) {
    r.fail("expected a \"Schema\" array, found none");
    return fail(r.error());
  }
  if (!have_results) {
    r.fail("expected a \"Results\" array, found none");
    return fail(r.error());
  }
  if (results_first) {
    doc.rewind();
    od::object object;
    if (auto e = doc.get_object().get(object)) {
      r.fail_simd(e);
      return fail(r.error());
    }
    for (auto item : object) {
      od::field f;
      if (auto e = std::move(item).get(f)) {
        r.fail_simd(e);
        return fail(r.error());
      }
      if (f.key().unsafe_is_equal("Results") || f.key().unsafe_is_equal("results")) {
        if (!field(r, "Results", [&] { return read_results(r, f.value(), out.schema, sink, out); }))
          return fail(r.error());
        break;
      }
    }
  }
  return out;
}

std::optional<ServiceError> parse_service_error(std::string_view body) {
  Reader r("error body", body);
  std::optional<ServiceError> found;
  size_t i = 0;
  while (i < body.size() && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) ++i;
  if (i == body.size() || body[i] != '{') return std::nullopt;
  od::document doc;
  if (thread_parser().iterate(padded(body)).get(doc)) return std::nullopt;
  od::object object;
  if (doc.get_object().get(object)) return std::nullopt;
  for (auto item : object) {
    od::field f;
    if (std::move(item).get(f)) return std::nullopt;
    if (!f.key().unsafe_is_equal("error")) continue;
    ServiceError se;
    od::json_type t{};
    if (f.value().type().get(t) || t != od::json_type::object) return std::nullopt;
    if (!read_service_error(r, f.value(), se)) return std::nullopt;
    found = std::move(se);
    break;
  }
  return found;
}

} // namespace xdr::api
