#include <xdr/store/store.hpp>

#include <xdr/util/strings.hpp>

namespace xdr::store {

Result<std::pair<std::string, std::string>> parse_label(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || util::trim(text.substr(0, eq)).empty())
    return fail(ErrorKind::config, "label '" + std::string(text) + "' is not KEY=VALUE (for example env=prod)");
  return std::pair<std::string, std::string>(std::string(util::trim(text.substr(0, eq))),
                                             std::string(util::trim(text.substr(eq + 1))));
}

Result<std::map<std::string, std::string>> parse_labels(std::string_view text) {
  std::map<std::string, std::string> labels;
  std::string normalised(text);
  for (char& c : normalised)
    if (c == ',') c = ';';
  for (auto part : util::split(normalised, ';')) {
    if (util::trim(part).empty()) continue;
    XDR_TRY_ASSIGN(auto label, parse_label(part));
    labels[label.first] = label.second;
  }
  return labels;
}

std::string format_labels(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ";";
    out += k + "=" + v;
  }
  return out;
}

} // namespace xdr::store
