#include <xdr/http/transport.hpp>

#include <xdr/util/strings.hpp>

namespace xdr::http {

void Headers::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

void Headers::add(std::string name, std::string value) {
  m_items.emplace_back(util::to_lower(name), std::move(value));
}

std::optional<std::string> Headers::get(std::string_view name) const {
  for (const auto& [k, v] : m_items)
    if (util::iequals(k, name)) return v;
  return std::nullopt;
}

void Headers::remove(std::string_view name) {
  std::erase_if(m_items, [&](const auto& kv) { return util::iequals(kv.first, name); });
}

} // namespace xdr::http
