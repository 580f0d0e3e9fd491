#pragma once
// A scripted Transport: answers from a queue (or a handler) and records every request, so tests
// assert the exact URL, headers and body a client sent.

#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include <xdr/http/transport.hpp>

namespace xdr::testing {

class FakeTransport : public http::Transport {
public:
  using Handler = std::function<Result<http::Response>(const http::Request&)>;

  // Queues a response; responses are used in order. When the queue is empty the handler answers.
  void push(int status, std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Response r;
    r.status = status;
    r.body = std::move(body);
    for (auto& [k, v] : headers) r.headers.set(k, v);
    std::lock_guard lock(m_mutex);
    m_queue.emplace_back(std::move(r));
  }
  void push_error(Error e) {
    std::lock_guard lock(m_mutex);
    m_queue.emplace_back(tl::unexpected(std::move(e)));
  }
  void set_handler(Handler h) {
    std::lock_guard lock(m_mutex);
    m_handler = std::move(h);
  }

  Result<http::Response> send(const http::Request& request) override {
    Handler handler;
    {
      std::lock_guard lock(m_mutex);
      m_requests.push_back(request);
      if (!m_queue.empty()) {
        auto r = std::move(m_queue.front());
        m_queue.pop_front();
        return r;
      }
      handler = m_handler;
    }
    if (handler) return handler(request);
    return tl::unexpected(Error(ErrorKind::transport, "FakeTransport: no scripted response left"));
  }

  std::vector<http::Request> requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }
  size_t count() const {
    std::lock_guard lock(m_mutex);
    return m_requests.size();
  }

private:
  mutable std::mutex m_mutex;
  std::deque<Result<http::Response>> m_queue;
  std::vector<http::Request> m_requests;
  Handler m_handler;
};

} // namespace xdr::testing
