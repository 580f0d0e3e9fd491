#include <xdr/http/curl_transport.hpp>

#include <array>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include <curl/curl.h>

#include <xdr/http/redact.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::http {

namespace {

constexpr size_t k_max_idle_handles = 16;

void global_init() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK)
    throw Fatal(std::string("libcurl could not be initialised: ") + curl_easy_strerror(result) +
                "; check the libcurl and OpenSSL installation");
}

// What one transfer collects from libcurl's callbacks.
struct Transfer {
  std::string body;
  Headers headers;
  size_t max_bytes = 0;
  bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (transfer->body.size() + n > transfer->max_bytes) {
    transfer->too_large = true;
    return 0; // makes libcurl abort with CURLE_WRITE_ERROR
  }
  transfer->body.append(data, n);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t n = size * count;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (util::istarts_with(line, "HTTP/")) {
    // A new status line (after 100 Continue or a proxy CONNECT): only the last block counts.
    transfer->headers = Headers();
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return n;
  transfer->headers.add(std::string(util::trim(line.substr(0, colon))), std::string(util::trim(line.substr(colon + 1))));
  return n;
}

// Removes query strings from libcurl's free-text error detail.
std::string sanitize_detail(std::string_view detail) {
  std::string out;
  for (size_t i = 0; i < detail.size(); ++i) {
    if (detail[i] == '?') {
      out += "?REDACTED";
      while (i + 1 < detail.size() && detail[i + 1] != ' ' && detail[i + 1] != '\'' && detail[i + 1] != '"') ++i;
      continue;
    }
    out += detail[i];
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string host_of(std::string_view url) {
  auto start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  auto end = url.find_first_of("/?#", start);
  std::string_view authority = url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  return std::string(authority);
}

struct CurlFailure {
  CURLcode code;
  std::string detail;     // libcurl's error buffer, sanitized
  bool connected = false; // a TCP connection was established
  bool too_large = false;
};

Error map_error(const Request& request, const TransportOptions& options, const std::string& ca_file,
                const CurlFailure& f) {
  std::string what = request.method + " " + redact_url(request.url);
  std::string host = host_of(request.url);
  std::string detail = f.detail.empty() ? std::string(curl_easy_strerror(f.code)) : f.detail;
  auto make = [&](ErrorKind kind, std::string sentence) {
    return Error(kind, what + ": " + sentence + " (" + detail + ")");
  };

  if (f.too_large || f.code == CURLE_FILESIZE_EXCEEDED)
    return Error(ErrorKind::transport, what + ": " + "the response is larger than the limit of " +
                                          std::to_string(options.max_response_bytes) +
                                          " bytes and was aborted; request smaller pages or raise the limit "
                                          "(TransportOptions::max_response_bytes)");
  switch (f.code) {
  case CURLE_OPERATION_TIMEDOUT:
    if (!f.connected)
      return make(ErrorKind::timeout, "could not connect to " + host + " within " +
                                          std::to_string(options.connect_timeout.count()) +
                                          " ms; check the network and proxy settings (HTTPS_PROXY, NO_PROXY) "
                                          "or raise the connect timeout");
    return make(ErrorKind::timeout, "no complete response within " + std::to_string(options.total_timeout.count()) +
                                        " ms; the service is slow or the response is large: retry later or "
                                        "raise the total timeout");
  case CURLE_COULDNT_RESOLVE_HOST:
    return make(ErrorKind::transport, "could not resolve host " + host +
                                          "; check the URL, DNS and proxy settings (HTTPS_PROXY, NO_PROXY)");
  case CURLE_COULDNT_RESOLVE_PROXY:
    return make(ErrorKind::transport,
                "could not resolve the proxy host; check HTTPS_PROXY / ALL_PROXY or list the host in NO_PROXY");
  case CURLE_COULDNT_CONNECT:
    return make(ErrorKind::transport, "could not connect to " + host +
                                          "; check that the service is running and reachable, and the proxy "
                                          "settings (HTTPS_PROXY, NO_PROXY)");
  case CURLE_PEER_FAILED_VERIFICATION:
    if (f.detail.find("subject name") != std::string::npos || f.detail.find("host name") != std::string::npos)
      return make(ErrorKind::transport, "TLS verification failed: the server certificate is not valid for host " +
                                            host + "; use the host name the certificate was issued for");
    return make(ErrorKind::transport,
                "TLS verification failed: the server certificate is not signed by a trusted CA" +
                    (ca_file.empty() ? std::string(" (system store)") : " (CA file " + ca_file + ")") +
                    "; pass --ca-file or set SSL_CERT_FILE to the CA that signed the server certificate");
  case CURLE_SSL_CACERT_BADFILE:
    return make(ErrorKind::transport, "could not read the CA file '" + ca_file +
                                          "'; check the path given to --ca-file or SSL_CERT_FILE (PEM format)");
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
    return make(ErrorKind::transport, "the TLS handshake with " + host +
                                          " failed; check that the URL uses https on a TLS port and the proxy "
                                          "settings (HTTPS_PROXY, NO_PROXY)");
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL:
    return make(ErrorKind::config, "the URL is malformed or not http/https; check the configured endpoint");
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_BAD_CONTENT_ENCODING:
    return make(ErrorKind::transport, "the connection to " + host +
                                          " was closed before the response was complete; retry, and if it "
                                          "persists check the network and proxies");
  default:
    return make(ErrorKind::transport, "the request to " + host + " failed (curl error " +
                                          std::to_string(static_cast<int>(f.code)) +
                                          "); retry, and if it persists check the network and proxy settings");
  }
}

std::string version_text(long version) {
  switch (version) {
  case CURL_HTTP_VERSION_1_0: return "1.0";
  case CURL_HTTP_VERSION_1_1: return "1.1";
  case CURL_HTTP_VERSION_2_0: return "2";
  case CURL_HTTP_VERSION_3: return "3";
  default: return "";
  }
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

} // namespace

struct CurlTransport::State {
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks;
  std::mutex pool_mutex;
  std::vector<CURL*> idle;
  std::string ca_file; // resolved at construction: options, then SSL_CERT_FILE

  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<State*>(user)->share_locks[static_cast<size_t>(data)].lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<State*>(user)->share_locks[static_cast<size_t>(data)].unlock();
  }

  CURL* acquire() {
    {
      std::lock_guard guard(pool_mutex);
      if (!idle.empty()) {
        CURL* handle = idle.back();
        idle.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }
  void release(CURL* handle) {
    {
      std::lock_guard guard(pool_mutex);
      if (idle.size() < k_max_idle_handles) {
        idle.push_back(handle);
        return;
      }
    }
    curl_easy_cleanup(handle);
  }
};

CurlTransport::CurlTransport(TransportOptions options) : m_options(std::move(options)), m_state(std::make_unique<State>()) {
  global_init();
  m_state->share = curl_share_init();
  if (!m_state->share) throw Fatal("libcurl could not create a share handle (out of memory)");
  curl_share_setopt(m_state->share, CURLSHOPT_LOCKFUNC, &State::lock);
  curl_share_setopt(m_state->share, CURLSHOPT_UNLOCKFUNC, &State::unlock);
  curl_share_setopt(m_state->share, CURLSHOPT_USERDATA, m_state.get());
  curl_share_setopt(m_state->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(m_state->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  m_state->ca_file = m_options.ca_file;
  if (m_state->ca_file.empty()) {
    if (const char* env = std::getenv("SSL_CERT_FILE"); env && *env) m_state->ca_file = env;
  }
}

CurlTransport::~CurlTransport() {
  for (CURL* handle : m_state->idle) curl_easy_cleanup(handle);
  curl_share_cleanup(m_state->share);
}

Result<Response> CurlTransport::send(const Request& request) {
  CURL* curl = m_state->acquire();
  if (!curl) return fail(ErrorKind::transport, "libcurl could not create a handle (out of memory)");
  struct Releaser {
    State* state;
    CURL* handle;
    ~Releaser() { state->release(handle); }
  } releaser{m_state.get(), curl};

  // Reset keeps live connections and caches, and clears every option of the previous request.
  curl_easy_reset(curl);
  Transfer transfer;
  transfer.max_bytes = m_options.max_response_bytes;
  char error_buffer[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(curl, CURLOPT_SHARE, m_state->share);
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!m_state->ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, m_state->ca_file.c_str());
    curl_easy_setopt(curl, CURLOPT_CAPATH, static_cast<char*>(nullptr));
  }
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(m_options.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(m_options.total_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, ""); // every encoding libcurl can decode
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(m_options.max_response_bytes));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  if (!request.headers.has("user-agent")) curl_easy_setopt(curl, CURLOPT_USERAGENT, m_options.user_agent.c_str());

  curl_slist* raw_headers = nullptr;
  for (const auto& [name, value] : request.headers.items())
    raw_headers = curl_slist_append(raw_headers, (value.empty() ? name + ";" : name + ": " + value).c_str());
  // No "Expect: 100-continue" round trip for large bodies.
  if (!request.headers.has("expect")) raw_headers = curl_slist_append(raw_headers, "Expect:");
  std::unique_ptr<curl_slist, SlistDeleter> header_list(raw_headers);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());

  const std::string& method = request.method;
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method == "GET" && request.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (method == "POST" || method == "PUT" || method == "PATCH" || !request.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    if (method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }

  CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    curl_off_t connect_time = 0;
    curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_time);
    CurlFailure failure{code, sanitize_detail(error_buffer), connect_time > 0, transfer.too_large};
    return fail(map_error(request, m_options, m_state->ca_file, failure));
  }

  Response response;
  long status = 0;
  long version = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(curl, CURLINFO_HTTP_VERSION, &version);
  response.status = static_cast<int>(status);
  response.http_version = version_text(version);
  response.headers = std::move(transfer.headers);
  response.body = std::move(transfer.body);
  return response;
}

} // namespace xdr::http
