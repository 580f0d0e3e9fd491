#pragma once
// A scripted IncidentFeed: per-tenant "server" data, paged in the declared order, with faults (fail or throw
// after k pages) and a log of what each call asked for.

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <xdr/sync/sync_engine.hpp>

namespace xdr::testing {

class FakeIncidentFeed : public sync::IncidentFeed {
public:
  explicit FakeIncidentFeed(sync::FeedOrder order = sync::FeedOrder::newest_first, size_t page_size = 3)
      : m_order(order), m_page_size(page_size) {}

  // Thrown by a feed told to crash: stands for the process dying mid-run.
  struct Crash : std::runtime_error {
    Crash() : std::runtime_error("simulated crash") {}
  };

  std::string api() const override { return "legacy"; }
  sync::FeedOrder order() const override { return m_order; }

  // Adds or replaces (by id) an incident of `tenant` on the "server".
  void put(const std::string& tenant, const api::Incident& incident) {
    std::lock_guard lock(m_mutex);
    auto& list = m_data[tenant];
    auto it = std::find_if(list.begin(), list.end(), [&](const api::Incident& i) { return i.incident_id == incident.incident_id; });
    if (it == list.end()) list.push_back(incident);
    else *it = incident;
  }
  // The tenant's incidents ordered by numeric id, as the store returns them.
  std::vector<api::Incident> reference(const std::string& tenant) const {
    std::lock_guard lock(m_mutex);
    auto it = m_data.find(tenant);
    std::vector<api::Incident> out = it == m_data.end() ? std::vector<api::Incident>{} : it->second;
    std::sort(out.begin(), out.end(), [](const api::Incident& a, const api::Incident& b) {
      return a.incident_id.size() != b.incident_id.size() ? a.incident_id.size() < b.incident_id.size()
                                                          : a.incident_id < b.incident_id;
    });
    return out;
  }

  // The next call for `tenant` delivers `pages` pages and then fails with `error` (or throws Crash).
  void fail_after(const std::string& tenant, int pages, Error error) {
    std::lock_guard lock(m_mutex);
    m_faults[tenant] = Fault{pages, std::move(error), false};
  }
  void crash_after(const std::string& tenant, int pages) {
    std::lock_guard lock(m_mutex);
    m_faults[tenant] = Fault{pages, Error{}, true};
  }
  // Every call's tenant and `since`, in order.
  std::vector<std::pair<std::string, std::optional<util::TimePoint>>> calls() const {
    std::lock_guard lock(m_mutex);
    return m_calls;
  }

  // The registry region each tenant was last asked with ("" for none).
  std::map<std::string, std::string> regions() const {
    std::lock_guard lock(m_mutex);
    return m_regions;
  }

  Status list_updated_since(const fleet::TenantRef& tenant_ref, std::optional<util::TimePoint> since,
                            const std::function<Status(std::vector<api::Incident>&&)>& on_page) override {
    const std::string& tenant = tenant_ref.tenant_id;
    std::vector<api::Incident> matching;
    std::optional<Fault> fault;
    {
      std::lock_guard lock(m_mutex);
      m_calls.emplace_back(tenant, since);
      m_regions[tenant] = tenant_ref.region;
      for (const auto& i : m_data[tenant])
        if (!since || (i.last_update_time && *i.last_update_time >= *since)) matching.push_back(i);
      if (auto f = m_faults.find(tenant); f != m_faults.end()) {
        fault = f->second;
        m_faults.erase(f);
      }
    }
    std::stable_sort(matching.begin(), matching.end(), [this](const api::Incident& a, const api::Incident& b) {
      if (m_order == sync::FeedOrder::unordered) return false;
      return m_order == sync::FeedOrder::oldest_first ? a.last_update_time < b.last_update_time
                                                      : a.last_update_time > b.last_update_time;
    });
    int delivered = 0;
    for (size_t start = 0; start < matching.size(); start += m_page_size) {
      if (fault && delivered == fault->pages) {
        if (fault->crash) throw Crash();
        return tl::unexpected(fault->error);
      }
      std::vector<api::Incident> page(matching.begin() + static_cast<std::ptrdiff_t>(start),
                                      matching.begin() + static_cast<std::ptrdiff_t>(std::min(matching.size(), start + m_page_size)));
      XDR_TRY(on_page(std::move(page)));
      ++delivered;
    }
    if (fault && delivered == fault->pages) {
      if (fault->crash) throw Crash();
      return tl::unexpected(fault->error);
    }
    return {};
  }

private:
  struct Fault {
    int pages = 0;
    Error error;
    bool crash = false;
  };
  sync::FeedOrder m_order;
  size_t m_page_size;
  mutable std::mutex m_mutex;
  std::map<std::string, std::vector<api::Incident>> m_data;
  std::map<std::string, Fault> m_faults;
  std::vector<std::pair<std::string, std::optional<util::TimePoint>>> m_calls;
  std::map<std::string, std::string> m_regions;
};

} // namespace xdr::testing
